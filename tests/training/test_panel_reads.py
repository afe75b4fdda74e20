"""The dashboard's training panels read through `panel_reads` (plain rows of prebuilt
statements): they must answer as the pages' reads do (`plans_for_people`, `team_plans`,
`my_enrolments`, `learner_for_user`), and the panels must show what they read."""

from __future__ import annotations

from datetime import date

import pytest

from backend.clock import now as utcnow
from backend.config import get_settings
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from competency_framework.training import service
from competency_framework.training.models import ACTIVE_ENROLMENT_STATUSES
from competency_framework.training.service import PlanSummary
from tests.conftest import login
from tests.training.helpers import activity, principal_for, session_of

YEAR = service.plan_year(get_settings())


@pytest.fixture
def people(session, org, make_user):
    return {
        "head": principal_for(session, make_user("employee", employee=org.head)),
        "a": principal_for(session, make_user("employee", employee=org.officer_a)),
        "b": principal_for(session, make_user("employee", employee=org.officer_b)),
        "hr": principal_for(session, make_user("hr_planner")),
    }


def courses(session, *codes: str, cost: int = 1000, audience=("procurement_staff",)) -> list:
    found = [activity(session, code, {}, cost=cost, audience=audience) for code in codes]
    session.commit()
    return found


def add(session, person, principal, *activities, year: int = YEAR) -> None:
    for course in activities:
        service.add_item(session, employee=person, activity=course, actor=principal, year=year)


def report_of(session, head, number: str, first: str, last: str):
    return org_service.create_employee(
        session,
        EmployeeInput(
            number=number,
            first_name=first,
            last_name=last,
            email=f"{number.lower()}@example.org",
            unit_id=head.unit_id,
            position_id=None,
            supervisor_id=head.id,
            hire_date=date(2015, 3, 1),
        ),
    )


def test_a_plan_is_summed_up_as_plans_for_people_counts_it(session, settings, org, people):
    done, approved, waiting = courses(session, "done", "approved", "waiting")
    add(session, org.officer_a, people["a"], done, approved)
    service.approve_plan(session, employee=org.officer_a, actor=people["head"], year=YEAR)
    add(session, org.officer_a, people["a"], waiting)
    seat = session_of(session, done)
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=org.officer_a, actor=people["a"], year=YEAR
    )
    service.complete(session, settings, enrolment=enrolment, actor=people["a"])
    service.ensure_plan(session, employee=org.officer_b, year=YEAR)  # a plan without items
    session.commit()

    summaries = {
        person.id: service.plan_summary(session, employee_id=person.id, year=YEAR)
        for person in (org.officer_a, org.officer_b, org.head)
    }
    assert summaries == {
        org.officer_a.id: PlanSummary("proposed", approved=1, waiting=1, completed=1),
        org.officer_b.id: PlanSummary("proposed", approved=0, waiting=0, completed=0),
        org.head.id: None,  # no plan this year
    }
    for person in (org.officer_a, org.officer_b, org.head):
        [old] = service.plans_for_people(session, [(person, None)], YEAR)
        new = summaries[person.id]
        assert (new is None) == (old.plan is None)
        if new is not None:
            assert (new.status, new.approved, new.waiting, new.completed) == (
                old.plan.status,
                old.approved,
                old.waiting,
                old.completed,
            )


def test_waiting_plans_are_the_team_plans_awaiting_approval_in_the_same_order(
    session, org, people, make_user
):
    # Names a database collation may order otherwise than code points (as team_plans sorts).
    alvarez = report_of(session, org.head, "E010", "Íñigo", "Álvarez")
    zamora = report_of(session, org.head, "E011", "Zoe", "Zamora")
    session.commit()
    cheap, dear = courses(session, "cheap", cost=1000) + courses(session, "dear", cost=5000)
    add(session, org.officer_a, people["a"], cheap, dear)
    add(session, org.officer_b, people["b"], cheap)
    service.approve_plan(session, employee=org.officer_b, actor=people["head"], year=YEAR)
    add(session, org.officer_b, people["b"], dear, year=YEAR + 1)  # waits, but next year
    for person, course in ((alvarez, dear), (zamora, cheap), (org.outsider, cheap)):
        add(session, person, principal_for(session, make_user(employee=person)), course)
    session.commit()

    waiting = service.waiting_plans(session, supervisor_id=org.head.id, year=YEAR)
    assert [(w.full_name, w.waiting, w.pending_cost) for w in waiting] == [
        ("Mario Ruiz", 2, 6000),
        ("Zoe Zamora", 1, 1000),
        ("Íñigo Álvarez", 1, 5000),
    ]
    old = service.team_plans(session, actor=people["head"], year=YEAR)
    assert [(w.employee_id, w.full_name, w.waiting, w.pending_cost) for w in waiting] == [
        (t.employee.id, t.employee.full_name, t.waiting, t.pending_cost) for t in old if t.waiting
    ]


