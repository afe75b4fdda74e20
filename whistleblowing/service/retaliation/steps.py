"""A complaint's workflow, step by step: prima facie assessment, interim measures,
investigation, determination, remedies and closing; and which steps an officer may take now
(`allowed_steps`: what the complaint's page offers and what its POSTs accept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from backend import audit
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import _
from whistleblowing import deadlines
from whistleblowing.models import (
    ComplaintItem,
    ComplaintItemKind,
    ComplaintOutcome,
    ComplaintStatus,
    ProtectiveMeasureKind,
    RemedyKind,
)
from whistleblowing.service.common import ReportingError

from .common import MIN_REASON, MONITORING_MONTHS, ComplaintAccess
from .items import (
    ComplaintEntry,
    _add_complaint_item,
    complaint_timeline,
    protected_employee_id,
)


def _step(
    session: Session,
    *,
    access: ComplaintAccess,
    officer: User,
    to: ComplaintStatus,
    today: date,
    after: dict[str, Any] | None = None,
) -> None:
    complaint = access.complaint
    before = {"status": complaint.status, "outcome": complaint.outcome}
    complaint.status = to.value
    day_field = {
        ComplaintStatus.assessment: "assessment_on",
        ComplaintStatus.interim_measures: "measures_on",
        ComplaintStatus.investigation: "investigation_on",
        ComplaintStatus.determination: "determination_on",
        ComplaintStatus.remedies: "remedies_on",
        ComplaintStatus.closed: "closed_on",
    }[to]
    setattr(complaint, day_field, today)
    session.add(complaint)
    audit.record(
        session,
        action="retaliation.status_changed",
        actor=officer,
        entity_type="retaliation_complaint",
        entity_id=complaint.reference,
        before=before,
        after={"status": complaint.status, "outcome": complaint.outcome, **(after or {})},
    )


def _out_of_order() -> ReportingError:
    return ReportingError(
        _("This step does not follow from where the complaint stands."), status_code=409
    )


def _require(access: ComplaintAccess, *statuses: ComplaintStatus) -> None:
    if ComplaintStatus(access.complaint.status) not in statuses:
        raise _out_of_order()


def _write(
    session: Session,
    settings: Settings,
    access: ComplaintAccess,
    officer: User,
    today: date,
    kind: ComplaintItemKind,
    payload: dict[str, Any],
) -> ComplaintItem:
    """Add the officer's sealed item of `kind` to the complaint."""
    return _add_complaint_item(
        session,
        settings,
        complaint=access.complaint,
        kind=kind,
        payload=payload,
        author=officer,
        today=today,
    )


def _ordered(
    session: Session,
    *,
    access: ComplaintAccess,
    officer: User,
    item: ComplaintItem,
    kind: str,
    first: tuple[ComplaintStatus, ComplaintStatus],
    action: str,
    today: date,
) -> ComplaintItem:
    """Record an order (a measure, a remedy): the first one moves the complaint on (`first`:
    from, to); a later one is audited as `action`."""
    if access.complaint.status == first[0]:
        _step(
            session,
            access=access,
            officer=officer,
            to=first[1],
            today=today,
            after={"item": item.uid},
        )
    else:
        audit.record(
            session,
            action=action,
            actor=officer,
            entity_type="retaliation_complaint",
            entity_id=access.complaint.reference,
            after={"item": item.uid, "kind": kind},
        )
    return item


def assess(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    protected_report: bool,
    detriment: bool,
    timing: bool,
    reason: str,
    today: date,
) -> bool:
    """Record the prima facie assessment (a protected report, a detriment, timing that links
    them) and return whether a prima facie case is made out. Audited; caller commits."""
    _require(access, ComplaintStatus.received)
    if len(reason.strip()) < MIN_REASON:
        raise ReportingError(_("Explain the assessment."), field="reason")
    established = protected_report and detriment and timing
    payload = {
        "protected_report": protected_report,
        "detriment": detriment,
        "timing": timing,
        "established": established,
        "text": reason.strip(),
    }
    item = _write(session, settings, access, officer, today, ComplaintItemKind.assessment, payload)
    _step(
        session,
        access=access,
        officer=officer,
        to=ComplaintStatus.assessment,
        today=today,
        after={"prima_facie": established, "item": item.uid},
    )
    return established


def _prima_facie(session: Session, access: ComplaintAccess) -> bool | None:
    for entry in complaint_timeline(session, access=access):
        if entry.kind is ComplaintItemKind.assessment:
            return bool(entry.content.get("established"))
    return None


def check_measure_allowed(session: Session, access: ComplaintAccess) -> None:
    """Refuse (409) an interim measure where the complaint stands: before its assessment, with
    no prima facie case, or once it is decided."""
    _require(
        access,
        ComplaintStatus.assessment,
        ComplaintStatus.interim_measures,
        ComplaintStatus.investigation,
        ComplaintStatus.determination,
    )
    if access.complaint.status == ComplaintStatus.assessment and not _prima_facie(session, access):
        raise ReportingError(_("Interim measures need a prima facie case."), status_code=409)


