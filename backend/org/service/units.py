"""Units: the organisation's tree (directorates, delegations, procurement units, user areas)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from backend import audit
from backend.i18n import _
from backend.org.models import (
    Employee,
    EmployeeStatus,
    Position,
    Unit,
    UnitKind,
)
from backend.org.service.rules import CENTRAL_KINDS, raise_problems

# --- units ------------------------------------------------------------------------------------


def get_unit(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code)).first()


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: UnitKind | str,
    parent: Unit | None = None,
    region: str = "",
    state: str = "",
    is_central: bool | None = None,
    actor: object = None,
) -> Unit:
    """Create a unit (the caller commits)."""
    code = code.strip()
    problems: dict[str, str] = {}
    status: dict[str, int] = {}
    if not code:
        problems["code"] = _("Enter a unit code.")
    elif len(code) > 32:
        problems["code"] = _("Use at most %(n)s characters.", n=32)
    elif unit_by_code(session, code) is not None:
        problems["code"] = _("Another unit already has this code.")
        status["code"] = 409
    if not name.strip():
        problems["name"] = _("Enter a unit name.")
    elif len(name.strip()) > 200:
        problems["name"] = _("Use at most %(n)s characters.", n=200)
    if kind not in UnitKind.__members__:
        problems["kind"] = _("Unknown kind of unit.")
    raise_problems(problems, status)
    kind = UnitKind(kind)
    unit = Unit(
        code=code,
        name=name.strip(),
        kind=kind,
        parent_id=parent.id if parent else None,
        region=region.strip() or (parent.region if parent else ""),
        state=state.strip() or (parent.state if parent else ""),
        is_central=is_central
        if is_central is not None
        else (kind in CENTRAL_KINDS or bool(parent and parent.is_central)),
    )
    session.add(unit)
    session.flush()
    audit.record(
        session,
        action="unit.created",
        actor=actor,
        entity_type="unit",
        entity_id=unit.id,
        after=audit.snapshot(unit),
    )
    return unit


def update_unit(session: Session, *, unit: Unit, changes: dict, actor: object) -> Unit:
    """Apply `changes` (name, kind, parent_id, region, state, is_central) to a unit."""
    before = audit.snapshot(unit)
    problems: dict[str, str] = {}
    if "name" in changes and not str(changes["name"]).strip():
        problems["name"] = _("Enter a unit name.")
    if "kind" in changes and changes["kind"] not in UnitKind.__members__:
        problems["kind"] = _("Unknown kind of unit.")
    parent_id = changes.get("parent_id", unit.parent_id)
    if parent_id is not None:
        ancestor = session.get(Unit, parent_id)
        if ancestor is None:
            problems["parent_id"] = _("The parent unit does not exist.")
        while ancestor is not None:
            if ancestor.id == unit.id:
                problems["parent_id"] = _("A unit cannot be placed inside itself.")
                break
            ancestor = session.get(Unit, ancestor.parent_id) if ancestor.parent_id else None
    raise_problems(problems)
    for key in ("name", "kind", "parent_id", "region", "state", "is_central"):
        if key in changes:
            value = changes[key]
            setattr(unit, key, value.strip() if isinstance(value, str) else value)
    session.add(unit)
    session.flush()
    after = audit.snapshot(unit)
    if after != before:
        audit.record(
            session,
            action="unit.updated",
            actor=actor,
            entity_type="unit",
            entity_id=unit.id,
            before=before,
            after=after,
        )
    return unit


def subtree_ids(session: Session, unit_id: int) -> list[int]:
    """Return the unit and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.exec(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
    found, stack, seen = [], [unit_id], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def list_units(
    session: Session,
    *,
    kind: str = "",
    region: str = "",
    central: bool | None = None,
    parent_id: int | None = None,
    q: str = "",
) -> list[Unit]:
    """Return the units matching the filters, by code."""
    statement = select(Unit).order_by(col(Unit.code))
    if kind:
        statement = statement.where(Unit.kind == kind)
    if region:
        statement = statement.where(Unit.region == region)
    if central is not None:
        statement = statement.where(col(Unit.is_central).is_(central))
    if parent_id is not None:
        statement = statement.where(Unit.parent_id == parent_id)
    if q.strip():
        like = f"%{q.strip()}%"
        statement = statement.where(or_(col(Unit.code).ilike(like), col(Unit.name).ilike(like)))
    return list(session.exec(statement).all())


def unit_tree(session: Session, units: list[Unit] | None = None) -> list[tuple[Unit, int]]:
    """Return (unit, depth) pairs in tree order: each unit followed by its sub-units.

    When `units` is a filtered subset, a unit whose parent is not in it is shown as a root.
    """
    units = units if units is not None else list_units(session)
    present = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in sorted(units, key=lambda u: u.code):
        parent = unit.parent_id if unit.parent_id in present else None
        children.setdefault(parent, []).append(unit)
    ordered: list[tuple[Unit, int]] = []
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    seen: set[int] = set()
    while stack:
        unit, depth = stack.pop()
        if unit.id in seen:
            continue
        seen.add(unit.id)
        ordered.append((unit, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(unit.id, [])))
    return ordered


def unit_ancestors(session: Session, unit: Unit) -> list[Unit]:
    """Return the unit's parents from the top of the tree down to its direct parent."""
    chain: list[Unit] = []
    seen = {unit.id}
    current = session.get(Unit, unit.parent_id) if unit.parent_id else None
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = session.get(Unit, current.parent_id) if current.parent_id else None
    return list(reversed(chain))


def regions(session: Session) -> list[str]:
    """Return the regions units are in, alphabetically."""
    return [
        r
        for r in session.exec(select(Unit.region).distinct().order_by(col(Unit.region))).all()
        if r
    ]


@dataclass
class UnitFigures:
    """Headcount figures of one unit (people who have left are not counted)."""

    employees: int = 0
    positions: int = 0
    planned: int = 0


def unit_figures(session: Session) -> dict[int, UnitFigures]:
    """Return {unit_id: figures} for every unit, in two grouped queries."""
    figures: dict[int, UnitFigures] = {}
    for unit_id, count in session.exec(
        select(Employee.unit_id, func.count())
        .where(Employee.status != EmployeeStatus.left)
        .group_by(Employee.unit_id)
    ):
        figures.setdefault(unit_id, UnitFigures()).employees = count
    planned_sum = func.coalesce(func.sum(Position.planned_headcount), 0)
    for unit_id, count, planned in session.exec(
        select(Position.unit_id, func.count(), planned_sum).group_by(Position.unit_id)
    ):
        entry = figures.setdefault(unit_id, UnitFigures())
        entry.positions, entry.planned = count, int(planned)
    return figures
