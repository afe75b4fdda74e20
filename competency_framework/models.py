"""The competency framework: versions, the proficiency scale, the 13 competencies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, utcnow


class FrameworkVersion(SQLModel, table=True):
    """Each version of framework.yaml that has been loaded, with the hash of its content."""

    __tablename__ = "framework_version"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=20, unique=True)
    source: str = Field(default="", max_length=500)
    content_sha256: str = Field(max_length=64)
    proficient_level: int = 3
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProficiencyLevel(SQLModel, table=True):
    __tablename__ = "proficiency_level"

    level: int = Field(primary_key=True)
    code: str = Field(max_length=30, unique=True)
    name_es: str = Field(max_length=80)
    name_en: str = Field(max_length=80)
    description_es: str = Field(max_length=1000)
    description_en: str = Field(max_length=1000)


class Competency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True, index=True)
    order: int
    group: str = Field(max_length=20)
    name_es: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    description_es: str = Field(max_length=2000)
    description_en: str = Field(max_length=2000)
    framework_version: str = Field(max_length=20)


class LevelDescriptor(SQLModel, table=True):
    """What a person at `level` of one competency can do, in both languages."""

    __tablename__ = "level_descriptor"
    __table_args__ = (UniqueConstraint("competency_id", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    competency_id: int = Field(foreign_key="competency.id", index=True, ondelete="CASCADE")
    level: int = Field(foreign_key="proficiency_level.level")
    text_es: str = Field(max_length=2000)
    text_en: str = Field(max_length=2000)
