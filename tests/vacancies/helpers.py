"""Builders for the vacancy tests: every step through the services, never raw SQL."""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from assessments.vacancies import service
from assessments.vacancies.models import Application, Stage, Vacancy
from assessments.vacancies.service import ApplicationInput, NoticeInput, QuestionInput
from backend import clock as backend_clock
from backend.auth import service as auth_service
from backend.auth.permissions import Role
from tests.conftest import TEST_PASSWORD

DOMAINS = (
    ("procurement_law", "Ley de adquisiciones", "Procurement law"),
    ("public_finance", "Finanzas públicas", "Public finance"),
)
# Monday 2 March 2026, 10:00 in Mexico City.
START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


class FakeClock:
    """The competition clock under the test's control."""

    def __init__(self, start: datetime = START) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


def seed_bank(session: Session, actor, *, per_level: int = 3) -> None:
    """Two knowledge domains with `per_level` questions at each difficulty (answer: option 1)."""
    existing = {d.code for d in service.domains(session)}
    for code, es, en in DOMAINS:
        if code not in existing:
            service.create_domain(session, code=code, name_es=es, name_en=en, actor=actor)
        for level in (1, 2, 3):
            for n in range(per_level):
                service.add_question(
                    session,
                    data=QuestionInput(
                        domain=code,
                        competency="legal" if code == "procurement_law" else "financial",
                        difficulty=str(level),
                        stem=f"{en} question {level}.{n}",
                        options=["Right", "Wrong A", "Wrong B", "Wrong C"],
                        correct="1",
                    ),
                    actor=actor,
                )
    session.commit()


