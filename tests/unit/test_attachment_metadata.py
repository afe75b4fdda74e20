"""What the reporting channel promises about attachments: no metadata is left in them.

Every check reads the raw bytes of the cleaned file (what is encrypted and later handed to
staff), and the streams inside a PDF once decompressed, and also that the content survived:
the page's text still extracts, the picture still decodes.

The PDFs are written by hand as Word and Acrobat write them: the author in the information
dictionary and in XMP, XMP on the page, the picture, the font and the colour profile, Acrobat's
private data, comments signed with the author's name, an embedded file, scripts, and an
incremental update that leaves the older revision (with the author) in the file.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from whistleblowing import attachments

AUTHOR = b"Maria Denunciante"
TOOLS = (b"Microsoft", b"Word for Microsoft 365", b"Adobe Acrobat", b"Acrobat PDFMaker")
TEXT = "Evidence of the tender fraud"

# What must not survive anywhere in a cleaned file, compressed or not.
MARKERS = (
    AUTHOR,
    *TOOLS,
    b"xmpmeta",
    b"dc:creator",
    b"xmp:CreatorTool",
    b"uuid:5c1d6e0a-doc-id",
    b"D:20241105093000",
    b"EXIF-CAMERA-OWNER",
    b"IPTC-BYLINE",
    b"JPEG-COMMENT",
    b"PHONE-TRAILER",
    b"EMBEDDED-DRAFT",
    b"draft.docx",
    b"app.alert",
    b"ILLUSTRATOR-PRIVATE",
    b"annot-5f2a",
    b"PTEX",
)


def xmp(creator: bytes, tool: bytes = b"Microsoft Word for Microsoft 365") -> bytes:
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">'
        b"<dc:creator><rdf:Seq><rdf:li>" + creator + b"</rdf:li></rdf:Seq></dc:creator>"
        b"<xmp:CreatorTool>" + tool + b"</xmp:CreatorTool>"
        b"<xmp:CreateDate>2024-11-05T09:30:00-06:00</xmp:CreateDate>"
        b"<xmpMM:DocumentID>uuid:5c1d6e0a-doc-id</xmpMM:DocumentID>"
        b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def stream(entries: bytes, data: bytes) -> bytes:
    return b"<< " + entries + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def metadata_stream(creator: bytes = AUTHOR, tool: bytes = b"Microsoft Word") -> bytes:
    return stream(b"/Type /Metadata /Subtype /XML", xmp(creator, tool))


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_metadata(size: tuple[int, int] = (16, 8)) -> bytes:
    """A JPEG as a phone writes it: EXIF (owner, GPS), XMP, IPTC, a comment, a trailer."""
    exif = Image.Exif()
    exif[0x013B] = "EXIF-CAMERA-OWNER"  # Artist
    exif[0x010F] = "Microsoft"  # Make
    exif[0x8825] = {1: "N", 2: (19.0, 26.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(
        buffer, format="JPEG", exif=exif.tobytes(), comment=b"JPEG-COMMENT"
    )
    data = buffer.getvalue()
    assert b"EXIF-CAMERA-OWNER" in data and b"JPEG-COMMENT" in data
    extra = (
        _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp(AUTHOR))
        + _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10IPTC-BYLINE....")
        + _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"Adobe Acrobat profile")
    )
    return data[:2] + extra + data[2:] + b"PHONE-TRAILER " + AUTHOR


def build_pdf(objects: dict[int, bytes], *, root: int, info: int | None) -> bytes:
    """Return a PDF of `objects` (number -> body) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        if number in offsets:
            out += b"%010d 00000 n \n" % offsets[number]
        else:
            out += b"0000000000 00000 f \n"
    trailer = b"/Size %d /Root %d 0 R" % (size, root)
    if info:
        trailer += b" /Info %d 0 R" % info
    trailer += b" /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]"
    out += b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def incremental_update(
    base: bytes, objects: dict[int, bytes], *, root: int, info: int, size: int
) -> bytes:
    """Return `base` with `objects` appended as a new revision, as Acrobat saves an edit."""
    previous = int(base.rsplit(b"startxref", 1)[1].split()[0])
    out = bytearray(base)
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for number in sorted(objects):
        out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    out += (
        b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (size, root, info, previous, xref)
    )
    return bytes(out)


CONTENT = b"BT /F1 12 Tf 20 150 Td (" + TEXT.encode() + b") Tj ET q 48 0 0 24 20 20 cm /Im1 Do Q"


