"""The page guard's arithmetic (bench/page_guard.py): what fails, what is recorded, CPU time."""

from __future__ import annotations

import json
import os
import threading
import time

from bench import page_guard
from bench.page_guard import CpuReading, cpu_between, regressions

RECORDED = {"heatmap": 0.2, "inbox": 0.1}


def _figure(ratio: float, errors: int = 0) -> dict:
    return {"ratio": ratio, "cpu_ms": 8.0, "healthz_cpu_ms": 1.0, "errors": errors}


def test_a_page_below_half_its_recorded_ratio_is_named_with_both_ratios():
    problems = regressions({"heatmap": _figure(0.0999), "inbox": _figure(0.05)}, RECORDED)
    assert problems == [
        "heatmap: ratio 0.0999 < half the recorded 0.2000 "
        "(server CPU per request 8.0 ms, /healthz 1.0 ms)"
    ]


def test_pages_that_got_cheaper_or_held_pass():
    assert regressions({"heatmap": _figure(0.9), "inbox": _figure(0.1)}, RECORDED) == []


def test_a_page_that_answered_errors_or_was_never_recorded_fails():
    figures = {
        "heatmap": _figure(0.3, errors=2),
        "inbox": {"ratio": 0.0, "errors": 1, "status": 303},
        "vacancy-board": _figure(0.3),
    }
    assert regressions(figures, RECORDED) == [
        "heatmap: 2 failed requests",
        "inbox: answered 303",
        "vacancy-board: no recorded ratio (python -m bench.page_guard --record)",
    ]


def test_record_keeps_the_median_of_the_runs_and_the_other_database(tmp_path):
    path = tmp_path / "ratios.json"
    path.write_text(json.dumps({"postgresql": {"heatmap": 0.3}, "sqlite": {"heatmap": 0.1}}))
    runs = [{"heatmap": _figure(r), "inbox": _figure(r / 2)} for r in (0.2, 0.5, 0.26)]
    assert page_guard.record("sqlite", runs, path) == {"heatmap": 0.26, "inbox": 0.13}
    assert json.loads(path.read_text()) == {
        "postgresql": {"heatmap": 0.3},
        "sqlite": {"heatmap": 0.26, "inbox": 0.13},
    }


def test_cpu_time_is_per_thread_exact_unless_a_thread_ended():
    before = CpuReading({1: 1_000_000_000, 2: 0}, ticks=10.0)
    assert cpu_between(before, CpuReading({1: 1_250_000_000, 2: 5, 3: 100}, 10.2)) == (
        250_000_105 / 1e9
    )
    # thread 2 ended in between: its time is only in the process's utime + stime
    assert cpu_between(before, CpuReading({1: 1_250_000_000}, 10.3)) == 10.3 - 10.0
    # a thread started and ended in between: the process's ticks show more than the threads
    assert cpu_between(before, CpuReading({1: 1_250_000_000, 2: 0}, 10.5)) == 10.5 - 10.0


def test_the_cpu_a_process_spends_is_read_from_proc():
    def spin(seconds: float) -> None:
        started = time.thread_time()
        while time.thread_time() - started < seconds:
            pass

    before = page_guard.read_cpu(os.getpid())
    threads = [threading.Thread(target=spin, args=(0.05,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spent = cpu_between(before, page_guard.read_cpu(os.getpid()))
    # The threads ended, so the answer is the process's utime + stime, counted in clock ticks:
    # each of the two readings can fall up to a tick short (0.0899… seen for 0.1 s of spinning).
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert 0.1 - 2 * tick - 1e-9 <= spent < 1.0
