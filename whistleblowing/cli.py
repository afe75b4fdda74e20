"""The reporting channel's `merito` commands: its recovery key and the offline check of a
signed certificate. The core adds them to the command line through the plugin (`cli`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlmodel import Session, select

from backend import crypto, i18n, jobs
from backend.auth.models import User
from backend.config import Settings, get_settings
from backend.db import make_engine
from backend.i18n import DEFAULT_LOCALE
from whistleblowing import service as reporting
from whistleblowing import verification
from whistleblowing.models import ReportingInstallation

recovery_app = typer.Typer(
    help="The reporting channel's recovery key (kept offline by the integrity committee).",
    no_args_is_help=True,
)
reporting_app = typer.Typer(help="The reporting channel's scheduled work.", no_args_is_help=True)
# Top-level commands, added to the root `merito` app by `register`.
_commands = typer.Typer()

# The channel's jobs (whistleblowing/jobs.py), by the name an operator types.
JOBS = {
    "deadlines": "case_deadlines",
    "sessions": "reporter_sessions",
    "retention": "case_retention",
    "monitoring": "complaint_monitoring",
}


def register(app: typer.Typer) -> None:
    """Add `merito recovery …`, `merito reporting run …`, `merito verify-certificate`,
    `merito verify-export`, `merito referral-keygen` and `merito decrypt-referral`."""
    app.add_typer(recovery_app, name="recovery")
    app.add_typer(reporting_app, name="reporting")
    for command in _commands.registered_commands:
        app.registered_commands.append(command)


@reporting_app.command("run")
def run_job(
    job: Annotated[
        str,
        typer.Argument(help="deadlines, sessions, retention or monitoring."),
    ],
) -> None:
    """Run one of the channel's scheduled jobs now (deadline reminders and escalation, ending
    reporter sessions, retention, retaliation monitoring), under the same lease as the
    scheduler, so it never runs twice at once."""
    if job not in JOBS:
        typer.echo(f"Unknown job {job!r}: choose one of {', '.join(JOBS)}.", err=True)
        raise typer.Exit(2)
    summary = jobs.run_now(_engine(), get_settings(), JOBS[job])
    if summary is None:
        typer.echo(f"{job}: another process is running it right now.", err=True)
        raise typer.Exit(1)
    typer.echo(f"{job}: {summary}")


def _engine():
    return make_engine(get_settings().database_url)


def ensure_recovery_for_development(engine, settings: Settings) -> str | None:
    """On a development `merito up` (the `up` hook), create the recovery key if it is missing
    and return its passphrase for the operator (a real installation uses `recovery init`)."""
    if settings.environment == "production":
        return None
    with Session(engine) as session:
        if reporting.recovery_ready(session):
            return None
        passphrase = reporting.init_recovery(session, settings)
        session.commit()
    return (
        "\nReporting channel recovery passphrase (development only; keep it to test recovery):"
        f"\n  {passphrase}\n"
    )


@recovery_app.command("init")
def recovery_init() -> None:
    """Create the recovery key pair and print its passphrase ONCE."""

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

    row = session.get(ReportingInstallation, 1)
    return crypto.fingerprint(row.recovery_public) if row and row.recovery_public else ""


@recovery_app.command("status")
def recovery_status() -> None:
    """Say whether the recovery key exists, and its fingerprint."""

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


@_commands.command("verify-certificate")
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
    try:
        return get_settings().default_locale
    except ValidationError:
        return DEFAULT_LOCALE


@_commands.command("verify-export")
def verify_export(
    file: Annotated[typer.FileBinaryRead, typer.Argument(help="The case export (.zip).")],
    fingerprint: Annotated[
        str,
        typer.Option(help="The signing key fingerprint the reporting channel publishes."),
    ] = "",
    lang: Annotated[
        str | None,
        typer.Option(help="Language of the answer: es or en (default: MERITO_DEFAULT_LOCALE)."),
    ] = None,
) -> None:
    """Check a signed case export offline (no database or network needed): every file is as
    it was signed, nothing was added or removed, and the ZIP itself was not altered. Exit
    status 0 when it holds, 1 when it does not."""

    locale = lang or _default_locale()
    if locale not in i18n.LOCALES:
        typer.echo(f"--lang must be one of: {', '.join(i18n.LOCALES)}.", err=True)
        raise typer.Exit(2)
    with i18n.use_locale(locale):
        check = verification.check_export(file, expected_fingerprint=fingerprint)
        if not check.valid:
            typer.echo(check.headline, err=True)
            raise typer.Exit(1)
        typer.echo(check.headline)
        for label, value in check.facts:
            typer.echo(f"  {label}: {value}")
        if not fingerprint:
            typer.echo(verification.compare_fingerprint_advice())


@_commands.command("referral-keygen")
def referral_keygen(
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the private key (must not exist).")
    ],
) -> None:
    """Make a key pair for a competent authority: the private key goes to --out (keep it
    safe: it opens every case referred to you), the public key (age1…) is printed, for the
    institute's administrator to register."""

    recipient, secret = reporting.new_authority_key()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        typer.echo(f"{out} already exists: choose another file.", err=True)
        raise typer.Exit(1)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"# public key: {recipient}\n{secret}\n")
    typer.echo(f"Public key (give it to the institute): {recipient}\nPrivate key written to {out}.")


@_commands.command("decrypt-referral")
def decrypt_referral(
    file: Annotated[Path, typer.Argument(help="The referral file (.merito-referral).")],
    key: Annotated[Path, typer.Option("--key", help="The authority's private key file.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the export (default: FILE.zip).")
    ] = None,
) -> None:
    """Open a case referred to your authority with its private key: writes the signed export
    (.zip), which `merito verify-export` then checks. Exit status 1 if the key does not open
    it or the file was altered (nothing is left behind then)."""

    try:
        secret = reporting.parse_secret_key(key.read_text())
    except (OSError, reporting.ReportingError) as err:
        typer.echo(f"Cannot read the key: {err}", err=True)
        raise typer.Exit(1)
    target = out or file.with_suffix(".zip")
    partial = target.with_name(f".{target.name}.part")
    try:
        with file.open("rb") as source, partial.open("wb") as sink:
            header = reporting.decrypt_referral(source, sink, secret_key=secret)
        partial.replace(target)
    except (OSError, reporting.ReferralNotOpened) as err:
        partial.unlink(missing_ok=True)
        typer.echo(f"Not opened: {err}.", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"Case {header['reference']} written to {target}. Check it: merito verify-export {target}"
    )
