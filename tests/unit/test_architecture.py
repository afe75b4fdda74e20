"""The architecture's contracts (docs/architecture.md), checked on the whole product.

Each test lists what breaks its rule; `python -m tests.architecture_rules` prints them all.
The rules themselves are tested against small planted examples at the end, so a rule that
silently stopped finding anything would fail here too.
"""

from __future__ import annotations

import ast
import textwrap

from tests import architecture_rules as rules


def _show(violations) -> str:
    return "\n".join(str(v) for v in violations)


def test_no_product_module_is_over_800_lines():
    assert not (found := rules.long_modules()), _show(found)


def test_no_route_handler_is_over_30_lines():
    assert not (found := rules.long_handlers()), _show(found)


def test_there_are_no_import_cycles():
    cycles = rules.import_cycles()
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def test_the_core_imports_no_domain_and_domains_meet_only_through_their_service():
    assert not (found := rules.boundary_violations()), _show(found)


def test_now_and_today_come_only_from_the_clock():
    assert not (found := rules.clock_violations()), _show(found)


def test_cryptographic_libraries_are_used_only_in_backend_crypto():
    assert not (found := rules.crypto_violations()), _show(found)


def test_route_modules_build_no_queries():
    assert not (found := rules.query_violations()), _show(found)


def test_every_domain_has_the_same_files():
    assert not (found := rules.shape_violations()), _show(found)


def test_every_installed_plugin_names_its_own_package_and_modules_that_exist():
    from importlib.util import find_spec

    from backend import plugins

    for plugin in plugins.installed():
        assert plugin.package in rules.domain_packages()
        for kind in ("routers", "models", "subscribers", "jobs"):
            for module in getattr(plugin, kind):
                assert module.startswith(plugin.package + "."), (plugin.name, module)
                assert find_spec(module) is not None, (plugin.name, module)


# --- the rules find what they are meant to find ------------------------------------------------


def _parse(source: str) -> ast.Module:
    return ast.parse(textwrap.dedent(source))


def test_the_handler_rule_counts_from_def_to_the_last_line(monkeypatch):
    body = "\n".join(f"    x{i} = {i}" for i in range(29))
    source = f"@router.post('/a')\ndef long_one():\n{body}\n    return x0\n"
    short = "@router.get('/b')\ndef short_one():\n    return 1\n"
    tree = _parse(source + short)
    monkeypatch.setattr(rules, "product_modules", lambda: {"planted": None})
    monkeypatch.setattr(rules, "_tree", lambda module: tree)
    found = rules.long_handlers()
    assert [v.what for v in found] == ["long_one: 31 lines"]


def test_the_clock_and_crypto_rules_find_planted_calls(monkeypatch):
    tree = _parse(
        """
        import hashlib
        from secrets import token_hex
        from datetime import date, datetime
        from backend.db import today_utc

        def f():
            return date.today(), datetime.now(), hashlib.sha256(b"")
        """
    )
    monkeypatch.setattr(rules, "product_modules", lambda: {"planted": None})
    monkeypatch.setattr(rules, "_tree", lambda module: tree)
    clock = {v.what.split(":")[0] for v in rules.clock_violations()}
    assert clock == {"date.today", "datetime.now", "today_utc"}
    crypto = {v.what for v in rules.crypto_violations()}
    assert crypto == {"imports hashlib: use backend.crypto", "imports secrets: use backend.crypto"}


def test_the_cycle_rule_finds_a_planted_cycle(monkeypatch):
    class Graph:
        modules = {"a", "b", "c", "d"}

        def find_modules_directly_imported_by(self, module):
            return {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}[module]

    monkeypatch.setattr(rules, "_graph", lambda: Graph())
    assert rules.import_cycles() == [["a", "b", "c"]]
