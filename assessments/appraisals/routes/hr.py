"""HR's pages: appraisal cycles, calibration and the supervisors' dialogue training."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlmodel import Session

from assessments.appraisals import service
from assessments.appraisals.models import Stage
from assessments.appraisals.routes.common import CycleDep, OnAppraisal
from assessments.appraisals.routes.feedback import cycle_feedback
from assessments.appraisals.schemas import CycleForm, SendBackForm, TrainingForm
from backend import clock
from backend.actions import run_action, show_form
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, FieldError, SettingsDep, id_or_none, require
from backend.i18n import _, get_locale
from backend.web import render, render_form_errors
from competency_framework import service as competency_service

router = APIRouter(prefix="/appraisals")

CALIBRATION_ROWS = 50


# --- cycles ---------------------------------------------------------------------------------------


def _cycles_context(session: Session, year: int) -> dict[str, Any]:
    cycles = service.list_cycles(session)
    in_use = service.role_codes(session)
    return {
        "cycles": cycles,
        "totals": service.cycle_totals(session, cycles),
        "units": service.all_units(session),
        "roles": [
            r for r in competency_service.role_choices(session, get_locale()) if r[0] in in_use
        ],
        "plan_years": service.plan_years(session),
        "values": {
            "name": "",
            "period_start": f"{year}-01-01",
            "period_end": f"{year}-12-31",
            "plan_year": str(year),
            "units": [],
            "roles": [],
            "subunits": True,
            "trained": True,
        },
        "errors": {},
    }


@router.get("/cycles", dependencies=[require(Permission.manage_appraisal_cycles)])
def cycles_page(request: Request, session: SessionDep, settings: SettingsDep):
    context = _cycles_context(session, clock.today(settings).year)
    return render(request, "appraisals/cycles.html", context)


def _cycle_form(request: Request, session: Session, year: int, form: CycleForm, errors):
    """The form opening a cycle again (422), with `errors` by field and what was typed."""
    return render_form_errors(
        request,
        "appraisals/cycles.html",
        _cycles_context(session, year),
        errors=errors,
        values=form.values(),
        block="form",
    )


@router.post("/cycles", dependencies=[require(Permission.manage_appraisal_cycles)])
async def open_cycle(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    form = CycleForm.from_form(await request.form())
    year = clock.today(settings).year
    try:
        form.check()
    except FieldError as err:
        return _cycle_form(request, session, year, form, {err.field: err.message})
    return run_action(
        request,
        session,
        lambda: service.open_cycle(session, **form.arguments(), actor=principal),
        message=lambda cycle: _(
            "The cycle is open: %(n)s appraisals were created.", n=f"{cycle.appraisal_count:,}"
        ),
        to=lambda cycle: f"/appraisals/cycles/{cycle.id}",
        on_error=lambda err: _cycle_form(
            request, session, year, form, err.errors or {"units": str(err)}
        ),
        refusals="all",  # every refusal (an overlapping cycle too) is about what was typed
    )


@router.get("/cycles/{cycle_id}", dependencies=[require(Permission.manage_appraisal_cycles)])
def cycle_page(request: Request, session: SessionDep, cycle: CycleDep):
    rows, total = service.cycle_progress(session, cycle)
    watch = cycle.require_trained_managers and cycle.completed_at is None
    context = {
        "cycle": cycle,
        "rows": rows,
        "total": total,
        "stages": list(Stage),
        "reminders": service.reminders(session, cycle),
        "untrained": service.untrained_count(session) if watch else 0,
        **cycle_feedback(request, session, cycle),
    }
    return render(request, "appraisals/cycle.html", context)


@router.post(
    "/cycles/{cycle_id}/remind", dependencies=[require(Permission.manage_appraisal_cycles)]
)
def cycle_remind(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle: CycleDep,
    unit_id: Annotated[str, Form()] = "",
):
    return run_action(
        request,
        session,
        lambda: service.remind(session, cycle=cycle, actor=principal, unit_id=id_or_none(unit_id)),
        message=lambda counts: _(
            "Reminders recorded: %(n)s. Each person sees theirs on their start page and is "
            "emailed within a few minutes.",
            n=sum(counts.values()),
        ),
        to=f"/appraisals/cycles/{cycle.id}",
    )


@router.post(
    "/cycles/{cycle_id}/settings", dependencies=[require(Permission.manage_appraisal_cycles)]
)
def cycle_settings(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle: CycleDep,
    trained: Annotated[str, Form()] = "",
):
    return run_action(
        request,
        session,
        lambda: service.set_training_requirement(
            session, cycle=cycle, required=trained == "1", actor=principal
        ),
        message=_("The cycle's settings were saved."),
        to=f"/appraisals/cycles/{cycle.id}",
    )


@router.post(
    "/cycles/{cycle_id}/complete", dependencies=[require(Permission.manage_appraisal_cycles)]
)
def cycle_complete(
    request: Request, session: SessionDep, principal: CurrentPrincipal, cycle: CycleDep
):
    return run_action(
        request,
        session,
        lambda: service.complete_cycle(session, cycle=cycle, actor=principal),
        message=lambda unfinished: _(
            "The cycle is completed and locked. %(n)s appraisals were left unfinished.",
            n=unfinished,
        ),
        to=f"/appraisals/cycles/{cycle.id}",
    )


# --- calibration ----------------------------------------------------------------------------------


def _calibration_context(
    session: Session, cycle: int | None, supervisor: int | None, unit: int | None, full: int
) -> dict[str, Any]:
    cycles = service.list_cycles(session)
    chosen = next((c for c in cycles if c.id == cycle), cycles[0] if cycles else None)
    report = service.calibration(session, cycle=chosen) if chosen is not None else None
    drill, drill_label = [], ""
    if report is not None and (supervisor is not None or unit is not None):
        drill = service.appraisals_for_calibration(
            session, cycle=chosen, appraiser_id=supervisor, unit_id=unit
        )
        groups, key = (
            (report.supervisors, supervisor) if supervisor is not None else (report.units, unit)
        )
        drill_label = next((g.label for g in groups if g.key == key), "")
    supervisors = report.supervisors if report else []
    shown = supervisors if full else supervisors[:CALIBRATION_ROWS]
    return {
        "cycles": cycles,
        "cycle": chosen,
        "report": report,
        "supervisors": shown,
        "hidden_supervisors": len(supervisors) - len(shown),
        "drill": drill,
        "drill_label": drill_label,
        "supervisor": supervisor,
        "unit": unit,
        "thresholds": {
            "min_group": service.CALIBRATION_MIN_GROUP,
            "mean_gap": service.CALIBRATION_MEAN_GAP,
            "share_gap": service.CALIBRATION_SHARE_GAP,
        },
    }


@router.get("/calibration", dependencies=[require(Permission.calibrate_appraisals)])
def calibration_page(
    request: Request,
    session: SessionDep,
    cycle: int | None = None,
    supervisor: int | None = None,
    unit: int | None = None,
    full: int = 0,
):
    context = _calibration_context(session, cycle, supervisor, unit, full)
    return render(request, "appraisals/calibration.html", context)


@router.post("/{appraisal_id}/send-back", dependencies=[require(Permission.calibrate_appraisals)])
def send_back(act: OnAppraisal, form: Annotated[SendBackForm, Form()]):
    act.steps.require(service.Step.send_back)
    back = form.next if form.next.startswith("/appraisals/calibration") else act.page
    return run_action(
        act.request,
        act.session,
        lambda: service.send_back(
            act.session, appraisal=act.appraisal, reason=form.reason, actor=act.principal
        ),
        message=_("The appraisal was sent back to the supervisor."),
        to=back,
        on_error=act.back("send_back", {"reason": form.reason}),
    )


# --- trained managers -----------------------------------------------------------------------------


def _training_context(session: Session, today, failed_for: int | None = None) -> dict[str, Any]:
    return {
        "untrained": service.untrained_supervisors(session, limit=300),
        "records": service.training_records(session),
        "errors": {},
        "values": {},
        "failed_for": failed_for,
        "today": today,
    }


@router.get("/training", dependencies=[require(Permission.manage_appraisal_cycles)])
def training_page(request: Request, session: SessionDep, settings: SettingsDep):
    context = _training_context(session, clock.today(settings))
    return render(request, "appraisals/training.html", context)


@router.post("/training", dependencies=[require(Permission.manage_appraisal_cycles)])
def record_training(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    form: Annotated[TrainingForm, Form()],
):
    return run_action(
        request,
        session,
        lambda: service.record_manager_training(session, **form.arguments(), actor=principal),
        message=_("The training was recorded."),
        to="/appraisals/training",
        on_error=show_form(
            request,
            "appraisals/training.html",
            lambda: _training_context(session, clock.today(settings), id_or_none(form.employee_id)),
            values=form.values(),
        ),
    )
