"""The notice pages: a person's notice list and mail preferences; for administrators, the
delivery status (with a retry) and, in development, the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request

from backend import mail, notices
from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, form_id, form_int, require
from backend.i18n import N_, _
from backend.web import NavItem, register_nav, render, safe_next

router = APIRouter()

INBOX = "/notifications"
PER_PAGE = 50

register_nav(NavItem(N_("Mail delivery"), "/admin/notices", Permission.manage_users, order=85))


@router.get(INBOX, dependencies=[require(Permission.view_dashboard)])
def notice_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    page: int = 1,
):
    page = max(page, 1)
    user_id = principal.user.id
    shown = notices.notices_for(
        session,
        user_id=user_id,
        tz=settings.time_zone,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    total = notices.count_for(session, user_id=user_id)
    unread = notices.unread_count(session, user_id=user_id)
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    context = {"notices": shown, "page": page, "pages": pages, "unread": unread, "total": total}
    return render(request, "notices/list.html", context)


@router.post(f"{INBOX}/read", dependencies=[require(Permission.view_dashboard)])
def mark_read(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    notification_id: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = INBOX,
):
    # Notice ids are random 53-bit numbers (backend/notices/models.py), beyond form_id's range.
    chosen = form_int(notification_id, field="notification_id", low=1, high=2**53)
    return run_action(
        request,
        session,
        lambda: notices.mark_read(session, user_id=principal.user.id, notice_id=chosen),
        message=_("Marked as read."),
        to=safe_next(next, INBOX),
    )


@router.get("/account/notices", dependencies=[require(Permission.manage_own_account)])
def preferences(request: Request, session: SessionDep, principal: CurrentPrincipal):
    chosen = notices.preferences_for(session, user_id=principal.user.id)
    return render(
        request,
        "notices/preferences.html",
        {"kinds": notices.optional_kinds(), "chosen": chosen},
    )


@router.post("/account/notices", dependencies=[require(Permission.manage_own_account)])
def save_preferences(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    by_email: Annotated[list[str] | None, Form()] = None,
    daily_digest: Annotated[str, Form()] = "",
):
    return run_action(
        request,
        session,
        lambda: notices.set_preferences(
            session,
            user_id=principal.user.id,
            by_email=set(by_email or []),
            daily_digest=daily_digest == "on",
        ),
        message=_("Your mail preferences were saved."),
        to="/account/notices",
    )


@router.get("/admin/notices", dependencies=[require(Permission.manage_users)])
def delivery_status(request: Request, session: SessionDep):
    return render(
        request,
        "notices/deliveries.html",
        {
            "counts": notices.status_counts(session),
            "troubled": notices.troubled(session),
            "kinds": notices.KINDS,
            "failure_text": notices.failure_text,
        },
    )


@router.post("/admin/notices/retry", dependencies=[require(Permission.manage_users)])
def retry_delivery(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    delivery_id: Annotated[str, Form()] = "",
):
    chosen = form_id(delivery_id, field="delivery_id", required=True)
    return run_action(
        request,
        session,
        lambda: notices.retry(session, delivery_id=chosen, actor=principal.user),
        message=_("The mail will be sent again in the next minute."),
        to="/admin/notices",
    )


@router.get("/admin/outbox", dependencies=[require(Permission.manage_users)])
def outbox(request: Request, settings: SettingsDep):
    if settings.environment == "production":
        raise HTTPException(status_code=404)
    return render(
        request,
        "notices/outbox.html",
        {"messages": mail.outbox_messages(settings), "configured": bool(settings.smtp_host)},
    )
