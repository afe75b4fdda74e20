"""The reporting channel's administration: channels (recipients, lead, deputy), tags, and the
statistics of the periodic evaluation. Administrators configure; they cannot open any report.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.db import SessionDep
from backend.deps import (
    CurrentPrincipal,
    form_id,
    id_or_none,
    require,
)
from backend.files import content_disposition
from backend.i18n import _
from backend.web import (
    render,
)
from whistleblowing import service as reporting
from whistleblowing.models import (
    CaseTag,
    ReportChannel,
    ReportOutcome,
)
from whistleblowing.routes.common import (
    DeskDep,
    case_labels,
)
from whistleblowing.schemas import ChannelForm

router = APIRouter(prefix="/cases")

# --- channels and tags (administrators) -------------------------------------------------------


@router.get("/channels", dependencies=[require(Permission.manage_report_channels)])
def channels(request: Request, session: SessionDep):
    return _channels_page(request, session)


def _channels_page(
    request: Request, session: Session, *, errors=None, values=None, status_code=200
):
    """Return the channels page (and the tag form's errors and what was typed, when refused)."""
    listed = reporting.all_channels(session)
    recipients = {c.id: reporting.channel_recipients(session, c.id) for c in listed}
    keys = reporting.holder_keys(session, [u.id for us in recipients.values() for u in us])
    people = {u.id: u for u in reporting.investigators(session)}
    return render(
        request,
        "cases/channels.html",
        {
            "channels": listed,
            "recipients": recipients,
            "keys": keys,
            "people": people,
            "ready": reporting.recovery_ready(session),
            "tags": reporting.all_tags(session),
            "registers": reporting.interest_registers(session, list(people.values())),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


def _channel_or_404(session: Session, channel_id: int) -> ReportChannel:
    channel = session.get(ReportChannel, channel_id)
    if channel is None:
        raise HTTPException(status_code=404, detail=_("This channel does not exist."))
    return channel


def _channel_form(request, session, channel, values, errors, status_code=200):
    people = reporting.investigators(session)
    current = (
        {u.id for u in reporting.channel_recipients(session, channel.id)} if channel else set()
    )
    return render(
        request,
        "cases/channel_form.html",
        {
            "channel": channel,
            "values": values,
            "errors": errors,
            "investigators": people,
            "keys": reporting.holder_keys(session, [u.id for u in people]),
            "current": current,
        },
        status_code=status_code,
        block="form",
    )


def _channel_values(channel: ReportChannel | None) -> dict:
    if channel is None:
        return {
            "code": "",
            "name_es": "",
            "name_en": "",
            "description_es": "",
            "description_en": "",
            "is_active": True,
            "order": 100,
            "lead": "",
            "deputy": "",
        }
    return {
        "code": channel.code,
        "name_es": channel.name_es,
        "name_en": channel.name_en,
        "description_es": channel.description_es,
        "description_en": channel.description_en,
        "is_active": channel.is_active,
        "order": channel.order,
        "lead": str(channel.lead_user_id or ""),
        "deputy": str(channel.deputy_user_id or ""),
    }


@router.get("/channels/new", dependencies=[require(Permission.manage_report_channels)])
def new_channel(request: Request, session: SessionDep):
    return _channel_form(request, session, None, _channel_values(None), {})


@router.get("/channels/{channel_id}", dependencies=[require(Permission.manage_report_channels)])
def edit_channel(request: Request, session: SessionDep, channel_id: int):
    channel = _channel_or_404(session, channel_id)
    return _channel_form(request, session, channel, _channel_values(channel), {})


async def _save_channel(request, session, principal, channel: ReportChannel | None):
    typed = ChannelForm.from_form(await request.form())

    def save() -> None:
        saved = reporting.save_channel(
            session, actor=principal.user, channel=channel, **typed.channel()
        )
        reporting.set_channel_recipients(
            session, actor=principal.user, channel=saved, user_ids=typed.recipients
        )
        reporting.set_channel_roles(
            session,
            actor=principal.user,
            channel=saved,
            lead_user_id=id_or_none(typed.lead),
            deputy_user_id=id_or_none(typed.deputy),
        )

    def refused(err: reporting.ReportingError) -> Response:
        errors = {err.field or "code": str(err)}
        return _channel_form(request, session, channel, typed.values(), errors, status_code=422)

    message = _("The channel was saved.")
    return run_action(
        request,
        session,
        save,
        message=message,
        to="/cases/channels",
        on_error=refused,
        refusals="all",
    )


@router.post("/channels/new", dependencies=[require(Permission.manage_report_channels)])
async def create_channel(request: Request, session: SessionDep, principal: CurrentPrincipal):
    return await _save_channel(request, session, principal, None)


@router.post("/channels/{channel_id}", dependencies=[require(Permission.manage_report_channels)])
async def update_channel(
    request: Request, session: SessionDep, principal: CurrentPrincipal, channel_id: int
):
    return await _save_channel(request, session, principal, _channel_or_404(session, channel_id))


@router.post("/tags", dependencies=[require(Permission.manage_report_channels)])
def save_tag(
    desk: DeskDep,
    tag_id: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    name_es: Annotated[str, Form()] = "",
    name_en: Annotated[str, Form()] = "",
):
    chosen = form_id(tag_id, field="tag_id")
    tag = desk.session.get(CaseTag, chosen) if chosen is not None else None
    if tag_id and tag is None:
        raise HTTPException(status_code=404, detail=_("This tag does not exist."))
    values = {"code": code, "name_es": name_es, "name_en": name_en}
    return run_action(
        desk.request,
        desk.session,
        lambda: reporting.save_tag(desk.session, actor=desk.user, tag=tag, **values),
        message=_("The tag was saved."),
        to="/cases/channels#tags",
        on_error=lambda err: _channels_page(
            desk.request,
            desk.session,
            errors={err.field or "code": str(err)},
            values=values,
            status_code=422,
        ),
        refusals="all",
    )


# --- statistics -------------------------------------------------------------------------------


def _evaluation(session: Session, year: str):
    chosen = reporting.statistics_year(year)
    return reporting.evaluation(session, year=chosen, threshold=reporting.STATISTICS_THRESHOLD)


def _statistics_download(result: reporting.Evaluation, *, extension: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(f"reporting-{result.year or 'all'}.{extension}")
    }


@router.get("/statistics", dependencies=[require(Permission.view_report_statistics)])
def statistics(request: Request, session: SessionDep, year: str = ""):
    result = _evaluation(session, year)
    return render(
        request,
        "cases/statistics.html",
        {
            **case_labels(),
            "result": result,
            "outcomes": list(ReportOutcome),
            "threshold": reporting.STATISTICS_THRESHOLD,
            "year": year,
        },
    )


@router.get("/statistics.csv", dependencies=[require(Permission.view_report_statistics)])
def statistics_csv(session: SessionDep, year: str = ""):
    result = _evaluation(session, year)
    return Response(
        reporting.evaluation_csv(result),
        media_type="text/csv; charset=utf-8",
        headers=_statistics_download(result, extension="csv"),
    )


@router.get("/statistics.xlsx", dependencies=[require(Permission.view_report_statistics)])
def statistics_xlsx(session: SessionDep, year: str = ""):
    result = _evaluation(session, year)
    return Response(
        reporting.evaluation_xlsx(result),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_statistics_download(result, extension="xlsx"),
    )
