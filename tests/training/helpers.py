"""Builders shared by the training tests (through services, never raw SQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend.clock import now as utcnow
from competency_framework import service as competency_service
from competency_framework.training import service
from competency_framework.training.service import ActivityInput, TargetInput
from tests.competency.helpers import principal_for

__all__ = ["principal_for", "activity", "session_of", "rate", "small_catalogue"]


def activity(
    session: Session,
    code: str,
    targets: dict[str, tuple[int, int]],
    *,
    cost: int = 0,
    capacity: int = 0,
    modality: str = "classroom",
    audience: tuple[str, ...] = ("procurement_staff",),
    evidence: str = "none",
    pass_score: int | None = None,
    induction: bool = False,
):
    """Create a catalogue activity (as the system) and return it."""
    return service.save_activity(
        session,
        data=ActivityInput(
            code=code,
            title_es=f"Curso {code}",
            title_en=f"Course {code}",
            modality=modality,
            provider="Proveedor",
            hours=8,
            cost=cost,
            capacity=capacity,
            audience=list(audience),
            evidence=evidence,
            pass_score=pass_score,
            is_induction=induction,
            targets=[TargetInput(c, a, b) for c, (a, b) in targets.items()],
        ),
        actor=None,
    )


def session_of(
    session: Session,
    act,
    *,
    capacity: int | None = None,
    days_from_now: int = -1,
    length_days: int = 30,
    place: str = "Aula 1",
):
    """Schedule a session (started yesterday by default, so it can be completed) and return it."""
    start = utcnow() + timedelta(days=days_from_now)
    return service.add_session(
        session,
        activity=act,
        starts_at=start,
        ends_at=start + timedelta(days=length_days),
        place=place,
        capacity=act.capacity if capacity is None else capacity,
        actor=None,
    )


def rate(session: Session, employee, hr, levels: dict[str, int]) -> None:
    """Record validated HR ratings for an employee and commit."""
    for code, level in levels.items():
        competency_service.record_rating(
            session,
            employee=employee,
            competency=competency_service.get_competency(session, code),
            level=level,
            source="hr",
            actor=hr,
        )
    session.commit()


def small_catalogue(session: Session) -> dict:
    """The catalogue the plan-proposal tests reason about (see test_service)."""
    found = {
        "legal_basics": activity(session, "legal_basics", {"legal": (0, 2)}, cost=0),
        "sfp_cert": activity(
            session,
            "sfp_cert",
            {"legal": (2, 3), "procurement_process": (2, 3)},
            cost=18000,
            capacity=30,
            modality="certification",
            evidence="certificate",
        ),
        "negotiation": activity(session, "negotiation", {"negotiation": (1, 3)}, cost=5200),
        "supply_chain": activity(
            session, "supply_chain", {"inventory_logistics_supply_chain": (0, 2)}, cost=0
        ),
    }
    session.commit()
    return found


def train_and_validate(session: Session, settings, *, person, course, seat, hr, head, year: int):
    """Plan `course` for `person`, approve, enrol in `seat`, complete and validate the levels."""
    service.add_item(session, employee=person, activity=course, actor=hr, year=year)
    service.approve_plan(session, employee=person, actor=head, year=year)
    enrolment = service.enrol_employee(
        session, training_session_id=seat.id, employee=person, actor=hr
    )
    result = service.complete(session, settings, enrolment=enrolment, actor=hr)
    competency_service.validate_ratings(
        session,
        employee=person,
        decisions=[
            competency_service.ValidationDecision(e.id, e.level) for e in result.rating_entries
        ],
        actor=head,
    )
