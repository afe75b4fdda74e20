"""Translations (Babel .po catalogues, es and en) and locale negotiation.

Each domain package ships its own catalogues in `<package>/locale/<lang>.po`; they are merged at
start-up. Message ids are English source strings; `N_` marks a string for extraction without
translating it (module-level labels are translated where they are shown).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from functools import lru_cache
from importlib import import_module
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, parse_pattern
from babel.support import Format

from backend import plugins

LOCALES = ("es", "en")
LOCALE_NAMES = {"es": "Español", "en": "English"}
DEFAULT_LOCALE = "es"
# Packages that ship a locale/ folder. A new domain package adds itself here.

_current_locale: contextvars.ContextVar[str] = contextvars.ContextVar(
    "merito_locale", default=DEFAULT_LOCALE
)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Return `message` untranslated; marks it for extraction."""
    return message


def catalogue_packages() -> tuple[str, ...]:
    """The packages holding message catalogues: the core, then each plugin's (`catalogue`)."""
    found = ["backend"]
    for plugin in plugins.installed():
        if plugin.catalogue and plugin.catalogue not in found:
            found.append(plugin.catalogue)
    return tuple(found)


def catalogue_path(package: str, locale: str) -> Path:
    """Return the path of `package`'s catalogue for `locale`."""
    module = import_module(package)
    return Path(module.__file__).parent / "locale" / f"{locale}.po"


@lru_cache
def _catalogue(locale: str) -> dict[str, str | tuple[str, ...]]:
    merged: dict[str, str | tuple[str, ...]] = {}
    for package in catalogue_packages():
        try:
            path = catalogue_path(package, locale)
        except ModuleNotFoundError:
            continue
        if not path.exists():
            continue
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            # A message shared by two packages must read the same (a test checks); the
            # first package listed wins if they ever differ.
            if key in merged:
                continue
            if isinstance(message.string, tuple | list):
                if all(message.string):
                    merged[key] = tuple(message.string)
            elif message.string:
                merged[key] = message.string
    return merged


def reload_catalogues() -> None:
    """Forget loaded catalogues (after editing a .po file)."""
    _catalogue.cache_clear()


def get_locale() -> str:
    """Return the locale of the current request (or task)."""
    return _current_locale.get()


