"""The signed case export: a ZIP of the redacted case and its offline check.

Inside: `case.json` (the facts, the timeline, the decisions, the referrals), `audit.json` (the
case's audit entries, hidden words masked), `case.pdf` (the same, to read), `files/…` (the
attachments of the redacted version: withheld ones left out, images with areas blacked out)
and `manifest.json`, which lists every other file with its size and SHA-256 and is signed with
the installation's Ed25519 key (`keys.sign_document`).

The archive is written deterministically (stored, not compressed; fixed dates, attributes and
order; data descriptors), so the check rebuilds it from what it read and compares the two byte
for byte: a changed byte anywhere, in a file or in the ZIP's own structure, fails it.

Attachments are decrypted chunk by chunk straight into the archive, which is built in an
unnamed temporary file: memory stays bounded by a chunk and the largest image whose areas are
blacked out, whatever the size of the case (bench/case_export.py).
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any, BinaryIO

from sqlmodel import Session, col, select

from backend import audit, crypto
from backend.audit import AuditEntry
from backend.auth.models import User
from backend.config import Settings
from backend.i18n import N_, _
from whistleblowing import attachments
from whistleblowing.models import CaseReferral, ReferralAuthority, ReportChannel
from whistleblowing.service.common import CaseAccess, ReportingError, TamperedCase
from whistleblowing.service.export_pdf import case_pdf
from whistleblowing.service.keys import sign_document, verify_signed_document
from whistleblowing.service.redaction import (
    mask,
    original_file_key,
    redacted_case,
    redacted_file_bytes,
)

EXPORT_TYPE = "merito-case-export"
MANIFEST = "manifest.json"
# Every entry of the archive carries these, so the check can rebuild it byte for byte.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_CHUNK = 64 * 1024
MAX_EXPORT_FILES = 10_000
# The only ZIP flags an export's writer sets: sizes in a data descriptor, UTF-8 names. Any
# other (encryption above all, which `zipfile` answers with an exception) means tampering.
_EXPORT_FLAGS = 0x0008 | 0x0800


class _Sink:
    """A write-only, unseekable file that hashes what passes through (and keeps it, when
    given a target): the ZIP writer then uses data descriptors, the same way both times."""

    def __init__(self, target: IO[bytes] | None = None) -> None:
        self.target = target
        self.digest = crypto.new_digest()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        if self.target is not None:
            self.target.write(data)
        return len(data)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.size


class _Entry:
    """One file being written into the archive: hashed and counted as it goes."""

    def __init__(self, archive: zipfile.ZipFile, path: str) -> None:
        self.stream = archive.open(_info(path), "w")
        self.digest = crypto.new_digest()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.stream.write(data)


def _info(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=_FIXED_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def _safe_name(position: int, name: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]+", "_", name, flags=re.UNICODE).strip(" ._") or "file"
    return f"files/{position:03d}-{cleaned[:80]}"


@dataclass
class _Writer:
    archive: zipfile.ZipFile
    listed: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: str, data: bytes) -> None:
        entry = _Entry(self.archive, path)
        entry.write(data)
        self._close(path, entry)

    def add_stream(self, path: str) -> _Entry:
        return _Entry(self.archive, path)

    def _close(self, path: str, entry: _Entry) -> None:
        entry.stream.close()
        self.listed.append({"path": path, "size": entry.size, "sha256": entry.digest.hexdigest()})


def _masked(value: Any, patterns) -> Any:
    if isinstance(value, str):
        return mask(value, patterns)
    if isinstance(value, dict):
        return {k: _masked(v, patterns) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, patterns) for v in value]
    return value


def audit_trail(session: Session, reference: str, patterns) -> list[dict[str, Any]]:
    """Return the case's audit entries, oldest first, with hidden words masked."""
    rows = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "report", AuditEntry.entity_id == reference)
        .order_by(col(AuditEntry.seq))
    ).all()
    return [
        {
            "seq": row.seq,
            "at": row.at.isoformat(),
            "actor": mask(row.actor, patterns),
            "action": row.action,
            "before": _masked(row.before, patterns),
            "after": _masked(row.after, patterns),
            "hash": row.hash,
            "prev_hash": row.prev_hash,
        }
        for row in rows
    ]


