"""Attachments of the reporting channel: check, clean, encrypt, store.

A file is accepted only if its content (magic bytes), not its name, is one of a short list of
types, and its name agrees with that content: an executable renamed ``invoice.pdf`` is refused
as a disguised file. Identifying metadata is removed before encryption: images are re-encoded
from their pixels (EXIF, GPS, XMP, comments and colour-profile blocks dropped, orientation
applied first), PDFs lose their document information dictionary and XMP streams. Office
documents are refused, because names in their comments and tracked changes cannot be removed
reliably; the reporter is asked to export them to PDF.

Everything happens in memory: the upload is parsed into memory (backend.deps.read_form), cleaned
in memory and encrypted in chunks straight into the store. Only ciphertext touches the disk, and
only in the attachments directory, which is outside the web root and never served statically.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from backend.files import safe_filename
from backend.i18n import _
from whistleblowing import crypto

MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
MAX_ATTACHMENTS_PER_MESSAGE = 5
# Pillow refuses images above this many pixels instead of decoding a decompression bomb.
MAX_IMAGE_PIXELS = 60_000_000


class AttachmentRefused(Exception):
    """The file cannot be accepted; `str(err)` is a translated message naming the file."""


@dataclass(frozen=True)
class FileType:
    code: str
    content_type: str
    extensions: tuple[str, ...]


FILE_TYPES: dict[str, FileType] = {
    t.code: t
    for t in (
        FileType("pdf", "application/pdf", (".pdf",)),
        FileType("jpeg", "image/jpeg", (".jpg", ".jpeg")),
        FileType("png", "image/png", (".png",)),
        FileType("webp", "image/webp", (".webp",)),
        FileType("text", "text/plain", (".txt",)),
        FileType("csv", "text/csv", (".csv",)),
    )
}
ALLOWED_EXTENSIONS = sorted({ext for t in FILE_TYPES.values() for ext in t.extensions})
_OFFICE_EXTENSIONS = {".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp"}


@dataclass(frozen=True)
class CleanFile:
    """A checked file, metadata removed, ready to encrypt."""

    filename: str
    file_type: FileType
    data: bytes
    sha256: str


def sniff(data: bytes) -> str | None:
    """Return the code of the allowed type `data` really is (by content), or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if _looks_like_text(data):
        return "text"
    return None


def _looks_like_text(data: bytes) -> bool:
    """Return whether `data` is UTF-8 (or Windows-1252) text without control characters."""
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return False
    allowed = {"\t", "\n", "\r", "\f"}
    return all(ch in allowed or unicodedata.category(ch) != "Cc" for ch in text[:1_000_000])


def clean(filename: str, data: bytes) -> CleanFile:
    """Return the file checked against the allow-list, metadata removed, or raise."""
    name = safe_filename(filename)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentRefused(
            _(
                "%(name)s is larger than %(mb)s MB. Split it or send a smaller copy.",
                name=name,
                mb=MAX_ATTACHMENT_BYTES // (1024 * 1024),
            )
        )
    if not data:
        raise AttachmentRefused(_("%(name)s is empty.", name=name))
    extension = os.path.splitext(name)[1].lower()
    if extension in _OFFICE_EXTENSIONS:
        raise AttachmentRefused(
            _(
                "%(name)s is an office document. Such files keep author names in comments and "
                "tracked changes that cannot be removed safely: save it as PDF and attach the "
                "PDF instead.",
                name=name,
            )
        )
    code = sniff(data)
    if code == "text" and extension == ".csv":
        code = "csv"
    file_type = FILE_TYPES.get(code or "")
    if file_type is None:
        raise AttachmentRefused(
            _(
                "%(name)s is not a type of file we accept. Accepted: %(types)s.",
                name=name,
                types=", ".join(ALLOWED_EXTENSIONS),
            )
        )
    if extension not in file_type.extensions:
        # The name claims one type and the content is another: a disguised file.
        raise AttachmentRefused(
            _(
                "The content of %(name)s does not match its name. Check that it is the file "
                "you meant to send.",
                name=name,
            )
        )
    if file_type.code == "pdf":
        cleaned = strip_pdf(data, name=name)
    elif file_type.code in ("jpeg", "png", "webp"):
        cleaned = strip_image(data, file_type=file_type, name=name)
    else:
        cleaned = data
    return CleanFile(name, file_type, cleaned, hashlib.sha256(cleaned).hexdigest())


