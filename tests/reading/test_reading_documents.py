"""extract_text on .txt, .docx and PDF files, the limits, and the files we refuse."""

from __future__ import annotations

import io
import resource
import time
import zipfile

import pytest
import reading_samples as rs

from bot.reading import (
    Encrypted,
    ReadError,
    ReadLimits,
    TooLarge,
    Unreadable,
    UnsupportedType,
    extract_text,
)
from bot.reading.errors import OcrTimeout

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NOTICE = "县教育局：请全体教师下载APP并截图上报，纳入考核。"


# -- plain text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (NOTICE.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + NOTICE.encode("utf-8"), "utf-8 with BOM"),
        (NOTICE.encode("gb18030"), "gb18030"),
        (NOTICE.encode("gbk"), "gbk"),
        (NOTICE.encode("utf-16"), "utf-16 with BOM"),
    ],
)
def test_txt_encodings(data: bytes, label: str, limits: ReadLimits) -> None:
    result = extract_text(data, "notice.txt", "text/plain", limits=limits)
    assert (result.text, result.kind, result.pages, result.ocr, result.truncated) == (NOTICE, "txt", 1, False, False)


def test_txt_by_mime_type_alone_and_crlf(limits: ReadLimits) -> None:
    result = extract_text("第一行\r\n第二行".encode(), None, "text/plain; charset=utf-8", limits=limits)
    assert result.text == "第一行\n第二行"


def test_txt_with_binary_content_is_unreadable(limits: ReadLimits) -> None:
    with pytest.raises(Unreadable):
        extract_text(b"\x00\x01\x02binary\x00", "notice.txt", None, limits=limits)


@pytest.mark.parametrize("data", [b"", b"  \n\t "])
def test_empty_file_is_unreadable(data: bytes, limits: ReadLimits) -> None:
    with pytest.raises(Unreadable) as info:
        extract_text(data, "notice.txt", None, limits=limits)
    assert info.value.code == "unreadable"


def test_long_text_is_cut_and_marked() -> None:
    result = extract_text(("截图" * 600).encode(), "a.txt", None, limits=ReadLimits(max_chars=1000))
    assert len(result.text) == 1000
    assert result.truncated


# -- size limit ----------------------------------------------------------------------------------------


def test_size_limit_is_checked_before_anything_else() -> None:
    limits = ReadLimits(max_bytes=1000)
    with pytest.raises(TooLarge) as info:
        extract_text(b"x" * 1001, "notice.txt", None, limits=limits)
    assert info.value.code == "too_large"
    assert extract_text(b"x" * 1000, "notice.txt", None, limits=limits).text == "x" * 1000


def test_default_size_limit_is_ten_megabytes(limits: ReadLimits, docx_notice: rs.Sample) -> None:
    assert limits.max_bytes == 10 * 1024 * 1024
    with pytest.raises(TooLarge):
        extract_text(docx_notice.data + b"\0" * limits.max_bytes, docx_notice.file_name, DOCX_MIME, limits=limits)


# -- docx ----------------------------------------------------------------------------------------------


def test_docx_paragraphs_and_table_in_document_order(docx_notice: rs.Sample, limits: ReadLimits) -> None:
    result = extract_text(docx_notice.data, docx_notice.file_name, docx_notice.mime_type, limits=limits)
    assert (result.kind, result.pages, result.ocr, result.truncated) == ("docx", 1, False, False)
    for phrase in docx_notice.key_phrases:
        assert phrase in result.text
    lines = result.text.splitlines()
    # The table sits between the second paragraph and the closing one, one row a line.
    intro = lines.index(rs.NOTICE_BODY[1])
    header = lines.index("序号 | 任务 | 要求 | 截止时间")
    assert intro < header < lines.index(rs.DOCX_AFTER)
    assert lines[header + 1] == "1 | 下载“平安校园”APP | 全员注册并截图上报 | 11月20日"


def test_docx_is_recognised_without_name_or_mime(docx_notice: rs.Sample, limits: ReadLimits) -> None:
    assert extract_text(docx_notice.data, None, None, limits=limits).kind == "docx"


