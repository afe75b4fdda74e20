"""One base for every rule a service refuses, and one shape for errors in the JSON API.

A service raises `DomainError` (or its domain's subclass: `VacancyError`, `AppraisalError`…)
with a translated message, the form field it concerns, the HTTP status it means and, when it
checked several things at once, every problem found. Routes do not translate it: the app's one
handler (`backend.app`) answers an error page, or under `/api/v1` the JSON problem
`{"error": {"status", "code", "message", "fields"?}}`. A route catches a `DomainError` only to
show a form again with what was typed (`backend.actions.run_action(on_error=...)`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["DomainError", "error_code", "problem"]

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}


def error_code(status: int) -> str:
    """Return the API's word for an HTTP status ("not_found", "invalid"…)."""
    return _CODES.get(status, "error")


def problem(
    status: int,
    message: str,
    *,
    fields: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the JSON API's error body."""
    body: dict[str, Any] = {"status": status, "code": error_code(status), "message": message}
    if fields:
        body["fields"] = [{"field": k, "message": v} for k, v in fields.items()]
    if extra:
        body.update(extra)
    return {"error": body}


class DomainError(ValueError):
    """A business rule refused what was asked; `str(err)` is the translated message.

    - `field`: the form field the message belongs to ("" for the whole form);
    - `status_code`: 422 for bad input (default), 403 not allowed, 404 no such record,
      409 the record is not in a state that allows it, 410 gone, 429 too many attempts;
    - `errors`: every problem found, {field: message} (`problems` is the same mapping);
      a single `field` gives {field: message}.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        status_code: int = 422,
        errors: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status_code = status_code
        found = errors or problems or ({field: message} if field else {})
        self.errors: dict[str, str] = dict(found)

    @property
    def problems(self) -> dict[str, str]:
        return self.errors

    def form_errors(self) -> dict[str, str]:
        """The messages by field, or the message under "form" when it names no field."""
        return self.errors or {"form": self.message}

    def as_problem(self) -> dict[str, Any]:
        """The JSON API's body for this error."""
        return problem(self.status_code, self.message, fields=self.errors)
