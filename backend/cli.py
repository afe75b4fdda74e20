"""The `merito` command line."""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated

import typer
from sqlmodel import Session

from backend import plugins
from backend.config import get_settings

app = typer.Typer(
    help="Mérito: merit, competencies and a protected reporting channel.",
    no_args_is_help=True,
    add_completion=False,
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
notices_app = typer.Typer(help="Notices and their mail.", no_args_is_help=True)
app.add_typer(notices_app, name="notices")


def _engine():
    from backend.db import make_engine

    return make_engine(get_settings().database_url)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema and load reference data."""
    from backend import migrate as migrations

    settings = get_settings()
    migrations.upgrade(_engine())
    typer.echo(f"Database is up to date: {settings.database_url.split('@')[-1]}")


@app.command("new-migration")
def new_migration(
    message: Annotated[str, typer.Argument(help="What the migration does, in a few words.")],
) -> None:
    """Write a migration for what the models changed (against a database migrated to the
    newest revision), named YYYYMMDD_NNNN_what_it_does.py. Review it before committing."""
    from backend import migrate as migrations

    path = migrations.new_migration(_engine(), message)
    typer.echo(f"Wrote {path}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the application (the database must be migrated)."""
    import uvicorn

    from backend.migrate import NotMigratedError, ensure_migrated

    settings = get_settings()
    # Checked here too (each worker checks again): one clear line instead of a worker's
    # traceback.
    engine = _engine()
    try:
        ensure_migrated(engine)
    except NotMigratedError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    # The app reads its own settings: an address given here must be the one it puts in mail
    # links (Settings.public_base_url) when MERITO_PUBLIC_URL is not set.
    if host:
        os.environ["MERITO_HOST"] = host
    if port:
        os.environ["MERITO_PORT"] = str(port)
    get_settings.cache_clear()
    uvicorn.run(
        "backend.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        **SERVER_OPTIONS,
    )


# How `merito serve` runs uvicorn; the anonymity tests serve with exactly these options.
SERVER_OPTIONS = {
    "proxy_headers": True,
    # Request lines are not logged: they would carry client addresses and user agents, and
    # the reporting channel promises to keep neither.
    "access_log": False,
    # uvicorn's "Server" header and date add nothing and are one less fingerprint.
    "server_header": False,
    # A burst of Argon2id sign-ins (64 MiB each) can keep a worker's event loop busy for
    # seconds on a small machine. The default 5 s health check killed such workers as hung in
    # the load test (docs/load-testing.md).
    "timeout_worker_healthcheck": 30,
}


@app.command()
def demo(
    employees: Annotated[int, typer.Option(help="How many employees to create.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same organisation).")] = 1,
) -> None:
    """Fill an empty database with a synthetic organisation and demo accounts."""
    from backend import demo as demo_data
    from backend.migrate import NotMigratedError, ensure_migrated

    settings = get_settings()
    if settings.environment == "production":
        typer.echo("The demo organisation is never created in production.", err=True)
        raise typer.Exit(1)
    engine = _engine()
    try:
        ensure_migrated(engine)
    except NotMigratedError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1)
    started = time.perf_counter()
    try:
        summary = demo_data.generate(engine, employees=employees, seed=seed)
    except demo_data.DemoError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1)
    with Session(engine) as session:
        accounts = demo_data.create_demo_accounts(session, settings)
        session.commit()
    after = _after_demo(engine, settings)
    typer.echo(
        f"Created {summary.units} units ({summary.procurement_units} procurement units), "
        f"{summary.positions} positions and {summary.employees} employees "
        f"(seed {summary.seed}, as of {summary.as_of.isoformat()}) "
        f"in {time.perf_counter() - started:.1f} s."
    )
    for line in after:
        typer.echo(line)
    _print_accounts(accounts)


def _after_demo(engine, settings) -> list[str]:
    """Run the plugins' `demo.after` hooks (idempotent: the training catalogue, budgets, plans
    and inductions…) and return what they report."""
    return [line for line in plugins.call_hooks("demo.after", engine, settings) if line]


