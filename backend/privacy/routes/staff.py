"""HR's queue of ARCO requests (under /org) and administrators' notices and retention rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from backend.actions import back_to, run_action, show_form
from backend.auth.permissions import Permission
from backend.clock import today
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, require
from backend.i18n import N_, _, ngettext
from backend.privacy import service as privacy
from backend.privacy.models import ArcoStatus
from backend.privacy.schemas import ArcoAnswerInput, NoticeInput
from backend.privacy.views import LABELS, notices_context, request_context, retention_context
from backend.web import NavItem, kept_form, register_nav, render

router = APIRouter()

HR = [require(Permission.answer_privacy_requests)]
ADMIN = [require(Permission.manage_privacy)]
QUEUE = "/org/privacy-requests"
NOTICES = "/admin/privacy/notices"
RETENTION = "/admin/privacy/retention"

register_nav(NavItem(N_("Privacy requests"), QUEUE, Permission.answer_privacy_requests, order=35))
register_nav(NavItem(N_("Privacy notices"), NOTICES, Permission.manage_privacy, order=85))
register_nav(NavItem(N_("Data retention"), RETENTION, Permission.manage_privacy, order=86))


@router.get(QUEUE, dependencies=HR)
def arco_queue(
    request: Request, session: SessionDep, settings: SettingsDep, status: str = "pending"
):
    status = status if status in {s.value for s in ArcoStatus} else ArcoStatus.pending
    return render(
        request,
        "privacy/queue.html",
        {
            **LABELS,
            "status": status,
            "rows": privacy.queue(session, status=status),
            "today": today(settings),
            "days_left": privacy.working_days_left,
        },
    )


@router.get(QUEUE + "/{request_id}", dependencies=HR)
def arco_request_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    request_id: int,
):
    arco = privacy.get_request(session, request_id)
    context = request_context(session, settings, arco, principal)
    context.update(kept_form(request, f"{QUEUE}/{request_id}"))
    return render(request, "privacy/request_hr.html", context)


@router.post(QUEUE + "/{request_id}/answer", dependencies=HR)
def answer_arco_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    request_id: int,
    decision: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    first_name: Annotated[str, Form()] = "",
    last_name: Annotated[str, Form()] = "",
    close_account: Annotated[str, Form()] = "",
):
    arco = privacy.get_request(session, request_id)
    data = ArcoAnswerInput.parse(
        decision=decision,
        answer=answer,
        first_name=first_name,
        last_name=last_name,
        close_account=close_account,
    )
    page = f"{QUEUE}/{request_id}"
    return run_action(
        request,
        session,
        lambda: privacy.answer_request(session, settings, request=arco, data=data, actor=principal),
        message=_("The request was answered. The person sees the answer on their privacy page."),
        to=page,
        on_error=back_to(request, session, page, form="answer", values=data.__dict__),
        refusals="all",
    )


# --- administrators: notices ------------------------------------------------------------------


@router.get(NOTICES, dependencies=ADMIN)
def notices_admin(request: Request, session: SessionDep, purpose: str = "employees"):
    context = notices_context(session, purpose)
    context.update(kept_form(request, NOTICES))
    return render(request, "privacy/admin_notices.html", context)


@router.post(NOTICES, dependencies=ADMIN)
def publish_notice(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    purpose: Annotated[str, Form()] = "",
    title_es: Annotated[str, Form()] = "",
    title_en: Annotated[str, Form()] = "",
    body_es: Annotated[str, Form()] = "",
    body_en: Annotated[str, Form()] = "",
):
    data = NoticeInput.parse(
        purpose=purpose, title_es=title_es, title_en=title_en, body_es=body_es, body_en=body_en
    )
    return run_action(
        request,
        session,
        lambda: privacy.publish_notice(session, data=data, actor=principal.user),
        message=lambda n: _("Version %(n)s of the notice is published.", n=n.version),
        to=lambda n: f"{NOTICES}?purpose={n.purpose}",
        on_error=show_form(
            request,
            "privacy/admin_notices.html",
            lambda: notices_context(session, purpose),
            values=data.__dict__,
        ),
    )


# --- administrators: retention ----------------------------------------------------------------


@router.get(RETENTION, dependencies=ADMIN)
def retention_page(request: Request, session: SessionDep, settings: SettingsDep):
    context = retention_context(session, settings)
    context.update(kept_form(request, RETENTION))
    return render(request, "privacy/retention.html", context)


@router.post(RETENTION + "/periods", dependencies=ADMIN)
def set_retention_period(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    record_type: Annotated[str, Form()] = "",
    months: Annotated[str, Form()] = "",
):
    values = {"record_type": record_type, "months": months}
    return run_action(
        request,
        session,
        lambda: privacy.set_period(
            session, record_type=record_type, months=_months(months), actor=principal.user
        ),
        message=_("The retention period was changed."),
        to=RETENTION,
        on_error=back_to(request, session, RETENTION, form=record_type, values=values),
    )


def _months(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise privacy.PrivacyError(
            _("Give the period as a whole number of months."), field="months"
        )
    return int(text)


@router.post(RETENTION + "/run", dependencies=ADMIN)
def run_retention(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    fingerprint: Annotated[str, Form()] = "",
):
    return run_action(
        request,
        session,
        lambda: privacy.apply(session, settings, actor=principal.user, expected=fingerprint),
        message=lambda done: ngettext(
            "%(num)s record was deleted or anonymised.",
            "%(num)s records were deleted or anonymised.",
            done.total,
        ),
        to=RETENTION,
        on_error=back_to(request, session, RETENTION, form="run", values={}),
        refusals="all",
    )
