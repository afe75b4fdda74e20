"""The competency rules: the framework, role profiles, the rating log, validation, gap reports.

Other domains call these functions, never the tables. Everything here takes a Session and
keyword arguments, raises CompetencyError with a translated message on bad input, and leaves
committing to the caller (routes commit; a failed check writes nothing).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, urlparse

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend import audit, revisions
from backend.auth.models import User
from backend.auth.permissions import Permission
from backend.db import utcnow
from backend.events import DomainEvent, publish
from backend.i18n import _
from backend.org.models import Employee, EmployeeStatus, Position, Unit
from competency_framework import gaps
from competency_framework.exports import ImportProblem, ImportRejected, read_sheet
from competency_framework.models import (
    AssessmentCampaign,
    CampaignParticipant,
    Competency,
    CompetencyRevision,
    CurrentRating,
    FrameworkVersion,
    Importance,
    LevelDescriptor,
    ProficiencyLevel,
    RatingEntry,
    RatingSource,
    RoleProfile,
    RoleProfileVersion,
    RoleRequirement,
)

LEVELS = range(0, 5)
MAX_NOTE = 2000
MAX_URL = 500


class CompetencyError(ValueError):
    """A competency rule was broken. Message translated; `errors` maps form fields to messages."""

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


# --- the framework ----------------------------------------------------------------------------


def list_competencies(session: Session) -> list[Competency]:
    """Return the competencies in framework order."""
    return list(session.exec(select(Competency).order_by(col(Competency.order))).all())


def get_competency(session: Session, code: str) -> Competency | None:
    return session.exec(select(Competency).where(Competency.code == code)).first()


def scale(session: Session) -> list[ProficiencyLevel]:
    """Return the proficiency levels 0–4."""
    return list(session.exec(select(ProficiencyLevel).order_by(col(ProficiencyLevel.level))))


def descriptors(session: Session, competency: Competency) -> list[LevelDescriptor]:
    return list(
        session.exec(
            select(LevelDescriptor)
            .where(LevelDescriptor.competency_id == competency.id)
            .order_by(col(LevelDescriptor.level))
        )
    )


def all_descriptors(session: Session) -> dict[int, dict[int, LevelDescriptor]]:
    """Return {competency_id: {level: descriptor}} in one query."""
    table: dict[int, dict[int, LevelDescriptor]] = {}
    for descriptor in session.exec(select(LevelDescriptor)):
        table.setdefault(descriptor.competency_id, {})[descriptor.level] = descriptor
    return table


def current_version(session: Session) -> FrameworkVersion | None:
    """Return the most recently loaded framework version."""
    return session.exec(
        select(FrameworkVersion).order_by(col(FrameworkVersion.loaded_at).desc())
    ).first()


def _competencies_by_code(session: Session) -> dict[str, Competency]:
    return {c.code: c for c in list_competencies(session)}


# --- input checks -------------------------------------------------------------------------------


def parse_level(value: Any, *, field: str = "level") -> int:
    """Return `value` as a level of the scale, or raise CompetencyError."""
    if isinstance(value, bool):
        raise CompetencyError(_("Choose a level from 0 to 4."), field=field)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise CompetencyError(_("Choose a level from 0 to 4."), field=field)
        value = int(value)
    if not isinstance(value, int) or value not in LEVELS:
        raise CompetencyError(_("Choose a level from 0 to 4."), field=field)
    return value


def check_evidence_url(value: str, *, field: str = "evidence_url") -> str:
    """Return a cleaned evidence link: empty, or an http(s) address (never javascript: etc.)."""
    value = (value or "").strip()
    if not value:
        return ""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(value) > MAX_URL:
        raise CompetencyError(
            _("The evidence link must be a web address starting with https:// or http://."),
            field=field,
        )
    return value


def _check_note(value: str, *, field: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_NOTE:
        raise CompetencyError(_("Keep the note under 2,000 characters."), field=field)
    return value


def is_hr(actor: Actor) -> bool:
    """True for people with HR rights over ratings (per-person gap details)."""
    return actor.can(Permission.view_gap_details)


# --- revision counters (cache keys) -------------------------------------------------------------


_TOUCHED = "competency_touched_current_ratings"


def _bump(session: Session, *, ratings: int = 0, profiles: int = 0) -> int:
    """Advance the counters that cached reports are keyed on (same transaction as the change).

    Returns the new ratings revision.
    """
    revision_table = CompetencyRevision.__table__
    bumped = session.execute(
        update(revision_table)
        .where(revision_table.c.id == 1)
        .values(
            ratings=revision_table.c.ratings + ratings,
            profiles=revision_table.c.profiles + profiles,
            changed_at=utcnow(),
        )
        .returning(revision_table.c.ratings)
    ).one_or_none()
    if bumped is None:
        session.add(CompetencyRevision(id=1, ratings=ratings, profiles=profiles))
        session.flush()
        new_ratings = ratings
    else:
        new_ratings = bumped[0]
    # Stamp the current ratings this transaction wrote with its revision. The counter row is
    # locked until commit, so revisions are handed out in commit order.
    for current in session.info.pop(_TOUCHED, []):
        current.revision = new_ratings
        session.add(current)
    return new_ratings


def advance_ratings_revision(session: Session) -> int:
    """Advance the ratings revision for ratings written in bulk; return its new value.

    For writers that insert the log and `current_rating` rows themselves (the demo's history):
    they stamp the rows they wrote with the value returned, exactly as the service's own
    writes are stamped, so cached reports see them as new.
    """
    return _bump(session, ratings=1)


def revision(session: Session) -> CompetencyRevision:
    """Return the current revision counters."""
    found = session.get(CompetencyRevision, 1)
    return found or CompetencyRevision(id=1)


# --- role profiles ------------------------------------------------------------------------------


def role_profile_key(role_code: str) -> str:
    return f"role:{role_code}"


def position_profile_key(position_id: int) -> str:
    return f"position:{position_id}"


def list_profiles(session: Session) -> list[RoleProfile]:
    """Return active role profiles: role defaults first, then position overrides."""
    profiles = session.exec(select(RoleProfile).where(col(RoleProfile.is_active).is_(True))).all()
    return sorted(profiles, key=lambda p: (p.position_id is not None, p.role_code, p.key))


def get_profile(session: Session, profile_id: int) -> RoleProfile | None:
    return session.get(RoleProfile, profile_id)


def profile_versions(session: Session, profile: RoleProfile) -> list[RoleProfileVersion]:
    """Return a profile's versions, newest first."""
    return list(
        session.exec(
            select(RoleProfileVersion)
            .where(RoleProfileVersion.profile_id == profile.id)
            .order_by(col(RoleProfileVersion.version).desc())
        )
    )


def profile_version(
    session: Session, profile: RoleProfile, version: int | None = None
) -> RoleProfileVersion | None:
    """Return one version of a profile (the current one by default)."""
    return session.exec(
        select(RoleProfileVersion).where(
            RoleProfileVersion.profile_id == profile.id,
            RoleProfileVersion.version == (version or profile.current_version),
        )
    ).first()


def requirements_of(
    session: Session, profile: RoleProfile, version: int | None = None
) -> dict[int, RoleRequirement]:
    """Return {competency_id: requirement} of a profile version (current by default)."""
    found = profile_version(session, profile, version)
    if found is None:
        return {}
    return {
        r.competency_id: r
        for r in session.exec(select(RoleRequirement).where(RoleRequirement.version_id == found.id))
    }


def profile_for_position(session: Session, position: Position | None) -> RoleProfile | None:
    """Return the profile a position follows: its own override, else its role's defaults."""
    if position is None:
        return None
    override = session.exec(
        select(RoleProfile).where(
            RoleProfile.key == position_profile_key(position.id),
            col(RoleProfile.is_active).is_(True),
        )
    ).first()
    if override is not None:
        return override
    if not position.role_code:
        return None
    return session.exec(
        select(RoleProfile).where(
            RoleProfile.key == role_profile_key(position.role_code),
            col(RoleProfile.is_active).is_(True),
        )
    ).first()


def _requirements_snapshot(session: Session, profile: RoleProfile) -> dict[str, list]:
    codes = {c.id: c.code for c in list_competencies(session)}
    return {
        codes[cid]: [r.level, r.importance]
        for cid, r in sorted(requirements_of(session, profile).items())
        if cid in codes
    }


def _write_version(
    session: Session,
    *,
    profile: RoleProfile,
    requirements: dict[int, tuple[int, str]],
    source: str,
    reason: str,
    actor: User | None,
) -> RoleProfileVersion:
    competency_ids = [c.id for c in list_competencies(session)]
    version = RoleProfileVersion(
        profile_id=profile.id,
        version=profile.current_version + 1,
        source=source,
        reason=reason,
        created_by_id=actor.id if actor is not None else None,
    )
    session.add(version)
    session.flush()
    for cid in competency_ids:
        level, importance = requirements.get(cid, (0, Importance.desirable))
        session.add(
            RoleRequirement(
                version_id=version.id, competency_id=cid, level=level, importance=importance
            )
        )
    profile.current_version = version.version
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    _bump(session, profiles=1)
    return version


def check_requirements(
    session: Session, requirements: dict[str, tuple[Any, Any]]
) -> dict[int, tuple[int, str]]:
    """Return requirements keyed by competency id, or raise CompetencyError (all problems)."""
    by_code = _competencies_by_code(session)
    errors: dict[str, str] = {}
    checked: dict[int, tuple[int, str]] = {}
    for code, (level, importance) in requirements.items():
        competency = by_code.get(code)
        if competency is None:
            errors[f"level_{code}"] = _("Unknown competency: %(code)s.", code=code)
            continue
        try:
            value = parse_level(level, field=f"level_{code}")
        except CompetencyError as err:
            errors[err.field] = str(err)
            continue
        importance = str(importance or "").strip().lower()
        if importance not in Importance.__members__:
            errors[f"importance_{code}"] = _("Importance must be essential or desirable.")
            continue
        checked[competency.id] = (value, importance)
    if errors:
        raise CompetencyError(
            _("Some requirements are not valid."), errors=errors, field=next(iter(errors))
        )
    return checked


def save_profile(
    session: Session,
    *,
    profile: RoleProfile,
    requirements: dict[str, tuple[Any, Any]],
    reason: str,
    actor: User,
    source: str = "edit",
) -> RoleProfileVersion:
    """Write a new version of `profile` (audited) and return it.

    `requirements` maps competency codes to (level, importance); competencies left out keep
    their current requirement. When nothing changes, the current version is returned as is.
    """
    if not profile.is_active:
        raise CompetencyError(_("This profile is no longer in use."), status_code=409)
    reason = _check_note(reason, field="reason")
    checked = check_requirements(session, requirements)
    current = {cid: (r.level, r.importance) for cid, r in requirements_of(session, profile).items()}
    merged = {**current, **checked}
    if merged == current:
        found = profile_version(session, profile)
        assert found is not None
        return found
    before = _requirements_snapshot(session, profile)
    version = _write_version(
        session,
        profile=profile,
        requirements=merged,
        source=source,
        reason=reason,
        actor=actor,
    )
    audit.record(
        session,
        action="role_profile.changed",
        actor=actor,
        entity_type="role_profile",
        entity_id=profile.key,
        before={"version": version.version - 1, "requirements": before},
        after={
            "version": version.version,
            "requirements": _requirements_snapshot(session, profile),
            "reason": reason,
        },
    )
    return version


def create_role_profile(
    session: Session,
    *,
    role_code: str,
    title_es: str,
    title_en: str,
    requirements: dict[str, tuple[Any, Any]],
    actor: User | None,
    source: str,
    reason: str = "",
) -> RoleProfile:
    """Create the default profile of a role (the caller commits)."""
    role_code = role_code.strip()
    if not role_code or len(role_code) > 40:
        raise CompetencyError(_("Enter a role code of at most 40 characters."), field="role_code")
    key = role_profile_key(role_code)
    if session.exec(select(RoleProfile).where(RoleProfile.key == key)).first() is not None:
        raise CompetencyError(
            _("This role already has a profile."), field="role_code", status_code=409
        )
    checked = check_requirements(session, requirements)
    profile = RoleProfile(
        key=key, role_code=role_code, title_es=title_es, title_en=title_en, current_version=0
    )
    session.add(profile)
    session.flush()
    _write_version(
        session, profile=profile, requirements=checked, source=source, reason=reason, actor=actor
    )
    audit.record(
        session,
        action="role_profile.created",
        actor=actor if actor is not None else "system",
        entity_type="role_profile",
        entity_id=key,
        after={
            "version": 1,
            "source": source,
            "requirements": _requirements_snapshot(session, profile),
        },
    )
    return profile


def create_position_override(
    session: Session, *, position_id: int | None, actor: User, reason: str = ""
) -> RoleProfile:
    """Give one position its own profile, starting from its role's requirements."""
    position = session.get(Position, position_id) if position_id is not None else None
    if position is None:
        raise CompetencyError(
            _("This position does not exist."), field="position_id", status_code=404
        )
    key = position_profile_key(position.id)
    existing = session.exec(select(RoleProfile).where(RoleProfile.key == key)).first()
    if existing is not None and existing.is_active:
        raise CompetencyError(
            _("This position already has its own profile."), field="position_id", status_code=409
        )
    base = profile_for_position(session, position)
    start = (
        {cid: (r.level, r.importance) for cid, r in requirements_of(session, base).items()}
        if base is not None
        else {}
    )
    if existing is None:
        existing = RoleProfile(
            key=key,
            role_code=position.role_code,
            position_id=position.id,
            title_es=position.title,
            title_en=position.title,
            current_version=0,
        )
    existing.is_active = True
    session.add(existing)
    session.flush()
    version = _write_version(
        session,
        profile=existing,
        requirements=start,
        source="override",
        reason=_check_note(reason, field="reason"),
        actor=actor,
    )
    audit.record(
        session,
        action="role_profile.override_created",
        actor=actor,
        entity_type="role_profile",
        entity_id=key,
        after={
            "version": version.version,
            "position": position.code,
            "based_on": base.key if base else None,
        },
    )
    return existing


def remove_position_override(session: Session, *, profile: RoleProfile, actor: User) -> None:
    """Send a position back to its role's profile (the override's history is kept)."""
    if profile.position_id is None:
        raise CompetencyError(_("Role defaults cannot be removed, only edited."), status_code=409)
    if not profile.is_active:
        return
    profile.is_active = False
    profile.updated_at = utcnow()
    session.add(profile)
    _bump(session, profiles=1)
    audit.record(
        session,
        action="role_profile.override_removed",
        actor=actor,
        entity_type="role_profile",
        entity_id=profile.key,
        before={"version": profile.current_version, "active": True},
        after={"active": False},
    )


PROFILE_IMPORT_COLUMNS = ("profile", "competency", "level", "importance")


def import_profiles(session: Session, *, content: bytes, actor: User) -> list[RoleProfileVersion]:
    """Apply an XLSX of requirements, all or nothing; return the new versions written.

    Columns: profile (a role code such as procurement_officer, or "position:<position code>"
    to create or edit a position's own profile), competency (code), level (0–4), importance.
    """
    rows = read_sheet(content, required=PROFILE_IMPORT_COLUMNS, optional=("reason",))
    by_code = _competencies_by_code(session)
    problems: list[ImportProblem] = []
    changes: dict[str, dict[str, tuple[int, str]]] = {}
    targets: dict[str, tuple[RoleProfile | None, Position | None]] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        v, letters = row.values, row.letters
        name = str(v.get("profile") or "").strip()
        code = str(v.get("competency") or "").strip()
        if not name:
            problems.append(ImportProblem(row.number, letters["profile"], _("Enter a profile.")))
            continue
        if name not in targets:
            if name.startswith("position:"):
                position = session.exec(
                    select(Position).where(Position.code == name.split(":", 1)[1].strip())
                ).first()
                if position is None:
                    problems.append(
                        ImportProblem(
                            row.number,
                            letters["profile"],
                            _("Unknown position: %(code)s.", code=name.split(":", 1)[1]),
                        )
                    )
                    continue
                found = session.exec(
                    select(RoleProfile).where(RoleProfile.key == position_profile_key(position.id))
                ).first()
                targets[name] = (found, position)
            else:
                found = session.exec(
                    select(RoleProfile).where(RoleProfile.key == role_profile_key(name))
                ).first()
                if found is None:
                    problems.append(
                        ImportProblem(
                            row.number,
                            letters["profile"],
                            _("Unknown role profile: %(code)s.", code=name),
                        )
                    )
                    continue
                targets[name] = (found, None)
        if code not in by_code:
            problems.append(
                ImportProblem(
                    row.number, letters["competency"], _("Unknown competency: %(code)s.", code=code)
                )
            )
            continue
        if (name, code) in seen:
            problems.append(
                ImportProblem(
                    row.number,
                    letters["competency"],
                    _("This competency appears twice for the same profile."),
                )
            )
            continue
        seen.add((name, code))
        try:
            level = parse_level(v.get("level"))
        except CompetencyError as err:
            problems.append(ImportProblem(row.number, letters["level"], str(err)))
            continue
        importance = str(v.get("importance") or "").strip().lower()
        if importance not in Importance.__members__:
            problems.append(
                ImportProblem(
                    row.number,
                    letters["importance"],
                    _("Importance must be essential or desirable."),
                )
            )
            continue
        changes.setdefault(name, {})[code] = (level, importance)
    if not rows:
        problems.append(ImportProblem(0, "", _("The sheet has no rows to import.")))
    if problems:
        raise ImportRejected(problems)
    written: list[RoleProfileVersion] = []
    for name, requirements in changes.items():
        profile, position = targets[name]
        if position is not None and (profile is None or not profile.is_active):
            profile = create_position_override(session, position_id=position.id, actor=actor)
        assert profile is not None
        before = profile.current_version
        version = save_profile(
            session,
            profile=profile,
            requirements=requirements,
            reason=_("Imported from a spreadsheet."),
            actor=actor,
            source="import",
        )
        if version.version != before or position is not None:
            written.append(version)
    return written


# --- the rating log -------------------------------------------------------------------------------


def _open_campaign_id(session: Session, employee_id: int) -> int | None:
    return session.exec(
        select(AssessmentCampaign.id)
        .join(
            CampaignParticipant,
            col(CampaignParticipant.campaign_id) == AssessmentCampaign.id,
        )
        .where(
            CampaignParticipant.employee_id == employee_id,
            col(AssessmentCampaign.closed_at).is_(None),
        )
        .order_by(col(AssessmentCampaign.opened_at).desc())
    ).first()


def _append(
    session: Session,
    *,
    employee_id: int,
    competency_id: int,
    level: int,
    source: str,
    validated: bool,
    by: User | None,
    note: str = "",
    evidence_url: str = "",
    review_of_id: int | None = None,
    campaign_id: int | None = None,
) -> RatingEntry:
    entry = RatingEntry(
        employee_id=employee_id,
        competency_id=competency_id,
        level=level,
        source=source,
        validated=validated,
        review_of_id=review_of_id,
        campaign_id=campaign_id,
        recorded_by_id=by.id if by is not None else None,
        note=note,
        evidence_url=evidence_url,
    )
    session.add(entry)
    session.flush()
    if validated:
        current = session.get(CurrentRating, (employee_id, competency_id))
        if current is None:
            current = CurrentRating(
                employee_id=employee_id,
                competency_id=competency_id,
                level=level,
                entry_id=entry.id,
                source=source,
                rated_at=entry.recorded_at,
            )
        else:
            current.level, current.entry_id = level, entry.id
            current.source, current.rated_at = source, entry.recorded_at
        session.add(current)
        session.info.setdefault(_TOUCHED, []).append(current)
    return entry


def rating_log(
    session: Session, *, employee_id: int, competency_id: int | None = None
) -> list[RatingEntry]:
    """Return an employee's rating entries, newest first (optionally for one competency)."""
    statement = select(RatingEntry).where(RatingEntry.employee_id == employee_id)
    if competency_id is not None:
        statement = statement.where(RatingEntry.competency_id == competency_id)
    return list(session.exec(statement.order_by(col(RatingEntry.id).desc())))


def current_levels(session: Session, *, employee_id: int) -> dict[int, CurrentRating]:
    """Return {competency_id: current rating} (the newest validated entry of each)."""
    return {
        r.competency_id: r
        for r in session.exec(select(CurrentRating).where(CurrentRating.employee_id == employee_id))
    }


def holders(*, competency_id: int, min_level: int):
    """Return a select of (employee_id, level) of people whose current level is ≥ `min_level`.

    A statement, not rows, so other domains can join it (mentor suggestions).
    """
    table = CurrentRating.__table__
    return (
        sa_select(table.c.employee_id.label("employee_id"), table.c.level.label("level"))
        .where(table.c.competency_id == competency_id, table.c.level >= min_level)
        .subquery()
    )


def levels_at(
    session: Session, *, competency_ids: list[int], moments: list[datetime]
) -> pd.DataFrame:
    """Return each person's validated level of these competencies at each moment.

    Columns: employee_id, competency_id, level_0, level_1, … (one per moment; NaN where the
    person had no validated rating yet). Read from the log, so it answers for past dates.
    """
    columns = ["employee_id", "competency_id", *[f"level_{i}" for i in range(len(moments))]]
    if not competency_ids or not moments:
        return pd.DataFrame(columns=columns)
    entry = RatingEntry.__table__
    rows = (
        session.connection()
        .execute(
            sa_select(
                entry.c.employee_id,
                entry.c.competency_id,
                entry.c.level,
                entry.c.recorded_at,
                entry.c.id,
            ).where(
                entry.c.validated.is_(True),
                entry.c.competency_id.in_(competency_ids),
                entry.c.recorded_at <= max(moments),
            )
        )
        .all()
    )
    log = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["employee_id", "competency_id", "level", "recorded_at", "id"],
    )
    if log.empty:
        return pd.DataFrame(columns=columns)
    log["recorded_at"] = pd.to_datetime(log["recorded_at"], utc=True)
    log = log.sort_values(["recorded_at", "id"])
    result = log[["employee_id", "competency_id"]].drop_duplicates()
    for i, moment in enumerate(moments):
        latest = (
            log[log["recorded_at"] <= pd.Timestamp(moment)]
            .groupby(["employee_id", "competency_id"], sort=False)["level"]
            .last()
            .rename(f"level_{i}")
        )
        result = result.merge(latest, on=["employee_id", "competency_id"], how="left")
    return result.reset_index(drop=True)


