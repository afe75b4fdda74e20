"""Reference data: the board starts with a welcome note (once)."""

from __future__ import annotations

from sqlmodel import Session

from tests.example_domain import service
from tests.example_domain.schemas import NoteForm


def welcome_note(session: Session) -> None:
    if service.count_notes(session) == 0:
        service.add_note(session, NoteForm(text="Bienvenida"))
