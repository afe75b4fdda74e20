"""The crash drill: every acknowledged write survives kill -9 of the application and the database.

A burst of anonymous reports, self-assessments, supervisors' validations, knowledge-test answers
and appraisal signatures goes to a real uvicorn process (tests/integration/test_multiprocess.py's
`AppProcess`); in the middle of it the application is killed with SIGKILL and, on PostgreSQL, so
are the postmaster and every server process (a machine losing power, as far as a process can
tell). Both are started again and every write the client saw acknowledged must be there and
readable (reports decrypt), every form whole or absent, and the audit chain intact.

PostgreSQL runs here on a cluster of the test's own with durable settings (fsync,
synchronous_commit and full_page_writes on: tests/pg_clusters.py), not on the suite's fast
cluster, which runs with them off and could not survive its own crash. SQLite runs as in
production (WAL, synchronous=NORMAL) and the application is killed mid-commit. The operator's
version of this drill is in docs/deployment.md, "Crash and restore drills".
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from assessments.appraisals.models import Appraisal, AppraisalStep, Stage
from assessments.vacancies import service as vacancy_service
from assessments.vacancies.models import TestAnswer
from backend import audit
from backend.audit import AuditEntry
from backend.db import make_engine
from backend.migrate import upgrade
from backend.org import service as org_service
from backend.org.service import EmployeeInput
from competency_framework import service as competency_service
from competency_framework.models import CurrentRating, RatingEntry, RatingSource
from tests.appraisals import helpers as appraisal_helpers
from tests.competency.helpers import principal_for
from tests.conftest import TEST_PASSWORD, wait_for
from tests.integration.test_multiprocess import (
    AppProcess,
    _sign_in,
    _submit,
    processes,  # noqa: F401 - the fixture
)
from tests.pg_clusters import DurableCluster
from tests.reporting_helpers import ready_channel
from tests.vacancies import helpers as vacancy_helpers
from whistleblowing import service as reporting
from whistleblowing.models import Report

# Dialogue records to sign: the two officers of the `org` fixture and this many more.
EXTRA_TEAM_MEMBERS = 4


@pytest.fixture
def durable_cluster(db_backend: str):
    """Yield a PostgreSQL cluster with durable settings (None on SQLite); remove it after."""
    if db_backend != "postgresql":
        yield None
        return
    cluster = DurableCluster().start()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def database_url(request, durable_cluster, tmp_path) -> str:
    """Overrides the suite's: PostgreSQL on the durable cluster, migrated; SQLite as usual."""
    if durable_cluster is None:
        target = tmp_path / "merito.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = durable_cluster.create_database("merito")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


CSRF_IN_PAGE = re.compile(r'"X-CSRF-Token": "([^"]+)"')
SELF_LEVEL_IN_FORM = re.compile(r'name="self_(\d+)" value="(\d+)"')
LEVELS = 5  # the proficiency scale runs from 0 to 4
OPTIONS = 4  # every question of the bank built by tests.vacancies.helpers.seed_bank


def _csrf(client: httpx.Client) -> str:
    """Return the CSRF token of the client's session, read from a page as htmx reads it."""
    found = CSRF_IN_PAGE.search(client.get("/").text)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Competition:
    vacancy: object
    candidates: list  # (user, application)


