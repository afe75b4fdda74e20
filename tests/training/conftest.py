"""Training tests read messages in English (service calls run outside a request)."""

import pytest

from backend import i18n


@pytest.fixture(autouse=True)
def english():
    with i18n.use_locale("en"):
        yield
