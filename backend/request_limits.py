"""A cap on the size of every request body, enforced before the body is read.

Without it a client could send a form, a JSON document or an upload of any size, and the parts
of the application that read bodies (form parsing, JSON, multipart uploads held in memory by
`backend.deps.read_form`) would take it all. Two limits, both settings:

- `MERITO_MAX_REQUEST_BYTES` for multipart forms, the only requests that carry files. The
  default (260 MiB) fits the largest legitimate upload: a report with five attachments of
  50 MB each (whistleblowing.attachments) and its text.
- `MERITO_MAX_REQUEST_BYTES_WITHOUT_FILES` for everything else (urlencoded forms, JSON). No
  such request needs more than a few hundred kilobytes; the default is 2 MiB.

A body declared larger (Content-Length) is refused at once, unread. A body sent without a
length (chunked) is counted as it arrives and refused as soon as it passes the limit: at most
one chunk more than the limit is ever held. Either way the answer is 413 with the application's
translated error: JSON under /api, the error page (or its fragment for htmx) elsewhere.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.config import Settings
from backend.i18n import _


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MB"
    return f"{max(1, limit // 1024)} KB"


class RequestTooLarge(HTTPException):
    """413: the request body is larger than the limit for its kind."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=413,
            detail=_(
                "What you sent is too large (at most %(size)s). Send fewer or smaller files, "
                "or shorter text.",
                size=_size(limit),
            ),
        )


def body_limit(settings: Settings, headers: Headers) -> int:
    """Return how many body bytes a request with these headers may send."""
    if headers.get("content-type", "").startswith("multipart/form-data"):
        return settings.max_request_bytes
    return settings.max_request_bytes_without_files


class RequestSizeLimitMiddleware:
    """Refuse request bodies above the configured limits with 413 (pure ASGI)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = body_limit(self.settings, headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside whatever is reading the body (form or JSON parsing); the
                    # application's handler turns it into the 413 page or JSON error.
                    raise RequestTooLarge(limit)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except RequestTooLarge:
            # Read outside a route (no handler caught it): answer here if nothing was sent.
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Answer 413 through the application's own error handler (translated, JSON or page)."""
        request = Request(scope, receive)
        handler = scope["app"].exception_handlers[StarletteHTTPException]
        response = await handler(request, RequestTooLarge(limit))
        # The client may still be sending: do not keep the connection for another request.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
