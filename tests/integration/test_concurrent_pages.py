"""Many signed-in page loads at once finish: no request holds a connection while it waits.

Looking up who is signed in is a dependency that runs in a worker thread before the page's
route, which runs in another. The lookup used to keep its database connection (an open read
transaction) until the route had run. With more pages requested at once than pooled
connections, the requests holding connections waited for a worker thread while every worker
thread waited for a connection: nothing moved until the pool timed out (30 s) and the pages
failed with 500. The mixed load test found it (docs/load-testing.md). The lookup now gives its
connection back before the route runs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from backend.auth import service as auth_service
from backend.db import make_engine
from tests.browser.conftest import LiveServer

# Far more at once than pooled connections, and than the server's 40 worker threads.
SIMULTANEOUS = 80
POOL = 2


def test_more_simultaneous_page_loads_than_pooled_connections_all_finish(
    app, session, settings, make_user, database_url
):
    # A small pool makes the wait for a connection (and so the old deadlock) certain rather
    # than a matter of timing; the production pools are larger, and so is the crowd needed.
    app.state.engine.dispose()
    app.state.engine = make_engine(database_url, pool_size=POOL, max_overflow=0, pool_timeout=10)
    tokens = []
    for _n in range(SIMULTANEOUS):
        user = make_user("employee")
        token, _row = auth_service.start_session(session, settings, user=user)
        tokens.append(token)
    session.commit()
    server = LiveServer(app)
    server.start()
    try:

        def page(token: str) -> int:
            try:
                return httpx.get(
                    f"{server.url}/account",
                    headers={"Cookie": f"merito_session={token}"},
                    timeout=20,
                ).status_code
            except httpx.TimeoutException:
                return 0

        with ThreadPoolExecutor(max_workers=SIMULTANEOUS) as pool:
            statuses = list(pool.map(page, tokens))
    finally:
        server.stop()
    assert statuses == [200] * SIMULTANEOUS
