"""HR planning pages: role profiles, assessment campaigns, workforce planning."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel
from sqlmodel import Session, col, select

from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import SessionDep, today_utc
from backend.deps import CurrentPrincipal, form_id, form_ids, require
from backend.i18n import _, get_locale, localized
from backend.org import api as org_api
from backend.org.models import Position, Unit
from backend.web import flash, redirect, render
from competency_framework import campaigns as campaign_service
from competency_framework import service, workforce
from competency_framework.exports import ImportRejected, Table, local_time
from competency_framework.http import api_error, export_or_none, query_without, raise_http
from competency_framework.models import IMPORTANCE_LABELS, AssessmentCampaign, RoleProfile
from competency_framework.service import CompetencyError

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


# --- role profiles ----------------------------------------------------------------------------


def _profile_or_404(session: Session, profile_id: int) -> RoleProfile:
    profile = service.get_profile(session, profile_id)
    if profile is None:
        raise HTTPException(status_code=404, detail=_("This role profile does not exist."))
    return profile


def _profile_title(profile: RoleProfile) -> str:
    return localized(profile, "title") or profile.role_code or profile.key


def profiles_table(session: Session) -> Table:
    """Every active profile's current requirements, in the import format (round trip)."""
    codes = {c.id: c.code for c in service.list_competencies(session)}
    positions = {p.id: p.code for p in session.exec(select(Position))}
    rows = []
    for profile in service.list_profiles(session):
        name = (
            f"position:{positions.get(profile.position_id, profile.position_id)}"
            if profile.position_id
            else profile.role_code
        )
        for cid, requirement in sorted(service.requirements_of(session, profile).items()):
            rows.append(
                [name, codes.get(cid, ""), requirement.level, requirement.importance]
                + [_profile_title(profile), profile.current_version]
            )
    return Table(
        title=_("Role profiles"),
        columns=[*service.PROFILE_IMPORT_COLUMNS, "title", "version"],
        rows=rows,
    )


def _profiles_context(session: Session) -> dict[str, Any]:
    profiles = service.list_profiles(session)
    positions = {p.id: p for p in session.exec(select(Position))}
    return {
        "profiles": profiles,
        "positions": positions,
        "revision": service.revision(session),
        "problems": [],
        "error": "",
        "override_error": "",
    }


@router.get("/profiles", dependencies=[require(Permission.manage_role_profiles)])
def profiles(request: Request, session: SessionDep, format: str = ""):
    exported = export_or_none(lambda: profiles_table(session), format, "role-profiles")
    if exported is not None:
        return exported
    return render(request, "competency/profiles.html", _profiles_context(session))


@router.post("/profiles/overrides", dependencies=[require(Permission.manage_role_profiles)])
def create_override(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    position_code: Annotated[str, Form()] = "",
):
    position = session.exec(select(Position).where(Position.code == position_code.strip())).first()
    try:
        profile = service.create_position_override(
            session, position_id=position.id if position else None, actor=principal.user
        )
    except CompetencyError as err:
        session.rollback()
        context = _profiles_context(session)
        context["override_error"] = (
            _("No position has the code %(code)s.", code=position_code or "—")
            if err.status_code == 404
            else str(err)
        )
        context["position_code"] = position_code
        status = 422 if err.status_code == 404 else err.status_code
        return render(request, "competency/profiles.html", context, status_code=status)
    session.commit()
    flash(request, _("The position now has its own profile; adjust it below."))
    session.commit()
    return redirect(request, f"/competencies/profiles/{profile.id}")


@router.post("/profiles/import", dependencies=[require(Permission.manage_role_profiles)])
async def import_profiles(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
):
    content = await file.read() if file is not None else b""
    try:
        if not content:
            raise CompetencyError(_("Choose a file to import."), field="file")
        written = service.import_profiles(session, content=content, actor=principal.user)
    except (ImportRejected, CompetencyError) as err:
        session.rollback()
        context = _profiles_context(session)
        context["problems"] = getattr(err, "problems", [])
        context["error"] = str(err)
        return render(request, "competency/profiles.html", context, status_code=422)
    session.commit()
    flash(
        request, _("%(count)s profile(s) updated from the spreadsheet.") % {"count": len(written)}
    )
    session.commit()
    return redirect(request, "/competencies/profiles")