def referrals_of(session: Session, report_id: int) -> list[tuple[CaseReferral, ReferralAuthority]]:
    """Return the case's referrals with their authorities, oldest first."""
    return list(
        session.exec(
            select(CaseReferral, ReferralAuthority)
            .join(ReferralAuthority, col(ReferralAuthority.id) == CaseReferral.authority_id)
            .where(CaseReferral.report_id == report_id)
            .order_by(col(CaseReferral.referred_on), col(CaseReferral.id))
        ).all()
    )


def write_export(
    session: Session,
    settings: Settings,
    *,
    access: CaseAccess,
    actor: User,
    today: date,
    out: IO[bytes],
) -> dict[str, Any]:
    """Write the signed export of the redacted case into `out` (audited: the caller commits)
    and return its signed manifest."""
    report = access.report
    case = redacted_case(session, access)
    channel = session.get(ReportChannel, report.channel_id)
    audit.record(
        session,
        action="report.exported",
        actor=actor,
        entity_type="report",
        entity_id=report.reference,
        after={"files": len(case.files)},
    )
    session.flush()
    paths: dict[str, str] = {}
    for position, described in enumerate(case.files, start=1):
        paths[described["uid"]] = _safe_name(position, described["name"])
    for entry in case.entries:
        for listed in entry["files"]:
            if "uid" in listed:
                listed["path"] = paths[listed["uid"]]
    body = {
        "type": EXPORT_TYPE,
        "version": 1,
        "reference": report.reference,
        "channel": {"es": channel.name_es, "en": channel.name_en} if channel else {},
        "status": report.status,
        "outcome": report.outcome,
        "received_via": report.received_via,
        "submitted_on": report.submitted_on.isoformat(),
        "acknowledged_on": _day(report.acknowledged_on),
        "feedback_given_on": _day(report.feedback_given_on),
        "closed_on": _day(report.closed_on),
        "exported_on": today.isoformat(),
        "exported_by": actor.full_name,
        "redacted": True,
        "timeline": case.entries,
        "referrals": [
            {"authority": authority.name, "on": referral.referred_on.isoformat()}
            for referral, authority in referrals_of(session, report.id)
        ],
    }
    trail = audit_trail(session, report.reference, case.patterns)
    sink = _Sink(out)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        writer = _Writer(archive)
        writer.add("case.json", _json(body))
        writer.add("audit.json", _json(trail))
        writer.add("case.pdf", case_pdf(body, trail, settings.time_zone))
        for described in case.files:
            path = paths[described["uid"]]
            if described["regions"]:
                writer.add(path, redacted_file_bytes(session, settings, access, described))
            else:
                _stream_attachment(settings, access, session, writer, path, described["uid"])
        manifest = sign_document(
            session,
            settings,
            {
                "type": EXPORT_TYPE + "-manifest",
                "version": 1,
                "reference": report.reference,
                "exported_on": today.isoformat(),
                "files": writer.listed,
            },
        )
        entry = _Entry(archive, MANIFEST)
        entry.write(_json(manifest))
        entry.stream.close()
    return manifest


def _stream_attachment(settings, access, session, writer: _Writer, path: str, uid: str) -> None:
    """Decrypt a stored file chunk by chunk into the archive, checking it against its
    sealed SHA-256 (a damaged file stops the export: TamperedCase)."""
    key, aad, sha256 = original_file_key(session, access, uid)
    entry = writer.add_stream(path)
    try:
        with attachments.open_stored(settings.attachments_dir, uid) as source:
            crypto.decrypt_stream(key, source, entry, aad=aad)
    except FileNotFoundError:
        raise ReportingError(
            _("This file is missing from the store. Tell the integrity committee."),
            status_code=410,
        ) from None
    except crypto.DecryptionError:
        raise TamperedCase from None
    if entry.digest.hexdigest() != sha256:
        raise TamperedCase
    writer._close(path, entry)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode()


