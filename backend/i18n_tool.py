"""Keeps the translation catalogues complete: `python -m backend.i18n_tool [check|update]`.

Each package owns `<package>/locale/es.po` and `en.po` covering the messages of its Python code
and of its template folders (CATALOGUE_SOURCES). `update` extracts every message, adds new ones
to both catalogues (English filled with the source text, Spanish left empty for a translator)
and drops messages no longer used. `check` lists messages without a translation, and English
sentences in the Python code that were never marked for translation (`unmarked`); the test-suite
runs both and fails on any.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "frontend" / "templates"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}

# Package -> the template folders whose messages it translates.
CATALOGUE_SOURCES: dict[str, list[str]] = {
    "backend": ["", "partials", "auth", "admin", "dashboard", "org", "notices", "privacy"],
    "competency_framework": ["competency", "training"],
    "assessments": ["vacancies", "appraisals"],
    "whistleblowing": ["report", "cases", "retaliation"],
}


def _package_dir(package: str) -> Path | None:
    try:
        return Path(import_module(package).__file__).parent
    except ModuleNotFoundError:
        return None


def _python_files(package_dir: Path) -> Iterator[Path]:
    for path in sorted(package_dir.rglob("*.py")):
        if "migrations" in path.parts or path.name == "i18n_tool.py":
            continue
        yield path


def _template_files(folder: str) -> Iterator[Path]:
    base = TEMPLATES / folder if folder else TEMPLATES
    if not base.exists():
        return
    pattern = "*.html" if not folder else "**/*.html"
    yield from sorted(base.glob(pattern))


def extract(package: str) -> Catalog:
    """Return every message used by `package` and its templates."""
    catalog = Catalog(project="merito", domain="messages")
    package_dir = _package_dir(package)
    sources: list[tuple[str, Path]] = []
    if package_dir is not None:
        sources += [("python", p) for p in _python_files(package_dir)]
    for folder in CATALOGUE_SOURCES.get(package, []):
        sources += [("jinja2.ext:babel_extract", p) for p in _template_files(folder)]
    for method, path in sources:
        options = (
            {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trimmed": "false"}
            if method != "python"
            else {}
        )
        for lineno, message, comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            catalog.add(
                message, locations=[(str(path.relative_to(ROOT)), lineno)], auto_comments=comments
            )
    return catalog


def catalogue_file(package: str, locale: str) -> Path | None:
    package_dir = _package_dir(package)
    return None if package_dir is None else package_dir / "locale" / f"{locale}.po"


def _read(path: Path, locale: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale, project="merito")
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def missing(package: str, locale: str) -> list[str]:
    """Return message ids used by `package` that its `locale` catalogue does not translate."""
    path = catalogue_file(package, locale)
    if path is None:
        return []
    existing = _read(path, locale)
    problems = []
    for message in extract(package):
        if not message.id:
            continue
        found = existing.get(message.id)
        if found is None or found.fuzzy:
            problems.append(message.id if isinstance(message.id, str) else message.id[0])
            continue
        strings = found.string if isinstance(found.string, tuple | list) else (found.string,)
        if not all(strings):
            problems.append(message.id if isinstance(message.id, str) else message.id[0])
    return problems


def update(package: str) -> None:
    """Bring `package`'s catalogues in line with the messages its code and templates use."""
    template = extract(package)
    for locale in ("es", "en"):
        path = catalogue_file(package, locale)
        if path is None:
            continue
        old = _read(path, locale)
        new = Catalog(locale=locale, project="merito", fuzzy=False)
        for message in template:
            if not message.id:
                continue
            previous = old.get(message.id)
            if previous is not None and previous.string:
                string = previous.string
            elif locale == "en":
                string = message.id if isinstance(message.id, str) else tuple(message.id)
            else:
                string = "" if isinstance(message.id, str) else ("", "")
            new.add(message.id, string=string, locations=message.locations)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(
                fh, new, width=100, omit_header=False, sort_output=True, include_previous=False
            )


# --- strings never marked for translation -----------------------------------------------------
#
# A message that nobody wrapped in _() or N_() is never extracted, so `missing` cannot see it, and
# it reaches a Spanish page in English (the SLA board's section titles did). Python code is
# scanned for string literals that read like a sentence or a title (a capitalised word and at
# least one more) where user-facing text is kept: the values of module-level tables (dicts,
# lists, tuples), arguments to a class (a dataclass row, a domain error), keyword arguments named
# like display text, and return values. Docstrings, comments, log and CLI output (not in those
# places) and anything inside a marking call are not flagged.