def _profile_context(session: Session, profile: RoleProfile, version: int | None = None) -> dict:
    shown = version or profile.current_version
    requirements = service.requirements_of(session, profile, shown)
    versions = service.profile_versions(session, profile)
    authors = {
        v.created_by_id: (session.get(User, v.created_by_id).full_name)
        for v in versions
        if v.created_by_id and session.get(User, v.created_by_id)
    }
    position = session.get(Position, profile.position_id) if profile.position_id else None
    return {
        "profile": profile,
        "title": _profile_title(profile),
        "position": position,
        "unit": session.get(Unit, position.unit_id) if position else None,
        "competencies": service.list_competencies(session),
        "requirements": requirements,
        "versions": versions,
        "authors": authors,
        "shown_version": shown,
        "importance_labels": IMPORTANCE_LABELS,
        "values": {},
        "errors": {},
        "reason": "",
        "export_query": "",
    }


def profile_tables(context: dict, zone: str) -> dict[str, Any]:
    """Return builders of a profile page's two tables: its versions, and the shown requirements."""
    title = context["title"]

    def versions() -> Table:
        return Table(
            title=title,
            columns=[_("Version"), _("When"), _("Who"), _("Source"), _("Reason")],
            rows=[
                [
                    v.version,
                    local_time(v.created_at, zone),
                    context["authors"].get(v.created_by_id, _("system")),
                    v.source,
                    v.reason,
                ]
                for v in context["versions"]
            ],
        )

    def requirements() -> Table:
        rows = []
        for c in context["competencies"]:
            requirement = context["requirements"].get(c.id)
            level = requirement.level if requirement else 0
            importance = requirement.importance if requirement else ""
            rows.append(
                [
                    localized(c, "name"),
                    level,
                    _(IMPORTANCE_LABELS[importance]) if importance else "",
                ]
            )
        return Table(
            title=title,
            columns=[
                _("Competency"),
                _("Required level (version %(v)s)", v=context["shown_version"]),
                _("Importance"),
            ],
            rows=rows,
        )

    return {"versions": versions, "requirements": requirements}


@router.get("/profiles/{profile_id}", dependencies=[require(Permission.manage_role_profiles)])
def profile_detail(
    request: Request,
    session: SessionDep,
    profile_id: int,
    version: int = 0,
    table: str = "versions",
    format: str = "",
):
    profile = _profile_or_404(session, profile_id)
    if version and version not in {v.version for v in service.profile_versions(session, profile)}:
        raise HTTPException(status_code=404, detail=_("This version does not exist."))
    context = _profile_context(session, profile, version or None)
    if format:
        tables = profile_tables(context, request.app.state.settings.time_zone)
        if table not in tables:
            raise HTTPException(status_code=404, detail=_("This table does not exist."))
        name = f"profile-{profile.key.replace(':', '-')}-{table}"
        return export_or_none(tables[table], format, name)
    context["export_query"] = query_without(request, "format", "table")
    return render(request, "competency/profile.html", context)


@router.post("/profiles/{profile_id}", dependencies=[require(Permission.manage_role_profiles)])
async def profile_save(
    request: Request, session: SessionDep, principal: CurrentPrincipal, profile_id: int
):
    profile = _profile_or_404(session, profile_id)
    form = await request.form()
    requirements = {
        c.code: (str(form.get(f"level_{c.code}", "")), str(form.get(f"importance_{c.code}", "")))
        for c in service.list_competencies(session)
    }
    reason = str(form.get("reason", ""))
    try:
        before = profile.current_version
        version = service.save_profile(
            session, profile=profile, requirements=requirements, reason=reason, actor=principal.user
        )
    except CompetencyError as err:
        session.rollback()
        if err.status_code != 422:
            raise_http(err)
        context = _profile_context(session, profile)
        context["values"] = {
            code: {"level": lv, "importance": im} for code, (lv, im) in requirements.items()
        }
        context["errors"] = err.errors
        context["reason"] = reason
        return render(request, "competency/profile.html", context, status_code=422, block="form")
    session.commit()
    if version.version == before:
        flash(request, _("Nothing changed."), "info")
    else:
        flash(request, _("Saved as version %(v)s.", v=version.version))
    session.commit()
    return redirect(request, f"/competencies/profiles/{profile.id}")


