"""The core's own layering: the pieces H7 untangled stay untangled."""

from __future__ import annotations

from datetime import UTC, datetime

import grimp

from backend import audit_display


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("backend", include_external_packages=True, cache_dir=None)


def test_audit_display_does_not_import_the_web_layer() -> None:
    # backend.web shows audit entries with audit_display; the other way round was a cycle.
    graph = _graph()
    assert not graph.chain_exists(importer="backend.audit_display", imported="backend.web")
    assert graph.find_shortest_chain(importer="backend.web", imported="backend.audit_display")


def test_audit_changes_show_timestamps_with_the_formatter_they_are_given() -> None:
    shown = audit_display.changes(
        {"decided_at": "2026-12-07T06:51:00+00:00"},
        {"decided_at": None, "tags": ["a", True]},
        format_datetime=lambda value: f"at {value.astimezone(UTC):%H:%M}",
    )
    yes = audit_display._("Yes")
    assert [(c.before, c.after) for c in shown] == [("at 06:51", "—"), (None, f"a, {yes}")]
    nested = audit_display.value_text(
        {"at": [datetime(2026, 1, 2, 3, 4, tzinfo=UTC).isoformat()]}, lambda v: f"{v:%d/%m}"
    )
    assert nested.endswith(": 02/01")


DOMAINS = ("competency_framework", "assessments", "whistleblowing")


def test_the_demo_and_the_organisation_import_no_domain() -> None:
    # The demo reaches the domains through their plugins' hooks (demo.people, demo.accounts).
    graph = _graph()
    for core in ("backend.demo", "backend.org", "backend.auth"):
        for domain in DOMAINS:
            if domain not in graph.modules:
                continue  # nothing in the core imports it at all
            chain = graph.find_shortest_chains(importer=core, imported=domain, as_packages=True)
            assert not chain, (core, domain, chain)
