"""extract_text on pictures: OCR of rendered notices and screenshots, and the picture limits."""

from __future__ import annotations

import io
import socket
import struct
import zlib

import pytest
import reading_samples as rs
from PIL import Image, ImageDraw

from bot.reading import ReadLimits, TooLarge, Unreadable, UnsupportedType, extract_text
from bot.reading import ocr as ocr_module


def _read(sample: rs.Sample, limits: ReadLimits) -> str:
    result = extract_text(sample.data, sample.file_name, sample.mime_type, limits=limits)
    assert (result.kind, result.pages, result.ocr, result.truncated) == ("image", 1, True, False)
    for phrase in sample.key_phrases:
        assert phrase in result.text, f"{phrase!r} not in {result.text!r}"
    return result.text


def test_clean_notice(clean_notice: rs.Sample, limits: ReadLimits) -> None:
    text = _read(clean_notice, limits)
    # Wrapped lines come back as one paragraph, so phrases cut by a line break are whole again.
    assert "下载率纳入学校年度考核" in text
    assert "截图上传至工作群" in text


def test_chat_screenshot(chat_screenshot: rs.Sample, limits: ReadLimits) -> None:
    text = _read(chat_screenshot, limits)
    assert "完成情况纳入本月考核" in text
    assert "让每位家长下载" in text


def test_phone_sized_jpeg_with_artefacts(phone_photo: rs.Sample, limits: ReadLimits) -> None:
    assert Image.open(io.BytesIO(phone_photo.data)).size == (720, 1280)
    _read(phone_photo, limits)


def test_webp(clean_notice: rs.Sample, limits: ReadLimits) -> None:
    buf = io.BytesIO()
    Image.open(io.BytesIO(clean_notice.data)).save(buf, "WEBP", quality=80)
    _read(rs.Sample("webp", buf.getvalue(), "a.webp", "image/webp", clean_notice.truth, ("截图", "考核")), limits)


def test_transparent_png_is_read_on_white(limits: ReadLimits) -> None:
    img = Image.new("RGBA", (900, 200), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((40, 70), "请各位老师截图上报", font=rs.cjk_font(48), fill=(0, 0, 0, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert "截图上报" in extract_text(buf.getvalue(), "a.png", None, limits=limits).text


def test_exif_orientation_is_applied(phone_photo: rs.Sample, limits: ReadLimits) -> None:
    img = Image.open(io.BytesIO(phone_photo.data)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    _read(rs.Sample("rotated", buf.getvalue(), "IMG.jpg", "image/jpeg", "", phone_photo.key_phrases), limits)


def test_long_screenshot_is_read_in_slices(chat_screenshot: rs.Sample, limits: ReadLimits) -> None:
    one = Image.open(io.BytesIO(chat_screenshot.data)).crop((0, 200, 1080, 1200))
    tall = Image.new("RGB", (1080, 4000), (237, 237, 237))
    for i in range(4):
        tall.paste(one, (0, i * 1000))
    buf = io.BytesIO()
    tall.save(buf, "PNG")
    assert len(ocr_module._slices(tall)) == 2
    text = extract_text(buf.getvalue(), "long.png", None, limits=limits).text
    assert text.count("家长群") == 4
    assert text.count("纳入本月考核") == 4


def test_ocr_needs_no_network(clean_notice: rs.Sample, limits: ReadLimits, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network used during OCR")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(ocr_module, "_engine", None)  # build the engine and load the models again, offline
    _read(clean_notice, limits)


def test_picture_without_text_is_unreadable(limits: ReadLimits) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buf, "PNG")
    with pytest.raises(Unreadable):
        extract_text(buf.getvalue(), "blank.png", None, limits=limits)


def test_pixel_limit(clean_notice: rs.Sample) -> None:
    with pytest.raises(TooLarge):
        extract_text(clean_notice.data, "a.png", None, limits=ReadLimits(max_image_pixels=1_000_000))


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, with a few bytes of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [6000, 100_000])
def test_huge_dimensions_are_refused_from_the_header(side: int, limits: ReadLimits) -> None:
    with pytest.raises(TooLarge):
        extract_text(_png_claiming(side, side), "huge.png", None, limits=limits)


def test_truncated_jpeg_is_unreadable(phone_photo: rs.Sample, limits: ReadLimits) -> None:
    with pytest.raises(Unreadable):
        extract_text(phone_photo.data[: len(phone_photo.data) // 3], "a.jpg", None, limits=limits)


def test_other_picture_formats_are_unsupported(limits: ReadLimits) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buf, "BMP")
    with pytest.raises(UnsupportedType):
        extract_text(buf.getvalue(), "a.bmp", "image/bmp", limits=limits)
