"""Training sessions reach the learner's calendar through the notice service: a seat sends the
invitation (iCalendar REQUEST, the session's UID), a cancelled seat or session its CANCEL; a
waiting place sends nothing until it becomes a seat. Read back with the `icalendar` package."""

from __future__ import annotations

import icalendar
import pytest
from sqlmodel import select

from backend import notices
from backend.notices.models import Notice, NoticeDelivery
from competency_framework.training import service
from tests.smtp_helpers import local_smtp, use_smtp
from tests.training.helpers import activity, principal_for, session_of
from tests.training.test_service import YEAR


@pytest.fixture
def people(session, org, make_user):
    return {
        "head": principal_for(session, make_user(employee=org.head)),
        "a": principal_for(session, make_user(employee=org.officer_a, locale="en")),
        "b": principal_for(session, make_user(employee=org.officer_b, locale="es")),
        "hr": principal_for(session, make_user("hr_planner")),
    }


def _approve(session, employee, person, head, course):
    service.add_item(session, employee=employee, activity=course, actor=person, year=YEAR)
    service.approve_plan(session, employee=employee, actor=head, year=YEAR)
    session.commit()


def _sent(session, user_id: int) -> list[tuple[str, bytes]]:
    rows = session.exec(
        select(Notice.kind, NoticeDelivery.attachment)
        .join(NoticeDelivery, NoticeDelivery.notice_id == Notice.id)
        # Only the seats' invitations (approving the plan is a notice of its own).
        .where(Notice.user_id == user_id, Notice.kind.startswith("training.session_seat"))
        .order_by(NoticeDelivery.id)
    ).all()
    return [(kind, body) for kind, body in rows]


def test_a_seat_invites_a_promotion_invites_and_cancellations_remove(
    session, settings, org, people
):
    settings.public_url = "https://merito.example.org"
    course = activity(session, "one_seat_cal", {"legal": (0, 2)}, capacity=1)
    seat = session_of(session, course, days_from_now=3, length_days=1, place="Aula 7")
    session.commit()
    _approve(session, org.officer_a, people["a"], people["head"], course)
    _approve(session, org.officer_b, people["b"], people["head"], course)
    first = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"]
    )
    service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_b, actor=people["b"]
    )
    session.commit()
    a, b = people["a"].user, people["b"].user
    [(kind, body)] = _sent(session, a.id)
    assert kind == "training.session_seat"
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == f"training-session-{seat.id}@merito.example.org"
    assert event.decoded("DTSTART") == seat.starts_at.replace(microsecond=0)
    assert str(event["LOCATION"]) == "Aula 7"
    assert _sent(session, b.id) == []  # on the waiting list: no invitation yet

    service.cancel(session, enrolment=first, actor=people["a"], reason="Clash")
    session.commit()
    [(kind, body)] = _sent(session, a.id)[1:]
    cancel = icalendar.Calendar.from_ical(body)
    assert kind == "training.session_seat_cancelled" and str(cancel["METHOD"]) == "CANCEL"
    [gone] = cancel.walk("VEVENT")
    assert str(gone["UID"]) == str(event["UID"]) and int(gone["SEQUENCE"]) > int(event["SEQUENCE"])
    # The seat went to the waiting list's first: she is invited now, in Spanish.
    [(kind, body)] = _sent(session, b.id)
    assert kind == "training.session_seat"
    assert str(icalendar.Calendar.from_ical(body)["METHOD"]) == "REQUEST"

    service.cancel_session(session, training_session=seat, actor=people["hr"], reason="")
    session.commit()
    assert [kind for kind, _body in _sent(session, b.id)] == [
        "training.session_seat",
        "training.session_seat_cancelled",
    ]
    with local_smtp() as (controller, inbox):
        use_smtp(settings, controller)
        notices.deliver(session, settings)
    subjects = {(str(m["To"]), str(m["Subject"])) for m in inbox.messages}
    title_en, title_es = course.title_en, course.title_es
    assert (a.email, f"Your training session: {title_en}") in subjects
    assert (a.email, f"Training session cancelled: {title_en}") in subjects
    assert (b.email, f"Su sesión de capacitación: {title_es}") in subjects
    assert (b.email, f"Sesión de capacitación cancelada: {title_es}") in subjects
