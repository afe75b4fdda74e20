"""What the appraisal routers share: loading the records a path names, what a step on one
appraisal needs (its `allowed_steps` and the page a refused form returns to), the navigation
entries and the labels templates use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from assessments.appraisals import panels, service
from assessments.appraisals.models import (
    PROPOSED_LABEL,
    RATING_DESCRIPTORS,
    RATING_LABELS,
    RATINGS,
    SIDE_LABELS,
    STAGE_LABELS,
    TRAINING_SOURCE_LABELS,
    Appraisal,
    AppraisalCycle,
)
from backend.auth.permissions import Permission
from backend.auth.service import Principal
from backend.db import SessionDep
from backend.deps import CurrentPrincipal
from backend.errors import DomainError
from backend.i18n import N_
from backend.web import NavItem, flash, keep_form, redirect, register_nav, templates

register_nav(NavItem(N_("Appraisals"), "/appraisals", Permission.take_part_in_appraisals, order=40))
register_nav(
    NavItem(
        N_("Appraisal cycles"), "/appraisals/cycles", Permission.manage_appraisal_cycles, order=41
    )
)

assert panels  # registers the dashboard panels
templates().globals.update(
    APPRAISAL_STAGE_LABELS=STAGE_LABELS,
    APPRAISAL_PROPOSED_LABEL=PROPOSED_LABEL,
    APPRAISAL_RATING_LABELS=RATING_LABELS,
    APPRAISAL_RATING_DESCRIPTORS=RATING_DESCRIPTORS,
    APPRAISAL_RATINGS=RATINGS,
    APPRAISAL_SIDE_LABELS=SIDE_LABELS,
    APPRAISAL_REMINDER_LABELS=service.REMINDER_LABELS,
    APPRAISAL_REMINDER_MAIL_LABELS=service.REMINDER_MAIL_LABELS,
    APPRAISAL_STEP_LABELS=service.STEP_LABELS,
    APPRAISAL_TRAINING_SOURCES=TRAINING_SOURCE_LABELS,
)

# Where on the appraisal page each form is, to return to it after a refusal.
FORM_ANCHORS = {
    "objectives": "#objectives",
    "progress": "#objectives",
    "assessment": "#assessment",
    "dialogue": "#dialogue",
    "sign": "#sign",
    "review": "#review",
    "send_back": "#calibration",
    "peers": "#feedback",
}


def _appraisal_in_path(
    session: SessionDep, principal: CurrentPrincipal, appraisal_id: int
) -> Appraisal:
    return service.get_appraisal(session, appraisal_id=appraisal_id, actor=principal)


# A route parameter: the path's appraisal, if the principal takes part in it (else 403/404).
AppraisalDep = Annotated[Appraisal, Depends(_appraisal_in_path)]


def _cycle_in_path(session: SessionDep, cycle_id: int) -> AppraisalCycle:
    return service.require_cycle(session, cycle_id)


# A route parameter: the appraisal cycle named by the path's `cycle_id` (404 if none).
CycleDep = Annotated[AppraisalCycle, Depends(_cycle_in_path)]


@dataclass
class AppraisalRequest:
    """A step someone takes in one appraisal, with what it needs: the routes' dependency.

    The appraisal is loaded first (403/404 for someone who takes no part in it), then what the
    person may do in it (`service.allowed_steps`, the answer the page's buttons came from).
    """

    request: Request
    session: Session
    principal: Principal
    appraisal: Appraisal
    steps: service.Steps

    @property
    def page(self) -> str:
        return f"/appraisals/{self.appraisal.id}"

    def back(self, form: str, values: dict[str, Any]) -> Callable[[DomainError], Response]:
        """`on_error` for `run_action` (a refused form, 422): the appraisal page shows `form`
        again with its errors and what was typed; other refusals get the error page.

        A redirect, not the page itself: a page shown at the form's POST-only URL would post
        the form again on reload (issue #13).
        """

        def answer(err: DomainError) -> Response:
            keep_form(self.request, page=self.page, form=form, errors=err.errors, values=values)
            if not err.errors:
                flash(self.request, str(err), "error")
            self.session.add(self.principal.session)
            self.session.commit()
            return redirect(self.request, self.page + FORM_ANCHORS.get(form, ""))

        return answer


def _appraisal_request(
    request: Request, session: SessionDep, principal: CurrentPrincipal, appraisal: AppraisalDep
) -> AppraisalRequest:
    steps = service.allowed_steps(session, appraisal=appraisal, actor=principal)
    return AppraisalRequest(request, session, principal, appraisal, steps)


# A route parameter: a step in the appraisal the path names.
OnAppraisal = Annotated[AppraisalRequest, Depends(_appraisal_request)]
