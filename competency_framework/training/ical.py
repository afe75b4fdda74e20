"""iCalendar (RFC 5545) export of training sessions: no dependency, so every rule is visible.

- Lines end with CRLF and are folded at 75 octets (never inside a UTF-8 character), continuation
  lines starting with one space (§3.1).
- TEXT values escape backslash, semicolon, comma and newlines (§3.3.11).
- Times are local to the organisation's zone (DTSTART;TZID=America/Mexico_City:…) and the
  calendar carries a VTIMEZONE built from the zone database for the years it covers (§3.6.5), so
  clients that do not know the zone name still place the sessions right; DTSTAMP is UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend import clock

CRLF = "\r\n"
MAX_OCTETS = 75


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime  # aware
    end: datetime  # aware
    summary: str
    location: str = ""
    description: str = ""
    cancelled: bool = False
    stamp: datetime | None = None


def escape_text(value: str) -> str:
    """Return `value` escaped as an iCalendar TEXT value."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Return a content line folded at 75 octets, without splitting UTF-8 characters."""
    encoded = line.encode("utf-8")
    if len(encoded) <= MAX_OCTETS:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    limit = MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
            limit = MAX_OCTETS - 1  # continuation lines start with a space
        current += char
        size += width
    parts.append(current)
    return (CRLF + " ").join(parts)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def vtimezone(zone: ZoneInfo, first_year: int, last_year: int) -> list[str]:
    """Return the VTIMEZONE lines describing `zone` from 1 January `first_year` to `last_year`."""
    start = datetime(first_year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    local = start.astimezone(zone)
    previous = local.utcoffset()
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone.key}"]

    def component(at_local: datetime, before: timedelta, after: timedelta, name: str, dst: bool):
        kind = "DAYLIGHT" if dst else "STANDARD"
        return [
            f"BEGIN:{kind}",
            f"DTSTART:{at_local.strftime('%Y%m%dT%H%M%S')}",
            f"TZOFFSETFROM:{_offset(before)}",
            f"TZOFFSETTO:{_offset(after)}",
            f"TZNAME:{escape_text(name)}",
            f"END:{kind}",
        ]

    lines += component(
        local.replace(tzinfo=None),
        previous,
        previous,
        local.tzname() or zone.key,
        bool(local.dst()),
    )
    # Offsets change on the hour (or half hour) in every zone we serve: scan by 30 minutes.
    moment = start
    step = timedelta(minutes=30)
    while moment < end:
        moment += step
        here = moment.astimezone(zone)
        offset = here.utcoffset()
        if offset != previous:
            # DTSTART is the wall-clock time of the change, in the offset before it.
            before_local = (moment + previous).replace(tzinfo=None)
            name = here.tzname() or ""
            lines += component(before_local, previous, offset, name, bool(here.dst()))
            previous = offset
    lines.append("END:VTIMEZONE")
    return lines


def calendar(
    events: list[CalendarEvent], *, zone: ZoneInfo, name: str, now: datetime | None = None
) -> bytes:
    """Return a VCALENDAR with the events, as UTF-8 bytes with CRLF line ends."""
    now = now or clock.now()
    years = [e.start.astimezone(zone).year for e in events] + [
        e.end.astimezone(zone).year for e in events
    ]
    first, last = (min(years), max(years)) if years else (now.year, now.year)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Merito//Training calendar//ES",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"X-WR-TIMEZONE:{zone.key}",
        *vtimezone(zone, first, last),
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{_utc(event.stamp or now)}",
            f"DTSTART;TZID={zone.key}:{_local(event.start, zone)}",
            f"DTEND;TZID={zone.key}:{_local(event.end, zone)}",
            f"SUMMARY:{escape_text(event.summary)}",
        ]
        if event.location:
            lines.append(f"LOCATION:{escape_text(event.location)}")
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        lines.append(f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return (CRLF.join(fold(line) for line in lines) + CRLF).encode("utf-8")
