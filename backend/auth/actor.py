"""`Actor`: who a service acts for.

Services type their `actor` argument with this protocol and never with the request's
`Principal` itself, so a job, the CLI or a test can act with anything that has a `user` and
answers `can(permission)`.
"""

from __future__ import annotations

from typing import Protocol

from backend.auth.models import User
from backend.auth.permissions import Permission

__all__ = ["Actor"]


class Actor(Protocol):
    """Who acts: the signed-in principal (`backend.auth.service.Principal`) or an equivalent."""

    user: User

    def can(self, permission: Permission) -> bool: ...
