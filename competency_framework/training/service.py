"""The training catalogue: activities and the levels they raise, sessions, unit budgets, XLSX
import/export, the seeded catalogue, and supplier learners. Plus who may do what.

Plans live in `plans.py`, enrolments and completion in `enrolments.py`, analysis in `needs.py`.
Everything here takes a Session and keyword arguments, raises TrainingError with a translated
message on bad input and leaves committing to the caller (a failed check writes nothing).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.models import User
from backend.auth.permissions import Permission, Role
from backend.config import Settings
from backend.db import utcnow
from backend.i18n import _, get_locale
from backend.org.models import Employee, Unit
from backend.workdays import next_working_day
from competency_framework import service as competency_service
from competency_framework.exports import ImportProblem, ImportRejected, Table, read_sheet
from competency_framework.models import Competency
from competency_framework.training.models import (
    ActivityTarget,
    Audience,
    EvidenceRule,
    ExternalLearner,
    Modality,
    TrainingActivity,
    TrainingBudget,
    TrainingSession,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CATALOGUE_FILE = DATA_DIR / "training_catalogue.yaml"
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{1,39}$")
MAX_TEXT = 2000
MAX_COST = 10_000_000
MAX_HOURS = 2000
MAX_CAPACITY = 10_000
# Role codes whose holders are user-area staff (the audience "user areas"); everyone else with a
# role profile is procurement staff.
USER_AREA_ROLES = frozenset({"user_area_staff"})


class TrainingRules(BaseSettings):
    """Configurable rules of the training domain (environment prefix MERITO_TRAINING_)."""

    model_config = SettingsConfigDict(env_prefix="MERITO_TRAINING_", extra="ignore")

    # Activities proposed per person and year from their gaps.
    max_proposed_items: int = Field(default=3, ge=1, le=13)
    # New staff (hired this many days ago or less) get the induction programme.
    induction_window_days: int = Field(default=90, ge=1, le=730)
    # How many colleagues one mentor may take at a time.
    max_mentees: int = Field(default=3, ge=1, le=20)
    certificate_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)


def rules() -> TrainingRules:
    """Return the training rules read from the environment."""
    return TrainingRules()


class TrainingError(ValueError):
    """A training rule was broken. Message translated; `errors` maps form fields to messages."""

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        status_code: int = 422,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.status_code = status_code
        self.errors = errors or ({field: message} if field else {})


class Actor(Protocol):
    """Who acts: the signed-in principal (backend.auth.service.Principal) or an equivalent."""

    user: User

    def can(self, permission: Permission) -> bool: ...


# --- who may do what --------------------------------------------------------------------------


def is_training_hr(actor: Actor | None) -> bool:
    """True for HR planners: they maintain the catalogue and act on anyone's plan."""
    return actor is not None and actor.can(Permission.manage_training_catalogue)


def is_self(actor: Actor | None, employee: Employee) -> bool:
    return actor is not None and actor.user.employee_id == employee.id


def is_supervisor_of(actor: Actor | None, employee: Employee) -> bool:
    return (
        actor is not None
        and actor.user.employee_id is not None
        and employee.supervisor_id == actor.user.employee_id
    )


def can_view_plan(actor: Actor, employee: Employee) -> bool:
    """The person, their supervisor and HR see a plan."""
    return is_self(actor, employee) or is_supervisor_of(actor, employee) or is_training_hr(actor)


def can_approve(actor: Actor, employee: Employee) -> bool:
    """The person's own supervisor or HR approve a plan; nobody approves their own."""
    if is_self(actor, employee):
        return False
    return is_supervisor_of(actor, employee) or is_training_hr(actor)


def audience_of(role_code: str | None) -> Audience:
    """Return the catalogue audience an employee belongs to, from their role profile's code."""
    return (
        Audience.user_areas if (role_code or "") in USER_AREA_ROLES else Audience.procurement_staff
    )


# --- time -------------------------------------------------------------------------------------


