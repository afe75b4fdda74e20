"""The training catalogue: activities and the levels they raise, sessions and unit budgets.

Everything here takes a Session and keyword arguments, raises TrainingError with a translated
message on bad input and leaves committing to the caller (a failed check writes nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit, clock
from backend.i18n import _, get_locale
from backend.org.models import Unit
from competency_framework import service as competency_service
from competency_framework.training.models import (
    ActivityTarget,
    Audience,
    EnrolmentStatus,
    EvidenceRule,
    Modality,
    TrainingActivity,
    TrainingBudget,
    TrainingEnrolment,
    TrainingSession,
)
from competency_framework.training.schemas import ActivityInput, TargetInput
from competency_framework.training.service.rules import (
    CODE_PATTERN,
    MAX_CAPACITY,
    MAX_COST,
    MAX_HOURS,
    MAX_TEXT,
    Actor,
    TrainingError,
    is_training_hr,
)

# --- the catalogue ----------------------------------------------------------------------------


def list_activities(
    session: Session,
    *,
    active_only: bool = True,
    modality: str = "",
    competency_code: str = "",
    audience: str = "",
    query: str = "",
) -> list[TrainingActivity]:
    """Return catalogue activities (filtered), ordered by title in the current language."""
    statement = select(TrainingActivity)
    if active_only:
        statement = statement.where(col(TrainingActivity.is_active).is_(True))
    if modality:
        statement = statement.where(TrainingActivity.modality == modality)
    if competency_code:
        competency = competency_service.get_competency(session, competency_code)
        if competency is None:
            return []
        statement = statement.where(
            col(TrainingActivity.id).in_(
                select(ActivityTarget.activity_id).where(
                    ActivityTarget.competency_id == competency.id
                )
            )
        )
    found = list(session.exec(statement))
    if audience:
        found = [a for a in found if audience in (a.audience or [])]
    if query:
        needle = query.strip().lower()
        found = [
            a
            for a in found
            if needle in a.code.lower()
            or needle in a.title_es.lower()
            or needle in a.title_en.lower()
            or needle in (a.provider or "").lower()
        ]
    title = "title_en" if get_locale() == "en" else "title_es"
    return sorted(found, key=lambda a: (not a.is_induction, getattr(a, title).lower()))


def get_activity(session: Session, code: str) -> TrainingActivity | None:
    return session.exec(select(TrainingActivity).where(TrainingActivity.code == code)).first()


def activity_targets(session: Session, activity: TrainingActivity) -> list[ActivityTarget]:
    """Return the competencies an activity develops, in framework order."""
    order = {c.id: c.order for c in competency_service.list_competencies(session)}
    targets = session.exec(
        select(ActivityTarget).where(ActivityTarget.activity_id == activity.id)
    ).all()
    return sorted(targets, key=lambda t: order.get(t.competency_id, 99))


def all_targets(session: Session) -> dict[int, list[ActivityTarget]]:
    """Return {activity_id: targets} for the whole catalogue in one query."""
    table: dict[int, list[ActivityTarget]] = {}
    for target in session.exec(select(ActivityTarget)):
        table.setdefault(target.activity_id, []).append(target)
    return table


@dataclass
class CheckedActivity:
    values: dict[str, Any]
    targets: list[tuple[competency_service.Competency, int, int]]


def _number(value: Any, *, field: str, low: float, high: float, integer: bool) -> float | int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        raise TrainingError(_("Enter a number."), field=field)
    try:
        number = float(str(value).replace(",", "").strip()) if isinstance(value, str) else value
        number = float(number)
    except (TypeError, ValueError):
        raise TrainingError(_("Enter a number."), field=field)
    if number != number or number < low or number > high:  # NaN or out of range
        raise TrainingError(
            _("Enter a number between %(low)s and %(high)s.", low=int(low), high=int(high)),
            field=field,
        )
    if integer:
        if not float(number).is_integer():
            raise TrainingError(_("Enter a whole number."), field=field)
        return int(number)
    return round(number, 1)


def parse_targets(text: str) -> list[TargetInput]:
    """Parse "legal:2-3; procurement_process:1-2" (also 2→3 or 2>3) into target inputs."""
    targets = []
    for part in re.split(r"[;,\n]", text or ""):
        part = part.strip()
        if not part:
            continue
        code, _sep, levels = part.partition(":")
        pieces = re.split(r"\s*(?:-|→|>|to)\s*", levels.strip())
        targets.append(
            TargetInput(
                code.strip(),
                pieces[0] if pieces else "",
                pieces[1] if len(pieces) > 1 else "",
            )
        )
    return targets


def format_targets(session: Session, targets: list[ActivityTarget]) -> str:
    """Return targets in the import format ("legal:2-3; procurement_process:1-2")."""
    codes = {c.id: c.code for c in competency_service.list_competencies(session)}
    return "; ".join(f"{codes[t.competency_id]}:{t.from_level}-{t.to_level}" for t in targets)


def check_activity(
    session: Session, data: ActivityInput, *, existing: TrainingActivity | None
) -> CheckedActivity:
    """Return cleaned values, or raise TrainingError with an error per field."""
    errors: dict[str, str] = {}
    code = (data.code or "").strip().lower()
    if not CODE_PATTERN.match(code):
        errors["code"] = _(
            "Use 2–40 lowercase letters, digits, hyphens or underscores for the code."
        )
    else:
        other = get_activity(session, code)
        if other is not None and (existing is None or other.id != existing.id):
            errors["code"] = _("Another activity already uses this code.")
    values: dict[str, Any] = {"code": code}
    for name in ("title_es", "title_en"):
        text = (getattr(data, name) or "").strip()
        if not text:
            errors[name] = _("Enter a title.")
        elif len(text) > 200:
            errors[name] = _("Keep the title under 200 characters.")
        values[name] = text
    for name in ("description_es", "description_en"):
        text = (getattr(data, name) or "").strip()
        if len(text) > MAX_TEXT:
            errors[name] = _("Keep the description under 2,000 characters.")
        values[name] = text
    provider = (data.provider or "").strip()
    if len(provider) > 200:
        errors["provider"] = _("Keep the provider under 200 characters.")
    values["provider"] = provider
    modality = (data.modality or "").strip().lower()
    if modality not in Modality.__members__:
        errors["modality"] = _("Choose a modality.")
    values["modality"] = modality
    for name, high, integer in (
        ("hours", MAX_HOURS, False),
        ("cost", MAX_COST, True),
        ("capacity", MAX_CAPACITY, True),
    ):
        try:
            values[name] = _number(
                getattr(data, name), field=name, low=0, high=high, integer=integer
            )
        except TrainingError as err:
            errors[name] = str(err)
    audience = [str(a).strip().lower() for a in (data.audience or []) if str(a).strip()]
    if not audience:
        errors["audience"] = _("Choose at least one audience.")
    elif any(a not in Audience.__members__ for a in audience):
        errors["audience"] = _("Audience must be procurement_staff, user_areas or suppliers.")
    values["audience"] = [a for a in Audience if a.value in audience]
    evidence = (data.evidence or "none").strip().lower()
    if evidence not in EvidenceRule.__members__:
        errors["evidence"] = _("Choose what evidence a completion needs.")
    values["evidence"] = evidence
    if data.pass_score is None or not str(data.pass_score).strip():
        values["pass_score"] = None
    else:
        try:
            values["pass_score"] = _number(
                data.pass_score, field="pass_score", low=0, high=100, integer=True
            )
        except TrainingError as err:
            errors["pass_score"] = str(err)
    values["is_induction"] = bool(data.is_induction)
    values["is_active"] = bool(data.is_active)
    by_code = {c.code: c for c in competency_service.list_competencies(session)}
    targets: list[tuple[competency_service.Competency, int, int]] = []
    seen: set[str] = set()
    for target in data.targets:
        competency = by_code.get((target.competency or "").strip())
        if competency is None:
            errors["targets"] = _("Unknown competency: %(code)s.", code=target.competency or "—")
            continue
        if competency.code in seen:
            errors["targets"] = _("%(code)s is listed twice.", code=competency.code)
            continue
        seen.add(competency.code)
        try:
            low = competency_service.parse_level(target.from_level)
            high = competency_service.parse_level(target.to_level)
        except competency_service.CompetencyError:
            errors["targets"] = _(
                "Levels of %(code)s must be from 0 to 4, e.g. %(code)s:1-2.", code=competency.code
            )
            continue
        if high <= low:
            errors["targets"] = _(
                "The level reached in %(code)s must be above the starting level.",
                code=competency.code,
            )
            continue
        targets.append((competency, low, high))
    if errors:
        raise TrainingError(
            _("Some fields are not valid."), errors=errors, field=next(iter(errors))
        )
    return CheckedActivity(values, targets)


def _activity_snapshot(session: Session, activity: TrainingActivity) -> dict[str, Any]:
    data = audit.snapshot(
        activity,
        "code",
        "title_es",
        "title_en",
        "modality",
        "provider",
        "hours",
        "cost",
        "capacity",
        "audience",
        "evidence",
        "pass_score",
        "is_induction",
        "is_active",
    )
    data["targets"] = format_targets(session, activity_targets(session, activity))
    return data


def _write_activity(
    session: Session, checked: CheckedActivity, activity: TrainingActivity | None
) -> TrainingActivity:
    if activity is None:
        activity = TrainingActivity(**checked.values)
    else:
        for name, value in checked.values.items():
            setattr(activity, name, value)
        activity.updated_at = clock.now()
    session.add(activity)
    session.flush()
    current = {
        t.competency_id: t
        for t in session.exec(
            select(ActivityTarget).where(ActivityTarget.activity_id == activity.id)
        )
    }
    wanted = {c.id: (low, high) for c, low, high in checked.targets}
    for competency_id, target in current.items():
        if competency_id not in wanted:
            session.delete(target)
    for competency_id, (low, high) in wanted.items():
        target = current.get(competency_id) or ActivityTarget(
            activity_id=activity.id, competency_id=competency_id, from_level=low, to_level=high
        )
        target.from_level, target.to_level = low, high
        session.add(target)
    session.flush()
    return activity


def save_activity(
    session: Session,
    *,
    data: ActivityInput,
    actor: Actor | None,
    activity: TrainingActivity | None = None,
) -> TrainingActivity:
    """Create an activity, or update `activity`; audited with before and after."""
    if actor is not None and not is_training_hr(actor):
        raise TrainingError(_("Only HR can change the training catalogue."), status_code=403)
    before = _activity_snapshot(session, activity) if activity is not None else None
    checked = check_activity(session, data, existing=activity)
    saved = _write_activity(session, checked, activity)
    audit.record(
        session,
        action="training.activity_saved" if before else "training.activity_created",
        actor=actor.user if actor is not None else "merito",
        entity_type="training_activity",
        entity_id=saved.id,
        before=before,
        after=_activity_snapshot(session, saved),
    )
    return saved


# --- sessions ---------------------------------------------------------------------------------


def list_sessions(
    session: Session, activity: TrainingActivity, *, upcoming_only: bool = False
) -> list[TrainingSession]:
    """Return an activity's sessions by start (with `upcoming_only`, those not yet ended)."""
    statement = select(TrainingSession).where(TrainingSession.activity_id == activity.id)
    if upcoming_only:
        statement = statement.where(
            TrainingSession.ends_at >= clock.now(), col(TrainingSession.is_cancelled).is_(False)
        )
    return list(session.exec(statement.order_by(col(TrainingSession.starts_at))))


