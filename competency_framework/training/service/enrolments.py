"""Enrolment in sessions (seats and a waiting list), cancellation, and completion with evidence.

Completion closes the loop with the competency framework: for each competency the activity
develops, the level it aims at is written to the rating log as an unvalidated `training` entry,
which waits in the supervisor's validation queue like a self-assessment; and
`training.completed` is published (the appraisals domain records manager training from it).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from backend import audit, clock, crypto
from backend.config import Settings
from backend.events import DomainEvent, publish
from backend.files import safe_filename
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Position
from competency_framework import service as competency_service
from competency_framework.training import notices as session_notices
from competency_framework.training.models import (
    ACTIVE_ENROLMENT_STATUSES,
    Audience,
    EnrolmentStatus,
    EvidenceRule,
    ExternalLearner,
    ItemOrigin,
    ItemStatus,
    TrainingActivity,
    TrainingEnrolment,
    TrainingPlan,
    TrainingPlanItem,
    TrainingSession,
)
from competency_framework.training.schemas import Certificate
from competency_framework.training.service.catalogue import activity_targets
from competency_framework.training.service.plans import ensure_plan
from competency_framework.training.service.rules import (
    ENROLMENT_CANCELLED,
    TRAINING_COMPLETED,
    Actor,
    TrainingError,
    audience_of,
    is_self,
    is_supervisor_of,
    is_training_hr,
    plan_year,
    rules,
    settings_of,
)

EVIDENCE_DIR_NAME = "training_evidence"
# The supervisor or HR took an employee's place in a session away (watched by the HR watch).
# Certificates: what they may be, recognised by their first bytes (never by name or header).
CERTIFICATE_TYPES = {
    "pdf": ("application/pdf", ".pdf"),
    "png": ("image/png", ".png"),
    "jpeg": ("image/jpeg", ".jpg"),
}
# Declared types that say nothing (browsers send these for unknown files).
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


def evidence_dir(settings: Settings) -> Path:
    """Return where certificates are kept: inside the data directory, never the web root."""
    return settings.data_dir / EVIDENCE_DIR_NAME


def sniff_certificate(data: bytes) -> str | None:
    """Return the certificate type `data` really is (pdf, png, jpeg), or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


# --- reading ----------------------------------------------------------------------------------


def active_enrolment(
    session: Session, *, plan_item_id: int | None = None, employee_id: int | None = None
) -> TrainingEnrolment | None:
    statement = select(TrainingEnrolment).where(
        col(TrainingEnrolment.status).in_(ACTIVE_ENROLMENT_STATUSES)
    )
    if plan_item_id is not None:
        statement = statement.where(TrainingEnrolment.plan_item_id == plan_item_id)
    if employee_id is not None:
        statement = statement.where(TrainingEnrolment.employee_id == employee_id)
    return session.exec(statement).first()


def roster(session: Session, training_session: TrainingSession) -> list[TrainingEnrolment]:
    """Return a session's enrolments: seats first, then the waiting list in order, then others."""
    rows = session.exec(
        select(TrainingEnrolment)
        .where(TrainingEnrolment.session_id == training_session.id)
        .order_by(col(TrainingEnrolment.id))
    ).all()
    order = {
        EnrolmentStatus.completed: 0,
        EnrolmentStatus.not_passed: 0,
        EnrolmentStatus.enrolled: 1,
        EnrolmentStatus.waitlisted: 2,
        EnrolmentStatus.cancelled: 3,
    }
    return sorted(rows, key=lambda e: (order.get(e.status, 9), e.id))


def learner_name(session: Session, enrolment: TrainingEnrolment) -> str:
    if enrolment.employee_id is not None:
        employee = session.get(Employee, enrolment.employee_id)
        return employee.full_name if employee else ""
    learner = session.get(ExternalLearner, enrolment.learner_id)
    return f"{learner.full_name} ({learner.organisation})" if learner else ""


