"""Accounts, roles and permissions, sessions and the second factor.

`Actor` (`from backend.auth import Actor`) is the one protocol services type `actor` with.
"""

from backend.auth.actor import Actor

__all__ = ["Actor"]
