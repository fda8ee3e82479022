"""Plain messages: texts and forwards in private chats, mentions in groups, captions and .txt files."""

from __future__ import annotations

import asyncio
import logging

from telegram import MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.messages import t
from bot.reading import Extracted, ReadError
from bot.retry import is_transient
from handlers.cards import excerpt
from handlers.core import Deps, deps, language, reply_text, screen_and_reply
from handlers.intake import decode_text_file, forward_origin, is_readable_name

log = logging.getLogger(__name__)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    d = deps(context)
    pending = context.user_data.get("awaiting_comment") if context.user_data is not None else None
    if pending is not None and message.forward_origin is None and context.user_data is not None:
        context.user_data.pop("awaiting_comment", None)
        await d.storage.comment_dispute(int(pending), message.text[:2000])
        await reply_text(update, t("dispute.comment_saved", language(d, update.effective_user)))
        return
    origin = forward_origin(message)
    await screen_and_reply(update, context, message.text, "forward" if origin else "text", origin)


async def group_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups the bot speaks only when mentioned (or asked with /check)."""
    message = update.effective_message
    if message is None:
        return
    text = message.text or message.caption or ""
    entities = (
        message.parse_entities([MessageEntity.MENTION])
        if message.text
        else message.parse_caption_entities([MessageEntity.MENTION])
    )
    username = (context.bot.username or "").lower()
    mentions = [v for v in entities.values() if v.lower() == f"@{username}"]
    if not mentions:
        return
    for m in mentions:
        text = text.replace(m, " ")
    target = message.reply_to_message
    if not text.strip() and target is not None and (target.text or target.caption):
        await screen_and_reply(
            update, context, target.text or target.caption or "", "mention_reply", forward_origin(target)
        )
        return
    if not text.strip():
        await reply_text(update, t("check.usage", language(deps(context), update.effective_user)))
        return
    await screen_and_reply(update, context, text, "mention", forward_origin(message))


READ_ERROR_MESSAGES = {
    "unsupported": "unsupported",
    "too_large": "file.too_big",
    "encrypted": "file.encrypted",
    "ocr_timeout": "file.timeout",
    "unreadable": "file.unreadable",
}


async def _read(d: Deps, data: bytes, file_name: str | None, mime_type: str | None) -> Extracted:
    return await d.reader.read(data, file_name, mime_type, timeout=d.settings.ocr_timeout_seconds)


def _limit(d: Deps) -> str:
    return f"{d.settings.max_file_mb} MB"


#: Pauses before trying a failed file download again (getFile itself is retried by the rate limiter; the
#: download from the file server is not a Bot API method and is retried here).
DOWNLOAD_PAUSES = (0.5, 2.0, 5.0)


async def download(update: Update) -> bytes | None:
    """The file's bytes, tried again while Telegram is unreachable; None (and the user told to send it
    again) when it still fails. Errors that would fail again (a file gone, a bad request) are raised."""
    message = update.effective_message
    assert message is not None
    attachment = message.photo[-1] if message.photo else message.document
    assert attachment is not None
    for attempt, pause in enumerate((*DOWNLOAD_PAUSES, None)):
        try:
            return bytes(await (await attachment.get_file()).download_as_bytearray())
        except TelegramError as exc:
            if not is_transient(exc):
                raise
            log.warning("file download failed (attempt %d): %s: %s", attempt + 1, type(exc).__name__, exc)
            if pause is None:
                return None
            await asyncio.sleep(pause)
    return None


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A picture (a screenshot of a chat notice, a photo of a paper one): its text and caption together."""
    message = update.effective_message
    if message is None or not message.photo:
        return
    d = deps(context)
    lang = language(d, update.effective_user)
    caption = (message.caption or "").strip()
    biggest = message.photo[-1]
    if biggest.file_size is not None and biggest.file_size > d.settings.max_file_bytes:
        await reply_text(update, t("file.too_big", lang, limit=_limit(d)))
        return
    data = await download(update)
    if data is None:
        await reply_text(update, t("file.download_failed", lang))
        return
    try:
        extracted = await _read(d, data, "photo.jpg", "image/jpeg")
    except ReadError as exc:
        log.warning("picture not read (%s): %s", exc.code, exc.__cause__ or exc)
        if caption:
            note = t("card.caption_only", lang)
            await screen_and_reply(update, context, caption, "caption", forward_origin(message), source_note=note)
        else:
            await reply_text(update, t(READ_ERROR_MESSAGES.get(exc.code, "file.unreadable"), lang, limit=_limit(d)))
        return
    text = "\n".join(part for part in (caption, extracted.text.strip()) if part)
    if not text:
        await reply_text(update, t("photo.no_text", lang))
        return
    read_note: str | None = None
    if extracted.text.strip():
        read_note = t("card.read_text", lang, source=t("source.picture", lang), excerpt=excerpt(extracted.text, 120))
    await screen_and_reply(update, context, text, "photo", forward_origin(message), source_note=read_note)


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file: .txt read here; .docx, PDF and pictures sent as files go to the reader."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    d = deps(context)
    lang = language(d, update.effective_user)
    doc = message.document
    name = doc.file_name or "file"
    if doc.file_size is not None and doc.file_size > d.settings.max_file_bytes:
        await reply_text(update, t("file.too_big", lang, limit=_limit(d)))
        return
    if not is_readable_name(name, doc.mime_type):
        await reply_text(update, t("unsupported", lang))
        return
    data = await download(update)
    if data is None:
        await reply_text(update, t("file.download_failed", lang))
        return
    if len(data) > d.settings.max_file_bytes:
        await reply_text(update, t("file.too_big", lang, limit=_limit(d)))
        return
    if name.lower().endswith(".txt") or doc.mime_type == "text/plain":
        decoded = decode_text_file(data)
        if decoded is None:
            await reply_text(update, t("file.unreadable", lang))
            return
        body = decoded
    else:
        try:
            body = (await _read(d, data, name, doc.mime_type)).text
        except ReadError as exc:
            log.warning("file %r not read (%s): %s", name, exc.code, exc.__cause__ or exc)
            await reply_text(update, t(READ_ERROR_MESSAGES.get(exc.code, "file.unreadable"), lang, limit=_limit(d)))
            return
    text = "\n".join(part for part in ((message.caption or "").strip(), body.strip()) if part)
    if not text:
        await reply_text(update, t("file.unreadable", lang))
        return
    note = t("card.read_text", lang, source=name, excerpt=excerpt(body, 120))
    await screen_and_reply(update, context, text, "file", forward_origin(message), source_note=note)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply_text(update, t("unsupported", language(deps(context), update.effective_user)))
