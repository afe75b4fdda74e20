"""Builders shared by the competency tests (through services, never raw SQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from backend.auth.models import AuthSession, User
from backend.auth.permissions import permissions_for
from backend.auth.service import Principal, roles_of
from backend.clock import now as utcnow
from competency_framework import service


def principal_for(session: Session, user: User) -> Principal:
    """Return the principal a signed-in `user` would have (roles derived as at sign-in)."""
    roles = roles_of(session, user)
    return Principal(
        user=user,
        session=AuthSession(
            token_hash="t",
            user_id=user.id,
            csrf_token="c",
            expires_at=utcnow() + timedelta(hours=1),
        ),
        roles=roles,
        permissions=permissions_for(roles),
    )


def codes(session: Session) -> list[str]:
    return [c.code for c in service.list_competencies(session)]


def self_assess(session: Session, employee, actor, levels: dict[str, int] | int) -> list:
    """Submit a self-assessment (all competencies at one level, or a mapping) and commit."""
    if isinstance(levels, int):
        levels = {code: levels for code in codes(session)}
    written = service.submit_self_assessment(
        session,
        employee=employee,
        ratings={c: service.SelfRating(level=v, note="did it") for c, v in levels.items()},
        actor=actor,
    )
    session.commit()
    return written


def agree_all(session: Session, employee, actor) -> list:
    pending = service.pending_self_entries(session, employee_id=employee.id)
    written = service.validate_ratings(
        session,
        employee=employee,
        decisions=[service.ValidationDecision(e.id, e.level) for e in pending.values()],
        actor=actor,
    )
    session.commit()
    return written
