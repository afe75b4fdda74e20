"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server.

PostgreSQL: MERITO_TEST_DATABASE_URL (a server where we may create databases), or else a
throwaway cluster started from the PostgreSQL binaries on this machine (as the `postgres` user
when running as root, since PostgreSQL refuses to run as root). Each test gets a fresh database
copied from a migrated template, so tests never see each other's rows.

With MERITO_REQUIRE_ALL=1 (set by .ci/run) a missing PostgreSQL or Chromium fails the run
instead of skipping, and so does any test skipped, xfailed or deselected by any means (checked
once for the whole session, on the xdist controller). Every run ends with one line saying what
ran: tests per database backend, browser tests, load runs.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from backend.auth.permissions import Role
from backend.config import Settings
from backend.db import make_engine

REQUIRE_ALL = os.environ.get("MERITO_REQUIRE_ALL") == "1"
TEST_PASSWORD = "correct-horse-battery-staple-42"


def missing(reason: str) -> None:
    """Skip, or fail when the run demands every backend."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (MERITO_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


# --- what ran ---------------------------------------------------------------------------------

# Modules whose tests are load runs (bench.load as a separate process), counted apart.
LOAD_TEST_MODULES = frozenset({"test_load.py"})
BACKENDS = ("sqlite", "postgresql")


@dataclass
class RunTally:
    """What the session ran, from the reports every worker sent to this process."""

    ran: Counter = field(default_factory=Counter)  # by backend: sqlite / postgresql / neither
    browser: int = 0
    load: int = 0
    not_run: list[str] = field(default_factory=list)  # "skipped: nodeid (reason)" and the like
    deselected: int = 0
    worker_deselected: int = 0

    def summary(self) -> str:
        total = sum(self.ran.values())
        backends = ", ".join(f"{name} {self.ran[name]}" for name in (*BACKENDS, "neither"))
        return (
            f"merito: {total} tests ran ({backends}); browser tests {self.browser}; "
            f"load runs {self.load}; not run {len(self.not_run) + self.deselected_count}"
        )

    @property
    def deselected_count(self) -> int:
        # Each xdist worker collects and deselects the same items: the largest count is the one.
        return max(self.deselected, self.worker_deselected)


_TALLY = pytest.StashKey[RunTally]()
# The session's tally, for the report hook, which is not given the config.
_tallies: list[RunTally] = []


def pytest_configure(config) -> None:
    config.stash[_TALLY] = RunTally()
    _tallies.append(config.stash[_TALLY])


def pytest_collection_modifyitems(config, items) -> None:
    # Labels ride on each report (xdist sends user_properties to the controller).
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        backend = params.get("db_backend") or params.get("database")
        item.user_properties.append(
            ("merito_backend", backend if backend in BACKENDS else "neither")
        )
        if item.get_closest_marker("browser"):
            item.user_properties.append(("merito_kind", "browser"))
        elif item.path.name in LOAD_TEST_MODULES:
            item.user_properties.append(("merito_kind", "load"))


def pytest_deselected(items) -> None:
    if items:
        items[0].config.stash[_TALLY].deselected += len(items)


def pytest_runtest_logreport(report) -> None:
    if not _tallies:
        return
    tally = _tallies[-1]
    labels = {name: value for name, value in report.user_properties}
    xfail = hasattr(report, "wasxfail")
    if report.skipped:
        what = "xfailed" if xfail else "skipped"
        reason = report.wasxfail if xfail else _skip_reason(report)
        tally.not_run.append(f"{what}: {report.nodeid} ({reason})")
    elif report.when == "call":
        if xfail:  # passed although marked xfail: an expected failure proves nothing either
            tally.not_run.append(f"xpassed: {report.nodeid} ({report.wasxfail})")
        tally.ran[labels.get("merito_backend", "neither")] += 1
        kind = labels.get("merito_kind")
        if kind == "browser":
            tally.browser += 1
        elif kind == "load":
            tally.load += 1


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """On the xdist controller: take the deselection count a worker sent back."""
    count = getattr(node, "workeroutput", {}).get("merito_deselected", 0)
    tally = node.config.stash[_TALLY]
    tally.worker_deselected = max(tally.worker_deselected, count)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    config = session.config
    tally = config.stash[_TALLY]
    if hasattr(config, "workerinput"):  # an xdist worker: the controller decides
        config.workeroutput["merito_deselected"] = tally.deselected
        return
    everything_ran = not (tally.not_run or tally.deselected_count)
    if REQUIRE_ALL and not everything_ran and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    tally = config.stash[_TALLY]
    if REQUIRE_ALL and (tally.not_run or tally.deselected_count):
        terminalreporter.write_sep(
            "=", "MERITO_REQUIRE_ALL=1: every test must run; these did not", red=True
        )
        for line in tally.not_run[:50]:
            terminalreporter.write_line(line)
        if len(tally.not_run) > 50:
            terminalreporter.write_line(f"... and {len(tally.not_run) - 50} more")
        if tally.deselected_count:
            terminalreporter.write_line(f"deselected: {tally.deselected_count} tests")
    line = tally.summary()
    terminalreporter.write_line(line, bold=True)
    artifacts = os.environ.get("MERITO_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        (Path(artifacts) / "test-summary.txt").write_text(line + "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_bin(name: str) -> str | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / name).exists():
            return str(candidate / name)
    return shutil.which(name)


@dataclass
class PgCluster:
    base_url: str  # postgresql+psycopg://user@host:port/  (no database)
    stop: callable


def _start_cluster() -> PgCluster:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        missing("PostgreSQL binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="merito-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        os.chmod(root, 0o700)
    port = free_port()
    subprocess.run(
        [
            *prefix,
            initdb,
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)

    return PgCluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/", stop)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Yield a base URL of a PostgreSQL server where tests may create databases."""
    given = os.environ.get("MERITO_TEST_DATABASE_URL")
    if given:
        url = make_url(given.replace("postgresql://", "postgresql+psycopg://", 1))
        yield url.set(database="").render_as_string(hide_password=False)
        return
    cluster = _start_cluster()
    try:
        yield cluster.base_url
    finally:
        cluster.stop()