def can_act_on(session: Session, actor: Actor, enrolment: TrainingEnrolment) -> bool:
    """The learner themself, the employee's supervisor, or HR."""
    if is_training_hr(actor):
        return True
    if enrolment.employee_id is not None:
        employee = session.get(Employee, enrolment.employee_id)
        return employee is not None and (
            is_self(actor, employee) or is_supervisor_of(actor, employee)
        )
    learner = session.get(ExternalLearner, enrolment.learner_id)
    return learner is not None and learner.user_id == actor.user.id


def my_enrolments(
    session: Session, *, employee_id: int | None = None, learner_id: int | None = None
) -> list[tuple[TrainingEnrolment, TrainingSession, TrainingActivity]]:
    """Return a learner's enrolments with session and activity, upcoming sessions first."""
    statement = (
        select(TrainingEnrolment, TrainingSession, TrainingActivity)
        .join(TrainingSession, col(TrainingSession.id) == TrainingEnrolment.session_id)
        .join(TrainingActivity, col(TrainingActivity.id) == TrainingEnrolment.activity_id)
    )
    if employee_id is not None:
        statement = statement.where(TrainingEnrolment.employee_id == employee_id)
    elif learner_id is not None:
        statement = statement.where(TrainingEnrolment.learner_id == learner_id)
    else:
        return []
    rows = list(session.exec(statement.order_by(col(TrainingSession.starts_at))).all())
    now = clock.now()
    return sorted(rows, key=lambda r: (r[1].ends_at < now, r[1].starts_at))


# --- enrolling --------------------------------------------------------------------------------


def _locked_session(session: Session, session_id: int) -> TrainingSession | None:
    """Return the session row, locked until commit on PostgreSQL (SQLite serialises writers)."""
    return session.exec(
        select(TrainingSession).where(TrainingSession.id == session_id).with_for_update()
    ).first()


def _session_to_enrol(session: Session, session_id: int) -> TrainingSession:
    """Return the session row, locked (`_locked_session`); 404 when there is none."""
    training_session = _locked_session(session, session_id)
    if training_session is None:
        raise TrainingError(_("This session does not exist."), status_code=404)
    return training_session


def _take_seat(
    session: Session,
    training_session: TrainingSession,
    activity: TrainingActivity,
    actor: Actor | None,
    audited: tuple[str, int],
    **learner: int,
) -> TrainingEnrolment:
    """Give `learner` (an employee and their plan item, or a supplier learner) a seat in the
    session, or a place on its waiting list when it is full; audited on `audited` (the entity
    type and id)."""
    status = _seat_status(session, training_session)
    enrolment = TrainingEnrolment(
        session_id=training_session.id,
        activity_id=activity.id,
        status=status,
        enrolled_by_id=actor.user.id if actor is not None else None,
        **learner,
    )
    session.add(enrolment)
    session.flush()
    entity_type, entity_id = audited
    audit.record(
        session,
        action="training.enrolled" if status == EnrolmentStatus.enrolled else "training.waitlisted",
        actor=actor.user if actor is not None else "merito",
        entity_type=entity_type,
        entity_id=entity_id,
        after={"session": training_session.id, "activity": activity.code, "status": status},
    )
    if status == EnrolmentStatus.enrolled:
        session_notices.tell_seat(session, enrolment)
    return enrolment


def _seat_status(session: Session, training_session: TrainingSession) -> EnrolmentStatus:
    if training_session.capacity <= 0:
        return EnrolmentStatus.enrolled
    taken = session.exec(
        select(func.count()).where(
            TrainingEnrolment.session_id == training_session.id,
            col(TrainingEnrolment.status).in_(
                [EnrolmentStatus.enrolled, EnrolmentStatus.completed, EnrolmentStatus.not_passed]
            ),
        )
    ).one()
    if taken < training_session.capacity:
        return EnrolmentStatus.enrolled
    return EnrolmentStatus.waitlisted


