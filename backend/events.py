"""In-process publish/subscribe of domain events.

Domains announce facts ("an appraisal rating dropped", "a candidate was rejected") without knowing
who listens; the reporting channel's HR watch subscribes to them. Handlers run synchronously, in
the publisher's database session, so what they write commits (or rolls back) with the change
that caused it. A handler that fails makes the publishing operation fail: a protected person's
alert must never be silently lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Any

from sqlmodel import Session

from backend import clock, plugins


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened. `subject_employee_id` names the person it affects, if any."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    subject_employee_id: int | None = None
    occurred_at: datetime = field(default_factory=clock.now)


Handler = Callable[[Session, DomainEvent], None]

_handlers: dict[str, list[Handler]] = defaultdict(list)
ANY = "*"
_loaded = False


def _load_subscribers() -> None:
    """Import every plugin's subscriber modules (`Plugin.subscribers`) before the first event
    is delivered, wherever it is published from (the web app, a CLI command, a test), so no
    event can slip past a subscriber that was simply never imported."""
    global _loaded
    if not _loaded:
        for module_name in plugins.modules("subscribers"):
            import_module(module_name)
        _loaded = True


def subscribe(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function for events called `name` (or `ANY`)."""

    def decorator(handler: Handler) -> Handler:
        if handler not in _handlers[name]:
            _handlers[name].append(handler)
        return handler

    return decorator


def unsubscribe(name: str, handler: Handler) -> None:
    """Remove a handler (used by tests)."""
    if handler in _handlers.get(name, []):
        _handlers[name].remove(handler)


def publish(session: Session, event: DomainEvent) -> int:
    """Deliver `event` to its subscribers; return how many handled it."""
    _load_subscribers()
    delivered = 0
    for handler in [*_handlers.get(event.name, []), *_handlers.get(ANY, [])]:
        handler(session, event)
        delivered += 1
    return delivered