# Unvalidated entries that wait for the supervisor: self-assessments, and levels reached in
# training (recorded on completion by competency_framework.training, confirmed like a self-rating).
AWAITING_VALIDATION_SOURCES = (RatingSource.self, RatingSource.training)


def pending_self_entries(session: Session, *, employee_id: int) -> dict[int, RatingEntry]:
    """Return {competency_id: self (or training) entry awaiting validation}.

    Only the newest unvalidated entry of a competency can be pending: rating it again replaces
    the earlier one in the queue (both stay in the log).
    """
    latest: dict[int, RatingEntry] = {}
    for entry in session.exec(
        select(RatingEntry)
        .where(
            RatingEntry.employee_id == employee_id,
            col(RatingEntry.source).in_(AWAITING_VALIDATION_SOURCES),
            col(RatingEntry.validated).is_(False),
        )
        .order_by(col(RatingEntry.id))
    ):
        latest[entry.competency_id] = entry
    if not latest:
        return {}
    reviewed = set(
        session.exec(
            select(RatingEntry.review_of_id).where(
                RatingEntry.employee_id == employee_id, col(RatingEntry.review_of_id).is_not(None)
            )
        ).all()
    )
    return {cid: e for cid, e in latest.items() if e.id not in reviewed}


@dataclass
class SelfRating:
    """One answer of a self-assessment."""

    level: Any
    note: str = ""
    evidence_url: str = ""


