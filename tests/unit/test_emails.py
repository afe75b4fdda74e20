"""The one email-address check (backend/emails.py) and the settings that hold addresses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend import emails
from backend.config import Settings
from backend.i18n import use_locale

GOOD = [
    ("rosa@mail.example", "rosa@mail.example"),
    ("Rosa.Paredes@Mail.Example", "rosa.paredes@mail.example"),
    ("  ana+vacantes@example.org ", "ana+vacantes@example.org"),
    ("o'brien@sub.example.org", "o'brien@sub.example.org"),
]
BAD = [
    "",
    "rosa",
    "rosa@",
    "@mail.example",
    "rosa@mail",  # no domain a message could reach
    "rosa@localhost",
    "rosa@@mail.example",
    "rosa@mail..example",
    "rosa@mail.example\r\nBcc: everyone@example.org",
    "rosa@mail.example\n",
    "rosa\r@mail.example",
    "ana@example.org, otro@example.org",  # a second recipient
    "ana,otro@example.org",
    "Rosa <rosa@mail.example>",  # a display name is not an address
    "<rosa@mail.example>",
    "rosa @mail.example",
    "rosa@[127.0.0.1]",
    "rosa@mail.example\x00",
    "a" * 250 + "@mail.example",
]


@pytest.mark.parametrize(("typed", "stored"), GOOD)
def test_a_real_address_is_accepted_and_stored_in_lower_case(typed, stored):
    assert emails.normalise_email(typed) == stored
    assert emails.email_problem(typed) is None


@pytest.mark.parametrize("typed", BAD, ids=range(len(BAD)))
def test_anything_that_is_not_one_address_is_refused_with_a_translated_message(typed):
    with use_locale("en"), pytest.raises(emails.InvalidEmail) as refused:
        emails.normalise_email(typed)
    assert "valid email address" in str(refused.value)
    with use_locale("es"):
        assert "correo electrónico válido" in emails.email_problem(typed)


def test_local_domains_are_accepted_only_where_asked_for():
    assert emails.normalise_email("no-reply@localhost", local_domains=True) == "no-reply@localhost"
    with pytest.raises(emails.InvalidEmail):
        emails.normalise_email("no-reply@localhost\r\nBcc: x@y.org", local_domains=True)


def test_the_sender_address_setting_is_checked(tmp_path):
    assert Settings(data_dir=tmp_path).smtp_from == "Mérito <no-reply@localhost>"
    assert Settings(data_dir=tmp_path, smtp_from="RH <rh@example.org>").smtp_from
    for bad in ("RH <rh@example.org>\r\nBcc: x@y.org", "RH <not an address>", "RH"):
        with pytest.raises(ValidationError, match="smtp_from"):
            Settings(data_dir=tmp_path, smtp_from=bad)


def test_the_staff_mail_domain_setting_is_checked(tmp_path):
    settings = Settings(data_dir=tmp_path, staff_email_domain=" Institute.Gob.MX, rh.example ")
    assert settings.staff_domains == ("institute.gob.mx", "rh.example")
    assert settings.is_staff_address("ana@institute.gob.mx")
    assert settings.is_staff_address("ana@mail.institute.gob.mx")
    assert not settings.is_staff_address("ana@notinstitute.gob.mx")
    assert not Settings(data_dir=tmp_path).is_staff_address("ana@institute.gob.mx")
    for bad in ("@institute.gob.mx", "institute", "a b.mx", "institute.gob.mx\nx.org"):
        with pytest.raises(ValidationError, match="staff_email_domain"):
            Settings(data_dir=tmp_path, staff_email_domain=bad)


def test_the_public_url_setting_must_be_an_http_address(tmp_path):
    assert (
        Settings(data_dir=tmp_path, public_url="https://merito.example.org/").public_url
        == "https://merito.example.org"
    )
    for bad in ("merito.example.org", "javascript:alert(1)", "https://", "https://a.org/?x=1"):
        with pytest.raises(ValidationError, match="public_url"):
            Settings(data_dir=tmp_path, public_url=bad)
