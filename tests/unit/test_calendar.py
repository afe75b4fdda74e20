"""The core calendar module's scheduling messages (iTIP): invitations, updates, cancellations,
read back with the `icalendar` package."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from backend import calendar
from backend.clock import zone

MEXICO = zone("America/Mexico_City")
EVENT = calendar.CalendarEvent(
    uid="vacancy-booking-7@merito.example",
    start=datetime(2026, 12, 10, 16, 0, tzinfo=UTC),
    end=datetime(2026, 12, 10, 17, 0, tzinfo=UTC),
    summary="Entrevista: CONV-2026-001",
    location="Sala 3, piso 2",
    organizer=calendar.Person("no-reply@merito.example", "Mérito"),
    attendees=(calendar.Person("rosa@mail.example", 'Rosa "la" Paredes; Luna'),),
)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_an_invitation_is_a_request_with_organizer_attendee_and_local_times():
    body = calendar.invitation(EVENT, zone=MEXICO, now=NOW)
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == EVENT.start  # 10:00 in Mexico City
    assert event["DTSTART"].to_ical() == b"20261210T100000"
    assert event.decoded("DTSTAMP") == NOW and int(event["SEQUENCE"]) == 0
    assert str(event["ORGANIZER"]) == "mailto:no-reply@merito.example"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:rosa@mail.example"
    assert attendee.params["CN"] == "Rosa la Paredes; Luna"  # quoted, no double quotes
    assert calendar.content_type(body) == "text/calendar; method=REQUEST; charset=utf-8"


def test_an_update_keeps_the_uid_and_a_cancellation_is_a_cancel_with_a_higher_sequence():
    moved = calendar.CalendarEvent(**{**EVENT.__dict__, "sequence": 1, "location": "Sala 5"})
    gone = calendar.CalendarEvent(**{**EVENT.__dict__, "sequence": 2, "cancelled": True})
    update = icalendar.Calendar.from_ical(calendar.invitation(moved, zone=MEXICO, now=NOW))
    cancel = icalendar.Calendar.from_ical(calendar.invitation(gone, zone=MEXICO, now=NOW))
    assert str(update["METHOD"]) == "REQUEST" and str(cancel["METHOD"]) == "CANCEL"
    [u] = update.walk("VEVENT")
    [c] = cancel.walk("VEVENT")
    assert str(u["UID"]) == str(c["UID"]) == EVENT.uid
    assert (int(u["SEQUENCE"]), int(c["SEQUENCE"])) == (1, 2)
    assert str(c["STATUS"]) == "CANCELLED" and str(u["STATUS"]) == "CONFIRMED"


def test_a_published_calendar_says_publish():
    body = calendar.calendar([EVENT], zone=MEXICO, name="Capacitación", now=NOW)
    assert str(icalendar.Calendar.from_ical(body)["METHOD"]) == "PUBLISH"
