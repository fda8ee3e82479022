"""Which reader a file needs, decided by its first bytes; the name and MIME type only break ties."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from .base import Kind
from .errors import Encrypted, Unreadable, UnsupportedType

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office, WPS, and password-protected .docx
_ZIP = b"PK\x03\x04"
_DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_DOCX_SUFFIXES = {".docx", ".docm", ".dotx"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
_IMAGE_MIMES = {"image/png", "image/jpeg", "image/webp"}
_OTHER_IMAGES = (b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def _suffix(file_name: str | None) -> str:
    return PurePath(file_name).suffix.lower() if file_name else ""


def _mime(mime_type: str | None) -> str:
    return (mime_type or "").split(";", 1)[0].strip().lower()


def detect_kind(data: bytes, file_name: str | None, mime_type: str | None) -> Kind:
    """The kind of `data`, or UnsupportedType / Encrypted / Unreadable."""
    suffix, mime = _suffix(file_name), _mime(mime_type)
    says_docx = suffix in _DOCX_SUFFIXES or mime == _DOCX_MIME
    if data.startswith((_PNG, _JPEG)) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    # PDF readers accept the header anywhere in the first kilobyte; so do we.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(_ZIP):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError) as e:
            if says_docx:
                raise Unreadable("damaged .docx file") from e
            raise UnsupportedType("unsupported archive") from e
        if "word/document.xml" in names:
            return "docx"
        raise UnsupportedType("zip container that is not a Word document")
    if data.startswith(_OLE):
        # A password-protected .docx is an OLE container holding an EncryptionInfo stream.
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise Encrypted("password-protected Word document")
        raise UnsupportedType("legacy Office or WPS file")
    if suffix in _IMAGE_SUFFIXES or mime in _IMAGE_MIMES:
        raise Unreadable("damaged picture")
    if data.startswith(_OTHER_IMAGES) or mime.startswith("image/"):
        raise UnsupportedType("picture format other than PNG, JPEG or WebP")
    if suffix == ".txt" or mime == "text/plain":
        return "txt"
    if says_docx:
        raise Unreadable("damaged .docx file")
    if suffix == ".pdf" or mime == "application/pdf":
        raise Unreadable("damaged PDF file")
    raise UnsupportedType(f"unsupported file type {suffix or mime or 'unknown'}")