def _docx_with_document_xml(body_xml: bytes, prolog: bytes = b"") -> bytes:
    """The sample .docx with its document.xml replaced."""
    real = zipfile.ZipFile(io.BytesIO(rs.notice_docx().data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in real.infolist():
            if info.filename == "word/document.xml":
                zf.writestr(
                    "word/document.xml",
                    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + prolog + b"<w:document "
                    b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                    + body_xml
                    + b"</w:body></w:document>",
                )
            else:
                zf.writestr(info, real.read(info))
    return out.getvalue()


def test_docx_text_box_and_nested_table(limits: ReadLimits) -> None:
    body = (
        b"<w:p><w:r><w:t>before</w:t></w:r></w:p>"
        b"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell</w:t></w:r></w:p>"
        b"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>inner</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
        b"</w:tc><w:tc><w:p><w:r><w:t>B</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
        b"<w:sdt><w:sdtContent><w:p><w:r><w:t>control</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    result = extract_text(_docx_with_document_xml(body), "a.docx", None, limits=limits)
    assert result.text.splitlines() == ["before", "cell inner | B", "control"]


def test_docx_decompression_bomb_is_refused_quickly_without_memory() -> None:
    bomb = rs.bomb_docx()  # 1 GiB of document.xml packed into about 1 MB
    assert len(bomb) < 2 * 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(TooLarge):
        extract_text(bomb, "bomb.docx", DOCX_MIME, limits=ReadLimits())
    assert time.perf_counter() - start < 1.0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50


def test_docx_whose_zip_directory_lies_is_unpacked_no_further_than_declared(limits: ReadLimits) -> None:
    lying = rs.lying_docx(unpacked=256 << 20)  # says 2 kB, holds 256 MiB
    extract_text(rs.notice_docx().data, "a.docx", DOCX_MIME, limits=limits)  # imports done before measuring
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(Unreadable):  # the first 2 kB of document.xml are not a whole XML document
        extract_text(lying, "a.docx", DOCX_MIME, limits=limits)
    assert time.perf_counter() - start < 1.0
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 30


def test_docx_packed_too_tightly_is_refused_even_under_the_size_limit(limits: ReadLimits) -> None:
    with pytest.raises(TooLarge):
        extract_text(rs.bomb_docx(unpacked=40 * 1024 * 1024), "a.docx", None, limits=limits)


def test_docx_with_too_many_members_is_refused(docx_notice: rs.Sample) -> None:
    with pytest.raises(TooLarge):
        extract_text(docx_notice.data, "a.docx", None, limits=ReadLimits(max_docx_members=5))


def test_docx_entities_are_not_expanded(limits: ReadLimits) -> None:
    laughs = b'<!DOCTYPE w:document [<!ENTITY a "lollollollollollollollollollol">' + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10) for i in range(8)
    )
    prolog = laughs + b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    body = b"<w:p><w:r><w:t>start &i; &xxe; end</w:t></w:r></w:p>"
    start = time.perf_counter()
    try:
        result = extract_text(_docx_with_document_xml(body, prolog), "a.docx", None, limits=limits)
    except Unreadable:
        pass
    else:
        assert "lol" not in result.text
        assert "root:" not in result.text
        assert len(result.text) < 100
    assert time.perf_counter() - start < 2.0


def test_damaged_docx_is_unreadable(docx_notice: rs.Sample, limits: ReadLimits) -> None:
    with pytest.raises(Unreadable):
        extract_text(docx_notice.data[: len(docx_notice.data) // 2], "a.docx", DOCX_MIME, limits=limits)
    with pytest.raises(Unreadable):
        extract_text(b"PK\x03\x04 not really a zip", "a.docx", None, limits=limits)


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


def test_password_protected_docx_is_encrypted(limits: ReadLimits) -> None:
    data = OLE_HEADER + "EncryptionInfo".encode("utf-16-le") + b"\0" * 100
    with pytest.raises(Encrypted) as info:
        extract_text(data, "通知.docx", DOCX_MIME, limits=limits)
    assert info.value.code == "encrypted"


# -- unsupported ---------------------------------------------------------------------------------------


def _zip_with(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, b"<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "file_name", "mime_type"),
    [
        (OLE_HEADER + "WordDocument".encode("utf-16-le"), "通知.doc", "application/msword"),
        (OLE_HEADER, "通知.wps", "application/vnd.ms-works"),
        (OLE_HEADER, "misnamed.docx", DOCX_MIME),
        (_zip_with("xl/workbook.xml"), "表格.xlsx", None),
        (_zip_with("a.txt"), "files.zip", "application/zip"),
        (b"GIF89a" + b"\0" * 20, "a.gif", "image/gif"),
        (b"\0\0\0\x1cftypheic" + b"\0" * 20, "IMG_1.HEIC", "image/heic"),
        (b"{\\rtf1 hello}", "notice.rtf", "application/rtf"),
        (b"hello", None, None),
        (b"hello", "song.mp3", "audio/mpeg"),
    ],
)
def test_unsupported_types(data: bytes, file_name: str | None, mime_type: str | None, limits: ReadLimits) -> None:
    with pytest.raises(UnsupportedType) as info:
        extract_text(data, file_name, mime_type, limits=limits)
    assert info.value.code == "unsupported"
    assert str(info.value)


@pytest.mark.parametrize(
    ("file_name", "mime_type"),
    [("a.pdf", None), (None, "application/pdf"), ("a.png", None), ("a.jpg", "image/jpeg"), ("a.docx", None)],
)
def test_garbage_under_a_supported_name_is_unreadable(
    file_name: str | None, mime_type: str | None, limits: ReadLimits
) -> None:
    with pytest.raises(Unreadable):
        extract_text(b"\x13\x37 definitely not it", file_name, mime_type, limits=limits)


# -- pdf -----------------------------------------------------------------------------------------------


def test_pdf_text_layer(text_pdf: rs.Sample, limits: ReadLimits) -> None:
    result = extract_text(text_pdf.data, text_pdf.file_name, text_pdf.mime_type, limits=limits)
    assert (result.kind, result.pages, result.ocr, result.truncated) == ("pdf", 1, False, False)
    for phrase in text_pdf.key_phrases:
        assert phrase in result.text
    # The line that wrapped inside 「年度考核」 is joined again.
    assert "纳入学校年度考核。" in result.text


def test_pdf_page_limit_reads_the_first_pages_and_marks_truncated() -> None:
    sample = rs.notice_text_pdf(pages=4)
    result = extract_text(sample.data, "a.pdf", None, limits=ReadLimits(max_pages=2))
    assert (result.pages, result.truncated, result.ocr) == (2, True, False)
    assert "第2页" in result.text
    assert "第3页" not in result.text


def test_pdf_with_user_password_is_encrypted(limits: ReadLimits) -> None:
    with pytest.raises(Encrypted):
        extract_text(rs.encrypted_pdf(), "a.pdf", "application/pdf", limits=limits)


def test_pdf_with_owner_password_only_is_read(limits: ReadLimits) -> None:
    result = extract_text(rs.encrypted_pdf(user_password=""), "a.pdf", None, limits=limits)
    assert "截图" in result.text


def test_damaged_pdf_is_unreadable(text_pdf: rs.Sample, limits: ReadLimits) -> None:
    with pytest.raises(Unreadable):
        extract_text(b"%PDF-1.7\n" + b"\x00garbage" * 50, "a.pdf", None, limits=limits)


def test_scanned_pdf_goes_through_ocr(scanned_pdf: rs.Sample, limits: ReadLimits) -> None:
    result = extract_text(scanned_pdf.data, scanned_pdf.file_name, scanned_pdf.mime_type, limits=limits)
    assert (result.kind, result.pages, result.ocr, result.truncated) == ("pdf", 1, True, False)
    for phrase in scanned_pdf.key_phrases:
        assert phrase in result.text


def test_scanned_pdf_ocr_page_limit() -> None:
    sample = rs.scanned_pdf(pages=3)
    result = extract_text(sample.data, "scan.pdf", None, limits=ReadLimits(max_ocr_pages=1))
    assert (result.pages, result.ocr, result.truncated) == (1, True, True)
    assert result.text.count("平安校园") == 2  # title and item one of the first page only


def test_scanned_pdf_out_of_ocr_time_times_out(scanned_pdf: rs.Sample) -> None:
    with pytest.raises(OcrTimeout) as info:
        extract_text(scanned_pdf.data, "scan.pdf", None, limits=ReadLimits(ocr_timeout=-1.0))
    assert info.value.code == "ocr_timeout"


def test_every_error_is_a_read_error_with_a_code() -> None:
    codes = {cls.code for cls in (ReadError, UnsupportedType, TooLarge, Encrypted, Unreadable, OcrTimeout)}
    assert codes == {"unreadable", "unsupported", "too_large", "encrypted", "ocr_timeout"}
    assert all(issubclass(cls, ReadError) for cls in (UnsupportedType, TooLarge, Encrypted, Unreadable, OcrTimeout))
