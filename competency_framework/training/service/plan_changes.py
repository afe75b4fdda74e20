"""Adjusting and approving plans, refusals, and appraisal development actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.auth.models import User
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee
from competency_framework import service as competency_service
from competency_framework.training import notices as training_notices
from competency_framework.training.models import (
    ACTIVE_ENROLMENT_STATUSES,
    LIVE_ITEM_STATUSES,
    EnrolmentStatus,
    ItemOrigin,
    ItemStatus,
    PlanStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
    TrainingSession,
)
from competency_framework.training.service.catalogue import activity_targets, get_activity
from competency_framework.training.service.enrolments import cancel
from competency_framework.training.service.plan_view import plan_view
from competency_framework.training.service.plans import (
    _activity_codes,
    _item_snapshot,
    _refresh_status,
    ensure_plan,
    get_plan,
    plan_items,
)
from competency_framework.training.service.proposals import (
    offer_table,
    person_needs,
)
from competency_framework.training.service.rules import (
    REQUEST_REFUSED,
    WITHDRAWN_WITHOUT_REASON,
    Actor,
    TrainingError,
    is_self,
    is_supervisor_of,
    plan_year,
    require_step,
    settings_of,
)

# --- adjusting and approving ------------------------------------------------------------------


def _origin_for(actor: Actor, employee: Employee) -> ItemOrigin:
    if is_self(actor, employee):
        return ItemOrigin.employee
    if is_supervisor_of(actor, employee):
        return ItemOrigin.supervisor
    return ItemOrigin.hr


def _live_activity_ids(session: Session, plan: TrainingPlan) -> set[int]:
    """Return the activities already in `plan` and not declined or removed."""
    return set(
        session.exec(
            select(TrainingPlanItem.activity_id).where(
                TrainingPlanItem.plan_id == plan.id,
                col(TrainingPlanItem.status).in_(LIVE_ITEM_STATUSES),
            )
        ).all()
    )


def _next_priority(session: Session, plan: TrainingPlan) -> int:
    """Return the priority after the last of `plan`'s items (1 for an empty plan)."""
    last = session.exec(
        select(func.coalesce(func.max(TrainingPlanItem.priority), 0)).where(
            TrainingPlanItem.plan_id == plan.id
        )
    ).one()
    return last + 1


def add_item(
    session: Session, *, employee: Employee, activity: TrainingActivity, actor: Actor, year: int
) -> TrainingPlanItem:
    """Add a catalogue activity to a plan (awaiting approval); the person, supervisor or HR."""
    require_step(actor, employee, "add")
    if not activity.is_active:
        raise TrainingError(_("This activity is no longer offered."), field="activity")
    if activity.is_induction:
        raise TrainingError(
            _("The induction programme is assigned to new staff automatically."), field="activity"
        )
    plan = ensure_plan(session, employee=employee, year=year)
    if activity.id in _live_activity_ids(session, plan):
        raise TrainingError(_("This activity is already in the plan."), field="activity")
    # Link it to the first of the person's gaps it develops, if any.
    profile = competency_service.person_gap_profile(session, employee=employee)
    targets = {t.competency_id: t for t in activity_targets(session, activity)}
    gap_row = next((r for r in profile.rows if r.gap > 0 and r.competency.id in targets), None)
    item = TrainingPlanItem(
        plan_id=plan.id,
        employee_id=employee.id,
        activity_id=activity.id,
        competency_id=gap_row.competency.id if gap_row else None,
        origin=_origin_for(actor, employee),
        status=ItemStatus.proposed,
        priority=_next_priority(session, plan),
        gap=gap_row.gap if gap_row else 0,
        current_level=gap_row.current if gap_row else None,
        target_level=targets[gap_row.competency.id].to_level if gap_row else None,
        cost=activity.cost,
    )
    session.add(item)
    session.flush()
    _refresh_status(session, plan)
    audit.record(
        session,
        action="training.item_added",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after=_item_snapshot(item, {activity.id: activity.code}),
    )
    return item


def submit_plan(session: Session, *, employee: Employee, actor: Actor, year: int) -> TrainingPlan:
    """The employee agrees with the proposals and sends them to the supervisor."""
    require_step(actor, employee, "submit")
    plan = get_plan(session, employee_id=employee.id, year=year)
    if plan is None or not any(i.status == ItemStatus.proposed for i in plan_items(session, plan)):
        raise TrainingError(_("Nothing in your plan is waiting for approval."), status_code=409)
    plan.status = PlanStatus.submitted
    plan.submitted_at = clock.now()
    session.add(plan)
    audit.record(
        session,
        action="training.plan_submitted",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={"year": year},
    )
    training_notices.tell_approval_requested(session, plan, employee)
    return plan