def word_like_pdf() -> bytes:
    """A one-page PDF carrying the author and the tool in every place Word and Acrobat put them."""
    jpeg = jpeg_with_metadata()
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Metadata 10 0 R /MarkInfo << /Marked true >> "
        b"/Lang (es-MX) /PieceInfo << /Illustrator << /Private 14 0 R "
        b"/LastModified (D:20241105093000) >> >> /LastModified (D:20241105093000) "
        b"/OpenAction 15 0 R /AA << /WC 15 0 R >> /XMPBackup 25 0 R "
        b"/Names << /JavaScript 16 0 R /EmbeddedFiles 17 0 R >> >>",
        2: b"<< /Type /Pages /Kids [20 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 20 0 R /MediaBox [0 0 300 200] "
        b"/Resources << /Font << /F1 4 0 R >> /XObject << /Im1 6 0 R >> "
        b"/ColorSpace << /CS1 [/ICCBased 8 0 R] >> >> /Contents 5 0 R /Metadata 11 0 R "
        b"/PieceInfo << /Illustrator << /Private 14 0 R >> >> /LastModified (D:20241105093000) "
        b"/Annots [12 0 R 13 0 R 24 0 R] /AA << /O 15 0 R >> >>",
        4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FontDescriptor 7 0 R >>",
        5: stream(b"", CONTENT),
        6: stream(
            b"/Type /XObject /Subtype /Image /Width 16 /Height 8 /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Metadata 19 0 R "
            b"/PTEX.FileName (./figures/receipt.pdf) "
            b"/PTEX.InfoDict << /Title (Receipt kept by Maria Denunciante) >>",
            jpeg,
        ),
        7: b"<< /Type /FontDescriptor /FontName /Helvetica /Flags 32 "
        b"/FontBBox [-166 -225 1000 931] /ItalicAngle 0 /Ascent 718 /Descent -207 "
        b"/CapHeight 718 /StemV 88 /Metadata 18 0 R >>",
        8: stream(b"/N 3 /Metadata 21 0 R", b"not a real profile"),
        9: b"<< /Author (Maria Denunciante) /Creator (Microsoft\\256 Word for Microsoft 365) "
        b"/Producer (Acrobat PDFMaker 24 for Word) /CreationDate (D:20241105093000) "
        b"/ModDate (D:20241105093000) /Title (Queja de Maria Denunciante) >>",
        10: metadata_stream(),
        11: metadata_stream(),
        12: b"<< /Type /Annot /Subtype /Text /Rect [200 150 220 170] "
        b"/Contents (Check the second invoice) /T (Maria Denunciante) "
        b"/M (D:20241105093000) /CreationDate (D:20241105093000) /NM (annot-5f2a) >>",
        13: b"<< /Type /Annot /Subtype /FileAttachment /Rect [230 150 250 170] /FS 22 0 R "
        b"/T (Maria Denunciante) >>",
        14: stream(b"", b"ILLUSTRATOR-PRIVATE data of " + AUTHOR),
        15: b"<< /S /JavaScript /JS (app.alert\\('opened'\\)) >>",
        16: b"<< /Names [(open) 15 0 R] >>",
        17: b"<< /Names [(draft.docx) 22 0 R] >>",
        18: metadata_stream(),
        19: metadata_stream(),
        20: b"<< /Type /Pages /Parent 2 0 R /Kids [3 0 R] /Count 1 >>",
        21: metadata_stream(),
        22: b"<< /Type /Filespec /F (C:\\\\Users\\\\maria\\\\draft.docx) /EF << /F 23 0 R >> >>",
        23: stream(
            b"/Type /EmbeddedFile /Params << /ModDate (D:20241105093000) >>",
            b"EMBEDDED-DRAFT written by " + AUTHOR,
        ),
        24: b"<< /Type /Annot /Subtype /Link /Rect [20 100 120 120] "
        b"/A << /S /URI /URI (https://example.org/tender) >> >>",
        25: metadata_stream(),
    }
    return build_pdf(objects, root=1, info=9)


def acrobat_incremental_pdf() -> bytes:
    """A PDF saved again by Acrobat: the new revision drops the author, the old one keeps it."""
    base = build_pdf(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] "
            b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            5: stream(b"", b"BT /F1 12 Tf 20 150 Td (" + TEXT.encode() + b") Tj ET"),
            6: metadata_stream(AUTHOR, b"Acrobat PDFMaker 24 for Word"),
            7: b"<< /Author (Maria Denunciante) /Creator (Acrobat PDFMaker 24 for Word) >>",
        },
        root=1,
        info=7,
    )
    update = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        8: b"<< /Producer (Adobe Acrobat Pro 24) /ModDate (D:20241105093000) >>",
    }
    return incremental_update(base, update, root=1, info=8, size=9)


