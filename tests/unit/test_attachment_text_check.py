"""The attachment text check: the same characters refused as Unicode's control category."""

from __future__ import annotations

import unicodedata

from whistleblowing import attachments


def test_the_refused_characters_are_exactly_the_controls_but_tab_and_line_ends():
    refused = {cp for cp in range(0x110000) if attachments._CONTROL.match(chr(cp))}
    controls = {cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cc"}
    assert refused == controls - {ord("\t"), ord("\n"), ord("\r"), ord("\f")}


def test_text_is_recognised_and_control_characters_are_not():
    assert attachments.sniff("Factura duplicada del almacén\r\n\tTotal: 12\f".encode()) == "text"
    assert attachments.sniff("Acción".encode("cp1252")) == "text"
    assert attachments.sniff(b"ok\x1bescape") is None
    assert attachments.sniff("ok\u0085next".encode()) is None  # C1 control, in UTF-8
    assert attachments.sniff(b"nul\x00") is None
    # Only the first million characters are examined, as before.
    assert attachments.sniff(b"a" * 1_000_000 + b"\x07") == "text"