def approve_plan(
    session: Session, *, employee: Employee, actor: Actor, year: int, reason: str = ""
) -> list[TrainingPlanItem]:
    """Approve every proposed item of the plan (supervisor or HR); return them.

    If that takes the unit over its training budget, a reason is needed; it is kept with the
    plan and in the audit log.
    """
    require_step(actor, employee, "approve")
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise TrainingError(_("Keep the reason under 1,000 characters."), field="reason")
    view = plan_view(session, employee=employee, year=year)
    if view.plan is None or not view.waiting:
        raise TrainingError(_("Nothing in this plan is waiting for approval."), status_code=409)
    if view.over_budget and not reason:
        raise TrainingError(
            _(
                "Approving this plan takes the unit over its training budget "
                "(%(committed)s of %(amount)s committed, this plan adds %(adds)s). "
                "Give a reason to approve it anyway.",
                committed=f"${view.budget.committed:,}",
                amount=f"${view.budget.amount:,}",
                adds=f"${view.pending_cost:,}",
            ),
            field="reason",
        )
    now = clock.now()
    approved = []
    for line in view.waiting:
        line.item.status = ItemStatus.approved
        line.item.decided_by_id = actor.user.id
        line.item.decided_at = now
        session.add(line.item)
        approved.append(line.item)
    plan = view.plan
    plan.status = PlanStatus.approved
    plan.approved_at = now
    plan.approved_by_id = actor.user.id
    plan.unit_id = employee.unit_id
    if view.over_budget:
        plan.over_budget_reason = reason
    session.add(plan)
    session.flush()
    codes = _activity_codes(session)
    audit.record(
        session,
        action="training.plan_approved",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={
            "year": year,
            "items": [_item_snapshot(i, codes) for i in approved],
            "over_budget": view.over_budget,
            "reason": reason,
            "budget": view.budget.amount,
            "committed_before": view.budget.committed,
        },
    )
    training_notices.tell_decision(session, plan=plan, approver=actor.user.full_name)
    return approved


def _cancel_item_enrolments(session: Session, item: TrainingPlanItem, actor: Actor, reason: str):

    for enrolment in session.exec(
        select(TrainingEnrolment).where(
            TrainingEnrolment.plan_item_id == item.id,
            col(TrainingEnrolment.status).in_(ACTIVE_ENROLMENT_STATUSES),
        )
    ):
        # The decision about the item is announced once, by the caller, not per seat.
        cancel(
            session, enrolment=enrolment, actor=actor, reason=reason, checked=True, announce=False
        )


def _refusal_payload(
    item: TrainingPlanItem,
    *,
    employee: Employee,
    activity: TrainingActivity | None,
    previous_status: str,
    actor: Actor,
    by: str,
    reason: str,
) -> dict[str, Any]:
    return {
        "employee_id": employee.id,
        "plan_item_id": item.id,
        "activity_code": activity.code if activity else None,
        "previous_status": previous_status,
        "origin": item.origin,
        "by": by,
        "refused_by_user_id": actor.user.id,
        "has_reason": bool(reason),
        "reason": reason,
    }


def remove_item(
    session: Session, *, item: TrainingPlanItem, actor: Actor, reason: str = ""
) -> TrainingPlanItem:
    """The employee takes an item out: a proposal is removed, an approved one withdrawn."""
    employee = session.get(Employee, item.employee_id)
    require_step(actor, employee, "remove")
    if item.status not in (ItemStatus.proposed, ItemStatus.approved):
        raise TrainingError(_("This item can no longer be changed."), status_code=409)
    before = item.status
    item.status = ItemStatus.removed if before == ItemStatus.proposed else ItemStatus.withdrawn
    item.decided_by_id, item.decided_at = actor.user.id, clock.now()
    item.decision_reason = (reason or "").strip()[:1000]
    session.add(item)
    if before == ItemStatus.approved:
        _cancel_item_enrolments(session, item, actor, item.decision_reason)
    plan = session.get(TrainingPlan, item.plan_id)
    session.flush()
    _refresh_status(session, plan)
    audit.record(
        session,
        action="training.item_removed",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        before={"status": before},
        after=_item_snapshot(item, _activity_codes(session)),
    )
    if before == ItemStatus.approved and not item.decision_reason:
        # Giving up an approved training without a reason is an HR event (as declining one
        # is), but the person's own choice: not an adverse decision the HR watch looks at.
        activity = session.get(TrainingActivity, item.activity_id) if item.activity_id else None
        publish(
            session,
            DomainEvent(
                WITHDRAWN_WITHOUT_REASON,
                _refusal_payload(
                    item,
                    employee=employee,
                    activity=activity,
                    previous_status=before,
                    actor=actor,
                    by="employee",
                    reason="",
                ),
                subject_employee_id=employee.id,
            ),
        )
    return item