def submit_self_assessment(
    session: Session, *, employee: Employee, ratings: dict[str, SelfRating], actor: Actor
) -> list[RatingEntry]:
    """Record an employee's own ratings (awaiting validation); return the entries written.

    Competencies left blank are skipped; an answer identical to the one already awaiting
    validation is not written twice.
    """
    if actor.user.employee_id != employee.id:
        raise CompetencyError(_("You can only assess your own competencies."), status_code=403)
    by_code = _competencies_by_code(session)
    errors: dict[str, str] = {}
    checked: list[tuple[Competency, int, str, str]] = []
    for code, answer in ratings.items():
        competency = by_code.get(code)
        if competency is None:
            errors[f"level_{code}"] = _("Unknown competency: %(code)s.", code=code)
            continue
        if answer.level is None or (isinstance(answer.level, str) and not answer.level.strip()):
            continue
        try:
            level = parse_level(answer.level, field=f"level_{code}")
            note = _check_note(answer.note, field=f"note_{code}")
            url = check_evidence_url(answer.evidence_url, field=f"evidence_{code}")
        except CompetencyError as err:
            errors[err.field] = str(err)
            continue
        checked.append((competency, level, note, url))
    if not errors and not checked:
        # An empty form is not "nothing changed": the person has not answered yet.
        first = next(iter(ratings), "")
        message = _("Choose your level for at least one competency.")
        raise CompetencyError(message, errors={f"level_{first}": message}, field=f"level_{first}")
    if errors:
        raise CompetencyError(
            _("Some answers are not valid."), errors=errors, field=next(iter(errors))
        )
    pending = pending_self_entries(session, employee_id=employee.id)
    campaign_id = _open_campaign_id(session, employee.id)
    written: list[RatingEntry] = []
    for competency, level, note, url in checked:
        previous = pending.get(competency.id)
        if previous is not None and (previous.level, previous.note, previous.evidence_url) == (
            level,
            note,
            url,
        ):
            continue
        written.append(
            _append(
                session,
                employee_id=employee.id,
                competency_id=competency.id,
                level=level,
                source=RatingSource.self,
                validated=False,
                by=actor.user,
                note=note,
                evidence_url=url,
                campaign_id=campaign_id,
            )
        )
    if written:
        codes = {c.id: c.code for c in by_code.values()}
        audit.record(
            session,
            action="competency.self_assessed",
            actor=actor.user,
            entity_type="employee",
            entity_id=employee.id,
            after={codes[e.competency_id]: e.level for e in written},
        )
    return written


def can_validate(session: Session, *, actor: Actor, employee: Employee) -> bool:
    """True if `actor` may validate `employee`'s ratings: their supervisor, or HR; never oneself."""
    own_employee = actor.user.employee_id
    if own_employee is not None and own_employee == employee.id:
        return False
    if own_employee is not None and employee.supervisor_id == own_employee:
        return True
    return is_hr(actor)


def can_view_person(session: Session, *, actor: Actor, employee: Employee) -> bool:
    """True if `actor` may see this person's ratings and gaps: themselves, supervisor, or HR."""
    own_employee = actor.user.employee_id
    if own_employee is not None and own_employee in (employee.id, employee.supervisor_id):
        return True
    return is_hr(actor)


