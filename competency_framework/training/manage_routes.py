"""HR's training administration: the hub, proposing plans for everyone, unit budgets, supplier
learners and the induction programme."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.auth.permissions import Permission
from backend.db import SessionDep, utcnow
from backend.deps import CurrentPrincipal, SettingsDep, require
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Unit
from backend.web import flash, redirect, render
from competency_framework import service as competency_service
from competency_framework.training import induction, plans, service
from competency_framework.training.http import raise_http, year_of
from competency_framework.training.models import ExternalLearner, TrainingActivity, TrainingSession
from competency_framework.training.needs import plan_spending, unit_subtree
from competency_framework.training.service import TrainingError

router = APIRouter(prefix="/training/manage")


@router.get("", dependencies=[require(Permission.manage_training_catalogue)])
def hub(request: Request, session: SessionDep, year: int | None = None):
    year = year_of(request, year)
    activities = session.exec(
        select(func.count()).where(col(TrainingActivity.is_active).is_(True))
    ).one()
    upcoming = session.exec(
        select(func.count()).where(
            TrainingSession.ends_at >= utcnow(), col(TrainingSession.is_cancelled).is_(False)
        )
    ).one()
    learners = session.exec(select(func.count()).select_from(ExternalLearner)).one()
    return render(
        request,
        "training/manage.html",
        {
            "year": year,
            "activities": activities,
            "upcoming": upcoming,
            "learners": learners,
            "induction": induction.induction_activity(session),
            "values": {},
            "errors": {},
            "summary": None,
        },
    )


@router.post("/plans/propose", dependencies=[require(Permission.manage_training_catalogue)])
def propose_for_everyone(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    year: Annotated[int | None, Form()] = None,
    unit: Annotated[str, Form()] = "",
    only_missing: Annotated[str, Form()] = "",
):
    year = year_of(request, year)
    unit_ids = None
    if unit.strip():
        found = session.exec(select(Unit).where(Unit.code == unit.strip())).first()
        if found is None:
            return render(
                request,
                "training/manage.html",
                {
                    "year": year,
                    "values": {"unit": unit},
                    "errors": {"unit": _("No unit has the code %(code)s.", code=unit)},
                    "summary": None,
                },
                status_code=422,
                block="propose",
            )
        org = competency_service.load_org_frames(session)
        unit_ids = sorted(unit_subtree(org.units, found.id))
    try:
        summary = plans.propose_plans(
            session,
            year=year,
            actor=principal,
            unit_ids=unit_ids,
            only_missing=only_missing == "on",
        )
    except TrainingError as err:
        session.rollback()
        raise_http(err)
    session.commit()
    flash(
        request,
        _(
            "Plans proposed for %(people)s people: %(items)s activities (%(plans)s new plans). "
            "%(budget)s needs did not fit the units' budgets; %(uncovered)s have no catalogue "
            "activity.",
            people=summary.people,
            items=summary.items,
            plans=summary.plans_created,
            budget=summary.over_budget,
            uncovered=summary.uncovered,
        ),
    )
    session.commit()
    return redirect(request, "/training/manage")


# --- budgets ----------------------------------------------------------------------------------


def _budget_context(session: Session, year: int, region: str) -> dict[str, Any]:
    headcount = dict(
        session.exec(
            select(Employee.unit_id, func.count())
            .where(Employee.status != EmployeeStatus.left)
            .group_by(Employee.unit_id)
        ).all()
    )
    statement = select(Unit).order_by(col(Unit.region), col(Unit.name))
    if region:
        statement = statement.where(Unit.region == region)
    units = [u for u in session.exec(statement) if headcount.get(u.id)]
    amounts = service.budgets(session, year=year)
    spending = plan_spending(session, year=year)
    rows = [
        {
            "unit": u,
            "people": headcount.get(u.id, 0),
            "budget": amounts.get(u.id),
            "committed": spending.get(u.id, (0, 0))[0],
            "pending": spending.get(u.id, (0, 0))[1],
        }
        for u in units
    ]
    return {
        "rows": rows,
        "year": year,
        "region": region,
        "regions": competency_service.regions(session),
        "values": {},
        "errors": {},
        "totals": {
            "budget": sum(r["budget"] or 0 for r in rows),
            "committed": sum(r["committed"] for r in rows),
            "pending": sum(r["pending"] for r in rows),
        },
    }


@router.get("/budgets", dependencies=[require(Permission.manage_training_catalogue)])
def budgets_page(request: Request, session: SessionDep, year: int | None = None, region: str = ""):
    return render(
        request, "training/budgets.html", _budget_context(session, year_of(request, year), region)
    )


@router.post("/budgets", dependencies=[require(Permission.manage_training_catalogue)])
def set_budget(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    unit: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    year: Annotated[int | None, Form()] = None,
):
    year = year_of(request, year)
    found = session.exec(select(Unit).where(Unit.code == unit.strip())).first()
    try:
        if found is None:
            raise TrainingError(_("No unit has the code %(code)s.", code=unit), field="unit")
        service.set_budget(session, unit=found, year=year, amount=amount, actor=principal)
    except TrainingError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        context = _budget_context(session, year, "")
        context["values"] = {"unit": unit, "amount": amount}
        context["errors"] = err.errors or {"amount": str(err)}
        return render(request, "training/budgets.html", context, status_code=422, block="form")
    session.commit()
    flash(request, _("Budget of %(unit)s for %(year)s saved.", unit=found.name, year=year))
    session.commit()
    return redirect(request, f"/training/manage/budgets?year={year}")


# --- supplier learners ------------------------------------------------------------------------


def _learners_context(session: Session) -> dict[str, Any]:
    return {"learners": service.list_learners(session), "values": {}, "errors": {}}


@router.get("/learners", dependencies=[require(Permission.manage_training_catalogue)])
def learners_page(request: Request, session: SessionDep):
    return render(request, "training/learners.html", _learners_context(session))


@router.post("/learners", dependencies=[require(Permission.manage_training_catalogue)])
def invite_learner(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    full_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    organisation: Annotated[str, Form()] = "",
    tax_id: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
):
    values = {
        "full_name": full_name,
        "email": email,
        "organisation": organisation,
        "tax_id": tax_id,
    }
    try:
        learner = service.create_supplier_learner(
            session,
            settings,
            full_name=full_name,
            email=email,
            organisation=organisation,
            tax_id=tax_id,
            password=password,
            actor=principal,
        )
    except TrainingError as err:
        session.rollback()
        if err.status_code == 403:
            raise_http(err)
        context = _learners_context(session)
        context["values"] = values
        context["errors"] = err.errors or {"email": str(err)}
        return render(request, "training/learners.html", context, status_code=422, block="form")
    session.commit()
    flash(
        request,
        _(
            "Account created for %(name)s (%(organisation)s). Give them the first password "
            "in person or by phone; they can change it under My account.",
            name=learner.full_name,
            organisation=learner.organisation,
        ),
    )
    session.commit()
    return redirect(request, "/training/manage/learners")


# --- induction --------------------------------------------------------------------------------


@router.get("/induction", dependencies=[require(Permission.manage_training_catalogue)])
def induction_page(request: Request, session: SessionDep):
    rows = induction.induction_status(session)
    return render(
        request,
        "training/induction.html",
        {
            "rows": rows,
            "activity": induction.induction_activity(session),
            "window": service.rules().induction_window_days,
            "counts": {
                status: sum(1 for r in rows if r.status == status)
                for status in ("not_assigned", "assigned", "waitlisted", "enrolled", "completed")
            },
            "overdue": sum(1 for r in rows if r.overdue),
        },
    )


@router.post("/induction/assign", dependencies=[require(Permission.manage_training_catalogue)])
def assign_induction_now(request: Request, session: SessionDep, principal: CurrentPrincipal):
    try:
        count = induction.assign_to_new_staff(session, actor=principal)
    except TrainingError as err:
        session.rollback()
        raise_http(err)
    session.commit()
    flash(request, _("Induction assigned to %(n)s new staff.", n=count))
    session.commit()
    return redirect(request, "/training/manage/induction")
