"""Attachments of the reporting channel: check, clean, encrypt, store.

A file is accepted only if its content (magic bytes), not its name, is one of a short list of
types, and its name agrees with that content: an executable renamed ``invoice.pdf`` is refused
as a disguised file. Identifying metadata is removed before encryption: images are re-encoded
from their pixels (EXIF, GPS, XMP, comments and colour-profile blocks dropped, orientation
applied first); PDFs are written anew from the objects their catalog reaches, each cleaned of
metadata, private data, scripts and embedded files, and their JPEG pictures of metadata
segments (`strip_pdf`). Office documents are refused, because names in their comments and
tracked changes cannot be removed reliably; the reporter is asked to export them to PDF.

Everything happens in memory: the upload is parsed into memory (backend.deps.read_form), cleaned
in memory and encrypted in chunks straight into the store. Only ciphertext touches the disk, and
only in the attachments directory, which is outside the web root and never served statically.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from backend import crypto
from backend.files import safe_filename
from backend.i18n import _

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
    return _CONTROL.search(text, 0, 1_000_000) is None


# Unicode's control characters (category Cc: U+0000–U+001F and U+007F–U+009F) but tab, line
# feed, form feed and carriage return. One regular expression scans the text in C: checking it
# character by character in Python cost 4 % of a report's submission.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


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
    return CleanFile(name, file_type, cleaned, crypto.sha256_hex(cleaned))


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
    """Return the PDF rewritten from what it shows, without metadata, scripts or embedded files.

    The file is written anew from the objects its catalog reaches once cleaned, so nothing else
    survives: not the XMP streams a deleted reference leaves behind, not an older revision kept
    by an incremental update, not the information dictionary, not the file identifier. See
    `_clean_pdf_object` for what is removed from each object. Password-protected PDFs are
    refused: their metadata cannot be inspected or removed.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise AttachmentRefused(
                _(
                    "%(name)s is protected with a password. Send a copy without the password.",
                    name=name,
                )
            )
        _clean_pdf_graph(reader.root_object)
        writer = PdfWriter()
        # Copies the catalog and what it reaches only; no information dictionary, no /ID.
        writer.clone_reader_document_root(reader)
        if re.fullmatch(r"%PDF-[12]\.\d", reader.pdf_header):
            writer.pdf_header = reader.pdf_header
        writer.generate_file_identifiers()  # random, unlike the original's
        _drop_unreachable(writer)
        out = io.BytesIO()
        writer.write(out)
    except AttachmentRefused:
        raise
    except (
        PdfReadError,
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
        RecursionError,
    ):
        raise AttachmentRefused(
            _("%(name)s could not be read as a PDF document.", name=name)
        ) from None
    return out.getvalue()


