"""The qualifications employees hold: the list, (edit_org) adding one, and the day a
person's qualification stops being valid."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session

from backend.actions import back_to, run_action
from backend.db import SessionDep
from backend.deps import CurrentPrincipal
from backend.i18n import _
from backend.org import service
from backend.org.routes.lookups import EDIT, VIEW, EmployeeDep, save_form
from backend.org.schemas import QualificationForm
from backend.web import render

router = APIRouter(prefix="/org")


def _qualifications_context(session: Session) -> dict[str, Any]:
    today = service.organisation_today(session)
    return {
        "qualifications": service.list_qualifications(session),
        "expiring": service.expiring_qualifications(session, today=today),
        "today": today,
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


@router.post("/employees/{employee_id}/qualifications/{qualification_id}/expiry", dependencies=EDIT)
async def set_qualification_expiry(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    employee: EmployeeDep,
    qualification_id: int,
):
    typed = str((await request.form()).get("expires_on", "")).strip()[:20]
    page = f"/org/employees/{employee.id}"
    return run_action(
        request,
        session,
        lambda: service.set_qualification_expiry(
            session,
            employee_id=employee.id,
            qualification_id=qualification_id,
            expires_on=service.expiry_from_text(typed),
            actor=principal.user,
        ),
        message=_("Expiry date saved."),
        to=page,
        on_error=back_to(
            request, session, page, form=f"expiry-{qualification_id}", values={"expires_on": typed}
        ),
    )
