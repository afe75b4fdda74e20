"""The competency framework as an immutable snapshot, read once per data revision.

The competencies, the proficiency scale and the level descriptors change only when the
framework file is loaded again, yet every self-assessment, profile and training panel needs
them. Database triggers advance the `framework` data revision on every change to those tables
(backend.revisions, migration 0028), so each process keeps one copy per database and revision
and shares it across requests and threads: frozen dataclasses and read-only mappings, never ORM
objects attached to a session. Templates read them as they read the models (`c.code`,
`localized(c, "name")`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import select as sa_select
from sqlmodel import Session

from backend import revisions
from competency_framework.models import Competency, LevelDescriptor, ProficiencyLevel


@dataclass(frozen=True, slots=True)
class CompetencyInfo:
    id: int
    code: str
    order: int
    group: str
    name_es: str
    name_en: str
    description_es: str
    description_en: str
    framework_version: str


@dataclass(frozen=True, slots=True)
class LevelInfo:
    level: int
    code: str
    name_es: str
    name_en: str
    description_es: str
    description_en: str


@dataclass(frozen=True, slots=True)
class DescriptorInfo:
    id: int
    competency_id: int
    level: int
    text_es: str
    text_en: str


@dataclass(frozen=True, slots=True)
class FrameworkSnapshot:
    """The framework at one revision: competencies in order, the scale, the descriptors."""

    competencies: tuple[CompetencyInfo, ...]
    scale: tuple[LevelInfo, ...]
    # {competency_id: {level: descriptor}}
    descriptors: Mapping[int, Mapping[int, DescriptorInfo]]
    by_code: Mapping[str, CompetencyInfo]

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.competencies]


def framework_snapshot(session: Session) -> FrameworkSnapshot:
    """Return the framework's snapshot, read from the database only when it has changed."""
    return _FRAMEWORK.get(session)


def _read(session: Session) -> FrameworkSnapshot:
    connection = session.connection()
    c = Competency.__table__.c
    competencies = tuple(
        CompetencyInfo(*row)
        for row in connection.execute(
            sa_select(
                c.id,
                c.code,
                c.order,
                c.group,
                c.name_es,
                c.name_en,
                c.description_es,
                c.description_en,
                c.framework_version,
            ).order_by(c.order)
        )
    )
    p = ProficiencyLevel.__table__.c
    scale = tuple(
        LevelInfo(*row)
        for row in connection.execute(
            sa_select(
                p.level, p.code, p.name_es, p.name_en, p.description_es, p.description_en
            ).order_by(p.level)
        )
    )
    d = LevelDescriptor.__table__.c
    table: dict[int, dict[int, DescriptorInfo]] = {}
    for row in connection.execute(
        sa_select(d.id, d.competency_id, d.level, d.text_es, d.text_en).order_by(d.id)
    ):
        descriptor = DescriptorInfo(*row)
        table.setdefault(descriptor.competency_id, {})[descriptor.level] = descriptor
    return FrameworkSnapshot(
        competencies=competencies,
        scale=scale,
        descriptors=MappingProxyType(
            {cid: MappingProxyType(levels) for cid, levels in table.items()}
        ),
        by_code=MappingProxyType({info.code: info for info in competencies}),
    )


_FRAMEWORK = revisions.RevisionCache("framework", read=_read)
