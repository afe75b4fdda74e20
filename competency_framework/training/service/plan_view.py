"""Reading a plan: its lines, the needs no activity covers, and supervisors' team plans."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import clock
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from competency_framework import service as competency_service
from competency_framework.training.models import (
    LIVE_ITEM_STATUSES,
    EnrolmentStatus,
    ItemStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
    TrainingSession,
)
from competency_framework.training.service.catalogue import list_activities
from competency_framework.training.service.plans import get_plan, plan_items
from competency_framework.training.service.proposals import (
    BudgetStatus,
    budget_status,
    offer_table,
    person_needs,
)
from competency_framework.training.service.rules import Actor, audience_of

# --- reading a plan ---------------------------------------------------------------------------


@dataclass
class PlanLine:
    item: TrainingPlanItem
    activity: TrainingActivity | None
    competency: competency_service.CompetencyInfo | None
    enrolment: TrainingEnrolment | None = None
    enrolment_session: TrainingSession | None = None
    sessions: list[TrainingSession] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.item.status in {s.value for s in LIVE_ITEM_STATUSES}


@dataclass
class UncoveredNeed:
    competency: competency_service.CompetencyInfo
    current: int
    required: int
    gap: int
    essential: bool


@dataclass
class PlanView:
    employee: Employee
    year: int
    plan: TrainingPlan | None
    lines: list[PlanLine]
    budget: BudgetStatus
    pending_cost: int
    approved_cost: int
    uncovered: list[UncoveredNeed]

    @property
    def waiting(self) -> list[PlanLine]:
        return [line for line in self.lines if line.item.status == ItemStatus.proposed]

    @property
    def over_budget(self) -> bool:
        """True if approving what waits would take the unit over its budget."""
        return (
            self.budget.amount is not None
            and self.budget.committed + self.pending_cost > self.budget.amount
        )


def plan_view(session: Session, *, employee: Employee, year: int) -> PlanView:
    """Return a person's plan for the year with activities, enrolments and budget."""
    plan = get_plan(session, employee_id=employee.id, year=year)
    competencies = {c.id: c for c in competency_service.framework_snapshot(session).competencies}
    lines: list[PlanLine] = []
    if plan is not None:
        items = plan_items(session, plan)
        activity_ids = {i.activity_id for i in items if i.activity_id}
        activities = (
            {
                a.id: a
                for a in session.exec(
                    select(TrainingActivity).where(col(TrainingActivity.id).in_(activity_ids))
                )
            }
            if activity_ids
            else {}
        )
        enrolments: dict[int, TrainingEnrolment] = {}
        for enrolment in session.exec(
            select(TrainingEnrolment)
            .where(col(TrainingEnrolment.plan_item_id).in_([i.id for i in items] or [0]))
            .order_by(col(TrainingEnrolment.id))
        ):
            previous = enrolments.get(enrolment.plan_item_id)
            # The live or finished enrolment wins over cancelled ones.
            if previous is None or enrolment.status != EnrolmentStatus.cancelled:
                enrolments[enrolment.plan_item_id] = enrolment
        upcoming: dict[int, list[TrainingSession]] = {}
        if activity_ids:
            for row in session.exec(
                select(TrainingSession)
                .where(
                    col(TrainingSession.activity_id).in_(activity_ids),
                    TrainingSession.ends_at >= clock.now(),
                    col(TrainingSession.is_cancelled).is_(False),
                )
                .order_by(col(TrainingSession.starts_at))
            ):
                upcoming.setdefault(row.activity_id, []).append(row)
        for item in items:
            enrolment = enrolments.get(item.id)
            lines.append(
                PlanLine(
                    item=item,
                    activity=activities.get(item.activity_id) if item.activity_id else None,
                    competency=competencies.get(item.competency_id) if item.competency_id else None,
                    enrolment=enrolment,
                    enrolment_session=session.get(TrainingSession, enrolment.session_id)
                    if enrolment
                    else None,
                    sessions=upcoming.get(item.activity_id or 0, []),
                )
            )
    unit_id = plan.unit_id if plan is not None else employee.unit_id
    budget = budget_status(session, unit_id=unit_id, year=year)
    pending = sum(line.item.cost for line in lines if line.item.status == ItemStatus.proposed)
    approved = sum(
        line.item.cost
        for line in lines
        if line.item.status in (ItemStatus.approved, ItemStatus.completed)
    )
    return PlanView(
        employee=employee,
        year=year,
        plan=plan,
        lines=lines,
        budget=budget,
        pending_cost=pending,
        approved_cost=approved,
        uncovered=uncovered_needs(session, employee=employee),
    )