def set_locale(locale: str) -> contextvars.Token:
    """Make `locale` current for this context; returns a token for reset."""
    return _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Run a block in `locale` (used by the CLI, mail and tests)."""
    token = set_locale(locale)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str, **params: object) -> str:
    """Return `message` translated into the current locale, formatted with `params`."""
    translated = _catalogue(get_locale()).get(message, message)
    if isinstance(translated, tuple):
        translated = translated[0]
    return translated % params if params else translated


_ = gettext


def plural_form(singular: str, plural: str, n: int) -> str:
    """Return the translated singular or plural form of a message for `n`, unformatted (Jinja's
    `ngettext` formats it with the template's variables)."""
    entry = _catalogue(get_locale()).get(singular)
    if isinstance(entry, tuple):
        # Both our locales have two plural forms: n == 1 and the rest.
        return entry[0] if n == 1 else entry[min(1, len(entry) - 1)]
    return singular if n == 1 else plural


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """Return the singular or plural form of a message for `n`, translated."""
    params.setdefault("num", n)
    return plural_form(singular, plural, n) % params


def negotiate(accept_language: str | None) -> str | None:
    """Return the best of our locales for an Accept-Language header, or None."""
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, rest = piece.partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LOCALES and quality > 0:
            choices.append((-quality, index, language))
    if not choices:
        return None
    return sorted(choices)[0][2]


@lru_cache
def _formatter(locale: str) -> Format:
    return Format("es_MX" if locale == "es" else "en_US")


def fmt() -> Format:
    """Return a Babel formatter for the current locale (numbers, dates)."""
    return _formatter(get_locale())


@lru_cache
def _integer_symbols(locale: str) -> tuple[str, str] | None:
    """The group separator and minus sign of `locale`'s numbers, when its whole numbers are
    grouped by thousands (as in both locales); None when they are not."""
    babel_locale = _formatter(locale).locale
    pattern = babel_locale.decimal_formats[None]
    if pattern.grouping != (3, 3) or pattern.prefix != ("", "-") or pattern.suffix != ("", ""):
        return None
    symbols = babel_locale.number_symbols["latn"]
    return symbols["group"], symbols["minusSign"]


def integer_text(value: int) -> str:
    """Return a whole number in the current locale ("12,345"): what Babel's `number` gives,
    without its decimal arithmetic (a page of counts calls this hundreds of times).
    tests/unit/test_number_text.py holds the two to the same answers."""
    symbols = _integer_symbols(get_locale())
    if symbols is None:
        return fmt().number(value)
    group, minus = symbols
    text = f"{abs(value):,}".replace(",", group)
    return minus + text if value < 0 else text


@lru_cache
def number_pattern(digits: int, percent: bool = False) -> NumberPattern:
    """The pattern of a grouped number with `digits` decimals (a percentage with `percent`),
    parsed once: a heatmap formats hundreds of numbers, and parsing the pattern again for each
    was half the cost of formatting it."""
    decimals = f".{'0' * digits}" if digits else ""
    return parse_pattern(f"#,##0{decimals}{'%' if percent else ''}")


def localized(obj: object, field: str) -> str:
    """Return `obj.<field>_<locale>`, falling back to Spanish then English."""
    locale = get_locale()
    for candidate in (locale, "es", "en"):
        value = getattr(obj, f"{field}_{candidate}", None)
        if value:
            return value
    return ""


def pick(texts: dict[str, str] | None) -> str:
    """Return the current locale's entry of a {'es': …, 'en': …} mapping."""
    if not texts:
        return ""
    return texts.get(get_locale()) or texts.get("es") or texts.get("en") or ""


# One date style per context (issue #13): tables, lists and facts show the medium date ("7 dic
# 2026", "Dec 7, 2026"), sentences the long one ("7 de diciembre de 2026"). Times show hours and
# minutes, in Spanish on the 24-hour clock: "a.m." ended in a full stop, so a sentence ending
# with a time read "12:51:54 a.m..".
DATE_STYLES = {
    "table": "medium",
    "sentence": "long",
    "medium": "medium",
    "short": "medium",  # "07/12/26" was a third style beside ISO dates; tables use one
    "long": "long",
    "full": "full",
}
TIME_PATTERNS = {"es": "HH:mm", "en": "h:mm a"}


def date_text(value: date, style: str = "table") -> str:
    """Return a calendar day in the current locale: `table` (medium) or `sentence` (long)."""
    return _date_text(value, style, get_locale())


@lru_cache(maxsize=4096)
def _date_text(value: date, style: str, locale: str) -> str:
    # Remembered: a list shows the same few days again and again, and Babel takes several
    # microseconds for each.
    return _formatter(locale).date(value, DATE_STYLES.get(style, "medium"))


def time_text(value: datetime | time) -> str:
    """Return a time of day in the current locale, to the minute, with no trailing period."""
    return fmt().time(value, TIME_PATTERNS.get(get_locale(), "HH:mm"))


def datetime_text(value: datetime, style: str = "table") -> str:
    """Return a local moment as its day in `style` and its time: "7 dic 2026, 00:51"."""
    return f"{date_text(value.date(), style)}, {time_text(value)}"


_SIZE_UNITS = ("KB", "MB", "GB", "TB")


def file_size_text(size: int | None) -> str:
    """Return a file size for people: "80 bytes", "1 byte", "1.2 KB", "3 MB" (1 KB = 1,024
    bytes), with the locale's number formatting. An 80-byte file used to read "(0 KB)"."""
    if size is None:
        return ""
    if size < 1024:
        return ngettext("%(num)s byte", "%(num)s bytes", size, num=fmt().number(size))
    value, unit = size / 1024, 0
    while value >= 1024 and unit < len(_SIZE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    digits = "#,##0" if value >= 100 else "#,##0.#"
    return f"{fmt().decimal(value, format=digits)} {_SIZE_UNITS[unit]}"