def _check_open(training_session: TrainingSession, activity: TrainingActivity) -> None:
    if training_session.is_cancelled:
        raise TrainingError(_("This session was cancelled."), status_code=409)
    if training_session.ends_at < clock.now():
        raise TrainingError(_("This session is over."), status_code=409)
    if not activity.is_active:
        raise TrainingError(_("This activity is no longer offered."), status_code=409)


def approved_item(
    session: Session, *, employee: Employee, activity: TrainingActivity
) -> TrainingPlanItem | None:
    return session.exec(
        select(TrainingPlanItem)
        .join(TrainingPlan, col(TrainingPlan.id) == TrainingPlanItem.plan_id)
        .where(
            TrainingPlanItem.employee_id == employee.id,
            TrainingPlanItem.activity_id == activity.id,
            TrainingPlanItem.status == ItemStatus.approved,
        )
        .order_by(col(TrainingPlan.year).desc())
    ).first()


def enrol_employee(
    session: Session,
    *,
    training_session_id: int,
    employee: Employee,
    actor: Actor | None,
    year: int | None = None,
) -> TrainingEnrolment:
    """Give an employee a seat in a session, or a place on its waiting list when it is full.

    The activity must be approved in the person's plan. HR may enrol anyone in an activity open
    to their audience: the activity is then added to their plan as approved (origin `hr`).
    The person, their supervisor or HR may enrol them (actor None: the system).
    """
    training_session = _session_to_enrol(session, training_session_id)
    activity = session.get(TrainingActivity, training_session.activity_id)
    if actor is not None and not (
        is_self(actor, employee) or is_supervisor_of(actor, employee) or is_training_hr(actor)
    ):
        raise TrainingError(_("You cannot enrol this person."), status_code=403)
    if employee.status == EmployeeStatus.left:
        raise TrainingError(_("This person has left the organisation."), status_code=409)
    _check_open(training_session, activity)
    item = approved_item(session, employee=employee, activity=activity)
    if item is None:
        if actor is not None and not is_training_hr(actor):
            raise TrainingError(
                _("This activity is not approved in the plan yet: ask your supervisor first."),
                status_code=409,
            )
        item = _hr_item(session, employee=employee, activity=activity, actor=actor, year=year)
    if active_enrolment(session, plan_item_id=item.id) is not None:
        raise TrainingError(
            _("Already enrolled (or on the waiting list) for this activity."), status_code=409
        )
    return _take_seat(
        session,
        training_session,
        activity,
        actor,
        ("employee", employee.id),
        plan_item_id=item.id,
        employee_id=employee.id,
    )


def _hr_item(
    session: Session,
    *,
    employee: Employee,
    activity: TrainingActivity,
    actor: Actor | None,
    year: int | None,
) -> TrainingPlanItem:

    audience = audience_of(_role_code(session, employee))
    if audience.value not in (activity.audience or []):
        raise TrainingError(
            _("This activity is not open to this person's audience."), status_code=409
        )
    plan = ensure_plan(session, employee=employee, year=year or plan_year(settings_of(session)))
    origin = ItemOrigin.induction if activity.is_induction else ItemOrigin.hr
    item = TrainingPlanItem(
        plan_id=plan.id,
        employee_id=employee.id,
        activity_id=activity.id,
        origin=origin,
        status=ItemStatus.approved,
        priority=0 if activity.is_induction else 50,
        cost=activity.cost,
        decided_by_id=actor.user.id if actor is not None else None,
        decided_at=clock.now(),
    )
    session.add(item)
    session.flush()
    return item


def _role_code(session: Session, employee: Employee) -> str:
    position = session.get(Position, employee.position_id) if employee.position_id else None
    return position.role_code if position else ""


