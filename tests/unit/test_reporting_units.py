"""Pure parts of the reporting channel: certificates, file checks, deadlines, form parsing."""

from __future__ import annotations

import base64
import io
import json
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend import crypto
from whistleblowing import attachments, deadlines
from whistleblowing import service as reporting

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _certificate() -> tuple[dict, crypto.KeyPair]:
    signer = crypto.generate_signing_key()
    body = {
        "type": reporting.CERTIFICATE_TYPE,
        "version": 1,
        "reference": "WB-ABCD-EFGH",
        "submitted_on": "2026-11-26",
        "content_sha256": "ab" * 32,
        "public_key": base64.b64encode(signer.public).decode(),
    }
    signature = crypto.sign(signer.private, reporting.canonical_json(body))
    return {**body, "signature": base64.b64encode(signature).decode()}, signer


def test_certificate_verifies_and_binds_the_expected_fingerprint() -> None:
    certificate, signer = _certificate()
    check = reporting.verify_certificate(json.dumps(certificate))
    assert check.valid and check.reference == "WB-ABCD-EFGH"
    expected = crypto.fingerprint(signer.public)
    assert reporting.verify_certificate(
        json.dumps(certificate), expected_fingerprint=expected.lower()
    ).valid
    other = crypto.fingerprint(crypto.generate_signing_key().public)
    assert not reporting.verify_certificate(
        json.dumps(certificate), expected_fingerprint=other
    ).valid


@FAST
@given(
    field=st.sampled_from(["reference", "submitted_on", "content_sha256"]),
    value=st.text(max_size=20),
)
def test_any_changed_certificate_field_breaks_the_signature(field: str, value: str) -> None:
    certificate, _ = _certificate()
    if certificate[field] == value:
        value += "x"
    certificate[field] = value
    assert not reporting.verify_certificate(json.dumps(certificate)).valid


@FAST
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_verify_certificate_never_crashes_on_garbage(raw) -> None:
    assert reporting.verify_certificate(raw).valid is False


def test_a_certificate_signed_with_another_key_but_claiming_ours_fails() -> None:
    certificate, _ = _certificate()
    certificate["public_key"] = base64.b64encode(crypto.generate_signing_key().public).decode()
    assert not reporting.verify_certificate(json.dumps(certificate)).valid


@FAST
@given(data=st.binary(max_size=400), name=st.text(max_size=40))
def test_attachment_check_refuses_or_accepts_but_never_crashes(data: bytes, name: str) -> None:
    try:
        clean = attachments.clean(name, data)
    except attachments.AttachmentRefused as refused:
        assert str(refused)
        return
    assert clean.file_type.code in attachments.FILE_TYPES
    assert "/" not in clean.filename and "\\\\" not in clean.filename


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00"),  # a Windows executable
        ("photo.jpg", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20),  # a PNG wearing a JPEG name
        ("notes.txt", b"%PDF-1.7\n"),  # a PDF wearing a text name
        ("script.sh", b"#!/bin/sh\nrm -rf /\n"),  # text, but not an allowed name
        ("minutes.docx", b"PK\x03\x04" + b"\x00" * 30),  # office documents are refused
    ],
)
def test_disguised_and_unaccepted_files_are_refused(name: str, data: bytes) -> None:
    with pytest.raises(attachments.AttachmentRefused):
        attachments.clean(name, data)


def test_png_text_chunks_and_jpeg_exif_are_removed() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "PNG-AUTHOR-MARKER")
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 4)).save(buffer, format="PNG", pnginfo=info)
    cleaned = attachments.clean("a.png", buffer.getvalue())
    assert b"PNG-AUTHOR-MARKER" not in cleaned.data
    assert Image.open(io.BytesIO(cleaned.data)).size == (8, 8)


def test_pdf_metadata_is_removed_and_encrypted_pdfs_are_refused() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.add_metadata({"/Author": "PDFAUTHORMARKER", "/Creator": "PDFCREATORMARKER"})
    buffer = io.BytesIO()
    writer.write(buffer)
    assert b"PDFAUTHORMARKER" in buffer.getvalue()
    cleaned = attachments.clean("a.pdf", buffer.getvalue())
    assert b"PDFAUTHORMARKER" not in cleaned.data and b"PDFCREATORMARKER" not in cleaned.data
    assert cleaned.data.startswith(b"%PDF-")
    locked = PdfWriter()
    locked.add_blank_page(100, 100)
    locked.encrypt("secret")
    buffer = io.BytesIO()
    locked.write(buffer)
    with pytest.raises(attachments.AttachmentRefused):
        attachments.clean("locked.pdf", buffer.getvalue())


@FAST
@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_three_months_later_is_a_calendar_date_three_months_on(day: date) -> None:
    later = deadlines.add_months(day, 3)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == 3
    assert later.day <= day.day
    assert timedelta(days=88) <= later - day <= timedelta(days=92)


def test_store_writes_only_ciphertext_and_detects_a_swapped_file(tmp_path) -> None:
    key = crypto.new_session_key()
    first, second = attachments.new_uid(), attachments.new_uid()
    attachments.store(
        tmp_path, first, key=key, data=b"PLAIN-MARKER " * 100, aad=b"a|" + first.encode()
    )
    attachments.store(tmp_path, second, key=key, data=b"other", aad=b"a|" + second.encode())
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 2
    assert all(b"PLAIN-MARKER" not in p.read_bytes() for p in files)
    # Put the second file's ciphertext under the first's name: the AAD no longer matches.
    path_first = next(p for p in files if p.name == first)
    path_second = next(p for p in files if p.name == second)
    path_first.write_bytes(path_second.read_bytes())
    with pytest.raises(crypto.DecryptionError):
        attachments.load(tmp_path, first, key=key, aad=b"a|" + first.encode())
    with pytest.raises(ValueError):
        attachments.load(tmp_path, "../../etc/passwd", key=key, aad=b"")
