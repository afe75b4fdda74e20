"""Settings, read from the environment (prefix MERITO_) and a .env file."""

from __future__ import annotations

import os
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend import crypto
from backend.emails import InvalidEmail, normalise_email

WEAK_SECRETS = {"", "changeme", "change-me", "secret", "development", "merito", "password"}
MIN_SECRET_LENGTH = 32
# A request's turn on SQLite (`Settings.request_turn_ms`, backend/turns.py): longer than
# the daily pages take (5-15 ms), short enough that nobody waits long behind an export.
SQLITE_REQUEST_TURN_MS = 100


class Settings(BaseSettings):
    """Everything an operator can configure. See docs/deployment.md."""

    model_config = SettingsConfigDict(env_prefix="MERITO_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: SecretStr | None = None
    time_zone: str = "America/Mexico_City"
    default_locale: Literal["es", "en"] = "es"
    # Cookies get the Secure flag; set when the app is served over HTTPS (behind a TLS proxy).
    https: bool = False
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Failed sign-ins from unknown browsers, all accounts together, per lockout window: what
    # password spraying may try before only browsers that signed in before are let through.
    login_global_max_failures: int = Field(default=200, ge=1)
    # Lower Argon2 costs make the test-suite fast; never use outside tests.
    fast_password_hashing: bool = False
    # Each worker runs due periodic jobs (one worker wins each run; see backend/jobs.py).
    scheduler: bool = True
    scheduler_poll_seconds: int = Field(default=60, ge=1)
    # Each worker computes the organisation-wide reports once at start (backend/warmup.py).
    warm_caches: bool = True
    # Worker threads per process that run routes (and so touch the database) at once; more
    # requests queue for a thread. Threads handing the GIL back and forth around every small
    # query cost CPU: on 2 cores, 2 threads served the most pages at 20 connections on both
    # databases, 4 and 8 fewer, 40 fewer than one connection did (bench/RESULTS.md, "Pages
    # against /healthz"). Two, not one, so that one slow request (an export) does not hold up
    # every other. The connection pool is sized to match (backend/app.py).
    request_threads: int = Field(default=2, ge=1, le=200)
    # Requests take turns at the door, one at a time; one that has run this many milliseconds
    # lets the next one start beside it (backend/turns.py). 0: no turns, only the threads.
    # Unset: 100 on SQLite, whose queries wait for nothing outside the process; none on
    # PostgreSQL, where a request waiting for the server leaves the processor to another.
    request_turn_ms: int | None = Field(default=None, ge=0, le=60_000)
    host: str = "127.0.0.1"
    port: int = 8000
    # Reporting channel retention (docs/reporting.md): months a closed case is kept, by outcome
    # (JSON, overrides whistleblowing.service.retention.DEFAULT_RETENTION_MONTHS), and months
    # after which a closed case's reporter, inactive, can no longer open it with the receipt.
    case_retention_months: dict[str, int] = Field(default_factory=dict)
    reporter_access_months: int = Field(default=12, ge=1)
    # New reports through the public form, all together, per hour: beyond it the form asks a
    # simple question before accepting more, and reports accepted meanwhile start their legal
    # clocks only when an investigator confirms them (docs/reporting.md, "Floods").
    report_submissions_per_hour: int = Field(default=30, ge=1)
    # Months a closed retaliation complaint is kept after its monitoring ends.
    complaint_retention_months: int = Field(default=60, ge=1)
    # Outgoing mail (backend/mail.py). Without a host, development and test write each message
    # as an .eml file under <data_dir>/outbox instead; production refuses to send.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    smtp_from: str = "Mérito <no-reply@localhost>"
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # The address people open Mérito at (e.g. https://merito.example.org). Every link in mail
    # is built on it, never on the request's Host header, which the sender controls. Without
    # it, development and test use http://MERITO_HOST:MERITO_PORT (http://127.0.0.1:8000 by
    # default); production refuses to send mail with a link (backend/mail.py `link`).
    public_url: str = ""
    # The organisation's staff mail domain(s), comma-separated (e.g. "institute.gob.mx"):
    # addresses there, and at their subdomains, cannot register as external candidates.
    staff_email_domain: str = ""
    # Vacancy competitions (assessments/vacancies), in working days (weekends and Mexican
    # federal rest days skipped).
    vacancy_min_posting_days: int = Field(default=10, ge=1)
    vacancy_amendment_min_days: int = Field(default=5, ge=1)
    vacancy_review_days: int = Field(default=3, ge=1)
    vacancy_appeal_days: int = Field(default=5, ge=1)
    # Request bodies (backend/request_limits.py): multipart forms, the only ones carrying
    # files, may send this much (a report's five 50 MB attachments and its text)...
    max_request_bytes: int = Field(default=260 * 1024 * 1024, ge=1024)
    # ...and every other body (urlencoded forms, JSON) this much.
    max_request_bytes_without_files: int = Field(default=2 * 1024 * 1024, ge=1024)

    _secret: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'merito.db').as_posix()}"
        return self

    @field_validator("smtp_from")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        name, address = parseaddr(value)
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("the sender must be on one line, e.g. Mérito <no-reply@example.org>")
        try:
            normalise_email(address, local_domains=True)
        except InvalidEmail:
            raise ValueError(
                "give the sender as an address, e.g. Mérito <no-reply@example.org>"
            ) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or any(ch.isspace() or not ch.isprintable() for ch in value)
        ):
            raise ValueError(
                "give the address Mérito is opened at, e.g. https://merito.example.org"
            )
        return value.rstrip("/")

    @field_validator("staff_email_domain")
    @classmethod
    def _check_staff_domains(cls, value: str) -> str:
        domains = [d.strip() for d in value.split(",") if d.strip()]
        for domain in domains:
            try:
                normalise_email(f"staff@{domain}")
            except InvalidEmail:
                raise ValueError(
                    f"{domain!r} is not a mail domain (e.g. institute.gob.mx)"
                ) from None
        return ",".join(d.lower() for d in domains)

    @property
    def staff_domains(self) -> tuple[str, ...]:
        """The staff mail domains, lower case (empty when the settings name none)."""
        return tuple(d.strip().lower() for d in self.staff_email_domain.split(",") if d.strip())

    def is_staff_address(self, address: str) -> bool:
        """Return whether `address` is at a staff mail domain or one of its subdomains."""
        domain = address.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.staff_domains)

    def public_base_url(self) -> str | None:
        """Return the base of links in mail, or None in production without MERITO_PUBLIC_URL."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.environment == "production":
            return None
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def request_turn_seconds(self) -> float:
        """How long a request runs alone before the next may start; 0: requests take no turns."""
        if self.request_turn_ms is not None:
            return self.request_turn_ms / 1000
        return SQLITE_REQUEST_TURN_MS / 1000 if self.is_sqlite else 0.0

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def outbox_dir(self) -> Path:
        """Where mail goes when no SMTP host is configured (development and tests)."""
        return self.data_dir / "outbox"

    def resolved_secret_key(self) -> str:
        """Return the secret key, generating one into the data directory on first run."""
        if self._secret is not None:
            return self._secret
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
        else:
            path = self.data_dir / "secret_key"
            if path.exists():
                value = path.read_text().strip()
            else:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                value = crypto.new_token(48)
                # Created with owner-only permissions so other local users cannot read it.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(value)
        if self.environment != "development" and (
            value.lower() in WEAK_SECRETS or len(value) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                f"MERITO_SECRET_KEY is too weak for {self.environment}: use at least "
                f"{MIN_SECRET_LENGTH} random characters (or let Mérito generate one)."
            )
        self._secret = value
        return value


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
