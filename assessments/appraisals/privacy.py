"""The appraisals domain's part of privacy: a person's appraisals in their data export
(`privacy.export`) and the retention of appraisals of finished cycles (`privacy.retention`).

Export: the employee's appraisals with their objectives, both written assessments, the
dialogue and the development actions agreed. Retention: the appraisals of a completed cycle are
deleted (with everything that hangs from them) once the period has passed since the cycle's
period ended (default 5 years); the cycle itself stays, with its count brought down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, delete, select

from assessments.appraisals.models import (
    Appraisal,
    AppraisalAssessment,
    AppraisalCycle,
    AppraisalDialogue,
    DevelopmentAction,
    Objective,
)
from backend.i18n import N_, _
from backend.privacy import service as privacy
from backend.privacy.contracts import DueRecord, ExportPart, ExportSubject, RetentionRule

BATCH = 500


def export(session: Session, person: ExportSubject) -> list[ExportPart]:
    if person.employee_id is None:
        return []
    appraisals = session.exec(
        select(Appraisal)
        .where(Appraisal.employee_id == person.employee_id)
        .order_by(col(Appraisal.id))
    ).all()
    ids = [a.id for a in appraisals]
    cycles = dict(session.exec(select(AppraisalCycle.id, AppraisalCycle.name)).all())
    rows = privacy.record_rows(list(appraisals))
    for row in rows:
        row["cycle"] = cycles.get(row.get("cycle_id"), "")

    def of(model) -> list:
        return list(session.exec(select(model).where(col(model.appraisal_id).in_(ids))).all())

    return [
        ExportPart("appraisals/appraisals.csv", rows),
        ExportPart("appraisals/objectives.csv", privacy.record_rows(of(Objective))),
        ExportPart("appraisals/assessments.csv", privacy.record_rows(of(AppraisalAssessment))),
        ExportPart("appraisals/dialogues.csv", privacy.record_rows(of(AppraisalDialogue))),
        ExportPart(
            "appraisals/development_actions.csv", privacy.record_rows(of(DevelopmentAction))
        ),
    ]


def due_appraisals(session: Session, cutoff: date) -> list[DueRecord]:
    rows = session.exec(
        select(Appraisal.id, AppraisalCycle.name, AppraisalCycle.period_end)
        .join(AppraisalCycle, col(AppraisalCycle.id) == Appraisal.cycle_id)
        .where(col(AppraisalCycle.completed_at).is_not(None), AppraisalCycle.period_end < cutoff)
        .order_by(col(Appraisal.id))
        .limit(BATCH)
    ).all()
    return [
        DueRecord(str(i), _("Appraisal #%(id)s, %(cycle)s", id=i, cycle=name), end)
        for i, name, end in rows
    ]


def delete_appraisals(session: Session, keys: Sequence[str]) -> int:
    ids = [int(k) for k in keys]
    if not ids:
        return 0
    per_cycle = Counter(
        session.exec(select(Appraisal.cycle_id).where(col(Appraisal.id).in_(ids))).all()
    )
    session.exec(delete(Appraisal).where(col(Appraisal.id).in_(ids)))
    for cycle_id, count in per_cycle.items():
        cycle = session.get(AppraisalCycle, cycle_id)
        cycle.appraisal_count = max(0, cycle.appraisal_count - count)
        session.add(cycle)
    return len(ids)


def retention_rules() -> list[RetentionRule]:
    return [
        RetentionRule(
            record_type="appraisals.appraisals",
            label=N_("Appraisals of completed cycles"),
            counted_from=N_("the end of the cycle's period"),
            default_months=60,
            action="delete",
            due=due_appraisals,
            act=delete_appraisals,
        )
    ]