def _admin_engine(base_url: str) -> Engine:
    return create_engine(base_url + "postgres", isolation_level="AUTOCOMMIT")


_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """Yield the name of a migrated template database."""
    from backend.migrate import upgrade

    name = f"merito_tpl_{os.getpid()}"
    admin = _admin_engine(pg_server)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(pg_server + name)
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- SQLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Return the path of a migrated SQLite database to copy for each test."""
    from backend.migrate import upgrade

    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


# --- per-test database ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(request, db_backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a fresh, migrated database on the test's backend."""
    if db_backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "merito.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"merito_t{os.getpid()}_{next(_db_counter)}"
    admin = _admin_engine(server)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield server + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine, settings: Settings) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        # As backend.db.get_session does for requests: code deep in a transaction (event
        # handlers) finds the settings here.
        session.info["settings"] = settings
        yield session


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        fast_password_hashing=True,
        login_max_failures=5,
        scheduler=False,
        warm_caches=False,
        # A race test's simultaneous requests must really run at once: with turns (one request
        # at a time until a turn ends, backend/turns.py) a race that a slow request or a
        # second worker process can still start would never happen, and its test would pass
        # by accident. The turns themselves: tests/unit/test_request_turns.py.
        **({"request_turn_ms": 0} if request.node.get_closest_marker("races") else {}),
    )


@pytest.fixture
def app(settings: Settings, engine: Engine):
    from backend.app import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    # English by default so assertions read naturally; Spanish is tested with ?lang=es.
    with TestClient(
        app, base_url="http://testserver", headers={"Accept-Language": "en"}
    ) as test_client:
        yield test_client


# --- builders ---------------------------------------------------------------------------------


@dataclass
class Org:
    """A small organisation: a central unit and a delegation, with people in both."""

    central: object
    delegation: object
    head_position: object
    officer_position: object
    head: object  # supervises officer_a and officer_b
    officer_a: object
    officer_b: object
    outsider: object  # in the delegation, reports to nobody


