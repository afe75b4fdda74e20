"""The example domain's rules: the interface its routes, jobs and other domains use."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from backend import clock, events
from backend.errors import DomainError
from backend.i18n import _
from tests.example_domain.models import ExampleNote
from tests.example_domain.schemas import NoteForm

__all__ = ["NoteError", "add_note", "count_notes", "get_note", "latest_notes", "tidy"]

NOTE_ADDED = "example.note_added"
KEEP_DAYS = 30


class NoteError(DomainError):
    """A note could not be added or found."""


def add_note(session: Session, form: NoteForm) -> ExampleNote:
    text = form.text.strip()
    if not text:
        raise NoteError(_("Write the note first."), field="text")
    note = ExampleNote(text=text)
    session.add(note)
    session.flush()
    events.publish(session, events.DomainEvent(NOTE_ADDED, {"note_id": note.id}))
    return note


def get_note(session: Session, note_id: int) -> ExampleNote:
    note = session.get(ExampleNote, note_id)
    if note is None:
        raise NoteError(_("This note does not exist."), status_code=404)
    return note


def latest_notes(session: Session, limit: int = 20) -> list[ExampleNote]:
    statement = select(ExampleNote).order_by(col(ExampleNote.id).desc()).limit(limit)
    return list(session.exec(statement))


def count_notes(session: Session) -> int:
    return session.exec(select(func.count()).select_from(ExampleNote)).one()


def tidy(session: Session) -> int:
    """Remove notes older than KEEP_DAYS; return how many."""
    cutoff = clock.now() - timedelta(days=KEEP_DAYS)
    result = session.exec(delete(ExampleNote).where(col(ExampleNote.created_at) < cutoff))
    return result.rowcount or 0
