"""Case export benchmark: `python -m bench.case_export [--messages 100] [--mib 20] [--rounds 2]`.

Builds one case with `--messages` messages and `--mib` MiB of attachments (1 MiB text files,
five to a note, encrypted in the store as usual) and a redaction, then exports it, A B A B:

* A: `whistleblowing.service.export_file`, the product: attachments decrypted chunk by chunk
  into a ZIP in an unnamed temporary file;
* B: the same archive (JSON, PDF, signed manifest) with every attachment decrypted whole into
  memory and the ZIP assembled in memory (what the product avoids): only the handling of the
  files differs.

For each: wall time, and peak memory from tracemalloc (Python allocations, in a second run of
the same export, since tracing slows it down) and the process's peak RSS growth.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlmodel import Session

from backend import crypto
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade

PASSWORD = "benchmark-investigator-passphrase-2041"  # noqa: S105 - throwaway bench account
MIB = 1024 * 1024


def _settings(data_dir: Path) -> Settings:
    return Settings(
        environment="development",
        data_dir=data_dir,
        secret_key="bench-secret-key-0123456789-abcdefghijklmnop",  # noqa: S106
        fast_password_hashing=True,
    )


def _text_file(n: int) -> bytes:
    line = (crypto.new_hex(38) + "\n").encode()
    return (f"ledger {n}\n".encode() + line * (MIB // len(line) + 1))[:MIB]


def build_case(data_dir: Path, *, messages: int, mib: int):
    """Return (settings, engine, investigator id, reference) of a case of the given size."""
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role
    from whistleblowing import service as reporting
    from whistleblowing.models import ItemKind, RedactionKind

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
        private = reporting.unlock_holder_key(
            session, settings, user=investigator, password=PASSWORD
        )
        reporting.init_recovery(session, settings)
        channel = reporting.active_channels(session)[0]
        reporting.set_channel_recipients(
            session, actor=investigator, channel=channel, user_ids=[investigator.id]
        )
        session.commit()
        result = reporting.submit_report(
            session,
            settings,
            submission=reporting.Submission(
                channel_id=channel.id,
                what="Invoices of Hortensia Ybarra paid twice by the warehouse",
                others_know="unsure",
                good_faith=True,
                form_token=reporting.new_form_token(),
            ),
        )
        session.commit()
        access = reporting.open_case(
            session, user=investigator, holder_private=private, reference=result.report.reference
        )
        for n in range(messages):
            reporting.add_item(
                session,
                settings,
                access=access,
                kind=ItemKind.note,
                text=f"Note {n}: Hortensia Ybarra signed the receipt. " * 8,
                author=investigator,
            )
        for batch in range(0, mib, 5):
            files = [
                reporting.Upload(f"ledger-{i}.txt", _text_file(i))
                for i in range(batch, min(batch + 5, mib))
            ]
            reporting.add_item(
                session,
                settings,
                access=access,
                kind=ItemKind.note,
                text="Ledgers",
                author=investigator,
                files=files,
            )
            session.commit()
        reporting.add_redaction(
            session,
            settings,
            access=access,
            actor=investigator,
            kind=RedactionKind.text,
            reason="third-party",
            phrase="Hortensia Ybarra",
            today=result.report.submitted_on,
        )
        session.commit()
        return settings, engine, investigator.id, result.report.reference, private


def _export_streaming(session, settings, access, actor) -> int:
    from backend import clock
    from whistleblowing import service as reporting

    with reporting.export_file(
        session, settings, access=access, actor=actor, today=clock.today(settings)
    ) as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
    session.rollback()
    return size


def _export_in_memory(session, settings, access, actor) -> int:
    """The same export (JSON, PDF, manifest), but every attachment decrypted whole into
    memory and the ZIP assembled in memory: only the handling of files differs from A."""
    from unittest import mock

    from backend import clock
    from whistleblowing import service as reporting
    from whistleblowing.service import export

    def whole(settings, access, session, writer, path, uid):
        _view, data = reporting.read_attachment(session, settings, access=access, uid=uid)
        writer.add(path, data)

    out = io.BytesIO()
    with mock.patch.object(export, "_stream_attachment", whole):
        export.write_export(
            session, settings, access=access, actor=actor, today=clock.today(settings), out=out
        )
    session.rollback()
    return len(out.getvalue())


def _measure(kind: str, fn, session, settings, access, actor) -> dict:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    size = fn(session, settings, access, actor)
    elapsed = time.perf_counter() - start
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    tracemalloc.start()
    fn(session, settings, access, actor)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "kind": kind,
        "seconds": elapsed,
        "peak_mib": peak / MIB,
        "rss_growth_mib": rss_growth / 1024,
        "size_mib": size / MIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--mib", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from backend.auth.models import User
    from whistleblowing import service as reporting

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        settings, engine, actor_id, reference, private = build_case(
            Path(folder), messages=args.messages, mib=args.mib
        )
        print(f"case built in {time.perf_counter() - started:.1f} s: {reference}")
        rows = []
        with Session(engine) as session:
            actor = session.get(User, actor_id)
            access = reporting.open_case(
                session, user=actor, holder_private=private, reference=reference
            )
            for _round in range(args.rounds):
                rows.append(
                    _measure("A streaming", _export_streaming, session, settings, access, actor)
                )
                rows.append(
                    _measure("B in memory", _export_in_memory, session, settings, access, actor)
                )
        engine.dispose()
    print("| run | export | time | peak Python memory | peak RSS growth | ZIP size |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for n, row in enumerate(rows, start=1):
        print(
            f"| {n} | {row['kind']} | {row['seconds']:.2f} s | {row['peak_mib']:.1f} MiB | "
            f"{row['rss_growth_mib']:.1f} MiB | {row['size_mib']:.1f} MiB |"
        )
    a = [r for r in rows if r["kind"].startswith("A")]
    b = [r for r in rows if r["kind"].startswith("B")]
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
    print(
        f"\nA/B: time {mean(a, 'seconds') / mean(b, 'seconds'):.2f}×, "
        f"peak Python memory {mean(a, 'peak_mib') / mean(b, 'peak_mib'):.2f}×"
    )


if __name__ == "__main__":
    main()
