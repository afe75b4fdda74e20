"""iCalendar (RFC 5545) and its scheduling messages (iTIP, RFC 5546): the one path every domain
uses for calendar files (training sessions, competition interviews and test sittings).

No dependency, so every rule is visible:

- Lines end with CRLF and are folded at 75 octets (never inside a UTF-8 character), continuation
  lines starting with one space (§3.1).
- TEXT values escape backslash, semicolon, comma and newlines (§3.3.11); parameter values
  (a person's name in CN) are quoted and never carry a double quote (§3.2).
- Times are local to the organisation's zone (DTSTART;TZID=America/Mexico_City:…) and the
  calendar carries a VTIMEZONE built from the zone database for the years it covers (§3.6.5), so
  clients that do not know the zone name still place the events right; DTSTAMP is UTC.
- A calendar to subscribe to or download is `METHOD:PUBLISH` (`calendar`). An invitation sent
  by mail (`invitation`) is `METHOD:REQUEST` with ORGANIZER and ATTENDEE; an update keeps the
  event's UID and raises its SEQUENCE, so calendar programs replace the event instead of adding
  a second one; a cancellation is `METHOD:CANCEL` with `STATUS:CANCELLED` and a higher SEQUENCE
  still, which removes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from backend import clock

__all__ = [
    "CalendarEvent",
    "Method",
    "Person",
    "calendar",
    "content_type",
    "escape_text",
    "fold",
    "invitation",
    "vtimezone",
]

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//Merito//Calendar//ES"


class Method(StrEnum):
    """The iTIP method of a calendar object (RFC 5546 §1.4)."""

    publish = "PUBLISH"  # a calendar to download or subscribe to
    request = "REQUEST"  # an invitation, or an update of one (same UID, higher SEQUENCE)
    cancel = "CANCEL"  # the event is called off


@dataclass(frozen=True)
class Person:
    """An organiser or attendee: a mail address and, optionally, a name."""

    email: str
    name: str = ""


@dataclass(frozen=True)
class CalendarEvent:
    uid: str  # stable: the same event keeps it through every update and its cancellation
    start: datetime  # aware
    end: datetime  # aware
    summary: str
    location: str = ""
    description: str = ""
    cancelled: bool = False
    stamp: datetime | None = None
    sequence: int = 0  # raised by every update that changes the time or the place
    organizer: Person | None = None
    attendees: tuple[Person, ...] = ()
    url: str = ""


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


def param_value(value: str) -> str:
    """Return `value` as a quoted parameter value: no double quotes or control characters."""
    cleaned = "".join(c for c in value if c >= " " and c not in '"\x7f')
    return f'"{cleaned}"'


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


def _person(prop: str, person: Person, extra: str = "") -> str:
    name = f";CN={param_value(person.name)}" if person.name else ""
    return f"{prop}{name}{extra}:mailto:{person.email}"


def _vevent(event: CalendarEvent, zone: ZoneInfo, now: datetime) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{_utc(event.stamp or now)}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTART;TZID={zone.key}:{_local(event.start, zone)}",
        f"DTEND;TZID={zone.key}:{_local(event.end, zone)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.organizer:
        lines.append(_person("ORGANIZER", event.organizer))
    for attendee in event.attendees:
        lines.append(
            _person("ATTENDEE", attendee, ";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE")
        )
    lines.append(f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}")
    lines.append("END:VEVENT")
    return lines


def calendar(
    events: Iterable[CalendarEvent],
    *,
    zone: ZoneInfo,
    name: str,
    now: datetime | None = None,
    method: Method = Method.publish,
) -> bytes:
    """Return a VCALENDAR with the events, as UTF-8 bytes with CRLF line ends."""
    events = list(events)
    now = now or clock.now()
    years = [e.start.astimezone(zone).year for e in events] + [
        e.end.astimezone(zone).year for e in events
    ]
    first, last = (min(years), max(years)) if years else (now.year, now.year)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method.value}",
    ]
    if name:
        lines += [f"X-WR-CALNAME:{escape_text(name)}", f"X-WR-TIMEZONE:{zone.key}"]
    lines += vtimezone(zone, first, last)
    for event in events:
        lines += _vevent(event, zone, now)
    lines.append("END:VCALENDAR")
    return (CRLF.join(fold(line) for line in lines) + CRLF).encode("utf-8")


def invitation(event: CalendarEvent, *, zone: ZoneInfo, now: datetime | None = None) -> bytes:
    """Return the scheduling message for one event: a REQUEST (a new invitation, or an update
    when its SEQUENCE is higher than the last one sent), or a CANCEL when it is cancelled.

    DTSTAMP is the moment the message is made, as iTIP asks, whatever `event.stamp` says."""
    now = now or clock.now()
    stamped = CalendarEvent(**{**event.__dict__, "stamp": now})
    method = Method.cancel if event.cancelled else Method.request
    return calendar([stamped], zone=zone, name="", now=now, method=method)


def content_type(body: bytes) -> str:
    """Return the MIME type of a calendar made here, with its method (for mail attachments)."""
    for line in body.decode("utf-8").split(CRLF):
        if line.startswith("METHOD:"):
            return f"text/calendar; method={line.removeprefix('METHOD:')}; charset=utf-8"
    return "text/calendar; charset=utf-8"