# --- reading what came out --------------------------------------------------------------------


def reachable_objects(data: bytes):
    """Return the reader and {object number: object} of everything reachable from /Root."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    reader = PdfReader(io.BytesIO(data))
    found: dict[int, object] = {}
    pending = [reader.trailer.raw_get("/Root")]
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in found:
                continue
            found[item.idnum] = item = item.get_object()
        if isinstance(item, DictionaryObject):
            pending.extend(item.raw_get(key) for key in item)
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    return reader, found


def all_bytes(data: bytes) -> bytes:
    """Return the file and every stream in it decompressed, for scanning."""
    _reader, objects = reachable_objects(data)
    parts = [data]
    for obj in objects.values():
        if hasattr(obj, "get_data"):
            parts.append(obj.get_data())
    return b"\n".join(parts)


def assert_no_metadata(data: bytes) -> None:
    scanned = all_bytes(data)
    for marker in MARKERS:
        assert marker not in scanned, marker
    for key in (
        b"/Metadata",
        b"/PieceInfo",
        b"/LastModified",
        b"/Author",
        b"/Creator",
        b"/Producer",
        b"/CreationDate",
        b"/ModDate",
        b"/JavaScript",
        b"/JS",
        b"/EmbeddedFile",
        b"/OpenAction",
        b"/AA",
    ):
        assert not re.search(re.escape(key) + rb"[\s/<\[(]", scanned), key


def assert_every_object_is_reachable(data: bytes) -> None:
    reader, objects = reachable_objects(data)
    assert "/Info" not in reader.trailer
    written = {number for numbers in reader.xref.values() for number in numbers}
    written |= set(reader.xref_objStm)
    assert written == set(objects)


# --- the tests ---------------------------------------------------------------------------------


def test_the_hand_written_pdfs_carry_what_the_tests_look_for():
    # The test PDFs are read as PDFs and hold every marker before cleaning.
    from pypdf import PdfReader

    word = word_like_pdf()
    assert TEXT in PdfReader(io.BytesIO(word)).pages[0].extract_text()
    scanned = all_bytes(word)
    assert [m for m in MARKERS if m not in scanned] == []
    acrobat = acrobat_incremental_pdf()
    assert PdfReader(io.BytesIO(acrobat)).metadata.get("/Author") is None
    assert AUTHOR in acrobat and b"Acrobat PDFMaker" in acrobat


def test_a_word_pdf_loses_every_metadata_stream_dictionary_script_and_embedded_file():
    from pypdf import PdfReader

    cleaned = attachments.clean("tender.pdf", word_like_pdf()).data
    assert cleaned.startswith(b"%PDF-")
    assert_no_metadata(cleaned)
    assert_every_object_is_reachable(cleaned)
    # The content is still there: the page's text, the picture, the comment's text, the link.
    reader = PdfReader(io.BytesIO(cleaned))
    page = reader.pages[0]
    assert TEXT in page.extract_text()
    [picture] = page.images
    assert picture.image.size == (16, 8)
    assert picture.image.getpixel((4, 4))[0] > 150
    annotations = [a.get_object() for a in page["/Annots"]]
    assert [a["/Subtype"] for a in annotations] == ["/Text", "/Link"]
    assert annotations[0]["/Contents"] == "Check the second invoice"
    assert annotations[1]["/A"]["/URI"] == "https://example.org/tender"


def test_the_picture_inside_a_pdf_keeps_only_what_draws_it():
    cleaned = attachments.clean("tender.pdf", word_like_pdf()).data
    _reader, objects = reachable_objects(cleaned)
    [image] = [o for o in objects.values() if o.get("/Subtype") == "/Image"]
    jpeg = image.get_data()
    assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
    markers = [jpeg[i + 1] for i in range(len(jpeg) - 1) if jpeg[i] == 0xFF]
    assert not {m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE}  # no APP1-15, no COM
    assert Image.open(io.BytesIO(jpeg)).size == (16, 8)


def test_an_older_revision_left_by_an_incremental_update_is_not_written():
    from pypdf import PdfReader

    original = acrobat_incremental_pdf()
    cleaned = attachments.clean("signed.pdf", original).data
    assert_no_metadata(cleaned)
    assert_every_object_is_reachable(cleaned)
    assert TEXT in PdfReader(io.BytesIO(cleaned)).pages[0].extract_text()


def test_the_file_identifier_is_not_the_original_one():
    # Word and Acrobat derive /ID from the file's path and time; it would match the author's copy.
    cleaned = attachments.clean("tender.pdf", word_like_pdf()).data
    assert b"0123456789abcdef0123456789abcdef" not in cleaned.lower()


def test_a_pdf_written_by_pypdf_with_xmp_and_info_is_cleaned():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.add_metadata({"/Author": AUTHOR.decode(), "/Creator": "Microsoft Word"})
    writer.xmp_metadata = xmp(AUTHOR)  # type: ignore[assignment]
    buffer = io.BytesIO()
    writer.write(buffer)
    assert AUTHOR in buffer.getvalue() and b"xmpmeta" in buffer.getvalue()
    cleaned = attachments.clean("a.pdf", buffer.getvalue()).data
    assert_no_metadata(cleaned)
    assert b"pypdf" not in cleaned  # not even our own tool's name
    assert len(PdfReader(io.BytesIO(cleaned)).pages) == 1


def test_a_compressed_metadata_stream_is_gone_too():
    # XMP may be deflated, so it is never visible to `strings`: the check decompresses.
    packed = zlib.compress(xmp(AUTHOR))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
        4: stream(b"/Type /Metadata /Subtype /XML /Filter /FlateDecode", packed),
    }
    original = build_pdf(objects, root=1, info=None)
    assert AUTHOR not in original and AUTHOR in all_bytes(original)
    cleaned = attachments.clean("a.pdf", original).data
    assert_no_metadata(cleaned)
    assert_every_object_is_reachable(cleaned)


# --- images: re-encoded from their pixels -------------------------------------------------------


def _png_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def test_a_jpeg_loses_exif_gps_xmp_iptc_comments_profile_and_trailer():
    original = jpeg_with_metadata((40, 20))
    cleaned = attachments.clean("photo.jpg", original).data
    for marker in (
        b"EXIF-CAMERA-OWNER",
        b"Exif\x00",
        b"xmpmeta",
        AUTHOR,
        b"IPTC-BYLINE",
        b"Photoshop",
        b"JPEG-COMMENT",
        b"ICC_PROFILE",
        b"PHONE-TRAILER",
        b"Microsoft",
    ):
        assert marker not in cleaned, marker
    markers = [cleaned[i + 1] for i in range(len(cleaned) - 1) if cleaned[i] == 0xFF]
    assert not {m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE}
    assert cleaned.endswith(b"\xff\xd9")
    assert Image.open(io.BytesIO(cleaned)).size == (40, 20)


def test_a_png_loses_every_text_exif_time_and_profile_chunk():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", AUTHOR.decode())
    info.add_text("Software", "Microsoft Word", zip=True)
    info.add_itxt("Comment", "IPTC-BYLINE", lang="es", tkey="Comentario")
    info.add(b"tIME", b"\x07\xe8\x0b\x05\x09\x1e\x00")
    exif = Image.Exif()
    exif[0x013B] = "EXIF-CAMERA-OWNER"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(
        buffer, format="PNG", pnginfo=info, exif=exif.tobytes(), icc_profile=b"\x00" * 200
    )
    original = buffer.getvalue()
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"iCCP"} <= set(_png_chunks(original))
    cleaned = attachments.clean("a.png", original).data
    assert set(_png_chunks(cleaned)) <= {b"IHDR", b"IDAT", b"IEND", b"PLTE", b"tRNS", b"pHYs"}
    assert AUTHOR not in cleaned and b"EXIF-CAMERA-OWNER" not in cleaned
    assert Image.open(io.BytesIO(cleaned)).getpixel((3, 3)) == (1, 2, 3)


def test_a_webp_loses_exif_xmp_and_profile():
    exif = Image.Exif()
    exif[0x013B] = "EXIF-CAMERA-OWNER"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 90, 90)).save(
        buffer, format="WEBP", exif=exif.tobytes(), xmp=xmp(AUTHOR), icc_profile=b"\x00" * 200
    )
    original = buffer.getvalue()
    assert b"EXIF-CAMERA-OWNER" in original and AUTHOR in original
    cleaned = attachments.clean("a.webp", original).data
    for marker in (b"EXIF", b"XMP ", b"ICCP", b"EXIF-CAMERA-OWNER", AUTHOR, b"xmpmeta"):
        assert marker not in cleaned, marker
    assert Image.open(io.BytesIO(cleaned)).size == (8, 8)


@pytest.mark.parametrize(
    "name", ["minutes.docx", "budget.xlsx", "slides.pptx", "notes.odt", "old.doc"]
)
def test_office_documents_are_refused_whatever_their_content(name: str):
    # Their authors sit in comments and tracked changes; the module refuses them, never cleans.
    with pytest.raises(attachments.AttachmentRefused):
        attachments.clean(name, b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(attachments.AttachmentRefused):
        attachments.clean(name, b"plain text that claims to be an office file")
