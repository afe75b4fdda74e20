"""One's own privacy: the notices, the data export, one's ARCO requests; the public notices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from backend.actions import run_action, show_form
from backend.auth.permissions import Permission
from backend.clock import today
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, public, require
from backend.files import content_disposition
from backend.i18n import _
from backend.privacy import service as privacy
from backend.privacy.models import NoticePurpose
from backend.privacy.schemas import ArcoInput
from backend.privacy.views import LABELS
from backend.web import kept_form, redirect, render

router = APIRouter()

OWN = [require(Permission.manage_own_account)]


def _privacy_page(request: Request, session, settings, principal) -> dict:
    return {
        **LABELS,
        "notices": privacy.current_notices(session),
        "requests": privacy.requests_of(session, principal.user),
        "today": today(settings),
        "days_left": privacy.working_days_left,
        "deadline_days": privacy.DEADLINE_WORKING_DAYS,
        "errors": {},
        "values": {"kind": "", "subject": "", "details": ""},
    }


@router.get("/account/privacy", dependencies=OWN)
def my_privacy(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    context = _privacy_page(request, session, settings, principal)
    context.update(kept_form(request, "/account/privacy"))
    return render(request, "privacy/mine.html", context)


@router.post("/account/privacy/export", dependencies=OWN)
def download_my_data(request: Request, session: SessionDep, principal: CurrentPrincipal):
    name, data = privacy.build_export(session, user=principal.user, actor=principal.user)
    session.commit()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.post("/account/privacy/requests", dependencies=OWN)
def file_arco_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    kind: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
):
    data = ArcoInput.parse(kind=kind, subject=subject, details=details)
    return run_action(
        request,
        session,
        lambda: privacy.file_request(session, settings, user=principal.user, data=data),
        message=_("Your request was filed. You will see the answer on this page."),
        to=lambda filed: f"/account/privacy/requests/{filed.id}",
        on_error=show_form(
            request,
            "privacy/mine.html",
            lambda: _privacy_page(request, session, settings, principal),
            values=data.__dict__,
        ),
    )


@router.get("/account/privacy/requests/{request_id}", dependencies=OWN)
def my_arco_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    request_id: int,
):
    found = privacy.own_request(session, principal.user, request_id)
    return render(
        request,
        "privacy/my_request.html",
        {**LABELS, "arco": found, "today": today(settings), "days_left": privacy.working_days_left},
    )


# --- public: the notices, every version readable -----------------------------------------------


@router.get("/privacy", dependencies=[public])
def notices_index(request: Request, session: SessionDep):
    return render(
        request,
        "privacy/notices.html",
        {**LABELS, "notices": privacy.current_notices(session), "purposes": list(NoticePurpose)},
    )


# The reporters' notice lives under the reporting channel's addresses, which set no cookie and
# look up no session (backend.deps.ANONYMOUS_PATH_PREFIXES): reading it leaves no trace.
REPORTERS_NOTICE = "/report/privacy"


@router.get(REPORTERS_NOTICE, dependencies=[public])
def reporters_notice(request: Request, session: SessionDep):
    versions = privacy.notice_versions(session, NoticePurpose.reporters)
    return _notice(request, NoticePurpose.reporters, versions[0] if versions else None, versions)


@router.get(REPORTERS_NOTICE + "/{version}", dependencies=[public])
def reporters_notice_version(request: Request, session: SessionDep, version: int):
    shown = privacy.notice_version(session, NoticePurpose.reporters, version)
    versions = privacy.notice_versions(session, NoticePurpose.reporters)
    return _notice(request, NoticePurpose.reporters, shown, versions)


@router.get("/privacy/notices/{purpose}", dependencies=[public])
def notice_page(request: Request, session: SessionDep, purpose: str):
    kind = privacy.purpose_of(purpose)
    if kind is NoticePurpose.reporters:
        return redirect(request, REPORTERS_NOTICE, status_code=303)
    versions = privacy.notice_versions(session, kind)
    shown = versions[0] if versions else None
    return _notice(request, kind, shown, versions)


@router.get("/privacy/notices/{purpose}/{version}", dependencies=[public])
def notice_version_page(request: Request, session: SessionDep, purpose: str, version: int):
    kind = privacy.purpose_of(purpose)
    if kind is NoticePurpose.reporters:
        return redirect(request, f"{REPORTERS_NOTICE}/{version}", status_code=303)
    shown = privacy.notice_version(session, kind, version)
    return _notice(request, kind, shown, privacy.notice_versions(session, kind))


def _notice(request: Request, purpose, shown, versions) -> Response:
    title, paragraphs = privacy.notice_text(shown) if shown else ("", [])
    return render(
        request,
        "privacy/notice.html",
        {
            **LABELS,
            "purpose": purpose,
            "notice": shown,
            "title": title,
            "paragraphs": paragraphs,
            "versions": versions,
        },
    )
