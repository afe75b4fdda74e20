"""Test sittings and interview times: HR opens slots and assigns candidates; a candidate picks,
moves or cancels their own booking and downloads it as an .ics file.

HR's pages need `manage_vacancies`; the candidate's routes `apply_to_vacancies` and reach only
the candidate's own application (anyone else's answers 404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend.actions import run_action
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep, form_id, require
from backend.files import content_disposition
from backend.i18n import _
from backend.web import kept_form, render, templates

from .. import service
from ..models import SLOT_KIND_LABELS, Application, SlotKind, Vacancy
from .common import VacancyDep, refused

router = APIRouter()
MANAGE = [require(Permission.manage_vacancies)]
APPLY = [require(Permission.apply_to_vacancies)]

templates().globals.update(SLOT_KIND_LABELS=SLOT_KIND_LABELS)


def _own_in_path(
    session: SessionDep, principal: CurrentPrincipal, application_id: int
) -> Application:
    return service.own_application(session, application_id=application_id, user=principal.user)


OwnApplication = Annotated[Application, Depends(_own_in_path)]


def _slot_form(
    kind: Annotated[str, Form()] = "",
    starts_at: Annotated[str, Form()] = "",
    ends_at: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    video_link: Annotated[str, Form()] = "",
    capacity: Annotated[str, Form()] = "",
) -> service.SlotInput:
    return service.SlotInput(kind, starts_at, ends_at, place, video_link, capacity)


def _kind(kind: str) -> SlotKind:
    try:
        return SlotKind(kind)
    except ValueError:
        raise service.VacancyError(_("This time is no longer offered."), status_code=404) from None


# --- HR ---------------------------------------------------------------------------------------


def calendar_context(
    session: Session, settings: Settings, vacancy: Vacancy, kept: dict[str, Any]
) -> dict[str, Any]:
    kinds = []
    for kind in SlotKind:
        slots = service.slots_of(session, vacancy, kind)
        kinds.append(
            {
                "kind": kind,
                "slots": [(slot, service.bookings_in(session, slot)) for slot in slots],
                "unbooked": service.unbooked(session, vacancy, kind),
                "can_plan": service.can_plan(vacancy, kind),
                "bookable": service.bookable_now(vacancy, kind),
            }
        )
    return {
        "vacancy": vacancy,
        "kinds": kinds,
        "form": kept.get("form", ""),
        "errors": kept.get("errors") or {},
        "values": kept.get("values") or {},
        "error": "",
    }


def _page(vacancy: Vacancy) -> str:
    return f"/competitions/{vacancy.id}/calendar"


@router.get("/competitions/{vacancy_id:int}/calendar", dependencies=MANAGE)
def calendar_page(
    request: Request, session: SessionDep, settings: SettingsDep, vacancy: VacancyDep
):
    context = calendar_context(session, settings, vacancy, kept_form(request, _page(vacancy)))
    return render(request, "vacancies/calendar.html", context)


@router.post("/competitions/{vacancy_id:int}/calendar", dependencies=MANAGE)
def open_slot(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
    data: Annotated[service.SlotInput, Depends(_slot_form)],
):
    return run_action(
        request,
        session,
        lambda: service.create_slot(
            session, settings, vacancy=vacancy, data=data, actor=principal.user
        ),
        message=_("The time was opened."),
        to=_page(vacancy),
        on_error=refused(request, session, _page(vacancy), form="slot", values=vars(data)),
        refusals="all",
    )


@router.post("/competitions/{vacancy_id:int}/calendar/{slot_id:int}/cancel", dependencies=MANAGE)
def cancel_slot(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
    slot_id: int,
):
    slot = service.slot_in(session, vacancy, slot_id)
    return run_action(
        request,
        session,
        lambda: service.cancel_slot(
            session, settings, vacancy=vacancy, slot=slot, actor=principal.user
        ),
        message=_("The time was cancelled; the people booked on it were told."),
        to=_page(vacancy),
        on_error=refused(request, session, _page(vacancy)),
        refusals="all",
    )


@router.post("/competitions/{vacancy_id:int}/calendar/{slot_id:int}/assign", dependencies=MANAGE)
def assign(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
    slot_id: int,
    application: Annotated[str, Form()] = "",
):
    def act():
        slot = service.slot_in(session, vacancy, slot_id)
        chosen = service.application_in(
            session, vacancy, form_id(application, field="application", required=True)
        )
        return service.book(
            session, settings, vacancy=vacancy, application=chosen, slot=slot, actor=principal.user
        )

    return run_action(
        request,
        session,
        act,
        message=_("The candidate was given the time and sent the invitation."),
        to=_page(vacancy),
        on_error=refused(request, session, _page(vacancy)),
        refusals="all",
    )


# --- the candidate ------------------------------------------------------------------------------


def _book_own(session, settings, vacancy, application, kind: str, slot: str, actor):
    chosen = service.slot_in(session, vacancy, form_id(slot, field="slot", required=True))
    if chosen.kind != _kind(kind):
        raise service.VacancyError(_("This time is no longer offered."), status_code=404)
    return service.book(
        session, settings, vacancy=vacancy, application=application, slot=chosen, actor=actor
    )


@router.post("/applications/{application_id:int}/slots/{kind}", dependencies=APPLY)
def book(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application: OwnApplication,
    kind: str,
    slot: Annotated[str, Form()] = "",
):
    vacancy = service.get_vacancy(session, application.vacancy_id)
    page = f"/applications/{application.id}"

    return run_action(
        request,
        session,
        lambda: _book_own(session, settings, vacancy, application, kind, slot, principal.user),
        message=_("Your time is booked; the invitation is on its way to your mailbox."),
        to=page,
        on_error=refused(request, session, page),
        refusals="all",
    )


@router.post("/applications/{application_id:int}/slots/{kind}/cancel", dependencies=APPLY)
def cancel_booking(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    application: OwnApplication,
    kind: str,
):
    vacancy = service.get_vacancy(session, application.vacancy_id)
    page = f"/applications/{application.id}"
    return run_action(
        request,
        session,
        lambda: service.cancel_booking(
            session,
            settings,
            vacancy=vacancy,
            application=application,
            kind=_kind(kind),
            actor=principal.user,
        ),
        message=_("Your booking was cancelled."),
        to=page,
        on_error=refused(request, session, page),
        refusals="all",
    )


@router.get("/applications/{application_id:int}/slots/{kind}.ics", dependencies=APPLY)
def download(session: SessionDep, settings: SettingsDep, application: OwnApplication, kind: str):
    vacancy = service.get_vacancy(session, application.vacancy_id)
    body = service.ics_of(
        session, settings, vacancy=vacancy, application=application, kind=_kind(kind)
    )
    name = f"{vacancy.reference}-{kind}.ics"
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name)},
    )
