"""The privacy package's error."""

from __future__ import annotations

from backend.errors import DomainError


class PrivacyError(DomainError):
    """A privacy rule refused what was asked (translated message, field, status)."""
