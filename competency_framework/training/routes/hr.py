"""HR's training administration: the hub, activities, sessions and their rosters, the XLSX
import, proposing plans for everyone, unit budgets, supplier learners and the induction
programme."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from backend import clock
from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, FieldError, SettingsDep, form_id, read_form, require
from backend.errors import DomainError
from backend.i18n import _
from backend.tables import ImportRejected, template_xlsx
from backend.web import render, render_form_errors
from competency_framework import service as competency_service
from competency_framework.training import schemas, service
from competency_framework.training.models import (
    EVIDENCE_LABELS,
    Audience,
    EvidenceRule,
    TrainingActivity,
    TrainingSession,
)
from competency_framework.training.routes.catalogue import activity_context
from competency_framework.training.routes.common import (
    activity_or_404,
    choice_options,
    refused_in_form,
    run_form,
    session_or_404,
    year_of,
)

router = APIRouter(prefix="/training/manage")
MANAGE = [require(Permission.manage_training_catalogue)]

# --- activities -------------------------------------------------------------------------------

ACTIVITY_FIELDS = (
    *schemas.ACTIVITY_TEXT_FIELDS,
    "audience",
    "evidence",
    "is_induction",
    "is_active",
)


def _activity_values(session: Session, activity: TrainingActivity | None) -> dict[str, Any]:
    """Return the activity form's values: the activity's, or a new activity's defaults."""
    if activity is None:
        return {"audience": [Audience.procurement_staff.value], "is_active": True}
    values = {name: getattr(activity, name) for name in ACTIVITY_FIELDS}
    codes = {c.id: c.code for c in competency_service.list_competencies(session)}
    for target in service.activity_targets(session, activity):
        values[f"from_{codes[target.competency_id]}"] = target.from_level
        values[f"to_{codes[target.competency_id]}"] = target.to_level
    return values


def _activity_form_context(
    session: Session, activity: TrainingActivity | None, values: dict | None = None
) -> dict[str, Any]:
    return {
        "activity": activity,
        "values": values if values is not None else _activity_values(session, activity),
        "errors": {},
        "competencies": competency_service.list_competencies(session),
        **choice_options(),
        "evidence_options": [(e.value, _(EVIDENCE_LABELS[e])) for e in EvidenceRule],
    }


async def _activity_form(request: Request, session: Session) -> schemas.ActivityForm:
    codes = [c.code for c in competency_service.list_competencies(session)]
    return schemas.ActivityForm.parse(await read_form(request), codes)


def _save_activity(
    request: Request,
    session: Session,
    principal: Any,
    form: schemas.ActivityForm,
    activity: TrainingActivity | None,
    message: str,
) -> Response:
    code = activity.code if activity is not None else None
    return run_form(
        request,
        session,
        lambda: service.save_activity(session, data=form.data, actor=principal, activity=activity),
        message=message,
        to=lambda saved: f"/training/catalogue/{saved.code}",
        template="training/activity_form.html",
        context=lambda: _activity_form_context(
            session, activity_or_404(session, code) if code else None, form.values
        ),
        values=form.values,
        block="form",
        field="code",
    )


@router.get("/activities/new", dependencies=MANAGE)
def new_activity_form(request: Request, session: SessionDep):
    return render(request, "training/activity_form.html", _activity_form_context(session, None))