def _competition_in_testing(
    session, settings, monkeypatch, position, *, candidates: int
) -> Competition:
    """Return a competition whose knowledge test is open, with `candidates` applicants in it.

    Built through the services on the competition clock of tests.vacancies: published months
    ago, applications and reviews closed since, test opened. The server runs on the real clock.
    """
    fake = vacancy_helpers.set_clock(monkeypatch, vacancy_helpers.FakeClock())
    hr = vacancy_helpers.staff_user(session, settings, "hr_planner", name="Hilda Ramos")
    approver = vacancy_helpers.staff_user(session, settings, "hr_planner", name="Arturo Pineda")
    vacancy_helpers.seed_bank(session, hr)
    vacancy = vacancy_helpers.draft(session, settings, hr, position)
    vacancy_helpers.publish(session, settings, hr, approver, vacancy)
    for n in range(vacancy.panel_size):
        expert = vacancy_helpers.staff_user(
            session, settings, "panel_member", name=f"Experta Externa{n}"
        )
        vacancy_service.appoint_panel_member(session, vacancy=vacancy, user=expert, actor=hr)
    session.commit()
    applicants = []
    for n in range(candidates):
        user = vacancy_helpers.external_candidate(session, settings, first=f"Candidata{n}")
        applicants.append((user, vacancy_helpers.apply(session, settings, vacancy, user)))
    vacancy_helpers.close_window(session, settings, fake, vacancy)
    vacancy_service.open_test(session, settings, vacancy=vacancy, actor=hr)
    session.commit()
    return Competition(vacancy, applicants)


@dataclass
class Burst:
    """What the writers sent and what the server acknowledged (shared by the writer threads)."""

    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # receipt -> marker in the report's text
    reports: dict[str, str] = field(default_factory=dict)
    # marker in every note of the form -> (employee id, {competency code: level})
    self_assessments: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)
    # marker in every reason -> (employee id, {self entry id: validated level})
    validations: dict[str, tuple[int, dict[int, int]]] = field(default_factory=dict)
    # (attempt id, question id) -> every answer sent, in order: [chosen, acknowledged]
    answers: dict[tuple[int, int], list[list]] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)  # markers of acknowledged forms
    # (appraisal id, "supervisor" or "employee") -> acknowledged, for every signature sent
    signatures: dict[tuple[int, str], bool] = field(default_factory=dict)
    # set once the other writers are under way: only then do the signatures start
    signing: threading.Event = field(default_factory=threading.Event)
    # employee id -> set each time the supervisor has been through their waiting entries
    validator_turns: dict[int, threading.Event] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)  # responses that are neither
    failures: list[BaseException] = field(default_factory=list)

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for marker in self.acknowledged if marker.startswith(prefix))

    def acknowledged_answers(self) -> int:
        with self.lock:
            return sum(ok for sends in self.answers.values() for _chosen, ok in sends)

    def signed(self, party: str) -> int:
        with self.lock:
            return sum(ok for (_id, who), ok in self.signatures.items() if who == party)

    def progress(self) -> str:
        return (
            f"acknowledged: {len(self.reports)} reports, {self.count('S')} self-assessments, "
            f"{self.count('V')} validations, {self.acknowledged_answers()} answers, "
            f"{self.signed('supervisor')} + {self.signed('employee')} signatures"
        )

    def writer(self, work) -> threading.Thread:
        """Return a thread running `work(n)` for n = 0, 1, … until the burst stops."""

        def run() -> None:
            n = 0
            try:
                while not self.stop.is_set():
                    work(n)
                    n += 1
            except BaseException as exc:  # surfaced by the test after the join
                self.failures.append(exc)

        return threading.Thread(target=run, daemon=True)


def _reporter(burst: Burst, url: str, secret: str, channel_id: int, worker: int):
    def work(n: int) -> None:
        marker = f"R{worker}N{n}"
        receipt = _submit(url, secret, channel_id, marker)
        if receipt:
            with burst.lock:
                burst.reports[receipt] = marker

    return work


def _self_assessor(burst: Burst, client: httpx.Client, employee_id: int, codes: list[str]):
    """An employee sending their whole self-assessment (all 13 competencies) again and again.

    After each acknowledged form they give the supervisor a turn (for a while at most), so
    that validations are not all refused as out of date by the next form.
    """
    csrf = _csrf(client)
    turn = burst.validator_turns.setdefault(employee_id, threading.Event())

    def work(n: int) -> None:
        marker = f"S{employee_id}N{n}"
        levels = {code: (n + i) % LEVELS for i, code in enumerate(codes)}
        form = {"csrf_token": csrf}
        for code, level in levels.items():
            form |= {f"level_{code}": str(level), f"note_{code}": marker, f"evidence_{code}": ""}
        with burst.lock:
            burst.self_assessments[marker] = (employee_id, levels)
        turn.clear()
        try:
            response = client.post("/competencies/me/assessment", data=form)
        except httpx.HTTPError:
            return  # no answer: not acknowledged
        with burst.lock:
            if response.status_code != 303:
                burst.unexpected.append(f"self-assessment {response.status_code}")
                return
            burst.acknowledged.add(marker)
        turn.wait(timeout=5)

    return work