def _require_viewer(session: Session, *, actor: Actor, employee: Employee) -> None:
    """Raise 404 unless `actor` may see the employee's competencies at all.

    The person's pages answer "not found" to everyone else, so acting on them must too: a 403
    here would confirm what the pages do not.
    """
    if not can_view_person(session, actor=actor, employee=employee):
        raise CompetencyError(_("This employee does not exist."), status_code=404)


@dataclass
class ValidationDecision:
    """A validator's answer to one pending self-assessment entry."""

    entry_id: int
    level: Any
    reason: str = ""


def validate_ratings(
    session: Session, *, employee: Employee, decisions: list[ValidationDecision], actor: Actor
) -> list[RatingEntry]:
    """Record the supervisor's (or HR's) decisions on pending self-assessments.

    Agreeing records the same level; setting another level needs a reason. Each decision is a
    new validated entry pointing at the self entry, and becomes the current level.
    """
    _require_viewer(session, actor=actor, employee=employee)
    if not can_validate(session, actor=actor, employee=employee):
        raise CompetencyError(
            _("Only the employee's own supervisor or HR can validate these ratings."),
            status_code=403,
        )
    pending = {e.id: e for e in pending_self_entries(session, employee_id=employee.id).values()}
    codes = {c.id: c.code for c in list_competencies(session)}
    errors: dict[str, str] = {}
    accepted: list[tuple[RatingEntry, int, str]] = []
    for decision in decisions:
        entry = pending.get(decision.entry_id)
        if entry is None:
            raise CompetencyError(
                _("This self-assessment was already validated or has been replaced."),
                status_code=409,
            )
        code = codes.get(entry.competency_id, str(entry.competency_id))
        try:
            level = parse_level(decision.level, field=f"level_{code}")
            reason = _check_note(decision.reason, field=f"reason_{code}")
        except CompetencyError as err:
            errors[err.field] = str(err)
            continue
        if level != entry.level and not reason:
            errors[f"reason_{code}"] = _("Give a reason when you set a different level.")
            continue
        accepted.append((entry, level, reason))
    if errors:
        raise CompetencyError(
            _("Some decisions are not valid."), errors=errors, field=next(iter(errors))
        )
    if not accepted:
        return []
    session.info.pop(_TOUCHED, None)
    source = (
        RatingSource.supervisor
        if actor.user.employee_id is not None and employee.supervisor_id == actor.user.employee_id
        else RatingSource.hr
    )
    written = [
        _append(
            session,
            employee_id=employee.id,
            competency_id=entry.competency_id,
            level=level,
            source=source,
            validated=True,
            by=actor.user,
            note=reason,
            review_of_id=entry.id,
            campaign_id=entry.campaign_id,
        )
        for entry, level, reason in accepted
    ]
    _bump(session, ratings=1)
    audit.record(
        session,
        action="competency.validated",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={
            codes[entry.competency_id]: {"self": entry.level, "validated": level, "reason": reason}
            for entry, level, reason in accepted
        },
    )
    publish(
        session,
        DomainEvent(
            "competency.ratings_validated",
            {"employee_id": employee.id, "entries": [e.id for e in written]},
            subject_employee_id=employee.id,
        ),
    )
    return written


def record_rating(
    session: Session,
    *,
    employee: Employee,
    competency: Competency,
    level: Any,
    source: RatingSource | str,
    actor: Actor,
    note: str = "",
    evidence_url: str = "",
) -> RatingEntry:
    """Append a validated rating from a supervisor, HR, training or an assessment.

    HR may record any of these sources; a supervisor only `supervisor` ratings of their own
    reports. Self-ratings go through `submit_self_assessment`.
    """
    _require_viewer(session, actor=actor, employee=employee)
    if source not in RatingSource.__members__ or source == RatingSource.self:
        raise CompetencyError(_("Unknown source of rating."), field="source")
    source = RatingSource(source)
    level = parse_level(level)
    note = _check_note(note, field="note")
    evidence_url = check_evidence_url(evidence_url)
    if actor.user.employee_id is not None and actor.user.employee_id == employee.id:
        raise CompetencyError(_("You cannot rate yourself this way."), status_code=403)
    allowed = is_hr(actor) or (
        source == RatingSource.supervisor and can_validate(session, actor=actor, employee=employee)
    )
    if not allowed:
        raise CompetencyError(
            _("Only the employee's own supervisor or HR can rate this employee."), status_code=403
        )
    session.info.pop(_TOUCHED, None)
    entry = _append(
        session,
        employee_id=employee.id,
        competency_id=competency.id,
        level=level,
        source=source,
        validated=True,
        by=actor.user,
        note=note,
        evidence_url=evidence_url,
        campaign_id=_open_campaign_id(session, employee.id),
    )
    _bump(session, ratings=1)
    audit.record(
        session,
        action="competency.rated",
        actor=actor.user,
        entity_type="employee",
        entity_id=employee.id,
        after={"competency": competency.code, "level": level, "source": source, "note": note},
    )
    publish(
        session,
        DomainEvent(
            "competency.rated",
            {"employee_id": employee.id, "competency": competency.code, "level": level},
            subject_employee_id=employee.id,
        ),
    )
    return entry


def record_training_result(
    session: Session,
    *,
    employee: Employee,
    competency: Competency,
    level: Any,
    note: str = "",
    by: User | None = None,
) -> RatingEntry:
    """Append an unvalidated `training` entry: the level a completed activity aims at.

    It waits in the supervisor's validation queue like a self-assessment; the supervisor's
    decision (agree, or another level with a reason) becomes the current level.
    """
    level = parse_level(level)
    note = _check_note(note, field="note")
    entry = _append(
        session,
        employee_id=employee.id,
        competency_id=competency.id,
        level=level,
        source=RatingSource.training,
        validated=False,
        by=by,
        note=note,
        campaign_id=_open_campaign_id(session, employee.id),
    )
    audit.record(
        session,
        action="competency.training_result",
        actor=by,
        entity_type="employee",
        entity_id=employee.id,
        after={"competency": competency.code, "level": level, "note": note},
    )
    return entry


RATING_IMPORT_COLUMNS = ("employee_number", "competency", "level")
RATING_IMPORT_OPTIONAL = ("source", "note", "evidence_url")


def import_ratings(session: Session, *, content: bytes, actor: Actor) -> int:
    """Record validated ratings from an XLSX (HR only), all or nothing; return how many.

    Columns: employee_number, competency (code), level (0–4), and optionally source (hr,
    training, assessment; assessment when blank), note, evidence_url.
    """
    if not is_hr(actor):
        raise CompetencyError(_("Only HR can import ratings."), status_code=403)
    rows = read_sheet(content, required=RATING_IMPORT_COLUMNS, optional=RATING_IMPORT_OPTIONAL)
    by_code = _competencies_by_code(session)
    numbers = {str(r.values.get("employee_number") or "").strip() for r in rows}
    employees = {
        e.number: e
        for chunk in _chunks(sorted(n for n in numbers if n), 500)
        for e in session.exec(select(Employee).where(col(Employee.number).in_(chunk)))
    }
    problems: list[ImportProblem] = []
    accepted: list[tuple[Employee, Competency, int, str, str, str]] = []
    allowed_sources = {RatingSource.hr, RatingSource.training, RatingSource.assessment}
    for row in rows:
        v, letters = row.values, row.letters
        number = str(v.get("employee_number") or "").strip()
        employee = employees.get(number)
        if employee is None:
            problems.append(
                ImportProblem(
                    row.number,
                    letters["employee_number"],
                    _("No employee has the number %(number)s.", number=number or "—"),
                )
            )
            continue
        if actor.user.employee_id == employee.id:
            problems.append(
                ImportProblem(
                    row.number, letters["employee_number"], _("You cannot rate yourself.")
                )
            )
            continue
        code = str(v.get("competency") or "").strip()
        competency = by_code.get(code)
        if competency is None:
            problems.append(
                ImportProblem(
                    row.number, letters["competency"], _("Unknown competency: %(code)s.", code=code)
                )
            )
            continue
        try:
            level = parse_level(v.get("level"))
        except CompetencyError as err:
            problems.append(ImportProblem(row.number, letters["level"], str(err)))
            continue
        source = str(v.get("source") or "").strip().lower() or RatingSource.assessment
        if source not in allowed_sources:
            problems.append(
                ImportProblem(
                    row.number,
                    letters.get("source", ""),
                    _("Source must be hr, training or assessment."),
                )
            )
            continue
        try:
            note = _check_note(str(v.get("note") or ""), field="note")
            url = check_evidence_url(str(v.get("evidence_url") or ""))
        except CompetencyError as err:
            column = letters.get("note" if err.field == "note" else "evidence_url", "")
            problems.append(ImportProblem(row.number, column, str(err)))
            continue
        accepted.append((employee, competency, level, source, note, url))
    if not rows:
        problems.append(ImportProblem(0, "", _("The sheet has no rows to import.")))
    if problems:
        raise ImportRejected(problems)
    session.info.pop(_TOUCHED, None)
    for employee, competency, level, source, note, url in accepted:
        _append(
            session,
            employee_id=employee.id,
            competency_id=competency.id,
            level=level,
            source=source,
            validated=True,
            by=actor.user,
            note=note,
            evidence_url=url,
        )
    _bump(session, ratings=1)
    digest = hashlib.sha256(content).hexdigest()
    audit.record(
        session,
        action="competency.ratings_imported",
        actor=actor.user,
        entity_type="rating_import",
        entity_id=digest[:16],
        after={
            "rows": len(accepted),
            "employees": sorted({e.number for e, *_rest in accepted}),
            "sha256": digest,
        },
    )
    return len(accepted)