@router.post("/activities/new", dependencies=MANAGE)
async def create_activity(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = await _activity_form(request, session)
    message = _("The activity was added to the catalogue.")
    return _save_activity(request, session, principal, form, None, message)


@router.get("/activities/{code}/edit", dependencies=MANAGE)
def edit_activity_form(request: Request, session: SessionDep, code: str):
    activity = activity_or_404(session, code)
    return render(request, "training/activity_form.html", _activity_form_context(session, activity))


@router.post("/activities/{code}/edit", dependencies=MANAGE)
async def update_activity(
    request: Request, session: SessionDep, principal: CurrentPrincipal, code: str
):
    activity = activity_or_404(session, code)
    form = await _activity_form(request, session)
    message = _("The activity was saved.")
    return _save_activity(request, session, principal, form, activity, message)


# --- sessions ---------------------------------------------------------------------------------


@router.post("/activities/{code}/sessions", dependencies=MANAGE)
def schedule_session(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    code: str,
    starts_at: Annotated[str, Form()] = "",
    ends_at: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    capacity: Annotated[str, Form()] = "",
):
    activity = activity_or_404(session, code)
    values = {"starts_at": starts_at, "ends_at": ends_at, "place": place, "capacity": capacity}
    return run_form(
        request,
        session,
        lambda: service.schedule_session(
            session, settings, activity=activity, actor=principal, **values
        ),
        message=_("The session was scheduled."),
        to=f"/training/catalogue/{activity.code}",
        template="training/activity.html",
        context=lambda: activity_context(session, principal, activity_or_404(session, code)),
        values=values,
        block="schedule",
        field="starts_at",
    )


def _roster_context(session: Session, row: TrainingSession) -> dict[str, Any]:
    activity = session.get(TrainingActivity, row.activity_id)
    suppliers = Audience.suppliers.value in (activity.audience or [])
    return {
        "row": row,
        "activity": activity,
        "roster": [(e, service.learner_name(session, e)) for e in service.roster(session, row)],
        "taken": service.seats_taken(session, [row.id])[row.id],
        "learners": service.list_learners(session) if suppliers else [],
        "values": {},
        "errors": {},
        "now": clock.now(),
    }


@router.get("/sessions/{session_id}", dependencies=MANAGE)
def session_roster(request: Request, session: SessionDep, session_id: int):
    row = session_or_404(session, session_id)
    return render(request, "training/session.html", _roster_context(session, row))


def _learner_choice(learner_id: str) -> int | None:
    try:
        return form_id(learner_id, field="learner_id")
    except FieldError as err:
        raise service.TrainingError(err.message, field=err.field) from None


def _enrolling(session: Session, principal, row: TrainingSession, number: str, learner_id: str):
    """Return the enrolment HR's form asks for, as an action (the learner's id is read only
    when no employee number was given)."""

    def action():
        chosen = None if number.strip() else _learner_choice(learner_id)
        return service.enrol_someone(
            session,
            training_session=row,
            employee_number=number,
            learner_id=chosen,
            actor=principal,
        )

    return action


def _enrolled(enrolment) -> str:
    if enrolment.status == "waitlisted":
        return _("The session is full: the person is on the waiting list.")
    return _("Enrolled.")


@router.post("/sessions/{session_id}/enrol", dependencies=MANAGE)
def enrol_someone(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: int,
    employee_number: Annotated[str, Form()] = "",
    learner_id: Annotated[str, Form()] = "",
):
    row = session_or_404(session, session_id)
    values = {"employee_number": employee_number, "learner_id": learner_id}
    action = _enrolling(session, principal, row, employee_number, learner_id)
    return run_form(
        request,
        session,
        refused_in_form(action, raised=(403, 404)),
        message=_enrolled,
        level=lambda e: "warning" if e.status == "waitlisted" else "success",
        to=f"/training/manage/sessions/{row.id}",
        template="training/session.html",
        context=lambda: _roster_context(session, session_or_404(session, session_id)),
        values=values,
        block="enrol",
        field="employee_number",
    )


@router.post("/sessions/{session_id}/cancel", dependencies=MANAGE)
def cancel_session(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: int,
    reason: Annotated[str, Form()] = "",
):
    row = session_or_404(session, session_id)
    activity = session.get(TrainingActivity, row.activity_id)
    return run_action(
        request,
        session,
        lambda: service.cancel_session(
            session, training_session=row, actor=principal, reason=reason
        ),
        message=lambda n: _("The session was cancelled; %(n)s enrolment(s) cancelled.", n=n),
        to=f"/training/catalogue/{activity.code}",
    )


# --- import -----------------------------------------------------------------------------------


@router.get("/import", dependencies=MANAGE)
def import_form(request: Request, template: int = 0):
    if template:
        return Response(
            template_xlsx([*service.IMPORT_COLUMNS, *service.IMPORT_OPTIONAL], "catalogue"),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="catalogue-template.xlsx"'},
        )
    return render(request, "training/import.html", {"problems": [], "error": ""})


def _import_refused(request: Request):
    def answer(err: DomainError) -> Response:
        problems = err.problems if isinstance(err, ImportRejected) else []
        context = {"problems": problems, "error": str(err)}
        return render(request, "training/import.html", context, status_code=422, block="form")

    return answer


@router.post("/import", dependencies=MANAGE)
async def import_catalogue(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
):
    content = await file.read() if file is not None else b""
    return run_action(
        request,
        session,
        lambda: service.import_catalogue(session, content=content, actor=principal),
        message=lambda counts: _(
            "Catalogue imported: %(created)s new, %(updated)s updated.",
            created=counts[0],
            updated=counts[1],
        ),
        to="/training/catalogue",
        on_error=_import_refused(request),
    )


# --- the hub and plans for everyone -----------------------------------------------------------


def _hub_context(session: Session, year: int) -> dict[str, Any]:
    figures = service.hub_figures(session)
    return {
        "year": year,
        "activities": figures.activities,
        "upcoming": figures.upcoming,
        "learners": figures.learners,
        "induction": service.induction_activity(session),
        "values": {},
        "errors": {},
        "summary": None,
    }


@router.get("", dependencies=MANAGE)
def hub(request: Request, session: SessionDep, year: int | None = None):
    return render(request, "training/manage.html", _hub_context(session, year_of(request, year)))


def _proposed(summary: service.BulkSummary) -> str:
    return _(
        "Plans proposed for %(people)s people: %(items)s activities (%(plans)s new plans). "
        "%(budget)s needs did not fit the units' budgets; %(uncovered)s have no catalogue "
        "activity.",
        people=summary.people,
        items=summary.items,
        plans=summary.plans_created,
        budget=summary.over_budget,
        uncovered=summary.uncovered,
    )


@router.post("/plans/propose", dependencies=MANAGE)
def propose_for_everyone(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    year: Annotated[int | None, Form()] = None,
    unit: Annotated[str, Form()] = "",
    only_missing: Annotated[str, Form()] = "",
):
    year = year_of(request, year)
    return run_action(
        request,
        session,
        lambda: service.propose_for_units(
            session, year=year, actor=principal, unit_code=unit, only_missing=only_missing == "on"
        ),
        message=_proposed,
        to="/training/manage",
        on_error=lambda err: render_form_errors(
            request,
            "training/manage.html",
            {"year": year, "summary": None},
            errors=err.form_errors(),
            values={"unit": unit},
            block="propose",
        ),
    )


# --- budgets ----------------------------------------------------------------------------------


def _budget_context(session: Session, year: int, region: str) -> dict[str, Any]:
    return {
        **service.budget_table(session, year=year, region=region),
        "year": year,
        "region": region,
        "regions": competency_service.regions(session),
        "values": {},
        "errors": {},
    }


@router.get("/budgets", dependencies=MANAGE)
def budgets_page(request: Request, session: SessionDep, year: int | None = None, region: str = ""):
    context = _budget_context(session, year_of(request, year), region)
    return render(request, "training/budgets.html", context)


@router.post("/budgets", dependencies=MANAGE)
def set_budget(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    unit: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    year: Annotated[int | None, Form()] = None,
):
    year = year_of(request, year)
    return run_form(
        request,
        session,
        lambda: service.set_budget_by_code(
            session, unit_code=unit, year=year, amount=amount, actor=principal
        ),
        message=lambda found: _(
            "Budget of %(unit)s for %(year)s saved.", unit=found.name, year=year
        ),
        to=f"/training/manage/budgets?year={year}",
        template="training/budgets.html",
        context=lambda: _budget_context(session, year, ""),
        values={"unit": unit, "amount": amount},
        block="form",
        field="amount",
    )


# --- supplier learners ------------------------------------------------------------------------


def _learners_context(session: Session) -> dict[str, Any]:
    return {"learners": service.list_learners(session), "values": {}, "errors": {}}


@router.get("/learners", dependencies=MANAGE)
def learners_page(request: Request, session: SessionDep):
    return render(request, "training/learners.html", _learners_context(session))


def _invited(learner) -> str:
    return _(
        "Account created for %(name)s (%(organisation)s). Give them the first password "
        "in person or by phone; they can change it under My account.",
        name=learner.full_name,
        organisation=learner.organisation,
    )


@router.post("/learners", dependencies=MANAGE)
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
    values = {"full_name": full_name, "email": email, "organisation": organisation}
    values["tax_id"] = tax_id
    return run_form(
        request,
        session,
        refused_in_form(
            lambda: service.create_supplier_learner(
                session, settings, password=password, actor=principal, **values
            ),
            raised=(403,),
        ),
        message=_invited,
        to="/training/manage/learners",
        template="training/learners.html",
        context=lambda: _learners_context(session),
        values=values,
        block="form",
        field="email",
    )


# --- induction --------------------------------------------------------------------------------

INDUCTION_STATUSES = ("not_assigned", "assigned", "waitlisted", "enrolled", "completed")


@router.get("/induction", dependencies=MANAGE)
def induction_page(request: Request, session: SessionDep):
    rows = service.induction_status(session)
    context = {
        "rows": rows,
        "activity": service.induction_activity(session),
        "window": service.rules().induction_window_days,
        "counts": {s: sum(1 for r in rows if r.status == s) for s in INDUCTION_STATUSES},
        "overdue": sum(1 for r in rows if r.overdue),
    }
    return render(request, "training/induction.html", context)


@router.post("/induction/assign", dependencies=MANAGE)
def assign_induction_now(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return run_action(
        request,
        session,
        lambda: service.assign_to_new_staff(session, actor=principal),
        message=lambda n: _("Induction assigned to %(n)s new staff.", n=n),
        to="/training/manage/induction",
    )