def _validator(burst: Burst, client: httpx.Client, employee_ids: list[int]):
    """A supervisor validating whatever self-assessments wait, setting every level one up."""
    csrf = _csrf(client)

    def work(n: int) -> None:
        employee_id = employee_ids[n % len(employee_ids)]
        turn = burst.validator_turns[employee_id]
        try:
            page = client.get(f"/competencies/validation/{employee_id}")
        except httpx.HTTPError:
            return
        if page.status_code != 200:
            with burst.lock:
                burst.unexpected.append(f"validation form {page.status_code}")
            return
        waiting = {int(i): int(level) for i, level in SELF_LEVEL_IN_FORM.findall(page.text)}
        if not waiting:
            turn.set()
            return
        marker = f"V{n}"
        decisions = {entry_id: (level + 1) % LEVELS for entry_id, level in waiting.items()}
        form = {"csrf_token": csrf}
        for entry_id, level in decisions.items():
            form |= {
                f"decision_{entry_id}": "change",
                f"level_{entry_id}": str(level),
                f"reason_{entry_id}": marker,
            }
        with burst.lock:
            burst.validations[marker] = (employee_id, decisions)
        try:
            response = client.post(f"/competencies/validation/{employee_id}", data=form)
        except httpx.HTTPError:
            return
        finally:
            turn.set()
        with burst.lock:
            if response.status_code == 303:
                burst.acknowledged.add(marker)
            elif response.status_code != 409:  # 409: the employee replaced an entry meanwhile
                burst.unexpected.append(f"validation {response.status_code}")

    return work