def order_measure(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    kind: str,
    details: str,
    starts_on: date | None,
    ends_on: date | None,
    today: date,
) -> ComplaintItem:
    """Order an interim protective measure (e.g. suspend a transfer) while the complaint is
    assessed or investigated. Moves an assessed complaint to interim measures.

    Where the complaint stands is checked before the fields (a refusal names the form's field),
    so a field is only refused while the measure's form is on the complaint's page."""
    check_measure_allowed(session, access)
    if kind not in ProtectiveMeasureKind.__members__:
        raise ReportingError(_("Choose a kind of measure."), field="kind")
    if len(details.strip()) < MIN_REASON:
        raise ReportingError(_("Describe the measure and whom it binds."), field="details")
    if starts_on is None:
        raise ReportingError(_("Enter the first day as YYYY-MM-DD."), field="starts_on")
    if ends_on is not None and ends_on < starts_on:
        raise ReportingError(_("The measure must end after it starts."), field="ends_on")
    payload = {
        "kind": kind,
        "text": details.strip(),
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat() if ends_on else None,
    }
    item = _write(session, settings, access, officer, today, ComplaintItemKind.measure, payload)
    return _ordered(
        session,
        access=access,
        officer=officer,
        item=item,
        kind=kind,
        first=(ComplaintStatus.assessment, ComplaintStatus.interim_measures),
        action="retaliation.measure_ordered",
        today=today,
    )


def start_investigation(
    session: Session, *, access: ComplaintAccess, officer: User, today: date
) -> None:
    """Open the investigation (only on a prima facie case)."""
    _require(access, ComplaintStatus.assessment, ComplaintStatus.interim_measures)
    if not _prima_facie(session, access):
        raise ReportingError(
            _("There is no prima facie case: close the complaint instead."), status_code=409
        )
    _step(session, access=access, officer=officer, to=ComplaintStatus.investigation, today=today)


def determine(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    established: bool,
    reason: str,
    today: date,
) -> None:
    """Record the determination: was there retaliation? (the burden is on the employer)."""
    _require(access, ComplaintStatus.investigation)
    if len(reason.strip()) < MIN_REASON:
        raise ReportingError(_("Give the reasons for the determination."), field="reason")
    payload = {"established": established, "text": reason.strip()}
    item = _write(
        session, settings, access, officer, today, ComplaintItemKind.determination, payload
    )
    access.complaint.outcome = (
        ComplaintOutcome.established.value
        if established
        else ComplaintOutcome.not_established.value
    )
    _step(
        session,
        access=access,
        officer=officer,
        to=ComplaintStatus.determination,
        today=today,
        after={"item": item.uid},
    )


def order_remedy(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    kind: str,
    details: str,
    today: date,
) -> ComplaintItem:
    """Order a remedy (reinstatement, annulment, compensation, reversal of a transfer,
    disciplinary referral of the retaliator) once retaliation is established."""
    _require(access, ComplaintStatus.determination, ComplaintStatus.remedies)
    if access.complaint.outcome != ComplaintOutcome.established:
        raise ReportingError(
            _("Remedies follow only a determination that retaliation took place."),
            status_code=409,
        )
    if kind not in RemedyKind.__members__:
        raise ReportingError(_("Choose a remedy."), field="remedy")
    if len(details.strip()) < MIN_REASON:
        raise ReportingError(_("Describe the remedy and who must carry it out."), field="remedy")
    payload = {"kind": kind, "text": details.strip()}
    item = _write(session, settings, access, officer, today, ComplaintItemKind.remedy, payload)
    return _ordered(
        session,
        access=access,
        officer=officer,
        item=item,
        kind=kind,
        first=(ComplaintStatus.determination, ComplaintStatus.remedies),
        action="retaliation.remedy_ordered",
        today=today,
    )


