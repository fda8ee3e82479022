"""Turning a Telegram message into what we screen: its text, where it came from, and file contents."""

from __future__ import annotations

from typing import Any

from telegram import Message, MessageOriginChannel, MessageOriginChat, MessageOriginHiddenUser, MessageOriginUser

#: File endings the reader takes; anything else gets the short "what I accept" answer without a download.
READABLE = (".txt", ".docx", ".pdf", ".png", ".jpg", ".jpeg", ".webp")
READABLE_MIME = ("text/plain", "application/pdf", "image/png", "image/jpeg", "image/webp",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document")  # fmt: skip


def forward_origin(message: Message) -> dict[str, Any] | None:
    """Who the forwarded message came from, as stored with the decision."""
    origin = message.forward_origin
    if origin is None:
        return None
    if isinstance(origin, MessageOriginUser):
        u = origin.sender_user
        return {"type": "user", "id": u.id, "name": u.full_name, "username": u.username}
    if isinstance(origin, MessageOriginHiddenUser):
        return {"type": "hidden_user", "name": origin.sender_user_name}
    if isinstance(origin, MessageOriginChat):
        c = origin.sender_chat
        return {"type": "chat", "id": c.id, "name": c.title or c.full_name, "username": c.username}
    if isinstance(origin, MessageOriginChannel):
        c = origin.chat
        return {"type": "channel", "id": c.id, "name": c.title, "username": c.username, "message_id": origin.message_id}
    return {"type": str(origin.type)}


def origin_name(origin: dict[str, Any] | None) -> str | None:
    if not origin:
        return None
    name = origin.get("name")
    return str(name) if name else None


def decode_text_file(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312); None when neither fits."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text.strip() and "\x00" not in text:
            return text
    return None


def message_text(message: Message) -> str | None:
    return message.text or message.caption


def is_readable_name(file_name: str, mime_type: str | None) -> bool:
    return file_name.lower().endswith(READABLE) or (mime_type or "") in READABLE_MIME
