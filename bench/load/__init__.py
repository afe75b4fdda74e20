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
