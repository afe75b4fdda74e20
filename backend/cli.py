"""The `merito` command line."""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated

import typer
from sqlmodel import Session, select

from backend.config import get_settings

app = typer.Typer(
    help="Mérito: merit, competencies and a protected reporting channel.",
    no_args_is_help=True,
    add_completion=False,
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
recovery_app = typer.Typer(
    help="The reporting channel's recovery key (kept offline by the integrity committee).",
    no_args_is_help=True,
)
app.add_typer(recovery_app, name="recovery")


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
    training = _training_demo(engine, settings)
    typer.echo(
        f"Created {summary.units} units ({summary.procurement_units} procurement units), "
        f"{summary.positions} positions and {summary.employees} employees "
        f"(seed {summary.seed}, as of {summary.as_of.isoformat()}) "
        f"in {time.perf_counter() - started:.1f} s."
    )
    typer.echo(training)
    _print_accounts(accounts)


def _training_demo(engine, settings) -> str:
    """Load the training catalogue, budgets, plans and inductions (idempotent)."""
    from competency_framework.training import demo as training_demo

    done = training_demo.seed(engine, settings)
    return (
        f"Training: {done.activities} catalogue activities added, {done.budgets} unit budgets, "
        f"{done.plans} plans proposed ({done.items} activities), {done.inductions} inductions."
    )


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
    typer.echo(_training_demo(engine, settings))
    _print_accounts(accounts)
    _ensure_recovery_for_development()
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


def _ensure_recovery_for_development() -> None:
    """On a development `up`, create the recovery key if missing (a real install uses init)."""
    from whistleblowing import service as reporting

    settings = get_settings()
    if settings.environment == "production":
        return
    with Session(_engine()) as session:
        if reporting.recovery_ready(session):
            return
        passphrase = reporting.init_recovery(session, settings)
        session.commit()
    typer.echo(
        "\nReporting channel recovery passphrase (development only; keep it to test recovery):"
        f"\n  {passphrase}\n"
    )


@recovery_app.command("init")
def recovery_init() -> None:
    """Create the recovery key pair and print its passphrase ONCE."""
    from whistleblowing import service as reporting

    settings = get_settings()
    with Session(_engine()) as session:
        try:
            passphrase = reporting.init_recovery(session, settings)
        except reporting.ReportingError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1)
        fingerprint = _recovery_fingerprint(session)
        session.commit()
    typer.echo(
        "The recovery key of the reporting channel was created.\n\n"
        f"  Passphrase:  {passphrase}\n  Fingerprint: {fingerprint}\n\n"
        "Write the passphrase on paper now and hand it to the integrity committee, to keep\n"
        "offline (for example in a sealed envelope in a safe). It is not stored anywhere and\n"
        "will never be shown again. Without it, reports whose investigators all lost their\n"
        "passwords cannot be read by anyone."
    )


def _recovery_fingerprint(session) -> str:
    from backend import crypto
    from whistleblowing.models import ReportingInstallation

    row = session.get(ReportingInstallation, 1)
    return crypto.fingerprint(row.recovery_public) if row and row.recovery_public else ""


@recovery_app.command("status")
def recovery_status() -> None:
    """Say whether the recovery key exists, and its fingerprint."""
    from whistleblowing.models import ReportingInstallation

    with Session(_engine()) as session:
        row = session.get(ReportingInstallation, 1)
        if row is None or row.recovery_public is None:
            typer.echo("No recovery key. Create it with `merito recovery init`.", err=True)
            raise typer.Exit(1)
        typer.echo(
            f"Recovery key created on {row.recovery_created_on}; "
            f"fingerprint {_recovery_fingerprint(session)}."
        )


@recovery_app.command("restore")
def recovery_restore(
    to: Annotated[str, typer.Option("--to", help="Email of the investigator to restore to.")],
    report: Annotated[
        list[str], typer.Option(help="Only this report reference (repeatable).")
    ] = [],  # noqa: B006
    identities: Annotated[
        bool, typer.Option(help="Also restore reporters' identities (protection officer).")
    ] = False,
    passphrase: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="The recovery passphrase.")
    ] = "",
) -> None:
    """Give an investigator access to reports through the recovery key (audited).

    For when every holder of a report lost their password. The investigator must have signed
    in once (with two-step verification), so that they have a key pair.
    """
    from backend.auth.models import User
    from whistleblowing import service as reporting

    with Session(_engine()) as session:
        user = session.exec(select(User).where(User.email == to.strip().lower())).first()
        if user is None:
            typer.echo(f"No account with the email {to}.", err=True)
            raise typer.Exit(1)
        try:
            summary = reporting.restore_access(
                session,
                passphrase=passphrase,
                to_user=user,
                references=report,
                include_identities=identities,
            )
        except reporting.ReportingError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1)
        email = user.email
        session.commit()
    typer.echo(
        f"Restored {summary.reports} report(s) and {summary.identities} identity key(s) to "
        f"{email}; {summary.already} already accessible; {summary.withheld} withheld (this "
        "person may not hold them: restore them to someone else)."
    )


@app.command("verify-certificate")
def verify_certificate(
    file: Annotated[typer.FileBinaryRead, typer.Argument(help="The certificate (JSON) file.")],
    fingerprint: Annotated[
        str,
        typer.Option(help="The signing key fingerprint the reporting channel publishes."),
    ] = "",
    lang: Annotated[
        str | None,
        typer.Option(help="Language of the answer: es or en (default: MERITO_DEFAULT_LOCALE)."),
    ] = None,
) -> None:
    """Check a certificate of reporting or a burden-of-proof pack offline (no database or
    network needed), in Spanish or English: reporters are sent here by the Spanish pages."""
    from backend import i18n
    from whistleblowing import verification

    locale = lang or _default_locale()
    if locale not in i18n.LOCALES:
        typer.echo(f"--lang must be one of: {', '.join(i18n.LOCALES)}.", err=True)
        raise typer.Exit(2)
    with i18n.use_locale(locale):
        check = verification.check_signed_file(file.read(), expected_fingerprint=fingerprint)
        if not check.valid:
            typer.echo(check.headline, err=True)
            raise typer.Exit(1)
        typer.echo(check.headline)
        for label, value in check.facts:
            typer.echo(f"  {label}: {value}")
        if not fingerprint:
            typer.echo(verification.compare_fingerprint_advice())


def _default_locale() -> str:
    """Return the configured default locale, or Spanish where no settings can be read (the
    check needs no database, so it must not need a complete configuration either)."""
    from pydantic import ValidationError

    from backend.i18n import DEFAULT_LOCALE

    try:
        return get_settings().default_locale
    except ValidationError:
        return DEFAULT_LOCALE


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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