def seats_taken(session: Session, session_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Return {session_id: (enrolled, waitlisted)}."""
    if not session_ids:
        return {}
    rows = session.exec(
        select(TrainingEnrolment.session_id, TrainingEnrolment.status, func.count())
        .where(
            col(TrainingEnrolment.session_id).in_(session_ids),
            col(TrainingEnrolment.status).in_(
                [EnrolmentStatus.enrolled, EnrolmentStatus.waitlisted, EnrolmentStatus.completed]
            ),
        )
        .group_by(TrainingEnrolment.session_id, TrainingEnrolment.status)
    ).all()
    taken = {sid: [0, 0] for sid in session_ids}
    for sid, status, count in rows:
        if status == EnrolmentStatus.waitlisted:
            taken[sid][1] += count
        else:
            taken[sid][0] += count
    return {sid: (v[0], v[1]) for sid, v in taken.items()}


def add_session(
    session: Session,
    *,
    activity: TrainingActivity,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: Any,
    actor: Actor | None,
) -> TrainingSession:
    """Schedule a session of an activity (HR)."""
    if actor is not None and not is_training_hr(actor):
        raise TrainingError(_("Only HR can schedule sessions."), status_code=403)
    errors: dict[str, str] = {}
    if ends_at <= starts_at:
        errors["ends_at"] = _("The session must end after it starts.")
    place = (place or "").strip()
    if not place:
        errors["place"] = _("Say where the session takes place (or that it is online).")
    elif len(place) > 200:
        errors["place"] = _("Keep the place under 200 characters.")
    try:
        seats = _number(capacity, field="capacity", low=0, high=MAX_CAPACITY, integer=True)
    except TrainingError as err:
        errors["capacity"] = str(err)
        seats = 0
    if errors:
        raise TrainingError(
            _("Some fields are not valid."), errors=errors, field=next(iter(errors))
        )
    row = TrainingSession(
        activity_id=activity.id,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        capacity=int(seats),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="training.session_scheduled",
        actor=actor.user if actor is not None else "merito",
        entity_type="training_session",
        entity_id=row.id,
        after={
            "activity": activity.code,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "place": place,
            "capacity": row.capacity,
        },
    )
    return row


# --- budgets ----------------------------------------------------------------------------------


def budgets(session: Session, *, year: int) -> dict[int, int]:
    """Return {unit_id: amount} of the year's training budgets."""
    return dict(
        session.exec(
            select(TrainingBudget.unit_id, TrainingBudget.amount).where(TrainingBudget.year == year)
        ).all()
    )


def set_budget(
    session: Session, *, unit: Unit, year: int, amount: Any, actor: Actor | None
) -> TrainingBudget:
    """Set a unit's training budget for a year (HR); audited."""
    if actor is not None and not is_training_hr(actor):
        raise TrainingError(_("Only HR can set training budgets."), status_code=403)
    value = _number(amount, field="amount", low=0, high=10_000_000_000, integer=True)
    if not 2000 <= int(year) <= 2100:
        raise TrainingError(_("Choose a year between 2000 and 2100."), field="year")
    row = session.exec(
        select(TrainingBudget).where(TrainingBudget.unit_id == unit.id, TrainingBudget.year == year)
    ).first()
    before = {"amount": row.amount} if row is not None else None
    if row is None:
        row = TrainingBudget(unit_id=unit.id, year=year, amount=int(value))
    row.amount = int(value)
    row.updated_by_id = actor.user.id if actor is not None else None
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="training.budget_set",
        actor=actor.user if actor is not None else "merito",
        entity_type="unit",
        entity_id=unit.id,
        before=before,
        after={"year": year, "amount": row.amount},
    )
    return row
