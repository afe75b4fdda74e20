"""Positions: the posts of each unit, their role profile and planned headcount."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from backend import audit
from backend.i18n import _
from backend.org.models import (
    Employee,
    EmployeeStatus,
    JobFamily,
    Position,
    Unit,
)
from backend.org.service.roles import role_codes
from backend.org.service.rules import raise_problems

# --- positions --------------------------------------------------------------------------------


def get_position(session: Session, position_id: int) -> Position | None:
    return session.get(Position, position_id)


def position_by_code(session: Session, code: str) -> Position | None:
    return session.exec(select(Position).where(Position.code == code)).first()


def _position_problems(
    session: Session,
    *,
    title: str,
    unit_id: int | None,
    job_family: str,
    role_code: str,
    planned_headcount: Any,
) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not title.strip():
        problems["title"] = _("Enter a position title.")
    elif len(title.strip()) > 200:
        problems["title"] = _("Use at most %(n)s characters.", n=200)
    if job_family not in JobFamily.__members__:
        problems["job_family"] = _("Unknown job family.")
    if unit_id is None or session.get(Unit, unit_id) is None:
        problems["unit_id"] = _("The unit does not exist.")
    if role_code.strip() and role_code.strip() not in role_codes():
        problems["role_code"] = _("Unknown role profile.")
    if not isinstance(planned_headcount, int) or isinstance(planned_headcount, bool):
        problems["planned_headcount"] = _("Enter a whole number.")
    elif planned_headcount < 0:
        problems["planned_headcount"] = _("Planned headcount cannot be negative.")
    return problems


def create_position(
    session: Session,
    *,
    code: str,
    title: str,
    unit: Unit,
    job_family: JobFamily | str = JobFamily.procurement,
    grade: str = "",
    role_code: str = "",
    planned_headcount: int = 1,
    actor: object = None,
) -> Position:
    """Create a position in `unit` (the caller commits)."""
    problems: dict[str, str] = {}
    status: dict[str, int] = {}
    if not code.strip():
        problems["code"] = _("Enter a position code.")
    elif len(code.strip()) > 40:
        problems["code"] = _("Use at most %(n)s characters.", n=40)
    elif position_by_code(session, code.strip()) is not None:
        problems["code"] = _("Another position already has this code.")
        status["code"] = 409
    problems |= _position_problems(
        session,
        title=title,
        unit_id=unit.id if unit is not None else None,
        job_family=job_family,
        role_code=role_code,
        planned_headcount=planned_headcount,
    )
    raise_problems(problems, status)
    position = Position(
        code=code.strip(),
        title=title.strip(),
        unit_id=unit.id,
        job_family=JobFamily(job_family),
        grade=grade.strip(),
        role_code=role_code.strip(),
        planned_headcount=planned_headcount,
    )
    session.add(position)
    session.flush()
    audit.record(
        session,
        action="position.created",
        actor=actor,
        entity_type="position",
        entity_id=position.id,
        after=audit.snapshot(position),
    )
    return position


def update_position(
    session: Session, *, position: Position, changes: dict, actor: object
) -> Position:
    """Apply `changes` (title, job_family, grade, unit_id, role_code, planned_headcount).

    The code is the position's stable reference (imports and other systems use it) and does
    not change.
    """
    merged = {
        "title": position.title,
        "unit_id": position.unit_id,
        "job_family": position.job_family,
        "role_code": position.role_code,
        "planned_headcount": position.planned_headcount,
    }
    merged |= {k: v for k, v in changes.items() if k in merged}
    raise_problems(_position_problems(session, **merged))
    before = audit.snapshot(position)
    for key in ("title", "job_family", "grade", "unit_id", "role_code", "planned_headcount"):
        if key in changes:
            value = changes[key]
            setattr(position, key, value.strip() if isinstance(value, str) else value)
    session.add(position)
    session.flush()
    after = audit.snapshot(position)
    if after != before:
        audit.record(
            session,
            action="position.updated",
            actor=actor,
            entity_type="position",
            entity_id=position.id,
            before=before,
            after=after,
        )
    return position


def positions_statement(
    *, unit_ids: list[int] | None = None, job_family: str = "", role_code: str = "", q: str = ""
):
    """Return a query of (Position, Unit) rows matching the filters, by code."""
    statement = (
        select(Position, Unit)
        .join(Unit, col(Position.unit_id) == Unit.id)
        .order_by(col(Position.code))
    )
    if unit_ids is not None:
        statement = statement.where(col(Position.unit_id).in_(unit_ids))
    if job_family:
        statement = statement.where(Position.job_family == job_family)
    if role_code:
        statement = statement.where(Position.role_code == role_code)
    if q.strip():
        like = f"%{q.strip()}%"
        statement = statement.where(
            or_(col(Position.code).ilike(like), col(Position.title).ilike(like))
        )
    return statement


def occupants_count(session: Session, position_ids: list[int]) -> dict[int, int]:
    """Return {position_id: people in it who have not left}, in one query."""
    if not position_ids:
        return {}
    return dict(
        session.exec(
            select(Employee.position_id, func.count())
            .where(
                col(Employee.position_id).in_(position_ids),
                Employee.status != EmployeeStatus.left,
            )
            .group_by(Employee.position_id)
        ).all()
    )