def close(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    reason: str,
    today: date,
    withdrawn: bool = False,
    monitoring_months: int = MONITORING_MONTHS,
) -> None:
    """Close the complaint; the HR watch goes on until `monitoring_until`.

    Allowed after an assessment that found no prima facie case, after a determination that
    found no retaliation, once remedies were ordered, or when the complainant withdraws.
    """
    complaint = access.complaint
    status = ComplaintStatus(complaint.status)
    if status is ComplaintStatus.closed:
        raise ReportingError(_("This complaint is closed."), status_code=409)
    if withdrawn:
        outcome = ComplaintOutcome.withdrawn
    elif status is ComplaintStatus.assessment and _prima_facie(session, access) is False:
        outcome = ComplaintOutcome.no_prima_facie_case
    elif (
        status is ComplaintStatus.determination
        and complaint.outcome == ComplaintOutcome.not_established
    ):
        outcome = ComplaintOutcome.not_established
    elif status is ComplaintStatus.remedies:
        outcome = ComplaintOutcome.established
    else:
        raise _out_of_order()
    if len(reason.strip()) < MIN_REASON:
        raise ReportingError(_("Give the reason for closing the complaint."), field="reason")
    if not 0 <= monitoring_months <= 60:
        raise ReportingError(_("Monitor for at most 60 months."), field="monitoring_months")
    payload = {"text": reason.strip(), "closing": outcome.value}
    item = _write(session, settings, access, officer, today, ComplaintItemKind.decision, payload)
    complaint.outcome = outcome.value
    complaint.monitoring_until = (
        deadlines.add_months(today, monitoring_months) if monitoring_months else today
    )
    _step(
        session,
        access=access,
        officer=officer,
        to=ComplaintStatus.closed,
        today=today,
        after={"item": item.uid, "monitoring_until": complaint.monitoring_until},
    )


# --- what an officer may do now -------------------------------------------------------------


class Step(StrEnum):
    assess = "assess"
    measure = "measure"
    investigate = "investigate"
    determine = "determine"
    remedy = "remedy"
    close = "close"
    protect = "protect"
    message = "message"  # to the complainant (only receipt complaints can read one)
    note = "note"
    pack = "pack"


@dataclass(frozen=True)
class Steps:
    """The steps an officer may take on a complaint now, and why some others must wait; with
    what the complaint's page shows about it (`prima_facie`, `protected`)."""

    allowed: frozenset[Step]
    waiting: dict[Step, str] = field(default_factory=dict)
    prima_facie: bool | None = None
    protected: bool = False

    def __contains__(self, step: object) -> bool:
        return step in self.allowed

    def why_not(self, step: Step) -> str:
        """Return why `step` is refused now (translated)."""
        return self.waiting.get(step) or _out_of_order().message

    def require(self, step: Step, *, field: str = "") -> None:
        """Refuse (409) a step that is not allowed now (naming `field`, where a page shows
        the refusal: the step's own form is not on the page)."""
        if step not in self.allowed:
            raise ReportingError(self.why_not(step), status_code=409, field=field)


def allowed_steps(
    session: Session,
    access: ComplaintAccess,
    officer: User,
    *,
    entries: list[ComplaintEntry] | None = None,
) -> Steps:
    """Return what `officer` (who holds the complaint: `access`) may do to it now.

    The complaint's page shows a step's form only when it is allowed; its POST refuses a step
    that is not (the workflow functions check the same rules again, for other callers).
    `entries`: the complaint's timeline, when the caller has it already.
    """
    if entries is None:
        entries = complaint_timeline(session, access=access)
    complaint = access.complaint
    status = ComplaintStatus(complaint.status)
    prima_facie = next(
        (bool(e.content.get("established")) for e in entries if e.kind is _ASSESSMENT), None
    )
    protected = protected_employee_id(session, access, entries=entries) is not None
    allowed = {Step.note, Step.pack}
    waiting: dict[Step, str] = {}
    if status is ComplaintStatus.received:
        allowed.add(Step.assess)
    if status in _MEASURE_STATUSES:
        if prima_facie:
            allowed.add(Step.measure)
        elif status is ComplaintStatus.assessment:
            waiting[Step.measure] = _("Interim measures need a prima facie case.")
    if status in (ComplaintStatus.assessment, ComplaintStatus.interim_measures):
        if prima_facie:
            allowed.add(Step.investigate)
        else:
            waiting[Step.investigate] = _(
                "There is no prima facie case: close the complaint instead."
            )
    if status is ComplaintStatus.investigation:
        allowed.add(Step.determine)
    if status in (ComplaintStatus.determination, ComplaintStatus.remedies):
        if complaint.outcome == ComplaintOutcome.established:
            allowed.add(Step.remedy)
        else:
            waiting[Step.remedy] = _(
                "Remedies follow only a determination that retaliation took place."
            )
    if status is not ComplaintStatus.closed:
        allowed.add(Step.close)
    else:
        waiting[Step.close] = _("This complaint is closed.")
    if not protected:
        allowed.add(Step.protect)
    else:
        waiting[Step.protect] = _("The complainant is already under HR watch.")
    if complaint.via == "receipt":
        allowed.add(Step.message)
    else:
        waiting[Step.message] = _(
            "An identified complainant has no key to read messages here: contact them "
            "directly and keep a note."
        )
    return Steps(frozenset(allowed), waiting, prima_facie=prima_facie, protected=protected)


_ASSESSMENT = ComplaintItemKind.assessment
_MEASURE_STATUSES = (
    ComplaintStatus.assessment,
    ComplaintStatus.interim_measures,
    ComplaintStatus.investigation,
    ComplaintStatus.determination,
)
