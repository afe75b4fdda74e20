"""The load run's response-time budgets (bench.load): p95 per request type against /healthz's."""

from __future__ import annotations

from bench.load import (
    BUDGET_MIN_COUNT,
    COSTLY_FACTOR,
    HEALTH_PROBE,
    P95_BUDGET,
    budget_of,
    over_budget,
    p95_ratios,
)


def _row(p95_ms: float, count: int = 100) -> dict:
    return {"count": count, "p95_ms": p95_ms}


def _run() -> dict[str, dict]:
    """Figures shaped like a CI run's (PostgreSQL, 30 s, 2026-12-07): ratios up to about 5."""
    return {
        HEALTH_PROBE[0]: _row(1644),
        "employee: dashboard": _row(4422),
        "employee: my competencies and gaps": _row(1156),
        "employee: sign in": _row(7973, count=50),
        "candidate: answer a question (htmx)": _row(322),
        "planner: person's gap profile": _row(140, count=1),
    }


def test_a_run_like_the_measured_ones_is_within_budget():
    assert over_budget(_run()) == []
    assert p95_ratios(_run())["employee: dashboard"] == 2.7


def test_a_page_ten_times_slower_fails_the_run():
    requests = _run()
    requests["employee: dashboard"] = _row(44220)
    assert over_budget(requests) == ["employee: dashboard"]


def test_the_budget_is_a_ratio_so_a_slower_machine_moves_both_sides():
    slower = {name: _row(row["p95_ms"] * 3, row["count"]) for name, row in _run().items()}
    assert over_budget(slower) == []
    assert p95_ratios(slower) == p95_ratios(_run())


def test_deliberately_costly_requests_get_a_larger_multiple_and_others_do_not():
    assert budget_of("employee: sign in") == P95_BUDGET * COSTLY_FACTOR
    assert budget_of("investigator: two-step code") == P95_BUDGET * COSTLY_FACTOR
    assert budget_of("employee: sign-in page") == P95_BUDGET
    requests = _run()
    requests["employee: sign in"] = _row(1644 * (P95_BUDGET + 1), count=50)
    requests["employee: sign-in page"] = _row(1644 * (P95_BUDGET + 1))
    assert over_budget(requests) == ["employee: sign-in page"]


def test_rare_request_types_are_reported_but_not_judged():
    requests = _run()
    requests["planner: person's gap profile"] = _row(1644 * 100, count=BUDGET_MIN_COUNT - 1)
    assert over_budget(requests) == []
    assert p95_ratios(requests)["planner: person's gap profile"] == 100.0


def test_a_run_without_a_health_probe_cannot_pass():
    requests = _run()
    del requests[HEALTH_PROBE[0]]
    assert over_budget(requests) == [HEALTH_PROBE[0]]
    assert p95_ratios(requests) == {}