def org_zone(settings: Settings | None = None) -> ZoneInfo:
    return ZoneInfo(settings.time_zone if settings else "America/Mexico_City")


def plan_year(settings: Settings | None = None, *, now: datetime | None = None) -> int:
    """Return the current budget year (the calendar year in the organisation's time zone)."""
    return (now or utcnow()).astimezone(org_zone(settings)).year


def parse_local_datetime(value: str, *, zone: ZoneInfo, field: str) -> datetime:
    """Return a form's local date-time ("2026-12-01T09:00" or "2026-12-01 09:00") in UTC."""
    text = (value or "").strip().replace(" ", "T")
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise TrainingError(_("Enter a date and time, e.g. 2026-12-01 09:00."), field=field)
    if naive.tzinfo is not None:
        return naive.astimezone(ZoneInfo("UTC"))
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


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
class TargetInput:
    competency: str
    from_level: Any
    to_level: Any


@dataclass
class ActivityInput:
    """What HR enters (form, import or data file) for one activity, unchecked."""

    code: str
    title_es: str
    title_en: str
    modality: str
    description_es: str = ""
    description_en: str = ""
    provider: str = ""
    hours: Any = 0
    cost: Any = 0
    capacity: Any = 0
    audience: list[str] = field(default_factory=lambda: [Audience.procurement_staff.value])
    evidence: str = EvidenceRule.none.value
    pass_score: Any = None
    is_induction: bool = False
    is_active: bool = True
    targets: list[TargetInput] = field(default_factory=list)


@dataclass
class CheckedActivity:
    values: dict[str, Any]
    targets: list[tuple[Competency, int, int]]


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
    targets: list[tuple[Competency, int, int]] = []
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
        activity.updated_at = utcnow()
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
            TrainingSession.ends_at >= utcnow(), col(TrainingSession.is_cancelled).is_(False)
        )
    return list(session.exec(statement.order_by(col(TrainingSession.starts_at))))


