"""Loads the versioned framework data file into the database, idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from backend import audit, crypto
from competency_framework import service
from competency_framework.models import (
    Competency,
    FrameworkVersion,
    LevelDescriptor,
    ProficiencyLevel,
    RoleProfile,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
FRAMEWORK_FILE = DATA_DIR / "framework.yaml"
LEVELS = range(0, 5)


class FrameworkFileError(ValueError):
    """The framework data file is malformed."""


def read_framework(path: Path = FRAMEWORK_FILE) -> tuple[dict[str, Any], str]:
    """Return the parsed and checked framework file and the SHA-256 of its bytes."""
    raw = path.read_bytes()
    data = yaml.safe_load(raw)
    codes = [c["code"] for c in data.get("competencies", [])]
    if len(codes) != len(set(codes)):
        raise FrameworkFileError("duplicate competency codes")
    if [s["level"] for s in data.get("scale", [])] != list(LEVELS):
        raise FrameworkFileError("the scale must list levels 0 to 4 in order")
    for competency in data["competencies"]:
        missing = [lv for lv in LEVELS if lv not in competency.get("levels", {})]
        if missing:
            raise FrameworkFileError(f"{competency['code']}: no descriptor for levels {missing}")
    return data, crypto.sha256_hex(raw)


def sync_framework(session: Session, path: Path = FRAMEWORK_FILE) -> bool:
    """Bring the database in line with the data file; return True if anything changed.

    Competencies are matched by their stable code, so ratings that point at them survive a new
    version of the wording. A file already loaded (same hash) is a no-op.
    """
    data, digest = read_framework(path)
    version = str(data["version"])
    known = session.exec(
        select(FrameworkVersion).where(FrameworkVersion.version == version)
    ).first()
    if known is not None and known.content_sha256 == digest:
        return False
    for entry in data["scale"]:
        level = session.get(ProficiencyLevel, entry["level"]) or ProficiencyLevel(
            level=entry["level"]
        )
        level.code = entry["code"]
        level.name_es, level.name_en = entry["name"]["es"], entry["name"]["en"]
        level.description_es = entry["description"]["es"]
        level.description_en = entry["description"]["en"]
        session.add(level)
    session.flush()
    for entry in data["competencies"]:
        competency = session.exec(
            select(Competency).where(Competency.code == entry["code"])
        ).first() or Competency(code=entry["code"], order=entry["order"])
        competency.order = entry["order"]
        competency.group = entry.get("group", "")
        competency.name_es, competency.name_en = entry["name"]["es"], entry["name"]["en"]
        competency.description_es = entry["description"]["es"]
        competency.description_en = entry["description"]["en"]
        competency.framework_version = version
        session.add(competency)
        session.flush()
        existing = {
            d.level: d
            for d in session.exec(
                select(LevelDescriptor).where(LevelDescriptor.competency_id == competency.id)
            )
        }
        for level in LEVELS:
            texts = entry["levels"][level]
            descriptor = existing.get(level) or LevelDescriptor(
                competency_id=competency.id, level=level
            )
            descriptor.text_es, descriptor.text_en = texts["es"], texts["en"]
            session.add(descriptor)
    if known is None:
        known = FrameworkVersion(version=version)
    known.source = data.get("source", "")
    known.content_sha256 = digest
    known.proficient_level = int(data.get("proficient_level", 3))
    session.add(known)
    session.flush()
    audit.record(
        session,
        action="framework.loaded",
        actor="system",
        entity_type="framework_version",
        entity_id=version,
        after={"version": version, "sha256": digest, "competencies": len(data["competencies"])},
    )
    return True


ROLE_PROFILES_FILE = DATA_DIR / "role_profiles.yaml"


def read_role_profiles(path: Path = ROLE_PROFILES_FILE) -> dict[str, Any]:
    """Return the parsed default role profiles file, checked for shape and levels."""
    data = yaml.safe_load(path.read_bytes())
    seen: set[str] = set()
    for entry in data.get("profiles", []):
        code = entry.get("position_code") or entry.get("role_code")
        if not code or code in seen:
            raise FrameworkFileError(f"missing or duplicate role code: {code!r}")
        seen.add(code)
        for competency, spec in entry.get("requirements", {}).items():
            if spec.get("level") not in LEVELS:
                raise FrameworkFileError(f"{code}/{competency}: level must be 0-4")
            if spec.get("importance") not in ("essential", "desirable"):
                raise FrameworkFileError(f"{code}/{competency}: unknown importance")
    return data


def sync_role_profiles(session: Session, path: Path = ROLE_PROFILES_FILE) -> int:
    """Create the default profile of every role in the data file that has none yet.

    Existing profiles are left alone: once loaded they belong to the HR planners, whose edits
    must never be overwritten by a re-load. Returns how many profiles were created.
    """
    data = read_role_profiles(path)
    version = str(data.get("version", ""))
    created = 0
    for entry in data.get("profiles", []):
        code = entry.get("position_code") or entry.get("role_code")
        key = service.role_profile_key(code)
        if session.exec(select(RoleProfile).where(RoleProfile.key == key)).first():
            continue
        service.create_role_profile(
            session,
            role_code=code,
            title_es=entry.get("title", {}).get("es", code),
            title_en=entry.get("title", {}).get("en", code),
            requirements={
                competency: (spec["level"], spec["importance"])
                for competency, spec in entry.get("requirements", {}).items()
            },
            actor=None,
            source=f"data {version}".strip(),
        )
        created += 1
    return created


def load_reference_data(session: Session) -> None:
    """The `reference_data` hook: the framework file, then the default role profiles.

    Idempotent; the caller commits.
    """
    sync_framework(session)
    session.flush()
    sync_role_profiles(session)
