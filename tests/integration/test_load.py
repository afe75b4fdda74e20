"""The mixed load of issue #9, short: 100 simulated people for 30 s on each database.

Runs `python -m bench.load` as a separate process, exactly as documented (docs/load-testing.md),
with a small demo organisation: a fresh database, uvicorn (2 workers on PostgreSQL, 1 on
SQLite), the locust users, and the runner's verdict. The full five-minute run is the same
command with `--duration 300`; its figures are in bench/RESULTS.md. The test proves that under
concurrent mixed use every request is answered correctly (no failure, no 5xx, no simulated
person stuck on a page without what it needed), that every kind of person was served, and that
no request type's p95 exceeded its budget: a multiple of /healthz's p95 in the same run
(bench.load.P95_BUDGET, docs/load-testing.md), a ratio, so the shared machine's speed cancels
out. How far each gets in 30 s depends on the machine (the sign-in rush at production hashing
cost comes first), so the later steps of the journeys are not counted here.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load import HEALTH_PROBE, P95_BUDGET, PERSON, budget_of
from tests.conftest import _pg_bin, missing

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_one_hundred_people_at_once_get_no_error_and_every_kind_is_served(database, tmp_path):
    if importlib.util.find_spec("locust") is None:
        missing("locust is not installed (pip install -e '.[dev]')")
    if database == "postgresql" and not (_pg_bin("initdb") and _pg_bin("pg_ctl")):
        missing("PostgreSQL binaries (initdb, pg_ctl) not found")
    output = tmp_path / "figures.json"
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "--database",
        database,
        "--users",
        "100",
        "--duration",
        "30",
        "--employees",
        "300",
        "--output",
        str(output),
    ]
    if database == "postgresql":
        command += ["--workers", "2"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    report = f"{run.stdout[-6000:]}\n{run.stderr[-4000:]}"
    assert output.exists(), report
    figures = json.loads(output.read_text())

    assert figures["total"]["failures"] == 0, figures["failure_messages"]
    assert figures["total"]["server_errors"] == 0, figures["server_log_tail"]
    assert figures["task_errors"] == [], figures["task_errors"]
    assert figures["users_by_class"] == {
        "Employee": 50,
        "HRPlanner": 10,
        "Candidate": 20,
        "Reporter": 10,
        "Investigator": 10,
    }
    for person in PERSON.values():
        assert figures["requests_by_person"][person] > 0, f"no request from any {person}"
    assert all(row["count"] > 0 for row in figures["requests"].values())

    # Response-time budgets: every type's p95 against /healthz's, asked all through the run.
    assert figures["requests"][HEALTH_PROBE[0]]["count"] >= 20, "too few /healthz probes"
    assert figures["p95_budget"] == P95_BUDGET
    ratios = figures["p95_ratio_to_healthz"]
    assert set(ratios) == set(figures["requests"]) - {HEALTH_PROBE[0]}
    over = {name: f"{ratios[name]}× > {budget_of(name):g}×" for name in figures["over_budget"]}
    assert not over, f"p95 over budget: {over}\n{report}"
    assert run.returncode == 0, report