def _chunks(items: list, size: int):
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@dataclass
class ValidationQueueItem:
    employee: Employee
    pending: int
    oldest: datetime


def validation_queue(
    session: Session, *, actor: Actor, limit: int = 200
) -> list[ValidationQueueItem]:
    """Return people with self-assessments awaiting `actor`'s validation, oldest first.

    A supervisor sees their direct reports; HR sees everyone's (except their own).
    """
    reviewed = select(RatingEntry.review_of_id).where(col(RatingEntry.review_of_id).is_not(None))
    statement = (
        select(RatingEntry.employee_id, func.count(), func.min(RatingEntry.recorded_at))
        .where(
            col(RatingEntry.source).in_(AWAITING_VALIDATION_SOURCES),
            col(RatingEntry.validated).is_(False),
            col(RatingEntry.id).not_in(reviewed),
        )
        .group_by(RatingEntry.employee_id)
    )
    own = actor.user.employee_id
    if not is_hr(actor):
        if own is None:
            return []
        statement = statement.where(
            col(RatingEntry.employee_id).in_(
                select(Employee.id).where(Employee.supervisor_id == own)
            )
        )
    candidates = session.exec(statement).all()
    items: list[ValidationQueueItem] = []
    for employee_id, _count, _oldest in sorted(candidates, key=lambda r: r[2])[: limit * 2]:
        if employee_id == own:
            continue
        employee = session.get(Employee, employee_id)
        if employee is None or employee.status == EmployeeStatus.left:
            continue
        pending = pending_self_entries(session, employee_id=employee_id)
        if pending:
            oldest = min(e.recorded_at for e in pending.values())
            items.append(ValidationQueueItem(employee, len(pending), oldest))
        if len(items) >= limit:
            break
    return items


# --- gap analysis: loading frames -------------------------------------------------------------


def _fetch_ints(session: Session, statement: Any, columns: list[str]) -> pd.DataFrame:
    """Run a Core select of integer columns and return it as a frame, without Row objects.

    Rows come from the DB-API cursor in batches and go straight into numpy, which keeps both
    time and peak memory low for millions of rows.
    """
    result = session.connection().execute(statement)
    cursor = getattr(result, "cursor", None)
    width = len(columns)
    parts: list[np.ndarray] = []
    try:
        while True:
            batch = cursor.fetchmany(250_000) if cursor is not None else result.fetchmany(250_000)
            if not batch:
                break
            flat = np.fromiter(
                itertools.chain.from_iterable(batch), dtype=np.int64, count=len(batch) * width
            )
            parts.append(flat.reshape(-1, width))
    finally:
        result.close()
    data = np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)
    return pd.DataFrame({name: data[:, i] for i, name in enumerate(columns)})


def fetch_current_ratings(
    session: Session, *, employee_ids: list[int] | None = None, above_revision: int | None = None
) -> pd.DataFrame:
    """Return employee_id, competency_id, level of everyone's current (validated) ratings.

    With `above_revision`, only those written by transactions after that ratings revision.
    """
    table = CurrentRating.__table__
    statement = sa_select(table.c.employee_id, table.c.competency_id, table.c.level)
    if employee_ids is not None:
        statement = statement.where(table.c.employee_id.in_(employee_ids))
    if above_revision is not None:
        statement = statement.where(table.c.revision > above_revision)
    return _fetch_ints(session, statement, ["employee_id", "competency_id", "level"])


def _tuples(result) -> list[tuple]:
    """Return a result's rows as plain tuples (pandas builds frames from them much faster)."""
    return [tuple(row) for row in result]


@dataclass
class OrgFrames:
    """The organisation as frames: positions, units and profiles (small) for one report."""

    positions: pd.DataFrame  # position_id, unit_id, role_code, title
    units: pd.DataFrame  # unit_id, code, name, region, is_central, kind, parent_id
    profiles: pd.DataFrame  # profile_id, key, role_code, position_id, version, title_es, title_en
    fingerprint: str


