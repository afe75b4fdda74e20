"""The framework, input checks, who counts as HR, and the revision counters."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend import clock
from backend.auth import Actor
from backend.auth.permissions import Permission
from backend.config import get_settings
from backend.errors import DomainError
from backend.i18n import _
from competency_framework.models import (
    Competency,
    CompetencyRevision,
    FrameworkVersion,
    LevelDescriptor,
    ProficiencyLevel,
)

LEVELS = range(0, 5)
MAX_NOTE = 2000
MAX_URL = 500


class CompetencyError(DomainError):
    """A competency rule was broken. Message translated; `errors` maps form fields to messages."""


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


def sees_gap_details(actor: Actor) -> bool:
    """True for people with HR rights over ratings (per-person gap details)."""
    return actor.can(Permission.view_gap_details)


def organisation_today(session: Session) -> date:
    """Return the organisation's calendar day (`MERITO_TIME_ZONE`), for deadlines.

    The settings are those of the request or job the session belongs to
    (`session.info["settings"]`), else the process's own.
    """
    return clock.today(session.info.get("settings") or get_settings())


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
            changed_at=clock.now(),
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
