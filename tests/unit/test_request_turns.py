"""Requests take turns at the door (backend/turns.py), driven concurrently on a real event loop."""

from __future__ import annotations

import asyncio

import pytest

from backend.app import create_app
from backend.config import SQLITE_REQUEST_TURN_MS, Settings
from backend.turns import RequestTurnsMiddleware

WAIT = 5.0  # seconds: far longer than any turn below, so a stuck door fails instead of hanging


class Recorder:
    """An ASGI app that notes when each request starts and ends, and can hold one open."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.ended: set[str] = set()
        self.running = 0
        self.most_at_once = 0
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send) -> None:
        path = scope["path"]
        self.started[path] = asyncio.get_running_loop().time()
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if path in self.release:
                await self.release[path].wait()
            elif path.endswith("/fails"):
                raise RuntimeError("the route failed")
            else:
                for _ in range(5):  # gives the loop to every other request a few times
                    await asyncio.sleep(0)
        finally:
            self.running -= 1
            self.ended.add(path)


def call(door: RequestTurnsMiddleware, path: str, kind: str = "http"):
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(_message):
        return None

    return door({"type": kind, "path": path}, receive, send)


async def until(condition) -> None:
    async def poll():
        while not condition():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), WAIT)


def test_requests_run_one_at_a_time_in_the_order_they_came():
    async def scenario():
        app = Recorder()
        door = RequestTurnsMiddleware(app, turn_seconds=60)
        await asyncio.wait_for(asyncio.gather(*(call(door, f"/{n}") for n in range(8))), WAIT)
        return app

    app = asyncio.run(scenario())
    assert app.most_at_once == 1
    assert sorted(app.started, key=app.started.get) == [f"/{n}" for n in range(8)]


def test_a_slow_request_gives_its_turn_to_the_next_after_the_turn_and_goes_on_running():
    async def scenario():
        app = Recorder()
        app.release["/export"] = asyncio.Event()
        door = RequestTurnsMiddleware(app, turn_seconds=0.030)
        slow = asyncio.ensure_future(call(door, "/export"))
        await until(lambda: "/export" in app.started)
        quick = asyncio.ensure_future(call(door, "/page"))
        await asyncio.wait_for(quick, WAIT)
        assert "/export" not in app.ended  # the slow one is still running
        waited = app.started["/page"] - app.started["/export"]
        app.release["/export"].set()
        await asyncio.wait_for(slow, WAIT)
        return waited, app

    waited, app = asyncio.run(scenario())
    # The timer never fires before the turn is over (asyncio's timers are never early by more
    # than the clock's resolution).
    assert waited >= 0.030 - 0.001
    assert app.most_at_once == 2 and app.ended == {"/export", "/page"}


def test_a_request_that_fails_or_is_abandoned_gives_the_turn_back():
    async def scenario():
        app = Recorder()
        app.release["/held"] = asyncio.Event()
        door = RequestTurnsMiddleware(app, turn_seconds=60)
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(call(door, "/fails"), WAIT)
        held = asyncio.ensure_future(call(door, "/held"))
        await until(lambda: "/held" in app.started)
        # A client that leaves while waiting for its turn takes no turn with it.
        waiting = asyncio.ensure_future(call(door, "/gone"))
        await asyncio.sleep(0.01)
        assert "/gone" not in app.started
        waiting.cancel()
        # The held request is cancelled too (its client left): the turn comes back.
        held.cancel()
        await asyncio.gather(held, waiting, return_exceptions=True)
        await asyncio.wait_for(call(door, "/after"), WAIT)
        return app

    app = asyncio.run(scenario())
    assert "/gone" not in app.started and "/after" in app.ended


def test_static_files_other_scopes_and_a_turn_of_zero_take_no_turn():
    async def scenario(turn_seconds: float, path: str, kind: str = "http", wait: float = WAIT):
        app = Recorder()
        app.release["/held"] = asyncio.Event()
        door = RequestTurnsMiddleware(app, turn_seconds=turn_seconds)
        held = asyncio.ensure_future(call(door, "/held"))
        await until(lambda: "/held" in app.started)
        await asyncio.wait_for(call(door, path, kind), wait)  # not behind the held request
        app.release["/held"].set()
        await asyncio.wait_for(held, WAIT)

    asyncio.run(scenario(60, "/static/app.css"))
    asyncio.run(scenario(60, "/ws", kind="websocket"))
    asyncio.run(scenario(0, "/page"))
    # Without the exemption the same request waits (the helper above would time out).
    with pytest.raises(TimeoutError):
        asyncio.run(scenario(60, "/page", wait=0.2))


def test_turns_are_on_for_sqlite_off_for_postgresql_unless_configured(tmp_path, monkeypatch):
    sqlite = f"sqlite:///{tmp_path / 'turns.db'}"
    postgresql = "postgresql+psycopg://merito@localhost/merito"
    for url, unset in ((sqlite, SQLITE_REQUEST_TURN_MS / 1000), (postgresql, 0.0)):
        monkeypatch.delenv("MERITO_REQUEST_TURN_MS", raising=False)
        assert Settings(data_dir=tmp_path, database_url=url).request_turn_seconds == unset
        for configured, seconds in (("250", 0.25), ("0", 0.0)):
            monkeypatch.setenv("MERITO_REQUEST_TURN_MS", configured)
            assert Settings(data_dir=tmp_path, database_url=url).request_turn_seconds == seconds
    assert SQLITE_REQUEST_TURN_MS > 0


def test_the_app_takes_turns_outermost_with_the_configured_turn(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'turns.db'}",
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        request_turn_ms=250,
    )
    app = create_app(settings, check_migrations=False)
    outermost = app.user_middleware[0]
    assert outermost.cls is RequestTurnsMiddleware and outermost.kwargs == {"turn_seconds": 0.25}


@pytest.mark.races
def test_a_race_test_s_server_runs_its_requests_without_turns(settings):
    assert settings.request_turn_seconds == 0


def test_every_other_test_s_app_takes_the_turns_its_database_takes_by_default(settings):
    assert settings.request_turn_ms is None
    assert settings.request_turn_seconds == (
        SQLITE_REQUEST_TURN_MS / 1000 if settings.is_sqlite else 0
    )