class _OrgFramesCache:
    """Per-process copy of the organisation frames, keyed by database and `org` revision.

    Triggers advance the `org` data revision on every change to units, positions and role
    profiles (backend.revisions), so one one-row query tells whether the copy is current.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entry: tuple[tuple[str, int], OrgFrames] | None = None

    def clear(self) -> None:
        with self.lock:
            self.entry = None


ORG_FRAMES_CACHE = _OrgFramesCache()


def database_identity(session: Session) -> str:
    """Return which database `session` talks to (cache keys must never mix databases)."""
    return session.get_bind().url.render_as_string(hide_password=True)


def load_org_frames(session: Session) -> OrgFrames:
    """Return positions, units and active profiles, with a fingerprint of their version.

    The frames come from a per-process cache when the `org` revision has not moved. Callers
    get shallow copies: adding a column never reaches the cached frames (never modify values
    in place).
    """
    key = (database_identity(session), revisions.value_of(session, "org"))
    with ORG_FRAMES_CACHE.lock:
        entry = ORG_FRAMES_CACHE.entry
    if entry is not None and entry[0] == key:
        frames = entry[1]
    else:
        frames = _read_org_frames(session, fingerprint=f"{key[0]}#org{key[1]}")
        with ORG_FRAMES_CACHE.lock:
            ORG_FRAMES_CACHE.entry = (key, frames)
    return OrgFrames(
        frames.positions.copy(deep=False),
        frames.units.copy(deep=False),
        frames.profiles.copy(deep=False),
        frames.fingerprint,
    )


def _read_org_frames(session: Session, *, fingerprint: str) -> OrgFrames:
    pos = Position.__table__
    unit = Unit.__table__
    prof = RoleProfile.__table__
    positions = pd.DataFrame(
        _tuples(
            session.connection().execute(
                sa_select(pos.c.id, pos.c.unit_id, pos.c.role_code, pos.c.title)
            )
        ),
        columns=["position_id", "unit_id", "role_code", "title"],
    )
    units = pd.DataFrame(
        _tuples(
            session.connection().execute(
                sa_select(
                    unit.c.id,
                    unit.c.code,
                    unit.c.name,
                    unit.c.region,
                    unit.c.is_central,
                    unit.c.kind,
                    unit.c.parent_id,
                ).order_by(unit.c.name)
            )
        ),
        columns=["unit_id", "code", "name", "region", "is_central", "kind", "parent_id"],
    )
    profiles = pd.DataFrame(
        _tuples(
            session.connection().execute(
                sa_select(
                    prof.c.id,
                    prof.c.key,
                    prof.c.role_code,
                    prof.c.position_id,
                    prof.c.current_version,
                    prof.c.title_es,
                    prof.c.title_en,
                ).where(prof.c.is_active.is_(True))
            )
        ),
        columns=[
            "profile_id",
            "key",
            "role_code",
            "position_id",
            "version",
            "title_es",
            "title_en",
        ],
    )
    units["is_central"] = units["is_central"].astype(bool)
    return OrgFrames(positions, units, profiles, fingerprint)


def fetch_requirements(session: Session) -> pd.DataFrame:
    """Return profile_id, competency_id, required, essential for every active profile."""
    prof, ver, req = RoleProfile.__table__, RoleProfileVersion.__table__, RoleRequirement.__table__
    rows = (
        session.connection()
        .execute(
            sa_select(prof.c.id, req.c.competency_id, req.c.level, req.c.importance)
            .select_from(
                prof.join(
                    ver,
                    and_(ver.c.profile_id == prof.c.id, ver.c.version == prof.c.current_version),
                ).join(req, req.c.version_id == ver.c.id)
            )
            .where(prof.c.is_active.is_(True))
        )
        .all()
    )
    frame = pd.DataFrame(
        [tuple(r) for r in rows], columns=["profile_id", "competency_id", "required", "importance"]
    )
    frame["essential"] = frame["importance"] == Importance.essential
    return frame.drop(columns=["importance"]).astype(
        {"profile_id": "int64", "competency_id": "int64", "required": "int64"}
    )


def fetch_employees(
    session: Session, org: OrgFrames, *, unit_ids: list[int] | None = None
) -> pd.DataFrame:
    """Return employee_id, unit_id, position_id, role_code, profile_id of people in post.

    People who have left are out; people whose position has no profile get profile_id -1.
    """
    emp = Employee.__table__
    statement = sa_select(emp.c.id, emp.c.unit_id, func.coalesce(emp.c.position_id, 0)).where(
        emp.c.status != EmployeeStatus.left
    )
    if unit_ids is not None:
        statement = statement.where(emp.c.unit_id.in_(unit_ids))
    frame = _fetch_ints(session, statement, ["employee_id", "unit_id", "position_id"])
    profiles = org.profiles
    overrides = profiles[profiles["position_id"].notna()]
    by_role = profiles[profiles["position_id"].isna()]
    position_roles = pd.Series(
        org.positions["role_code"].to_numpy(), index=org.positions["position_id"].to_numpy()
    )
    role_profile = pd.Series(
        by_role["profile_id"].to_numpy(), index=by_role["role_code"].to_numpy()
    )
    override_profile = pd.Series(
        overrides["profile_id"].to_numpy(),
        index=overrides["position_id"].astype("int64").to_numpy(),
    )
    # Per position first (few), then mapped onto people (many).
    per_position = pd.DataFrame({"position_id": org.positions["position_id"].astype("int64")})
    per_position["role_code"] = position_roles.reindex(per_position["position_id"]).to_numpy()
    from_role = role_profile.reindex(per_position["role_code"]).to_numpy()
    from_override = override_profile.reindex(per_position["position_id"]).to_numpy()
    per_position["profile_id"] = np.where(
        pd.notna(from_override), from_override, np.where(pd.notna(from_role), from_role, -1)
    ).astype("int64")
    frame = frame.merge(per_position, on="position_id", how="left")
    frame["profile_id"] = frame["profile_id"].fillna(-1).astype("int64")
    frame["role_code"] = frame["role_code"].fillna("").astype(object)
    return frame


def gap_inputs(
    session: Session,
    org: OrgFrames,
    *,
    unit_ids: list[int] | None = None,
    employee_ids: list[int] | None = None,
) -> tuple[gaps.GapInputs, pd.DataFrame]:
    """Return the gap analysis inputs and all employees in scope (also those without a profile)."""
    employees = fetch_employees(session, org, unit_ids=unit_ids)
    if employee_ids is not None:
        employees = employees[employees["employee_id"].isin(employee_ids)]
    profiled = employees[employees["profile_id"] >= 0].reset_index(drop=True)
    scoped = (
        None if (unit_ids is None and employee_ids is None) else profiled["employee_id"].tolist()
    )
    current = (
        fetch_current_ratings(session, employee_ids=scoped)
        if scoped != []
        else (pd.DataFrame({"employee_id": [], "competency_id": [], "level": []}, dtype="int64"))
    )
    competency_ids = [c.id for c in list_competencies(session)]
    inputs = gaps.GapInputs(
        employees=profiled[["employee_id", "unit_id", "profile_id", "role_code"]],
        requirements=fetch_requirements(session),
        current=current,
        competency_ids=competency_ids,
    )
    return inputs, employees


# --- gap analysis: cached organisation report -----------------------------------------------------


def data_key(session: Session) -> tuple:
    """Return a cheap key that changes whenever anything a gap report reads changes.

    Ratings and profiles bump `competency_revision` in their own transaction; every change to
    an employee row advances the `people` data revision (a trigger, backend.revisions).
    Positions, units and profiles are keyed by the `org` revision in `load_org_frames`. Read
    this *before* the data: the data is then at least as new as the key, so a cached copy is
    never older than its key says.
    """
    rev = (
        session.connection()
        .execute(text("SELECT ratings, profiles FROM competency_revision WHERE id = 1"))
        .one_or_none()
    )
    return (tuple(rev) if rev else (0, 0), revisions.value_of(session, "people"))


@dataclass
class CachedCells:
    key: tuple
    cells: pd.DataFrame
    people_without_profile: int
    computed_at: datetime
    # For refreshing after new ratings only: the inputs and matrices the cells came from.
    inputs: gaps.GapInputs | None = None
    matrices: dict[str, np.ndarray] | None = None


class _GapCache:
    """Per-process cache of the organisation's cell sums and rolled-up reports.

    Each worker keeps its own copy, but validity is always decided by the key read from the
    database, so all workers agree and none serves a report older than the data.
    """

    def __init__(self, reports: int = 64) -> None:
        self.lock = threading.Lock()
        self.cells: CachedCells | None = None
        self.reports: OrderedDict[tuple, Any] = OrderedDict()
        self.max_reports = reports
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget everything, the organisation frames included (a cold start)."""
        with self.lock:
            self.cells = None
            self.reports.clear()
        ORG_FRAMES_CACHE.clear()

    def clear_reports(self) -> None:
        """Forget the rolled-up reports only (the cell sums stay)."""
        with self.lock:
            self.reports.clear()

    def get_report(self, key: tuple) -> Any | None:
        with self.lock:
            found = self.reports.get(key)
            if found is not None:
                self.reports.move_to_end(key)
                self.hits += 1
            return found

    def put_report(self, key: tuple, report: Any) -> None:
        with self.lock:
            self.reports[key] = report
            self.reports.move_to_end(key)
            while len(self.reports) > self.max_reports:
                self.reports.popitem(last=False)


GAP_CACHE = _GapCache()


def organisation_cells(session: Session, org: OrgFrames | None = None) -> CachedCells:
    """Return the organisation's per (unit, role, competency) counts, from cache when current.

    The current ratings (the one large read) are carried over from the cached copy whenever it
    exists: only the ratings written since are read. When people, positions or profiles
    changed too, the population and requirements are re-read and the carried ratings laid out
    for it (people new to it have theirs read). Only a cold process reads everything.
    """
    key_data = data_key(session)
    org = org or load_org_frames(session)
    key = (key_data, org.fingerprint)
    cached = GAP_CACHE.cells
    if cached is not None and cached.key == key:
        return cached
    GAP_CACHE.misses += 1
    if (
        cached is not None
        and cached.matrices is not None
        and cached.inputs is not None
        and _same_except_ratings(cached.key, key)
    ):
        delta = fetch_current_ratings(session, above_revision=cached.key[0][0][0])
        matrices = gaps.apply_ratings(cached.inputs, cached.matrices, delta)
        fresh = CachedCells(
            key=key,
            cells=gaps.sums_from_matrices(cached.inputs, matrices),
            people_without_profile=cached.people_without_profile,
            computed_at=utcnow(),
            inputs=cached.inputs,
            matrices=matrices,
        )
    elif (carried := _carry_over(session, org, cached, key)) is not None:
        fresh = carried
    else:
        inputs, employees = gap_inputs(session, org)
        matrices = gaps.person_matrices(inputs)
        fresh = CachedCells(
            key=key,
            cells=gaps.sums_from_matrices(inputs, matrices),
            people_without_profile=int((employees["profile_id"] < 0).sum()),
            computed_at=utcnow(),
            inputs=gaps.GapInputs(
                inputs.employees,
                inputs.requirements,
                inputs.current.iloc[0:0],
                inputs.competency_ids,
            ),
            matrices=matrices,
        )
    with GAP_CACHE.lock:
        GAP_CACHE.cells = fresh
    return fresh


# Above this many people new to the population, one full read beats a long IN list.
_MAX_NEWCOMERS = 5_000


def _carry_over(
    session: Session, org: OrgFrames, cached: CachedCells | None, key: tuple
) -> CachedCells | None:
    """Recompute with the cached copy's ratings, or None when a full read is needed."""
    if cached is None or cached.matrices is None or cached.inputs is None:
        return None
    old_ratings_revision = cached.key[0][0][0]
    if key[0][0][0] < old_ratings_revision:
        return None  # a different (restored) database: never mix
    competency_ids = [c.id for c in list_competencies(session)]
    if list(cached.inputs.competency_ids) != competency_ids:
        return None
    employees = fetch_employees(session, org)
    profiled = employees[employees["profile_id"] >= 0].reset_index(drop=True)
    inputs = gaps.GapInputs(
        employees=profiled[["employee_id", "unit_id", "profile_id", "role_code"]],
        requirements=fetch_requirements(session),
        current=cached.inputs.current.iloc[0:0],
        competency_ids=competency_ids,
    )
    carried, known = gaps.carry_ratings(cached.inputs, cached.matrices, inputs)
    newcomers = inputs.employees["employee_id"].to_numpy()[~known].tolist()
    if len(newcomers) > _MAX_NEWCOMERS:
        return None
    ratings = [fetch_current_ratings(session, above_revision=old_ratings_revision)]
    if newcomers:
        ratings.insert(0, fetch_current_ratings(session, employee_ids=newcomers))
    base = gaps.person_matrices(inputs)  # requirements for the new population, nobody rated
    matrices = gaps.apply_ratings(inputs, {**base, **carried}, pd.concat(ratings))
    return CachedCells(
        key=key,
        cells=gaps.sums_from_matrices(inputs, matrices),
        people_without_profile=int((employees["profile_id"] < 0).sum()),
        computed_at=utcnow(),
        inputs=inputs,
        matrices=matrices,
    )


