"""In-app notices: deadlines, escalations, reminders, handovers, complaints received.

Each person sees only their own; a notice names a case or complaint by its reference (plain
metadata) and never carries content.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from backend import clock
from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, form_id, require
from backend.i18n import _
from backend.web import render, safe_next
from whistleblowing import service as reporting
from whistleblowing.models import NOTIFICATION_LABELS, NotificationKind

router = APIRouter(prefix="/notifications")


@router.get("", dependencies=[require(Permission.view_dashboard)])
def notifications(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return render(
        request,
        "cases/notifications.html",
        {
            "notices": reporting.notifications_for(session, user=principal.user, limit=200),
            "NOTIFICATION_LABELS": NOTIFICATION_LABELS,
            "NotificationKind": NotificationKind,
        },
    )


@router.post("/read", dependencies=[require(Permission.view_dashboard)])
def mark_read(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    notification_id: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/notifications",
):
    chosen = form_id(notification_id, field="notification_id")
    return run_action(
        request,
        session,
        lambda: reporting.mark_read(
            session, user=principal.user, notification_id=chosen, today=clock.today(settings)
        ),
        message=_("Marked as read."),
        to=safe_next(next, "/notifications"),
    )
