"""The architecture's contracts, as functions that list what breaks them.

`tests/unit/test_architecture.py` asserts each list is empty; `python -m tests.architecture_rules
[prefix]` prints every violation (optionally only those in modules starting with `prefix`),
which is quicker to read while moving code. docs/architecture.md explains each rule.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("backend", "competency_framework", "assessments", "whistleblowing")
CORE = "backend"
MAX_MODULE_LINES = 800
MAX_HANDLER_LINES = 30
# What every domain package holds (docs/adding-a-domain.md). A name ending in "/" is a package;
# "models" may be a module or a package.
DOMAIN_FILES = (
    "models",
    "schemas.py",
    "service/",
    "routes/",
    "events.py",
    "jobs.py",
    "cli.py",
    "plugin.py",
)
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "api_route"}
CRYPTO_MODULE = "backend.crypto"
CRYPTO_IMPORTS = ("secrets", "hashlib", "hmac", "cryptography", "argon2")
CLOCK_MODULE = "backend.clock"


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.what}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def product_modules() -> dict[str, Path]:
    """Return {dotted name: path} for every Python module of the product."""
    found: dict[str, Path] = {}
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


@cache
def _tree(module: str) -> ast.Module:
    return ast.parse(product_modules()[module].read_text(encoding="utf-8"))


def long_modules(limit: int = MAX_MODULE_LINES) -> list[Violation]:
    """Modules over `limit` lines."""
    out = []
    for module, path in product_modules().items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            out.append(Violation(module, 1, f"{lines} lines (limit {limit})"))
    return out


def _is_route(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in HTTP_METHODS
        ):
            return True
    return False


def route_handlers() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for module in product_modules():
        for node in ast.walk(_tree(module)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_route(node):
                yield module, node


def long_handlers(limit: int = MAX_HANDLER_LINES) -> list[Violation]:
    """Route handlers longer than `limit` lines, from `def` to their last line."""
    out = []
    for module, node in route_handlers():
        lines = node.end_lineno - node.lineno + 1
        if lines > limit:
            out.append(Violation(module, node.lineno, f"{node.name}: {lines} lines"))
    return out


@cache
def _graph():
    import grimp

    return grimp.build_graph(*PRODUCT_PACKAGES, cache_dir=None)


def _imports(module: str) -> set[str]:
    return set(_graph().find_modules_directly_imported_by(module))


def import_cycles() -> list[list[str]]:
    """Every set of modules that import each other, directly or not (Tarjan's SCCs).

    Imports inside functions count: moving an import into a function hides a cycle from
    Python, not from a reader.
    """
    graph = {m: _imports(m) for m in _graph().modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    for start in sorted(graph):
        if start in index:
            continue
        # Iterative Tarjan: (node, iterator over its successors).
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def _line_of_import(module: str, imported: str) -> int:
    details = _graph().get_import_details(importer=module, imported=imported)
    return min((d["line_number"] for d in details), default=1)


@cache
def domain_packages() -> tuple[str, ...]:
    """The installed domains' packages (`backend.plugins.INSTALLED`), longest first."""
    from backend import plugins

    packages = (name.removesuffix(".plugin") for name in plugins.INSTALLED)
    return tuple(sorted(packages, key=len, reverse=True))


def domain_of(module: str) -> str | None:
    """The domain package `module` belongs to; None for the core and shared namespaces."""
    for package in domain_packages():
        if module == package or module.startswith(package + "."):
            return package
    return None


def boundary_violations() -> list[Violation]:
    """The core importing a domain; a domain importing another other than via its service."""
    out = []
    for module in sorted(_graph().modules):
        own = domain_of(module)
        core = module == CORE or module.startswith(CORE + ".")
        for imported in sorted(_imports(module)):
            target = domain_of(imported)
            if target is None or target == own:
                continue
            if core:
                what = f"the core imports the domain module {imported}"
            elif imported != f"{target}.service":
                what = f"imports {imported}; another domain is used only through {target}.service"
            else:
                continue
            out.append(Violation(module, _line_of_import(module, imported), what))
    return out


def _calls_in(module: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            yield node.lineno, f"{name}.{node.func.attr}"
        elif isinstance(node, ast.Name) and node.id in ("today_utc", "utcnow", "local_today"):
            yield node.lineno, node.id
        elif isinstance(node, ast.alias) and node.name in ("today_utc", "utcnow", "local_today"):
            yield getattr(node, "lineno", 1), node.name


CLOCK_CALLS = {"date.today", "datetime.now", "datetime.utcnow", "datetime.today"}


def clock_violations() -> list[Violation]:
    """ "Now" or "today" read anywhere but backend/clock.py."""
    out = []
    for module in product_modules():
        if module == CLOCK_MODULE:
            continue
        for line, call in _calls_in(module):
            if call in CLOCK_CALLS or call in ("today_utc", "utcnow", "local_today"):
                out.append(Violation(module, line, f"{call}: use backend.clock"))
    return out


def crypto_violations() -> list[Violation]:
    """Cryptographic libraries imported anywhere but backend/crypto.py."""
    out = []
    for module in product_modules():
        if module == CRYPTO_MODULE:
            continue
        for node in ast.walk(_tree(module)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in CRYPTO_IMPORTS:
                    out.append(
                        Violation(module, node.lineno, f"imports {name}: use backend.crypto")
                    )
    return out


def _is_route_module(module: str) -> bool:
    parts = module.split(".")
    return "routes" in parts or parts[-1].endswith("_routes")


def query_violations() -> list[Violation]:
    """Route modules that build queries: reading data is the service's job."""
    out = []
    for module in product_modules():
        if not _is_route_module(module):
            continue
        for node in ast.walk(_tree(module)):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module in ("sqlmodel", "sqlalchemy", "sqlalchemy.sql")
                and any(alias.name in ("select", "update", "delete") for alias in node.names)
            ):
                out.append(Violation(module, node.lineno, "queries belong in the service"))
    return out


def shape_violations() -> list[Violation]:
    """Domain packages missing one of the files every domain has."""
    out = []
    for package in domain_packages():
        folder = ROOT.joinpath(*package.split("."))
        for name in DOMAIN_FILES:
            if name == "models":
                present = (folder / "models.py").exists() or (folder / "models").is_dir()
            elif name.endswith("/"):
                present = (folder / name / "__init__.py").exists()
            else:
                present = (folder / name).exists()
            if not present:
                out.append(Violation(package, 1, f"has no {name}"))
    return out


CHECKS = {
    "modules over 800 lines": long_modules,
    "route handlers over 30 lines": long_handlers,
    "layer boundaries": boundary_violations,
    "clock": clock_violations,
    "crypto": crypto_violations,
    "domain shape": shape_violations,
    "queries in routes": query_violations,
}


def main(prefix: str = "") -> int:
    failed = 0
    for title, check in CHECKS.items():
        found = [v for v in check() if v.module.startswith(prefix)]
        failed += len(found)
        print(f"## {title}: {len(found)}")
        for violation in found:
            print(f"  {violation}")
    cycles = [c for c in import_cycles() if any(m.startswith(prefix) for m in c)]
    failed += len(cycles)
    print(f"## import cycles: {len(cycles)}")
    for cycle in cycles:
        print("  " + " <-> ".join(cycle))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
