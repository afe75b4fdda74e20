"""Employees, supervisors and HR are told what waits for them (issue #15), at the moment it
happens, in their own language, through the notice service and a real SMTP server: training
approvals (sent → decided), plans waiting a week (HR), tomorrow's sessions (with the calendar
invitation), competency campaigns (open, due, to validate) and appraisal steps (objectives to
agree, the record to sign)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from types import SimpleNamespace

import icalendar
import pytest
from sqlmodel import select

from assessments.appraisals import service as appraisals
from backend import clock, notices
from backend.notices.models import Notice
from competency_framework import notices as campaign_notices
from competency_framework import service as competencies
from competency_framework.training import jobs as training_jobs
from competency_framework.training import notices as training_notices
from competency_framework.training import service
from tests.appraisals.helpers import (
    appraisal_of,
    open_cycle,
    plan,
    set_objectives,
    through_to_sign_off,
)
from tests.smtp_helpers import local_smtp, use_smtp
from tests.training.helpers import activity, principal_for, session_of
from tests.training.test_service import YEAR


@pytest.fixture
def staff(session, org, make_user):
    """The head (supervisor, Spanish), officers a (English) and b (Spanish), HR (English)."""
    users = {
        "head": make_user(employee=org.head, locale="es"),
        "a": make_user(employee=org.officer_a, locale="en"),
        "b": make_user(employee=org.officer_b, locale="es"),
        "hr": make_user("hr_planner", locale="en"),
    }
    return SimpleNamespace(
        users=users, **{name: principal_for(session, user) for name, user in users.items()}
    )


def _mail(session, settings) -> dict[str, list]:
    """Send what is due to a local SMTP server; return {address: [messages]}."""
    with local_smtp() as (controller, inbox):
        use_smtp(settings, controller)
        notices.deliver(session, settings)
    got: dict[str, list] = {}
    for message in inbox.messages:
        got.setdefault(parseaddr(str(message["To"]))[1], []).append(message)
    return got


def _subjects(mail, user) -> list[str]:
    return sorted(str(m["Subject"]) for m in mail.get(user.email, []))


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_training_approvals_reach_the_supervisor_then_the_employee(session, settings, org, staff):
    settings.public_url = "https://merito.example.org"
    first = activity(session, "notice_one", {"legal": (0, 2)})
    second = activity(session, "notice_two", {"legal": (0, 2)})
    for course in (first, second):
        service.add_item(session, employee=org.officer_a, activity=course, actor=staff.a, year=YEAR)
    service.submit_plan(session, employee=org.officer_a, actor=staff.a, year=YEAR)
    session.commit()
    [declined] = [
        i
        for i in service.plan_view(session, employee=org.officer_a, year=YEAR).waiting
        if i.item.activity_id == second.id
    ]
    service.decline_item(session, item=declined.item, actor=staff.head, reason="Ya lo cursó")
    service.approve_plan(session, employee=org.officer_a, actor=staff.head, year=YEAR)
    session.commit()
    mail = _mail(session, settings)
    [request] = mail[staff.users["head"].email]  # in Spanish, with the link to the plan
    assert str(request["Subject"]) == "Plan de capacitación por aprobar: Mario Ruiz"
    assert f"https://merito.example.org/training/people/{org.officer_a.id}" in _text(request)
    assert _subjects(mail, staff.users["a"]) == [
        "An activity of your training plan was declined",
        f"Your training plan for {YEAR} was approved",
    ]
    [no] = [m for m in mail[staff.users["a"].email] if "declined" in str(m["Subject"])]
    assert "declined Course notice_two" in _text(no) and "Reason: Ya lo cursó" in _text(no)


def test_hr_is_told_of_plans_waiting_a_week_once(session, settings, org, staff):
    course = activity(session, "notice_wait", {"legal": (0, 2)})
    service.add_item(session, employee=org.officer_b, activity=course, actor=staff.b, year=YEAR)
    today = clock.today(settings)
    with clock.frozen(clock.now() - timedelta(days=8)):
        service.submit_plan(session, employee=org.officer_b, actor=staff.b, year=YEAR)
    session.commit()
    _mail(session, settings)  # the supervisor's notice of the request
    zone = settings.time_zone
    assert training_notices.tell_approvals_waiting(session, today=today, zone=zone) == 1
    assert training_notices.tell_approvals_waiting(session, today=today, zone=zone) == 0
    session.commit()
    mail = _mail(session, settings)
    assert _subjects(mail, staff.users["hr"]) == [
        "A training plan has waited a week for approval: Ana Torres"
    ]


def test_a_plans_week_of_waiting_counts_in_the_organisations_days(session, settings, org, staff):
    """At 01:30 UTC it is still the evening before in Mexico City: a plan sent eight of the
    organisation's days ago (its evening, already the next day in UTC) has waited a week, one
    sent seven days ago (after its midnight) has not yet."""
    assert settings.time_zone == "America/Mexico_City"
    course = activity(session, "notice_zone", {"legal": (0, 2)})
    for employee, actor, sent in (
        (org.officer_b, staff.b, datetime(2026, 11, 30, 1, 0, tzinfo=UTC)),  # 29 Nov, 19:00
        (org.officer_a, staff.a, datetime(2026, 11, 30, 7, 0, tzinfo=UTC)),  # 30 Nov, 01:00
    ):
        service.add_item(session, employee=employee, activity=course, actor=actor, year=YEAR)
        with clock.frozen(sent):
            service.submit_plan(session, employee=employee, actor=actor, year=YEAR)
    session.commit()
    _mail(session, settings)
    with clock.frozen(datetime(2026, 12, 8, 1, 30, tzinfo=UTC)):  # 7 Dec, 19:30 there
        assert clock.today(settings) == date(2026, 12, 7)
        # The nightly job, as the scheduler runs it.
        told = training_jobs.training_approvals_waiting(session, settings)
        assert told == "1 notices of plans waiting for approval"
        session.commit()
        assert _subjects(_mail(session, settings), staff.users["hr"]) == [
            "A training plan has waited a week for approval: Ana Torres"
        ]


def test_learners_are_reminded_the_day_before_with_the_invitation(session, settings, org, staff):
    course = activity(session, "notice_tomorrow", {"legal": (0, 2)})
    row = session_of(session, course, days_from_now=1, length_days=1, place="Aula 9")
    service.add_item(session, employee=org.officer_b, activity=course, actor=staff.b, year=YEAR)
    service.approve_plan(session, employee=org.officer_b, actor=staff.head, year=YEAR)
    service.enrol_employee(
        session, training_session_id=row.id, employee=org.officer_b, actor=staff.b
    )
    session.commit()
    _mail(session, settings)  # the seat's invitation and the approval
    zone = settings.time_zone
    assert (
        training_notices.tell_sessions_tomorrow(session, today=clock.today(settings), zone=zone)
        == 1
    )
    assert (
        training_notices.tell_sessions_tomorrow(session, today=clock.today(settings), zone=zone)
        == 0
    )
    session.commit()
    [reminder] = _mail(session, settings)[staff.users["b"].email]
    assert str(reminder["Subject"]) == "Mañana: Curso notice_tomorrow"
    assert "Aula 9" in _text(reminder)
    [ics] = [p for p in reminder.iter_attachments() if p.get_content_type() == "text/calendar"]
    [event] = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert str(event["UID"]).startswith(f"training-session-{row.id}@")


def test_campaigns_tell_participants_when_they_open_and_when_hr_reminds(
    session, settings, org, staff
):
    campaign = competencies.create_campaign(
        session,
        name="Ronda 2026",
        deadline=clock.today(settings) + timedelta(days=20),
        unit_ids=[org.central.id],
        role_codes=[],
        include_subunits=False,
        actor=staff.users["hr"],
    )
    session.commit()
    competencies.remind(session, campaign=campaign, actor=staff.users["hr"])
    session.commit()
    mail = _mail(session, settings)
    assert _subjects(mail, staff.users["a"])[1] == (
        "Your competency self-assessment is open: Ronda 2026"
    )
    head = _subjects(mail, staff.users["head"])
    assert "Su autoevaluación de competencias está abierta: Ronda 2026" in head
    assert any(s.startswith("Recordatorio: su autoevaluación vence el ") for s in head)
    outsider = session.exec(
        select(Notice).where(Notice.kind == campaign_notices.CAMPAIGN_OPEN)
    ).all()
    assert {n.user_id for n in outsider} == {staff.users[k].id for k in ("head", "a", "b")}


def test_appraisal_steps_tell_the_employee(session, settings, org, staff):
    priority = plan(session, staff.hr)
    cycle = open_cycle(session, staff.hr)
    people = SimpleNamespace(b=staff.b, head=staff.head, hr=staff.hr)  # officer b: Spanish
    appraisal = through_to_sign_off(session, cycle, people, org, priority, employee="b")
    english = appraisal_of(session, cycle, org.officer_a)
    set_objectives(session, english, staff.head, priority)
    appraisals.sign(session, appraisal=appraisal, actor=staff.head)
    session.commit()
    mail = _mail(session, settings)
    assert _subjects(mail, staff.users["b"]) == [
        f"Su acta de evaluación de {cycle.name} está lista para firmarse",
        f"Sus objetivos de {cycle.name} están listos para acordarse",
    ]
    assert _subjects(mail, staff.users["a"]) == [
        f"Your objectives for {cycle.name} are ready to agree"
    ]
    [record] = [m for m in mail[staff.users["b"].email] if "acta" in str(m["Subject"])]
    assert f"/appraisals/{appraisal.id}" in _text(record)
