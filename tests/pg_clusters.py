"""A PostgreSQL cluster of a test's own, with durable settings, that can be crashed and restarted.

The suite's shared cluster (tests/conftest.py) runs with fsync, synchronous commit and full
page writes off, for speed: it cannot show what survives a crash of the database. The drills
(tests/integration/test_crash_drill.py, test_backup.py) start one of these instead, as an
operator's server runs: fsync=on, synchronous_commit=on, full_page_writes=on. Run as root (as on
the project's machines), PostgreSQL refuses to start, so the cluster is created and run as the
`postgres` user through runuser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.conftest import _pg_bin, free_port, missing

# Set explicitly, so that no packaged default or configuration file can weaken them.
DURABLE = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"


class DurableCluster:
    """A fresh cluster in a temporary directory: start, crash (kill -9), restart, remove."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            missing("PostgreSQL binaries (initdb, pg_ctl) not found")
        self.root = Path(tempfile.mkdtemp(prefix="merito-durable-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "sock"
        self.sockets.mkdir()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
            os.chmod(self.root, 0o700)
        self.port = free_port()
        # Without --no-sync: the new cluster's files are on disk before it starts.
        self._run(
            self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        run = subprocess.run([*self.prefix, *command], capture_output=True, text=True)
        assert run.returncode == 0, f"{' '.join(command)} failed: {run.stdout}{run.stderr}"
        return run

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> DurableCluster:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            f"-c max_connections=100 {DURABLE}"
        )
        self._run(
            self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
            "-w", "-t", "120", "start",
        )  # fmt: skip
        return self

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def setting(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url("postgres"))
        with engine.connect() as conn:
            value = conn.execute(text(f"SHOW {name}")).scalar_one()
        engine.dispose()
        return value

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def crash(self) -> None:
        """kill -9 the postmaster and every process it started, as a machine losing power would.

        Nothing is shut down: no checkpoint, no flushing of shared buffers. What PostgreSQL
        promised as committed must come back from the write-ahead log on the next start. (The
        operating system's page cache survives a kill, so this proves PostgreSQL's part — the
        log written and fsynced before a commit is acknowledged, crash recovery — not the
        disk's honesty about its own cache.)
        """
        postmaster = self.postmaster_pid()
        children = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _parent_of(p) == postmaster
        ]
        for pid in [postmaster, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in [postmaster, *children]):
            time.sleep(0.05)

    def restart(self) -> None:
        """Start again on the same data directory: PostgreSQL replays its log first."""
        self.start()

    def remove(self) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""


def _parent_of(proc: Path) -> int | None:
    try:
        stat = (proc / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; the parent follows it.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    """Return whether `pid` still exists, a zombie included (PostgreSQL's lock file check
    counts a zombie postmaster as running, so a restart waits until it is reaped)."""
    return Path(f"/proc/{pid}").exists()
