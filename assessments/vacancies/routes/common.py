"""What the vacancy routers share: loading the record a path names, the page a refused action
returns to (and the one way a button on a page acts), the notice's context, navigation entries
and the labels templates use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from backend.actions import Message, run_action
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import CurrentPrincipal, SettingsDep
from backend.errors import DomainError
from backend.i18n import N_
from backend.web import (
    NavItem,
    flash,
    keep_form,
    kept_form,
    redirect,
    register_nav,
    render,
    templates,
)
from competency_framework import service as competency_service

from .. import panels, service
from ..models import (
    APPEAL_STATUS_LABELS,
    APPLICATION_STATUS_LABELS,
    DIFFICULTY_LABELS,
    OUT_STAGE_LABELS,
    STAGE_LABELS,
    TIE_BREAK_LABELS,
    VACANCY_STATUS_LABELS,
    Vacancy,
)

OUT_REASON_LABELS = {
    "absent": N_("Did not take the test"),
    "below_pass_mark": N_("Below the pass mark"),
}

templates().globals.update(
    VACANCY_STATUS_LABELS=VACANCY_STATUS_LABELS,
    APPLICATION_STATUS_LABELS=APPLICATION_STATUS_LABELS,
    APPEAL_STATUS_LABELS=APPEAL_STATUS_LABELS,
    STAGE_LABELS=STAGE_LABELS,
    OUT_STAGE_LABELS=OUT_STAGE_LABELS,
    TIE_BREAK_LABELS=TIE_BREAK_LABELS,
    DIFFICULTY_LABELS=DIFFICULTY_LABELS,
    CONFLICT_FLAG_LABELS=service.CONFLICT_FLAG_LABELS,
    DECLARED_RELATION_LABELS=service.DECLARED_RELATION_LABELS,
    INTEGRITY_FLAG_LABELS=service.FLAG_LABELS,
    OUT_REASON_LABELS=OUT_REASON_LABELS,
    RATING_SOURCE_LABELS=competency_service.RATING_SOURCE_LABELS,
)

register_nav(NavItem(N_("Vacancies"), "/vacancies", None, order=40))
register_nav(
    NavItem(N_("My applications"), "/applications", Permission.apply_to_vacancies, order=41)
)
register_nav(NavItem(N_("Competitions"), "/competitions", Permission.manage_vacancies, order=42))
register_nav(NavItem(N_("Panel"), "/panel", Permission.score_candidates, order=43))
register_nav(NavItem(N_("Integrity"), "/integrity", Permission.view_integrity, order=44))

assert panels  # registers the dashboard panels


def _vacancy_in_path(session: SessionDep, vacancy_id: int) -> Vacancy:
    return service.require_vacancy(session, vacancy_id)


# A route parameter: the vacancy named by the path's `vacancy_id`, loaded (404 if there is none).
VacancyDep = Annotated[Vacancy, Depends(_vacancy_in_path)]


def _public_vacancy_in_path(session: SessionDep, vacancy_id: int) -> Vacancy:
    return service.require_vacancy(session, vacancy_id, public=True)


# The same for pages anyone may see: a vacancy whose notice is not public yet is a 404 too.
PublicVacancyDep = Annotated[Vacancy, Depends(_public_vacancy_in_path)]


def refused(
    request: Request,
    session: Session,
    page: str,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
) -> Callable[[DomainError], Response]:
    """`run_action`'s `on_error`: back to the GET `page`, which says why (a flash) and shows
    `form` again with its errors and `values` as typed.

    A redirect, not the page itself: a page shown at the action's POST-only URL would post it
    again on reload (issue #13).
    """

    def answer(err: DomainError) -> Response:
        if form:
            keep_form(request, page=page, form=form, errors=err.errors, values=values or {})
        flash(request, str(err), "error")
        principal = getattr(request.state, "principal", None)
        if principal is not None:
            session.add(principal.session)  # where the flash and the kept form live
        session.commit()
        return redirect(request, page)

    return answer


def act_on_page(
    request: Request,
    session: Session,
    action: Callable[[], Any],
    *,
    message: Message,
    page: str,
    to: str = "",
    form: str = "",
    values: dict[str, Any] | None = None,
    on_error: Callable[[DomainError], Response] | None = None,
) -> Response:
    """A button (or small form) on `page`: `run_action` it, then go to `to` (`page` unless
    said) with `message`. Every refusal goes back to `page`, saying why and keeping `form` as
    typed (`values`), unless the route answers it itself (`on_error`)."""
    return run_action(
        request,
        session,
        action,
        message=message,
        to=to or page,
        on_error=on_error or refused(request, session, page, form=form, values=values),
        refusals="all",
    )


def notice_context(session: Session, vacancy: Vacancy) -> dict[str, Any]:
    """Return what the notice page (and HR's copy of it) shows."""
    return {
        "vacancy": vacancy,
        "competencies": service.competency_names(session),
        "domains": {d.code: d for d in service.domains(session)},
        "shares": service.weight_shares(vacancy),
        "unit": service.hiring_unit(session, vacancy),
        "position": service.position_of(session, vacancy),
        "levels": {level.level: level for level in competency_service.scale(session)},
    }


@dataclass(frozen=True)
class Competition:
    """HR acting on the competition the path names: what an action needs (a route parameter,
    `OnCompetition`; the vacancy is loaded first, so one that does not exist is a 404)."""

    request: Request
    session: Session
    settings: Settings
    principal: Principal
    vacancy: Vacancy

    @property
    def actor(self) -> User:
        return self.principal.user

    @property
    def page(self) -> str:
        """The competition's page, where its actions return."""
        return f"/competitions/{self.vacancy.id}"

    def guard(self, step: service.Step) -> None:
        """Refuse (409, saying why) a step `allowed_steps` does not allow now."""
        service.require_step(self.session, self.settings, self.vacancy, self.actor, step)

    def show(
        self, template: str, context_of: Callable[..., dict[str, Any]], *, page: str = ""
    ) -> Response:
        """Render one of HR's pages of buttons (at `page`, the competition's unless said):
        `context_of(session, settings, vacancy, principal)`, the steps the person may take now,
        and the form a refused action kept for the page with its errors and what was typed."""
        kept = kept_form(self.request, page or self.page)
        context = context_of(self.session, self.settings, self.vacancy, self.principal)
        context.update(
            {
                "principal": self.principal,
                "error": "",
                "steps": service.allowed_steps(
                    self.session, self.settings, self.vacancy, self.actor
                ),
                "form": kept.get("form", ""),
                "errors": kept.get("errors") or {},
                "values": kept.get("values") or {},
            }
        )
        return render(self.request, template, context)

    def act(
        self,
        step: service.Step | None,
        call: Callable[[], Any],
        *,
        message: Message,
        page: str = "",
        form: str = "",
        values: dict[str, Any] | None = None,
        on_error: Callable[[DomainError], Response] | None = None,
    ) -> Response:
        """Carry out one of HR's actions on the competition: refuse `step` unless
        `allowed_steps` allows it now (no step: the service decides), make the service `call`,
        and go back to `page` (the competition's) with `message` (`act_on_page`)."""

        def action() -> Any:
            if step is not None:
                self.guard(step)
            return call()

        return act_on_page(
            self.request,
            self.session,
            action,
            message=message,
            page=page or self.page,
            form=form,
            values=values,
            on_error=on_error,
        )


def _competition(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    vacancy: VacancyDep,
) -> Competition:
    return Competition(request, session, settings, principal, vacancy)


# A route parameter: HR acting on the competition named by the path's `vacancy_id`.
OnCompetition = Annotated[Competition, Depends(_competition)]
