"""Warming the per-process report caches when a worker starts.

The organisation-wide reports (the gap heatmap, the training needs analysis) are cached per
worker process and keyed on data revisions (backend.revisions), so a worker's first report
reads every current rating: about two seconds at 100,000 employees. Each domain registers what
to compute; a started worker computes it once in a background thread, so the first planner
after a deployment or a restart finds the reports ready. A request arriving before that
finishes computes its own copy as before: warming never delays or blocks a request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.config import Settings

log = logging.getLogger("merito.warmup")

Warmer = Callable[[Session], object]
_warmers: list[tuple[str, Warmer]] = []


def warmer(name: str) -> Callable[[Warmer], Warmer]:
    """Register a function that fills a cache from a session (run at worker start)."""

    def register(function: Warmer) -> Warmer:
        if all(existing != name for existing, _f in _warmers):
            _warmers.append((name, function))
        return function

    return register


def warm(engine: Engine, settings: Settings) -> dict[str, float]:
    """Run every registered warmer; return seconds per warmer (failures are logged, skipped)."""
    timings: dict[str, float] = {}
    for name, function in list(_warmers):
        started = time.perf_counter()
        try:
            # Closed, never rolled back or committed: a rollback would expire the objects the
            # cached reports hold, and pages read their attributes after this session is gone.
            with Session(engine, expire_on_commit=False) as session:
                session.info["settings"] = settings
                function(session)
        except Exception:  # noqa: BLE001 - a cache left cold is filled by the first request
            log.warning("warming %s failed; the first request will compute it", name, exc_info=True)
            continue
        timings[name] = time.perf_counter() - started
    return timings


def start(engine: Engine, settings: Settings) -> threading.Thread:
    """Warm the caches in a daemon thread (a worker shutting down does not wait for it)."""
    thread = threading.Thread(
        target=warm, args=(engine, settings), name="merito-warm-caches", daemon=True
    )
    thread.start()
    return thread
