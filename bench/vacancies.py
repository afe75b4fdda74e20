"""Vacancy competitions at scale: marking, the merit list, and test takers on a live server.

    python -m bench.vacancies [--applicants 2000] [--takers 200] [--answers 10]
                              [--backend sqlite|postgresql|both] [--workers 1]

Builds, through the services, a competition with `--applicants` external candidates and a
3-person panel: every candidate applies, takes the test (answers written in bulk), and gets sift
and interview scores from the three members (written in bulk). It then times:

- marking every test attempt (`service.mark_all`) and closing the test (marks + cut score);
- the merit list: computing it (`service.compute_merit`) and publishing it (`publish_results`:
  interview lock, pass mark, the list written, rejection events);
- `--takers` candidates of a second competition answering `--answers` questions each, all at
  once, against uvicorn on 127.0.0.1 (one session each), and prints p50/p95/p99 latency.

The competition clock is set back a month while the candidates apply, so that by the real clock
applications and the review window are over and the tests run in real time. The load goes only
to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, update
from sqlmodel import Session

BENCH_SECRET = secrets.token_urlsafe(32)
BENCH_PASSWORD = secrets.token_urlsafe(16)


def _settings(database_url: str, data_dir: Path):
    from backend.config import Settings

    return Settings(
        environment="test",
        database_url=database_url,
        data_dir=data_dir,
        secret_key=BENCH_SECRET,
        fast_password_hashing=True,
        scheduler=False,
    )


class _Clock:
    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def __call__(self):
        from backend.clock import now as utcnow

        return utcnow() + self.offset


def _organisation(session: Session, settings):
    from datetime import date

    from assessments.vacancies import service
    from assessments.vacancies.service import QuestionInput
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role
    from backend.org import service as org_service
    from backend.org.service import EmployeeInput

    central = org_service.create_unit(session, code="DA", name="Dirección", kind="directorate")
    other = org_service.create_unit(session, code="DEL", name="Delegación", kind="delegation")
    position = org_service.create_position(
        session, code="P-OFF", title="Analista", unit=central, role_code="procurement_officer"
    )

    def user(email, roles, employee=None):
        return auth_service.create_user(
            session,
            settings,
            email=email,
            full_name=email.split("@")[0].replace(".", " ").title(),
            password=BENCH_PASSWORD,
            roles=roles,
            employee_id=employee.id if employee else None,
            check_password=False,
        )

    hr = user("hr@bench.example", [Role.hr_planner])
    approver = user("approver@bench.example", [Role.hr_planner])
    members = []
    for n, unit in enumerate((central, other, other)):
        employee = org_service.create_employee(
            session,
            EmployeeInput(
                number=f"PM{n}",
                first_name="Panel",
                last_name=f"Member{n}",
                email=f"panel{n}@bench.example",
                unit_id=unit.id,
                hire_date=date(2010, 1, 1),
            ),
        )
        members.append(user(f"panel{n}@bench.example", [Role.panel_member], employee))
    for code in ("procurement_law", "public_finance"):
        service.create_domain(session, code=code, name_es=code, name_en=code, actor=hr)
        for level in (1, 2, 3):
            for n in range(15):
                service.add_question(
                    session,
                    data=QuestionInput(
                        domain=code,
                        difficulty=str(level),
                        stem=f"{code} {level}.{n}",
                        options=["A", "B", "C", "D"],
                        correct=str(1 + n % 4),
                    ),
                    actor=hr,
                )
    session.commit()
    return position, hr, approver, members


def _competition(session, settings, position, hr, approver, members):
    from assessments.vacancies import service
    from assessments.vacancies.service import NoticeInput

    vacancy = service.create_vacancy(session, settings, position=position, actor=hr)
    service.update_draft(
        session,
        settings,
        vacancy=vacancy,
        data=NoticeInput(
            title="Analista de adquisiciones",
            criteria={"procurement_process": "3", "legal": "3", "communication": "3"},
            knowledge_domains=["procurement_law", "public_finance"],
            blueprint=[("procurement_law", "", "12"), ("public_finance", "", "8")],
            test_minutes="60",
            eligibility=[("¿Cuenta con título profesional?", "yes")],
        ),
        actor=hr,
    )
    service.submit_for_approval(session, settings, vacancy=vacancy, actor=hr)
    service.approve(session, settings, vacancy=vacancy, actor=approver)
    service.publish(session, settings, vacancy=vacancy, actor=hr)
    for member in members:
        service.appoint_panel_member(session, vacancy=vacancy, user=member, actor=hr)
    session.commit()
    return vacancy


def _candidates(session, settings, count: int, offset: int = 0):
    from assessments.vacancies import service

    users = []
    for n in range(offset, offset + count):
        user, token = service.register(
            session,
            settings,
            email=f"cand{n}@bench.example",
            first_name=f"Nombre{n}",
            last_names=f"Apellido{n} Segundo{n}",
            password=BENCH_PASSWORD,
        )
        service.verify(session, token=token)
        users.append(user)
    session.commit()
    return users


def _apply_all(session, settings, vacancy, users):
    from assessments.vacancies import service
    from assessments.vacancies.service import ApplicationInput

    evidence = {
        c["competency"]: "Condujo licitaciones públicas completas." for c in vacancy.criteria
    }
    found = []
    for user in users:
        found.append(
            service.apply(
                session,
                settings,
                vacancy=vacancy,
                user=user,
                data=ApplicationInput({"q1": "yes"}, evidence),
            )
        )
    session.commit()
    return found


def _timed(label: str, fn, results: dict) -> object:
    started = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - started
    return value


def run_backend(database_url: str, data_dir: Path, args, results: dict) -> None:
    from assessments.vacancies import service
    from assessments.vacancies.models import (
        ConsensusScore,
        PanelScore,
        Stage,
        TestAnswer,
        TestAttempt,
    )
    from backend import clock
    from backend.db import make_engine
    from backend.migrate import upgrade

    settings = _settings(database_url, data_dir)
    engine = make_engine(database_url)
    upgrade(engine)
    real_now = clock.now
    rng = random.Random(5)
    with Session(engine, expire_on_commit=False) as session:
        build = time.perf_counter()
        clock.now = _Clock(-timedelta(days=40))
        position, hr, approver, members = _organisation(session, settings)
        big = _competition(session, settings, position, hr, approver, members)
        live = _competition(session, settings, position, hr, approver, members)
        users = _candidates(session, settings, args.applicants)
        big_apps = _apply_all(session, settings, big, users)
        live_apps = _apply_all(session, settings, live, users[: args.takers])
        clock.now = real_now
        service.open_test(session, settings, vacancy=big, actor=hr)
        service.open_test(session, settings, vacancy=live, actor=hr)
        session.commit()
        # Every candidate of the big competition takes the test (answers written in bulk).
        answers = []
        for application, user in zip(big_apps, users, strict=True):
            attempt = service.start_test(session, application=application, user=user)
            skill = rng.random()
            for question_id in attempt.question_ids:
                answers.append(
                    {
                        "attempt_id": attempt.id,
                        "question_id": question_id,
                        "chosen": rng.randrange(4) if rng.random() > skill else -1,
                        "answered_at": clock.now(),
                    }
                )
        session.commit()
        correct = {q.id: q.correct_option for q in service.bank(session)}
        for row in answers:
            if row["chosen"] == -1:
                row["chosen"] = correct[row["question_id"]]
        session.execute(insert(TestAnswer), answers)
        session.commit()
        results["build_seconds"] = time.perf_counter() - build
        results["answers"] = len(answers)

        marked = _timed(
            "mark_all", lambda: service.mark_all(session, vacancy=big, actor=hr), results
        )
        session.commit()
        results["attempts_marked"] = marked
        # Close without waiting for the hour: every attempt was handed in.
        session.execute(
            update(TestAttempt)
            .where(TestAttempt.vacancy_id == big.id)
            .values(submitted_at=clock.now())
        )
        session.commit()
        _timed("close_test", lambda: service.close_test(session, vacancy=big, actor=hr), results)
        session.commit()
        active = service.active_applications(session, big)
        results["passed_test"] = len(active)
        for stage in (Stage.sift, Stage.interview):
            scores, consensus = [], []
            for application in active:
                base = rng.randrange(2, 5)
                for code in service.criteria_codes(big):
                    values = [min(4, max(0, base + rng.choice((-1, 0, 0, 1)))) for _m in members]
                    for member, value in zip(members, values, strict=True):
                        scores.append(
                            {
                                "vacancy_id": big.id,
                                "application_id": application.id,
                                "stage": stage.value,
                                "competency_code": code,
                                "rater_id": member.id,
                                "score": value,
                                "note": "",
                                "recorded_at": clock.now(),
                            }
                        )
                    mean = sum(values) / len(values)
                    consensus.append(
                        {
                            "vacancy_id": big.id,
                            "application_id": application.id,
                            "stage": stage.value,
                            "competency_code": code,
                            "score": service.suggested(mean),
                            "independent_mean": mean,
                            "reason": "",
                            "after_lock": False,
                            "recorded_by_id": members[1].id,
                            "recorded_at": clock.now(),
                        }
                    )
            session.execute(insert(PanelScore), scores)
            session.execute(insert(ConsensusScore), consensus)
            session.commit()
            if stage == Stage.sift:
                for criterion in big.criteria:
                    service.add_interview_question(
                        session,
                        vacancy=big,
                        competency_code=criterion["competency"],
                        text="Describa un caso.",
                        actor=hr,
                    )
                service.lock_sift(session, vacancy=big, actor=hr)
                session.commit()
                active = service.active_applications(session, big)
        results["interviewed"] = len(active)
        rows = _timed("compute_merit", lambda: service.compute_merit(session, big), results)
        results["ranked_preview"] = sum(1 for r in rows if r.rank)
        _timed(
            "publish_results",
            lambda: service.publish_results(session, settings, vacancy=big, actor=hr),
            results,
        )
        session.commit()
        results["ranked"] = sum(1 for e in service.merit_entries(session, big) if e.rank)

        # The live competition: attempts started, sessions opened, then the server takes over.
        from backend.auth import service as auth_service

        takers = []
        for application, user in zip(live_apps, users, strict=False):
            attempt = service.start_test(session, application=application, user=user)
            token, row = auth_service.start_session(session, settings, user=user)
            takers.append(
                (application.id, attempt.question_ids[: args.answers], token, row.csrf_token)
            )
        session.commit()
    engine.dispose()
    results.update(_live(database_url, data_dir, takers, args.workers, args.think))


def _serve(database_url: str, data_dir: Path, port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "MERITO_DATABASE_URL": database_url,
        "MERITO_DATA_DIR": str(data_dir),
        "MERITO_SECRET_KEY": BENCH_SECRET,
        "MERITO_SCHEDULER": "false",
        "MERITO_SESSION_IDLE_MINUTES": "600",
    }
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            # Browsers keep connections open between answers; uvicorn's 5 s default would race
            # the takers' pauses and cut connections the client is about to reuse.
            "--timeout-keep-alive",
            "75",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("the server did not start")


def _live(database_url: str, data_dir: Path, takers, workers: int, think: float) -> dict:
    from tests.conftest import free_port

    port = free_port()
    server = _serve(database_url, data_dir, port, workers)
    try:
        return asyncio.run(_answer_all(f"http://127.0.0.1:{port}", takers, think))
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _answer_all(base: str, takers, think: float) -> dict:
    latencies: list[float] = []
    failures: list[int] = []
    errors: list[str] = []
    start = asyncio.Event()

    async def post(client, application_id, question_id, token, csrf) -> int:
        try:
            response = await client.post(
                f"{base}/applications/{application_id}/test/answer",
                data={"question_id": str(question_id), "chosen": "0"},
                headers={
                    "Cookie": f"merito_session={token}",
                    "X-CSRF-Token": csrf,
                    "HX-Request": "true",
                },
            )
        except httpx.HTTPError as err:
            errors.append(type(err).__name__)
            return 0
        return response.status_code

    async def taker(client: httpx.AsyncClient, application_id, questions, token, csrf):
        # One unmeasured answer opens the connection (and warms the server's caches).
        await post(client, application_id, questions[0], token, csrf)
        await start.wait()
        pause = random.Random(application_id)
        for question_id in questions:
            # Reading the next question: far faster than a person, but not a tight loop.
            await asyncio.sleep(pause.uniform(0.5 * think, 1.5 * think))
            began = time.perf_counter()
            status = await post(client, application_id, question_id, token, csrf)
            latencies.append(time.perf_counter() - began)
            if status != 200:
                failures.append(status)

    limits = httpx.Limits(max_connections=len(takers) + 10, max_keepalive_connections=len(takers))
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        first = takers[0]
        for _warm in range(3):
            await post(client, first[0], first[1][0], first[2], first[3])
        tasks = [asyncio.create_task(taker(client, *t)) for t in takers]
        await asyncio.sleep(2)
        began = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "live_requests": len(latencies),
        "live_failures": len(failures),
        "live_failure_statuses": sorted(set(failures)),
        "live_errors": sorted(set(errors)),
        "live_wall_seconds": wall,
        "live_rps": len(latencies) / wall,
        "live_p50_ms": pct(0.50),
        "live_p95_ms": pct(0.95),
        "live_p99_ms": pct(0.99),
        "live_mean_ms": statistics.mean(latencies) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=2000)
    parser.add_argument("--takers", type=int, default=200)
    parser.add_argument("--answers", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--think", type=float, default=5.0, help="mean seconds between a taker's answers"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = parser.parse_args(argv)
    from bench.pg import throwaway_cluster

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-bench-")))
            if backend == "sqlite":
                url = f"sqlite:///{tmp / 'merito.db'}"
            else:
                url = stack.enter_context(throwaway_cluster())
            results: dict = {}
            run_backend(url, tmp, args, results)
            print(f"== {backend}: {args.applicants} applicants, 3-person panel ==")
            print(f"  setup through the services: {results['build_seconds']:.1f} s")
            print(
                f"  marking {results['attempts_marked']} attempts ({results['answers']} answers): "
                f"{results['mark_all'] * 1000:.0f} ms; closing the test (marks + cut score): "
                f"{results['close_test'] * 1000:.0f} ms"
            )
            print(
                f"  merit list of {results['interviewed']} interviewed: computed in "
                f"{results['compute_merit'] * 1000:.0f} ms, published in "
                f"{results['publish_results'] * 1000:.0f} ms ({results['ranked']} ranked)"
            )
            print(
                f"  {args.takers} concurrent test takers × {args.answers} answers on uvicorn "
                f"({args.workers} worker(s), {args.think:g} s between answers): "
                f"{results['live_requests']} requests, "
                f"{results['live_failures']} failed {results['live_failure_statuses']} "
                f"{results['live_errors']}, {results['live_rps']:.0f} req/s; "
                f"p50 {results['live_p50_ms']:.0f} ms, p95 {results['live_p95_ms']:.0f} ms, "
                f"p99 {results['live_p99_ms']:.0f} ms"
            )


if __name__ == "__main__":
    main()
