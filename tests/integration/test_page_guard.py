"""The CI-sized page benchmark (issue #20): no page costs the server twice its recorded share.

bench/page_guard.py builds the demo (40 employees), serves it with one uvicorn worker and, for
every page of bench.pages.PAGES, sends bursts of /healthz and the page at 20 connections,
A B A B; the server's CPU time per request, read from /proc around each burst, gives each page's
ratio (/healthz's CPU per request ÷ the page's). A page below half the ratio recorded in
bench/page_ratios.json fails the run. A ratio of the server's own CPU, not of throughput: the
client's share of the cores and other processes' load cancel out (docs/load-testing.md, "Pages
against /healthz", has the spread of five runs on the busy machine).

The second test proves the check can fail: on a server that also serves every page four times
over under /costly (tests/integration/costly_page_app.py), the candidate dashboard measured
there against its ratio measured at its real address, in the same minutes, is named; the
vacancy board beside it, measured both ways at its real address, is not.
"""

from __future__ import annotations

import pytest

from bench import page_guard
from bench.pages import PAGES

COSTLY = "candidate-dashboard"
BYSTANDER = "vacancy-board"
# Two cheap pages: five rounds cost little, and their medians hold the noise of /healthz (whose
# CPU per request moves most between bursts) well away from the line at half.
PROOF_ROUNDS = 5


def _figures_table(figures: dict) -> str:
    return "\n".join(f"{name}: {figure}" for name, figure in figures.items())


def test_no_page_costs_the_server_twice_its_recorded_share(database_url, db_backend, tmp_path):
    cookies = page_guard.demo_cookies(
        database_url, tmp_path, page_guard.EMPLOYEES, list(PAGES), migrated=True
    )
    recorded = page_guard.recorded_ratios(db_backend)
    assert set(recorded) == set(PAGES), "bench/page_ratios.json must cover every page"
    with page_guard.servers(database_url, tmp_path, [page_guard.REAL_APP]) as [(url, pid)]:
        figures = page_guard.measure(url, pid, cookies, page_guard.SECONDS, page_guard.ROUNDS)
    problems = page_guard.regressions(figures, recorded)
    assert problems == [], f"{problems}\n{_figures_table(figures)}"


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_the_check_names_a_page_made_four_times_as_costly(database_url, tmp_path):
    names = [COSTLY, BYSTANDER]
    cookies = page_guard.demo_cookies(
        database_url, tmp_path, page_guard.EMPLOYEES, names, migrated=True
    )
    costly_app = ("tests.integration.costly_page_app:app", {})
    with page_guard.servers(database_url, tmp_path, [costly_app]) as [(url, pid)]:
        real = page_guard.measure(url, pid, cookies, page_guard.SECONDS, PROOF_ROUNDS)
        costly_path = {COSTLY: "/costly" + PAGES[COSTLY][1]}
        slow = page_guard.measure(
            url, pid, cookies, page_guard.SECONDS, PROOF_ROUNDS, paths=costly_path
        )
    baseline = {name: figure["ratio"] for name, figure in real.items()}
    problems = page_guard.regressions(slow, baseline)
    report = f"real:\n{_figures_table(real)}\nfour times as costly:\n{_figures_table(slow)}"
    assert [problem.split(":")[0] for problem in problems] == [COSTLY], report
    assert f"half the recorded {baseline[COSTLY]:.4f}" in problems[0]
