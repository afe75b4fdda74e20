"""Run the users of bench/load/locustfile.py headless for a fixed time; write the figures as JSON.

    python -m bench.load.drive --host http://127.0.0.1:PORT --users 100 --spawn-rate 10 \\
        --run-time 300 --output figures.json     (MERITO_LOAD_FIXTURES names the fixtures)

`python -m bench.load` starts this in a process of its own: importing locust patches the
standard library for gevent, which the process that builds the database and runs uvicorn must
not have. Locust runs programmatically (an `Environment` and a local runner) and stops itself
after `--run-time` seconds. Every request is recorded as it completes, so the percentiles are
exact (nearest rank over all samples), not locust's rounded buckets; the figures cover the whole
run, ramp-up included.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections import Counter, defaultdict

import gevent
from gevent.pool import Group
from locust import events
from locust.clients import HttpSession
from locust.env import Environment
from requests.adapters import HTTPAdapter

from bench.load import HEALTH_PROBE, PROBE_INTERVAL, is_loopback, locustfile


def percentile(ordered: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of an ascending list."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(samples: list[float], failures: int, server_errors: int, seconds: float) -> dict:
    """Return count, failures, 5xx, p50/p95/p99/mean/max (ms) and requests per second."""
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "failures": failures,
        "server_errors": server_errors,
        "p50_ms": round(percentile(ordered, 0.50), 1),
        "p95_ms": round(percentile(ordered, 0.95), 1),
        "p99_ms": round(percentile(ordered, 0.99), 1),
        "mean_ms": round(sum(ordered) / len(ordered), 1) if ordered else 0.0,
        "max_ms": round(ordered[-1], 1) if ordered else 0.0,
        "rps": round(len(ordered) / seconds, 2) if seconds else 0.0,
    }


def run(host: str, users: int, spawn_rate: float, run_time: float) -> dict:
    """Load `host` with the mixed workload for `run_time` seconds; return the figures."""
    samples: dict[str, list[float]] = defaultdict(list)
    failed: Counter[str] = Counter()
    server_errors: Counter[str] = Counter()
    messages: Counter[tuple[str, str]] = Counter()

    def on_request(name, response_time, response=None, exception=None, **_kwargs) -> None:
        samples[name].append(response_time)
        status = getattr(response, "status_code", 0) or 0
        if status >= 500:
            server_errors[name] += 1
        if exception is not None:
            failed[name] += 1
            messages[(name, str(exception)[:300])] += 1

    user_classes = [
        locustfile.Employee,
        locustfile.HRPlanner,
        locustfile.Candidate,
        locustfile.Reporter,
        locustfile.Investigator,
    ]
    environment = Environment(user_classes=user_classes, host=host, events=events)
    environment.events.request.add_listener(on_request)
    runner = environment.create_local_runner()
    environment.events.init.fire(environment=environment, runner=runner, web_ui=None)

    def progress() -> None:
        while True:
            gevent.sleep(30)
            done = sum(len(v) for v in samples.values())
            print(
                f"  … {time.monotonic() - started:4.0f} s: {runner.user_count} users, "
                f"{done} requests, {sum(failed.values())} failed",
                file=sys.stderr,
                flush=True,
            )

    spawned: dict[str, int] = {}

    def stop() -> None:
        spawned.update(runner.user_classes_count)
        runner.quit()

    # The yardstick of the p95 budgets (bench.load.over_budget): /healthz, asked by no
    # simulated person, through the same server queues in the same seconds. Probes leave on a
    # fixed schedule whether or not the previous one has come back, so a slow server gets as
    # many as a fast one (a probe waiting for the last would skip the worst moments).
    health = HttpSession(base_url=host, request_event=environment.events.request, user=None)
    health.mount("http://", HTTPAdapter(pool_maxsize=64))  # probes in flight at once
    probes = Group()

    def probe_once() -> None:
        with health.get(HEALTH_PROBE[1], name=HEALTH_PROBE[0], catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}, expected 200")

    def probe() -> None:
        while True:
            probes.spawn(probe_once)
            gevent.sleep(PROBE_INTERVAL)

    started = time.monotonic()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.spawn_later(run_time, stop)
    reporter = gevent.spawn(progress)
    prober = gevent.spawn(probe)
    runner.greenlet.join()
    prober.kill()
    probes.kill()
    reporter.kill()
    elapsed = time.monotonic() - started

    requests = {
        name: summary(values, failed[name], server_errors[name], elapsed)
        for name, values in sorted(samples.items())
    }
    every = [value for values in samples.values() for value in values]
    return {
        "host": host,
        "users": users,
        "spawn_rate": spawn_rate,
        "run_time": run_time,
        "elapsed_seconds": round(elapsed, 1),
        "users_by_class": spawned,
        "requests": requests,
        "total": summary(every, sum(failed.values()), sum(server_errors.values()), elapsed),
        "failure_messages": [
            {"name": name, "message": message, "count": count}
            for (name, message), count in messages.most_common(50)
        ],
        "task_errors": [
            {"message": error["msg"], "count": error["count"], "traceback": error["traceback"]}
            for error in runner.exceptions.values()
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="base URL, on a loopback address")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--run-time", type=float, default=300, help="seconds")
    parser.add_argument("--output", required=True, help="JSON file for the figures")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        sys.exit(f"Refusing to load {args.host}: the load test runs against loopback only.")
    logging.basicConfig(level=logging.WARNING, format="locust: %(levelname)s %(message)s")
    figures = run(args.host, args.users, args.spawn_rate, args.run_time)
    with open(args.output, "w") as fh:
        json.dump(figures, fh, indent=1)


if __name__ == "__main__":
    main()
