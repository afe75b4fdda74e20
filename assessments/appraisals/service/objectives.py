"""Objectives: proposed by the supervisor, agreed by the employee, progress, team objectives."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, or_, update
from sqlmodel import Session, col, select

from assessments.appraisals import notices as appraisal_notices
from assessments.appraisals.models import (
    Appraisal,
    AppraisalCycle,
    Objective,
    ObjectiveProgress,
    PlanPriority,
    Stage,
    TeamObjective,
    UnitObjective,
)
from assessments.appraisals.service.access import (
    _cycle_of,
    _require_employee,
    _require_supervisor,
    _touch,
    roles_in,
)
from assessments.appraisals.service.common import (
    MAX_NOTE,
    MAX_OBJECTIVES,
    AppraisalError,
    _audit,
    _own_employee_id,
    _raise_if,
    _step,
    _text,
    _title_and_measure,
    named_record,
    record_id,
)
from assessments.appraisals.service.cycles import _check_cycle_open
from assessments.appraisals.service.plan import (
    list_priorities,
    list_unit_objectives,
    supervises_in_unit,
)
from backend import clock
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.i18n import _
from backend.org.models import Employee, Unit


def objectives_of(session: Session, appraisal: Appraisal) -> list[Objective]:
    return list(
        session.exec(
            select(Objective)
            .where(Objective.appraisal_id == appraisal.id)
            .order_by(col(Objective.position), col(Objective.id))
        )
    )


def team_objectives(
    session: Session, *, cycle_id: int, unit_id: int | None = None
) -> list[TeamObjective]:
    statement = select(TeamObjective).where(TeamObjective.cycle_id == cycle_id)
    if unit_id is not None:
        statement = statement.where(TeamObjective.unit_id == unit_id)
    return list(session.exec(statement.order_by(col(TeamObjective.id))))


@dataclass
class LinkChoice:
    value: str  # "u:<unit objective id>" or "p:<priority id>"
    label: str
    kind: str  # "unit" | "organisation"


def link_choices(session: Session, *, cycle: AppraisalCycle, unit_id: int) -> list[LinkChoice]:
    """Return what an objective of someone in `unit_id` can serve: unit or plan objectives."""
    priorities = {p.id: p for p in list_priorities(session, year=cycle.plan_year)}
    choices = [
        LinkChoice(f"u:{o.id}", f"{o.title} → {priorities[o.priority_id].title}", "unit")
        for o in list_unit_objectives(session, year=cycle.plan_year, unit_id=unit_id)
        if o.priority_id in priorities
    ]
    choices += [LinkChoice(f"p:{p.id}", p.title, "organisation") for p in priorities.values()]
    return choices


def link_label(session: Session, objective: Objective | TeamObjective) -> str:
    """Return the unit or organisation objective an objective serves, as text."""
    if objective.unit_objective_id is not None:
        unit_objective = session.get(UnitObjective, objective.unit_objective_id)
        priority = session.get(PlanPriority, unit_objective.priority_id) if unit_objective else None
        if unit_objective is not None:
            return f"{unit_objective.title} → {priority.title if priority else ''}"
    if objective.priority_id is not None:
        priority = session.get(PlanPriority, objective.priority_id)
        return priority.title if priority else ""
    return ""


def _parse_link(
    session: Session, value: str, *, cycle: AppraisalCycle, unit_id: int
) -> tuple[int | None, int | None] | None:
    """Return (unit_objective_id, priority_id) for a link value valid for this unit, or None."""
    kind, _sep, raw = (value or "").partition(":")
    number = record_id(raw)
    if number is None:
        return None
    if kind == "u":
        found = session.get(UnitObjective, number)
        if found is None or found.unit_id != unit_id or found.year != cycle.plan_year:
            return None
        return found.id, None
    if kind == "p":
        found = session.get(PlanPriority, number)
        if found is None or found.year != cycle.plan_year:
            return None
        return None, found.id
    return None


@dataclass
class ObjectiveInput:
    """One row of the objectives form. Team rows carry `team_objective_id` and only a weight."""

    title: str = ""
    measure: str = ""
    link: str = ""
    weight: Any = ""
    objective_id: int | None = None
    team_objective_id: int | None = None

    def blank(self) -> bool:
        return self.team_objective_id is None and not any(
            str(v or "").strip() for v in (self.title, self.measure, self.weight)
        )


def _parse_weight(value: Any, *, field: str, errors: dict[str, str]) -> int | None:
    try:
        weight = int(str(value).strip())
    except ValueError:
        errors[field] = _("Give a weight from 1 to 100.")
        return None
    if not 1 <= weight <= 100:
        errors[field] = _("Give a weight from 1 to 100.")
        return None
    return weight


def save_objectives(
    session: Session, *, appraisal: Appraisal, rows: list[ObjectiveInput], actor: Actor
) -> list[Objective]:
    """Replace the proposed set of objectives (the supervisor); weights must total 100.

    Every objective is measurable (a measure is required), weighted, and serves a unit objective
    or an organisation priority. The unit's team objectives are always part of the set; only
    their weight is the person's. The whole set is checked before anything is written.
    """
    cycle = _cycle_of(session, appraisal)
    _require_supervisor(session, appraisal, actor)
    if appraisal.objectives_agreed_at is not None:
        raise AppraisalError(
            _("The objectives were agreed and can no longer change."), status_code=409
        )
    errors: dict[str, str] = {}
    team = {t.id: t for t in team_objectives(session, cycle_id=cycle.id, unit_id=appraisal.unit_id)}
    existing = {o.id: o for o in objectives_of(session, appraisal)}
    cleaned: list[dict[str, Any]] = []
    seen_team: set[int] = set()
    for index, row in enumerate(rows):
        if row.blank():
            continue
        if row.team_objective_id is not None:
            shared = team.get(row.team_objective_id)
            if shared is None:
                raise AppraisalError(_("This team objective does not exist."), status_code=404)
            weight = _parse_weight(row.weight, field=f"weight_{index}", errors=errors)
            seen_team.add(shared.id)
            cleaned.append(
                {
                    "team_objective_id": shared.id,
                    "unit_objective_id": shared.unit_objective_id,
                    "priority_id": shared.priority_id,
                    "title": shared.title,
                    "measure": shared.measure,
                    "weight": weight,
                    "objective_id": row.objective_id,
                }
            )
            continue
        title, measure = _title_and_measure(
            row.title,
            row.measure,
            errors=errors,
            title_field=f"title_{index}",
            measure_field=f"measure_{index}",
        )
        link = _parse_link(session, row.link, cycle=cycle, unit_id=appraisal.unit_id)
        if link is None:
            errors[f"link_{index}"] = _(
                "Choose the unit or organisation objective this objective serves."
            )
            link = (None, None)
        weight = _parse_weight(row.weight, field=f"weight_{index}", errors=errors)
        cleaned.append(
            {
                "team_objective_id": None,
                "unit_objective_id": link[0],
                "priority_id": link[1],
                "title": title,
                "measure": measure,
                "weight": weight,
                "objective_id": row.objective_id,
            }
        )
    for missing in set(team) - seen_team:
        cleaned.append(
            {
                "team_objective_id": missing,
                "unit_objective_id": team[missing].unit_objective_id,
                "priority_id": team[missing].priority_id,
                "title": team[missing].title,
                "measure": team[missing].measure,
                "weight": team[missing].weight,
                "objective_id": None,
            }
        )
    if not cleaned:
        errors["objectives"] = _("Set at least one objective.")
    elif len(cleaned) > MAX_OBJECTIVES:
        errors["objectives"] = _("Keep to at most %(n)s objectives.", n=MAX_OBJECTIVES)
    if not errors:
        total = sum(c["weight"] for c in cleaned)
        if total != 100:
            errors["weights"] = _("The weights must total 100; they total %(total)s.", total=total)
    _raise_if(errors, _("The objectives could not be saved."))
    before = [(o.title, o.weight) for o in existing.values()]
    kept_ids = set()
    written = []
    for position, data in enumerate(cleaned):
        objective = existing.get(data["objective_id"]) if data["objective_id"] else None
        if objective is None and data["team_objective_id"] is not None:
            objective = next(
                (o for o in existing.values() if o.team_objective_id == data["team_objective_id"]),
                None,
            )
        if objective is None:
            objective = Objective(
                appraisal_id=appraisal.id, weight=data["weight"], title="", measure=""
            )
        for key in (
            "team_objective_id",
            "unit_objective_id",
            "priority_id",
            "title",
            "measure",
            "weight",
        ):
            setattr(objective, key, data[key])
        objective.position = position
        session.add(objective)
        written.append(objective)
        if objective.id is not None:
            kept_ids.add(objective.id)
    for objective_id, objective in existing.items():
        if objective_id not in kept_ids:
            session.delete(objective)
    appraisal.objectives_proposed_at = clock.now()
    _touch(session, appraisal)
    session.flush()
    _step(session, appraisal, "objectives_proposed", actor)
    _audit(
        session,
        "appraisal.objectives_proposed",
        appraisal,
        actor,
        before={"objectives": before} if before else None,
        after={"objectives": [(o.title, o.weight) for o in written]},
    )
    appraisal_notices.tell_employee(
        session,
        employee_id=appraisal.employee_id,
        kind=appraisal_notices.OBJECTIVES_TO_AGREE,
        key=f"appraisal:{appraisal.id}:objectives",
        params={"cycle": cycle.name, "supervisor": actor.user.full_name},
        link=f"/appraisals/{appraisal.id}",
    )
    return written


def agree_objectives(session: Session, *, appraisal: Appraisal, actor: Actor) -> None:
    """Record the employee's agreement to the proposed objectives; the period's work begins."""
    _cycle_of(session, appraisal)
    _require_employee(appraisal, actor)
    if appraisal.objectives_agreed_at is not None:
        raise AppraisalError(_("You already agreed to these objectives."), status_code=409)
    objectives = objectives_of(session, appraisal)
    if appraisal.objectives_proposed_at is None or not objectives:
        raise AppraisalError(
            _("Your supervisor has not proposed your objectives yet."), status_code=409
        )
    if sum(o.weight for o in objectives) != 100:
        # A team objective added since the proposal changed the total: the supervisor re-proposes.
        raise AppraisalError(
            _("The weights of these objectives no longer total 100; ask your supervisor."),
            status_code=409,
        )
    appraisal.objectives_agreed_at = clock.now()
    appraisal.stage = Stage.self_assessment
    _touch(session, appraisal)
    _step(session, appraisal, "objectives_agreed", actor)
    _audit(
        session,
        "appraisal.objectives_agreed",
        appraisal,
        actor,
        after={"objectives": [(o.title, o.weight) for o in objectives]},
    )


def add_team_objective(
    session: Session,
    *,
    cycle: AppraisalCycle,
    unit_id: int | None,
    link: str,
    title: str,
    measure: str,
    weight: Any,
    actor: Actor,
) -> tuple[TeamObjective, int]:
    """Add an objective shared by everyone in a unit; return it and how many sets it joined.

    It joins the set of every appraisal of the unit whose objectives are not yet agreed (those
    proposals then need proposing again, as their weights no longer total 100).
    """
    _check_cycle_open(cycle)
    unit = named_record(session, Unit, unit_id)
    if unit is None:
        raise AppraisalError(_("Choose a unit."), field="unit_id")
    if not (
        actor.can(Permission.manage_appraisal_cycles)
        or supervises_in_unit(session, employee_id=_own_employee_id(actor), unit_id=unit.id)
    ):
        raise AppraisalError(
            _("Only HR or a supervisor in the unit can set the team's objectives."),
            status_code=403,
        )
    errors: dict[str, str] = {}
    title, measure = _title_and_measure(title, measure, errors=errors)
    parsed = _parse_link(session, link, cycle=cycle, unit_id=unit.id)
    if parsed is None:
        errors["link"] = _("Choose the unit or organisation objective this objective serves.")
    weight_value = _parse_weight(weight, field="weight", errors=errors)
    _raise_if(errors, _("The team objective could not be added."))
    shared = TeamObjective(
        cycle_id=cycle.id,
        unit_id=unit.id,
        unit_objective_id=parsed[0],
        priority_id=parsed[1],
        title=title,
        measure=measure,
        weight=weight_value,
        created_by_id=actor.user.id,
    )
    session.add(shared)
    session.flush()
    open_sets = session.exec(
        select(Appraisal.id).where(
            Appraisal.cycle_id == cycle.id,
            Appraisal.unit_id == unit.id,
            col(Appraisal.objectives_agreed_at).is_(None),
        )
    ).all()
    if open_sets:
        session.execute(
            insert(Objective.__table__),
            [
                {
                    "appraisal_id": appraisal_id,
                    "team_objective_id": shared.id,
                    "unit_objective_id": shared.unit_objective_id,
                    "priority_id": shared.priority_id,
                    "title": title,
                    "measure": measure,
                    "weight": weight_value,
                    "position": 0,
                }
                for appraisal_id in open_sets
            ],
        )
        session.execute(
            update(Appraisal)
            .where(col(Appraisal.id).in_(open_sets))
            .values(objectives_proposed_at=None)
        )
    _audit(
        session,
        "appraisal.team_objective_added",
        shared,
        actor,
        after={
            "cycle_id": cycle.id,
            "unit_id": unit.id,
            "title": title,
            "measure": measure,
            "weight": weight_value,
            "appraisals": len(open_sets),
        },
    )
    return shared, len(open_sets)


def _check_percent(percent: int | None, errors: dict[str, str]) -> int | None:
    if percent is None or not 0 <= percent <= 100:
        errors["percent"] = _("Give the progress as a percentage from 0 to 100.")
        return None
    return percent


def add_progress(
    session: Session,
    *,
    appraisal: Appraisal,
    objective_id: int | None,
    percent: int | None,
    note: str,
    actor: Actor,
) -> ObjectiveProgress:
    """Record progress on one objective during the period (the employee or the supervisor).

    Progress on a team objective is written once for the team: every member sees it.
    """
    _cycle_of(session, appraisal)
    parts = roles_in(session, appraisal=appraisal, actor=actor)
    if not parts & {"employee", "supervisor"}:
        raise AppraisalError(
            _("Only the person appraised or their supervisor can record progress."),
            status_code=403,
        )
    if appraisal.objectives_agreed_at is None:
        raise AppraisalError(
            _("Progress is recorded once the objectives are agreed."), status_code=409
        )
    if appraisal.supervisor_signed_at is not None:
        raise AppraisalError(
            _("The dialogue record was signed: the period's progress is closed."), status_code=409
        )
    objective = named_record(session, Objective, objective_id)
    if objective is None or objective.appraisal_id != appraisal.id:
        raise AppraisalError(_("Choose one of the objectives."), field="objective_id")
    errors: dict[str, str] = {}
    value = _check_percent(percent, errors)
    note = _text(note, limit=MAX_NOTE, field="note", errors=errors)
    _raise_if(errors, _("The progress could not be recorded."))
    entry = ObjectiveProgress(
        objective_id=None if objective.team_objective_id else objective.id,
        team_objective_id=objective.team_objective_id,
        percent=value,
        note=note,
        recorded_by_id=actor.user.id,
    )
    session.add(entry)
    _touch(session, appraisal)
    session.flush()
    return entry


def add_team_progress(
    session: Session,
    *,
    team_objective: TeamObjective,
    percent: int | None,
    note: str,
    actor: Actor,
) -> ObjectiveProgress:
    """Record progress on a team objective (HR, a supervisor in the unit, or a member)."""
    cycle = session.get(AppraisalCycle, team_objective.cycle_id)
    _check_cycle_open(cycle)
    own = _own_employee_id(actor)
    member = own is not None and (
        session.exec(
            select(Appraisal.id).where(
                Appraisal.cycle_id == cycle.id,
                Appraisal.unit_id == team_objective.unit_id,
                Appraisal.employee_id == own,
            )
        ).first()
        is not None
    )
    if not (
        member
        or actor.can(Permission.manage_appraisal_cycles)
        or supervises_in_unit(session, employee_id=own, unit_id=team_objective.unit_id)
    ):
        raise AppraisalError(_("This team objective does not exist."), status_code=404)
    errors: dict[str, str] = {}
    value = _check_percent(percent, errors)
    note = _text(note, limit=MAX_NOTE, field="note", errors=errors)
    _raise_if(errors, _("The progress could not be recorded."))
    entry = ObjectiveProgress(
        team_objective_id=team_objective.id, percent=value, note=note, recorded_by_id=actor.user.id
    )
    session.add(entry)
    session.flush()
    return entry


def progress_of(
    session: Session, objectives: list[Objective]
) -> dict[int, list[ObjectiveProgress]]:
    """Return {objective id: progress updates, newest first} (team updates shared)."""
    own_ids = [o.id for o in objectives if o.team_objective_id is None]
    team_ids = [o.team_objective_id for o in objectives if o.team_objective_id is not None]
    if not own_ids and not team_ids:
        return {}
    rows = session.exec(
        select(ObjectiveProgress)
        .where(
            or_(
                col(ObjectiveProgress.objective_id).in_(own_ids or [-1]),
                col(ObjectiveProgress.team_objective_id).in_(team_ids or [-1]),
            )
        )
        .order_by(col(ObjectiveProgress.id).desc())
    ).all()
    by_own: dict[int, list] = defaultdict(list)
    by_team: dict[int, list] = defaultdict(list)
    for row in rows:
        if row.objective_id is not None:
            by_own[row.objective_id].append(row)
        else:
            by_team[row.team_objective_id].append(row)
    return {
        o.id: (by_team[o.team_objective_id] if o.team_objective_id else by_own[o.id])
        for o in objectives
    }


def team_progress_of(session: Session, team_ids: list[int]) -> dict[int, list[ObjectiveProgress]]:
    if not team_ids:
        return {}
    found: dict[int, list] = defaultdict(list)
    for row in session.exec(
        select(ObjectiveProgress)
        .where(col(ObjectiveProgress.team_objective_id).in_(team_ids))
        .order_by(col(ObjectiveProgress.id).desc())
    ):
        found[row.team_objective_id].append(row)
    return found


def get_team_objective(session: Session, team_objective_id: int) -> TeamObjective:
    """Return the team objective; 404 when there is none."""
    shared = session.get(TeamObjective, team_objective_id)
    if shared is None:
        raise AppraisalError(_("This team objective does not exist."), status_code=404)
    return shared


def team_units(session: Session, *, cycle: AppraisalCycle | None, actor: Actor) -> list[Unit]:
    """Return the units appraised in `cycle` whose team objectives `actor` may see and set:
    all of them for HR, else the units of the people they supervise."""
    if cycle is None:
        return []
    in_cycle = select(Appraisal.unit_id).where(Appraisal.cycle_id == cycle.id).distinct()
    statement = select(Unit).where(col(Unit.id).in_(in_cycle))
    if not actor.can(Permission.manage_appraisal_cycles):
        mine = (
            select(Employee.unit_id)
            .where(Employee.supervisor_id == _own_employee_id(actor))
            .distinct()
        )
        statement = statement.where(col(Unit.id).in_(mine))
    return list(session.exec(statement.order_by(col(Unit.name))))