@router.post(
    "/profiles/{profile_id}/remove", dependencies=[require(Permission.manage_role_profiles)]
)
def profile_remove(
    request: Request, session: SessionDep, principal: CurrentPrincipal, profile_id: int
):
    profile = _profile_or_404(session, profile_id)
    try:
        service.remove_position_override(session, profile=profile, actor=principal.user)
    except CompetencyError as err:
        session.rollback()
        raise_http(err)
    session.commit()
    flash(request, _("The position follows its role's profile again."))
    session.commit()
    return redirect(request, "/competencies/profiles")


# --- campaigns --------------------------------------------------------------------------------


def _campaign_or_404(session: Session, campaign_id: int) -> AssessmentCampaign:
    campaign = session.get(AssessmentCampaign, campaign_id)
    if campaign is None:
        raise HTTPException(status_code=404, detail=_("This campaign does not exist."))
    return campaign


def _campaigns_context(session: Session) -> dict[str, Any]:
    return {
        "campaigns": campaign_service.list_campaigns(session),
        "units": session.exec(select(Unit).order_by(col(Unit.name))).all(),
        "roles": service.role_choices(session, get_locale()),
        "values": {"name": "", "deadline": "", "units": [], "roles": [], "subunits": True},
        "errors": {},
        "export_query": "",
    }


def campaigns_table(campaigns: list[AssessmentCampaign], zone: str) -> Table:
    """Return the list of campaigns as on its page (with when each closed)."""
    return Table(
        title=_("Assessment campaigns"),
        columns=[_("Name"), _("Deadline"), _("Opened"), _("Closed"), _("Status")],
        rows=[
            [
                c.name,
                c.deadline,
                local_time(c.opened_at, zone),
                local_time(c.closed_at, zone),
                _("Closed") if c.closed_at else _("Open"),
            ]
            for c in campaigns
        ],
    )


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
    form = await request.form()
    unit_ids = form_ids(form.getlist("units"), field="units")
    roles = [str(r) for r in form.getlist("roles") if r]
    values = {
        "name": str(form.get("name", "")),
        "deadline": str(form.get("deadline", "")),
        "units": unit_ids,
        "roles": roles,
        "subunits": form.get("subunits") == "1",
    }
    try:
        campaign = campaign_service.create_campaign(
            session,
            name=values["name"],
            deadline=values["deadline"],
            unit_ids=unit_ids,
            role_codes=roles,
            include_subunits=values["subunits"],
            actor=principal.user,
        )
    except CompetencyError as err:
        session.rollback()
        context = _campaigns_context(session)
        context["values"], context["errors"] = values, err.errors
        return render(request, "competency/campaigns.html", context, status_code=422, block="form")
    session.commit()
    flash(request, _("The campaign is open."))
    session.commit()
    return redirect(request, f"/competencies/campaigns/{campaign.id}")


def progress_table(campaign: AssessmentCampaign, rows, total) -> Table:
    return Table(
        title=campaign.name,
        columns=[
            _("Unit"),
            _("People"),
            _("Not started"),
            _("Self-assessment in progress"),
            _("Self-assessment done"),
            _("Awaiting validation"),
            _("Validated"),
        ],
        rows=[
            [
                r.unit,
                r.people,
                r.not_started,
                r.in_progress,
                r.self_done,
                r.awaiting_validation,
                r.validated,
            ]
            for r in [total, *rows]
        ],
    )


@router.get("/campaigns/{campaign_id}", dependencies=[require(Permission.manage_campaigns)])
def campaign_detail(request: Request, session: SessionDep, campaign_id: int, format: str = ""):
    campaign = _campaign_or_404(session, campaign_id)
    rows, total = campaign_service.progress(session, campaign)
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
            "reminders": campaign_service.reminders(session, campaign),
            "reminder_labels": campaign_service.REMINDER_LABELS,
            "export_query": query_without(request, "format"),
            "today": today_utc(),
        },
    )


@router.post("/campaigns/{campaign_id}/remind", dependencies=[require(Permission.manage_campaigns)])
def campaign_remind(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    campaign_id: int,
    unit_id: Annotated[str, Form()] = "",
):
    campaign = _campaign_or_404(session, campaign_id)
    try:
        people, supervisors = campaign_service.remind(
            session,
            campaign=campaign,
            actor=principal.user,
            unit_id=form_id(unit_id, field="unit_id"),
        )
    except CompetencyError as err:
        session.rollback()
        raise_http(err)
    session.commit()
    flash(
        request,
        _(
            "Reminders recorded: %(people)s people to finish their self-assessment, "
            "%(supervisors)s supervisors to validate.",
            people=people,
            supervisors=supervisors,
        ),
    )
    session.commit()
    return redirect(request, f"/competencies/campaigns/{campaign.id}")


