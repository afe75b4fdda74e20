"""The notes board: a page with a form (everyone), and one note as JSON."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.actions import run_action, show_form
from backend.db import SessionDep
from backend.deps import public, read_form
from backend.i18n import _
from backend.web import render
from tests.example_domain import service
from tests.example_domain.schemas import NoteForm

router = APIRouter(dependencies=[public])
api_router = APIRouter(dependencies=[public])


def _board(session) -> dict:
    return {"notes": service.latest_notes(session), "count": service.count_notes(session)}


@router.get("/example")
def board(request: Request, session: SessionDep):
    return render(request, "example/notes.html", _board(session))


@router.post("/example/notes")
async def add(request: Request, session: SessionDep):
    form = NoteForm(text=str((await read_form(request)).get("text", "")))
    return run_action(
        request,
        session,
        lambda: service.add_note(session, form),
        message=_("Note added."),
        to="/example",
        on_error=show_form(request, "example/notes.html", _board(session), values=form),
    )


@router.get("/example/notes/{note_id}")
def note_page(request: Request, session: SessionDep, note_id: int):
    note = service.get_note(session, note_id)
    return render(request, "example/notes.html", {"notes": [note], "count": 1})


@api_router.get("/example/notes/{note_id}")
def note_json(session: SessionDep, note_id: int) -> dict:
    note = service.get_note(session, note_id)
    return {"id": note.id, "text": note.text}
