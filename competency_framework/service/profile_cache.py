"""The role profiles in force, read once per data revision and shared across requests.

Every person's gap profile (the dashboard's panel, the self-assessment, the appraisal's
competency part, the training proposals) needs the profile their position follows, its current
version and its requirements: a handful of rows that change only when HR edits a profile.
Database triggers advance the `profiles` data revision on every change to the profiles, their
versions and their requirements (backend.revisions, migration 0029), so each process keeps one
copy per database and revision: frozen dataclasses with the models' field names (templates read
`profile.key`, `localized(profile, "title")`, `version.version`), never ORM objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import select as sa_select
from sqlmodel import Session

from backend import revisions
from backend.org.models import Position
from competency_framework.models import RoleProfile, RoleProfileVersion, RoleRequirement


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    id: int
    key: str
    role_code: str
    position_id: int | None
    title_es: str
    title_en: str
    current_version: int


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    profile_id: int
    version: int
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RequirementInfo:
    competency_id: int
    level: int
    importance: str


@dataclass(frozen=True, slots=True)
class ProfileInForce:
    profile: ProfileInfo
    version: VersionInfo | None
    requirements: Mapping[int, RequirementInfo]  # {competency_id: requirement}


@dataclass(frozen=True, slots=True)
class ProfilesSnapshot:
    by_key: Mapping[str, ProfileInForce]  # active profiles only

    def for_position(self, position: Position | None) -> ProfileInForce | None:
        """The position's own override if it has one, else its role's defaults (if active)."""
        if position is None:
            return None
        override = self.by_key.get(f"position:{position.id}")
        if override is not None:
            return override
        return self.by_key.get(f"role:{position.role_code}") if position.role_code else None


def profiles_snapshot(session: Session) -> ProfilesSnapshot:
    """Return the active profiles in force, read from the database only when they changed."""
    return _PROFILES.get(session)


def _read(session: Session) -> ProfilesSnapshot:
    connection = session.connection()
    profile_table, version_table = RoleProfile.__table__, RoleProfileVersion.__table__
    p, v, r = profile_table.c, version_table.c, RoleRequirement.__table__.c
    rows = connection.execute(
        sa_select(
            p.id,
            p.key,
            p.role_code,
            p.position_id,
            p.title_es,
            p.title_en,
            p.current_version,
            v.id,
            v.version,
            v.source,
            v.created_at,
        )
        .select_from(
            profile_table.outerjoin(
                version_table, (v.profile_id == p.id) & (v.version == p.current_version)
            )
        )
        .where(p.is_active.is_(True))
    ).all()
    requirements: dict[int, dict[int, RequirementInfo]] = {}
    version_ids = [row[7] for row in rows if row[7] is not None]
    for start in range(0, len(version_ids), 500):
        for version_id, competency_id, level, importance in connection.execute(
            sa_select(r.version_id, r.competency_id, r.level, r.importance).where(
                r.version_id.in_(version_ids[start : start + 500])
            )
        ):
            requirements.setdefault(version_id, {})[competency_id] = RequirementInfo(
                competency_id, level, importance
            )
    by_key = {}
    for row in rows:
        profile = ProfileInfo(*row[:7])
        version = None if row[7] is None else VersionInfo(row[7], profile.id, *row[8:])
        by_key[profile.key] = ProfileInForce(
            profile,
            version,
            MappingProxyType(requirements.get(row[7], {}) if version else {}),
        )
    return ProfilesSnapshot(by_key=MappingProxyType(by_key))


_PROFILES = revisions.RevisionCache("profiles", read=_read)