def _print_accounts(accounts) -> None:
    if not accounts:
        return
    typer.echo("\nDemo accounts (development only):")
    width = max(len(a.email) for a in accounts)
    for account in accounts:
        typer.echo(f"  {account.role:<19} {account.email:<{width}}  {account.password}")


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    employees: Annotated[int, typer.Option(help="Employees in the demo organisation.")] = 600,
) -> None:
    """Migrate, create the demo organisation on first run, and serve."""
    from backend import demo as demo_data
    from backend import migrate as migrations

    settings = get_settings()
    if settings.environment == "production":
        # `up` fills the database with invented people and published passwords.
        typer.echo(
            "`merito up` is for trying Mérito out. In production run `merito migrate` and "
            "`merito serve`.",
            err=True,
        )
        raise typer.Exit(1)
    engine = _engine()
    migrations.upgrade(engine)
    with Session(engine) as session:
        empty = not demo_data.has_organisation(session)
    if empty:
        typer.echo("Creating the demo organisation…")
        try:
            demo_data.generate(engine, employees=employees, seed=1)
        except demo_data.DemoError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1)
    with Session(engine) as session:
        accounts = demo_data.create_demo_accounts(session, settings)
        session.commit()
    for line in _after_demo(engine, settings):
        typer.echo(line)
    _print_accounts(accounts)
    # Development-only set-up the domains need before the first visit (the reporting
    # channel's recovery key).
    for line in plugins.call_hooks("up", engine, settings):
        if line:
            typer.echo(line)
    address = f"http://{host or settings.host}:{port or settings.port}/"
    typer.echo(f"\nMérito is running at {address}  (Ctrl+C to stop)\n")
    serve(host=host, port=port, workers=1)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[list[str], typer.Option(help="A role (repeatable).")] = [],  # noqa: B006
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Initial password (prompted when omitted).",
        ),
    ] = "",
) -> None:
    """Create an account (for the first administrator, say)."""
    from backend.auth import service as auth_service
    from backend.auth.permissions import Role

    settings = get_settings()
    try:
        roles = [Role(r) for r in role]
    except ValueError:
        typer.echo(f"Unknown role. Roles: {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2)
    engine = _engine()
    with Session(engine) as session:
        try:
            user = auth_service.create_user(
                session,
                settings,
                email=email,
                full_name=name,
                password=password,
                roles=roles,
                actor="cli",
            )
        except auth_service.AuthError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1)
        session.commit()
        typer.echo(f"Created account {user.email} ({', '.join(roles) or 'no roles'}).")


@app.command("import-roster")
def import_roster(
    file: Annotated[str, typer.Argument(help="The roster file: CSV or XLSX.")],
    mapping: Annotated[str, typer.Option(help="The name of a saved mapping.")] = "",
    mapping_file: Annotated[str, typer.Option(help="A mapping as a JSON file.")] = "",
    dry_run: Annotated[bool, typer.Option(help="Check only: write nothing.")] = False,
    accept_close_matches: Annotated[
        bool, typer.Option(help="Take units and positions matched by a close name.")
    ] = False,
    actor: Annotated[str, typer.Option(help="Who the audit log names.")] = "cli",
) -> None:
    """Import (or with --dry-run check) an employee roster, all or nothing, for unattended
    nightly imports. Exit status 1 when anything stops it; every problem is printed by line."""
    import json
    from pathlib import Path

    from backend.i18n import use_locale
    from backend.org import service as org

    settings = get_settings()
    raw = Path(file).read_bytes()
    document = Path(mapping_file).read_text(encoding="utf-8") if mapping_file else ""
    with use_locale(settings.default_locale), Session(_engine()) as session:
        session.info["settings"] = settings
        try:
            chosen = org.load_import_mapping(session, name=mapping, document=document)
        except org.OrgError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(2)
        check = org.unattended_import(
            session, raw, Path(file).name, mapping=chosen, dry_run=dry_run,
            accept_close_matches=accept_close_matches, actor=actor,
        )  # fmt: skip
        result = org.import_outcome(check, dry_run=dry_run)
        refused = org.import_refusal_message(check)
        if refused:
            session.rollback()
        elif check.imported:
            session.commit()
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    if refused:
        typer.echo(refused, err=True)
        raise typer.Exit(1)


