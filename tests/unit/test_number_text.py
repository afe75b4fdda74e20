"""Whole numbers on pages: the fast path gives exactly what Babel's formatter gives."""

import pytest

from backend import i18n
from backend.web import format_number

VALUES = [0, 1, -1, 7, 999, 1000, -1000, 1234, 12345, 123456, 999999, 1000000, -1234567, 10**12]


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_integer_text_matches_babel(locale):
    with i18n.use_locale(locale):
        for value in VALUES:
            assert i18n.integer_text(value) == i18n.fmt().number(value), value


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_format_number_rounds_then_groups(locale):
    with i18n.use_locale(locale):
        assert format_number(1234.6) == i18n.fmt().number(1235)
        assert format_number(-0.4) == "0"
        assert format_number(None) == "—"


def test_a_locale_not_grouped_by_thousands_falls_back_to_babel(monkeypatch):
    monkeypatch.setattr(i18n, "_integer_symbols", lambda locale: None)
    calls = []
    original = i18n.fmt

    class Spy:
        def number(self, value):
            calls.append(value)
            return original().number(value)

    monkeypatch.setattr(i18n, "fmt", lambda: Spy())
    with i18n.use_locale("es"):
        assert i18n.integer_text(12345) == "12,345"
    assert calls == [12345]
