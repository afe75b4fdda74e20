"""iCalendar export (RFC 5545): line ends, folding, escaping, time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from backend import calendar as ical

MEXICO = ZoneInfo("America/Mexico_City")


def unfold(body: bytes) -> list[str]:
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # every line ends with CRLF
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_text_values_escape_backslash_semicolon_comma_and_newlines():
    assert ical.escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_long_lines_fold_at_75_octets_without_splitting_characters():
    line = "SUMMARY:" + "Ñandú " * 40
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


def test_a_session_is_an_event_in_local_time_with_its_time_zone():
    event = ical.CalendarEvent(
        uid="training-session-7@merito.example",
        start=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        end=datetime(2026, 12, 1, 20, 30, tzinfo=UTC),
        summary="Taller: investigación de mercado, nivel 1; grupo A",
        location="Aula 3, Av. Jesús García 140, Ciudad de México",
        description="Primera línea\nSegunda línea",
    )
    lines = unfold(
        ical.calendar(
            [event], zone=MEXICO, name="Capacitación", now=datetime(2026, 11, 26, tzinfo=UTC)
        )
    )
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert "DTSTART;TZID=America/Mexico_City:20261201T090000" in lines
    assert "DTEND;TZID=America/Mexico_City:20261201T143000" in lines
    assert "DTSTAMP:20261126T000000Z" in lines
    assert "SUMMARY:Taller: investigación de mercado\\, nivel 1\\; grupo A" in lines
    assert "LOCATION:Aula 3\\, Av. Jesús García 140\\, Ciudad de México" in lines
    assert "DESCRIPTION:Primera línea\\nSegunda línea" in lines
    assert "UID:training-session-7@merito.example" in lines
    zone = lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE") + 1]
    assert "TZID:America/Mexico_City" in zone
    # Mexico City has kept UTC−6 all year since 2022.
    assert "TZOFFSETTO:-0600" in zone and not any("DAYLIGHT" in line for line in zone)


def test_zones_with_daylight_saving_get_both_transitions():
    lines = ical.vtimezone(ZoneInfo("America/Tijuana"), 2026, 2026)
    assert lines.count("BEGIN:DAYLIGHT") == 1 and lines.count("BEGIN:STANDARD") == 2
    daylight = lines[lines.index("BEGIN:DAYLIGHT") :]
    assert daylight[1:4] == ["DTSTART:20260308T020000", "TZOFFSETFROM:-0800", "TZOFFSETTO:-0700"]


def test_a_cancelled_session_says_so():
    event = ical.CalendarEvent(
        uid="x@y",
        start=datetime(2026, 12, 1, 15, tzinfo=UTC),
        end=datetime(2026, 12, 1, 16, tzinfo=UTC),
        summary="S",
        cancelled=True,
    )
    assert "STATUS:CANCELLED" in unfold(ical.calendar([event], zone=MEXICO, name="x"))