def enrol_learner(
    session: Session, *, training_session_id: int, learner: ExternalLearner, actor: Actor | None
) -> TrainingEnrolment:
    """Enrol a supplier representative in a session of an activity open to suppliers (HR; actor
    None: the system)."""
    if actor is not None and not is_training_hr(actor):
        raise TrainingError(_("Only HR can enrol supplier learners."), status_code=403)
    training_session = _session_to_enrol(session, training_session_id)
    activity = session.get(TrainingActivity, training_session.activity_id)
    _check_open(training_session, activity)
    if Audience.suppliers.value not in (activity.audience or []):
        raise TrainingError(_("This activity is not open to suppliers."), status_code=409)
    already = session.exec(
        select(TrainingEnrolment).where(
            TrainingEnrolment.learner_id == learner.id,
            TrainingEnrolment.activity_id == activity.id,
            col(TrainingEnrolment.status).in_(ACTIVE_ENROLMENT_STATUSES),
        )
    ).first()
    if already is not None:
        raise TrainingError(
            _("Already enrolled (or on the waiting list) for this activity."), status_code=409
        )
    return _take_seat(
        session,
        training_session,
        activity,
        actor,
        ("training_external_learner", learner.id),
        learner_id=learner.id,
    )


def cancel(
    session: Session,
    *,
    enrolment: TrainingEnrolment,
    actor: Actor,
    reason: str = "",
    checked: bool = False,
    announce: bool = True,
) -> TrainingEnrolment | None:
    """Cancel a seat or a place on the waiting list; return whoever was promoted to the seat.

    Freeing a seat gives it to the first person on the waiting list (by time of enrolment).
    When the supervisor or HR cancels an employee's place (not the employee themself), it is an
    adverse decision about them: `training.enrolment_cancelled` is published, which the
    reporting channel's HR watch looks at (`announce=False` when the caller already announced
    the decision behind it, such as declining the plan item).
    """
    if not checked and not can_act_on(session, actor, enrolment):
        raise TrainingError(_("You cannot cancel this enrolment."), status_code=403)
    if enrolment.status not in ACTIVE_ENROLMENT_STATUSES:
        raise TrainingError(_("This enrolment is not active any more."), status_code=409)
    training_session = _locked_session(session, enrolment.session_id)
    before = enrolment.status
    enrolment.status = EnrolmentStatus.cancelled
    enrolment.cancelled_at = clock.now()
    enrolment.cancelled_by_id = actor.user.id
    enrolment.cancel_reason = (reason or "").strip()[:1000]
    session.add(enrolment)
    session.flush()
    promoted = None
    if before == EnrolmentStatus.enrolled:
        promoted = _promote(session, training_session)
    audit.record(
        session,
        action="training.enrolment_cancelled",
        actor=actor.user,
        entity_type="training_enrolment",
        entity_id=enrolment.id,
        before={"status": before},
        after={
            "status": enrolment.status,
            "reason": enrolment.cancel_reason,
            "promoted": promoted.id if promoted else None,
        },
    )
    session_notices.tell_cancelled(session, enrolment, had_seat=before == EnrolmentStatus.enrolled)
    employee = session.get(Employee, enrolment.employee_id) if enrolment.employee_id else None
    if announce and employee is not None and not is_self(actor, employee):
        activity = session.get(TrainingActivity, enrolment.activity_id)
        publish(
            session,
            DomainEvent(
                ENROLMENT_CANCELLED,
                {
                    "employee_id": employee.id,
                    "enrolment_id": enrolment.id,
                    "plan_item_id": enrolment.plan_item_id,
                    "activity_code": activity.code if activity else None,
                    "previous_status": before,
                    "by": "supervisor" if is_supervisor_of(actor, employee) else "hr",
                    "cancelled_by_user_id": actor.user.id,
                    "has_reason": bool(enrolment.cancel_reason),
                    "reason": enrolment.cancel_reason,
                },
                subject_employee_id=employee.id,
            ),
        )
    return promoted


