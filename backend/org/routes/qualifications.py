"""The qualifications employees hold: the list, and (edit_org) adding one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session

from backend.db import SessionDep
from backend.deps import CurrentPrincipal
from backend.i18n import _
from backend.org import service
from backend.org.routes.lookups import EDIT, VIEW, save_form
from backend.org.schemas import QualificationForm
from backend.web import render

router = APIRouter(prefix="/org")


def _qualifications_context(session: Session) -> dict[str, Any]:
    return {
        "qualifications": service.list_qualifications(session),
        "values": QualificationForm().model_dump(),
        "errors": {},
    }


@router.get("/qualifications", dependencies=VIEW)
def list_qualifications(request: Request, session: SessionDep):
    return render(request, "org/qualifications.html", _qualifications_context(session))


@router.post("/qualifications", dependencies=EDIT)
async def create_qualification(request: Request, session: SessionDep, principal: CurrentPrincipal):
    form = QualificationForm.parse(await request.form())
    return save_form(
        request,
        session,
        lambda: service.add_qualification(session, form, actor=principal.user),
        values=form.model_dump(),
        template="org/qualifications.html",
        context=lambda: _qualifications_context(session),
        message=lambda qualification: _("Qualification %(code)s created.", code=qualification.code),
        to="/org/qualifications",
    )
