"""`backend.actions.run_action`: one commit with the flash in it, rollback on a refusal, and a
form shown again only for a refused form (422)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import Request
from fastapi.responses import Response

from backend.actions import run_action
from backend.errors import DomainError


class RecordingSession:
    def __init__(self, principal_row) -> None:
        self.calls: list[str] = []
        self.row = principal_row

    def commit(self) -> None:
        # What is committed: the flashes queued so far.
        self.calls.append(f"commit:{[m['message'] for m in self.row.flash]}")

    def rollback(self) -> None:
        self.calls.append("rollback")

    def add(self, row) -> None:
        self.calls.append("add")


def _request() -> Request:
    request = Request({"type": "http", "method": "POST", "path": "/x", "headers": []})
    request.state.principal = SimpleNamespace(session=SimpleNamespace(flash=[]))
    return request


def test_the_change_and_its_message_are_committed_once_together():
    request = _request()
    session = RecordingSession(request.state.principal.session)
    response = run_action(
        request,
        session,
        lambda: 41,
        message=lambda n: f"Saved {n + 1}",
        level=lambda n: "info" if n == 0 else "success",
        to=lambda n: f"/things/{n}",
    )
    assert session.calls == ["add", "commit:['Saved 42']"]
    assert response.status_code == 303 and response.headers["location"] == "/things/41"
    assert request.state.principal.session.flash == [{"level": "success", "message": "Saved 42"}]


def test_a_refused_form_rolls_back_and_is_shown_again():
    request = _request()
    session = RecordingSession(request.state.principal.session)
    seen = []

    def refuse():
        raise DomainError("Too long", field="text")

    def show(err: DomainError) -> Response:
        seen.append(err.form_errors())
        return Response(status_code=422)

    response = run_action(request, session, refuse, message="Saved", to="/", on_error=show)
    assert response.status_code == 422
    assert seen == [{"text": "Too long"}]
    assert session.calls == ["rollback"]  # nothing committed, no message queued


@pytest.mark.parametrize("status", [403, 404, 409])
def test_other_refusals_reach_the_apps_handler_even_with_a_form(status):
    request = _request()
    session = RecordingSession(request.state.principal.session)

    def refuse():
        raise DomainError("No", status_code=status)

    with pytest.raises(DomainError) as raised:
        run_action(request, session, refuse, message="Saved", to="/", on_error=lambda e: None)
    assert raised.value.status_code == status
    assert session.calls == ["rollback"]


def test_an_htmx_post_is_redirected_with_hx_redirect():
    request = Request(
        {"type": "http", "method": "POST", "path": "/x", "headers": [(b"hx-request", b"true")]}
    )
    request.state.principal = None
    session = RecordingSession(SimpleNamespace(flash=[]))
    response = run_action(request, session, lambda: None, message=None, to="/done")
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/done"
    assert session.calls == ["commit:[]"]


def test_a_page_of_buttons_can_take_every_refusal_back_to_the_page():
    request = _request()
    session = RecordingSession(request.state.principal.session)

    def refuse():
        raise DomainError("This step is no longer possible.", status_code=409)

    response = run_action(
        request,
        session,
        refuse,
        message="Done",
        to="/",
        on_error=lambda err: Response(status_code=303, headers={"location": "/page"}),
        refusals="all",
    )
    assert response.status_code == 303 and session.calls == ["rollback"]
