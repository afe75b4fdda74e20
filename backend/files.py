"""File names from uploads, and the Content-Disposition of downloads.

An uploaded file's name is whatever the sender's browser (or script) put in the form: it may
hold a path (`../../etc/passwd`, `C:\\Users\\x\\doc.pdf`), NUL and other control characters,
bidirectional overrides that make `gpj.exe` read as `exe.jpg`, or thousands of characters.
Mérito never uses an uploaded name as a path — stored files are named by random ids — but it
keeps the name to show and to offer back on download, so `safe_filename` reduces it to a plain
last component first. `content_disposition` then sends any name as RFC 6266 asks: an ASCII
fallback in `filename` and the exact UTF-8 name in `filename*`.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_FILENAME_LENGTH = 120
# Characters Windows refuses in file names (and quotes, which end the header's string).
_RESERVED = set('<>:"/\\|?*')
_FORM_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}


def _plain_name(text: str, default: str) -> str:
    """Return `text` without control or format characters, reserved characters as "_",
    without leading dots, at most MAX_FILENAME_LENGTH characters (keeping the extension)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = "".join("_" if ch in _RESERVED else ch for ch in text).strip().lstrip(".").strip()
    if len(text) > MAX_FILENAME_LENGTH:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 8:
            text = stem[: MAX_FILENAME_LENGTH - 1 - len(extension)].rstrip() + dot + extension
        else:
            text = text[:MAX_FILENAME_LENGTH]
    return text or default


def safe_filename(name: str, *, default: str = "file") -> str:
    """Return the last path component of an uploaded file's `name`, fit to show and save as.

    Both separators count (a Windows path arrives with backslashes); control and format
    characters (NUL, CR/LF, bidirectional overrides, zero-width marks) are dropped; characters
    Windows forbids become "_"; leading dots go (no hidden files, no "." or ".."); at most
    MAX_FILENAME_LENGTH characters, keeping the extension. Empty results become `default`.
    """
    text = str(name or "")
    # Browsers send a name's quote, CR and LF percent-encoded (HTML, multipart/form-data).
    for escaped, plain in _FORM_ESCAPES.items():
        text = text.replace(escaped, plain).replace(escaped.lower(), plain)
    last = text.replace("\\", "/").rsplit("/", 1)[-1]
    return _plain_name(last, default)


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """Return a Content-Disposition header value for `filename` (RFC 6266 and RFC 5987).

    The name is made plain first (a separator in it, as in a unit's code, becomes "_");
    `filename` carries an ASCII fallback (other characters as "_") for old clients, `filename*`
    the exact name percent-encoded in UTF-8.
    """
    name = _plain_name(str(filename or ""), "download")
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\%' else "_" for ch in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