def decline_item(
    session: Session, *, item: TrainingPlanItem, actor: Actor, reason: str = ""
) -> TrainingPlanItem:
    """The supervisor or HR declines an item, before or after approval.

    Declining an approved training, one the employee asked for (their own request or an
    appraisal development action), or a proposal in a plan the employee sent for approval
    publishes `training.request_refused`, with or without a reason (`has_reason` says which; a
    refusal without one is the HR event docs/training.md describes). The reporting channel's
    HR watch looks at every such refusal: a retaliating supervisor would give a reason.
    """
    employee = session.get(Employee, item.employee_id)
    require_step(actor, employee, "decline")
    if item.status not in (ItemStatus.proposed, ItemStatus.approved):
        raise TrainingError(_("This item can no longer be changed."), status_code=409)
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise TrainingError(_("Keep the reason under 1,000 characters."), field="reason")
    before = item.status
    plan = session.get(TrainingPlan, item.plan_id)
    # The employee asked for it: their own request, a development action agreed with them, or
    # a proposal in the plan they sent for approval (read before the plan's status moves on).
    requested = (
        item.origin in (ItemOrigin.employee, ItemOrigin.development_action)
        or plan.status == PlanStatus.submitted
    )
    item.status = ItemStatus.declined
    item.decided_by_id, item.decided_at = actor.user.id, clock.now()
    item.decision_reason = reason
    session.add(item)
    if before == ItemStatus.approved:
        _cancel_item_enrolments(session, item, actor, reason)
    session.flush()
    _refresh_status(session, plan)
    activity = session.get(TrainingActivity, item.activity_id) if item.activity_id else None
    audit.record(
        session,
        action="training.item_declined",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        before={"status": before},
        after={**_item_snapshot(item, _activity_codes(session)), "reason": reason},
    )
    if before == ItemStatus.approved or requested:
        publish(
            session,
            DomainEvent(
                REQUEST_REFUSED,
                _refusal_payload(
                    item,
                    employee=employee,
                    activity=activity,
                    previous_status=before,
                    actor=actor,
                    by="supervisor" if is_supervisor_of(actor, employee) else "hr",
                    reason=reason,
                ),
                subject_employee_id=employee.id,
            ),
        )
    training_notices.tell_decision(
        session, plan=plan, approver=actor.user.full_name, item=item, reason=reason
    )
    return item


@dataclass(frozen=True)
class TrainingRefusal:
    """A training taken from an employee by someone else: a declined plan item, or a place in a
    session cancelled by their supervisor or HR."""

    kind: str  # "declined" or "enrolment_cancelled"
    on: datetime
    activity_code: str
    activity_title: str
    plan_item_id: int | None
    enrolment_id: int | None
    origin: str
    by_user_id: int | None
    reason: str


def refusals_of(session: Session, *, employee_id: int, since: datetime) -> list[TrainingRefusal]:
    """Return the trainings refused or cancelled for the employee at or after `since`, oldest
    first: every plan item the supervisor or HR declined, and every place in a session they
    cancelled — not the person's own cancellations, not a session cancelled for everyone, and
    not the place cancelled along with a declined item (the refusal is listed). Read only (for
    the reporting channel's burden-of-proof pack)."""
    own_users = set(session.exec(select(User.id).where(User.employee_id == employee_id)).all())
    found = []
    declined = session.exec(
        select(TrainingPlanItem, TrainingActivity)
        .join(TrainingActivity, col(TrainingActivity.id) == TrainingPlanItem.activity_id)
        .where(
            TrainingPlanItem.employee_id == employee_id,
            TrainingPlanItem.status == ItemStatus.declined,
            col(TrainingPlanItem.decided_at) >= since,
        )
    ).all()
    decided_by = {}
    for item, activity in declined:
        decided_by[item.id] = item.decided_by_id
        found.append(
            TrainingRefusal(
                "declined",
                item.decided_at,
                activity.code,
                activity.title_en,
                item.id,
                None,
                str(item.origin),
                item.decided_by_id,
                item.decision_reason,
            )
        )
    cancelled = session.exec(
        select(TrainingEnrolment, TrainingActivity)
        .join(TrainingActivity, col(TrainingActivity.id) == TrainingEnrolment.activity_id)
        .join(TrainingSession, col(TrainingSession.id) == TrainingEnrolment.session_id)
        .where(
            TrainingEnrolment.employee_id == employee_id,
            TrainingEnrolment.status == EnrolmentStatus.cancelled,
            col(TrainingEnrolment.cancelled_at) >= since,
            col(TrainingSession.is_cancelled).is_(False),
        )
    ).all()
    for enrolment, activity in cancelled:
        by = enrolment.cancelled_by_id
        if by is None or by in own_users:
            continue
        if enrolment.plan_item_id in decided_by and decided_by[enrolment.plan_item_id] == by:
            continue
        found.append(
            TrainingRefusal(
                "enrolment_cancelled",
                enrolment.cancelled_at,
                activity.code,
                activity.title_en,
                enrolment.plan_item_id,
                enrolment.id,
                "",
                by,
                enrolment.cancel_reason,
            )
        )
    return sorted(found, key=lambda r: (r.on, r.kind))


