"""The example domain's one table."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from backend import clock
from backend.db import UTCDateTime


class ExampleNote(SQLModel, table=True):
    __tablename__ = "example_note"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