@router.post("/campaigns/{campaign_id}/close", dependencies=[require(Permission.manage_campaigns)])
def campaign_close(
    request: Request, session: SessionDep, principal: CurrentPrincipal, campaign_id: int
):
    campaign = _campaign_or_404(session, campaign_id)
    try:
        campaign_service.close_campaign(session, campaign=campaign, actor=principal.user)
    except CompetencyError as err:
        session.rollback()
        raise_http(err)
    session.commit()
    flash(request, _("The campaign is closed."))
    session.commit()
    return redirect(request, f"/competencies/campaigns/{campaign.id}")


# --- workforce planning -----------------------------------------------------------------------


def workforce_table(plans: list[workforce.UnitPlan], years: list[int]) -> Table:
    return Table(
        title=_("Workforce planning"),
        columns=[
            _("Unit"),
            _("Region"),
            _("Planned posts"),
            _("People in post"),
            _("Open posts"),
            *[_("Leavers %(year)s", year=y) for y in years],
            _("Turnover, last 12 months (%)"),
            _("Eligible to retire"),
            _("Procurement staff"),
            _("With a procurement qualification (%)"),
            _("Competency coverage (%)"),
            _("Critical gaps"),
            _("Single points of failure"),
            _("Shortfall"),
        ],
        rows=[
            [
                p.name,
                p.region,
                p.planned,
                p.actual,
                p.open_posts,
                *[p.leavers_by_year.get(y, 0) for y in years],
                round(p.turnover * 100, 1) if p.turnover is not None else "",
                p.retiring,
                p.procurement_staff,
                round(p.qualified_share * 100, 1) if p.qualified_share is not None else "",
                round(p.coverage * 100, 1) if p.coverage is not None else "",
                p.critical_n,
                p.spof,
                _(workforce.SHORTFALL_LABELS[p.shortfall]),
            ]
            for p in plans
        ],
    )


def _plans(session: Session, region: str, unit_type: str, years: int):
    rules = workforce.WorkforceRules()
    horizon = max(1, min(years or rules.retirement_horizon_years, 20))
    today = today_utc()
    plans = workforce.unit_plans(
        session, today=today, rules=rules, horizon_years=horizon, region=region, unit_type=unit_type
    )
    history = list(range(today.year - 4, today.year + 1))
    return plans, history, rules, horizon


@router.get("/workforce", dependencies=[require(Permission.plan_workforce)])
def workforce_page(
    request: Request,
    session: SessionDep,
    region: str = "",
    unit_type: str = "",
    years: int = 0,
    shortfall: str = "",
    format: str = "",
):
    plans, history, rules, horizon = _plans(session, region, unit_type, years)
    if shortfall in workforce.SHORTFALL_LABELS:
        plans = [p for p in plans if p.shortfall == shortfall]
    exported = export_or_none(lambda: workforce_table(plans, history), format, "workforce")
    if exported is not None:
        return exported
    totals = {
        "planned": sum(p.planned for p in plans),
        "actual": sum(p.actual for p in plans),
        "open_posts": sum(p.open_posts for p in plans),
        "retiring": sum(p.retiring for p in plans),
        "procurement_staff": sum(p.procurement_staff for p in plans),
        "procurement_qualified": sum(p.procurement_qualified for p in plans),
    }
    return render(
        request,
        "competency/workforce.html",
        {
            "plans": plans,
            "history": history,
            "rules": rules,
            "horizon": horizon,
            "totals": totals,
            "regions": service.regions(session),
            "filters": {"region": region, "unit_type": unit_type, "shortfall": shortfall},
            "shortfall_labels": workforce.SHORTFALL_LABELS,
            "export_query": query_without(request, "format"),
        },
        block="results",
    )


