"""Requests take turns: one runs at a time, and a slow one gives up its turn after a moment.

A worker serves a page fastest when one request runs at a time. Two route threads running at
once hand Python's interpreter lock back and forth around every database call, so twenty
connections got fewer pages a second than one (bench/RESULTS.md, "Pages against /healthz").
But a single lane would let one slow request (an export, an import) hold up every other.

So each request waits for its turn at the door (first come, first served), and gives the turn
to the next one when it ends or when it has run `MERITO_REQUEST_TURN_MS` milliseconds,
whichever comes first; a request that gave up its turn goes on running beside the next one.
No request waits more than a turn behind one that is slow, and the thread limit
(`MERITO_REQUEST_THREADS`) still bounds how many run at once. Static files take no turn: they
touch no database and are small. `MERITO_REQUEST_TURN_MS=0` turns the door off.

Turns are for SQLite, by default: its queries run inside the process, so a request's work is
all processor time, and two at once only share one interpreter lock. On PostgreSQL a request
spends part of its time waiting for the database server, time another request can use: turns
there served fewer pages (bench/RESULTS.md, "Requests take turns"), so it takes none unless
`MERITO_REQUEST_TURN_MS` says otherwise.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

STATIC_PREFIX = "/static/"


class _Turn:
    """One request's turn: given back once, by its end or by its timer."""

    __slots__ = ("door", "held", "timer")

    def __init__(self, door: asyncio.Lock) -> None:
        self.door = door
        self.held = True
        self.timer: asyncio.TimerHandle | None = None

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.door.release()


class RequestTurnsMiddleware:
    """Pure ASGI: see the module's docstring."""

    def __init__(self, app: ASGIApp, turn_seconds: float) -> None:
        self.app = app
        self.turn_seconds = turn_seconds
        # One door per event loop (an asyncio lock belongs to one), made on first use.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._door = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.turn_seconds <= 0
            or scope["path"].startswith(STATIC_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._door = loop, asyncio.Lock()
        door = self._door
        await door.acquire()
        turn = _Turn(door)
        try:
            turn.timer = loop.call_later(self.turn_seconds, turn.give_back)
            await self.app(scope, receive, send)
        finally:
            if turn.timer is not None:
                turn.timer.cancel()
            turn.give_back()
