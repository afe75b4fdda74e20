"""Interview and test-sitting slots: capacity, bookings, the .ics invitations and their updates
and cancellations (read back with the `icalendar` package), and the notices they send."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import icalendar
import pytest
from sqlmodel import select

from assessments.vacancies import service
from assessments.vacancies.models import Slot, SlotBooking, SlotKind, VacancyStatus
from backend import notices
from backend.audit import AuditEntry
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.notices.models import Notice, NoticeDelivery
from tests.browser.conftest import LiveServer
from tests.conftest import TEST_PASSWORD, login
from tests.smtp_helpers import local_smtp, use_smtp
from tests.vacancies import helpers


def sign_in(client, email: str, password: str = TEST_PASSWORD) -> str:
    client.cookies.clear()
    return login(client, email, password)


def _slot(session, settings, comp, kind, *, hours_ahead=48, capacity=2, place="Sala 3"):
    local = (comp_now(comp) + timedelta(hours=hours_ahead)).astimezone(
        helpers.backend_clock.zone(settings.time_zone)
    )
    slot = service.create_slot(
        session,
        settings,
        vacancy=comp.vacancy,
        data=service.SlotInput(
            kind=kind,
            starts_at=local.strftime("%Y-%m-%d %H:%M"),
            ends_at=(local + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            place=place,
            capacity=str(capacity),
        ),
        actor=comp.hr,
    )
    session.commit()
    return slot


def comp_now(comp):
    return service.now_or(None)


class CalendarApp:
    """What a calendar program does with the invitations it receives (RFC 5546 §3.2): keep one
    event per UID, replace it by a REQUEST with a SEQUENCE not lower, drop it on a CANCEL."""

    def __init__(self) -> None:
        self.events: dict[str, icalendar.Event] = {}

    def receive(self, body: bytes) -> None:
        cal = icalendar.Calendar.from_ical(body)
        method = str(cal["METHOD"])
        for event in cal.walk("VEVENT"):
            uid, sequence = str(event["UID"]), int(event.get("SEQUENCE", 0))
            known = self.events.get(uid)
            if known is not None and int(known.get("SEQUENCE", 0)) > sequence:
                continue  # an older message arriving late
            if method == "CANCEL":
                self.events.pop(uid, None)
            else:
                self.events[uid] = event


def _attachments(session, user_id: int, kind: str) -> list[bytes]:
    rows = session.exec(
        select(NoticeDelivery)
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .where(Notice.user_id == user_id, Notice.kind == kind)
        .order_by(NoticeDelivery.id)
    ).all()
    return [row.attachment for row in rows]


@pytest.fixture
def interviews(session, settings, fake_clock, published, org):
    comp = published
    for name in ("Ana", "Beto"):
        user = helpers.external_candidate(session, settings, first=name)
        comp.candidates[name] = (user, helpers.apply(session, settings, comp.vacancy, user))
    helpers.run_to_interview(
        session,
        settings,
        fake_clock,
        comp,
        {"Ana": 8, "Beto": 8},
        {"Ana": [3, 3, 3], "Beto": [3, 3, 3]},
    )
    return comp


@pytest.fixture
def at_interview(session, settings, fake_clock, published):
    """The same competition moved straight to its interviews (for tests of the slots alone)."""
    comp = published
    for name in ("Ana", "Beto"):
        user = helpers.external_candidate(session, settings, first=name)
        comp.candidates[name] = (user, helpers.apply(session, settings, comp.vacancy, user))
    comp.vacancy.status = VacancyStatus.interview
    session.add(comp.vacancy)
    session.commit()
    return comp


def test_an_interview_invitation_is_updated_in_place_and_removed_by_its_cancellation(
    session, settings, interviews, fake_clock
):
    comp = interviews
    user, application = comp.candidates["Ana"]
    first = _slot(session, settings, comp, SlotKind.interview)
    second = _slot(session, settings, comp, SlotKind.interview, hours_ahead=72, place="Sala 5")
    app = CalendarApp()

    service.book(
        session, settings, vacancy=comp.vacancy, application=application, slot=first, actor=user
    )
    session.commit()
    [invitation] = _attachments(session, user.id, "vacancy.interview_scheduled")
    app.receive(invitation)
    cal = icalendar.Calendar.from_ical(invitation)
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = app.events.values()
    assert event.decoded("DTSTART") == first.starts_at  # the organisation's zone, read back right
    assert str(event["DTSTART"].params["TZID"]) == settings.time_zone
    assert "Sala 3" in str(event["LOCATION"]) and int(event["SEQUENCE"]) == 0
    assert str(event["ATTENDEE"]).lower() == f"mailto:{user.email}"
    assert str(event["ORGANIZER"]).startswith("mailto:")

    # The candidate moves to another time: an update of the same event, not a second one.
    service.book(
        session, settings, vacancy=comp.vacancy, application=application, slot=second, actor=user
    )
    session.commit()
    update = _attachments(session, user.id, "vacancy.interview_scheduled")[-1]
    app.receive(update)
    [moved] = app.events.values()
    assert str(moved["UID"]) == str(event["UID"]) and int(moved["SEQUENCE"]) == 1
    assert moved.decoded("DTSTART") == second.starts_at and "Sala 5" in str(moved["LOCATION"])
    session.refresh(first)
    session.refresh(second)
    assert (first.booked, second.booked) == (0, 1)
    moves = session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "vacancy.slot_rescheduled",
            AuditEntry.entity_id == str(application.id),
        )
    ).all()
    assert len(moves) == 1 and "Sala 3" in str(moves[0].before)

    # Each panel member got the same event (same UID) and its update.
    for member in comp.panel.members:
        panel_app = CalendarApp()
        for body in _attachments(session, member.id, "vacancy.panel_interview"):
            panel_app.receive(body)
        assert list(panel_app.events) == [str(event["UID"])]

    service.cancel_booking(
        session,
        settings,
        vacancy=comp.vacancy,
        application=application,
        kind="interview",
        actor=user,
    )
    session.commit()
    [cancel] = _attachments(session, user.id, "vacancy.booking_cancelled")
    cal = icalendar.Calendar.from_ical(cancel)
    assert str(cal["METHOD"]) == "CANCEL"
    [cancelled] = cal.walk("VEVENT")
    assert int(cancelled["SEQUENCE"]) == 2 and str(cancelled["STATUS"]) == "CANCELLED"
    app.receive(cancel)
    assert app.events == {}
    session.refresh(second)
    assert second.booked == 0

    # The competition's earlier steps told candidates and panel members, with their dates.
    ana, _app = comp.candidates["Ana"]
    kinds = set(session.exec(select(Notice.kind).where(Notice.user_id == ana.id)).all())
    assert {"vacancy.application_received", "vacancy.sift_passed"} <= kinds
    member = comp.panel.members[0]
    kinds = set(session.exec(select(Notice.kind).where(Notice.user_id == member.id)).all())
    assert {"vacancy.scoring_opens_sift", "vacancy.scoring_opens_interview"} <= kinds
    assert session.get(User, ana.id).locale == "en"

    # Once the last booked interview is over, members with interview scores missing are told
    # they are due, once.
    beto, beto_app = comp.candidates["Beto"]
    service.book(
        session, settings, vacancy=comp.vacancy, application=beto_app, slot=first, actor=beto
    )
    session.commit()
    assert service.remind_scoring_due(session) == 0  # not over yet
    fake_clock.moment = first.ends_at + timedelta(minutes=1)
    assert service.remind_scoring_due(session) == len(comp.panel.members)
    assert service.remind_scoring_due(session) == 0
    session.commit()
    due = session.exec(select(Notice).where(Notice.kind == "vacancy.scoring_deadline")).all()
    assert {n.user_id for n in due} == {m.id for m in comp.panel.members}


def test_a_full_slot_and_bad_input_are_refused_and_nothing_changes(session, settings, at_interview):
    comp = at_interview
    with pytest.raises(service.VacancyError) as refused:
        service.create_slot(
            session,
            settings,
            vacancy=comp.vacancy,
            data=service.SlotInput(kind="lunch", starts_at="tomorrow", ends_at="", capacity="0"),
            actor=comp.hr,
        )
    assert set(refused.value.errors) >= {"kind", "starts_at", "ends_at", "capacity"}
    session.rollback()
    assert session.exec(select(Slot)).all() == []

    slot = _slot(session, settings, comp, SlotKind.interview, capacity=1)
    ana, ana_app = comp.candidates["Ana"]
    beto, beto_app = comp.candidates["Beto"]
    service.book(session, settings, vacancy=comp.vacancy, application=ana_app, slot=slot, actor=ana)
    session.commit()
    with pytest.raises(service.VacancyError) as refused:
        service.book(
            session, settings, vacancy=comp.vacancy, application=beto_app, slot=slot, actor=beto
        )
    session.rollback()
    assert refused.value.status_code == 409
    assert session.get(Slot, slot.id).booked == 1
    assert service.booking_of(session, beto_app, "interview") is None


def test_over_http_a_candidate_books_moves_downloads_and_cancels_only_their_own(
    client, session, settings, at_interview
):
    comp = at_interview
    ana, ana_app = comp.candidates["Ana"]
    _beto, beto_app = comp.candidates["Beto"]
    first = _slot(session, settings, comp, SlotKind.interview)
    second = _slot(session, settings, comp, SlotKind.interview, hours_ahead=72, place="Sala 5")
    csrf = sign_in(client, ana.email, helpers.TEST_PASSWORD + "x")
    page = client.get(f"/applications/{ana_app.id}")
    assert "Available times" in page.text and f'value="{first.id}"' in page.text
    url = f"/applications/{ana_app.id}/slots/interview"
    booked = client.post(url, data={"csrf_token": csrf, "slot": str(first.id)})
    assert "Your time is booked" in booked.text
    ics = client.get(f"{url}.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    [event] = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert event.decoded("DTSTART") == first.starts_at
    client.post(url, data={"csrf_token": csrf, "slot": str(second.id)})
    [moved] = icalendar.Calendar.from_ical(client.get(f"{url}.ics").content).walk("VEVENT")
    assert str(moved["UID"]) == str(event["UID"]) and int(moved["SEQUENCE"]) == 1
    # Nothing of anyone else's: another application's booking and calendar answer 404.
    other = f"/applications/{beto_app.id}/slots/interview"
    assert client.post(other, data={"csrf_token": csrf, "slot": str(first.id)}).status_code == 404
    assert client.get(f"{other}.ics").status_code == 404
    assert service.booking_of(session, beto_app, "interview") is None
    # A slot id that is not offered is refused with a reason, and nothing changes.
    refused = client.post(url, data={"csrf_token": csrf, "slot": "999999"})
    assert "This time is no longer offered." in refused.text
    client.post(f"{url}/cancel", data={"csrf_token": csrf})
    assert client.get(f"{url}.ics").status_code == 404


def test_over_http_hr_opens_a_slot_keeping_a_refused_form_and_gives_it_to_a_candidate(
    client, session, settings, at_interview
):
    comp = at_interview
    _beto, beto_app = comp.candidates["Beto"]
    csrf = sign_in(client, comp.hr.email)
    page = f"/competitions/{comp.vacancy.id}/calendar"
    assert client.get(page).status_code == 200
    bad = {"csrf_token": csrf, "kind": "interview", "starts_at": "2020-01-01T09:00"}
    bad |= {"ends_at": "2020-01-01T08:00", "place": "Sala azul", "capacity": "0"}
    again = client.post(page, data=bad).text
    assert "Choose a time in the future." in again and 'value="Sala azul"' in again
    assert session.exec(select(Slot)).all() == []
    start = (
        (comp_now(comp) + timedelta(days=3))
        .astimezone(helpers.backend_clock.zone(settings.time_zone))
        .replace(second=0, microsecond=0)
    )
    good = {"csrf_token": csrf, "kind": "interview", "place": "Sala azul", "capacity": "2"}
    good |= {"starts_at": start.strftime("%Y-%m-%dT%H:%M")}
    good |= {"ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    assert "The time was opened." in client.post(page, data=good).text
    [slot] = session.exec(select(Slot)).all()
    assert (slot.starts_at, slot.place, slot.capacity) == (start, "Sala azul", 2)
    client.post(
        f"{page}/{slot.id}/assign", data={"csrf_token": csrf, "application": str(beto_app.id)}
    )
    session.expire_all()
    assert service.booking_of(session, beto_app, "interview").slot_id == slot.id
    assert beto_app.candidate_name in client.get(page).text


@pytest.fixture
def smtp(settings):
    settings.public_url = "https://merito.example.org"
    with local_smtp() as (controller, inbox):
        use_smtp(settings, controller)
        yield inbox


def test_candidates_and_panel_members_get_their_invitations_by_mail_in_their_language(
    session, settings, smtp, at_interview
):
    comp = at_interview
    ana, ana_app = comp.candidates["Ana"]  # English
    beto, beto_app = comp.candidates["Beto"]
    spanish_member = comp.panel.members[1]
    for user in (beto, spanish_member):
        user.locale = "es"
        session.add(user)
    session.commit()
    slot = _slot(session, settings, comp, SlotKind.interview, place="Sala 3, Torre B")
    for user, application in ((ana, ana_app), (beto, beto_app)):
        service.book(
            session, settings, vacancy=comp.vacancy, application=application, slot=slot, actor=user
        )
    session.commit()
    run = notices.deliver(session, settings)
    assert run.failed == 0
    inbox: dict[str, list] = {}
    for message in smtp.messages:
        inbox.setdefault(str(message["To"]), []).append(message)
    assert len(inbox[ana.email]) == 2
    by_subject = {(str(m["To"]), str(m["Subject"])): m for m in smtp.messages}
    # Their applications were acknowledged too, each in its language, with the dates.
    assert (ana.email, "We received your application") in by_subject
    assert (beto.email, "Recibimos su postulación") in by_subject
    en = by_subject[(ana.email, "Your interview: date and place")]
    es = by_subject[(beto.email, "Su entrevista: fecha y lugar")]
    assert "Sala 3, Torre B" in en.get_body(("plain",)).get_content()
    assert (
        f"https://merito.example.org/applications/{beto_app.id}"
        in es.get_body(("plain",)).get_content()
    )
    for message in (en, es):
        [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "REQUEST"
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        [event] = cal.walk("VEVENT")
        assert event.decoded("DTSTART") == slot.starts_at
    # Each panel member: one mail per interview, in their language, with the invitation.
    english_member = comp.panel.members[0]
    subjects = sorted(str(m["Subject"]) for m in inbox[english_member.email])
    assert subjects == sorted(
        f"Interview of candidate {a.anonymous_code}" for a in (ana_app, beto_app)
    )
    subjects = sorted(str(m["Subject"]) for m in inbox[spanish_member.email])
    assert subjects == sorted(
        f"Entrevista de la candidatura {a.anonymous_code}" for a in (ana_app, beto_app)
    )
    assert notices.deliver(session, settings).sent == 0  # nothing twice


CROWD = 10
PLACES = 3


@pytest.mark.races
def test_concurrent_bookings_at_a_live_server_never_overfill_a_slot(
    app, session, settings, at_interview
):
    comp = at_interview
    comp.vacancy.status = VacancyStatus.published  # a few more applicants first
    for n in range(CROWD - len(comp.candidates)):
        user = helpers.external_candidate(session, settings, first=f"Persona{n}")
        comp.candidates[f"p{n}"] = (user, helpers.apply(session, settings, comp.vacancy, user))
    comp.vacancy.status = VacancyStatus.interview
    session.add(comp.vacancy)
    slot = _slot(session, settings, comp, SlotKind.interview, capacity=PLACES)
    people = []
    for user, application in comp.candidates.values():
        token, row = auth_service.start_session(session, settings, user=user)
        people.append((token, row.csrf_token, application.id))
    session.commit()
    server = LiveServer(app)
    server.start()
    try:

        def post(person):
            token, csrf, application_id = person
            return httpx.post(
                f"{server.url}/applications/{application_id}/slots/interview",
                data={"slot": str(slot.id)},
                headers={"Cookie": f"merito_session={token}", "X-CSRF-Token": csrf},
                timeout=60,
            ).status_code

        with ThreadPoolExecutor(max_workers=CROWD) as pool:
            statuses = list(pool.map(post, people))
    finally:
        server.stop()
    assert statuses == [303] * CROWD  # each is answered: booked, or told the time is full
    session.expire_all()
    assert session.get(Slot, slot.id).booked == PLACES
    live = session.exec(
        select(SlotBooking).where(SlotBooking.slot_id == slot.id, SlotBooking.cancelled_at == None)  # noqa: E711
    ).all()
    assert len(live) == PLACES
