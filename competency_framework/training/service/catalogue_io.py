"""The catalogue in and out: XLSX import and export, the seeded catalogue (data file), and
supplier learners."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import Session, col, select

from backend import audit, clock, crypto
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.permissions import Role
from backend.config import Settings
from backend.i18n import _
from backend.org.models import Employee
from backend.tables import ImportProblem, ImportRejected, Table, read_sheet
from backend.workdays import next_working_day
from competency_framework import service as competency_service
from competency_framework.training.models import (
    Audience,
    EvidenceRule,
    ExternalLearner,
    TrainingActivity,
)
from competency_framework.training.service.catalogue import (
    ActivityInput,
    CheckedActivity,
    TargetInput,
    _write_activity,
    add_session,
    all_targets,
    check_activity,
    get_activity,
    parse_targets,
    save_activity,
)
from competency_framework.training.service.rules import (
    CATALOGUE_FILE,
    Actor,
    TrainingError,
    is_training_hr,
    org_zone,
)

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
    digest = crypto.sha256_hex(content)
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
    settings: Settings,
    today: date | None = None,
) -> int:
    """Create every activity of the data file that is not in the catalogue yet, with its sessions.

    Activities already present (by code) are left alone: the catalogue belongs to HR once
    loaded. Session dates in the file are days from `today`. Returns how many were created.
    """
    data = read_catalogue_file(path)
    zone = org_zone(settings)
    today = today or clock.today(settings)
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