# --- appraisal development actions ------------------------------------------------------------


def add_development_action(
    session: Session,
    *,
    employee_id: int,
    action_id: Any,
    appraisal_id: Any = None,
    competency_code: str | None = None,
    description: str = "",
    year: int | None = None,
) -> TrainingPlanItem | None:
    """Turn an agreed appraisal development action into a proposed plan item.

    The activity is the one the proposal rule picks for the competency at the person's level;
    without a competency or a matching activity the item is the described action itself.
    Idempotent: the same action is added once. Returns the item (None if the person is unknown).
    """
    employee = session.get(Employee, employee_id)
    if employee is None:
        return None
    if action_id is not None:
        found = session.exec(
            select(TrainingPlanItem).where(
                TrainingPlanItem.employee_id == employee.id,
                TrainingPlanItem.development_action_id == int(action_id),
            )
        ).first()
        if found is not None:
            return found
    year = year or plan_year(settings_of(session))
    plan = ensure_plan(session, employee=employee, year=year)
    competency = (
        competency_service.get_competency(session, competency_code) if competency_code else None
    )
    activity_id = current = target = None
    gap = 0
    cost = 0
    if competency is not None:
        needs, competencies = person_needs(session, employee)
        c = next(i for i, comp in enumerate(competencies) if comp.id == competency.id)
        current = int(needs.current[0, c])
        required = int(needs.required[0, c])
        gap = max(0, required - current)
        table = offer_table(session)
        offer = table.activity_for(c, current, max(required, current + 1), int(needs.audience[0]))
        if offer >= 0 and int(table.activity_id[offer]) not in _live_activity_ids(session, plan):
            activity_id = int(table.activity_id[offer])
            target = int(table.to_level[offer])
            cost = int(table.cost[offer])
    item = TrainingPlanItem(
        plan_id=plan.id,
        employee_id=employee.id,
        activity_id=activity_id,
        competency_id=competency.id if competency else None,
        origin=ItemOrigin.development_action,
        status=ItemStatus.proposed,
        priority=_next_priority(session, plan),
        gap=gap,
        current_level=current,
        target_level=target,
        cost=cost,
        description=(description or "").strip()[:1000],
        appraisal_id=int(appraisal_id) if appraisal_id is not None else None,
        development_action_id=int(action_id) if action_id is not None else None,
    )
    session.add(item)
    session.flush()
    _refresh_status(session, plan)
    audit.record(
        session,
        action="training.development_action_added",
        actor="appraisals",
        entity_type="employee",
        entity_id=employee.id,
        after={
            **_item_snapshot(item, _activity_codes(session)),
            "appraisal_id": item.appraisal_id,
            "action_id": item.development_action_id,
            "competency": competency.code if competency else None,
        },
    )
    return item


def complete_described_action(
    session: Session, *, item: TrainingPlanItem, actor: Actor, note: str = ""
) -> TrainingPlanItem:
    """Mark an approved development action without a catalogue activity as done (supervisor/HR)."""
    employee = session.get(Employee, item.employee_id)
    require_step(actor, employee, "mark_done")
    if item.activity_id is not None:
        raise TrainingError(_("Record completion through the activity's session."), status_code=409)
    if item.status != ItemStatus.approved:
        raise TrainingError(_("Only an approved action can be marked as done."), status_code=409)
    item.status = ItemStatus.completed
    item.completed_at = clock.now()
    item.decision_reason = (note or "").strip()[:1000]
    session.add(item)
    session.flush()
    audit.record(
        session,
        action="training.action_completed",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={"item": item.id, "note": item.decision_reason},
    )
    return item


def add_activity_by_code(
    session: Session, *, employee: Employee, code: str, actor: Actor, year: int
) -> TrainingPlanItem:
    """Add the catalogue activity with this code to a plan (`add_item`), or refuse the form's
    `activity` field when there is none."""
    found = get_activity(session, code)
    if found is None:
        raise TrainingError(_("Choose an activity from the catalogue."), field="activity")
    return add_item(session, employee=employee, activity=found, actor=actor, year=year)
