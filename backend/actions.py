"""`run_action`: the one way a route carries out a POST.

A route loads what the path names (a dependency, 404 before it runs), checks what the person
may do (`allowed_steps` from the domain's service, the same answer the page used to show its
buttons), and hands the service call to `run_action`, which

1. calls it;
2. on success queues the flash message and commits **once** (the change and the message in one
   transaction: no message is lost, no message outlives a rolled-back change), then redirects
   (htmx: `HX-Redirect`);
3. on a `DomainError` rolls back. A refused form (status 422) is answered by `on_error(err)`
   when the route gives one: the form again with the errors and what was typed (`show_form`),
   or `back_to` a GET page that shows them, so a reload never posts again. Anything else (403,
   404, 409…) reaches the app's handler: the error page, or the API's JSON problem — unless the
   route says `refusals="all"`: a page of buttons whose every refusal (a step no longer
   allowed, a record gone) goes back to the page that offered it, saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from backend.errors import DomainError
from backend.web import flash, keep_form, redirect, render_form_errors

__all__ = ["back_to", "run_action", "show_form"]

T = TypeVar("T")

Message = str | Callable[[Any], str | None] | None
Target = str | Callable[[Any], str]
Level = str | Callable[[Any], str]


def run_action(
    request: Request,
    session: Session,
    action: Callable[[], T],
    *,
    message: Message,
    to: Target,
    level: Level = "success",
    on_error: Callable[[DomainError], Response] | None = None,
    refusals: Literal["form", "all"] = "form",
) -> Response:
    """Run `action` (the service call), commit once, flash `message`, redirect to `to`.

    `message`, `to` and `level` may be functions of the action's result (the new record's id,
    say, or "info" when nothing changed).
    """
    try:
        result = action()
    except DomainError as err:
        session.rollback()
        if on_error is None or (refusals == "form" and err.status_code != 422):
            raise
        return on_error(err)
    text = message(result) if callable(message) else message
    if text:
        flash(request, text, level(result) if callable(level) else level)
        _stage_flash(request, session)
    session.commit()
    return redirect(request, to(result) if callable(to) else to)


def _stage_flash(request: Request, session: Session) -> None:
    """Put the signed-in session's row (where flashes live) in this transaction."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        session.add(principal.session)  # a no-op when the lookup loaded it in this session


def show_form(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    values: Any,
    block: str | None = None,
    status_code: int = 422,
) -> Callable[[DomainError], Response]:
    """`on_error` that shows the form again (422) with the error by field and what was typed."""

    def answer(err: DomainError) -> Response:
        return render_form_errors(
            request,
            template,
            context() if callable(context) else context,
            errors=err.form_errors(),
            values=values,
            block=block,
            status_code=status_code,
        )

    return answer


def back_to(
    request: Request, session: Session, page: str, *, form: str, values: dict[str, Any]
) -> Callable[[DomainError], Response]:
    """`on_error` that keeps the refused form for the GET `page` and redirects there.

    The page shows the errors and what was typed (`backend.web.kept_form`); a reload of it
    never posts the form again.
    """

    def answer(err: DomainError) -> Response:
        keep_form(request, page=page, form=form, errors=err.form_errors(), values=values)
        _stage_flash(request, session)
        session.commit()
        return redirect(request, page)

    return answer
