"""What the example domain publishes, and what it does when a note is added."""

from __future__ import annotations

from sqlmodel import Session

from backend import audit, events

NOTE_ADDED = "example.note_added"


@events.subscribe(NOTE_ADDED)
def audit_new_note(session: Session, event: events.DomainEvent) -> None:
    audit.record(
        session,
        action=NOTE_ADDED,
        actor="system",
        entity_type="example_note",
        entity_id=event.payload["note_id"],
    )