def _promote(session: Session, training_session: TrainingSession) -> TrainingEnrolment | None:
    if _seat_status(session, training_session) != EnrolmentStatus.enrolled:
        return None
    first = session.exec(
        select(TrainingEnrolment)
        .where(
            TrainingEnrolment.session_id == training_session.id,
            TrainingEnrolment.status == EnrolmentStatus.waitlisted,
        )
        .order_by(col(TrainingEnrolment.id))
    ).first()
    if first is None:
        return None
    first.status = EnrolmentStatus.enrolled
    first.promoted_at = clock.now()
    session.add(first)
    session.flush()
    audit.record(
        session,
        action="training.promoted_from_waiting_list",
        actor="merito",
        entity_type="training_enrolment",
        entity_id=first.id,
        after={"session": training_session.id},
    )
    session_notices.tell_seat(session, first)
    return first


def cancel_session(
    session: Session, *, training_session: TrainingSession, actor: Actor, reason: str = ""
) -> int:
    """Cancel a whole session (HR): every seat and waiting place goes; return how many."""
    if not is_training_hr(actor):
        raise TrainingError(_("Only HR can cancel sessions."), status_code=403)
    if training_session.is_cancelled:
        raise TrainingError(_("This session was cancelled."), status_code=409)
    training_session.is_cancelled = True
    session.add(training_session)
    affected = 0
    seated: list[TrainingEnrolment] = []
    for enrolment in session.exec(
        select(TrainingEnrolment).where(
            TrainingEnrolment.session_id == training_session.id,
            col(TrainingEnrolment.status).in_(ACTIVE_ENROLMENT_STATUSES),
        )
    ):
        if enrolment.status == EnrolmentStatus.enrolled:
            seated.append(enrolment)
        enrolment.status = EnrolmentStatus.cancelled
        enrolment.cancelled_at = clock.now()
        enrolment.cancelled_by_id = actor.user.id
        enrolment.cancel_reason = (reason or _("The session was cancelled.")).strip()[:1000]
        session.add(enrolment)
        affected += 1
    session.flush()
    for enrolment in seated:
        session_notices.tell_cancelled(session, enrolment, had_seat=True)
    audit.record(
        session,
        action="training.session_cancelled",
        actor=actor.user,
        entity_type="training_session",
        entity_id=training_session.id,
        after={"enrolments_cancelled": affected, "reason": reason},
    )
    return affected


# --- completion -------------------------------------------------------------------------------


