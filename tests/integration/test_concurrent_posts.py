"""Many signed-in form posts at once finish: the CSRF check never holds the event loop hostage.

The CSRF check looks the session up in the database. Done on the event loop while the
connection pool was exhausted, it blocked the loop, so the requests holding the connections
could never finish: more simultaneous posts than pooled connections hung until the pool timed
out. The lookup now runs in a worker thread and gives its connection back before the route runs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from backend.auth import service as auth_service
from tests.browser.conftest import LiveServer

# More at once than the SQLite pool's 15 connections and the PostgreSQL pool's 30.
pytestmark = pytest.mark.races

SIMULTANEOUS = 48


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_more_simultaneous_posts_than_pooled_connections_all_finish(
    app, session, settings, make_user
):
    tokens = []
    for _n in range(SIMULTANEOUS):
        user = make_user("employee")
        token, row = auth_service.start_session(session, settings, user=user)
        tokens.append((token, row.csrf_token))
    session.commit()
    server = LiveServer(app)
    server.start()
    try:

        def post(pair):
            token, csrf = pair
            return httpx.post(
                f"{server.url}/language",
                data={"lang": "en", "next": "/"},
                headers={"Cookie": f"merito_session={token}", "X-CSRF-Token": csrf},
                timeout=20,
            ).status_code

        with ThreadPoolExecutor(max_workers=SIMULTANEOUS) as pool:
            statuses = list(pool.map(post, tokens))
    finally:
        server.stop()
    assert statuses == [303] * SIMULTANEOUS
