"""Reasonable adjustments: a candidate asks with the application, HR decides with a reason, the
knowledge test applies what was granted.

Only three readers: the candidate (their own request), HR (`manage_vacancies`) and the
knowledge test (`testing.start_test` takes the granted minutes; the test page the granted
format). The panel's and the sift's modules never import this one, and no panel page or export
shows it (`tests/vacancies/test_fairness_boundary.py`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.i18n import _

from ..models import (
    AdjustmentDecision,
    AdjustmentKind,
    AdjustmentRequest,
    Application,
    ApplicationStatus,
    TestAttempt,
    Vacancy,
    VacancyStatus,
)
from ..schemas import AdjustmentInput, DecisionInput
from .base import VacancyError, clean_text, now_or, require_reason

MAX_EXTRA_MINUTES = 600
MAX_EXTRA_PERCENT = 200
# Formats that change how the test page is laid out.
FORMAT_KINDS = (AdjustmentKind.large_print, AdjustmentKind.screen_reader)


def _whole(text: str) -> int | None:
    """Return a typed whole number, 0 when empty, None when it is not one."""
    text = (text or "").strip()
    if not text:
        return 0
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None


def adjustment_of(session: Session, application: Application) -> AdjustmentRequest | None:
    return session.exec(
        select(AdjustmentRequest).where(AdjustmentRequest.application_id == application.id)
    ).first()


def _started(session: Session, application: Application) -> bool:
    return (
        session.exec(
            select(TestAttempt.id).where(TestAttempt.application_id == application.id)
        ).first()
        is not None
    )


def may_request(session: Session, vacancy: Vacancy, application: Application) -> bool:
    """Whether the candidate may ask (or change a pending request) now: while still in the
    competition and before the knowledge test opens."""
    return (
        vacancy.status == VacancyStatus.published
        and application.status == ApplicationStatus.active
        and not _started(session, application)
    )


def requested_minutes(request: AdjustmentRequest, test_minutes: int) -> int:
    """Return the extra minutes asked for (a percentage counted on the test's time, rounded up)."""
    if AdjustmentKind.extra_time not in request.kinds:
        return 0
    if request.extra_percent:
        return math.ceil(test_minutes * request.extra_percent / 100)
    return request.extra_minutes


def _check_request(data: AdjustmentInput) -> dict:
    errors: dict[str, str] = {}
    kinds = [k for k in AdjustmentKind if k in set(data.kinds)]
    if not kinds:
        errors["kinds"] = _("Choose at least one adjustment.")
    minutes = percent = 0
    if AdjustmentKind.extra_time in kinds:
        minutes, percent = _whole(data.extra_minutes), _whole(data.extra_percent)
        if minutes is None:
            errors["extra_minutes"] = _("Give a whole number of minutes.")
        elif percent is None:
            errors["extra_percent"] = _("Give a whole number.")
        elif bool(minutes) == bool(percent):
            errors["extra_minutes"] = _(
                "Say how much extra time you need: in minutes or as a percentage, not both."
            )
        elif minutes and not 1 <= minutes <= MAX_EXTRA_MINUTES:
            errors["extra_minutes"] = _(
                "Give between 1 and %(max)s minutes.", max=MAX_EXTRA_MINUTES
            )
        elif percent and not 1 <= percent <= MAX_EXTRA_PERCENT:
            errors["extra_percent"] = _(
                "Give a percentage between 1 and %(max)s.", max=MAX_EXTRA_PERCENT
            )
    try:
        details = clean_text(data.details, field="details", limit=2000)
    except VacancyError as err:
        errors["details"] = err.message
        details = ""
    if AdjustmentKind.another_sitting in kinds and len(details) < 5 and "details" not in errors:
        errors["details"] = _("Say why another sitting is needed and which times suit you.")
    if errors:
        raise VacancyError(
            _("The request for adjustments needs some changes."),
            errors=errors,
            field=next(iter(errors)),
        )
    return {
        "kinds": [str(k) for k in kinds],
        "extra_minutes": minutes or 0,
        "extra_percent": percent or 0,
        "details": details,
    }


def request_adjustment(
    session: Session,
    *,
    application: Application,
    user: User,
    data: AdjustmentInput,
    now: datetime | None = None,
) -> AdjustmentRequest:
    """Record (or change, while HR has not decided) the candidate's request for adjustments."""
    if application.user_id != user.id:
        raise VacancyError(_("This application does not exist."), status_code=404)
    vacancy = session.get(Vacancy, application.vacancy_id)
    if not may_request(session, vacancy, application):
        raise VacancyError(
            _("Adjustments can be asked for until the knowledge test opens."), status_code=409
        )
    request = adjustment_of(session, application)
    if request is not None and request.decision != AdjustmentDecision.pending:
        raise VacancyError(
            _("HR has already decided on your request; write to HR to change it."),
            status_code=409,
        )
    values = _check_request(data)
    before = None
    if request is None:
        request = AdjustmentRequest(vacancy_id=vacancy.id, application_id=application.id)
    else:
        before = {k: getattr(request, k) for k in ("kinds", "extra_minutes", "extra_percent")}
    for key, value in values.items():
        setattr(request, key, value)
    request.requested_at = now_or(now)
    session.add(request)
    session.flush()
    # The free text may describe health: it stays on the request, not in the audit log.
    audit.record(
        session,
        action="vacancy.adjustment_requested",
        actor=user,
        entity_type="vacancy_application",
        entity_id=application.id,
        before=before,
        after={k: values[k] for k in ("kinds", "extra_minutes", "extra_percent")},
    )
    return request


def decide_adjustment(
    session: Session,
    *,
    vacancy: Vacancy,
    request_id: int,
    data: DecisionInput,
    actor: User,
    now: datetime | None = None,
) -> AdjustmentRequest:
    """HR grants, partly grants or refuses a request, always with a reason (audited). A
    decision may be changed until the candidate starts the test."""
    request = session.get(AdjustmentRequest, request_id)
    if request is None or request.vacancy_id != vacancy.id:
        raise VacancyError(_("This request does not exist."), status_code=404)
    application = session.get(Application, request.application_id)
    if _started(session, application) or vacancy.status not in (
        VacancyStatus.published,
        VacancyStatus.testing,
    ):
        raise VacancyError(
            _("The candidate has already started the test: the decision can no longer change."),
            status_code=409,
        )
    try:
        decision = AdjustmentDecision(data.decision)
    except ValueError:
        decision = AdjustmentDecision.pending
    errors: dict[str, str] = {}
    if decision == AdjustmentDecision.pending:
        errors["decision"] = _("Choose whether to grant, partly grant or refuse.")
    asked = set(request.kinds)
    granted: list[str] = []
    minutes = 0
    if decision == AdjustmentDecision.granted:
        granted = list(request.kinds)
        minutes = requested_minutes(request, vacancy.test_minutes)
    elif decision == AdjustmentDecision.partly:
        granted = [str(k) for k in AdjustmentKind if k in set(data.granted_kinds) & asked]
        if not granted:
            errors["granted_kinds"] = _("Choose what is granted.")
        if AdjustmentKind.extra_time in granted:
            minutes = _whole(data.granted_minutes) or 0
            if not 1 <= minutes <= MAX_EXTRA_MINUTES:
                errors["granted_minutes"] = _(
                    "Give between 1 and %(max)s minutes.", max=MAX_EXTRA_MINUTES
                )
    try:
        reason = require_reason(data.reason)
    except VacancyError as err:
        errors["reason"] = err.message
    if errors:
        raise VacancyError(
            _("The decision needs some changes."), errors=errors, field=next(iter(errors))
        )
    before = None
    if request.decision != AdjustmentDecision.pending:
        before = {
            "decision": request.decision,
            "granted_kinds": request.granted_kinds,
            "granted_minutes": request.granted_minutes,
        }
    request.decision = decision
    request.granted_kinds = granted
    request.granted_minutes = minutes
    request.decision_reason = reason
    request.decided_by_id = actor.id
    request.decided_at = now_or(now)
    session.add(request)
    session.flush()
    audit.record(
        session,
        action="vacancy.adjustment_decided",
        actor=actor,
        entity_type="vacancy_application",
        entity_id=request.application_id,
        before=before,
        after={
            "decision": str(decision),
            "granted_kinds": granted,
            "granted_minutes": minutes,
            "reason": reason,
        },
    )
    return request


def granted_minutes(session: Session, application: Application) -> int:
    """Return the extra test minutes HR granted this candidate (0 if none)."""
    request = adjustment_of(session, application)
    if request is None or AdjustmentKind.extra_time not in request.granted_kinds:
        return 0
    return request.granted_minutes


def test_format(session: Session, application: Application) -> set[str]:
    """Return the granted formats that change the test page ("large_print", "screen_reader")."""
    request = adjustment_of(session, application)
    if request is None:
        return set()
    return {str(k) for k in FORMAT_KINDS if k in request.granted_kinds}


test_format.__test__ = False  # type: ignore[attr-defined] - not a pytest test


@dataclass
class AdjustmentLine:
    application: Application
    request: AdjustmentRequest
    asked_minutes: int
    test_started: bool


def adjustments_of(session: Session, vacancy: Vacancy) -> list[AdjustmentLine]:
    """Return every request of the competition, undecided first (HR's page)."""
    rows = session.exec(
        select(AdjustmentRequest, Application)
        .join(Application, col(Application.id) == AdjustmentRequest.application_id)
        .where(AdjustmentRequest.vacancy_id == vacancy.id)
        .order_by(col(AdjustmentRequest.requested_at), col(AdjustmentRequest.id))
    ).all()
    started = set(
        session.exec(
            select(TestAttempt.application_id).where(TestAttempt.vacancy_id == vacancy.id)
        ).all()
    )
    lines = [
        AdjustmentLine(
            application,
            request,
            requested_minutes(request, vacancy.test_minutes),
            application.id in started,
        )
        for request, application in rows
    ]
    return sorted(lines, key=lambda line: line.request.decision != AdjustmentDecision.pending)


@dataclass
class AdjustmentStatistics:
    requests: int
    by_decision: dict[str, int]
    asked: dict[str, int]  # kind -> requests asking for it
    granted: dict[str, int]  # kind -> requests granting it
    granted_minutes: list[int]


def adjustment_statistics(session: Session, vacancy: Vacancy) -> AdjustmentStatistics:
    """Count the competition's requests by decision and by kind (asked and granted)."""
    rows = session.exec(
        select(AdjustmentRequest).where(AdjustmentRequest.vacancy_id == vacancy.id)
    ).all()
    asked: Counter = Counter()
    granted: Counter = Counter()
    for row in rows:
        asked.update(row.kinds)
        granted.update(row.granted_kinds)
    return AdjustmentStatistics(
        requests=len(rows),
        by_decision={str(d): sum(1 for r in rows if r.decision == d) for d in AdjustmentDecision},
        asked={str(k): asked.get(str(k), 0) for k in AdjustmentKind},
        granted={str(k): granted.get(str(k), 0) for k in AdjustmentKind},
        granted_minutes=sorted(r.granted_minutes for r in rows if r.granted_minutes),
    )