def upcoming_as_before(rows, now, limit):
    """The panel's old reading of `my_enrolments`: live places in sessions not over yet."""
    return [
        (e.status, s.starts_at, s.place, a.title_es, a.title_en)
        for e, s, a in rows
        if e.status in ACTIVE_ENROLMENT_STATUSES and s.ends_at >= now
    ][:limit]


def fields(rows):
    return [(r.status, r.starts_at, r.place, r.title_es, r.title_en) for r in rows]


def test_upcoming_sessions_are_the_live_places_of_my_enrolments_soonest_first(
    session, settings, org, people
):
    completed, started, full, dropped, later, last = courses(
        session, "completed", "started", "full", "dropped", "later", "last"
    )

    def enrol(seat, person):
        return service.enrol_employee(
            session, training_session_id=seat.id, employee=person, actor=people["hr"], year=YEAR
        )

    full_seat = session_of(session, full, days_from_now=5, capacity=1, place="Sala 5")
    enrol(full_seat, org.officer_b)
    seats = {
        "completed": session_of(session, completed),
        "started": session_of(session, started),
        "full": full_seat,
        "dropped": session_of(session, dropped, days_from_now=12),
        "later": session_of(session, later, days_from_now=20, place="Sala 20"),
        "last": session_of(session, last, days_from_now=30),
    }
    mine = {name: enrol(seat, org.officer_a) for name, seat in seats.items()}
    service.complete(session, settings, enrolment=mine["completed"], actor=people["hr"])
    service.cancel(session, enrolment=mine["dropped"], actor=people["a"])
    session.commit()

    upcoming = service.upcoming_sessions(session, employee_id=org.officer_a.id, limit=3)
    assert [(r.title_en, r.status) for r in upcoming] == [
        ("Course started", "enrolled"),
        ("Course full", "waitlisted"),
        ("Course later", "enrolled"),
    ]
    rows = service.my_enrolments(session, employee_id=org.officer_a.id)
    for limit in (3, 10):
        assert fields(
            service.upcoming_sessions(session, employee_id=org.officer_a.id, limit=limit)
        ) == upcoming_as_before(rows, utcnow(), limit)


def test_a_supplier_learner_and_their_sessions_are_read_as_before(session, settings, people):
    first, second = courses(session, "suppliers_a", "suppliers_b", audience=("suppliers",))
    learner = service.create_supplier_learner(
        session,
        settings,
        full_name="Proveedora",
        email="proveedora@proveedor.example",
        organisation="Proveedora S.A.",
        password="una-persona-de-proveedor",
        actor=people["hr"],
    )
    for course, days in ((first, 20), (second, 5)):
        seat = session_of(session, course, days_from_now=days, place=f"Sala {days}")
        service.enrol_learner(
            session, training_session_id=seat.id, learner=learner, actor=people["hr"]
        )
    session.commit()

    found = service.learner_of_user(session, user_id=learner.user_id)
    assert (found.id, found.organisation) == (learner.id, "Proveedora S.A.")
    assert service.learner_of_user(session, user_id=people["hr"].user.id) is None
    upcoming = service.upcoming_sessions(session, learner_id=learner.id, limit=3)
    assert [r.place for r in upcoming] == ["Sala 5", "Sala 20"]
    rows = service.my_enrolments(session, learner_id=learner.id)
    assert fields(upcoming) == upcoming_as_before(rows, utcnow(), 3)


def test_levels_to_confirm_stops_at_the_limit(session, settings, org, people):
    course = activity(session, "legal", {"legal": (0, 2)})
    seat = session_of(session, course)
    session.commit()
    for person in (org.officer_a, org.officer_b):
        enrolment = service.enrol_employee(
            session, training_session_id=seat.id, employee=person, actor=people["hr"], year=YEAR
        )
        service.complete(session, settings, enrolment=enrolment, actor=people["hr"])
    session.commit()

    every = service.levels_to_confirm(session, supervisor_employee_id=org.head.id)
    assert {employee.id for employee, *_ in every} == {org.officer_a.id, org.officer_b.id}
    first = service.levels_to_confirm(session, supervisor_employee_id=org.head.id, limit=1)
    assert first == every[:1]


def test_the_dashboard_shows_the_plans_waiting_and_the_next_sessions(client, session, org, people):
    cheap, dear, soon, later = courses(session, "cheap", "dear", "soon", "later")
    add(session, org.officer_a, people["a"], cheap, dear)
    for course, days in ((later, 20), (soon, 5)):
        seat = session_of(session, course, days_from_now=days, place=f"Sala {days}")
        service.enrol_employee(
            session, training_session_id=seat.id, employee=org.officer_b, actor=people["hr"]
        )
    session.commit()

    login(client, people["head"].user.email)
    home = client.get("/").text
    assert "1 plan awaits your approval:" in home
    assert f'<a href="/training/people/{org.officer_a.id}">Mario Ruiz</a> — 2 activities' in home
    client.cookies.clear()
    login(client, people["b"].user.email)
    home = client.get("/").text
    assert "Plan " in home and "2 approved, 0 awaiting approval, 0 completed." in home
    assert home.index("Course soon") < home.index("Sala 5") < home.index("Course later")