def check_certificate(certificate: Certificate, *, max_bytes: int) -> tuple[str, str, str]:
    """Return (kind, content type, extension) of an acceptable certificate or raise."""
    if not certificate.data:
        raise TrainingError(_("The certificate file is empty."), field="certificate")
    if len(certificate.data) > max_bytes:
        raise TrainingError(
            _("The certificate is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024)),
            field="certificate",
        )
    kind = sniff_certificate(certificate.data)
    if kind is None:
        raise TrainingError(
            _("The certificate must be a PDF, PNG or JPEG file."), field="certificate"
        )
    content_type, extension = CERTIFICATE_TYPES[kind]
    declared = (certificate.content_type or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and declared != content_type:
        raise TrainingError(
            _("The file's content does not match its type (%(declared)s).", declared=declared),
            field="certificate",
        )
    return kind, content_type, extension


def _store_certificate(settings: Settings, data: bytes, extension: str) -> str:
    folder = evidence_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = crypto.new_hex(16) + extension
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return name


def certificate_path(settings: Settings, enrolment: TrainingEnrolment) -> Path | None:
    """Return the stored certificate's path (None if there is none)."""
    if not enrolment.certificate_file:
        return None
    # The stored name is ours (random hex + extension), never the uploader's.
    path = evidence_dir(settings) / Path(enrolment.certificate_file).name
    return path if path.exists() else None


def _parse_score(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        score = float(str(value).strip())
    except ValueError:
        raise TrainingError(_("Enter a score from 0 to 100."), field="score")
    if not score.is_integer() or not 0 <= score <= 100:
        raise TrainingError(_("Enter a score from 0 to 100."), field="score")
    return int(score)


@dataclass
class Completion:
    enrolment: TrainingEnrolment
    passed: bool
    rating_entries: list


def complete(
    session: Session,
    settings: Settings,
    *,
    enrolment: TrainingEnrolment,
    actor: Actor,
    score: object = None,
    certificate: Certificate | None = None,
    note: str = "",
    certificate_expires_on: str = "",
) -> Completion:
    """Record that a learner finished an activity, with the evidence the activity requires.

    A score below the activity's pass mark is recorded as "not passed" (the approved activity
    stays in the plan, to enrol again). A pass writes, for each competency the activity develops
    whose current level is below the level it aims at, an unvalidated `training` entry to the
    rating log (the supervisor confirms it), completes the plan item and publishes
    `training.completed`.
    """
    if not can_act_on(session, actor, enrolment):
        raise TrainingError(_("You cannot record this completion."), status_code=403)
    if enrolment.status != EnrolmentStatus.enrolled:
        raise TrainingError(
            _("Only a confirmed seat can be completed (not a waiting place or a cancelled one)."),
            status_code=409,
        )
    training_session = session.get(TrainingSession, enrolment.session_id)
    activity = session.get(TrainingActivity, enrolment.activity_id)
    if training_session.starts_at > clock.now():
        raise TrainingError(_("This session has not started yet."), status_code=409)
    errors: dict[str, str] = {}
    try:
        value = _parse_score(score)
    except TrainingError as err:
        errors["score"] = str(err)
        value = None
    stored: tuple[str, str, str] | None = None
    if certificate is not None and certificate.data:
        try:
            stored = check_certificate(certificate, max_bytes=rules().certificate_max_bytes)
        except TrainingError as err:
            errors["certificate"] = str(err)
    note = (note or "").strip()
    if len(note) > 1000:
        errors["note"] = _("Keep the note under 1,000 characters.")
    expires_on = _expiry(certificate_expires_on, clock.today(settings), errors)
    rule = activity.evidence
    if not errors:
        if rule == EvidenceRule.certificate and stored is None:
            errors["certificate"] = _("This activity needs the certificate to record completion.")
        elif rule == EvidenceRule.score and value is None:
            errors["score"] = _("This activity needs the score to record completion.")
        elif rule == EvidenceRule.certificate_or_score and stored is None and value is None:
            errors["certificate"] = _("This activity needs a certificate or a score.")
    if errors:
        raise TrainingError(
            _("The completion was not recorded."), errors=errors, field=next(iter(errors))
        )
    passed = value is None or activity.pass_score is None or value >= activity.pass_score
    now = clock.now()
    if stored is not None:
        _kind, content_type, extension = stored
        enrolment.certificate_file = _store_certificate(settings, certificate.data, extension)
        enrolment.certificate_name = safe_filename(certificate.filename or "", default="")
        enrolment.certificate_type = content_type
        enrolment.certificate_sha256 = crypto.sha256_hex(certificate.data)
        session.info.setdefault("training_files_written", []).append(
            evidence_dir(settings) / enrolment.certificate_file
        )
    enrolment.score = value
    enrolment.certificate_expires_on = expires_on
    enrolment.evidence_note = note
    enrolment.completed_at = now
    enrolment.completed_by_id = actor.user.id
    enrolment.status = EnrolmentStatus.completed if passed else EnrolmentStatus.not_passed
    session.add(enrolment)
    entries = []
    employee = session.get(Employee, enrolment.employee_id) if enrolment.employee_id else None
    if passed and enrolment.plan_item_id is not None:
        item = session.get(TrainingPlanItem, enrolment.plan_item_id)
        item.status = ItemStatus.completed
        item.completed_at = now
        session.add(item)
    if passed and employee is not None:
        entries = _record_levels(session, employee=employee, activity=activity, actor=actor)
        enrolment.rating_entry_ids = [e.id for e in entries]
    session.flush()
    audit.record(
        session,
        action="training.completed" if passed else "training.not_passed",
        actor=actor.user,
        entity_type="training_enrolment",
        entity_id=enrolment.id,
        after={
            "activity": activity.code,
            "employee_id": enrolment.employee_id,
            "learner_id": enrolment.learner_id,
            "score": value,
            "certificate_sha256": enrolment.certificate_sha256 or None,
            "certificate_expires_on": expires_on.isoformat() if expires_on else None,
            "rating_entries": enrolment.rating_entry_ids,
        },
    )
    if passed and employee is not None:
        publish(
            session,
            DomainEvent(
                TRAINING_COMPLETED,
                {
                    "activity_code": activity.code,
                    "employee_id": employee.id,
                    "enrolment_id": enrolment.id,
                },
                subject_employee_id=employee.id,
            ),
        )
    return Completion(enrolment, passed, entries)


def _expiry(text: str, today: date, errors: dict[str, str]) -> date | None:
    """The day the certificate stops being valid (a day after today), or None; a problem goes
    into `errors`."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        errors["certificate_expires_on"] = _("Enter a date (YYYY-MM-DD).")
        return None
    if day <= today or day.year > 2200:
        errors["certificate_expires_on"] = _("The expiry date must be after today.")
        return None
    return day


def _record_levels(
    session: Session, *, employee: Employee, activity: TrainingActivity, actor: Actor
) -> list:
    current = competency_service.current_levels(session, employee_id=employee.id)
    competencies = {c.id: c for c in competency_service.list_competencies(session)}
    written = []
    title = activity.title_es
    for target in activity_targets(session, activity):
        rating = current.get(target.competency_id)
        if rating is not None and rating.level >= target.to_level:
            continue
        written.append(
            competency_service.record_training_result(
                session,
                employee=employee,
                competency=competencies[target.competency_id],
                level=target.to_level,
                note=f"{activity.code}: {title} ({clock.today(settings_of(session)).isoformat()})",
                by=actor.user,
            )
        )
    return written


def discard_written_files(session: Session) -> None:
    """Delete certificates written in a transaction that was then rolled back."""
    for path in session.info.pop("training_files_written", []):
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()


def forget_written_files(session: Session) -> None:
    """After a commit: the files written belong to committed rows."""
    session.info.pop("training_files_written", None)


# Built once: the supervisor's dashboard asks on every visit.
_COMPLETED_BY_REPORTS = (
    select(TrainingEnrolment, Employee, TrainingActivity)
    .join(Employee, col(Employee.id) == TrainingEnrolment.employee_id)
    .join(TrainingActivity, col(TrainingActivity.id) == TrainingEnrolment.activity_id)
    .where(
        Employee.supervisor_id == bindparam("supervisor_employee_id"),
        TrainingEnrolment.status == EnrolmentStatus.completed,
    )
    .order_by(col(TrainingEnrolment.completed_at).desc())
    .limit(200)
)


def levels_to_confirm(
    session: Session, *, supervisor_employee_id: int, limit: int | None = None
) -> list[tuple]:
    """Return (employee, enrolment, activity, pending entries) for reports whose training levels
    wait for the supervisor's confirmation, the most recently completed first (the first
    `limit`, if given)."""
    rows = session.execute(
        _COMPLETED_BY_REPORTS, {"supervisor_employee_id": supervisor_employee_id}
    ).all()
    result = []
    pending_cache: dict[int, dict] = {}
    for enrolment, employee, activity in rows:
        if not enrolment.rating_entry_ids:
            continue
        if employee.id not in pending_cache:
            pending_cache[employee.id] = {
                e.id
                for e in competency_service.pending_self_entries(
                    session, employee_id=employee.id
                ).values()
            }
        waiting = [i for i in enrolment.rating_entry_ids if i in pending_cache[employee.id]]
        if waiting:
            result.append((employee, enrolment, activity, waiting))
            if len(result) == limit:
                break
    return result
