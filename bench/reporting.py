"""Reporting channel benchmark: `python -m bench.reporting [--logins N] [--submissions N]`.

Measures, with the production Argon2id parameters (not the test ones):
* receipt login latency (lookup derivation + report-key derivation + session row), p50/p95;
* the cost of one receipt guess for an attacker (CPU time, and wall time as measured), and what
  it means for 120-bit receipts;
* report submissions per second with two worker processes (the machine has 2 cores);
* attachment encryption throughput (crypto.encrypt_stream, 64 KiB chunks) as a ratio of raw
  AES-256-GCM from `cryptography` over the same bytes, in the same run.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session

from backend import crypto
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade

PASSWORD = "benchmark-investigator-passphrase-2041"  # noqa: S105 - throwaway bench account


def _settings(data_dir: Path) -> Settings:
    return Settings(
        environment="development",
        data_dir=data_dir,
        secret_key="bench-secret-key-0123456789-abcdefghijklmnop",  # noqa: S106
        fast_password_hashing=False,
    )


def _prepare(data_dir: Path) -> tuple[Settings, int]:
    """Return settings and a channel id, with a recovery key and one investigator ready."""
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role
    from whistleblowing import service as reporting

    settings = _settings(data_dir)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with Session(engine) as session:
        investigator = auth_service.create_user(
            session,
            settings,
            email="investigator@bench.example",
            full_name="Bench Investigator",
            password=PASSWORD,
            roles=[Role.investigator],
            check_password=False,
        )
        reporting.unlock_holder_key(session, settings, user=investigator, password=PASSWORD)
        reporting.init_recovery(session, settings)
        channel = reporting.active_channels(session)[0]
        reporting.set_channel_recipients(
            session, actor=investigator, channel=channel, user_ids=[investigator.id]
        )
        session.commit()
        channel_id = channel.id
    engine.dispose()
    return settings, channel_id


def _submission(channel_id: int):
    from whistleblowing import service as reporting

    return reporting.Submission(
        channel_id=channel_id,
        what="Benchmark report: invoices paid twice " + secrets.token_hex(200),
        when="Last quarter",
        where="Central warehouse",
        who="A supplier",
        how_known="Saw the ledger",
        red_flags=["duplicate_invoices"],
        good_faith=True,
        form_token=secrets.token_urlsafe(24),
    )


def _submit_many(args: tuple[str, int, int]) -> int:
    data_dir, channel_id, count = args
    from whistleblowing import service as reporting

    settings = _settings(Path(data_dir))
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        for _ in range(count):
            reporting.submit_report(session, settings, submission=_submission(channel_id))
            session.commit()
    engine.dispose()
    return count


def bench_receipt_login(settings: Settings, channel_id: int, logins: int) -> dict:
    from whistleblowing import service as reporting

    engine = make_engine(settings.database_url)
    receipts = []
    with Session(engine) as session:
        for _ in range(5):
            result = reporting.submit_report(session, settings, submission=_submission(channel_id))
            session.commit()
            receipts.append(result.receipt)
        timings = []
        for i in range(logins):
            started = time.perf_counter()
            reporting.receipt_login(session, settings, receipt=receipts[i % len(receipts)])
            session.commit()
            timings.append(time.perf_counter() - started)
        # What a guess costs an attacker is CPU time: measured on this thread (libargon2 with
        # one lane computes in the calling thread), so a busy shared machine does not inflate
        # it the way it inflates wall time — which would overstate the protection.
        guesses, guesses_wall = [], []
        for _ in range(20):
            started, started_cpu = time.perf_counter(), time.thread_time()
            crypto.receipt_lookup(crypto.new_receipt(), b"s" * 16, params=crypto.RECEIPT_LOOKUP_KDF)
            guesses.append(time.thread_time() - started_cpu)
            guesses_wall.append(time.perf_counter() - started)
    engine.dispose()
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[max(0, int(round(0.95 * len(timings))) - 1)],
        "max": timings[-1],
        "guess": statistics.median(guesses),
        "guess_wall": statistics.median(guesses_wall),
    }


def bench_submissions(data_dir: Path, channel_id: int, total: int) -> float:
    per_worker = max(1, total // 2)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        # Warm both workers (imports, engine) so start-up is not counted.
        pool.map(_submit_many, [(str(data_dir), channel_id, 1)] * 2)
        started = time.perf_counter()
        done = sum(pool.map(_submit_many, [(str(data_dir), channel_id, per_worker)] * 2))
        elapsed = time.perf_counter() - started
    return done / elapsed


def bench_attachments(size_mb: int, rounds: int) -> dict:
    data = os.urandom(size_mb * 1024 * 1024)
    key = crypto.new_session_key()
    raw_times, stream_times, store_times = [], [], []
    aead = AESGCM(key)
    nonce = os.urandom(12)
    with tempfile.TemporaryDirectory() as store:
        for _ in range(rounds):
            started = time.perf_counter()
            aead.encrypt(nonce, data, b"aad")
            raw_times.append(time.perf_counter() - started)
            sink = io.BytesIO()
            started = time.perf_counter()
            crypto.encrypt_stream(key, io.BytesIO(data), sink, aad=b"aad")
            stream_times.append(time.perf_counter() - started)
            from whistleblowing import attachments

            uid = attachments.new_uid()
            started = time.perf_counter()
            attachments.store(Path(store), uid, key=key, data=data, aad=b"aad")
            store_times.append(time.perf_counter() - started)
    mb = len(data) / (1024 * 1024)
    raw = mb / min(raw_times)
    stream = mb / min(stream_times)
    stored = mb / min(store_times)
    return {"raw": raw, "stream": stream, "store": stored, "ratio": stream / raw, "mb": mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--submissions", type=int, default=60)
    parser.add_argument("--attachment-mb", type=int, default=50)
    args = parser.parse_args()
    print("Reporting channel benchmark")
    print(f"  cores: {os.cpu_count()}   cryptography AES-GCM, Argon2id (production parameters)")
    for name in ("RECEIPT_LOOKUP_KDF", "RECEIPT_KEY_KDF", "PASSWORD_KDF"):
        p = getattr(crypto, name)
        print(f"  {name:<19} {p.memory_kib // 1024} MiB, t={p.iterations}, p={p.lanes}")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings, channel_id = _prepare(data_dir)
        login = bench_receipt_login(settings, channel_id, args.logins)
        print(
            f"\nReceipt login ({args.logins} logins): p50 {login['p50'] * 1000:.0f} ms, "
            f"p95 {login['p95'] * 1000:.0f} ms, max {login['max'] * 1000:.0f} ms"
        )
        guess = login["guess"]
        bits = crypto.RECEIPT_BITS
        # Expected guesses to hit any one of `live` receipts: 2**bits / (2 * live).
        live, cores = 100_000, 1_000_000
        years = (2**bits / (2 * live)) * guess / cores / (365.25 * 86400)
        print(
            f"One receipt guess costs {guess * 1000:.0f} ms of one core's CPU time "
            f"({login['guess_wall'] * 1000:.0f} ms wall time here) and "
            f"{crypto.RECEIPT_LOOKUP_KDF.memory_kib // 1024} MiB of memory. Receipts carry "
            f"{bits} bits: with {cores:,} cores against {live:,} live receipts, finding any one "
            f"takes about {years:.1e} years (offline, with a stolen database)."
        )
        rate = bench_submissions(data_dir, channel_id, args.submissions)
        print(f"\nSubmissions: {rate:.1f} reports/s with 2 worker processes (SQLite, WAL)")
    att = bench_attachments(args.attachment_mb, rounds=3)
    print(
        f"\nAttachment encryption over {att['mb']:.0f} MiB (best of 3):\n"
        f"  raw AES-256-GCM (one call):            {att['raw']:.0f} MiB/s\n"
        f"  crypto.encrypt_stream (64 KiB chunks): {att['stream']:.0f} MiB/s "
        f"= {att['ratio'] * 100:.0f}% of raw (goal >= 50%)\n"
        f"  attachments.store (to disk, fsync):    {att['store']:.0f} MiB/s"
    )


if __name__ == "__main__":
    main()
