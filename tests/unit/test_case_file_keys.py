"""Pure parts of the case file: age-style keys, areas to black out, masking."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from whistleblowing.service import redaction, referrals
from whistleblowing.service.common import ReportingError

# The example recipient of age's own README: a key written by age parses here.
AGE_README_RECIPIENT = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"


def test_age_recipients_parse_and_round_trip():
    key = referrals.parse_recipient(AGE_README_RECIPIENT)
    assert len(key) == 32
    assert referrals.bech32_encode("age", key) == AGE_README_RECIPIENT
    recipient, secret = referrals.new_authority_key()
    assert recipient.startswith("age1") and secret.startswith("AGE-SECRET-KEY-1")
    assert referrals.parse_secret_key(f"# created now\n{secret}\n") == referrals.bech32_decode(
        secret, "age-secret-key-"
    )


@pytest.mark.parametrize(
    "typed",
    [
        AGE_README_RECIPIENT[:-1] + "q",  # checksum
        AGE_README_RECIPIENT.replace("ql3z", "ql3y"),  # one symbol changed
        AGE_README_RECIPIENT[:-6],  # truncated
        "age1" + "q" * 10,
        "AGE-SECRET-KEY-1" + AGE_README_RECIPIENT[4:].upper(),  # a private key's prefix
        "",
    ],
)
def test_a_mistyped_recipient_is_refused_in_words(typed):
    with pytest.raises(ReportingError) as refused:
        referrals.parse_recipient(typed)
    assert refused.value.field == "recipient"


def test_a_key_file_without_a_private_key_is_refused():
    with pytest.raises(ReportingError):
        referrals.parse_secret_key(f"# public key: {AGE_README_RECIPIENT}\n")


@pytest.mark.parametrize(
    "typed", ["", "10 20 30", "10 20 30 x", "90 0 20 10", "0 0 0 10", "-1 0 5 5", "0 0 5 5\n" * 21]
)
def test_areas_must_be_four_percentages_inside_the_image(typed):
    with pytest.raises(ReportingError):
        redaction.parse_regions(typed)


def test_areas_are_read_one_a_line_with_commas_or_points():
    assert redaction.parse_regions("0 0 50 50\n10,5 20 5 5;1 1 1 1") == [
        [0, 0, 50, 50],
        [10.5, 20, 5, 5],
        [1, 1, 1, 1],
    ]


def test_black_out_paints_the_area_and_keeps_the_rest():
    source = io.BytesIO()
    Image.new("RGB", (100, 50), (10, 200, 10)).save(source, format="PNG")
    out = redaction.black_out(source.getvalue(), "image/png", [[50, 0, 50, 100]])
    image = Image.open(io.BytesIO(out))
    assert image.size == (100, 50)
    assert image.getpixel((75, 25))[:3] == (0, 0, 0)
    assert image.getpixel((25, 25))[:3] == (10, 200, 10)


def test_the_mask_hides_every_spelling_and_never_the_length():
    patterns = [redaction._pattern("Ana  María López")]
    masked = redaction.mask("ana maría LÓPEZ y Ana\nMaría López firmaron", patterns)
    assert masked == f"{redaction.MASK} y {redaction.MASK} firmaron"
