"""The case file: redaction, viewers, the signed export and referral (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from PIL import Image
from pypdf import PdfReader

from backend import audit
from tests.reporting_helpers import add_holder, file_report, holder_private, open_as, ready_channel
from whistleblowing import service as reporting
from whistleblowing.models import RedactionKind, ReportOutcome

NAME = "Rosalía Gutiérrez"
TODAY = date(2026, 12, 7)


def _png(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(out, format="PNG")
    return out.getvalue()


def _case(session, settings, make_user):
    ready = ready_channel(session, settings, make_user)
    result = file_report(
        session,
        settings,
        ready.channel.id,
        what=f"{NAME} asked the supplier for a cut of every invoice.",
        who=f"{NAME}, head of purchasing",
        files=[
            reporting.Upload(f"minutes {NAME}.txt", f"Minutes signed by {NAME}".encode()),
            reporting.Upload("badge.png", _png()),
        ],
    )
    access = open_as(session, ready.investigator, result.report.reference)
    return ready, result, access


def _export(session, settings, access, actor) -> bytes:
    handle = reporting.export_file(session, settings, access=access, actor=actor, today=TODAY)
    with handle:
        return handle.read()


def _flag_offsets(raw: bytes) -> list[int]:
    """Where the two bytes of general-purpose flags sit in every local and central header."""
    archive = zipfile.ZipFile(io.BytesIO(raw))
    local = [info.header_offset + 6 for info in archive.infolist()]
    central, start = [], raw.rindex(b"PK\x05\x06")
    position = int.from_bytes(raw[start + 16 : start + 20], "little")
    while raw[position : position + 4] == b"PK\x01\x02":
        central.append(position + 8)
        lengths = [
            int.from_bytes(raw[position + k : position + k + 2], "little") for k in (28, 30, 32)
        ]
        position += 46 + sum(lengths)
    assert len(central) == len(local) == len(archive.namelist())
    return [offset + k for offset in local + central for k in (0, 1)]


def _files(session, access) -> dict[str, str]:
    entry = reporting.timeline(session, access=access)[0]
    return {a.name: a.uid for a in entry.attachments}


def test_redacted_export_verifies_hides_the_name_and_fails_on_any_changed_byte(
    session, settings, make_user
):
    ready, _result, access = _case(session, settings, make_user)
    investigator = ready.investigator
    files = _files(session, access)
    reporting.add_redaction(
        session,
        settings,
        access=access,
        actor=investigator,
        kind=RedactionKind.text,
        reason="third-party",
        phrase="rosalía   GUTIÉRREZ",
        today=TODAY,
    )
    reporting.add_redaction(
        session,
        settings,
        access=access,
        actor=investigator,
        kind=RedactionKind.attachment,
        reason="witness",
        attachment_uid=files[f"minutes {NAME}.txt"],
        today=TODAY,
    )
    reporting.add_redaction(
        session,
        settings,
        access=access,
        actor=investigator,
        kind=RedactionKind.region,
        reason="third-party",
        attachment_uid=files["badge.png"],
        regions="0 0 50 100",
        today=TODAY,
    )
    session.commit()
    actions = [e.action for e in session.exec(audit.entries(entity_id=access.report.reference))]
    assert actions.count("report.redaction_added") == 3
    # The original is untouched for holders.
    assert NAME in reporting.timeline(session, access=access)[0].content["what"]

    raw = _export(session, settings, access, investigator)
    session.commit()
    assert "report.exported" in [
        e.action for e in session.exec(audit.entries(entity_id=access.report.reference))
    ]
    archive = zipfile.ZipFile(io.BytesIO(raw))
    names = archive.namelist()
    assert names[:3] == ["case.json", "audit.json", "case.pdf"] and names[-1] == "manifest.json"
    assert not any("minutes" in n for n in names)  # the withheld file is not there
    for name in names:
        data = archive.read(name)
        assert NAME.encode() not in data and "Gutiérrez".encode() not in data, name
    pdf_text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(archive.read("case.pdf"))).pages
    )
    assert "Gutiérrez" not in pdf_text and reporting.MASK in pdf_text
    assert "head of purchasing" in pdf_text
    image = Image.open(io.BytesIO(archive.read(next(n for n in names if n.endswith(".png")))))
    assert image.getpixel((5, 5))[:3] == (0, 0, 0) and image.getpixel((35, 5))[:3] == (200, 30, 30)

    fingerprint = reporting.signing_fingerprint(session, settings)
    check = reporting.verify_export(io.BytesIO(raw), expected_fingerprint=fingerprint)
    assert check.valid, check.problem
    assert check.reference == access.report.reference
    assert not reporting.verify_export(io.BytesIO(raw), expected_fingerprint="00" * 16).valid
    # One changed byte anywhere (a file, a header, the directory, the manifest) fails.
    step = max(1, len(raw) // 97)
    for position in [*range(0, len(raw), step), len(raw) - 1]:
        changed = bytearray(raw)
        changed[position] ^= 0x01
        assert not reporting.verify_export(io.BytesIO(bytes(changed))).valid, position
    assert not reporting.verify_export(io.BytesIO(raw + b"\x00")).valid


def test_an_export_whose_headers_claim_encryption_or_any_other_flag_is_refused_not_a_crash(
    session, settings, make_user
):
    ready, _result, access = _case(session, settings, make_user)
    raw = _export(session, settings, access, ready.investigator)
    assert reporting.verify_export(io.BytesIO(raw)).valid
    # Every bit of every header's flags: encryption made `zipfile` raise instead of answering.
    for position in _flag_offsets(raw):
        for bit in range(8):
            changed = bytearray(raw)
            changed[position] ^= 1 << bit
            check = reporting.verify_export(io.BytesIO(bytes(changed)))
            assert not check.valid and check.problem, (position, bit)


def test_a_viewer_reads_only_the_redacted_copy(session, settings, make_user):
    ready, _result, access = _case(session, settings, make_user)
    viewer = add_holder(session, settings, make_user, "investigator")
    stranger = add_holder(session, settings, make_user, "investigator")
    reporting.add_redaction(
        session,
        settings,
        access=access,
        actor=ready.investigator,
        kind=RedactionKind.text,
        reason="third-party",
        phrase=NAME,
        today=TODAY,
    )
    assert viewer in reporting.viewer_candidates(session, access)
    reporting.grant_viewer(
        session, settings, access=access, actor=ready.investigator, grantee=viewer, today=TODAY
    )
    session.commit()
    # The viewer holds no report key: the case itself stays closed to them.
    with pytest.raises(reporting.ReportingError) as refused:
        open_as(session, viewer, access.report.reference)
    assert refused.value.status_code == 404
    seen = reporting.open_viewed_case(
        session,
        user=viewer,
        holder_private=holder_private(session, viewer),
        reference=access.report.reference,
    )
    texts = " ".join(text for e in seen.entries for _k, text in e["texts"])
    assert NAME not in texts and reporting.MASK in texts and "head of purchasing" in texts
    view, data = reporting.read_viewed_file(settings, seen, next(iter(seen.files)))
    assert data and view.name.startswith("minutes") and NAME not in view.name
    with pytest.raises(reporting.ReportingError):
        reporting.open_viewed_case(
            session,
            user=stranger,
            holder_private=holder_private(session, stranger),
            reference=access.report.reference,
        )
    # A redaction added later reaches the viewer's copy; removing one shows the words again.
    reporting.add_redaction(
        session,
        settings,
        access=access,
        actor=ready.investigator,
        kind=RedactionKind.text,
        reason="irrelevant",
        phrase="head of purchasing",
        today=TODAY,
    )
    session.commit()
    again = reporting.open_viewed_case(
        session,
        user=viewer,
        holder_private=holder_private(session, viewer),
        reference=access.report.reference,
    )
    assert "head of purchasing" not in " ".join(t for e in again.entries for _k, t in e["texts"])
    reporting.revoke_viewer(
        session, report=access.report, actor=ready.investigator, user_id=viewer.id
    )
    session.commit()
    with pytest.raises(reporting.ReportingError):
        reporting.open_viewed_case(
            session,
            user=viewer,
            holder_private=holder_private(session, viewer),
            reference=access.report.reference,
        )


def test_a_referral_opens_with_the_authority_key_only(session, settings, make_user):
    ready, _result, access = _case(session, settings, make_user)
    admin = make_user("admin")
    recipient, secret = reporting.new_authority_key()
    _other_recipient, other_secret = reporting.new_authority_key()
    with pytest.raises(reporting.ReportingError) as bad:
        reporting.register_authority(
            session,
            actor=admin,
            name="Fiscalía",
            recipient=recipient[:-1] + ("p" if recipient[-1] == "q" else "q"),
            today=TODAY,
        )
    assert bad.value.field == "recipient"
    authority = reporting.register_authority(
        session,
        actor=admin,
        name="Fiscalía Especializada en Combate a la Corrupción",
        recipient=recipient,
        today=TODAY,
    )
    session.commit()
    with pytest.raises(reporting.ReportingError) as early:
        reporting.refer_case(
            session, access=access, actor=ready.investigator, authority_id=authority.id, today=TODAY
        )
    assert early.value.status_code == 409
    reporting.acknowledge(
        session, settings, access=access, actor=ready.investigator, text="Received."
    )
    reporting.change_status(
        session, settings, access=access, actor=ready.investigator, status="triage"
    )
    referral = reporting.refer_case(
        session, access=access, actor=ready.investigator, authority_id=authority.id, today=TODAY
    )
    session.commit()
    assert access.report.outcome == ReportOutcome.referred
    handle, _name = reporting.referral_file(
        session, settings, access=access, actor=ready.investigator, uid=referral.uid, today=TODAY
    )
    with handle:
        sealed = handle.read()
    assert b"Gutierrez" not in sealed and "Gutiérrez".encode() not in sealed
    out = io.BytesIO()
    header = reporting.decrypt_referral(
        io.BytesIO(sealed), out, secret_key=reporting.parse_secret_key(secret)
    )
    assert header["reference"] == access.report.reference
    assert reporting.verify_export(io.BytesIO(out.getvalue())).valid
    with pytest.raises(reporting.ReferralNotOpened):
        reporting.decrypt_referral(
            io.BytesIO(sealed), io.BytesIO(), secret_key=reporting.parse_secret_key(other_secret)
        )