def _candidate(
    burst: Burst, client: httpx.Client, application_id: int, attempt_id: int, questions: list[int]
):
    """A candidate answering their questions in turn, changing every answer each round."""
    csrf = _csrf(client)

    def work(n: int) -> None:
        question = questions[n % len(questions)]
        sent = [(n // len(questions)) % OPTIONS, False]
        with burst.lock:
            burst.answers.setdefault((attempt_id, question), []).append(sent)
        try:
            response = client.post(
                f"/applications/{application_id}/test/answer",
                data={"question_id": str(question), "chosen": str(sent[0])},
                headers={"HX-Request": "true", "X-CSRF-Token": csrf},
            )
        except httpx.HTTPError:
            return
        with burst.lock:
            if response.status_code == 200 and "Saved" in response.text:
                sent[1] = True
            else:
                burst.unexpected.append(f"answer {response.status_code}")

    return work


def _signature(burst: Burst, client: httpx.Client, csrf: str, appraisal_id: int, party: str):
    """Sign an appraisal's dialogue record (in agreement) and note whether it was acknowledged."""
    with burst.lock:
        burst.signatures[(appraisal_id, party)] = False
    try:
        response = client.post(
            f"/appraisals/{appraisal_id}/sign", data={"decision": "agree", "csrf_token": csrf}
        )
    except httpx.HTTPError:
        return
    with burst.lock:
        if response.status_code == 303:
            burst.signatures[(appraisal_id, party)] = True
        else:
            burst.unexpected.append(f"{party} signature {response.status_code}")


def _supervisor_signing(burst: Burst, client: httpx.Client, appraisal_ids: list[int]):
    """The supervisor signing each dialogue record in turn, once the others are under way."""
    csrf = _csrf(client)
    waiting = iter(appraisal_ids)

    def work(_n: int) -> None:
        if not burst.signing.wait(timeout=0.1):
            return
        appraisal_id = next(waiting, None)
        if appraisal_id is None:
            time.sleep(0.05)  # all signed: nothing left to do until the burst stops
            return
        _signature(burst, client, csrf, appraisal_id, "supervisor")

    return work


def _employees_signing(burst: Burst, clients: dict[int, httpx.Client]):
    """Each employee countersigning their record as soon as the supervisor's signature is in."""
    csrfs = {appraisal_id: _csrf(client) for appraisal_id, client in clients.items()}

    def work(_n: int) -> None:
        with burst.lock:
            ready = [
                appraisal_id
                for (appraisal_id, party), ok in burst.signatures.items()
                if party == "supervisor"
                and ok
                and (appraisal_id, "employee") not in burst.signatures
            ]
        if not ready:
            time.sleep(0.02)
            return
        appraisal_id = ready[0]
        _signature(burst, clients[appraisal_id], csrfs[appraisal_id], appraisal_id, "employee")

    return work


def _appraisals_to_sign(session, org, make_user, supervisor, users) -> dict[int, object]:
    """Return {appraisal id: employee's user} for records waiting for both signatures.

    The officers of `org` (with their accounts in `users`, by employee id) and
    EXTRA_TEAM_MEMBERS more people in the head's team, each taken through objectives, both
    assessments and the dialogue by the services.
    """
    team = [org.officer_a, org.officer_b]
    for n in range(EXTRA_TEAM_MEMBERS):
        team.append(
            org_service.create_employee(
                session,
                EmployeeInput(
                    number=f"E1{n:02d}",
                    first_name="Equipo",
                    last_name=f"Miembro{n}",
                    email=f"equipo.miembro{n}@example.org",
                    unit_id=org.central.id,
                    position_id=org.officer_position.id,
                    supervisor_id=org.head.id,
                    hire_date=date(2019, 9, 2),
                ),
            )
        )
    session.commit()
    hr = principal_for(session, make_user("hr_planner"))
    head = principal_for(session, supervisor)
    priority = appraisal_helpers.plan(session, hr)
    cycle = appraisal_helpers.open_cycle(session, hr)
    appraisal_helpers.train(session, org.head, hr)
    waiting = {}
    for employee in team:
        user = users.get(employee.id) or make_user("employee", employee=employee)
        appraisal = appraisal_helpers.appraisal_of(session, cycle, employee)
        appraisal_helpers.set_objectives(session, appraisal, head, priority)
        appraisal_helpers.agree(session, appraisal, principal_for(session, user))
        appraisal_helpers.assess(session, appraisal, principal_for(session, user), 4)
        appraisal_helpers.assess(session, appraisal, head, 3)
        appraisal_helpers.record_dialogue(session, appraisal, head, 3)
        waiting[appraisal.id] = user
    return waiting


def test_acknowledged_writes_survive_a_crash_of_the_app_and_the_database(
    processes,  # noqa: F811 - the fixture imported above
    settings,
    engine,
    session,
    make_user,
    org,
    monkeypatch,
    durable_cluster,
):
    """kill -9 during a burst of reports, ratings, test answers and appraisal signatures."""
    if durable_cluster is not None:
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            assert durable_cluster.setting(name) == "on", name
    secret = settings.resolved_secret_key()
    ready = ready_channel(session, settings, make_user)
    staff = [org.officer_a, org.officer_b]
    employees = {e.id: make_user("employee", employee=e) for e in staff}
    supervisor = make_user("employee", "supervisor", employee=org.head)
    competition = _competition_in_testing(
        session, settings, monkeypatch, org.officer_position, candidates=2
    )
    to_sign = _appraisals_to_sign(session, org, make_user, supervisor, employees)
    # Plain values: the checks after the crash run with every row expired.
    employee_emails = {employee_id: user.email for employee_id, user in employees.items()}
    supervisor_email = supervisor.email
    signer_emails = {appraisal_id: user.email for appraisal_id, user in to_sign.items()}
    candidates = {application.id: user.email for user, application in competition.candidates}
    codes = [c.code for c in competency_service.list_competencies(session)]
    assert len(codes) == 13
    ratings_revision = competency_service.revision(session).ratings
    session.commit()

    server = AppProcess(settings).start()
    processes.append(server)
    signed_in: list[httpx.Client] = []

    def sign_in(email: str, password: str = TEST_PASSWORD, base: str = server.url) -> httpx.Client:
        client = _sign_in(base, email, secret, password=password)
        signed_in.append(client)
        return client

    # The candidates start their tests as they would, on the server's (real) clock.
    attempts: dict[int, tuple[httpx.Client, int, list[int]]] = {}
    for user, application in competition.candidates:
        client = sign_in(user.email, TEST_PASSWORD + "x")
        started = client.post(
            f"/applications/{application.id}/test/start", data={"csrf_token": _csrf(client)}
        )
        assert started.status_code == 303, started.text
        session.expire_all()
        attempt = vacancy_service.attempt_of(session, application)
        attempts[application.id] = (client, attempt.id, list(attempt.question_ids))
    session.rollback()

    burst = Burst()
    threads = [
        *(
            burst.writer(_reporter(burst, server.url, secret, ready.channel.id, w))
            for w in range(2)
        ),
        *(
            burst.writer(_self_assessor(burst, sign_in(email), employee_id, codes))
            for employee_id, email in employee_emails.items()
        ),
        burst.writer(_validator(burst, sign_in(supervisor_email), list(employee_emails))),
        *(
            burst.writer(_candidate(burst, client, application_id, attempt_id, questions))
            for application_id, (client, attempt_id, questions) in attempts.items()
        ),
        burst.writer(_supervisor_signing(burst, sign_in(supervisor_email), list(to_sign))),
        burst.writer(
            _employees_signing(
                burst,
                {appraisal_id: sign_in(email) for appraisal_id, email in signer_emails.items()},
            )
        ),
    ]
    for thread in threads:
        thread.start()

    def others_under_way() -> bool:
        return (
            len(burst.reports) >= 3
            and burst.count("S") >= 4
            and burst.count("V") >= 2
            and burst.acknowledged_answers() >= 12
        )

    def under_way() -> bool:
        # The signatures start last and are few: the crash lands among them.
        return (
            others_under_way() and burst.signed("supervisor") >= 2 and burst.signed("employee") >= 1
        )

    try:
        wait_for(lambda: burst.failures or burst.unexpected or others_under_way(), timeout=180)
        burst.signing.set()
        wait_for(lambda: burst.failures or burst.unexpected or under_way(), timeout=60)
        # The test's own connection goes back to the pool first (pre-ping replaces it after).
        session.rollback()
        # In the middle of the burst: the application, then at once the database server.
        server.kill()
        if durable_cluster is not None:
            durable_cluster.crash()
        print(f"killed with {burst.progress()}")  # shown when the test fails
    finally:
        burst.stop.set()
        burst.signing.set()
        for thread in threads:
            thread.join(timeout=60)
        for client in signed_in:
            client.close()
    assert not burst.failures, burst.failures
    assert not burst.unexpected, burst.unexpected
    assert under_way(), f"the burst did not get going before the crash ({burst.progress()})"
    assert len(burst.signatures) < 2 * len(to_sign), "every signature was in before the crash"

    if durable_cluster is not None:
        durable_cluster.restart()
        # It went through crash recovery (replaying its log), not a clean start.
        assert "not properly shut down" in durable_cluster.log()
    engine.dispose()  # the pool's connections died with the server
    restarted = AppProcess(settings).start()
    processes.append(restarted)
    session.expire_all()
    _assert_reports_survived(session, settings, ready, burst)
    rating_logs = _assert_ratings_survived(
        session, burst, list(employee_emails), codes, ratings_revision
    )
    _assert_answers_survived(session, burst, attempts)
    signatures = _assert_signatures_survived(session, burst, list(to_sign))
    assert audit.verify(session).ok
    session.rollback()

    # The restarted server serves, and shows what was acknowledged.
    assert httpx.get(restarted.url + "/report").status_code == 200
    supervisor_client = sign_in(supervisor_email, base=restarted.url)
    for employee_id in employee_emails:
        log = supervisor_client.get(f"/api/v1/competencies/people/{employee_id}/ratings")
        assert log.status_code == 200
        assert {e["id"]: e["note"] for e in log.json()} == rating_logs[employee_id]
    for appraisal_id, (by_supervisor, by_employee) in signatures.items():
        state = supervisor_client.get(f"/api/v1/appraisals/{appraisal_id}").json()
        assert (state["supervisor_signed"], state["employee_signed"]) == (
            by_supervisor,
            by_employee,
        )
        assert state["completed"] == by_employee
    for application_id, email in candidates.items():
        client = sign_in(email, TEST_PASSWORD + "x", base=restarted.url)
        page = client.get(f"/applications/{application_id}/test")
        assert page.status_code == 200
        _client, attempt_id, _questions = attempts[application_id]
        for answer in session.exec(select(TestAnswer).where(TestAnswer.attempt_id == attempt_id)):
            assert f'name="q_{answer.question_id}" value="{answer.chosen}" checked' in page.text
    session.rollback()
    for client in signed_in:
        client.close()


def _assert_reports_survived(session: Session, settings, ready, burst: Burst) -> None:
    # Every acknowledged report is there and opens with its receipt.
    for receipt, marker in burst.reports.items():
        token, _report = reporting.receipt_login(session, settings, receipt=receipt)
        access = reporting.reporter_access(session, token=token)
        texts = " ".join(str(e.content) for e in reporting.timeline(session, access=access))
        assert marker in texts
    session.rollback()
    # Nothing half-written: every stored report opens for the investigator.
    investigator_key = reporting.unlock_holder_key(
        session, settings, user=ready.investigator, password=TEST_PASSWORD
    )
    for reference in session.exec(select(Report.reference)).all():
        access = reporting.open_case(
            session, user=ready.investigator, holder_private=investigator_key, reference=reference
        )
        reporting.timeline(session, access=access)
    session.rollback()


def _assert_ratings_survived(
    session: Session, burst: Burst, employees: list[int], codes: list[str], ratings_revision: int
) -> dict[int, dict[int, str]]:
    """Check the rating log against what was sent; return each employee's {entry id: note}."""
    code_of = {c.id: c.code for c in competency_service.list_competencies(session)}
    entries = session.exec(
        select(RatingEntry).where(col(RatingEntry.employee_id).in_(list(employees)))
    ).all()
    by_id = {e.id: e for e in entries}
    by_marker: dict[str, list[RatingEntry]] = defaultdict(list)
    for entry in entries:
        by_marker[entry.note].append(entry)
    assert set(by_marker) <= set(burst.self_assessments) | set(burst.validations)

    # A self-assessment is all or nothing: its 13 entries, as sent, or none of them.
    stored_forms = 0
    for marker, (employee_id, levels) in burst.self_assessments.items():
        stored = by_marker.get(marker, [])
        if marker in burst.acknowledged:
            assert stored, f"acknowledged self-assessment {marker} lost"
        if stored:
            stored_forms += 1
            assert len(stored) == len(codes)
            assert {code_of[e.competency_id]: e.level for e in stored} == levels
            for entry in stored:
                assert entry.employee_id == employee_id and entry.source == RatingSource.self
                assert not entry.validated

    # A validation is all or nothing, each decision pointing at the self entry it settles.
    stored_validations = 0
    for marker, (employee_id, decisions) in burst.validations.items():
        stored = by_marker.get(marker, [])
        if marker in burst.acknowledged:
            assert stored, f"acknowledged validation {marker} lost"
        if stored:
            stored_validations += 1
            assert {e.review_of_id: e.level for e in stored} == decisions
            for entry in stored:
                assert entry.validated and entry.source == RatingSource.supervisor
                assert entry.employee_id == employee_id
                assert by_id[entry.review_of_id].competency_id == entry.competency_id

    # The current level is the newest validated entry, and the cache counter moved with it.
    newest: dict[tuple[int, int], RatingEntry] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.validated:
            newest[(entry.employee_id, entry.competency_id)] = entry
    current = {
        (c.employee_id, c.competency_id): c
        for c in session.exec(
            select(CurrentRating).where(col(CurrentRating.employee_id).in_(list(employees)))
        )
    }
    assert set(current) == set(newest)
    for key, rating in current.items():
        assert (rating.entry_id, rating.level) == (newest[key].id, newest[key].level)
    assert competency_service.revision(session).ratings == ratings_revision + stored_validations

    # Each stored form wrote its audit entry in the same transaction, and no other did.
    def audited(action: str) -> int:
        return session.exec(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        ).one()

    assert audited("competency.self_assessed") == stored_forms
    assert audited("competency.validated") == stored_validations
    logs: dict[int, dict[int, str]] = {employee_id: {} for employee_id in employees}
    for entry in entries:
        logs[entry.employee_id][entry.id] = entry.note
    session.rollback()
    return logs


def _assert_answers_survived(session: Session, burst: Burst, attempts: dict) -> None:
    # Every acknowledged answer is there, or a later one to the same question; rows are whole.
    attempt_ids = [attempt_id for _client, attempt_id, _questions in attempts.values()]
    stored = {
        (a.attempt_id, a.question_id): a
        for a in session.exec(select(TestAnswer).where(col(TestAnswer.attempt_id).in_(attempt_ids)))
    }
    assert set(stored) <= set(burst.answers)
    for key, sends in burst.answers.items():
        acknowledged = [i for i, (_chosen, ok) in enumerate(sends) if ok]
        row = stored.get(key)
        if acknowledged:
            assert row is not None, f"acknowledged answer {key} lost"
            assert row.chosen in {chosen for chosen, _ok in sends[acknowledged[-1] :]}
        if row is not None:
            assert row.chosen in {chosen for chosen, _ok in sends}
            assert 0 <= row.chosen < OPTIONS and row.answered_at is not None
    session.rollback()


def _assert_signatures_survived(
    session: Session, burst: Burst, appraisal_ids: list[int]
) -> dict[int, tuple[bool, bool]]:
    """Check each record's signatures against what was sent; return {id: (supervisor, employee)}.

    A signature is all or nothing: the supervisor's with the scores it fixes, its history step
    and its audit entry; the employee's with the completed stage, its step and its entry.
    """
    appraisals = {
        a.id: a for a in session.exec(select(Appraisal).where(col(Appraisal.id).in_(appraisal_ids)))
    }
    steps = defaultdict(set)
    for step in session.exec(
        select(AppraisalStep).where(col(AppraisalStep.appraisal_id).in_(appraisal_ids))
    ):
        steps[step.appraisal_id].add(step.step)
    audited = defaultdict(set)
    for entry in session.exec(
        select(AuditEntry).where(
            col(AuditEntry.action).in_(["appraisal.supervisor_signed", "appraisal.employee_signed"])
        )
    ):
        audited[int(entry.entity_id)].add(entry.action)
    found: dict[int, tuple[bool, bool]] = {}
    for appraisal_id, appraisal in appraisals.items():
        by_supervisor = appraisal.supervisor_signed_at is not None
        by_employee = appraisal.employee_signed_at is not None
        found[appraisal_id] = (by_supervisor, by_employee)
        for party, signed in (("supervisor", by_supervisor), ("employee", by_employee)):
            sent = (appraisal_id, party) in burst.signatures
            if burst.signatures.get((appraisal_id, party)):
                assert signed, f"acknowledged {party} signature of appraisal {appraisal_id} lost"
            assert sent or not signed, f"a {party} signature nobody sent ({appraisal_id})"
            assert (f"{party}_signed" in steps[appraisal_id]) == signed
            assert (f"appraisal.{party}_signed" in audited[appraisal_id]) == signed
        if by_supervisor:
            assert appraisal.weighted_score is not None
        if by_employee:
            assert by_supervisor
            assert appraisal.stage == Stage.completed and appraisal.completed_at is not None
        else:
            assert appraisal.stage == Stage.sign_off and appraisal.completed_at is None
    session.rollback()
    return found
