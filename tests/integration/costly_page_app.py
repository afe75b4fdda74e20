"""The real application, plus every page four times as costly: the page guard's proof.

    uvicorn tests.integration.costly_page_app:app

`/costly/<path>` is `/<path>` served four times over, whole (session lookup, queries,
rendering), the client getting the last answer: the server spends four times what the real
page costs, in the same proportions, GIL and database included. Every other path is the real
application untouched. tests/integration/test_page_guard.py measures a page both ways on the
same server.
"""

from __future__ import annotations

import anyio

from backend.asgi import app as real_app

PREFIX = "/costly"
TIMES = 4


def _empty_request():
    """`receive` for a replayed GET: no body; anything waiting for more waits until cancelled."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()

    return receive


async def _discard(message: dict) -> None:
    return None


async def app(scope, receive, send) -> None:
    if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
        await real_app(scope, receive, send)
        return
    path = scope["path"].removeprefix(PREFIX)
    scope = {**scope, "path": path, "raw_path": path.encode()}
    for _ in range(TIMES - 1):
        replay = {**scope, "state": dict(scope.get("state", {}))}
        await real_app(replay, _empty_request(), _discard)
    await real_app(scope, receive, send)
