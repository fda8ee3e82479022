"""Plain messages: texts and forwards in private chats, mentions in groups, captions and .txt files."""

from __future__ import annotations

import logging

from telegram import MessageEntity, Update
from telegram.ext import ContextTypes

from bot.messages import t
from handlers.core import deps, language, reply_text, screen_and_reply
from handlers.intake import MAX_TXT_BYTES, decode_text_file, forward_origin

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
        await reply_text(update, t("dispute.comment_saved", await language(d, update.effective_user)))
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
        await reply_text(update, t("check.usage", await language(deps(context), update.effective_user)))
        return
    await screen_and_reply(update, context, text, "mention", forward_origin(message))


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if message.caption and message.caption.strip():
        await screen_and_reply(update, context, message.caption, "caption", forward_origin(message))
        return
    await reply_text(update, t("photo.no_caption", await language(deps(context), update.effective_user)))


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.document is None:
        return
    d = deps(context)
    lang = await language(d, update.effective_user)
    doc = message.document
    name = (doc.file_name or "").lower()
    if not (name.endswith(".txt") or doc.mime_type == "text/plain"):
        await reply_text(update, t("unsupported", lang))
        return
    if doc.file_size is not None and doc.file_size > MAX_TXT_BYTES:
        await reply_text(update, t("file.too_big", lang, limit="1 MB"))
        return
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    if len(data) > MAX_TXT_BYTES:
        await reply_text(update, t("file.too_big", lang, limit="1 MB"))
        return
    text = decode_text_file(data)
    if text is None:
        await reply_text(update, t("file.unreadable", lang))
        return
    note = t("card.read_from", lang, source=doc.file_name or "file")
    await screen_and_reply(update, context, text, "file", forward_origin(message), source_note=note)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply_text(update, t("unsupported", await language(deps(context), update.effective_user)))