def _unit_plan(session: Session, unit_id: int, years: int):
    """Return (unit, its plan, history years, rules, horizon), or 404."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(status_code=404, detail=_("This unit does not exist."))
    plans, history, rules, horizon = _plans(session, unit.region, "", years)
    plan = next((p for p in plans if p.unit_id == unit.id), None)
    if plan is None:
        raise HTTPException(status_code=404, detail=_("This unit has no posts or people."))
    return unit, plan, history, rules, horizon


@router.get("/workforce/units/{unit_id}", dependencies=[require(Permission.plan_workforce)])
def workforce_unit(
    request: Request, session: SessionDep, unit_id: int, years: int = 0, format: str = ""
):
    unit, plan, history, rules, horizon = _unit_plan(session, unit_id, years)
    table = Table(
        title=unit.name,
        columns=[
            _("Position code"),
            _("Position"),
            _("Planned posts"),
            _("People in post"),
            _("Open posts"),
        ],
        rows=[[p.code, p.title, p.planned, p.actual, p.open_posts] for p in plan.positions],
    )
    exported = export_or_none(lambda: table, format, f"workforce-{unit.code}")
    if exported is not None:
        return exported
    return render(
        request,
        "competency/workforce_unit.html",
        {
            "unit": unit,
            "plan": plan,
            "history": history,
            "rules": rules,
            "horizon": horizon,
            "shortfall_labels": workforce.SHORTFALL_LABELS,
            "export_query": query_without(request, "format"),
        },
    )


# --- JSON -----------------------------------------------------------------------------------


class RequirementOut(BaseModel):
    competency: str
    level: int
    importance: str


class ProfileOut(BaseModel):
    id: int
    key: str
    role_code: str
    position_id: int | None
    title: str
    version: int
    requirements: list[RequirementOut]


def _profile_out(session: Session, profile: RoleProfile, version: int | None = None) -> ProfileOut:
    codes = {c.id: c.code for c in service.list_competencies(session)}
    return ProfileOut(
        id=profile.id,
        key=profile.key,
        role_code=profile.role_code,
        position_id=profile.position_id,
        title=_profile_title(profile),
        version=version or profile.current_version,
        requirements=[
            RequirementOut(competency=codes.get(cid, ""), level=r.level, importance=r.importance)
            for cid, r in sorted(service.requirements_of(session, profile, version).items())
        ],
    )


@api_router.get(
    "/profiles",
    response_model=list[ProfileOut],
    dependencies=[require(Permission.manage_role_profiles)],
)
def profiles_json(session: SessionDep):
    """Every active role profile with its current requirements."""
    return [_profile_out(session, p) for p in service.list_profiles(session)]


@api_router.get(
    "/profiles/{profile_id}",
    response_model=ProfileOut,
    dependencies=[require(Permission.manage_role_profiles)],
)
def profile_json(session: SessionDep, profile_id: int, version: int = 0):
    """One role profile (the current version, or `version`)."""
    profile = _profile_or_404(session, profile_id)
    if version and version not in {v.version for v in service.profile_versions(session, profile)}:
        raise HTTPException(status_code=404, detail=_("This version does not exist."))
    return _profile_out(session, profile, version or None)


class RequirementIn(BaseModel):
    level: int | str
    importance: str


class ProfileIn(BaseModel):
    requirements: dict[str, RequirementIn]
    reason: str = ""


@api_router.put(
    "/profiles/{profile_id}",
    response_model=ProfileOut,
    dependencies=[require(Permission.manage_role_profiles)],
)
def profile_update_json(
    body: ProfileIn, session: SessionDep, principal: CurrentPrincipal, profile_id: int
):
    """Change requirements (a new version; competencies left out keep theirs)."""
    profile = _profile_or_404(session, profile_id)
    try:
        service.save_profile(
            session,
            profile=profile,
            requirements={k: (v.level, v.importance) for k, v in body.requirements.items()},
            reason=body.reason,
            actor=principal.user,
        )
    except CompetencyError as err:
        session.rollback()
        return api_error(err)
    session.commit()
    return _profile_out(session, profile)


class OverrideIn(BaseModel):
    position_id: int
    reason: str = ""


@api_router.post(
    "/profiles/overrides",
    response_model=ProfileOut,
    status_code=201,
    dependencies=[require(Permission.manage_role_profiles)],
)
def override_json(body: OverrideIn, session: SessionDep, principal: CurrentPrincipal):
    """Give a position its own profile, starting from its role's."""
    try:
        profile = service.create_position_override(
            session, position_id=body.position_id, actor=principal.user, reason=body.reason
        )
    except CompetencyError as err:
        session.rollback()
        return api_error(err)
    session.commit()
    return _profile_out(session, profile)


class UnitProgressOut(BaseModel):
    unit_id: int | None
    unit: str
    people: int
    not_started: int
    in_progress: int
    self_done: int
    awaiting_validation: int
    validated: int


