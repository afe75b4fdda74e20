"""The training JSON API (under /api/v1/training): the catalogue, adding an activity, a person's
plan and the training needs analysis. A refused request answers the app's JSON problem."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import Session

from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from competency_framework import service as competency_service
from competency_framework.training import service
from competency_framework.training.models import TrainingActivity
from competency_framework.training.routes.common import (
    ViewableEmployee,
    activity_or_404,
    year_of,
)
from competency_framework.training.routes.needs import needs_asked
from competency_framework.training.schemas import (
    ActivityIn,
    ActivityNeedOut,
    ActivityOut,
    NeedsOut,
    PlanItemOut,
    PlanOut,
    SessionOut,
    TargetOut,
)

router = APIRouter()  # no pages: every route here is JSON
api_router = APIRouter(prefix="/training", tags=["training"])


def _sessions_out(session: Session, activity: TrainingActivity) -> list[SessionOut]:
    rows = service.list_sessions(session, activity)
    taken = service.seats_taken(session, [r.id for r in rows])
    return [
        SessionOut(
            id=r.id,
            starts_at=r.starts_at.isoformat(),
            ends_at=r.ends_at.isoformat(),
            place=r.place,
            capacity=r.capacity,
            enrolled=taken[r.id][0],
            waiting=taken[r.id][1],
            cancelled=r.is_cancelled,
        )
        for r in rows
    ]


def _activity_out(
    session: Session, activity: TrainingActivity, *, with_sessions: bool
) -> ActivityOut:
    codes = {c.id: c.code for c in competency_service.list_competencies(session)}
    return ActivityOut(
        code=activity.code,
        title={"es": activity.title_es, "en": activity.title_en},
        modality=activity.modality,
        provider=activity.provider,
        hours=activity.hours,
        cost=activity.cost,
        capacity=activity.capacity,
        audience=list(activity.audience or []),
        evidence=activity.evidence,
        pass_score=activity.pass_score,
        induction=activity.is_induction,
        active=activity.is_active,
        targets=[
            TargetOut(
                competency=codes[t.competency_id], from_level=t.from_level, to_level=t.to_level
            )
            for t in service.activity_targets(session, activity)
        ],
        sessions=_sessions_out(session, activity) if with_sessions else None,
    )


@api_router.get(
    "/activities",
    response_model=list[ActivityOut],
    dependencies=[require(Permission.view_training_catalogue)],
)
def activities_json(session: SessionDep, modality: str = "", competency: str = ""):
    """The active catalogue (filters: modality, competency code)."""
    return [
        _activity_out(session, a, with_sessions=False)
        for a in service.list_activities(session, modality=modality, competency_code=competency)
    ]


@api_router.get(
    "/activities/{code}",
    response_model=ActivityOut,
    dependencies=[require(Permission.view_training_catalogue)],
)
def activity_json(session: SessionDep, code: str):
    """One activity with its target levels and sessions (seats taken, waiting list)."""
    return _activity_out(session, activity_or_404(session, code), with_sessions=True)


@api_router.post(
    "/activities",
    status_code=201,
    response_model=ActivityOut,
    dependencies=[require(Permission.manage_training_catalogue)],
)
def create_activity_json(session: SessionDep, principal: CurrentPrincipal, body: ActivityIn):
    """Add an activity: code, title {es, en}, modality, provider, hours, cost, capacity,
    audience [...], evidence, pass_score, targets {competency: [from, to]}."""
    activity = service.save_activity(session, data=body.to_input(), actor=principal)
    session.commit()
    return _activity_out(session, activity, with_sessions=True)


def _plan_out(view: service.PlanView) -> PlanOut:
    items = [
        PlanItemOut(
            id=line.item.id,
            activity=line.activity.code if line.activity else None,
            competency=line.competency.code if line.competency else None,
            origin=line.item.origin,
            status=line.item.status,
            priority=line.item.priority,
            gap=line.item.gap,
            current_level=line.item.current_level,
            target_level=line.item.target_level,
            cost=line.item.cost,
            description=line.item.description,
            enrolment_status=line.enrolment.status if line.enrolment else None,
        )
        for line in view.lines
    ]
    return PlanOut(
        employee_id=view.employee.id,
        year=view.year,
        status=view.plan.status if view.plan else None,
        items=items,
        pending_cost=view.pending_cost,
        approved_cost=view.approved_cost,
        unit_budget=view.budget.amount,
        unit_committed=view.budget.committed,
        over_budget=view.over_budget,
    )


@api_router.get(
    "/people/{employee_id}/plan",
    response_model=PlanOut,
    dependencies=[require(Permission.manage_own_training)],
)
def plan_json(
    request: Request, session: SessionDep, employee: ViewableEmployee, year: int | None = None
):
    """A person's plan for the year (the person, their supervisor or HR)."""
    return _plan_out(service.plan_view(session, employee=employee, year=year_of(request, year)))


def _needs_out(report: service.NeedsReport) -> NeedsOut:
    activities = [
        ActivityNeedOut(
            rank=a.rank,
            activity=a.activity.code,
            people=a.people,
            needs=a.needs,
            critical=a.critical,
            closes=a.closes,
            cost=a.cost,
            sessions=a.sessions,
            funded=a.funded,
            cumulative_cost=a.cumulative_cost,
            cumulative_share=a.cumulative_share,
            by_region=a.by_region,
        )
        for a in report.activities
    ]
    return NeedsOut(
        year=report.year,
        region=report.region,
        people=report.people,
        needs=report.needs_total,
        critical=report.critical_total,
        budget=report.budget,
        funded_cost=report.funded_cost,
        funded_share=report.funded_share,
        activities=activities,
        uncovered={u.competency.code: u.needs for u in report.uncovered},
    )


@api_router.get(
    "/needs", response_model=NeedsOut, dependencies=[require(Permission.view_training_needs)]
)
def needs_json(
    request: Request,
    session: SessionDep,
    region: str = "",
    unit: int | None = None,
    budget: str = "",
    year: int | None = None,
) -> NeedsOut:
    """The training needs analysis and the ranked list of activities to fund."""
    report = needs_asked(request, session, region=region, unit=unit, budget=budget, year=year)
    return _needs_out(report)
