"""Notices rendered at test time: pictures with a CJK font, .docx with python-docx, PDFs with fpdf2.

Shared by tests/reading and tests/bench/bench_reading.py. Every sample knows the text it shows
(`truth`, for the character error rate) and the phrases a reader must recover (`key_phrases`).
All names, places and apps are invented.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

#: Where Debian's fonts-wqy-microhei (installed by `make test`) and a few others put a CJK font.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def font_path() -> Path:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("no CJK font found; `make test` installs Debian's fonts-wqy-microhei")


def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size)


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    file_name: str
    mime_type: str
    truth: str
    key_phrases: tuple[str, ...]


NOTICE_TITLE = "关于组织教师参与“平安校园”知识竞答的通知"
NOTICE_BODY = (
    "各学校：",
    "为进一步提升师生安全意识，现将有关事项通知如下：",
    "一、请各校组织全体教职工于11月20日前下载“平安校园”APP并完成注册，下载率纳入学校年度考核。",
    "二、每位教师须在APP内完成知识竞答，并将成绩截图上传至工作群，由学校汇总后报送县教育局。",
    "三、未按时完成的学校将予以通报。",
)
NOTICE_SIGNATURE = ("青禾县教育局办公室", "2024年11月12日")
NOTICE_KEYS = ("下载", "截图", "考核", "平安校园")


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, indent: float = 0.0) -> list[str]:
    """Break `text` into lines no wider than `width` pixels (the first line indented), character by character."""
    lines: list[str] = []
    line = ""
    limit = width - indent
    for ch in text:
        if font.getlength(line + ch) > limit and line:
            lines.append(line)
            line = ""
            limit = width
        line += ch
    if line:
        lines.append(line)
    return lines


def render_notice(width: int = 1240, font_size: int = 34) -> tuple[Image.Image, str]:
    """A clean printed notice: centred title, indented paragraphs, signature on the right."""
    title_font = cjk_font(font_size + 8)
    font = cjk_font(font_size)
    margin = 100
    line_h = int(font_size * 1.75)
    text_w = width - 2 * margin
    rows: list[tuple[str, ImageFont.FreeTypeFont, str, float]] = [(NOTICE_TITLE, title_font, "center", 0.0)]
    for i, para in enumerate(NOTICE_BODY):
        indent = 0.0 if i == 0 else 2 * font_size
        for j, line in enumerate(_wrap(para, font, text_w, indent)):
            rows.append((line, font, "left", indent if j == 0 else 0.0))
    rows.append(("", font, "left", 0.0))
    rows.extend((line, font, "right", 0.0) for line in NOTICE_SIGNATURE)
    height = margin * 2 + line_h * (len(rows) + 1)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    y = margin
    for text, f, align, indent in rows:
        length = f.getlength(text)
        if align == "center":
            x = (width - length) / 2
        elif align == "right":
            x = width - margin - length - font_size
        else:
            x = margin + indent
        draw.text((x, y), text, font=f, fill=(20, 20, 20))
        y += line_h + (line_h // 2 if f is title_font else 0)
    truth = "".join([NOTICE_TITLE, *NOTICE_BODY, *NOTICE_SIGNATURE])
    return img, truth


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def clean_notice_png() -> Sample:
    img, truth = render_notice()
    return Sample("clean notice (PNG)", _png(img), "notice.png", "image/png", truth, NOTICE_KEYS)


CHAT_TITLE = "三年级教师群(48)"
CHAT_MESSAGES = (
    (
        "教务处李主任",
        "@所有人 请各位老师今天下班前在“青禾学习”APP完成每日答题，并把积分截图发到群里，完成情况纳入本月考核。",
        False,
    ),
    ("王老师", "收到", True),
    ("教务处李主任", "另外请转发到家长群，让每位家长下载“反诈先锋”APP并截图回复，班级完成率要达到100%。", False),
)
CHAT_KEYS = ("截图", "考核", "下载", "家长群")


def render_chat(width: int = 1080, height: int = 2000) -> tuple[Image.Image, str]:
    """A chat-app screenshot: status bar, group title, avatars, names and wrapped speech bubbles."""
    img = Image.new("RGB", (width, height), (237, 237, 237))
    draw = ImageDraw.Draw(img)
    small, name_font, text_font, title_font = cjk_font(30), cjk_font(30), cjk_font(44), cjk_font(44)
    draw.text((40, 20), "9:41", font=small, fill="black")
    draw.text((width - 160, 20), "86%", font=small, fill="black")
    draw.rectangle((0, 80, width, 200), fill=(247, 247, 247))
    draw.text(((width - title_font.getlength(CHAT_TITLE)) / 2, 115), CHAT_TITLE, font=title_font, fill="black")
    truth = ["9:41", "86%", CHAT_TITLE]
    y = 260
    avatar = 110
    bubble_max = width - 2 * (avatar + 70) - 60
    pad = 30
    line_h = 64
    for name, text, mine in CHAT_MESSAGES:
        lines = _wrap(text, text_font, bubble_max)
        bubble_w = int(max(text_font.getlength(line) for line in lines)) + 2 * pad
        bubble_h = line_h * len(lines) + 2 * pad - (line_h - 48)
        if mine:
            ax = width - 40 - avatar
            bx1 = ax - 30
            bx0 = bx1 - bubble_w
            by0 = y
            color = (149, 236, 105)
        else:
            ax = 40
            draw.text((ax + avatar + 30, y), name, font=name_font, fill=(120, 120, 120))
            truth.append(name)
            bx0 = ax + avatar + 30
            bx1 = bx0 + bubble_w
            by0 = y + 50
            color = (255, 255, 255)
        draw.rounded_rectangle(
            (ax, y, ax + avatar, y + avatar), radius=12, fill=(90, 140, 200) if not mine else (200, 140, 90)
        )
        draw.rounded_rectangle((bx0, by0, bx1, by0 + bubble_h), radius=14, fill=color)
        for i, line in enumerate(lines):
            draw.text((bx0 + pad, by0 + pad + i * line_h), line, font=text_font, fill=(20, 20, 20))
        truth.append(text)
        y = by0 + bubble_h + 70
    return img, "".join(truth)


def chat_screenshot_png() -> Sample:
    img, truth = render_chat()
    return Sample("chat screenshot (PNG)", _png(img), "screenshot.png", "image/png", truth, CHAT_KEYS)


def phone_photo_jpeg(
    quality: int = 45, size: tuple[int, int] = (720, 1280), blur: float = 0.6, tilt: float = 1.2, seed: int = 7
) -> Sample:
    """The notice photographed: phone-sized, slightly turned, uneven light, sensor noise, heavy JPEG."""
    page, truth = render_notice(width=1240, font_size=34)
    page = page.rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(120, 110, 100))
    w, h = size
    scale = min((w - 40) / page.width, (h - 40) / page.height)
    page = page.resize((int(page.width * scale), int(page.height * scale)), Image.Resampling.LANCZOS)
    photo = Image.new("RGB", (w, h), (120, 110, 100))
    photo.paste(page, ((w - page.width) // 2, (h - page.height) // 2))
    shade = Image.linear_gradient("L").rotate(90).resize((w, h)).point(lambda v: 255 - v // 3)
    photo = Image.composite(photo, Image.new("RGB", (w, h), (60, 55, 50)), shade)
    rng = random.Random(seed)
    noise = Image.frombytes("L", (w, h), bytes(rng.randrange(0, 40) for _ in range(w * h)))
    photo = Image.composite(Image.new("RGB", (w, h), (0, 0, 0)), photo, noise.point(lambda v: v // 2))
    photo = photo.filter(ImageFilter.GaussianBlur(blur))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=quality)
    name = f"phone photo ({w}x{h}, JPEG q{quality})"
    return Sample(name, buf.getvalue(), "IMG_2041.jpg", "image/jpeg", truth, NOTICE_KEYS)


# -- documents --------------------------------------------------------------------------------------

DOCX_TABLE = (
    ("序号", "任务", "要求", "截止时间"),
    ("1", "下载“平安校园”APP", "全员注册并截图上报", "11月20日"),
    ("2", "家访登记表", "每生一表，纸质版与电子版各一份", "11月25日"),
)
DOCX_AFTER = "以上工作完成情况纳入学期考核。"
DOCX_KEYS = ("平安校园", "截图上报", "家访登记表", "纳入学期考核")


def notice_docx() -> Sample:
    """A Word notice with a table between two paragraphs, so document order can be checked."""
    import docx

    doc = docx.Document()
    doc.add_heading(NOTICE_TITLE, level=1)
    doc.add_paragraph(NOTICE_BODY[0])
    doc.add_paragraph(NOTICE_BODY[1])
    table = doc.add_table(rows=0, cols=4)
    for row in DOCX_TABLE:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
    doc.add_paragraph(DOCX_AFTER)
    doc.add_paragraph(NOTICE_SIGNATURE[0])
    buf = io.BytesIO()
    doc.save(buf)
    truth = "".join([NOTICE_TITLE, NOTICE_BODY[0], NOTICE_BODY[1], *("".join(r) for r in DOCX_TABLE), DOCX_AFTER])
    return Sample(
        "notice (.docx with a table)",
        buf.getvalue(),
        "通知.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        truth,
        DOCX_KEYS,
    )


def notice_text_pdf(pages: int = 1) -> Sample:
    """A PDF with a real text layer (fpdf2 embeds a subset of the CJK font and its ToUnicode map)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("cjk", fname=str(font_path()))
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("cjk", size=16)
        pdf.multi_cell(0, 10, NOTICE_TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=12)
        for para in NOTICE_BODY:
            pdf.multi_cell(0, 8, para, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 8, f"第{n + 1}页", new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    truth = "".join([NOTICE_TITLE, *NOTICE_BODY])
    return Sample("notice (PDF, text layer)", data, "notice.pdf", "application/pdf", truth, NOTICE_KEYS)


def scanned_pdf(pages: int = 1) -> Sample:
    """An image-only PDF, as a scanner makes: no text layer, so it must go through OCR."""
    img, truth = render_notice()
    img = img.convert("L")
    buf = io.BytesIO()
    img.save(buf, "PDF", resolution=150.0, save_all=True, append_images=[img] * (pages - 1))
    return Sample("notice (PDF, scanned)", buf.getvalue(), "scan.pdf", "application/pdf", truth, NOTICE_KEYS)


def encrypted_pdf(user_password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(notice_text_pdf().data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data, compress_type=compression, compresslevel=9)
    return buf.getvalue()


def bomb_docx(unpacked: int = 1 << 30) -> bytes:
    """A real .docx whose document.xml unpacks to `unpacked` bytes (1 GiB of spaces by default).

    Built as a stream so making it needs no more memory than the ~1 MB it compresses to.
    """
    real = zipfile.ZipFile(io.BytesIO(notice_docx().data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in real.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, real.read(info))
                continue
            doc = real.read(info)
            head, tail = doc.split(b"<w:body>", 1)
            big = zipfile.ZipInfo("word/document.xml")
            big.compress_type = zipfile.ZIP_DEFLATED
            with out.open(big, "w", force_zip64=unpacked >= 1 << 31) as member:
                member.write(head + b"<w:body>")
                chunk = b" " * (1 << 20)
                for _ in range(unpacked // len(chunk)):
                    member.write(chunk)
                member.write(tail)
    return buf.getvalue()


def lying_docx(unpacked: int = 64 << 20) -> bytes:
    """A .docx whose zip directory says document.xml is 2 kB, with the CRC of its first 2 kB, while
    the member really unpacks to `unpacked` bytes: zipfile's read() of the whole member inflates it all.
    """
    data = bytearray(bomb_docx(unpacked=unpacked))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml")
    local = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[local + 26 : local + 30])
    start = local + 30 + name_len + extra_len
    prefix = zlib.decompressobj(-15).decompress(bytes(data[start : start + info.compress_size]), 2048)
    crc_and_sizes = struct.pack("<III", zlib.crc32(prefix), info.compress_size, len(prefix))
    # CRC, packed and unpacked sizes: at offset 14 of the local header, 16 of the central entry.
    data[local + 14 : local + 26] = crc_and_sizes
    name = info.filename.encode()
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        if data[pos + 46 : pos + 46 + len(name)] == name:
            data[pos + 16 : pos + 28] = crc_and_sizes
        pos += 4
    return bytes(data)