# Keys removed from every dictionary and stream of a PDF, wherever they appear.
_PDF_DROPPED_KEYS = frozenset(
    {
        "/Metadata",  # XMP: catalog, pages, images, forms, fonts, colour profiles, anything
        "/PieceInfo",  # private data of the program that wrote the file (Acrobat, Illustrator)
        "/LastModified",  # when the page or form was last edited
        "/Author",  # the information dictionary's keys, where a program copies them elsewhere
        "/Creator",
        "/Producer",
        "/CreationDate",
        "/ModDate",
        "/Subject",
        "/Keywords",
        "/CreatorInfo",
        "/AF",  # associated files (PDF 2.0): whole files inside
        "/EF",  # the embedded file of a file specification
        "/OPI",  # paths of the original images on the author's disk
        "/AA",  # actions run when a page, a field or the document is opened, closed, printed
    }
)
# Names of vendors' private keys ("/ADBE_…", "/PTEX.InfoDict", which holds the information
# dictionary of each PDF figure pdfTeX included): a prefix, then "_" or ".".
_PDF_PRIVATE_KEY = re.compile(r"^/[A-Za-z0-9]+[_.]")
# Keys of the catalog removed: scripts and the first action, web-capture data (addresses and
# times), signature permissions, portfolios.
_PDF_DROPPED_CATALOG_KEYS = ("/OpenAction", "/SpiderInfo", "/Perms", "/Collection")
_PDF_DROPPED_NAME_TREES = ("/JavaScript", "/EmbeddedFiles", "/AlternatePresentations")
# Annotations that carry a whole file or media, removed from their pages.
_PDF_DROPPED_ANNOTATIONS = frozenset(
    {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"}
)
# Of annotations other than form fields: the author's name, times and the annotation's id.
_PDF_ANNOTATION_AUTHOR_KEYS = ("/T", "/M", "/NM")
# Actions kept on links and bookmarks: moving within the document and opening a web address.
_PDF_HARMLESS_ACTIONS = frozenset({"/GoTo", "/URI", "/Named"})
_PDF_IMAGE_FILTERS = frozenset(
    {"/FlateDecode", "/ASCII85Decode", "/ASCIIHexDecode", "/LZWDecode", "/RunLengthDecode"}
)


def _resolved(value: Any) -> Any:
    return value.get_object() if hasattr(value, "get_object") else value


def _is_metadata_or_file(value: Any) -> bool:
    """Return whether a PDF object is an XMP stream or an embedded file, under any key."""
    from pypdf.generic import DictionaryObject

    target = _resolved(value)
    return isinstance(target, DictionaryObject) and (
        target.get("/Type") in ("/Metadata", "/EmbeddedFile") or target.get("/Subtype") == "/XML"
    )


def _is_dropped_annotation(value: Any) -> bool:
    from pypdf.generic import DictionaryObject

    target = _resolved(value)
    return isinstance(target, DictionaryObject) and (
        target.get("/Subtype") in _PDF_DROPPED_ANNOTATIONS and "/Rect" in target
    )


def _is_harmless_action(value: Any) -> bool:
    from pypdf.generic import DictionaryObject

    target = _resolved(value)
    return not isinstance(target, DictionaryObject) or target.get("/S") in _PDF_HARMLESS_ACTIONS


def _clean_pdf_graph(catalog: Any) -> None:
    """Clean, in place, the catalog and every object it reaches (see `_clean_pdf_object`)."""
    from pypdf.generic import ArrayObject, DictionaryObject

    for key in _PDF_DROPPED_CATALOG_KEYS:
        catalog.pop(key, None)
    names = _resolved(catalog.get("/Names"))
    if isinstance(names, DictionaryObject):
        for key in _PDF_DROPPED_NAME_TREES:
            names.pop(key, None)
    form = _resolved(catalog.get("/AcroForm"))
    if isinstance(form, DictionaryObject):
        form.pop("/XFA", None)  # an XML form: scripts and its own metadata
    seen: set[int] = set()
    pending = [catalog]
    while pending:
        item = _resolved(pending.pop())
        if id(item) in seen or not isinstance(item, (DictionaryObject, ArrayObject)):
            continue
        seen.add(id(item))
        if isinstance(item, DictionaryObject):
            _clean_pdf_object(item)
            pending.extend(item.raw_get(key) for key in item)
        else:
            item[:] = [
                v for v in item if not _is_metadata_or_file(v) and not _is_dropped_annotation(v)
            ]
            pending.extend(item)


def _clean_pdf_object(obj: Any) -> None:
    """Remove from one dictionary or stream what identifies its author or runs by itself.

    Everywhere: XMP, application private data, edit times, the information keys, embedded and
    associated files, original-image paths, automatic actions. Comments (markup annotations)
    lose the author's name, their times and ids but keep their text; annotations carrying a
    file or media, file specifications, signature values and actions other than going to a
    page or a web address are emptied. Pictures keep only the JPEG segments that draw them.
    """
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    for key in list(obj):
        if (
            key in _PDF_DROPPED_KEYS
            or _PDF_PRIVATE_KEY.search(key)
            or _is_metadata_or_file(obj.raw_get(key))
        ):
            del obj[key]
    kind = obj.get("/Type")
    subtype = obj.get("/Subtype")
    if kind == "/Filespec" or (subtype in _PDF_DROPPED_ANNOTATIONS and "/Rect" in obj):
        # Left somewhere other than a page's list (a structure tree): kept, but empty.
        for key in list(obj):
            if key not in ("/Type", "/Subtype", "/Rect", "/P"):
                del obj[key]
        return
    if kind == "/Annot" or ("/Rect" in obj and subtype is not None):
        for key in _PDF_ANNOTATION_AUTHOR_KEYS:
            if subtype != "/Widget" or key == "/M":  # a field's /T is its name, not a person
                obj.pop(key, None)
    if obj.get("/FT") == "/Sig" or "/ByteRange" in obj:
        # A digital signature names and certifies its signer; rewriting the file voids it.
        for key in ("/V", "/Contents", "/Name", "/Cert", "/Prop_Build", "/Location", "/Reason"):
            obj.pop(key, None)
    for key in ("/A", "/Next"):
        if key in obj and (key == "/Next" or not _is_harmless_action(obj.raw_get(key))):
            del obj[key]
    if isinstance(obj, StreamObject) and subtype == "/Image":
        filters = obj.get("/Filter")
        chain = [filters] if isinstance(filters, str) else list(filters or [])
        if chain and chain[-1] == "/DCTDecode" and set(chain[:-1]) <= _PDF_IMAGE_FILTERS:
            jpeg = jpeg_without_metadata(obj.get_data())
            StreamObject.set_data(obj, jpeg)  # the JPEG bytes as they are: no re-encoding
            obj.decoded_self = None
            obj[NameObject("/Filter")] = NameObject("/DCTDecode")
            obj.pop("/DecodeParms", None)
    if isinstance(obj, DictionaryObject) and obj.get("/S") is not None:
        obj.pop("/JS", None)


def _drop_unreachable(writer: Any) -> None:
    """Forget the writer's objects that its catalog no longer reaches (left by cloning)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    reachable: set[int] = set()
    pending: list[Any] = [writer.root_object.indirect_reference]
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in reachable:
                continue
            reachable.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            pending.extend(item.raw_get(key) for key in item)
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    for index in range(len(writer._objects)):
        if index + 1 not in reachable:
            writer._objects[index] = None


# JPEG segments kept: APP0 "JFIF" (pixel density) and APP14 "Adobe" (how to read the colours).
# Every other application segment (EXIF and GPS in APP1, XMP, ICC profiles, IPTC in APP13,
# maker notes) and comments go, and so do bytes after the end of the image.
_JPEG_KEPT_APPLICATION_SEGMENTS = {0xE0: b"JFIF\x00", 0xEE: b"Adobe"}


def jpeg_without_metadata(data: bytes) -> bytes:
    """Return a JPEG's bytes without metadata segments, its picture data untouched."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    out = bytearray(b"\xff\xd8")
    size, at = len(data), 2
    while at < size:
        if data[at] != 0xFF:
            raise ValueError("JPEG segment expected")
        while at < size and data[at] == 0xFF:  # fill bytes
            at += 1
        if at >= size:
            break
        marker = data[at]
        at += 1
        if marker == 0xD9:
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            out += bytes((0xFF, marker))
            continue
        length = int.from_bytes(data[at : at + 2], "big")
        end = at + length
        if length < 2 or end > size:
            raise ValueError("truncated JPEG segment")
        kept_prefix = _JPEG_KEPT_APPLICATION_SEGMENTS.get(marker)
        metadata = 0xE0 <= marker <= 0xEF or marker == 0xFE
        if not metadata or (kept_prefix and data[at + 2 : end].startswith(kept_prefix)):
            out += bytes((0xFF, marker)) + data[at:end]
        at = end
        if marker == 0xDA:  # start of scan: coded data runs to the next real marker
            scan = at
            while True:
                at = data.find(b"\xff", at)
                if at == -1 or at + 1 >= size:
                    at = size
                    break
                following = data[at + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffing, restarts
                    at += 2
                    continue
                break
            out += data[scan:at]
    out += b"\xff\xd9"
    return bytes(out)


# --- the encrypted store ----------------------------------------------------------------------


def new_uid() -> str:
    """Return a random 32-hex-digit identifier (also the stored file's name)."""
    return crypto.new_hex(16)


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
    partial = target.with_name(f".{uid}.{crypto.new_hex(4)}.part")
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


def open_stored(directory: Path, uid: str) -> BinaryIO:
    """Return the stored (encrypted) file open for reading, to decrypt it as a stream."""
    return _path(directory, uid).open("rb")


def remove(directory: Path, uid: str) -> None:
    """Delete a stored file (used to undo a write whose transaction failed)."""
    _path(directory, uid).unlink(missing_ok=True)
