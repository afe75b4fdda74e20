"""What the example domain accepts: one form, parsed at the edge."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NoteForm(BaseModel):
    text: str = Field(default="", max_length=200)