def _same_except_ratings(old: tuple, new: tuple) -> bool:
    """True if two cache keys differ at most by a newer ratings revision."""
    (old_data, old_org), (new_data, new_org) = old, new
    return (
        old_org == new_org
        and old_data[1:] == new_data[1:]
        and old_data[0][1] == new_data[0][1]
        and new_data[0][0] >= old_data[0][0]
    )


@dataclass
class ProfileUse:
    """Which version of which profile a report used (every report states it)."""

    key: str
    title: str
    version: int


@dataclass
class ReportBasis:
    """What a gap report was computed from."""

    profiles_revision: int
    ratings_revision: int
    profiles: list[ProfileUse]
    computed_at: datetime
    people_without_profile: int = 0


def _profile_uses(org: OrgFrames, locale_title: str) -> list[ProfileUse]:
    return [
        ProfileUse(
            key=row.key,
            title=(getattr(row, locale_title) or row.title_es or row.key),
            version=int(row.version),
        )
        for row in org.profiles.sort_values("key").itertuples()
    ]


@dataclass
class HeatCell:
    competency_id: int
    people: float | None
    required_n: float | None
    met_n: float | None
    coverage: float | None
    mean_gap: float | None
    critical_n: float | None
    bench_n: float | None
    spof: float | None
    suppressed: bool
    css: str = ""

    def value(self, metric: str) -> float | None:
        return {
            "mean_gap": self.mean_gap,
            "coverage": self.coverage,
            "critical": self.critical_n,
            "bench": self.bench_n,
        }[metric]


@dataclass
class HeatRow:
    key: str
    label: str
    link: str
    people: float | None
    cells: list[HeatCell]
    total: HeatCell


@dataclass
class HeatmapReport:
    group_by: str
    metric: str
    filters: dict[str, Any]
    competencies: list[Competency]
    rows: list[HeatRow]
    total: HeatRow
    basis: ReportBasis
    details: bool
    suppressed_cells: int = 0


METRICS = ("mean_gap", "coverage", "critical", "bench")


def _none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        if np.isnan(value):
            return None
    except TypeError:
        return None
    return float(value)


def _cell(record: dict, metric: str) -> HeatCell:
    cell = HeatCell(
        competency_id=int(record.get("competency_id", 0)),
        people=_none(record.get("people")),
        required_n=_none(record.get("required_n")),
        met_n=_none(record.get("met_n")),
        coverage=_none(record.get("coverage")),
        mean_gap=_none(record.get("mean_gap")),
        critical_n=_none(record.get("critical_n")),
        bench_n=_none(record.get("bench_n")),
        spof=_none(record.get("spof")),
        suppressed=bool(record.get("suppressed", False)),
    )
    if cell.suppressed:
        cell.css = "heat-suppressed"
    elif metric in ("mean_gap", "coverage"):
        cell.css = gaps.heat_class(metric, cell.value(metric))
    else:
        cell.css = ""
    return cell


def heatmap(
    session: Session,
    *,
    group_by: str = "region",
    metric: str = "mean_gap",
    region: str = "",
    unit_type: str = "",
    role: str = "",
    unit_id: int | None = None,
    details: bool = False,
    locale: str = "es",
) -> HeatmapReport:
    """Return the gap heatmap: one row per group × one column per competency, plus totals.

    Without `details` (HR rights) cells of fewer than five people are suppressed.
    """
    if group_by not in gaps.GROUPINGS:
        raise CompetencyError(_("Unknown grouping."), field="group")
    if metric not in METRICS:
        raise CompetencyError(_("Unknown measure."), field="metric")
    if unit_type not in ("", "central", "decentralised"):
        raise CompetencyError(_("Unknown unit type."), field="unit_type")
    org = load_org_frames(session)
    cached = organisation_cells(session, org)
    report_key = (
        cached.key,
        group_by,
        metric,
        region,
        unit_type,
        role,
        unit_id,
        details,
        locale,
    )
    found = GAP_CACHE.get_report(report_key)
    if found is not None:
        return found
    filters = {
        "regions": [region] if region else None,
        "unit_type": unit_type or None,
        "roles": [role] if role else None,
        "unit_ids": _subtree(org.units, unit_id) if unit_id is not None else None,
    }
    rolled = gaps.rollup(cached.cells, org.units, group_by=group_by, **filters)
    totals = gaps.totals_by_group(rolled)
    overall_by_comp = gaps.rollup(cached.cells, org.units, group_by="organisation", **filters)
    overall = gaps.totals_by_group(overall_by_comp)
    if not details:
        rolled, totals = gaps.suppress(rolled), gaps.suppress(totals)
        overall_by_comp, overall = gaps.suppress(overall_by_comp), gaps.suppress(overall)
    competencies = list_competencies(session)
    labels = _group_labels(org, group_by, locale)
    by_group: dict[Any, dict[int, dict]] = {}
    for record in rolled.to_dict("records"):
        by_group.setdefault(record["group"], {})[int(record["competency_id"])] = record
    total_by_group = {r["group"]: r for r in totals.to_dict("records")}

    def build_row(
        group: Any, cells: dict[int, dict], total: dict, label: str, link: str
    ) -> HeatRow:
        return HeatRow(
            key=str(group),
            label=label,
            link=link,
            people=_none(total.get("people")),
            cells=[
                _cell(cells.get(c.id, {"competency_id": c.id, "suppressed": False}), metric)
                for c in competencies
            ],
            total=_cell(total, metric),
        )

    rows = []
    for group, cells in by_group.items():
        label, link = labels(group, filters)
        rows.append(build_row(group, cells, total_by_group.get(group, {}), label, link))
    rows.sort(key=lambda r: r.label.lower())
    overall_cells = {int(r["competency_id"]): r for r in overall_by_comp.to_dict("records")}
    overall_total = overall.to_dict("records")[0] if len(overall) else {"suppressed": False}
    total_row = build_row("", overall_cells, overall_total, _("All in view"), "")
    rev = revision(session)
    report = HeatmapReport(
        group_by=group_by,
        metric=metric,
        filters={
            "region": region,
            "unit_type": unit_type,
            "role": role,
            "unit_id": unit_id,
        },
        competencies=competencies,
        rows=rows,
        total=total_row,
        basis=ReportBasis(
            profiles_revision=rev.profiles,
            ratings_revision=rev.ratings,
            profiles=_profile_uses(org, f"title_{locale}"),
            computed_at=cached.computed_at,
            people_without_profile=cached.people_without_profile,
        ),
        details=details,
        suppressed_cells=sum(c.suppressed for r in rows for c in r.cells),
    )
    GAP_CACHE.put_report(report_key, report)
    return report