@pytest.fixture
def org(session: Session) -> Org:
    from backend.org import service as org_service
    from backend.org.service import EmployeeInput

    central = org_service.create_unit(
        session,
        code="DA",
        name="Dirección de Administración",
        kind="directorate",
        region="Centro",
        state="CDMX",
    )
    delegation = org_service.create_unit(
        session,
        code="DEL-JAL",
        name="Delegación Jalisco",
        kind="delegation",
        region="Occidente",
        state="Jalisco",
    )
    head_pos = org_service.create_position(
        session, code="P-HEAD", title="Jefe de unidad", unit=central, role_code="head_of_unit"
    )
    officer_pos = org_service.create_position(
        session,
        code="P-OFF",
        title="Oficial de compras",
        unit=central,
        role_code="procurement_officer",
        planned_headcount=3,
    )
    org_service.ensure_qualification(
        session,
        code="CERT-PROC",
        name_es="Certificación en contrataciones públicas",
        name_en="Public procurement certification",
        is_procurement=True,
    )

    def person(number, first, last, unit, position=None, supervisor=None):
        return org_service.create_employee(
            session,
            EmployeeInput(
                number=number,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}@example.org",
                unit_id=unit.id,
                position_id=position.id if position else None,
                supervisor_id=supervisor.id if supervisor else None,
                hire_date=date(2015, 3, 1),
                birth_date=date(1975, 6, 15),
            ),
        )

    head = person("E001", "Lucia", "Mendez", central, head_pos)
    officer_a = person("E002", "Mario", "Ruiz", central, officer_pos, head)
    officer_b = person("E003", "Ana", "Torres", central, officer_pos, head)
    outsider = person("E004", "Jorge", "Vega", delegation)
    session.commit()
    return Org(central, delegation, head_pos, officer_pos, head, officer_a, officer_b, outsider)


@pytest.fixture
def make_user(session: Session, settings: Settings):
    """Return a function that creates a user with roles (and optionally an employee link)."""
    from backend.auth import service as auth_service

    counter = itertools.count(1)

    def build(
        *roles: Role | str,
        employee=None,
        email: str | None = None,
        password: str = TEST_PASSWORD,
        locale: str = "en",
    ):
        n = next(counter)
        user = auth_service.create_user(
            session,
            settings,
            email=email or f"user{n}@example.org",
            full_name=f"Test User {n}",
            password=password,
            roles=[Role(r) for r in roles],
            employee_id=employee.id if employee else None,
            locale=locale,
            check_password=False,
        )
        session.commit()
        return user

    return build


def sign_in_form_token(client) -> str:
    """Return the CSRF token of a form shown without a session (sign-in, registration...).

    Such a token is bound to the browser's pre-session cookie: the client is given one first
    when it has none, as the server gives it with the first page it shows without a session.
    """
    import secrets

    from backend.auth.service import anonymous_csrf_token
    from backend.deps import PRESESSION_COOKIE, cookie_name

    settings = client.app.state.settings
    name = cookie_name(settings, PRESESSION_COOKIE)
    value = client.cookies.get(name)
    if not value:
        value = secrets.token_urlsafe(32)
        client.cookies.set(name, value)
    return anonymous_csrf_token(settings.resolved_secret_key(), binding=value)


def login(client, email: str, password: str = TEST_PASSWORD) -> str:
    """Sign in through the form; return the session's CSRF token."""
    token = sign_in_form_token(client)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/login/second-factor"):
        # Investigators and protection officers: enrol (first time) and pass TOTP.
        from tests.reporting_helpers import totp_code

        assert client.get(response.headers["location"]).status_code == 200
        response = client.post(
            "/login/second-factor",
            data={
                "code": totp_code(client.app, email),
                "next": "/",
                "csrf_token": csrf_of(client),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client) -> str:
    """Return the CSRF token of the client's current session."""
    from backend.auth.models import AuthSession
    from backend.auth.service import token_hash

    engine = client.app.state.engine
    with Session(engine) as db:
        from sqlmodel import select

        row = db.exec(
            select(AuthSession).where(
                AuthSession.token_hash == token_hash(client.cookies.get("merito_session"))
            )
        ).one()
        return row.csrf_token


@pytest.fixture
def signed_in(client, make_user):
    """Return a function: create a user with roles, sign them in, return (user, csrf)."""

    def build(*roles, employee=None, locale: str = "en"):
        client.cookies.clear()
        user = make_user(*roles, employee=employee, locale=locale)
        return user, login(client, user.email)

    return build


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
