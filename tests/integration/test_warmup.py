"""A started worker fills the organisation-wide report caches before anyone asks."""

from __future__ import annotations

from importlib import import_module

from sqlmodel import Session

from backend import warmup
from backend.app import router_modules
from competency_framework import service as competency_service
from competency_framework.training import service as training_service


def test_warming_fills_the_gap_and_needs_caches(engine, settings, org):
    for module in router_modules():  # as the app does: the domains register their warmers
        import_module(module)
    competency_service.GAP_CACHE.clear()
    timings = warmup.warm(engine, settings)
    assert {"competency.gap_reports", "training.needs_report"} <= set(timings)
    with Session(engine) as session:
        hits, misses = competency_service.GAP_CACHE.hits, competency_service.GAP_CACHE.misses
        heatmap = competency_service.heatmap(session, details=True, locale="es")
        assert competency_service.heatmap(session, details=True, locale="es") is heatmap
        # What the page reads of a cached report still reads after the warming session closed.
        assert [c.name_es for c in heatmap.competencies][0]
        competency_service.attention_report(session, details=True, limit=5, locale="en")
        year = training_service.plan_year(settings)
        training_service.needs_report(session, year=year)
        # Every one of those came from the cache the warm-up filled.
        assert competency_service.GAP_CACHE.hits >= hits + 4
        assert competency_service.GAP_CACHE.misses == misses  # the cell counts were ready


def test_a_failing_warmer_is_logged_and_the_others_still_run(engine, settings, caplog):
    ran = []

    @warmup.warmer("test.broken")
    def broken(session):
        raise RuntimeError("boom")

    @warmup.warmer("test.fine")
    def fine(session):
        ran.append(True)

    try:
        timings = warmup.warm(engine, settings)
    finally:
        warmup._warmers[:] = [w for w in warmup._warmers if not w[0].startswith("test.")]
    assert "test.broken" not in timings and "test.fine" in timings and ran
    assert "warming test.broken failed" in caplog.text
