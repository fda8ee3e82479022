"""Pictures: PNG, JPEG and WebP, checked from the header, then read by OCR."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from . import ocr
from .base import Extracted, ReadLimits
from .errors import TooLarge, Unreadable, UnsupportedType
from .layout import paragraphs_from_boxes
from .plain import clip

#: Formats Pillow reports for the pictures we accept (MPO is a JPEG from a phone camera).
FORMATS = {"PNG", "JPEG", "MPO", "WEBP"}


def check_pixels(width: int, height: int, limits: ReadLimits) -> None:
    if width * height > limits.max_image_pixels:
        raise TooLarge(f"picture of {width}x{height} pixels is over the limit")


def load_image(data: bytes, limits: ReadLimits) -> Image.Image:
    """The picture as upright RGB on white; its size is checked before any pixel is decoded."""
    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise TooLarge("picture over Pillow's pixel limit") from e
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise Unreadable("not a picture Pillow can open") from e
    if opened.format not in FORMATS:
        raise UnsupportedType(f"picture format {opened.format}")
    check_pixels(opened.width, opened.height, limits)
    try:
        opened.load()
        img = ImageOps.exif_transpose(opened)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # Transparent screenshots turn black when the alpha is dropped; put them on white.
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, "white")
            img.paste(rgba, mask=rgba.getchannel("A"))
        else:
            img = img.convert("RGB")
    except (OSError, ValueError, SyntaxError) as e:
        raise Unreadable("damaged picture") from e
    return img


def ocr_text(img: Image.Image) -> str:
    return paragraphs_from_boxes(ocr.recognize(img))


def read_image(data: bytes, limits: ReadLimits) -> Extracted:
    text, truncated = clip(ocr_text(load_image(data, limits)), limits)
    if not text:
        raise Unreadable("no text found in the picture")
    return Extracted(text=text, kind="image", pages=1, ocr=True, truncated=truncated)
