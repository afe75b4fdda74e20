"""Settings, read from the environment (prefix MERITO_) and a .env file."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_SECRETS = {"", "changeme", "change-me", "secret", "development", "merito", "password"}
MIN_SECRET_LENGTH = 32


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
    # Lower Argon2 costs make the test-suite fast; never use outside tests.
    fast_password_hashing: bool = False
    # Each worker runs due periodic jobs (one worker wins each run; see backend/jobs.py).
    scheduler: bool = True
    scheduler_poll_seconds: int = Field(default=60, ge=1)
    # Each worker computes the organisation-wide reports once at start (backend/warmup.py).
    warm_caches: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    # Reporting channel retention (docs/reporting.md): months a closed case is kept, by outcome
    # (JSON, overrides whistleblowing.cases.DEFAULT_RETENTION_MONTHS), and months after which a
    # closed case's reporter, inactive, can no longer open it with the receipt.
    case_retention_months: dict[str, int] = Field(default_factory=dict)
    reporter_access_months: int = Field(default=12, ge=1)
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
    # The address people open Mérito at (e.g. https://merito.example.org), for links in mail
    # sent by jobs, which have no request to take it from. Without it, such mail has no link.
    public_url: str = ""
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

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
                value = secrets.token_urlsafe(48)
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