def notice(**overrides) -> NoticeInput:
    data = NoticeInput(
        title="Analista de adquisiciones",
        summary="Conduce procedimientos de contratación.",
        criteria={"procurement_process": "3", "legal": "3", "communication": "3"},
        knowledge_domains=["procurement_law", "public_finance"],
        blueprint=[("procurement_law", "", "4"), ("public_finance", "", "2")],
        test_minutes="30",
        eligibility=[("Do you hold a bachelor's degree?", "yes")],
        posting_days="10",
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def draft(session, settings, hr, position, **overrides) -> Vacancy:
    vacancy = service.create_vacancy(session, settings, position=position, actor=hr)
    service.update_draft(session, settings, vacancy=vacancy, data=notice(**overrides), actor=hr)
    session.commit()
    return vacancy


def publish(session, settings, hr, approver, vacancy) -> Vacancy:
    service.submit_for_approval(session, settings, vacancy=vacancy, actor=hr)
    service.approve(session, settings, vacancy=vacancy, actor=approver)
    service.publish(session, settings, vacancy=vacancy, actor=hr)
    session.commit()
    return vacancy


_emails = itertools.count(1)


def external_candidate(session, settings, first="Rosa", last="Paredes Luna"):
    registration = service.register(
        session,
        settings,
        email=f"cand{next(_emails)}@mail.example",
        first_name=first,
        last_names=last,
        password=TEST_PASSWORD + "x",
        locale="en",
    )
    session.commit()
    service.verify(session, token=registration.token)
    session.commit()
    return registration.user


def staff_user(session, settings, *roles, employee=None, name: str | None = None):
    n = next(_emails)
    user = auth_service.create_user(
        session,
        settings,
        email=f"staff{n}@example.org",
        full_name=name or f"Staff Person{n}",
        password=TEST_PASSWORD,
        roles=[Role(r) for r in roles],
        employee_id=employee.id if employee else None,
        locale="en",
        check_password=False,
    )
    session.commit()
    return user


def apply(session, settings, vacancy, user, *, eligible: bool = True) -> Application:
    answers = {
        q["key"]: q["pass_answer"] if eligible else ("no" if q["pass_answer"] == "yes" else "yes")
        for q in vacancy.eligibility
    }
    evidence = {
        c["competency"]: f"I led three tenders where I applied {c['competency']} end to end."
        for c in vacancy.criteria
    }
    application = service.apply(
        session, settings, vacancy=vacancy, user=user, data=ApplicationInput(answers, evidence)
    )
    session.commit()
    return application


def take_test(session, application, user, right: int) -> None:
    """Start the test and answer `right` questions correctly (the rest wrong), then hand in."""
    attempt = service.start_test(session, application=application, user=user)
    answers = {q: (0 if i < right else 1) for i, q in enumerate(attempt.question_ids)}
    service.submit(session, attempt=attempt, user=user, answers=answers)
    session.commit()


@dataclass
class Panel:
    members: list  # users
    inside: object  # the member from the hiring unit


def seat_panel(session, settings, hr, vacancy, org) -> Panel:
    inside = staff_user(session, settings, "panel_member", employee=org.head, name="Lucia Mendez")
    outside = staff_user(
        session, settings, "panel_member", employee=org.outsider, name="Jorge Vega"
    )
    expert = staff_user(session, settings, "panel_member", name="Elena Quiroga Soto")
    for user in (inside, outside, expert):
        service.appoint_panel_member(session, vacancy=vacancy, user=user, actor=hr)
    session.commit()
    return Panel([inside, outside, expert], inside)


def declare_none(session, vacancy, member) -> None:
    lines = service.declaration_sheet(session, vacancy=vacancy, user=member)
    service.declare(
        session,
        vacancy=vacancy,
        user=member,
        decisions={
            line.application.id: (False, "No personal or working relationship.")
            for line in lines
            if line.declaration is None
        },
    )
    session.commit()


def score_all(session, vacancy, stage, member, application, value: int) -> None:
    service.record_scores(
        session,
        vacancy=vacancy,
        application=application,
        stage=stage,
        scores={c["competency"]: (str(value), "") for c in vacancy.criteria},
        rater=member,
    )
    session.commit()


def agree(session, vacancy, stage, member, application) -> None:
    service.accept_suggested(
        session, vacancy=vacancy, application=application, stage=stage, actor=member
    )
    session.commit()


def add_interview_questions(session, hr, vacancy) -> None:
    for c in vacancy.criteria:
        service.add_interview_question(
            session,
            vacancy=vacancy,
            competency_code=c["competency"],
            text=f"Tell us about a time you used {c['competency']} under pressure.",
            actor=hr,
        )
    session.commit()


@dataclass
class Competition:
    vacancy: Vacancy
    hr: object
    approver: object
    panel: Panel
    candidates: dict = field(default_factory=dict)  # name -> (user, application)


def close_window(session, settings, fake: FakeClock, vacancy) -> None:
    """Move the clock past the closing date and the review window."""
    fake.moment = service.review_window_closes(settings, vacancy) + timedelta(minutes=1)


def run_to_interview(session, settings, fake, comp: Competition, test_right: dict, sift: dict):
    """Close the window, run the test and the sift (scores per candidate name per member)."""
    vacancy = comp.vacancy
    close_window(session, settings, fake, vacancy)
    service.open_test(session, settings, vacancy=vacancy, actor=comp.hr)
    session.commit()
    for name, right in test_right.items():
        user, application = comp.candidates[name]
        take_test(session, application, user, right)
    service.close_test(session, vacancy=vacancy, actor=comp.hr)
    session.commit()
    for member in comp.panel.members:
        declare_none(session, vacancy, member)
    active = {a.id for a in service.active_applications(session, vacancy)}
    for name, per_member in sift.items():
        _user, application = comp.candidates[name]
        if application.id not in active:
            continue
        for member, value in zip(comp.panel.members, per_member, strict=True):
            score_all(session, vacancy, Stage.sift, member, application, value)
        agree(session, vacancy, Stage.sift, comp.panel.members[0], application)
    add_interview_questions(session, comp.hr, vacancy)
    service.lock_sift(session, vacancy=vacancy, actor=comp.hr)
    session.commit()


def run_interviews(session, settings, comp: Competition, interview: dict) -> None:
    vacancy = comp.vacancy
    active = {a.id for a in service.active_applications(session, vacancy)}
    for name, per_member in interview.items():
        _user, application = comp.candidates[name]
        if application.id not in active:
            continue
        for member, value in zip(comp.panel.members, per_member, strict=True):
            score_all(session, vacancy, Stage.interview, member, application, value)
        agree(session, vacancy, Stage.interview, comp.panel.members[0], application)
    service.publish_results(session, settings, vacancy=vacancy, actor=comp.hr)
    session.commit()


class _CompetitionClock:
    """`backend.clock` as the competition's modules see it while a test moves their time: the
    rest of the application (sessions, sign-in) keeps the real clock."""

    def __init__(self, fake: FakeClock) -> None:
        self._fake = fake

    def now(self) -> datetime:
        return self._fake()

    def today(self, settings):
        return self._fake().astimezone(backend_clock.zone(settings.time_zone)).date()

    def __getattr__(self, name: str):
        return getattr(backend_clock, name)


def set_clock(monkeypatch, fake: FakeClock) -> FakeClock:
    """Move the competitions' time (every vacancy module that reads `backend.clock`)."""
    moved = _CompetitionClock(fake)
    for name, module in list(sys.modules.items()):
        if name.startswith("assessments.vacancies.") and getattr(module, "clock", None) is (
            backend_clock
        ):
            monkeypatch.setattr(module, "clock", moved)
    return fake
