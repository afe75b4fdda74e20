"""A data table never widens the page: each sits in a `.table-scroll` container, which scrolls
sideways on its own when the table is wider than the screen (a phone is 390 px wide). The
pages are measured in a browser by tests/browser/test_layout_390.py."""

from __future__ import annotations

import re

from backend.web import TEMPLATES_DIR

TABLE = re.compile(r"<table\b")
WRAPPER = re.compile(r"<div\s+class=\"[^\"]*\btable-scroll\b[^\"]*\"[^>]*>\s*$")


def unwrapped_tables(source: str) -> list[int]:
    """Return the line numbers of the tables in `source` not directly inside a scroller."""
    return [
        source.count("\n", 0, m.start()) + 1
        for m in TABLE.finditer(source)
        if not WRAPPER.search(source[: m.start()])
    ]


def test_every_table_sits_in_a_scrolling_container():
    offenders = [
        f"{path.relative_to(TEMPLATES_DIR)}:{line}"
        for path in sorted(TEMPLATES_DIR.rglob("*.html"))
        for line in unwrapped_tables(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], 'wrap these in <div class="table-scroll">:\n' + "\n".join(offenders)


def test_the_check_tells_a_wrapped_table_from_a_bare_one():
    assert unwrapped_tables('<div class="table-scroll">\n  <table class="table">') == []
    assert unwrapped_tables('<div class="card">\n<table class="table">') == [2]
    assert unwrapped_tables('<div class="table-scroll"></div>\n<table>') == [2]