def spool_dir(settings: Settings):
    """Return the folder exports are assembled in (unnamed files, gone when closed)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir


def export_file(
    session: Session, settings: Settings, *, access: CaseAccess, actor: User, today: date
) -> IO[bytes]:
    """Return an unnamed temporary file holding the export, positioned at its start."""
    out = tempfile.TemporaryFile(dir=spool_dir(settings))  # noqa: SIM115 - closed by the reader
    try:
        write_export(session, settings, access=access, actor=actor, today=today, out=out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def iter_file(handle: IO[bytes]) -> Iterator[bytes]:
    """Yield a file in chunks and close it (a streamed download)."""
    try:
        while chunk := handle.read(_CHUNK):
            yield chunk
    finally:
        handle.close()


# --- checking an export -----------------------------------------------------------------------


@dataclass
class ExportCheck:
    valid: bool
    problem: str = ""
    reference: str = ""
    exported_on: str = ""
    files: int = 0
    fingerprint: str = ""


def verify_export(source: BinaryIO, *, expected_fingerprint: str = "") -> ExportCheck:
    """Return whether a case export is whole and signed (by `expected_fingerprint`'s key when
    given). Needs no database: the signer's key travels in the manifest. `problem` is an
    untranslated message id (`verification` tells it in the reader's language)."""
    try:
        return _verify(source, expected_fingerprint)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,  # a local header claims a feature exports never use
        OSError,
        EOFError,
        ValueError,
        KeyError,
    ):
        return ExportCheck(False, N_("the file is not a case export, or it is damaged"))


def _verify(source: BinaryIO, expected_fingerprint: str) -> ExportCheck:
    whole = crypto.new_digest()
    source.seek(0)
    while chunk := source.read(_CHUNK):
        whole.update(chunk)
    source.seek(0)
    with zipfile.ZipFile(source) as archive:
        names = archive.namelist()
        if not names or names[-1] != MANIFEST or len(set(names)) != len(names):
            return ExportCheck(False, N_("the file is not a case export, or it is damaged"))
        # Exports are stored, never compressed nor encrypted: anything else is not one (and is
        # not inflated).
        if len(names) > MAX_EXPORT_FILES or any(
            info.compress_type != zipfile.ZIP_STORED or info.flag_bits & ~_EXPORT_FLAGS
            for info in archive.infolist()
        ):
            return ExportCheck(False, N_("the file is not a case export, or it is damaged"))
        raw = archive.read(MANIFEST)
        check = verify_signed_document(
            raw, expected_type=EXPORT_TYPE + "-manifest", expected_fingerprint=expected_fingerprint
        )
        if not check.valid:
            return ExportCheck(False, check.problem, fingerprint=check.fingerprint)
        manifest = check.document
        listed = manifest.get("files") or []
        if [f.get("path") for f in listed] != names[:-1]:
            return ExportCheck(False, N_("files were added to the export, removed or renamed"))
        rebuilt = _Sink()
        with zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_STORED) as copy:
            for described in listed:
                entry = _Entry(copy, described["path"])
                with archive.open(described["path"]) as member:
                    while chunk := member.read(_CHUNK):
                        entry.write(chunk)
                entry.stream.close()
                if (entry.digest.hexdigest(), entry.size) != (
                    described.get("sha256"),
                    described.get("size"),
                ):
                    return ExportCheck(
                        False, N_("a file of the export was changed"), fingerprint=check.fingerprint
                    )
            manifest_entry = _Entry(copy, MANIFEST)
            manifest_entry.write(raw)
            manifest_entry.stream.close()
    if not crypto.macs_equal(rebuilt.digest.hexdigest(), whole.hexdigest()):
        return ExportCheck(
            False, N_("the archive was altered around its files"), fingerprint=check.fingerprint
        )
    return ExportCheck(
        True,
        reference=str(manifest.get("reference", "")),
        exported_on=str(manifest.get("exported_on", "")),
        files=len(listed),
        fingerprint=check.fingerprint,
    )
