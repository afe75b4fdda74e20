"""The signed burden-of-proof pack: the protected report's date and every adverse decision
after it — alleged by the complainant, held in Mérito's own records, or recorded by the HR
watch — for the employer to justify (EU Directive 2019/1937, Art. 21(5)).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session

from assessments.appraisals import service as appraisals
from assessments.vacancies import service as vacancies
from backend import audit, clock
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import N_, _
from backend.org import service as org_service
from competency_framework.training import service as training
from whistleblowing import deadlines
from whistleblowing.models import (
    DETRIMENTAL_ACT_LABELS,
    DetrimentalAct,
)
from whistleblowing.service.common import ReportingError
from whistleblowing.service.keys import DocumentCheck, sign_document, verify_signed_document

from .common import PACK_TYPE, ComplaintAccess
from .items import _complaint_content, protected_employee_id
from .watch import EVENT_ACTS, WATCHED_EVENTS, Alert, screen

STATUS_CHANGED = N_("Employment status changed")


def _decision(
    *, on: date, act: DetrimentalAct, what: str, source: str, description: str, record: str = ""
) -> dict[str, Any]:
    entry = {
        "on": on.isoformat(),
        "kind": act.value,
        "what": what,
        "source": source,
        "description": description,
    }
    if record:
        entry["record"] = record
    return entry


def _recorded_decisions(
    session: Session, settings: Settings, *, employee_id: int, since: date
) -> list[dict[str, Any]]:
    """Return the adverse decisions about the employee that Mérito's own records hold from
    `since` on — appraisals, competitions, training, unit, position and status — whether or
    not anyone was watching then (the HR watch only starts when a protection does).

    Each domain answers through a read-only function of its service package.
    """
    start = datetime.combine(since, time.min, tzinfo=clock.zone(settings.time_zone))

    def day(moment: datetime) -> date:
        return deadlines.local_day(moment, settings.time_zone)

    source = "recorded by Mérito"
    found = []
    for rating in appraisals.adverse_ratings(session, employee_id=employee_id, since=start):
        event = "appraisal.does_not_meet" if rating.does_not_meet else "appraisal.rating_dropped"
        previous = f" (previous appraisal: {rating.previous})" if rating.previous else ""
        found.append(
            _decision(
                on=day(rating.completed_at),
                act=DetrimentalAct.negative_appraisal,
                what=WATCHED_EVENTS[event],
                source=source,
                description=f"{rating.cycle}: final rating {rating.rating} of 5{previous}",
                record=f"appraisal:{rating.appraisal_id}",
            )
        )
    for rejection in vacancies.rejections_of(session, employee_id=employee_id, since=start):
        found.append(
            _decision(
                on=day(rejection.on),
                act=DetrimentalAct.exclusion_competition,
                what=WATCHED_EVENTS["vacancy.candidate_rejected"],
                source=source,
                description=(
                    f"{rejection.reference} {rejection.title}: out at {rejection.stage} "
                    f"({rejection.reason})"
                ),
                record=f"vacancy:{rejection.vacancy_id}",
            )
        )
    for refusal in training.refusals_of(session, employee_id=employee_id, since=start):
        declined = refusal.kind == "declined"
        found.append(
            _decision(
                on=day(refusal.on),
                act=DetrimentalAct.exclusion_training,
                what=WATCHED_EVENTS[
                    "training.request_refused" if declined else "training.enrolment_cancelled"
                ],
                source=source,
                description=(
                    f"{refusal.activity_code} {refusal.activity_title}: "
                    + (f"reason given: {refusal.reason}" if refusal.reason else "no reason given")
                ),
                record=(
                    f"training-item:{refusal.plan_item_id}"
                    if declined
                    else f"training-enrolment:{refusal.enrolment_id}"
                ),
            )
        )
    for change in org_service.placement_changes(session, employee_id=employee_id, since=start):
        if change.what == "status" and change.after == "active":
            continue  # back at work: not a detriment
        act, what, record = {
            "unit": (DetrimentalAct.transfer, WATCHED_EVENTS["employee.moved"], "unit"),
            "position": (
                DetrimentalAct.change_of_duties,
                WATCHED_EVENTS["org.role_changed"],
                "position",
            ),
            "status": (DetrimentalAct.other, STATUS_CHANGED, "status"),
        }[change.what]
        on = day(change.at)
        found.append(
            _decision(
                on=on,
                act=act,
                what=what,
                source=source,
                description=f"from {change.before_label or '-'} to {change.after_label or '-'}",
                record=f"{record}:{change.before}>{change.after}@{on.isoformat()}",
            )
        )
    return found


def _alert_record(alert: Alert) -> str:
    """Return the record an HR watch alert is about, named as `_recorded_decisions` names it
    (so a decision found both ways is listed once), or "" when the payload does not say."""
    payload, on = alert.payload, alert.occurred_on.isoformat()
    keyed = {
        "appraisal.rating_dropped": ("appraisal", "appraisal_id"),
        "appraisal.does_not_meet": ("appraisal", "appraisal_id"),
        "vacancy.candidate_rejected": ("vacancy", "vacancy_id"),
        "training.request_refused": ("training-item", "plan_item_id"),
        "training.enrolment_cancelled": ("training-enrolment", "enrolment_id"),
    }
    if alert.event in keyed:
        prefix, key = keyed[alert.event]
        return f"{prefix}:{payload[key]}" if payload.get(key) is not None else ""
    if alert.event == "employee.moved" and "to_unit_id" in payload:
        return f"unit:{payload.get('from_unit_id')}>{payload['to_unit_id']}@{on}"
    if alert.event == "org.role_changed" and "to_position_id" in payload:
        return f"position:{payload.get('from_position_id')}>{payload['to_position_id']}@{on}"
    return ""


def burden_of_proof_pack(
    session: Session,
    settings: Settings,
    *,
    access: ComplaintAccess,
    officer: User,
    holder_private: bytes,
    today: date,
) -> dict[str, Any]:
    """Return the signed burden-of-proof pack of a complaint.

    It shows the protected report's date and every adverse decision on or after it, for the
    employer to justify (EU Directive 2019/1937, Art. 21(5): the burden of proof is reversed):
    those the complainant alleges; those Mérito's own records hold about the protected person
    (appraisals, competitions, training, unit, position, status — found in the records, so
    decisions taken before anyone was watching count too); and those the officer's HR watch
    recorded, once each. Signed with the installation's Ed25519 key; `merito verify-certificate`
    checks it offline. Audited.
    """
    complaint = access.complaint
    content = _complaint_content(session, access)
    made_on = content.get("protected_report", {}).get("made_on")
    if not made_on:
        raise ReportingError(
            _("The day of the protected report is unknown: a pack cannot be made."),
            status_code=409,
        )
    since = date.fromisoformat(made_on)
    decisions = []
    for act in content.get("acts", []):
        if act.get("on") and date.fromisoformat(act["on"]) >= since:
            decisions.append(
                {
                    "on": act["on"],
                    "kind": act["kind"],
                    "what": DETRIMENTAL_ACT_LABELS[DetrimentalAct(act["kind"])],
                    "source": "alleged by the complainant",
                    "description": act.get("description", ""),
                }
            )
    employee_id = protected_employee_id(session, access)
    employee = org_service.get_employee(session, employee_id) if employee_id else None
    recorded = (
        _recorded_decisions(session, settings, employee_id=employee.id, since=since)
        if employee is not None
        else []
    )
    decisions += recorded
    known = {d["record"] for d in recorded}
    alerts = screen(session, settings, officer=officer, holder_private=holder_private, today=today)
    for alert in alerts:
        related = complaint.reference in alert.complaints or (
            employee_id is not None and alert.employee_id == employee_id
        )
        record = _alert_record(alert)
        if related and alert.occurred_on >= since and not (record and record in known):
            act = EVENT_ACTS.get(alert.event, DetrimentalAct.other)
            decisions.append(
                _decision(
                    on=alert.occurred_on,
                    act=act,
                    what=WATCHED_EVENTS.get(alert.event, alert.event),
                    source="recorded by Mérito",
                    description=json.dumps(alert.payload, sort_keys=True),
                    record=record,
                )
            )
            known.add(record)
    person = {"name": employee.full_name, "number": employee.number} if employee else None
    body = {
        "type": PACK_TYPE,
        "version": 2,
        "complaint": complaint.reference,
        "complaint_received_on": complaint.received_on.isoformat(),
        "protected_report": {
            "reference": content.get("protected_report", {}).get("reference") or None,
            "made_on": made_on,
        },
        "protected_person": person,
        # Which records were searched: none when the complainant is not identified yet (the
        # officer links them to an employee first, "Put under HR watch").
        "records_searched": (
            {
                "employee": employee.number,
                "from": made_on,
                "to": today.isoformat(),
                "of": ["appraisals", "competitions", "training", "unit", "position", "status"],
            }
            if employee is not None
            else None
        ),
        "adverse_decisions": sorted(decisions, key=lambda d: (d["on"], d["kind"])),
        "generated_on": today.isoformat(),
        "note": (
            "EU Directive 2019/1937, Art. 21(5): it is for the person who took each decision "
            "to prove that it was based on duly justified grounds unrelated to the report."
        ),
    }
    pack = sign_document(session, settings, body)
    audit.record(
        session,
        action="retaliation.pack_generated",
        actor=officer,
        entity_type="retaliation_complaint",
        entity_id=complaint.reference,
        after={"decisions": len(decisions), "recorded": len(recorded)},
    )
    return pack


def verify_pack(raw: bytes | str, *, expected_fingerprint: str = "") -> DocumentCheck:
    """Return whether a burden-of-proof pack is intact and signed by the expected key."""
    return verify_signed_document(
        raw, expected_type=PACK_TYPE, expected_fingerprint=expected_fingerprint
    )
