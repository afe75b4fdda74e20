"""Issue #13, defect 10: dates, times, counts and file sizes read as people write them.

One date style per context (medium in tables, long in sentences), a time without seconds or a
period that doubles a sentence's full stop, plural forms from the catalogues, and one file size
helper.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend import i18n, web

# 06:51:54 UTC is 00:51:54 in Mexico City (UTC-6, no daylight saving since 2022).
LATE_NIGHT = datetime(2026, 12, 7, 6, 51, 54, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "table", "sentence"),
    [
        ("es", "7 dic 2026, 00:51", "7 de diciembre de 2026, 00:51"),
        ("en", "Dec 7, 2026, 12:51 AM", "December 7, 2026, 12:51 AM"),
    ],
)
def test_a_moment_reads_to_the_minute_in_the_organisations_time_zone(locale, table, sentence):
    with i18n.use_locale(locale):
        assert web.format_datetime(LATE_NIGHT) == table
        assert web.format_datetime(LATE_NIGHT, "short") == table
        assert web.format_datetime(LATE_NIGHT, "long") == sentence
        assert web.format_datetime(LATE_NIGHT, "sentence") == sentence


def test_a_spanish_time_never_ends_in_a_period_a_sentence_would_double():
    with i18n.use_locale("es"):
        sentence = i18n._("Last sign-in") + ": " + web.format_datetime(LATE_NIGHT) + "."
        assert ".." not in sentence
        assert "a.m" not in sentence and ":54" not in sentence
        assert web.format_time(LATE_NIGHT) == "00:51"


@pytest.mark.parametrize(
    ("locale", "table", "sentence"),
    [
        ("es", "7 dic 2026", "7 de diciembre de 2026"),
        ("en", "Dec 7, 2026", "December 7, 2026"),
    ],
)
def test_a_day_has_a_table_style_and_a_sentence_style(locale, table, sentence):
    day = date(2026, 12, 7)
    with i18n.use_locale(locale):
        assert web.format_date(day) == table
        assert web.format_date(day, "short") == table  # no "07/12/26" beside the others
        assert web.format_date(day, "table") == table
        assert web.format_date(day, "sentence") == sentence
        assert web.format_date(day, "long") == sentence
        # A timestamp's day is the day in the organisation, not in UTC.
        assert web.format_date(datetime(2026, 12, 8, 3, 0, tzinfo=UTC)) == table


@pytest.mark.parametrize(
    ("size", "es", "en"),
    [
        (0, "0 bytes", "0 bytes"),
        (1, "1 byte", "1 byte"),
        (80, "80 bytes", "80 bytes"),
        (1023, "1,023 bytes", "1,023 bytes"),
        (1024, "1 KB", "1 KB"),
        (1260, "1.2 KB", "1.2 KB"),
        (150 * 1024, "150 KB", "150 KB"),
        (3 * 1024 * 1024, "3 MB", "3 MB"),
        (int(2.5 * 1024**3), "2.5 GB", "2.5 GB"),
    ],
)
def test_a_file_size_reads_in_bytes_or_kilobytes_never_zero_kb(size, es, en):
    with i18n.use_locale("es"):
        assert web.format_file_size(size) == es
    with i18n.use_locale("en"):
        assert web.format_file_size(size) == en


def test_file_sizes_use_the_catalogues_plural_forms():
    with i18n.use_locale("es"):
        assert i18n.ngettext("%(num)s byte", "%(num)s bytes", 1) == "1 byte"
        assert i18n._("%(num)s byte") == "%(num)s byte"
    # The Spanish entry is a real plural entry, not a fallback to the English source.
    entry = i18n._catalogue("es").get("%(num)s byte")
    assert isinstance(entry, tuple) and len(entry) == 2


def test_a_gap_counts_levels_in_the_singular_and_the_plural():
    with i18n.use_locale("es"):
        one = i18n.ngettext("%(num)s level below", "%(num)s levels below", 1)
        many = i18n.ngettext("%(num)s level below", "%(num)s levels below", 3)
    assert (one, many) == ("1 nivel por debajo", "3 niveles por debajo")


def test_a_remembered_day_is_remembered_per_locale_and_style():
    day = date(2026, 12, 7)
    for _ in range(2):  # the second pass reads what the first remembered
        with i18n.use_locale("es"):
            assert web.format_date(day) == "7 dic 2026"
            assert web.format_date(day, "sentence") == "7 de diciembre de 2026"
        with i18n.use_locale("en"):
            assert web.format_date(day) == "Dec 7, 2026"
            assert web.format_date(day, "sentence") == "December 7, 2026"
