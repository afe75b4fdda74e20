"""The competent authorities the channel page lists (administrators): outside reporting
information, per installation, in both languages. Nothing here touches a report.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, require
from backend.i18n import _
from backend.web import render
from whistleblowing import service as reporting
from whistleblowing.models import ExternalAuthority
from whistleblowing.schemas import AuthorityForm

router = APIRouter(prefix="/cases/authorities")
MANAGE = [require(Permission.manage_report_channels)]


def _authority_or_404(session: Session, authority_id: int) -> ExternalAuthority:
    authority = session.get(ExternalAuthority, authority_id)
    if authority is None:
        raise HTTPException(status_code=404, detail=_("This authority does not exist."))
    return authority


def _values(authority: ExternalAuthority | None) -> dict:
    if authority is None:
        return {
            **dict.fromkeys(reporting.EXTERNAL_AUTHORITY_TEXTS, ""),
            "is_active": True,
            "order": 100,
        }
    return {
        **{key: getattr(authority, key) for key in reporting.EXTERNAL_AUTHORITY_TEXTS},
        "is_active": authority.is_active,
        "order": authority.order,
    }


def _form(request: Request, authority, values: dict, errors: dict, status_code: int = 200):
    context = {"authority": authority, "values": values, "errors": errors}
    return render(request, "cases/authority_form.html", context, status_code=status_code)


@router.get("", dependencies=MANAGE)
def authorities(request: Request, session: SessionDep):
    listed = reporting.all_external_authorities(session)
    return render(request, "cases/authorities.html", {"authorities": listed})


@router.get("/new", dependencies=MANAGE)
def new_authority(request: Request):
    return _form(request, None, _values(None), {})


@router.get("/{authority_id}", dependencies=MANAGE)
def edit_authority(request: Request, session: SessionDep, authority_id: int):
    authority = _authority_or_404(session, authority_id)
    return _form(request, authority, _values(authority), {})


async def _save(request: Request, session: Session, principal, authority) -> Response:
    typed = AuthorityForm.from_form(await request.form())

    def refused(err: reporting.ReportingError) -> Response:
        return _form(request, authority, typed.values(), err.form_errors(), status_code=422)

    return run_action(
        request,
        session,
        lambda: reporting.save_external_authority(
            session, actor=principal.user, authority=authority, values=typed.authority()
        ),
        message=_("The authority was saved."),
        to="/cases/authorities",
        on_error=refused,
    )


@router.post("/new", dependencies=MANAGE)
async def create_authority(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return await _save(request, session, principal, None)


@router.post("/{authority_id}", dependencies=MANAGE)
async def update_authority(
    request: Request, session: SessionDep, principal: CurrentPrincipal, authority_id: int
):
    return await _save(request, session, principal, _authority_or_404(session, authority_id))


@router.post("/{authority_id}/delete", dependencies=MANAGE)
def remove_authority(
    request: Request, session: SessionDep, principal: CurrentPrincipal, authority_id: int
):
    authority = _authority_or_404(session, authority_id)
    return run_action(
        request,
        session,
        lambda: reporting.delete_external_authority(
            session, actor=principal.user, authority=authority
        ),
        message=_("The authority was removed from the channel page."),
        to="/cases/authorities",
    )
