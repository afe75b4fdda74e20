"""HR: assessment campaigns (who must rate themselves by when, and how far they are) and
rating imports from a spreadsheet."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from backend import clock
from backend.actions import run_action, show_form
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, form_id, require
from backend.errors import DomainError
from backend.i18n import _, get_locale
from backend.pages import export_or_none, query_without
from backend.tables import ImportRejected, template_xlsx
from backend.web import render
from competency_framework import service
from competency_framework.models import AssessmentCampaign
from competency_framework.routes.tables import campaigns_table, progress_table
from competency_framework.schemas import CampaignForm, CampaignOut, UnitProgressOut

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


# --- rating imports -----------------------------------------------------------------------------


@router.get("/ratings/import", dependencies=[require(Permission.manage_campaigns)])
def rating_import_form(request: Request, template: int = 0):
    if template:
        return Response(
            template_xlsx(
                [*service.RATING_IMPORT_COLUMNS, *service.RATING_IMPORT_OPTIONAL], "ratings"
            ),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="ratings-template.xlsx"'},
        )
    return render(request, "competency/rating_import.html", {"problems": [], "error": ""})


def _import_ratings(session: Session, content: bytes, actor) -> int:
    if not content:
        raise service.CompetencyError(_("Choose a file to import."), field="file")
    return service.import_ratings(session, content=content, actor=actor)


def _rating_import_refused(request: Request):
    def on_error(err: DomainError) -> Response:
        return render(
            request,
            "competency/rating_import.html",
            {
                "problems": err.problems if isinstance(err, ImportRejected) else [],
                "error": str(err),
            },
            status_code=422,
            block="form",
        )

    return on_error


@router.post("/ratings/import", dependencies=[require(Permission.manage_campaigns)])
async def rating_import(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
):
    content = await file.read() if file is not None else b""
    return run_action(
        request,
        session,
        lambda: _import_ratings(session, content, principal),
        message=lambda count: _("%(count)s rating(s) imported.") % {"count": count},
        to="/competencies/ratings/import",
        on_error=_rating_import_refused(request),
    )


@api_router.post(
    "/ratings/import", status_code=201, dependencies=[require(Permission.manage_campaigns)]
)
async def rating_import_json(
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
):
    """Import validated ratings from an XLSX sheet, all or nothing."""
    count = service.import_ratings(session, content=await file.read(), actor=principal)
    session.commit()
    return {"imported": count}


# --- campaigns --------------------------------------------------------------------------------


def _campaigns_context(session: Session) -> dict[str, Any]:
    return {
        "campaigns": service.list_campaigns(session),
        "units": service.units_by_name(session),
        "roles": service.role_choices(session, get_locale()),
        "values": {"name": "", "deadline": "", "units": [], "roles": [], "subunits": True},
        "errors": {},
        "export_query": "",
    }


@router.get("/campaigns", dependencies=[require(Permission.manage_campaigns)])
def campaigns(request: Request, session: SessionDep, format: str = ""):
    context = _campaigns_context(session)
    zone = request.app.state.settings.time_zone
    exported = export_or_none(
        lambda: campaigns_table(context["campaigns"], zone), format, "campaigns"
    )
    if exported is not None:
        return exported
    context["export_query"] = query_without(request, "format")
    return render(request, "competency/campaigns.html", context)


@router.post("/campaigns", dependencies=[require(Permission.manage_campaigns)])
async def create_campaign(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = CampaignForm.from_form(await request.form())
    return run_action(
        request,
        session,
        lambda: service.create_campaign(
            session,
            name=form.name,
            deadline=form.deadline,
            unit_ids=form.units,
            role_codes=form.roles,
            include_subunits=form.subunits,
            actor=principal.user,
        ),
        message=_("The campaign is open."),
        to=lambda campaign: f"/competencies/campaigns/{campaign.id}",
        on_error=show_form(
            request,
            "competency/campaigns.html",
            lambda: _campaigns_context(session),
            values=form.form_values(),
            block="form",
        ),
    )


@router.get("/campaigns/{campaign_id}", dependencies=[require(Permission.manage_campaigns)])
def campaign_detail(request: Request, session: SessionDep, campaign_id: int, format: str = ""):
    campaign = service.campaign_or_404(session, campaign_id)
    rows, total = service.progress(session, campaign)
    exported = export_or_none(
        lambda: progress_table(campaign, rows, total), format, f"campaign-{campaign.id}"
    )
    if exported is not None:
        return exported
    return render(
        request,
        "competency/campaign.html",
        {
            "campaign": campaign,
            "rows": rows,
            "total": total,
            "reminders": service.reminders(session, campaign),
            "reminder_labels": service.REMINDER_LABELS,
            "export_query": query_without(request, "format"),
            "today": clock.today(request.app.state.settings),
        },
    )


def _reminded(counts: tuple[int, int]) -> str:
    people, supervisors = counts
    return _(
        "Reminders recorded: %(people)s people to finish their self-assessment, "
        "%(supervisors)s supervisors to validate.",
        people=people,
        supervisors=supervisors,
    )


@router.post("/campaigns/{campaign_id}/remind", dependencies=[require(Permission.manage_campaigns)])
def campaign_remind(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    campaign_id: int,
    unit_id: Annotated[str, Form()] = "",
):
    campaign = service.campaign_or_404(session, campaign_id)
    unit = form_id(unit_id, field="unit_id")
    return run_action(
        request,
        session,
        lambda: service.remind(session, campaign=campaign, actor=principal.user, unit_id=unit),
        message=_reminded,
        to=f"/competencies/campaigns/{campaign.id}",
    )


@router.post("/campaigns/{campaign_id}/close", dependencies=[require(Permission.manage_campaigns)])
def campaign_close(
    request: Request, session: SessionDep, principal: CurrentPrincipal, campaign_id: int
):
    campaign = service.campaign_or_404(session, campaign_id)
    return run_action(
        request,
        session,
        lambda: service.close_campaign(session, campaign=campaign, actor=principal.user),
        message=_("The campaign is closed."),
        to=f"/competencies/campaigns/{campaign.id}",
    )


# --- JSON -----------------------------------------------------------------------------------


def _progress_out(p: service.UnitProgress) -> UnitProgressOut:
    return UnitProgressOut(
        unit_id=p.unit_id,
        unit=p.unit,
        people=p.people,
        not_started=p.not_started,
        in_progress=p.in_progress,
        self_done=p.self_done,
        awaiting_validation=p.awaiting_validation,
        validated=p.validated,
    )


def _campaign_out(c: AssessmentCampaign) -> CampaignOut:
    return CampaignOut(
        id=c.id,
        name=c.name,
        deadline=c.deadline,
        opened_at=c.opened_at.isoformat(),
        closed_at=c.closed_at.isoformat() if c.closed_at else None,
        scope=c.scope,
    )


@api_router.get(
    "/campaigns",
    response_model=list[CampaignOut],
    dependencies=[require(Permission.manage_campaigns)],
)
def campaigns_json(session: SessionDep):
    """Assessment campaigns, open first."""
    return [_campaign_out(c) for c in service.list_campaigns(session)]


@api_router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    dependencies=[require(Permission.manage_campaigns)],
)
def campaign_json(session: SessionDep, campaign_id: int):
    """One campaign with live counters per unit."""
    campaign = service.campaign_or_404(session, campaign_id)
    rows, total = service.progress(session, campaign)
    out = _campaign_out(campaign)
    out.total = _progress_out(total)
    out.units = [_progress_out(r) for r in rows]
    return out
