"""Many signed-in requests at once finish: none holds a connection while it waits for another.

Looking up who is signed in is a dependency that runs in a worker thread before the page's
route, which runs in another. The lookup used to keep its database connection (an open read
transaction) until the route had run. With more pages requested at once than pooled
connections, the requests holding connections waited for a worker thread while every worker
thread waited for a connection: nothing moved until the pool timed out (30 s) and the pages
failed with 500. The mixed load test found it (docs/load-testing.md). The lookup now gives its
connection back before the route runs.

`async def` routes (those that read a form themselves) queried the database on the server's
event loop: one waiting there for a connection held up the very loop the requests holding the
connections needed to finish. They now run in worker threads like the others.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest

from backend.auth import service as auth_service
from backend.db import make_engine
from tests.browser.conftest import LiveServer

# Far more at once than pooled connections, and than the server's 40 worker threads.
pytestmark = pytest.mark.races

SIMULTANEOUS = 80
POOL = 2


def _small_pool(app, database_url: str) -> None:
    # A small pool makes the wait for a connection (and so the old deadlocks) certain rather
    # than a matter of timing; the production pools are larger, and so is the crowd needed.
    app.state.engine.dispose()
    app.state.engine = make_engine(database_url, pool_size=POOL, max_overflow=0, pool_timeout=10)


def test_more_simultaneous_page_loads_than_pooled_connections_all_finish(
    app, session, settings, make_user, database_url
):
    _small_pool(app, database_url)
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


def test_a_crowd_of_page_loads_and_self_assessments_all_finish(
    app, session, settings, make_user, database_url, org
):
    # Half read a page (a `def` route: its read transaction ends when the request's session
    # closes, which the event loop schedules); half send a self-assessment (an `async def`
    # route, which reads its form itself).
    from backend.org import service as org_service
    from backend.org.service import EmployeeInput

    _small_pool(app, database_url)
    people = []
    for n in range(SIMULTANEOUS):
        employee = org_service.create_employee(
            session,
            EmployeeInput(
                number=f"L{n:03}",
                first_name="Persona",
                last_name=f"Carga{n}",
                email=f"carga{n}@example.org",
                unit_id=org.central.id,
                position_id=org.officer_position.id,
                hire_date=date(2020, 1, 1),
            ),
        )
        user = make_user("employee", employee=employee)
        token, row = auth_service.start_session(session, settings, user=user)
        people.append((n, token, row.csrf_token))
    session.commit()
    server = LiveServer(app)
    server.start()
    try:

        def act(person: tuple[int, str, str]) -> int:
            n, token, csrf = person
            cookie = {"Cookie": f"merito_session={token}"}
            try:
                if n % 2:
                    return httpx.get(
                        f"{server.url}/account", headers=cookie, timeout=20
                    ).status_code
                return httpx.post(
                    f"{server.url}/competencies/me/assessment",
                    data={"csrf_token": csrf, "level_legal": "3", "note_legal": "Licitaciones"},
                    headers=cookie,
                    timeout=20,
                ).status_code
            except httpx.TimeoutException:
                return 0

        with ThreadPoolExecutor(max_workers=SIMULTANEOUS) as pool:
            statuses = list(pool.map(act, people))
    finally:
        server.stop()
    assert statuses == [303 if n % 2 == 0 else 200 for n in range(SIMULTANEOUS)]