def _subtree(units: pd.DataFrame, unit_id: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for uid, parent in zip(units["unit_id"], units["parent_id"], strict=True):
        if pd.notna(parent):
            children.setdefault(int(parent), []).append(int(uid))
    found, stack = [], [unit_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _group_labels(org: OrgFrames, group_by: str, locale: str):
    units = org.units.set_index("unit_id")
    role_titles = {
        row.role_code: (getattr(row, f"title_{locale}") or row.role_code)
        for row in org.profiles[org.profiles["position_id"].isna()].itertuples()
    }

    def label(group: Any, filters: dict) -> tuple[str, str]:
        if group_by == "region":
            name = str(group) or _("(no region)")
            return name, f"/competencies/gaps?group=unit&region={quote(str(group))}"
        if group_by == "unit":
            if group in units.index:
                return str(units.loc[group, "name"]), f"/competencies/gaps/units/{int(group)}"
            return str(group), ""
        if group_by == "unit_type":
            text_label = _("Central") if group == "central" else _("Decentralised")
            return text_label, f"/competencies/gaps?group=unit&unit_type={group}"
        if group_by == "role":
            return role_titles.get(group, str(group) or _("(no role)")), (
                f"/competencies/gaps?group=unit&role={quote(str(group))}"
            )
        return _("Organisation"), ""

    return label


# --- people -------------------------------------------------------------------------------------


@dataclass
class PersonGapRow:
    competency: Competency
    required: int
    importance: str
    current: int | None
    source: str
    rated_at: datetime | None
    pending: RatingEntry | None
    gap: int
    critical: bool
    met: bool


@dataclass
class PersonGapProfile:
    employee: Employee
    unit: Unit | None
    position: Position | None
    profile: RoleProfile | None
    version: RoleProfileVersion | None
    rows: list[PersonGapRow]
    required_n: int = 0
    met_n: int = 0
    gap_sum: int = 0
    critical_n: int = 0

    @property
    def coverage(self) -> float | None:
        return self.met_n / self.required_n if self.required_n else None

    @property
    def mean_gap(self) -> float | None:
        return self.gap_sum / self.required_n if self.required_n else None


def person_gap_profile(session: Session, *, employee: Employee) -> PersonGapProfile:
    """Return one person's requirements, current levels, pending self-ratings and gaps."""
    position = session.get(Position, employee.position_id) if employee.position_id else None
    profile = profile_for_position(session, position)
    version = profile_version(session, profile) if profile is not None else None
    requirements = requirements_of(session, profile) if profile is not None else {}
    current = current_levels(session, employee_id=employee.id)
    pending = pending_self_entries(session, employee_id=employee.id)
    result = PersonGapProfile(
        employee=employee,
        unit=session.get(Unit, employee.unit_id),
        position=position,
        profile=profile,
        version=version,
        rows=[],
    )
    for competency in list_competencies(session):
        requirement = requirements.get(competency.id)
        required = requirement.level if requirement else 0
        rating = current.get(competency.id)
        level = rating.level if rating else None
        shortfall = required - (level or 0)
        has_req = required > 0
        row = PersonGapRow(
            competency=competency,
            required=required,
            importance=requirement.importance if requirement else Importance.desirable,
            current=level,
            source=rating.source if rating else "",
            rated_at=rating.rated_at if rating else None,
            pending=pending.get(competency.id),
            gap=max(0, shortfall) if has_req else 0,
            critical=has_req and shortfall >= gaps.CRITICAL_GAP,
            met=has_req and shortfall <= 0,
        )
        result.rows.append(row)
        if has_req:
            result.required_n += 1
            result.met_n += int(row.met)
            result.gap_sum += row.gap
            result.critical_n += int(row.critical)
    return result


@dataclass
class UnitPerson:
    employee_id: int
    name: str
    number: str
    position: str
    gaps: list[int | None]  # per competency; None where the profile has no requirement
    required_n: int
    met_n: int
    gap_sum: int
    critical_n: int
    rated_n: int


def unit_people(
    session: Session, *, unit_id: int, role: str = "", include_subunits: bool = False
) -> list[UnitPerson]:
    """Return each person in a unit with their gap per competency (HR detail view)."""
    org = load_org_frames(session)
    unit_ids = _subtree(org.units, unit_id) if include_subunits else [unit_id]
    inputs, employees = gap_inputs(session, org, unit_ids=unit_ids)
    if role:
        keep = inputs.employees["role_code"] == role
        inputs = gaps.GapInputs(
            inputs.employees[keep], inputs.requirements, inputs.current, inputs.competency_ids
        )
    frame = gaps.gap_frame(inputs)
    people = {
        e.id: e
        for chunk in _chunks(inputs.employees["employee_id"].tolist(), 500)
        for e in session.exec(select(Employee).where(col(Employee.id).in_(chunk)))
    }
    titles = dict(zip(org.positions["position_id"], org.positions["title"], strict=True))
    positions = dict(zip(employees["employee_id"], employees["position_id"], strict=True))
    order = {cid: i for i, cid in enumerate(inputs.competency_ids)}
    result = []
    for employee_id, rows in frame.groupby("employee_id"):
        employee = people.get(int(employee_id))
        if employee is None:
            continue
        cells: list[int | None] = [None] * len(order)
        for record in rows.itertuples():
            if record.has_requirement and record.competency_id in order:
                cells[order[record.competency_id]] = int(record.gap)
        result.append(
            UnitPerson(
                employee_id=employee.id,
                name=employee.full_name,
                number=employee.number,
                position=titles.get(positions.get(employee.id), ""),
                gaps=cells,
                required_n=int(rows["has_requirement"].sum()),
                met_n=int(rows["met"].sum()),
                gap_sum=int(rows["gap"].sum()),
                critical_n=int(rows["critical"].sum()),
                rated_n=int((rows["rated"] & rows["has_requirement"]).sum()),
            )
        )
    result.sort(key=lambda p: (-p.critical_n, -p.gap_sum, p.name))
    return result


# --- attention and trend --------------------------------------------------------------------------


@dataclass
class AttentionItem:
    unit_id: int
    unit: str
    region: str
    competency: Competency
    required_n: float | None
    met_n: float | None
    critical_n: float | None
    essential_n: float | None
    essential_met_n: float | None
    coverage: float | None


@dataclass
class AttentionReport:
    critical: list[AttentionItem]
    spof: list[AttentionItem]
    basis: ReportBasis


def attention_report(
    session: Session,
    *,
    details: bool,
    region: str = "",
    unit_type: str = "",
    role: str = "",
    limit: int = 20,
    locale: str = "es",
) -> AttentionReport:
    """Return the largest critical gaps and the single points of failure, unit × competency."""
    org = load_org_frames(session)
    cached = organisation_cells(session, org)
    key = ("attention", cached.key, details, region, unit_type, role, limit, locale)
    found = GAP_CACHE.get_report(key)
    if found is not None:
        return found
    rolled = gaps.rollup(
        cached.cells,
        org.units,
        group_by="unit",
        regions=[region] if region else None,
        unit_type=unit_type or None,
        roles=[role] if role else None,
    )
    if not details:
        rolled = gaps.suppress(rolled)
    lists = gaps.attention(rolled, limit=limit)
    units = org.units.set_index("unit_id")
    competencies = {c.id: c for c in list_competencies(session)}

    def items(frame: pd.DataFrame) -> list[AttentionItem]:
        out = []
        for r in frame.to_dict("records"):
            uid = int(r["group"])
            out.append(
                AttentionItem(
                    unit_id=uid,
                    unit=str(units.loc[uid, "name"]) if uid in units.index else str(uid),
                    region=str(units.loc[uid, "region"]) if uid in units.index else "",
                    competency=competencies[int(r["competency_id"])],
                    required_n=_none(r["required_n"]),
                    met_n=_none(r["met_n"]),
                    critical_n=_none(r["critical_n"]),
                    essential_n=_none(r["essential_n"]),
                    essential_met_n=_none(r["essential_met_n"]),
                    coverage=_none(r["coverage"]),
                )
            )
        return out

    rev = revision(session)
    report = AttentionReport(
        critical=items(lists["critical"]),
        spof=items(lists["spof"].head(limit * 5)),
        basis=ReportBasis(
            rev.profiles,
            rev.ratings,
            _profile_uses(org, f"title_{locale}"),
            cached.computed_at,
            cached.people_without_profile,
        ),
    )
    GAP_CACHE.put_report(key, report)
    return report


def trend_report(
    session: Session,
    *,
    region: str = "",
    unit_type: str = "",
    role: str = "",
    unit_id: int | None = None,
    months: int = 12,
    details: bool = False,
) -> pd.DataFrame:
    """Return coverage, mean gap and critical gaps at each month end, from the rating log.

    Without `details`, months where fewer than five people hold requirements are suppressed.
    """
    months = max(1, min(int(months), 36))
    org = load_org_frames(session)
    key = ("trend", data_key(session), org.fingerprint, region, unit_type, role, unit_id, months)
    found = GAP_CACHE.get_report(key)
    if found is None:
        units = org.units
        if region:
            units = units[units["region"] == region]
        if unit_type:
            units = units[units["is_central"] == (unit_type == "central")]
        unit_ids = units["unit_id"].astype("int64").tolist()
        if unit_id is not None:
            subtree = set(_subtree(org.units, unit_id))
            unit_ids = [u for u in unit_ids if u in subtree]
        whole = not region and not unit_type and unit_id is None
        inputs, _employees = gap_inputs(session, org, unit_ids=None if whole else unit_ids)
        if role:
            keep = inputs.employees["role_code"] == role
            inputs = gaps.GapInputs(
                inputs.employees[keep].reset_index(drop=True),
                inputs.requirements,
                inputs.current,
                inputs.competency_ids,
            )
        entry = RatingEntry.__table__
        statement = sa_select(
            entry.c.employee_id, entry.c.competency_id, entry.c.level, entry.c.recorded_at
        ).where(entry.c.validated.is_(True))
        if not whole:
            statement = statement.where(
                entry.c.employee_id.in_(
                    sa_select(Employee.__table__.c.id).where(
                        Employee.__table__.c.unit_id.in_(unit_ids)
                    )
                )
            )
        log = pd.DataFrame(
            session.connection().execute(statement).all(),
            columns=["employee_id", "competency_id", "level", "recorded_at"],
        )
        found = gaps.trend(log, inputs, gaps.month_ends(pd.Timestamp(utcnow()), months))
        GAP_CACHE.put_report(key, found)
    result = found.copy()
    if not details and len(result):
        small = (result["required_n"] > 0) & (result["required_n"] < gaps.MIN_CELL_PEOPLE)
        result["suppressed"] = small
        for column in ("coverage", "mean_gap", "critical_n", "met_n", "rated_n"):
            result[column] = result[column].astype("float64")
            result.loc[small, column] = np.nan
    else:
        result["suppressed"] = False
    return result


def regions(session: Session) -> list[str]:
    """Return the regions that units belong to, sorted."""
    return sorted(r for r in session.exec(select(Unit.region).distinct()).all() if r)


def role_choices(session: Session, locale: str) -> list[tuple[str, str]]:
    """Return (role_code, title) of role profiles, for filters."""
    return [
        (p.role_code, (p.title_en if locale == "en" else p.title_es) or p.role_code)
        for p in list_profiles(session)
        if p.position_id is None
    ]


@dataclass
class MyCompetencies:
    """What the "My competencies" page and panel show."""

    profile: PersonGapProfile
    pending: int
    self_rated: int
    campaigns: list[AssessmentCampaign] = field(default_factory=list)
