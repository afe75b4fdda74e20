"""Benchmark: the nightly notice run for 100 000 employees (one reminder each), mailed to a
local SMTP server.

    python -m bench.notices [--people 100000] [--backend sqlite|postgresql|both] [--ab 2000]

For each backend (SQLite file; PostgreSQL on a throwaway cluster with durable defaults, see
bench/pg.py), on a freshly migrated database:
1. inserts N active accounts (half Spanish, half English; one in ten chose the daily digest,
   one in twenty turned this kind of mail off);
2. times `notices.tell` of one reminder to all of them, commit included (the in-app notices
   and the queued mail);
3. times `notices.deliver` — the `notices.deliver` job's run — until the queue is empty: each
   mail rendered in its recipient's language, sent in batches over one SMTP connection per
   batch, marked sent and audited; then `notices.send_digests`. Mails per second, and the
   process's peak memory (max RSS) before and after;
4. A/B on `--ab` fresh mails: A = `notices.deliver` (one connection per batch of 200),
   B = one connection per mail (`backend.mail.send`, what each domain did before), run
   A B A B; the ratio is B's time over A's.

The SMTP server is aiosmtpd's `Sink` in its own process (it accepts and discards every mail),
so its work does not share this process's interpreter.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

KIND = "bench.campaign_reminder"


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _smtp_sink():
    """aiosmtpd's Sink handler in a child process; yields its port."""
    port = _free_port()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import socket

        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        child.terminate()
        child.wait(timeout=10)


def _people(session, count: int, *, start: int = 0) -> list[int]:
    from sqlmodel import select

    from backend import clock
    from backend.auth.models import User
    from backend.db import insert_rows
    from backend.notices.models import NoticePreference, NoticeSetting

    now = clock.now()
    rows = [
        {
            "email": f"person{n}@bench.example.org",
            "full_name": f"Person {n}",
            "password_hash": "-",
            "is_active": True,
            "locale": "es" if n % 2 else "en",
            "created_at": now,
            "password_changed_at": now,
            "must_change_password": False,
        }
        for n in range(start, start + count)
    ]
    insert_rows(session, User.__table__, rows)
    session.commit()
    ids = list(
        session.exec(
            select(User.id).where(User.email.like("person%@bench.example.org")).order_by(User.id)
        ).all()
    )[start : start + count]
    if start == 0:
        insert_rows(
            session,
            NoticeSetting.__table__,
            [{"user_id": uid, "daily_digest": True} for uid in ids[::10]],
        )
        insert_rows(
            session,
            NoticePreference.__table__,
            [{"user_id": uid, "kind": KIND, "by_email": False} for uid in ids[5::20]],
        )
        session.commit()
    return ids


def _run(name: str, url: str, people: int, ab: int, data_dir: Path) -> dict:
    from sqlmodel import Session, func, select

    from backend import mail, notices
    from backend.config import Settings
    from backend.db import make_engine
    from backend.i18n import N_
    from backend.migrate import upgrade
    from backend.notices.models import NoticeDelivery

    notices.kind(
        KIND,
        subject=N_("Campaign reminder"),
        body=N_("Rate your competencies in the campaign before %(day)s."),
        label=N_("Campaign reminders"),
    )
    figures: dict = {"backend": name, "people": people}
    engine = make_engine(url)
    upgrade(engine)
    with _smtp_sink() as port:
        settings = Settings(
            environment="test",
            database_url=url,
            data_dir=data_dir,
            secret_key=secrets.token_urlsafe(48),
            scheduler=False,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            smtp_from="Mérito <no-reply@bench.example.org>",
            public_url="https://merito.example.org",
        )
        with Session(engine) as session:
            session.info["settings"] = settings
            ids = _people(session, people)
            from datetime import date

            figures["rss_before_mib"] = _max_rss_mib()
            started = time.perf_counter()
            told = notices.tell(
                session,
                to=ids,
                kind=KIND,
                key="campaign:2026:1",
                params={"day": date(2026, 12, 18)},
                link="/competencies/self",
            )
            session.commit()
            figures["tell_s"] = time.perf_counter() - started
            figures["told"] = told
            figures["queued"] = session.exec(select(func.count()).select_from(NoticeDelivery)).one()
            started = time.perf_counter()
            run = notices.deliver(session, settings)
            figures["deliver_s"] = time.perf_counter() - started
            figures["sent"] = run.sent
            figures["mails_per_s"] = run.sent / figures["deliver_s"]
            started = time.perf_counter()
            digests = notices.send_digests(session, settings)
            figures["digest_s"] = time.perf_counter() - started
            figures["digest_lines"] = digests.sent
            figures["rss_after_mib"] = _max_rss_mib()
            # A/B: batched (A) against one connection per mail (B), on `ab` fresh mails each.
            extra = _people(session, ab * 2, start=people)
            a_times, b_times = [], []
            for round_ in range(2):
                chunk = extra[round_ * ab : (round_ + 1) * ab]
                notices.tell(session, to=chunk, kind=KIND, key=f"ab:{round_}", params={})
                session.commit()
                started = time.perf_counter()
                assert notices.deliver(session, settings).sent == len(chunk)
                a_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                for n in range(ab):
                    mail.send(
                        settings,
                        to=f"b{n}@bench.example.org",
                        subject="Recordatorio",
                        body="Evalúe sus competencias antes del 18 de diciembre.",
                    )
                b_times.append(time.perf_counter() - started)
            figures["ab"] = (a_times, b_times)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--ab", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    results = []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="merito-bench-")))
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{folder / 'bench.db'}"
            results.append(_run("sqlite", url, args.people, args.ab, folder / "data-sqlite"))
        if args.backend in ("postgresql", "both"):
            from bench.pg import throwaway_cluster

            url = stack.enter_context(throwaway_cluster())
            results.append(_run("postgresql", url, args.people, args.ab, folder / "data-pg"))
    for f in results:
        a, b = f["ab"]
        print(f"## {f['backend']}: {f['people']:,} people")
        print(
            f"tell (notices + queued mail, commit): {f['tell_s']:.1f} s "
            f"({f['told']:,} told, {f['queued']:,} mails queued)"
        )
        print(
            f"deliver: {f['deliver_s']:.1f} s, {f['sent']:,} sent, "
            f"{f['mails_per_s']:.0f} mails/s; digests: {f['digest_s']:.1f} s "
            f"({f['digest_lines']:,} notices in digests)"
        )
        print(f"peak RSS: {f['rss_before_mib']:.0f} MiB before, {f['rss_after_mib']:.0f} MiB after")
        print(
            "A/B (s): "
            + " ".join(f"A {x:.2f} B {y:.2f}" for x, y in zip(a, b, strict=True))
            + f"; B/A = {statistics.mean(b) / statistics.mean(a):.2f}"
        )


if __name__ == "__main__":
    main()
