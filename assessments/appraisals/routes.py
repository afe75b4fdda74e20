"""Appraisal pages and JSON: thin — parse, call the service (which authorises), render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session, col, select

from assessments.appraisals import panels, service
from assessments.appraisals.models import (
    PROPOSED_LABEL,
    RATING_DESCRIPTORS,
    RATING_LABELS,
    RATINGS,
    SIDE_LABELS,
    STAGE_LABELS,
    TRAINING_SOURCE_LABELS,
    Appraisal,
    AppraisalCycle,
    Side,
    Stage,
    TeamObjective,
)
from assessments.appraisals.service import (
    ActionInput,
    AppraisalError,
    ObjectiveInput,
    ObjectiveScore,
)
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep, today_utc
from backend.deps import CurrentPrincipal, FieldError, form_ids, form_int, id_or_none, require
from backend.i18n import LOCALES, N_, _, use_locale
from backend.org.models import Employee, Position, Unit
from backend.web import (
    NavItem,
    commit_and_redirect,
    flash,
    keep_form,
    kept_form,
    redirect,
    register_nav,
    render,
    render_form_errors,
    templates,
)
from competency_framework import service as competency_service

router = APIRouter(prefix="/appraisals")
api_router = APIRouter(prefix="/appraisals", tags=["appraisals"])

register_nav(NavItem(N_("Appraisals"), "/appraisals", Permission.take_part_in_appraisals, order=40))
register_nav(
    NavItem(
        N_("Appraisal cycles"), "/appraisals/cycles", Permission.manage_appraisal_cycles, order=41
    )
)

assert panels  # registers the dashboard panels
templates().globals.update(
    APPRAISAL_STAGE_LABELS=STAGE_LABELS,
    APPRAISAL_PROPOSED_LABEL=PROPOSED_LABEL,
    APPRAISAL_RATING_LABELS=RATING_LABELS,
    APPRAISAL_RATING_DESCRIPTORS=RATING_DESCRIPTORS,
    APPRAISAL_RATINGS=RATINGS,
    APPRAISAL_SIDE_LABELS=SIDE_LABELS,
    APPRAISAL_REMINDER_LABELS=service.REMINDER_LABELS,
    APPRAISAL_REMINDER_MAIL_LABELS=service.REMINDER_MAIL_LABELS,
    APPRAISAL_STEP_LABELS=service.STEP_LABELS,
    APPRAISAL_TRAINING_SOURCES=TRAINING_SOURCE_LABELS,
)

BLANK_OBJECTIVE_ROWS = 3
BLANK_ACTION_ROWS = 2


def _rollback(session: Session, principal) -> None:
    """Undo what a refused action may have started, keeping the signed-in user loaded.

    The error page is rendered after the request's session has closed; reloading the
    principal's rows now spares it from reading expired attributes then.
    """
    session.rollback()
    session.refresh(principal.user)
    session.refresh(principal.session)


def _http(err: AppraisalError) -> HTTPException:
    return HTTPException(status_code=err.status_code, detail=str(err))


def _refused(session: Session, principal, err: AppraisalError) -> HTTPException:
    """Undo a refused action; return its error page (403, 404, 409…) to raise."""
    _rollback(session, principal)
    return _http(err)


def _refused_form(
    session: Session, principal, err: AppraisalError, *, shown: tuple[int, ...] = (422,)
) -> None:
    """Undo a refused form; raise its error page unless the form shows it (status in `shown`)."""
    if err.status_code not in shown:
        raise _refused(session, principal, err) from None
    _rollback(session, principal)


def _appraisal_in_path(
    session: SessionDep, principal: CurrentPrincipal, appraisal_id: int
) -> Appraisal:
    try:
        return service.get_appraisal(session, appraisal_id=appraisal_id, actor=principal)
    except AppraisalError as err:
        raise _http(err) from None


# A route parameter: the path's appraisal, if the principal takes part in it (else 403/404).
AppraisalDep = Annotated[Appraisal, Depends(_appraisal_in_path)]


@dataclass
class AppraisalAction:
    """A step someone takes in one appraisal, with what it needs: the routes' dependency.

    The appraisal is loaded first: 403/404 for someone who takes no part in it.
    """

    request: Request
    session: Session
    principal: Principal
    appraisal: Appraisal

    def refused(self, err: AppraisalError, *, form: str, values: dict[str, Any]) -> Response:
        """Return to the appraisal page, which shows `form` again with its errors and what was
        typed (422 refusals), or raise 403/404/409.

        A redirect, not the page itself: a page shown at the form's POST-only URL would post
        the form again on reload (issue #13).
        """
        _refused_form(self.session, self.principal, err)
        page = f"/appraisals/{self.appraisal.id}"
        if err.errors:
            keep_form(self.request, page=page, form=form, errors=err.errors, values=values)
            self.session.commit()
        else:
            keep_form(self.request, page=page, form=form, errors={}, values=values)
            self.session.commit()
            flash(self.request, str(err), "error")
            self.session.commit()
        return redirect(self.request, page + FORM_ANCHORS.get(form, ""))

    def saved(
        self, message: str, *, anchor: str = "", target: str = "", level: str = "success"
    ) -> Response:
        """Return to the appraisal page (or `target`) once the step is committed."""
        url = target or f"/appraisals/{self.appraisal.id}{anchor}"
        return commit_and_redirect(self.request, self.session, message, url, level=level)


# Where on the appraisal page each form is, to return to it after a refusal.
FORM_ANCHORS = {
    "objectives": "#objectives",
    "progress": "#objectives",
    "assessment": "#assessment",
    "dialogue": "#dialogue",
    "sign": "#sign",
    "review": "#review",
    "send_back": "#calibration",
}


def _appraisal_action(
    request: Request, session: SessionDep, principal: CurrentPrincipal, appraisal: AppraisalDep
) -> AppraisalAction:
    return AppraisalAction(request, session, principal, appraisal)


# A route parameter: a step in the appraisal the path names.
OnAppraisal = Annotated[AppraisalAction, Depends(_appraisal_action)]


def _cycle_or_404(session: Session, cycle_id: int) -> AppraisalCycle:
    cycle = service.get_cycle(session, cycle_id)
    if cycle is None:
        raise HTTPException(status_code=404, detail=_("This appraisal cycle does not exist."))
    return cycle


def _cycle_in_path(session: SessionDep, cycle_id: int) -> AppraisalCycle:
    return _cycle_or_404(session, cycle_id)


# A route parameter: the appraisal cycle named by the path's `cycle_id` (404 if none).
CycleDep = Annotated[AppraisalCycle, Depends(_cycle_in_path)]


# --- my appraisals, my team -----------------------------------------------------------------------


@router.get("", dependencies=[require(Permission.take_part_in_appraisals)])
def appraisals_home(request: Request, session: SessionDep, principal: CurrentPrincipal):
    own = principal.user.employee_id
    mine = service.appraisals_of(session, employee_id=own) if own is not None else []
    team = service.team_appraisals(session, supervisor_id=own) if own is not None else []
    escalated = service.escalated_to(session, employee_id=own) if own is not None else []
    hr_reviews = service.escalated_to_hr(session) if service.is_hr(principal) else []
    return render(
        request,
        "appraisals/index.html",
        {
            "linked": own is not None,
            "mine": [(a, c, service.next_step(a, {"employee"})) for a, c in mine],
            "team": [(a, e, c, service.next_step(a, {"supervisor"})) for a, e, c in team],
            "escalated": escalated,
            "hr_reviews": hr_reviews,
            "is_hr": service.is_hr(principal),
            "reminders": service.reminders_for(session, employee_id=own) if own else [],
        },
    )


# --- the organisation's plan ----------------------------------------------------------------------


def _plan_context(session: Session, principal, year: int) -> dict[str, Any]:
    own = principal.user.employee_id
    hr = principal.can(Permission.manage_appraisal_cycles)
    if hr:
        unit_choices = list(session.exec(select(Unit).order_by(col(Unit.name))))
    elif own is not None:
        unit_ids = set(
            session.exec(select(Employee.unit_id).where(Employee.supervisor_id == own)).all()
        )
        unit_choices = list(
            session.exec(select(Unit).where(col(Unit.id).in_(unit_ids)).order_by(col(Unit.name)))
        )
    else:
        unit_choices = []
    objectives = service.list_unit_objectives(session, year=year)
    unit_names = dict(
        session.exec(
            select(Unit.id, Unit.name).where(col(Unit.id).in_({o.unit_id for o in objectives}))
        ).all()
    )
    years = sorted(set(service.plan_years(session)) | {year, today_utc().year}, reverse=True)
    return {
        "year": year,
        "years": years,
        "priorities": service.list_priorities(session, year=year),
        "unit_objectives": objectives,
        "unit_names": unit_names,
        "unit_choices": unit_choices,
        "can_edit_plan": hr,
        "errors": {},
        "values": {},
        "form": "",
    }


@router.get("/plan", dependencies=[require(Permission.take_part_in_appraisals)])
def plan_page(
    request: Request, session: SessionDep, principal: CurrentPrincipal, year: int | None = None
):
    return render(
        request,
        "appraisals/plan.html",
        _plan_context(session, principal, year or today_utc().year),
    )


@router.post("/plan/priorities", dependencies=[require(Permission.manage_appraisal_cycles)])
def add_priority(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    year: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
):
    try:
        priority = service.add_priority(
            session,
            year=year,
            title=title,
            target=target,
            description=description,
            actor=principal,
        )
    except AppraisalError as err:
        return _plan_form_refused(
            request,
            session,
            principal,
            err,
            year=year,
            form="priority",
            values={"year": year, "title": title, "target": target, "description": description},
        )
    return commit_and_redirect(
        request,
        session,
        _("The priority was added to the plan."),
        f"/appraisals/plan?year={priority.year}",
    )


@router.post("/plan/unit-objectives", dependencies=[require(Permission.take_part_in_appraisals)])
def add_unit_objective(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[str, Form()] = "",
    priority_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    year: Annotated[str, Form()] = "",
):
    try:
        objective = service.add_unit_objective(
            session,
            unit_id=unit_id,
            priority_id=priority_id,
            title=title,
            target=target,
            actor=principal,
        )
    except AppraisalError as err:
        return _plan_form_refused(
            request,
            session,
            principal,
            err,
            year=year,
            form="unit_objective",
            values={
                "unit_id": unit_id,
                "priority_id": priority_id,
                "title": title,
                "target": target,
            },
        )
    return commit_and_redirect(
        request,
        session,
        _("The unit objective was recorded."),
        f"/appraisals/plan?year={objective.year}",
    )


def _plan_form_refused(
    request: Request,
    session: Session,
    principal,
    err: AppraisalError,
    *,
    year: str,
    form: str,
    values: dict[str, str],
):
    """Return the plan page's `form` block again with its errors (422), or raise 403/404/409."""
    _refused_form(session, principal, err)
    shown = id_or_none(year) or today_utc().year
    return render_form_errors(
        request,
        "appraisals/plan.html",
        {**_plan_context(session, principal, shown), "form": form},
        errors=err.errors,
        values=values,
        block=form,
    )


# --- team objectives ------------------------------------------------------------------------------


def _team_context(
    session: Session, principal, cycle_id: int | None, unit_id: int | None
) -> dict[str, Any]:
    own = principal.user.employee_id
    hr = principal.can(Permission.manage_appraisal_cycles)
    cycles = service.open_cycles(session)
    cycle = next((c for c in cycles if c.id == cycle_id), cycles[0] if cycles else None)
    units: list[Unit] = []
    if cycle is not None:
        in_cycle = select(Appraisal.unit_id).where(Appraisal.cycle_id == cycle.id).distinct()
        statement = select(Unit).where(col(Unit.id).in_(in_cycle))
        if not hr:
            mine = select(Employee.unit_id).where(Employee.supervisor_id == own).distinct()
            statement = statement.where(col(Unit.id).in_(mine))
        units = list(session.exec(statement.order_by(col(Unit.name))))
    unit = next((u for u in units if u.id == unit_id), units[0] if units else None)
    shared = (
        service.team_objectives(session, cycle_id=cycle.id, unit_id=unit.id)
        if cycle is not None and unit is not None
        else []
    )
    return {
        "cycles": cycles,
        "cycle": cycle,
        "units": units,
        "unit": unit,
        "shared": shared,
        "progress": service.team_progress_of(session, [t.id for t in shared]),
        "links": service.link_choices(session, cycle=cycle, unit_id=unit.id)
        if cycle is not None and unit is not None
        else [],
        "link_labels": {t.id: service.link_label(session, t) for t in shared},
        "errors": {},
        "values": {"weight": "20"},
    }


@router.get("/team", dependencies=[require(Permission.take_part_in_appraisals)])
def team_page(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle: int | None = None,
    unit: int | None = None,
):
    return render(request, "appraisals/team.html", _team_context(session, principal, cycle, unit))


@router.post("/team-objectives", dependencies=[require(Permission.take_part_in_appraisals)])
def add_team_objective(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle_id: Annotated[str, Form()] = "",
    unit_id: Annotated[str, Form()] = "",
    link: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    measure: Annotated[str, Form()] = "",
    weight: Annotated[str, Form()] = "",
):
    chosen = id_or_none(cycle_id)
    cycle = _cycle_or_404(session, chosen) if chosen is not None else None
    if cycle is None:
        raise HTTPException(status_code=404, detail=_("This appraisal cycle does not exist."))
    try:
        _shared, joined = service.add_team_objective(
            session,
            cycle=cycle,
            unit_id=unit_id,
            link=link,
            title=title,
            measure=measure,
            weight=weight,
            actor=principal,
        )
    except AppraisalError as err:
        _refused_form(session, principal, err)
        return render_form_errors(
            request,
            "appraisals/team.html",
            _team_context(session, principal, cycle.id, id_or_none(unit_id)),
            errors=err.errors,
            values={"link": link, "title": title, "measure": measure, "weight": weight},
            block="add",
        )
    return commit_and_redirect(
        request,
        session,
        _(
            "The team objective was added to %(n)s sets of objectives still being agreed.",
            n=joined,
        ),
        f"/appraisals/team?cycle={cycle.id}&unit={unit_id}",
    )


@router.post(
    "/team-objectives/{team_objective_id}/progress",
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def add_team_progress(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    team_objective_id: int,
    percent: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    shared = session.get(TeamObjective, team_objective_id)
    if shared is None:
        raise HTTPException(status_code=404, detail=_("This team objective does not exist."))
    try:
        service.add_team_progress(
            session, team_objective=shared, percent=percent, note=note, actor=principal
        )
    except AppraisalError as err:
        _refused_form(session, principal, err)
        context = _team_context(session, principal, shared.cycle_id, shared.unit_id)
        context["progress_errors"] = {shared.id: err.errors}
        return render(request, "appraisals/team.html", context, status_code=422)
    return commit_and_redirect(
        request,
        session,
        _("The progress was recorded."),
        f"/appraisals/team?cycle={shared.cycle_id}&unit={shared.unit_id}",
    )


# --- cycles (HR) ----------------------------------------------------------------------------------


def _cycles_context(session: Session) -> dict[str, Any]:
    cycles = service.list_cycles(session)
    year = today_utc().year
    return {
        "cycles": cycles,
        "totals": service.cycle_totals(session, cycles),
        "units": list(session.exec(select(Unit).order_by(col(Unit.name)))),
        "roles": [
            r
            for r in competency_service.role_choices(session, _current_locale())
            if r[0] in service.role_codes(session)
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


def _current_locale() -> str:
    from backend.i18n import get_locale

    return get_locale()


@router.get("/cycles", dependencies=[require(Permission.manage_appraisal_cycles)])
def cycles_page(request: Request, session: SessionDep):
    return render(request, "appraisals/cycles.html", _cycles_context(session))


@router.post("/cycles", dependencies=[require(Permission.manage_appraisal_cycles)])
async def open_cycle(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = await request.form()
    values = {
        "name": str(form.get("name", "")),
        "period_start": str(form.get("period_start", "")),
        "period_end": str(form.get("period_end", "")),
        "plan_year": str(form.get("plan_year", "")),
        "units": [],
        "roles": [str(r) for r in form.getlist("roles") if r],
        "subunits": form.get("subunits") == "1",
        "trained": form.get("trained") == "1",
    }
    try:
        values["units"] = form_ids(form.getlist("units"), field="units")
        # The service reads the year; one beyond any plan's never reaches the database.
        form_int(values["plan_year"], field="plan_year", low=1, high=9999)
    except FieldError as err:
        return render_form_errors(
            request,
            "appraisals/cycles.html",
            _cycles_context(session),
            errors={err.field: err.message},
            values=values,
            block="form",
        )
    try:
        cycle = service.open_cycle(
            session,
            name=values["name"],
            period_start=values["period_start"],
            period_end=values["period_end"],
            plan_year=values["plan_year"],
            unit_ids=values["units"],
            role_codes_chosen=values["roles"],
            include_subunits=values["subunits"],
            require_trained_managers=values["trained"],
            actor=principal,
        )
    except AppraisalError as err:
        _refused_form(session, principal, err, shown=(409, 422))
        return render_form_errors(
            request,
            "appraisals/cycles.html",
            _cycles_context(session),
            errors=err.errors or {"units": str(err)},
            values=values,
            block="form",
            status_code=err.status_code,
        )
    return commit_and_redirect(
        request,
        session,
        _("The cycle is open: %(n)s appraisals were created.", n=f"{cycle.appraisal_count:,}"),
        f"/appraisals/cycles/{cycle.id}",
    )


@router.get("/cycles/{cycle_id}", dependencies=[require(Permission.manage_appraisal_cycles)])
def cycle_page(request: Request, session: SessionDep, cycle: CycleDep):
    rows, total = service.cycle_progress(session, cycle)
    return render(
        request,
        "appraisals/cycle.html",
        {
            "cycle": cycle,
            "rows": rows,
            "total": total,
            "stages": list(Stage),
            "reminders": service.reminders(session, cycle),
            "untrained": len(service.untrained_supervisors(session))
            if cycle.require_trained_managers and cycle.completed_at is None
            else 0,
        },
    )


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
    try:
        counts = service.remind(
            session,
            cycle=cycle,
            actor=principal,
            unit_id=id_or_none(unit_id),
        )
    except AppraisalError as err:
        raise _refused(session, principal, err) from None
    return commit_and_redirect(
        request,
        session,
        _(
            "Reminders recorded: %(n)s. Each person sees theirs on their start page and is "
            "emailed within a few minutes.",
            n=sum(counts.values()),
        ),
        f"/appraisals/cycles/{cycle.id}",
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
    try:
        service.set_training_requirement(
            session, cycle=cycle, required=trained == "1", actor=principal
        )
    except AppraisalError as err:
        raise _refused(session, principal, err) from None
    return commit_and_redirect(
        request, session, _("The cycle's settings were saved."), f"/appraisals/cycles/{cycle.id}"
    )


@router.post(
    "/cycles/{cycle_id}/complete", dependencies=[require(Permission.manage_appraisal_cycles)]
)
def cycle_complete(
    request: Request, session: SessionDep, principal: CurrentPrincipal, cycle: CycleDep
):
    try:
        unfinished = service.complete_cycle(session, cycle=cycle, actor=principal)
    except AppraisalError as err:
        raise _refused(session, principal, err) from None
    return commit_and_redirect(
        request,
        session,
        _(
            "The cycle is completed and locked. %(n)s appraisals were left unfinished.",
            n=unfinished,
        ),
        f"/appraisals/cycles/{cycle.id}",
    )


# --- calibration (HR) -----------------------------------------------------------------------------

CALIBRATION_ROWS = 50


@router.get("/calibration", dependencies=[require(Permission.calibrate_appraisals)])
def calibration_page(
    request: Request,
    session: SessionDep,
    cycle: int | None = None,
    supervisor: int | None = None,
    unit: int | None = None,
    full: int = 0,
):
    cycles = service.list_cycles(session)
    chosen = next((c for c in cycles if c.id == cycle), cycles[0] if cycles else None)
    report = service.calibration(session, cycle=chosen) if chosen is not None else None
    drill = []
    drill_label = ""
    if chosen is not None and (supervisor is not None or unit is not None):
        drill = service.appraisals_for_calibration(
            session, cycle=chosen, appraiser_id=supervisor, unit_id=unit
        )
        group = next(
            (
                g
                for g in (report.supervisors if supervisor is not None else report.units)
                if g.key == (supervisor if supervisor is not None else unit)
            ),
            None,
        )
        drill_label = group.label if group else ""
    supervisors = report.supervisors if report else []
    shown = supervisors if full else supervisors[:CALIBRATION_ROWS]
    return render(
        request,
        "appraisals/calibration.html",
        {
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
        },
    )


@router.post("/{appraisal_id}/send-back", dependencies=[require(Permission.calibrate_appraisals)])
def send_back(
    act: OnAppraisal,
    reason: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
):
    try:
        service.send_back(act.session, appraisal=act.appraisal, reason=reason, actor=act.principal)
    except AppraisalError as err:
        return act.refused(err, form="send_back", values={"reason": reason})
    return act.saved(
        _("The appraisal was sent back to the supervisor."),
        target=next if next.startswith("/appraisals/calibration") else "",
    )


# --- trained managers (HR) ------------------------------------------------------------------------


def _training_context(session: Session) -> dict[str, Any]:
    return {
        "untrained": service.untrained_supervisors(session, limit=300),
        "records": service.training_records(session),
        "errors": {},
        "values": {},
        "failed_for": None,
        "today": today_utc(),
    }


@router.get("/training", dependencies=[require(Permission.manage_appraisal_cycles)])
def training_page(request: Request, session: SessionDep):
    return render(request, "appraisals/training.html", _training_context(session))


@router.post("/training", dependencies=[require(Permission.manage_appraisal_cycles)])
def record_training(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee_id: Annotated[str, Form()] = "",
    completed_on: Annotated[str, Form()] = "",
    evidence: Annotated[str, Form()] = "",
):
    try:
        service.record_manager_training(
            session,
            employee_id=employee_id,
            completed_on=completed_on,
            evidence=evidence,
            actor=principal,
        )
    except AppraisalError as err:
        _refused_form(session, principal, err)
        return render_form_errors(
            request,
            "appraisals/training.html",
            {
                **_training_context(session),
                "failed_for": id_or_none(employee_id),
            },
            errors=err.errors,
            values={"completed_on": completed_on, "evidence": evidence},
        )
    return commit_and_redirect(
        request, session, _("The training was recorded."), "/appraisals/training"
    )


# --- one appraisal --------------------------------------------------------------------------------


def _objective_rows(session: Session, appraisal: Appraisal) -> list[dict[str, Any]]:
    rows = [
        {
            "id": o.id,
            "team": o.team_objective_id,
            "title": o.title,
            "measure": o.measure,
            "link": f"u:{o.unit_objective_id}" if o.unit_objective_id else f"p:{o.priority_id}",
            "weight": o.weight,
        }
        for o in service.objectives_of(session, appraisal)
    ]
    blank = {"id": "", "team": None, "title": "", "measure": "", "link": "", "weight": ""}
    return rows + [dict(blank) for _i in range(BLANK_OBJECTIVE_ROWS)]


def _detail_context(
    session: Session,
    principal,
    appraisal: Appraisal,
    *,
    form: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    cycle = session.get(AppraisalCycle, appraisal.cycle_id)
    employee = session.get(Employee, appraisal.employee_id)
    parts = service.roles_in(session, appraisal=appraisal, actor=principal)
    side = service.side_of(session, appraisal=appraisal, actor=principal)
    objectives = service.objectives_of(session, appraisal)
    locked = cycle.completed_at is not None
    both = service.both_submitted(appraisal)
    own_view = (
        service.read_assessment(session, appraisal=appraisal, side=side, actor=principal)
        if side is not None
        else None
    )
    assessments = {}
    if both:
        for s in Side:
            assessments[s] = service.read_assessment(
                session, appraisal=appraisal, side=s, actor=principal
            )
    own_employee = principal.user.employee_id
    gate = (
        service.dialogue_gate(session, appraisal=appraisal, employee_id=own_employee)
        if "supervisor" in parts
        else ""
    )
    dialogue = service.dialogue_of(session, appraisal)
    actions = service.actions_of(session, appraisal)
    open_actions = [a for a in actions if a.published_at is None]
    action_rows = [
        {
            "description": a.description,
            "competency": a.competency_code or "",
            "due": a.due_by.isoformat() if a.due_by else "",
        }
        for a in open_actions
    ] + [{"description": "", "competency": "", "due": ""} for _i in range(BLANK_ACTION_ROWS)]
    supervisor_view = "supervisor" in parts
    competencies = competency_service.list_competencies(session)
    show_score = supervisor_view or appraisal.supervisor_signed_at is not None or "hr" in parts
    context = {
        "appraisal": appraisal,
        "cycle": cycle,
        "employee": employee,
        "unit": session.get(Unit, appraisal.unit_id),
        "position": session.get(Position, appraisal.position_id) if appraisal.position_id else None,
        "appraiser": service.employee_name(session, appraisal.appraiser_id),
        "reviewer": service.employee_name(session, appraisal.reviewer_id),
        "parts": parts,
        "side": side,
        "next_step": service.next_step(appraisal, parts),
        "locked": locked,
        "objectives": objectives,
        "link_labels": {o.id: service.link_label(session, o) for o in objectives},
        "progress": service.progress_of(session, objectives),
        "total_weight": sum(o.weight for o in objectives),
        "links": service.link_choices(session, cycle=cycle, unit_id=appraisal.unit_id),
        "objective_rows": _objective_rows(session, appraisal),
        "can_edit_objectives": not locked
        and "supervisor" in parts
        and appraisal.objectives_agreed_at is None,
        "can_agree": not locked
        and "employee" in parts
        and appraisal.objectives_agreed_at is None
        and appraisal.objectives_proposed_at is not None,
        "can_progress": not locked
        and bool(parts & {"employee", "supervisor"})
        and appraisal.objectives_agreed_at is not None
        and appraisal.supervisor_signed_at is None,
        "own_view": own_view,
        "can_assess": not locked
        and side is not None
        and appraisal.objectives_agreed_at is not None
        and (
            own_view is None
            or own_view.assessment is None
            or own_view.assessment.submitted_at is None
        ),
        "both_submitted": both,
        "assessments": assessments,
        "gate": gate,
        "dialogue": dialogue,
        "actions": actions,
        "action_rows": action_rows,
        "can_record_dialogue": not locked
        and supervisor_view
        and appraisal.stage in (Stage.dialogue, Stage.sign_off)
        and appraisal.supervisor_signed_at is None
        and both
        and not gate,
        "score": service.score(session, appraisal=appraisal) if show_score and both else None,
        "can_sign_supervisor": not locked
        and supervisor_view
        and appraisal.stage == Stage.sign_off
        and appraisal.supervisor_signed_at is None,
        "can_sign_employee": not locked
        and "employee" in parts
        and appraisal.supervisor_signed_at is not None
        and appraisal.employee_signed_at is None,
        "can_review": not locked
        and appraisal.stage == Stage.escalated
        and ("reviewer" in parts or (appraisal.reviewer_id is None and service.is_hr(principal))),
        "can_send_back": not locked
        and principal.can(Permission.calibrate_appraisals)
        and appraisal.stage in (Stage.sign_off, Stage.escalated, Stage.completed)
        and appraisal.final_rating is not None,
        "steps": service.steps_of(session, appraisal),
        "competencies": competencies,
        "competency_by_code": {c.code: c for c in competencies},
        "today": today_utc(),
        "form": form,
        "errors": errors or {},
        "values": values or {},
    }
    return context


@router.get("/{appraisal_id}", dependencies=[require(Permission.take_part_in_appraisals)])
def appraisal_page(
    request: Request, session: SessionDep, principal: CurrentPrincipal, appraisal: AppraisalDep
):
    kept = kept_form(request, f"/appraisals/{appraisal.id}")
    return render(
        request,
        "appraisals/appraisal.html",
        _detail_context(session, principal, appraisal, **kept),
    )


@router.post(
    "/{appraisal_id}/objectives", dependencies=[require(Permission.take_part_in_appraisals)]
)
async def save_objectives(act: OnAppraisal):
    form = await act.request.form()
    count = id_or_none(form.get("rows")) or 0
    rows, shown = [], []
    for index in range(min(count, 50)):
        objective_id = str(form.get(f"id_{index}", ""))
        team = str(form.get(f"team_{index}", ""))
        row = ObjectiveInput(
            title=str(form.get(f"title_{index}", "")),
            measure=str(form.get(f"measure_{index}", "")),
            link=str(form.get(f"link_{index}", "")),
            weight=str(form.get(f"weight_{index}", "")),
            objective_id=id_or_none(objective_id),
            team_objective_id=id_or_none(team),
        )
        rows.append(row)
        shown.append(
            {
                "id": objective_id,
                "team": row.team_objective_id,
                "title": row.title,
                "measure": row.measure,
                "link": row.link,
                "weight": row.weight,
            }
        )
    try:
        service.save_objectives(
            act.session, appraisal=act.appraisal, rows=rows, actor=act.principal
        )
    except AppraisalError as err:
        return act.refused(err, form="objectives", values={"objective_rows": shown})
    return act.saved(_("The objectives were proposed. The employee is asked to agree to them."))


@router.post(
    "/{appraisal_id}/objectives/agree", dependencies=[require(Permission.take_part_in_appraisals)]
)
def agree_objectives(act: OnAppraisal):
    try:
        service.agree_objectives(act.session, appraisal=act.appraisal, actor=act.principal)
    except AppraisalError as err:
        raise _refused(act.session, act.principal, err) from None
    return act.saved(_("You agreed to your objectives."))


@router.post("/{appraisal_id}/progress", dependencies=[require(Permission.take_part_in_appraisals)])
def add_progress(
    act: OnAppraisal,
    objective_id: Annotated[str, Form()] = "",
    percent: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
):
    try:
        service.add_progress(
            act.session,
            appraisal=act.appraisal,
            objective_id=objective_id,
            percent=percent,
            note=note,
            actor=act.principal,
        )
    except AppraisalError as err:
        return act.refused(
            err,
            form="progress",
            values={"objective_id": objective_id, "percent": percent, "note": note},
        )
    return act.saved(_("The progress was recorded."), anchor="#objectives")


@router.post(
    "/{appraisal_id}/assessment", dependencies=[require(Permission.take_part_in_appraisals)]
)
async def save_assessment(act: OnAppraisal):
    form = await act.request.form()
    submit = form.get("action") == "submit"
    scores = []
    values: dict[str, Any] = {
        "achievements": str(form.get("achievements", "")),
        "to_improve": str(form.get("to_improve", "")),
    }
    for objective in service.objectives_of(act.session, act.appraisal):
        rating = str(form.get(f"rating_{objective.id}", ""))
        comment = str(form.get(f"comment_{objective.id}", ""))
        values[f"rating_{objective.id}"] = rating
        values[f"comment_{objective.id}"] = comment
        scores.append(ObjectiveScore(objective.id, rating, comment))
    try:
        service.save_assessment(
            act.session,
            appraisal=act.appraisal,
            achievements=values["achievements"],
            to_improve=values["to_improve"],
            scores=scores,
            submit=submit,
            actor=act.principal,
        )
    except AppraisalError as err:
        return act.refused(err, form="assessment", values=values)
    if submit:
        return act.saved(
            _("Your assessment was submitted. You will see the other assessment once both are in."),
            anchor="#assessment",
        )
    return act.saved(
        _("Your draft was saved. Nobody else can see it."), anchor="#assessment", level="info"
    )


@router.post("/{appraisal_id}/dialogue", dependencies=[require(Permission.take_part_in_appraisals)])
async def save_dialogue(act: OnAppraisal):
    form = await act.request.form()
    fields = (
        "held_on",
        "achievements",
        "barriers",
        "support_needed",
        "next_objectives",
        "rating",
        "reasons",
    )
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in fields}
    count = id_or_none(form.get("action_rows")) or 0
    actions, shown = [], []
    for index in range(min(count, 30)):
        action = ActionInput(
            description=str(form.get(f"action_{index}", "")),
            competency_code=str(form.get(f"action_competency_{index}", "")),
            due_by=str(form.get(f"action_due_{index}", "")),
        )
        actions.append(action)
        shown.append(
            {
                "description": action.description,
                "competency": action.competency_code,
                "due": action.due_by,
            }
        )
    values["action_rows"] = shown
    try:
        service.save_dialogue(
            act.session,
            appraisal=act.appraisal,
            held_on=values["held_on"],
            achievements=values["achievements"],
            barriers=values["barriers"],
            support_needed=values["support_needed"],
            next_objectives=values["next_objectives"],
            actions=actions,
            rating=values["rating"],
            reasons=values["reasons"],
            actor=act.principal,
        )
    except AppraisalError as err:
        return act.refused(err, form="dialogue", values=values)
    return act.saved(
        _("The dialogue record was saved. Sign it when it is final."), anchor="#dialogue"
    )


@router.post("/{appraisal_id}/sign", dependencies=[require(Permission.take_part_in_appraisals)])
def sign(
    act: OnAppraisal,
    decision: Annotated[str, Form()] = "agree",
    disagreement: Annotated[str, Form()] = "",
):
    appraisal = act.appraisal
    try:
        service.sign(
            act.session,
            appraisal=appraisal,
            actor=act.principal,
            disagree=decision == "disagree",
            disagreement=disagreement,
        )
    except AppraisalError as err:
        return act.refused(
            err, form="sign", values={"disagreement": disagreement, "decision": decision}
        )
    if appraisal.stage == Stage.escalated:
        message = _(
            "Your disagreement was recorded and the appraisal sent to the second-level manager."
        )
    elif appraisal.stage == Stage.completed:
        message = _("The dialogue record is signed by both: the appraisal is completed.")
    else:
        message = _("You signed the record. The employee is asked to sign it too.")
    return act.saved(message)


@router.post("/{appraisal_id}/review", dependencies=[require(Permission.take_part_in_appraisals)])
def review(
    act: OnAppraisal,
    rating: Annotated[str, Form()] = "",
    reasons: Annotated[str, Form()] = "",
):
    try:
        service.review(
            act.session,
            appraisal=act.appraisal,
            rating=rating,
            reasons=reasons,
            actor=act.principal,
        )
    except AppraisalError as err:
        return act.refused(err, form="review", values={"rating": rating, "reasons": reasons})
    return act.saved(_("Your review was recorded: the appraisal is completed."))


# --- JSON -----------------------------------------------------------------------------------------


def _api_error(err: AppraisalError):
    from fastapi.responses import JSONResponse

    code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(err.status_code, "invalid")
    body: dict[str, Any] = {"status": err.status_code, "code": code, "message": str(err)}
    if err.errors:
        body["fields"] = [{"field": k, "message": v} for k, v in err.errors.items()]
    return JSONResponse({"error": body}, status_code=err.status_code)


class LocalizedText(BaseModel):
    es: str
    en: str


class RatingOut(BaseModel):
    rating: int
    label: LocalizedText
    descriptor: LocalizedText


def _both(message: str) -> LocalizedText:
    texts = {}
    for locale in LOCALES:
        with use_locale(locale):
            texts[locale] = _(message)
    return LocalizedText(**texts)


@api_router.get(
    "/scale",
    response_model=list[RatingOut],
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def scale_json() -> list[RatingOut]:
    """The fixed 1–5 rating scale with its descriptors, in Spanish and English."""
    return [
        RatingOut(rating=r, label=_both(RATING_LABELS[r]), descriptor=_both(RATING_DESCRIPTORS[r]))
        for r in RATINGS
    ]


class StageCounts(BaseModel):
    unit_id: int | None
    unit: str
    counts: dict[str, int]


class CycleProgressOut(BaseModel):
    cycle_id: int
    name: str
    completed: bool
    total: StageCounts
    units: list[StageCounts]


@api_router.get(
    "/cycles/{cycle_id}/progress",
    response_model=CycleProgressOut,
    dependencies=[require(Permission.manage_appraisal_cycles)],
)
def cycle_progress_json(session: SessionDep, cycle: CycleDep) -> CycleProgressOut:
    """Live counters of a cycle: appraisals per stage, per unit and in total."""
    rows, total = service.cycle_progress(session, cycle)

    def out(row) -> StageCounts:
        return StageCounts(
            unit_id=row.unit_id, unit=row.unit, counts={str(k): v for k, v in row.counts.items()}
        )

    return CycleProgressOut(
        cycle_id=cycle.id,
        name=cycle.name,
        completed=cycle.completed_at is not None,
        total=out(total),
        units=[out(r) for r in rows],
    )


class DistributionOut(BaseModel):
    key: int | None
    label: str
    n: int
    counts: dict[int, int]
    mean: float | None
    top_share: float | None
    low_share: float | None
    flag: str


class CalibrationOut(BaseModel):
    cycle_id: int | None
    organisation: DistributionOut
    units: list[DistributionOut]
    supervisors: list[DistributionOut]


def _distribution_out(d: service.Distribution) -> DistributionOut:
    return DistributionOut(
        key=d.key,
        label=d.label,
        n=d.n,
        counts=d.counts,
        mean=d.mean,
        top_share=d.top_share,
        low_share=d.low_share,
        flag=d.flag,
    )


@api_router.get(
    "/calibration",
    response_model=CalibrationOut,
    dependencies=[require(Permission.calibrate_appraisals)],
)
def calibration_json(session: SessionDep, cycle_id: int | None = None) -> CalibrationOut:
    """Distribution of ratings per supervisor and unit against the organisation, with flags."""
    cycle = _cycle_or_404(session, cycle_id) if cycle_id is not None else None
    report = service.calibration(session, cycle=cycle)
    return CalibrationOut(
        cycle_id=cycle.id if cycle else None,
        organisation=_distribution_out(report.organisation),
        units=[_distribution_out(u) for u in report.units],
        supervisors=[_distribution_out(s) for s in report.supervisors],
    )


class AppraisalRecordOut(BaseModel):
    appraisal_id: int
    cycle: str
    period_start: date
    period_end: date
    final_rating: int
    supervisor_rating: int | None
    reviewed: bool
    weighted_score: float | None


class CompetencyRecordOut(BaseModel):
    code: str
    required: int
    current: int | None
    source: str


class PromotionEvidenceOut(BaseModel):
    employee_id: int
    latest_rating: int | None
    mean_rating: float | None
    appraisals: list[AppraisalRecordOut]
    competencies: list[CompetencyRecordOut]


@api_router.get(
    "/employees/{employee_id}/promotion-evidence",
    response_model=PromotionEvidenceOut,
    dependencies=[require(Permission.manage_vacancies)],
)
def promotion_evidence_json(session: SessionDep, employee_id: int):
    """A person's completed appraisals and competency ratings, as evidence for competitions."""
    try:
        evidence = service.promotion_evidence(session, employee_id=employee_id)
    except AppraisalError as err:
        return _api_error(err)
    return PromotionEvidenceOut(
        employee_id=evidence.employee_id,
        latest_rating=evidence.latest_rating,
        mean_rating=evidence.mean_rating,
        appraisals=[
            AppraisalRecordOut(
                appraisal_id=a.appraisal_id,
                cycle=a.cycle,
                period_start=a.period_start,
                period_end=a.period_end,
                final_rating=a.final_rating,
                supervisor_rating=a.supervisor_rating,
                reviewed=a.reviewed,
                weighted_score=a.weighted_score,
            )
            for a in evidence.appraisals
        ],
        competencies=[
            CompetencyRecordOut(
                code=c.code, required=c.required, current=c.current, source=c.source
            )
            for c in evidence.competencies
        ],
    )


class ObjectiveOut(BaseModel):
    id: int
    title: str
    measure: str
    weight: int
    serves: str
    team: bool


class AppraisalOut(BaseModel):
    id: int
    cycle_id: int
    employee_id: int
    stage: str
    objectives: list[ObjectiveOut]
    self_submitted: bool
    supervisor_submitted: bool
    supervisor_rating: int | None
    final_rating: int | None
    supervisor_signed: bool
    employee_signed: bool
    escalated: bool
    completed: bool


@api_router.get(
    "/{appraisal_id}",
    response_model=AppraisalOut,
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def appraisal_json(session: SessionDep, principal: CurrentPrincipal, appraisal_id: int):
    """One appraisal's state (for the people taking part in it, and HR)."""
    try:
        appraisal = service.get_appraisal(session, appraisal_id=appraisal_id, actor=principal)
    except AppraisalError as err:
        return _api_error(err)
    return AppraisalOut(
        id=appraisal.id,
        cycle_id=appraisal.cycle_id,
        employee_id=appraisal.employee_id,
        stage=appraisal.stage,
        objectives=[
            ObjectiveOut(
                id=o.id,
                title=o.title,
                measure=o.measure,
                weight=o.weight,
                serves=service.link_label(session, o),
                team=o.team_objective_id is not None,
            )
            for o in service.objectives_of(session, appraisal)
        ],
        self_submitted=appraisal.self_submitted_at is not None,
        supervisor_submitted=appraisal.supervisor_submitted_at is not None,
        supervisor_rating=appraisal.supervisor_rating
        if appraisal.supervisor_signed_at is not None
        else None,
        final_rating=appraisal.final_rating if appraisal.stage == Stage.completed else None,
        supervisor_signed=appraisal.supervisor_signed_at is not None,
        employee_signed=appraisal.employee_signed_at is not None,
        escalated=appraisal.escalated_at is not None,
        completed=appraisal.stage == Stage.completed,
    )


class ObjectiveRatingOut(BaseModel):
    objective_id: int
    rating: int
    comment: str


class AssessmentOut(BaseModel):
    side: str
    submitted: bool
    achievements: str
    to_improve: str
    ratings: list[ObjectiveRatingOut]


@api_router.get(
    "/{appraisal_id}/assessments/{side}",
    response_model=AssessmentOut,
    dependencies=[require(Permission.take_part_in_appraisals)],
)
def assessment_json(session: SessionDep, principal: CurrentPrincipal, appraisal_id: int, side: str):
    """One side's assessment; 403 until both sides are submitted (except for its author)."""
    try:
        appraisal = service.get_appraisal(session, appraisal_id=appraisal_id, actor=principal)
        view = service.read_assessment(session, appraisal=appraisal, side=side, actor=principal)
    except AppraisalError as err:
        return _api_error(err)
    row = view.assessment
    return AssessmentOut(
        side=side,
        submitted=row is not None and row.submitted_at is not None,
        achievements=row.achievements if row else "",
        to_improve=row.to_improve if row else "",
        ratings=[
            ObjectiveRatingOut(objective_id=r.objective_id, rating=r.rating, comment=r.comment)
            for r in view.ratings.values()
        ],
    )
