"""The training domain's part of privacy: a person's training records in their data export
(`privacy.export`) and the retention of finished enrolments (`privacy.retention`).

Retention: an enrolment that ended (completed, not passed or cancelled) is deleted, with its
stored certificate file, once its period has passed since it ended (default 5 years).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from backend.i18n import N_, _
from backend.privacy import service as privacy
from backend.privacy.contracts import DueRecord, ExportPart, ExportSubject, RetentionRule
from competency_framework.training.models import (
    EnrolmentStatus,
    MentorAssignment,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
)

FINISHED = (EnrolmentStatus.completed, EnrolmentStatus.not_passed, EnrolmentStatus.cancelled)
BATCH = 500


def export(session: Session, person: ExportSubject) -> list[ExportPart]:
    if person.employee_id is None:
        return []
    titles = dict(session.exec(select(TrainingActivity.id, TrainingActivity.title_es)).all())
    enrolments = session.exec(
        select(TrainingEnrolment)
        .where(TrainingEnrolment.employee_id == person.employee_id)
        .order_by(col(TrainingEnrolment.id))
    ).all()
    rows = privacy.record_rows(list(enrolments), drop=("certificate_file", "rating_entry_ids"))
    for row in rows:
        row["activity"] = titles.get(row.get("activity_id"), "")
    plans = session.exec(
        select(TrainingPlan).where(TrainingPlan.employee_id == person.employee_id)
    ).all()
    items = session.exec(
        select(TrainingPlanItem).where(col(TrainingPlanItem.plan_id).in_([p.id for p in plans]))
    ).all()
    mentoring = session.exec(
        select(MentorAssignment).where(
            (MentorAssignment.mentor_employee_id == person.employee_id)
            | (MentorAssignment.mentee_employee_id == person.employee_id)
        )
    ).all()
    return [
        ExportPart("training/enrolments.csv", rows),
        ExportPart("training/plans.csv", privacy.record_rows(list(plans))),
        ExportPart("training/plan_items.csv", privacy.record_rows(list(items))),
        ExportPart("training/mentoring.csv", privacy.record_rows(list(mentoring))),
    ]


def _ended():
    return func.coalesce(TrainingEnrolment.completed_at, TrainingEnrolment.cancelled_at)


def due_enrolments(session: Session, cutoff: date) -> list[DueRecord]:
    limit = datetime.combine(cutoff, time.min, tzinfo=UTC)
    rows = session.exec(
        select(TrainingEnrolment.id, TrainingActivity.title_es, _ended())
        .join(TrainingActivity, col(TrainingActivity.id) == TrainingEnrolment.activity_id)
        .where(col(TrainingEnrolment.status).in_(FINISHED), _ended() < limit)
        .order_by(col(TrainingEnrolment.id))
        .limit(BATCH)
    ).all()
    return [
        DueRecord(str(i), _("Enrolment #%(id)s in %(activity)s", id=i, activity=title), ended)
        for i, title, ended in rows
    ]


def delete_enrolments(session: Session, keys: Sequence[str]) -> int:
    ids = [int(k) for k in keys]
    if not ids:
        return 0
    settings = session.info.get("settings")
    files = session.exec(
        select(TrainingEnrolment.certificate_file).where(
            col(TrainingEnrolment.id).in_(ids), TrainingEnrolment.certificate_file != ""
        )
    ).all()
    session.exec(delete(TrainingEnrolment).where(col(TrainingEnrolment.id).in_(ids)))
    if settings is not None:
        folder = settings.data_dir / "training_evidence"
        for name in files:
            (folder / name).unlink(missing_ok=True)
    return len(ids)


def retention_rules() -> list[RetentionRule]:
    return [
        RetentionRule(
            record_type="training.enrolments",
            label=N_("Training records (finished enrolments)"),
            counted_from=N_("the day the enrolment was completed or cancelled"),
            default_months=60,
            action="delete",
            due=due_enrolments,
            act=delete_enrolments,
        )
    ]