@app.command()
def tick(
    force: Annotated[bool, typer.Option(help="Run every job now, due or not.")] = False,
) -> None:
    """Run the periodic jobs that are due (once across all workers and hosts)."""
    from backend import jobs

    done = jobs.run_due(_engine(), get_settings(), force=force)
    for name, summary in done.items():
        typer.echo(f"{name}: {summary}")
    if not done:
        typer.echo("Nothing was due.")


@app.command()
def backup(
    destination: Annotated[str | None, typer.Argument(help="Archive to write (.tar.gz).")] = None,
) -> None:
    """Back up the database and the data directory (attachments, keys) into one archive."""
    from pathlib import Path

    from backend import backup as backups

    settings = get_settings()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = (
        Path(destination)
        if destination
        else settings.data_dir.parent / "backups" / (f"merito-{stamp}.tar.gz")
    )
    try:
        result = backups.backup(settings, target)
    except backups.BackupError as err:
        typer.echo(f"Backup failed: {err}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"Backup written: {result.path} ({result.size:,} bytes, {len(result.members)} members)"
    )


@app.command()
def restore(
    source: Annotated[str, typer.Argument(help="Archive written by `merito backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the current data.")] = False,
) -> None:
    """Replace the database and data directory with a backup, then verify the audit chain."""
    from pathlib import Path

    from backend import audit
    from backend import backup as backups

    if not yes:
        typer.echo(
            "Restoring replaces the current database and data directory. "
            "Run again with --yes to proceed.",
            err=True,
        )
        raise typer.Exit(2)
    settings = get_settings()
    try:
        manifest = backups.restore(settings, Path(source))
    except backups.BackupError as err:
        typer.echo(f"Restore failed, nothing was changed: {err}", err=True)
        raise typer.Exit(1)
    with Session(_engine()) as session:
        outcome = audit.verify(session)
    typer.echo(
        f"Restored the backup of {manifest['created_at']}. "
        f"Audit chain: {'intact' if outcome.ok else 'BROKEN'} "
        f"({outcome.checked} entries)."
    )
    if not outcome.ok:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 if any entry was altered, removed or reordered."""
    from backend import audit

    with Session(_engine()) as session:
        outcome = audit.verify(session)
    if outcome.ok:
        typer.echo(f"Audit chain intact: {outcome.checked} entries verified.")
        return
    typer.echo(
        f"Audit chain BROKEN at entry {outcome.seq}: {outcome.problem} "
        f"({outcome.checked} entries verified before it).",
        err=True,
    )
    raise typer.Exit(1)


@notices_app.command("send")
def notices_send(
    digest: Annotated[bool, typer.Option(help="Also send the daily digests now.")] = False,
) -> None:
    """Send the notices' mail that is due now (beside the `notices.deliver` job: each mail is
    claimed by one sender, so running both never sends one twice)."""
    from backend import notices

    settings = get_settings()
    with Session(_engine()) as session:
        session.info["settings"] = settings
        typer.echo(f"Mail: {notices.deliver(session, settings).summary()}")
        if digest:
            typer.echo(f"Digests: {notices.send_digests(session, settings).summary()}")
        session.commit()


# The privacy package's commands (`merito privacy retention`), a core package of its own.
plugins.load_object("backend.privacy.cli:register")(app)

# Each domain's own commands (`Plugin.cli`: `register(app)`), after the core's.
for _plugin in plugins.installed():
    if _plugin.cli:
        plugins.load_object(_plugin.cli)(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
