"""Reading the competency framework (other domains call these, never the tables)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from competency_framework.models import (
    Competency,
    FrameworkVersion,
    LevelDescriptor,
    ProficiencyLevel,
)


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
