"""Service errors are read in English in these tests (Spanish is checked over HTTP)."""

import pytest

from backend import i18n


@pytest.fixture(autouse=True)
def english():
    with i18n.use_locale("en"):
        yield
