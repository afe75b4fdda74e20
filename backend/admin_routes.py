"""Administration: accounts and roles, and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from sqlmodel import Session

from backend import audit
from backend.actions import run_action, show_form
from backend.auth import administration
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import ASSIGNABLE_ROLES, Permission, Role
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, require
from backend.i18n import N_, _
from backend.org.models import Employee
from backend.web import NavItem, flash, paginate, redirect, register_nav, render

router = APIRouter(prefix="/admin")

register_nav(NavItem(N_("Accounts"), "/admin/users", Permission.manage_users, order=80))
register_nav(NavItem(N_("Audit log"), "/admin/audit", Permission.view_audit, order=90))


def _user_or_404(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail=_("This account does not exist."))
    return user


@router.get("/users", dependencies=[require(Permission.manage_users)])
def list_users(request: Request, session: SessionDep, q: str = "", role: str = "", page: int = 1):
    statement = administration.accounts(q=q, role=role)
    result = paginate(session, statement, page=page, per_page=50)
    roles = administration.granted_roles(session, [u.id for u in result.items])
    return render(
        request,
        "admin/users.html",
        {"page": result, "roles": roles, "q": q, "role": role, "assignable": ASSIGNABLE_ROLES},
        block="results",
    )


def _new_user_context(values: dict | None = None, errors: dict | None = None) -> dict:
    return {
        "values": values or {"email": "", "full_name": "", "employee_number": "", "roles": []},
        "errors": errors or {},
        "assignable": ASSIGNABLE_ROLES,
    }


@router.get("/users/new", dependencies=[require(Permission.manage_users)])
def new_user_form(request: Request):
    return render(request, "admin/user_new.html", _new_user_context())


@router.post("/users/new", dependencies=[require(Permission.manage_users)])
async def create_user(
    request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal
):
    form = await request.form()
    values = {
        "email": str(form.get("email", "")).strip(),
        "full_name": str(form.get("full_name", "")).strip(),
        "employee_number": str(form.get("employee_number", "")).strip(),
        "roles": [r for r in form.getlist("roles") if r in Role.__members__],
    }
    return run_action(
        request,
        session,
        lambda: administration.create_account(
            session,
            settings,
            **values | {"roles": [Role(r) for r in values["roles"]]},
            password=str(form.get("password", "")),
            actor=principal.user,
        ),
        message=lambda user: _("Account created for %(name)s.", name=user.full_name),
        to=lambda user: f"/admin/users/{user.id}",
        on_error=show_form(
            request, "admin/user_new.html", _new_user_context(), values=values, block="form"
        ),
    )


@router.get("/users/{user_id}", dependencies=[require(Permission.manage_users)])
def user_detail(request: Request, session: SessionDep, user_id: int):
    user = _user_or_404(session, user_id)
    roles = auth_service.roles_of(session, user)
    employee = session.get(Employee, user.employee_id) if user.employee_id else None
    history = administration.account_history(session, user)
    return render(
        request,
        "admin/user_detail.html",
        {
            "subject": user,
            "roles": roles,
            "employee": employee,
            "history": history,
            "assignable": ASSIGNABLE_ROLES,
        },
    )


@router.post("/users/{user_id}/roles", dependencies=[require(Permission.manage_users)])
async def update_roles(
    request: Request, session: SessionDep, principal: CurrentPrincipal, user_id: int
):
    user = _user_or_404(session, user_id)
    form = await request.form()
    wanted = {Role(r) for r in form.getlist("roles") if r in Role.__members__}
    try:
        auth_service.set_roles(session, user=user, roles=wanted, actor=principal.user)
    except auth_service.AuthError as err:
        session.rollback()
        flash(request, str(err), "error")
        session.commit()
        return redirect(request, f"/admin/users/{user.id}")
    flash(request, _("Roles updated."))
    session.commit()
    return redirect(request, f"/admin/users/{user.id}")


@router.post("/users/{user_id}/active", dependencies=[require(Permission.manage_users)])
def update_active(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    user_id: int,
    active: Annotated[str, Form()] = "0",
):
    user = _user_or_404(session, user_id)
    try:
        auth_service.set_active(session, user=user, active=active == "1", actor=principal.user)
    except auth_service.AuthError as err:
        session.rollback()
        flash(request, str(err), "error")
        session.commit()
        return redirect(request, f"/admin/users/{user.id}")
    flash(request, _("Account activated.") if active == "1" else _("Account deactivated."))
    session.commit()
    return redirect(request, f"/admin/users/{user.id}")


@router.post(
    "/users/{user_id}/second-factor/reset", dependencies=[require(Permission.manage_users)]
)
def reset_second_factor(
    request: Request, session: SessionDep, principal: CurrentPrincipal, user_id: int
):
    user = _user_or_404(session, user_id)
    auth_service.reset_second_factor(session, user=user, actor=principal.user)
    flash(
        request,
        _("Two-step verification was reset: the person sets it up again at their next sign-in."),
    )
    session.commit()
    return redirect(request, f"/admin/users/{user.id}")


@router.get("/audit", dependencies=[require(Permission.view_audit)])
def audit_log(request: Request, session: SessionDep, action: str = "", page: int = 1):
    result = paginate(session, audit.entries(action=action), page=page, per_page=50)
    return render(request, "admin/audit.html", {"page": result, "action": action}, block="results")


@router.post("/audit/verify", dependencies=[require(Permission.view_audit)])
def audit_verify(request: Request, session: SessionDep):
    outcome = audit.verify(session)
    return render(request, "admin/audit_verify.html", {"outcome": outcome}, block="outcome")