def uncovered_needs(session: Session, *, employee: Employee) -> list[UncoveredNeed]:
    """Return the person's gaps that no catalogue activity develops (a mentor may help)."""
    needs, competencies = person_needs(session, employee)
    table = offer_table(session)
    found = []
    for c, competency in enumerate(competencies):
        required = int(needs.required[0, c])
        current = int(needs.current[0, c])
        if required <= current:
            continue
        if table.activity_for(c, current, required, int(needs.audience[0])) < 0:
            found.append(
                UncoveredNeed(
                    competency, current, required, required - current, bool(needs.essential[0, c])
                )
            )
    return sorted(found, key=lambda u: (-u.gap * (2 if u.essential else 1), u.competency.order))


# --- supervisors --------------------------------------------------------------------------------


@dataclass
class TeamPlan:
    employee: Employee
    position: str
    plan: TrainingPlan | None
    waiting: int
    approved: int
    completed: int
    pending_cost: int


def team_plans(session: Session, *, actor: Actor, year: int) -> list[TeamPlan]:
    """Return each direct report's plan for the year, those waiting for approval first."""
    own = actor.user.employee_id
    if own is None:
        return []
    reports = session.exec(
        select(Employee, Position)
        .join(Position, col(Employee.position_id) == Position.id, isouter=True)
        .where(Employee.supervisor_id == own, Employee.status != EmployeeStatus.left)
    ).all()
    return plans_for_people(session, reports, year)


def plans_for_people(session: Session, people: list, year: int) -> list[TeamPlan]:
    ids = [e.id for e, _p in people]
    plans = {
        p.employee_id: p
        for p in session.exec(
            select(TrainingPlan).where(
                col(TrainingPlan.employee_id).in_(ids or [0]), TrainingPlan.year == year
            )
        )
    }
    counts: dict[int, dict[str, list[int]]] = {}
    if plans:
        for employee_id, status, number, cost in session.exec(
            select(
                TrainingPlanItem.employee_id,
                TrainingPlanItem.status,
                func.count(),
                func.coalesce(func.sum(TrainingPlanItem.cost), 0),
            )
            .where(col(TrainingPlanItem.plan_id).in_([p.id for p in plans.values()]))
            .group_by(TrainingPlanItem.employee_id, TrainingPlanItem.status)
        ):
            counts.setdefault(employee_id, {})[status] = [int(number), int(cost)]
    result = []
    for employee, position in people:
        c = counts.get(employee.id, {})
        result.append(
            TeamPlan(
                employee=employee,
                position=position.title if position else "",
                plan=plans.get(employee.id),
                waiting=c.get(ItemStatus.proposed, [0, 0])[0],
                approved=c.get(ItemStatus.approved, [0, 0])[0],
                completed=c.get(ItemStatus.completed, [0, 0])[0],
                pending_cost=c.get(ItemStatus.proposed, [0, 0])[1],
            )
        )
    result.sort(key=lambda t: (t.waiting == 0, t.employee.last_name, t.employee.first_name))
    return result


def unit_name(session: Session, unit_id: int) -> str:
    unit = session.get(Unit, unit_id)
    return unit.name if unit else ""


def position_of(session: Session, employee: Employee) -> Position | None:
    return session.get(Position, employee.position_id) if employee.position_id else None


def addable_activities(session: Session, view: PlanView) -> list[TrainingActivity]:
    """Return the catalogue activities that may be added to the plan: active, not the induction,
    open to the person's audience and not already live in the plan."""
    position = position_of(session, view.employee)
    audience = audience_of(position.role_code if position else "").value
    live = {line.item.activity_id for line in view.lines if line.live}
    return [
        a
        for a in list_activities(session)
        if not a.is_induction and audience in (a.audience or []) and a.id not in live
    ]


def item_owner(session: Session, item: TrainingPlanItem) -> tuple[Employee, int]:
    """Return whose plan an item is in and the plan's year."""
    return session.get(Employee, item.employee_id), session.get(TrainingPlan, item.plan_id).year


def own_employee(session: Session, actor: Actor) -> Employee | None:
    """Return the actor's own employee record (None for an account without one: a supplier)."""
    if actor.user.employee_id is None:
        return None
    return session.get(Employee, actor.user.employee_id)