_SENTENCE = re.compile(r"^[A-Z][a-z]*(?:[ ,]\S+)+$")
_MARKERS = frozenset({"_", "N_", "gettext", "ngettext", "lazy_gettext"})
_DISPLAY_KEYWORDS = frozenset({"title", "label", "message", "heading", "hint", "text"})
# Modules whose literals are data, not messages: the demo's generators (`demo.py`, `demo_*.py`,
# the `backend/demo/` package) write names, units, posts, questions and comments in Spanish (or
# into bilingual columns), as an organisation's own records would be.


def _is_demo_data(path: Path) -> bool:
    return path.name == "demo.py" or path.name.startswith("demo_") or path.parent.name == "demo"


# Errors raised to an operator at a terminal (in English, like the rest of the CLI), never shown
# on a page: the built-in ones and those the CLI prints.
_OPERATOR_ERRORS = frozenset(
    {"RuntimeError", "ValueError", "TypeError", "KeyError", "NotMigratedError", "DemoError"}
)
# OpenAPI documentation (`description=` of a field, a response's "description") is written for
# developers, in English, like the rest of the API reference.
_DOCUMENTATION_KEYS = frozenset({"description"})


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _display_place(node: ast.Constant, parents: dict[ast.AST, ast.AST]) -> str:
    """Return where a string literal is kept for display ("" when it is not such a place)."""
    above = parents.get(node)
    if isinstance(above, ast.Dict | ast.List | ast.Tuple | ast.Set):
        if isinstance(above, ast.Dict):
            if node in above.keys:
                return ""
            key = above.keys[above.values.index(node)]
            if isinstance(key, ast.Constant) and key.value in _DOCUMENTATION_KEYS:
                return ""
        top = above
        while isinstance(parents.get(top), ast.Dict | ast.List | ast.Tuple | ast.Set):
            top = parents[top]
        statement = parents.get(top)
        if isinstance(statement, ast.Assign | ast.AnnAssign) and isinstance(
            parents.get(statement), ast.Module
        ):
            return "table"
        return ""
    if isinstance(above, ast.keyword) and above.arg in _DISPLAY_KEYWORDS:
        return f"{above.arg}="
    if isinstance(above, ast.Call) and node in above.args:
        name = _callee(above)
        if name[:1].isupper() and name not in _OPERATOR_ERRORS:
            return f"{name}(…)"
    if isinstance(above, ast.Return):
        return "return"
    return ""


def _inside_marker(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    above = parents.get(node)
    while above is not None:
        if isinstance(above, ast.Call) and _callee(above) in _MARKERS:
            return True
        above = parents.get(above)
    return False


def unmarked_in_source(source: str, filename: str = "<source>") -> list[str]:
    """Return `file:line: place: 'text'` for each user-facing string not marked for translation."""
    tree = ast.parse(source, filename=filename)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        text = node.value
        if "\n" in text or not _SENTENCE.match(text.strip()):
            continue
        place = _display_place(node, parents)
        if place and not _inside_marker(node, parents):
            found.append(f"{filename}:{node.lineno}: {place}: {text!r}")
    return found


def unmarked(package: str) -> list[str]:
    """Return the user-facing strings in `package`'s Python code that are not marked."""
    package_dir = _package_dir(package)
    if package_dir is None:
        return []
    found = []
    for path in _python_files(package_dir):
        if not _is_demo_data(path):
            name = path.relative_to(ROOT).as_posix()
            found += unmarked_in_source(path.read_text(encoding="utf-8"), name)
    return found


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "check"
    packages = argv[2:] or list(CATALOGUE_SOURCES)
    if action == "update":
        for package in packages:
            update(package)
        action = "check"
    failures = 0
    for package in packages:
        for locale in ("es", "en"):
            for message_id in missing(package, locale):
                failures += 1
                print(f"{package} [{locale}] untranslated: {message_id!r}")
        for problem in unmarked(package):
            failures += 1
            print(f"{package} not marked for translation: {problem}")
    if failures:
        print(f"{failures} untranslated or unmarked message(s).")
        return 1
    print("All catalogues complete.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