def seats_taken(session: Session, session_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Return {session_id: (enrolled, waitlisted)}."""
    from competency_framework.training.models import EnrolmentStatus, TrainingEnrolment

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
    row.updated_at = utcnow()
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


# --- XLSX import and export -------------------------------------------------------------------

IMPORT_COLUMNS = (
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
    "targets",
)
IMPORT_OPTIONAL = ("description_es", "description_en", "pass_score", "induction", "active")


def _flag(value: Any, default: bool) -> bool:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "yes", "si", "sí", "true", "x", "y")


def catalogue_table(session: Session) -> Table:
    """The whole catalogue in the import format (a download can be edited and imported back)."""
    targets = all_targets(session)
    codes = {c.id: c.code for c in competency_service.list_competencies(session)}
    order = {c.id: c.order for c in competency_service.list_competencies(session)}
    rows = []
    for activity in sorted(session.exec(select(TrainingActivity)).all(), key=lambda a: a.code):
        own = sorted(targets.get(activity.id, []), key=lambda t: order.get(t.competency_id, 99))
        rows.append(
            [
                activity.code,
                activity.title_es,
                activity.title_en,
                activity.modality,
                activity.provider,
                activity.hours,
                activity.cost,
                activity.capacity,
                "; ".join(activity.audience or []),
                activity.evidence,
                "; ".join(f"{codes[t.competency_id]}:{t.from_level}-{t.to_level}" for t in own),
                activity.description_es,
                activity.description_en,
                activity.pass_score if activity.pass_score is not None else "",
                "yes" if activity.is_induction else "no",
                "yes" if activity.is_active else "no",
            ]
        )
    return Table(
        title=_("Training catalogue"), columns=[*IMPORT_COLUMNS, *IMPORT_OPTIONAL], rows=rows
    )


def import_catalogue(session: Session, *, content: bytes, actor: Actor) -> tuple[int, int]:
    """Create or update activities from an XLSX sheet, all or nothing; return (created, updated).

    Columns: code, title_es, title_en, modality, provider, hours, cost, capacity, audience
    ("procurement_staff; user_areas"), evidence (none, certificate, score,
    certificate_or_score), targets ("legal:2-3; procurement_process:1-2"); optionally
    description_es, description_en, pass_score, induction, active (yes/no).
    """
    if not is_training_hr(actor):
        raise TrainingError(_("Only HR can import the training catalogue."), status_code=403)
    rows = read_sheet(content, required=IMPORT_COLUMNS, optional=IMPORT_OPTIONAL)
    problems: list[ImportProblem] = []
    accepted: list[tuple[CheckedActivity, TrainingActivity | None]] = []
    seen: dict[str, int] = {}
    for row in rows:
        v, letters = row.values, row.letters
        code = str(v.get("code") or "").strip().lower()
        if code in seen:
            problems.append(
                ImportProblem(
                    row.number,
                    letters["code"],
                    _("The code %(code)s is also on row %(row)s.", code=code, row=seen[code]),
                )
            )
            continue
        seen[code] = row.number
        existing = get_activity(session, code) if code else None
        data = ActivityInput(
            code=code,
            title_es=str(v.get("title_es") or ""),
            title_en=str(v.get("title_en") or ""),
            modality=str(v.get("modality") or ""),
            description_es=str(v.get("description_es") or ""),
            description_en=str(v.get("description_en") or ""),
            provider=str(v.get("provider") or ""),
            hours=v.get("hours"),
            cost=v.get("cost"),
            capacity=v.get("capacity"),
            audience=[a for a in re.split(r"[;,\s]+", str(v.get("audience") or "")) if a],
            evidence=str(v.get("evidence") or "none"),
            pass_score=v.get("pass_score"),
            is_induction=_flag(v.get("induction"), False),
            is_active=_flag(v.get("active"), True),
            targets=parse_targets(str(v.get("targets") or "")),
        )
        try:
            checked = check_activity(session, data, existing=existing)
        except TrainingError as err:
            for name, message in err.errors.items():
                column = letters.get(name, letters.get("code", ""))
                problems.append(ImportProblem(row.number, column, message))
            continue
        accepted.append((checked, existing))
    if not rows:
        problems.append(ImportProblem(0, "", _("The sheet has no rows to import.")))
    if problems:
        raise ImportRejected(problems)
    created = updated = 0
    for checked, existing in accepted:
        _write_activity(session, checked, existing)
        if existing is None:
            created += 1
        else:
            updated += 1
    digest = hashlib.sha256(content).hexdigest()
    audit.record(
        session,
        action="training.catalogue_imported",
        actor=actor.user,
        entity_type="training_catalogue",
        entity_id=digest[:16],
        after={
            "created": created,
            "updated": updated,
            "codes": sorted(c.values["code"] for c, _e in accepted),
            "sha256": digest,
        },
    )
    return created, updated


# --- the seeded catalogue (data file) ---------------------------------------------------------


def read_catalogue_file(path: Path = CATALOGUE_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _local_day(zone: ZoneInfo, day: date, at: str) -> datetime:
    hour, minute = (int(p) for p in at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def load_catalogue(
    session: Session,
    *,
    path: Path = CATALOGUE_FILE,
    today: date | None = None,
    settings: Settings | None = None,
) -> int:
    """Create every activity of the data file that is not in the catalogue yet, with its sessions.

    Activities already present (by code) are left alone: the catalogue belongs to HR once
    loaded. Session dates in the file are days from `today`. Returns how many were created.
    """
    data = read_catalogue_file(path)
    zone = org_zone(settings)
    today = today or utcnow().astimezone(zone).date()
    created = 0
    for entry in data.get("activities", []):
        if get_activity(session, entry["code"]) is not None:
            continue
        activity = save_activity(
            session,
            data=ActivityInput(
                code=entry["code"],
                title_es=entry["title"]["es"],
                title_en=entry["title"]["en"],
                description_es=entry.get("description", {}).get("es", ""),
                description_en=entry.get("description", {}).get("en", ""),
                modality=entry["modality"],
                provider=entry.get("provider", ""),
                hours=entry.get("hours", 0),
                cost=entry.get("cost", 0),
                capacity=entry.get("capacity", 0),
                audience=entry.get("audience", [Audience.procurement_staff.value]),
                evidence=entry.get("evidence", EvidenceRule.none.value),
                pass_score=entry.get("pass_score"),
                is_induction=bool(entry.get("induction", False)),
                targets=[
                    TargetInput(code, spec[0], spec[1])
                    for code, spec in (entry.get("targets") or {}).items()
                ],
            ),
            actor=None,
        )
        for spec in entry.get("sessions", []):
            # Relative days land anywhere: a session starts, and ends, on a working day, never
            # on a weekend or a public holiday (25 December…).
            first = next_working_day(today + timedelta(days=int(spec["in_days"])))
            last = first + timedelta(days=int(spec.get("days", 1)) - 1)
            if last > first:
                last = next_working_day(last)
            add_session(
                session,
                activity=activity,
                starts_at=_local_day(zone, first, spec.get("from", "09:00")),
                ends_at=_local_day(zone, last, spec.get("to", "14:00")),
                place=spec["place"],
                capacity=spec.get("capacity", activity.capacity),
                actor=None,
            )
        created += 1
    return created


# --- supplier learners ------------------------------------------------------------------------


def list_learners(session: Session) -> list[ExternalLearner]:
    return list(session.exec(select(ExternalLearner).order_by(col(ExternalLearner.organisation))))


def learner_for_user(session: Session, user: User) -> ExternalLearner | None:
    return session.exec(select(ExternalLearner).where(ExternalLearner.user_id == user.id)).first()


def create_supplier_learner(
    session: Session,
    settings: Settings,
    *,
    full_name: str,
    email: str,
    organisation: str,
    tax_id: str = "",
    password: str,
    actor: Actor,
) -> ExternalLearner:
    """Create a supplier representative's learner record and account (role `supplier`).

    The account can only see the learner's own enrolments. HR passes the first password on;
    the person changes it at "My account".
    """
    from backend.auth import service as auth_service

    if not is_training_hr(actor):
        raise TrainingError(_("Only HR can invite supplier learners."), status_code=403)
    errors: dict[str, str] = {}
    full_name = (full_name or "").strip()
    organisation = (organisation or "").strip()
    tax_id = (tax_id or "").strip().upper()
    if not full_name:
        errors["full_name"] = _("Enter the person's name.")
    if not organisation:
        errors["organisation"] = _("Enter the supplier's name.")
    elif len(organisation) > 200:
        errors["organisation"] = _("Keep the supplier's name under 200 characters.")
    if tax_id and not re.fullmatch(r"[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}", tax_id):
        errors["tax_id"] = _("The RFC should look like ABC123456XY1 (12 or 13 characters).")
    if errors:
        raise TrainingError(
            _("Some fields are not valid."), errors=errors, field=next(iter(errors))
        )
    try:
        user = auth_service.create_user(
            session,
            settings,
            email=email,
            full_name=full_name,
            password=password,
            roles=[Role.supplier],
            actor=actor.user,
        )
    except auth_service.AuthError as err:
        raise TrainingError(str(err), field=err.field or "email", status_code=err.status_code)
    session.flush()
    learner = ExternalLearner(
        full_name=full_name,
        email=user.email,
        organisation=organisation,
        tax_id=tax_id,
        user_id=user.id,
        created_by_id=actor.user.id,
    )
    session.add(learner)
    session.flush()
    audit.record(
        session,
        action="training.learner_invited",
        actor=actor.user,
        entity_type="training_external_learner",
        entity_id=learner.id,
        after={"email": learner.email, "organisation": organisation, "tax_id": tax_id},
    )
    return learner


def employees_by_number(session: Session, number: str) -> Employee | None:
    return session.exec(select(Employee).where(Employee.number == (number or "").strip())).first()