def strip_image(data: bytes, *, file_type: FileType, name: str = "") -> bytes:
    """Return the image re-encoded from its pixels only (no EXIF/GPS/XMP/ICC/comments)."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            # Apply the EXIF orientation to the pixels before the EXIF block is dropped.
            upright = ImageOps.exif_transpose(image)
            pixels = Image.frombytes(upright.mode, upright.size, upright.tobytes())
            if upright.mode == "P" and upright.getpalette():
                pixels.putpalette(upright.getpalette())
                if "transparency" in upright.info:
                    pixels.info["transparency"] = upright.info["transparency"]
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise AttachmentRefused(_("%(name)s could not be read as an image.", name=name)) from None
    out = io.BytesIO()
    if file_type.code == "jpeg":
        if pixels.mode not in ("RGB", "L", "CMYK"):
            pixels = pixels.convert("RGB")
        pixels.save(out, format="JPEG", quality=92)
    elif file_type.code == "png":
        pixels.save(out, format="PNG", optimize=False)
    else:
        pixels.save(out, format="WEBP", quality=90)
    return out.getvalue()


def strip_pdf(data: bytes, *, name: str = "") -> bytes:
    """Return the PDF without its information dictionary and XMP metadata streams.

    Password-protected PDFs are refused: their metadata cannot be inspected or removed.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError
    from pypdf.generic import NameObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise AttachmentRefused(
                _(
                    "%(name)s is protected with a password. Send a copy without the password.",
                    name=name,
                )
            )
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        root = writer.root_object
        for key in ("/Metadata", "/PieceInfo"):
            if NameObject(key) in root:
                del root[NameObject(key)]
        for page in writer.pages:
            for key in ("/Metadata", "/PieceInfo"):
                if NameObject(key) in page:
                    del page[NameObject(key)]
        out = io.BytesIO()
        writer.write(out)
    except AttachmentRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError):
        raise AttachmentRefused(
            _("%(name)s could not be read as a PDF document.", name=name)
        ) from None
    return out.getvalue()


# --- the encrypted store ----------------------------------------------------------------------


def new_uid() -> str:
    """Return a random 32-hex-digit identifier (also the stored file's name)."""
    return secrets.token_hex(16)


def _path(directory: Path, uid: str) -> Path:
    if len(uid) != 32 or any(ch not in "0123456789abcdef" for ch in uid):
        raise ValueError("bad attachment id")
    return directory / uid[:2] / uid


def store(directory: Path, uid: str, *, key: bytes, data: bytes, aad: bytes) -> int:
    """Encrypt `data` in chunks into the store under `uid`; return the bytes written.

    The ciphertext goes to a temporary name in the same folder and is renamed into place only
    when complete, so a crash never leaves a truncated file under a real name.
    """
    target = _path(directory, uid)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(f".{uid}.{secrets.token_hex(4)}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as sink:
            written = crypto.encrypt_stream(key, io.BytesIO(data), sink, aad=aad)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


def load(directory: Path, uid: str, *, key: bytes, aad: bytes) -> bytes:
    """Return the decrypted file; raise DecryptionError if it was altered, FileNotFoundError."""
    with _path(directory, uid).open("rb") as source:
        return crypto.decrypt_stream_to_bytes(key, source, aad=aad)


def remove(directory: Path, uid: str) -> None:
    """Delete a stored file (used to undo a write whose transaction failed)."""
    _path(directory, uid).unlink(missing_ok=True)
