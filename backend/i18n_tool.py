"""Keeps the translation catalogues complete: `python -m backend.i18n_tool [check|update]`.

Each package owns `<package>/locale/es.po` and `en.po` covering the messages of its Python code
and of its template folders (CATALOGUE_SOURCES). `update` extracts every message, adds new ones
to both catalogues (English filled with the source text, Spanish left empty for a translator)
and drops messages no longer used. `check` lists messages without a translation; the test-suite
runs it and fails on any.
"""

from __future__ import annotations

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
    "backend": ["", "partials", "auth", "admin", "dashboard", "org"],
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
    if failures:
        print(f"{failures} untranslated message(s).")
        return 1
    print("All catalogues complete.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
