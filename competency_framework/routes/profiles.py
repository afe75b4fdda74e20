"""HR planners: role profiles — each role's (or position's) required levels, versioned."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from backend.actions import run_action, show_form
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.errors import DomainError
from backend.i18n import _
from backend.org.models import Unit
from backend.pages import export_or_none, query_without
from backend.tables import ImportRejected
from backend.web import render
from competency_framework import service
from competency_framework.models import IMPORTANCE_LABELS, RoleProfile
from competency_framework.routes.tables import (
    export_table,
    profile_tables,
    profile_title,
    profiles_table,
)
from competency_framework.schemas import (
    OverrideIn,
    ProfileForm,
    ProfileIn,
    ProfileOut,
    RequirementOut,
)

router = APIRouter(prefix="/competencies")
api_router = APIRouter(prefix="/competencies", tags=["competencies"])


def _profiles_context(session: Session) -> dict[str, Any]:
    return {
        "profiles": service.list_profiles(session),
        "positions": service.positions_by_id(session),
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


def _override(session: Session, position_code: str, actor) -> RoleProfile:
    position = service.position_by_code(session, position_code)
    if position is None:
        raise service.CompetencyError(
            _("No position has the code %(code)s.", code=position_code or "—"),
            field="position_code",
        )
    return service.create_position_override(session, position_id=position.id, actor=actor.user)


def _override_refused(request: Request, session: Session, position_code: str):
    def on_error(err: DomainError) -> Response:
        context = _profiles_context(session) | {"position_code": position_code}
        context["override_error"] = str(err)
        return render(request, "competency/profiles.html", context, status_code=422)

    return on_error


@router.post("/profiles/overrides", dependencies=[require(Permission.manage_role_profiles)])
def create_override(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    position_code: Annotated[str, Form()] = "",
):
    return run_action(
        request,
        session,
        lambda: _override(session, position_code, principal),
        message=_("The position now has its own profile; adjust it below."),
        to=lambda profile: f"/competencies/profiles/{profile.id}",
        on_error=_override_refused(request, session, position_code),
        refusals="all",  # a position that already has its own profile: the form says so
    )


def _import_refused(request: Request, session: Session):
    def on_error(err: DomainError) -> Response:
        context = _profiles_context(session)
        context["problems"] = err.problems if isinstance(err, ImportRejected) else []
        context["error"] = str(err)
        return render(request, "competency/profiles.html", context, status_code=422)

    return on_error


def _import_profiles(session: Session, content: bytes, actor) -> list:
    if not content:
        raise service.CompetencyError(_("Choose a file to import."), field="file")
    return service.import_profiles(session, content=content, actor=actor.user)


@router.post("/profiles/import", dependencies=[require(Permission.manage_role_profiles)])
async def import_profiles(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
):
    content = await file.read() if file is not None else b""
    return run_action(
        request,
        session,
        lambda: _import_profiles(session, content, principal),
        message=lambda written: (
            _("%(count)s profile(s) updated from the spreadsheet.") % {"count": len(written)}
        ),
        to="/competencies/profiles",
        on_error=_import_refused(request, session),
    )


def _profile_context(session: Session, profile: RoleProfile, version: int | None = None) -> dict:
    shown = version or profile.current_version
    versions = service.profile_versions(session, profile)
    position = service.positions_by_id(session).get(profile.position_id)
    return {
        "profile": profile,
        "title": profile_title(profile),
        "position": position,
        "unit": session.get(Unit, position.unit_id) if position else None,
        "competencies": service.list_competencies(session),
        "requirements": service.requirements_of(session, profile, shown),
        "versions": versions,
        "authors": service.user_names(session, (v.created_by_id for v in versions)),
        "shown_version": shown,
        "importance_labels": IMPORTANCE_LABELS,
        "values": {},
        "errors": {},
        "reason": "",
        "export_query": "",
    }


def _shown_version(session: Session, profile: RoleProfile, version: int) -> int | None:
    """The version asked for (None: the current one), or 404 when the profile never had it."""
    if version and version not in {v.version for v in service.profile_versions(session, profile)}:
        raise HTTPException(status_code=404, detail=_("This version does not exist."))
    return version or None


@router.get("/profiles/{profile_id}", dependencies=[require(Permission.manage_role_profiles)])
def profile_detail(
    request: Request,
    session: SessionDep,
    profile_id: int,
    version: int = 0,
    table: str = "versions",
    format: str = "",
):
    profile = service.profile_or_404(session, profile_id)
    context = _profile_context(session, profile, _shown_version(session, profile, version))
    if format:
        tables = profile_tables(context, request.app.state.settings.time_zone)
        name = f"profile-{profile.key.replace(':', '-')}-{table}"
        return export_table(tables, table, format, name)
    context["export_query"] = query_without(request, "format", "table")
    return render(request, "competency/profile.html", context)


def _saved(before: int):
    def message(version) -> str:
        if version.version == before:
            return _("Nothing changed.")
        return _("Saved as version %(v)s.", v=version.version)

    return message


def _saved_level(before: int):
    return lambda version: "info" if version.version == before else "success"


@router.post("/profiles/{profile_id}", dependencies=[require(Permission.manage_role_profiles)])
async def profile_save(
    request: Request, session: SessionDep, principal: CurrentPrincipal, profile_id: int
):
    profile = service.profile_or_404(session, profile_id)
    codes = [c.code for c in service.list_competencies(session)]
    edited = ProfileForm.from_form(await request.form(), codes)
    return run_action(
        request,
        session,
        lambda: service.save_profile(
            session,
            profile=profile,
            requirements=edited.requirements,
            reason=edited.reason,
            actor=principal.user,
        ),
        message=_saved(profile.current_version),
        level=_saved_level(profile.current_version),
        to=f"/competencies/profiles/{profile.id}",
        on_error=show_form(
            request,
            "competency/profile.html",
            lambda: _profile_context(session, profile) | {"reason": edited.reason},
            values=edited.form_values(),
            block="form",
        ),
    )


@router.post(
    "/profiles/{profile_id}/remove", dependencies=[require(Permission.manage_role_profiles)]
)
def profile_remove(
    request: Request, session: SessionDep, principal: CurrentPrincipal, profile_id: int
):
    profile = service.profile_or_404(session, profile_id)
    return run_action(
        request,
        session,
        lambda: service.remove_position_override(session, profile=profile, actor=principal.user),
        message=_("The position follows its role's profile again."),
        to="/competencies/profiles",
    )


# --- JSON -----------------------------------------------------------------------------------


def _profile_out(session: Session, profile: RoleProfile, version: int | None = None) -> ProfileOut:
    codes = {c.id: c.code for c in service.list_competencies(session)}
    return ProfileOut(
        id=profile.id,
        key=profile.key,
        role_code=profile.role_code,
        position_id=profile.position_id,
        title=profile_title(profile),
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
    profile = service.profile_or_404(session, profile_id)
    return _profile_out(session, profile, _shown_version(session, profile, version))


@api_router.put(
    "/profiles/{profile_id}",
    response_model=ProfileOut,
    dependencies=[require(Permission.manage_role_profiles)],
)
def profile_update_json(
    body: ProfileIn, session: SessionDep, principal: CurrentPrincipal, profile_id: int
):
    """Change requirements (a new version; competencies left out keep theirs)."""
    profile = service.profile_or_404(session, profile_id)
    service.save_profile(
        session,
        profile=profile,
        requirements={k: (v.level, v.importance) for k, v in body.requirements.items()},
        reason=body.reason,
        actor=principal.user,
    )
    session.commit()
    return _profile_out(session, profile)


@api_router.post(
    "/profiles/overrides",
    response_model=ProfileOut,
    status_code=201,
    dependencies=[require(Permission.manage_role_profiles)],
)
def override_json(body: OverrideIn, session: SessionDep, principal: CurrentPrincipal):
    """Give a position its own profile, starting from its role's."""
    profile = service.create_position_override(
        session, position_id=body.position_id, actor=principal.user, reason=body.reason
    )
    session.commit()
    return _profile_out(session, profile)
