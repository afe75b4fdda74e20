"""Role profiles: versions, requirements, position overrides, imports."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from backend import audit, clock
from backend.auth.models import User
from backend.i18n import _
from backend.org.models import Position
from backend.tables import ImportProblem, ImportRejected, read_sheet
from competency_framework.models import (
    Importance,
    RoleProfile,
    RoleProfileVersion,
    RoleRequirement,
)
from competency_framework.service.framework import (
    CompetencyError,
    _bump,
    _check_note,
    _competencies_by_code,
    list_competencies,
    parse_level,
)

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
    profile.updated_at = clock.now()
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
    profile.updated_at = clock.now()
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
