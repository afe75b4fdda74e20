"""The mixed load test of issue #9 (see docs/load-testing.md).

`python -m bench.load` builds a database, serves the app with uvicorn and drives it with the
locust users of `bench/load/locustfile.py` (run by `bench.load.drive` in a process of its own,
since locust patches the standard library for gevent). What both sides share lives here, free of
locust imports.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# Locust user classes and their weights: out of 100 simulated people, 50 employees, 10 HR
# planners, 20 candidates, 10 reporters and 10 investigators.
WEIGHTS = {"Employee": 50, "HRPlanner": 10, "Candidate": 20, "Reporter": 10, "Investigator": 10}
# Seconds a simulated person pauses between two actions, and between the steps of one journey.
THINK_TIME = (1.0, 3.0)
# The prefix of each class's request names ("employee: dashboard").
PERSON = {
    "Employee": "employee",
    "HRPlanner": "planner",
    "Candidate": "candidate",
    "Reporter": "reporter",
    "Investigator": "investigator",
}


def is_loopback(url: str) -> bool:
    """Return whether `url` (or a bare host) names this machine: 127.0.0.0/8, ::1, localhost."""
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# The yardstick of the response-time budgets: /healthz (one database round trip through the
# whole stack: middleware, a worker thread, a pooled connection), asked every PROBE_INTERVAL
# seconds during the run by the load generator itself, not by a simulated person.
HEALTH_PROBE = ("probe: healthz", "/healthz")
PROBE_INTERVAL = 0.25
# A request type fails the run when its p95 exceeds P95_BUDGET times /healthz's p95 in the same
# run: a ratio, so a slower or busier machine moves both sides. Chosen from measurement with
# generous headroom (docs/load-testing.md, "Response-time budgets").
P95_BUDGET = 10.0
# Requests that hash on purpose at production cost (a sign-in's Argon2id of 64 MiB, the
# investigator's key unwrapped at the two-step code, a report's receipt derivations) get
# COSTLY_FACTOR times the budget: their own cost does not shrink with the queue.
COSTLY = ("sign in", "two-step code", "send report with attachment")
COSTLY_FACTOR = 2.0
# Below this many requests a type's p95 is its slowest one or two; it is reported, not judged.
BUDGET_MIN_COUNT = 20


def budget_of(name: str, budget: float = P95_BUDGET) -> float:
    """Return the largest p95 allowed to request type `name`, as a multiple of /healthz's."""
    what = name.split(": ", 1)[-1]
    return budget * COSTLY_FACTOR if what in COSTLY else budget


def p95_ratios(requests: dict[str, dict]) -> dict[str, float]:
    """Return each request type's p95 as a multiple of /healthz's p95 (empty without probes)."""
    health = requests.get(HEALTH_PROBE[0])
    if not health or health["p95_ms"] <= 0:
        return {}
    return {
        name: round(row["p95_ms"] / health["p95_ms"], 1)
        for name, row in requests.items()
        if name != HEALTH_PROBE[0]
    }


def over_budget(requests: dict[str, dict], budget: float = P95_BUDGET) -> list[str]:
    """Return the request types whose p95 exceeds their budget (judged types only).

    Without a single /healthz answer nothing can be judged, and that is itself a failure.
    """
    health = requests.get(HEALTH_PROBE[0])
    if not health or not health["count"]:
        return [HEALTH_PROBE[0]]
    return [
        name
        for name, ratio in p95_ratios(requests).items()
        if requests[name]["count"] >= BUDGET_MIN_COUNT and ratio > budget_of(name, budget)
    ]
