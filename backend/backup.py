"""`merito backup` and `merito restore`: the database and the data directory, together.

An archive is a .tar.gz holding:
- `manifest.json`: format version, schema heads, time, and the SHA-256 of every member;
- `database.sqlite` (SQLite's online backup API — consistent while the app runs) or
  `database.pgdump` (`pg_dump --format=custom`);
- `data/`: the data directory (secret key, encrypted attachment store).

Restore checks every checksum before touching anything, then replaces the database and the
data directory. It ends every session the archive holds (staff sign-ins and reporters'
receipt sessions: their rows are not restored), so a cookie kept from before the backup opens
nothing on the restored server; people sign in again. Nothing in an archive is readable report
content: reports and attachments are encrypted and their keys are wrapped for people, not
stored in the clear.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from backend import clock, crypto
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import database_heads

FORMAT = 1
# Tables of signed-in browsers (backend.auth's and the reporting channel's), by name: the core
# imports no domain's models. A restore leaves them empty.
SESSION_TABLES = ("auth_session", "reporter_session")


class BackupError(RuntimeError):
    """The backup or restore could not be completed; nothing was changed by a restore."""


@dataclass
class BackupResult:
    path: Path
    size: int
    members: dict[str, str]


def _sha256(path: Path) -> str:
    digest = crypto.new_digest()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_tool(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return found


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """Return a libpq connection URL without the password, and an env carrying it."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _data_files(data_dir: Path, exclude: set[Path]) -> list[Path]:
    if not data_dir.exists():
        return []
    return sorted(
        p
        for p in data_dir.rglob("*")
        if p.is_file() and p.resolve() not in exclude and not p.name.endswith(("-wal", "-shm"))
    )


def backup(settings: Settings, destination: Path) -> BackupResult:
    """Write a consistent archive of the database and data directory to `destination`."""
    engine = make_engine(settings.database_url)
    heads = sorted(database_heads(engine))
    members: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="merito-backup-") as tmp:
        staging = Path(tmp)
        exclude: set[Path] = set()
        if settings.is_sqlite:
            source_path = Path(engine.url.database or "").resolve()
            exclude |= {source_path, Path(f"{source_path}-wal"), Path(f"{source_path}-shm")}
            db_file = staging / "database.sqlite"
            source = sqlite3.connect(str(source_path))
            target = sqlite3.connect(str(db_file))
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            db_file = staging / "database.pgdump"
            url, env = _libpq(settings.database_url)
            run = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                [_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={db_file}", url],
                env=env,
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                raise BackupError(f"pg_dump failed: {run.stderr.strip()}")
        engine.dispose()
        members[db_file.name] = _sha256(db_file)
        data_dir = settings.data_dir.resolve()
        files = _data_files(data_dir, exclude)
        for path in files:
            members["data/" + path.relative_to(data_dir).as_posix()] = _sha256(path)
        manifest = {
            "format": FORMAT,
            "created_at": clock.now().isoformat(),
            "database": "sqlite" if settings.is_sqlite else "postgresql",
            "schema_heads": heads,
            "members": members,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(staging / "manifest.json", arcname="manifest.json")
            archive.add(db_file, arcname=db_file.name)
            for path in files:
                archive.add(path, arcname="data/" + path.relative_to(data_dir).as_posix())
        # Only a complete archive gets the final name.
        partial.replace(destination)
    return BackupResult(destination, destination.stat().st_size, members)


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in archive.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"unsafe archive member: {member.name}")
        members.append(member)
    return members


def _end_sessions_in_sqlite(path: Path) -> None:
    """Delete every session row from a staged SQLite copy, before it takes the live name."""
    connection = sqlite3.connect(str(path))
    try:
        present = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        with connection:
            for table in SESSION_TABLES:
                if table in present:
                    connection.execute(f'DELETE FROM "{table}"')  # noqa: S608 - fixed names
    finally:
        connection.close()


def _without_sessions(dump: Path, listing: Path) -> Path:
    """Write pg_restore's table of contents of `dump` without the session tables' rows.

    The tables themselves are restored, empty, in the same single transaction as the rest.
    """
    run = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [_pg_tool("pg_restore"), "--list", str(dump)], capture_output=True, text=True
    )
    if run.returncode != 0:
        raise BackupError(f"pg_restore could not read the dump: {run.stderr.strip()}")
    # Entries read "<id>; <oid> <oid> TABLE DATA <schema> <table> <owner>".
    session_rows = re.compile(r"^\d+; \d+ \d+ TABLE DATA \S+ (" + "|".join(SESSION_TABLES) + r") ")
    kept = [line for line in run.stdout.splitlines() if not session_rows.match(line)]
    listing.write_text("\n".join(kept) + "\n")
    return listing


def restore(settings: Settings, source: Path) -> dict:
    """Replace the database and data directory with an archive's; return its manifest."""
    if not source.exists():
        raise BackupError(f"no such archive: {source}")
    with tempfile.TemporaryDirectory(prefix="merito-restore-") as tmp:
        staging = Path(tmp)
        try:
            with tarfile.open(source, "r:gz") as archive:
                archive.extractall(staging, members=_safe_members(archive))  # noqa: S202
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"the archive cannot be read: {exc}") from exc
        manifest_path = staging / "manifest.json"
        if not manifest_path.exists():
            raise BackupError("the archive has no manifest")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unknown archive format {manifest.get('format')}")
        for name, digest in manifest["members"].items():
            path = staging / name
            if not path.exists() or _sha256(path) != digest:
                raise BackupError(f"the archive is damaged: {name} does not match its checksum")
        want = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["database"] != want:
            raise BackupError(
                f"this archive holds a {manifest['database']} database; the configured "
                f"database is {want}"
            )
        if want == "sqlite":
            target = Path(make_url(settings.database_url).database or "").resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            incoming = target.with_name(target.name + ".restoring")
            shutil.copyfile(staging / "database.sqlite", incoming)
            _end_sessions_in_sqlite(incoming)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            incoming.replace(target)
        else:
            url, env = _libpq(settings.database_url)
            contents = _without_sessions(staging / "database.pgdump", staging / "restore.list")
            run = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                [
                    _pg_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    f"--use-list={contents}",
                    f"--dbname={url}",
                    str(staging / "database.pgdump"),
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                raise BackupError(f"pg_restore failed: {run.stderr.strip()}")
        data_dir = settings.data_dir.resolve()
        restored_data = staging / "data"
        keep = (
            {Path(make_url(settings.database_url).database or "").resolve()}
            if want == "sqlite"
            else set()
        )
        for path in _data_files(data_dir, keep):
            path.unlink()
        if restored_data.exists():
            for path in sorted(restored_data.rglob("*")):
                if path.is_file():
                    target_path = data_dir / path.relative_to(restored_data)
                    target_path.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target_path)
    return manifest
