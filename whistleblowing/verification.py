"""What a signed file says, checked offline and told in the reader's language.

Certificates of reporting and burden-of-proof packs carry their signer's public key, so anyone
can check them without the database (`service.verify_certificate`,
`service.verify_signed_document`). This module turns such a check into a few translated lines,
the same for `merito verify-certificate` (its `--lang`) and the public page `/report/verify`:
the reporters the Spanish pages send there are not expected to read English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from backend.i18n import _, date_text
from whistleblowing import service as reporting
from whistleblowing.service.retaliation import PACK_TYPE

if TYPE_CHECKING:
    from typing import BinaryIO


@dataclass
class SignedFileCheck:
    """A checked file, told in the current locale."""

    valid: bool
    headline: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    fingerprint: str = ""


def compare_fingerprint_advice() -> str:
    """Return what the command line says when it was given no fingerprint to expect."""
    return _(
        "Compare the key fingerprint with the one shown on the reporting channel's first page "
        "(or pass it with --fingerprint)."
    )


def _kind(raw: bytes | str) -> str | None:
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found.get("type") if isinstance(found, dict) else None


def check_signed_file(raw: bytes | str, *, expected_fingerprint: str = "") -> SignedFileCheck:
    """Return whether a certificate of reporting or a burden-of-proof pack holds, and what it
    says, in the current locale. With `expected_fingerprint` the signer must be that key."""
    if _kind(raw) == PACK_TYPE:
        return _pack(raw, expected_fingerprint)
    check = reporting.verify_certificate(raw, expected_fingerprint=expected_fingerprint)
    if not check.valid:
        return SignedFileCheck(
            False,
            _("INVALID certificate: %(problem)s.", problem=_(check.problem)),
            fingerprint=check.fingerprint,
        )
    return SignedFileCheck(
        True,
        _("Valid certificate of reporting."),
        [
            (_("Reference"), check.reference),
            (_("Submitted on"), check.submitted_on),
            (_("Content hash"), check.content_sha256),
            (_("Signed by key"), check.fingerprint),
        ],
        check.fingerprint,
    )


def _pack(raw: bytes | str, expected_fingerprint: str) -> SignedFileCheck:
    check = reporting.verify_signed_document(
        raw, expected_type=PACK_TYPE, expected_fingerprint=expected_fingerprint
    )
    if not check.valid:
        return SignedFileCheck(
            False,
            _("INVALID burden-of-proof pack: %(problem)s.", problem=_(check.problem)),
            fingerprint=check.fingerprint,
        )
    pack = check.document
    report = pack.get("protected_report") or {}
    searched = pack.get("records_searched")
    records = (
        _(
            "employee %(employee)s, %(start)s to %(end)s",
            employee=searched.get("employee"),
            start=searched.get("from"),
            end=searched.get("to"),
        )
        if searched
        else _("none (the protected person is not identified)")
    )
    return SignedFileCheck(
        True,
        _("Valid burden-of-proof pack."),
        [
            (_("Complaint"), str(pack.get("complaint"))),
            (
                _("Protected report"),
                _(
                    "%(reference)s made on %(day)s",
                    reference=report.get("reference") or "-",
                    day=report.get("made_on"),
                ),
            ),
            (_("Adverse decisions after it"), str(len(pack.get("adverse_decisions", [])))),
            (_("Records searched"), records),
            (_("Signed by key"), check.fingerprint),
        ],
        check.fingerprint,
    )


def check_export(source: BinaryIO, *, expected_fingerprint: str = "") -> SignedFileCheck:
    """Return whether a signed case export (a ZIP) holds, and what it is, in the current
    locale; the same check for `merito verify-export` and the page `/verify-export`."""
    check = reporting.verify_export(source, expected_fingerprint=expected_fingerprint)
    if not check.valid:
        return SignedFileCheck(
            False,
            _("INVALID case export: %(problem)s.", problem=_(check.problem)),
            fingerprint=check.fingerprint,
        )
    return SignedFileCheck(
        True,
        _("Valid case export: every file is as it was signed."),
        [
            (_("Reference"), check.reference),
            (_("Exported on"), _day(check.exported_on)),
            (_("Files"), str(check.files)),
            (_("Signed by key"), check.fingerprint),
        ],
        check.fingerprint,
    )


def _day(value: str) -> str:
    try:
        return date_text(date.fromisoformat(value), "sentence")
    except ValueError:
        return value