class CampaignOut(BaseModel):
    id: int
    name: str
    deadline: date
    opened_at: str
    closed_at: str | None
    scope: dict
    total: UnitProgressOut | None = None
    units: list[UnitProgressOut] | None = None


def _progress_out(p: campaign_service.UnitProgress) -> UnitProgressOut:
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
    return [_campaign_out(c) for c in campaign_service.list_campaigns(session)]


@api_router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    dependencies=[require(Permission.manage_campaigns)],
)
def campaign_json(session: SessionDep, campaign_id: int):
    """One campaign with live counters per unit."""
    campaign = _campaign_or_404(session, campaign_id)
    rows, total = campaign_service.progress(session, campaign)
    out = _campaign_out(campaign)
    out.total = _progress_out(total)
    out.units = [_progress_out(r) for r in rows]
    return out


class UnitPlanOut(BaseModel):
    unit_id: int
    code: str
    name: str
    region: str
    central: bool
    planned: int
    actual: int
    open_posts: int
    leavers_by_year: dict[int, int]
    turnover_12m: float | None
    eligible_to_retire: int
    procurement_staff: int
    procurement_qualified_share: float | None
    competency_coverage: float | None
    critical_gaps: int
    single_points_of_failure: int
    shortfall: str


class WorkforceOut(BaseModel):
    retirement_rule: dict[str, int]
    horizon_years: int
    units: list[UnitPlanOut]


class PositionPlanOut(BaseModel):
    position_id: int
    code: str
    title: str
    role_code: str
    planned: int
    actual: int
    open_posts: int


class UnitWorkforceOut(UnitPlanOut):
    """One unit's plan with the breakdown by position (the unit's workforce page)."""

    retirement_rule: dict[str, int]
    horizon_years: int
    positions: list[PositionPlanOut]


def _retirement_rule(rules: workforce.WorkforceRules) -> dict[str, int]:
    return {
        "age": rules.retirement_age,
        "early_age": rules.retirement_early_age,
        "early_service_years": rules.retirement_early_service_years,
    }


def _unit_plan_fields(p: workforce.UnitPlan) -> dict:
    return {
        "unit_id": p.unit_id,
        "code": p.code,
        "name": p.name,
        "region": p.region,
        "central": p.is_central,
        "planned": p.planned,
        "actual": p.actual,
        "open_posts": p.open_posts,
        "leavers_by_year": p.leavers_by_year,
        "turnover_12m": p.turnover,
        "eligible_to_retire": p.retiring,
        "procurement_staff": p.procurement_staff,
        "procurement_qualified_share": p.qualified_share,
        "competency_coverage": p.coverage,
        "critical_gaps": p.critical_n,
        "single_points_of_failure": p.spof,
        "shortfall": p.shortfall,
    }


@api_router.get(
    "/workforce", response_model=WorkforceOut, dependencies=[require(Permission.plan_workforce)]
)
def workforce_json(session: SessionDep, region: str = "", unit_type: str = "", years: int = 0):
    """Per unit: posts vs people, turnover, retirements, qualifications and competency gaps."""
    plans, _history, rules, horizon = _plans(session, region, unit_type, years)
    return WorkforceOut(
        retirement_rule=_retirement_rule(rules),
        horizon_years=horizon,
        units=[UnitPlanOut(**_unit_plan_fields(p)) for p in plans],
    )


@api_router.get(
    "/workforce/units/{unit_id}",
    response_model=UnitWorkforceOut,
    dependencies=[require(Permission.plan_workforce)],
    # The errors every API answer shares (backend/org/api.py defines their shape).
    responses=org_api.ERRORS | org_api.NOT_FOUND,
)
def workforce_unit_json(session: SessionDep, unit_id: int, years: int = 0):
    """One unit: planned against actual headcount by position, and the unit's figures.

    `years` is the retirement horizon (default MERITO_RETIREMENT_HORIZON_YEARS). 404 for an
    unknown unit or one with neither posts nor people.
    """
    _unit, plan, _history, rules, horizon = _unit_plan(session, unit_id, years)
    return UnitWorkforceOut(
        **_unit_plan_fields(plan),
        retirement_rule=_retirement_rule(rules),
        horizon_years=horizon,
        positions=[
            PositionPlanOut(
                position_id=p.position_id,
                code=p.code,
                title=p.title,
                role_code=p.role_code,
                planned=p.planned,
                actual=p.actual,
                open_posts=p.open_posts,
            )
            for p in plan.positions
        ],
    )
