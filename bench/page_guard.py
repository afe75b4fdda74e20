"""The CI-sized page benchmark: each page's throughput as a ratio of /healthz's, same server.

    python -m bench.page_guard URL COOKIES_JSON [--seconds 0.25] [--rounds 4]

COOKIES_JSON maps each page of bench.pages.PAGES to its session cookie. For every page, 20
keep-alive connections (threads with http.client: light enough for a Python client) load
/healthz and then the page, A B A B, `--rounds` times, `--seconds` each; prints one JSON
object: page → {ratio (the median of the rounds' page/healthz: one burst of other work on a
shared machine does not move it), rps, healthz, errors}. Run as its
own process so that the client does not share the server's interpreter lock.
Compare its ratios with bench/page_ratios.json (a page below half its recorded ratio is a
regression). Not part of the test suite yet: docs/load-testing.md says why.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from urllib.parse import urlsplit

from bench.pages import PAGES

CONNECTIONS = 20


def load(url: str, path: str, cookie: str, seconds: float) -> tuple[float, int]:
    """Return (requests per second, errors) of CONNECTIONS connections for `seconds`."""
    parts = urlsplit(url)
    headers = {"Cookie": f"merito_session={cookie}"} if cookie else {}
    counts = [0] * CONNECTIONS
    errors = [0] * CONNECTIONS
    start = threading.Barrier(CONNECTIONS + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        start.wait()
        while time.monotonic() < deadline[0]:
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    counts[index] += 1
                else:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - began), sum(errors)


def measure(url: str, cookies: dict[str, str], seconds: float, rounds: int) -> dict:
    """Return page → its ratio to /healthz and figures (A B A B)."""
    figures = {}
    for name, cookie in cookies.items():
        path = PAGES[name][1]
        load(url, path, cookie, seconds / 2)  # warm up
        ratios, pages, trivial, errors = [], [], [], 0
        for _ in range(rounds):
            healthz, _errors = load(url, "/healthz", "", seconds)
            page, failed = load(url, path, cookie, seconds)
            ratios.append(page / healthz if healthz else 0.0)
            pages.append(page)
            trivial.append(healthz)
            errors += failed
        figures[name] = {
            "ratio": round(statistics.median(ratios), 4),
            "rps": round(sum(pages) / rounds, 1),
            "healthz": round(sum(trivial) / rounds, 1),
            "errors": errors,
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("cookies", help="JSON: page name → session cookie")
    parser.add_argument("--seconds", type=float, default=0.25)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(measure(args.url, json.loads(args.cookies), args.seconds, args.rounds)))


if __name__ == "__main__":
    main()
