"""Button presses. Every press is checked when it is handled: the data must parse, the decision must
exist, and the presser must be its owner, in the chat it was answered in, or an admin."""

from __future__ import annotations

import re
from html import escape

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.messages import t
from bot.storage import Decision
from handlers.cards import draft_reply, full_clause, pack
from handlers.core import Deps, conditions_of, deps, language, send_html
from handlers.intake import origin_name

PATTERN = re.compile(r"^(fc|dr|wv|dv|dk|fg):([0-9]{1,12}|y|n)(?::([a-z_]{1,16}|[0-9]{1,2}))?$")
VERDICT_CHOICES = ("allow", "refuse", "conditional", "not_a_request")


def may_touch(d: Deps, query: CallbackQuery, decision: Decision) -> bool:
    user_id = query.from_user.id
    if d.settings.is_admin(user_id) or (decision.user_id is not None and decision.user_id == user_id):
        return True
    chat = query.message.chat if query.message else None
    return chat is not None and decision.chat_id is not None and decision.chat_id == chat.id


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    d = deps(context)
    lang = language(d, query.from_user)
    match = PATTERN.match(query.data or "")
    if match is None:
        await query.answer(t("not_permitted", lang), show_alert=True)
        return
    action, ident, extra = match.group(1), match.group(2), match.group(3)
    if action == "fg":
        await _forget(d, query, lang, confirmed=ident == "y")
        return
    if action == "dk":
        dispute = await d.storage.dispute(int(ident))
        if dispute is None or dispute.user_id != query.from_user.id:
            await query.answer(t("not_permitted", lang), show_alert=True)
            return
        if context.user_data is not None:
            context.user_data.pop("awaiting_comment", None)
        await query.answer()
        await query.edit_message_text(t("dispute.skipped", lang))
        return
    decision = await d.storage.decision(int(ident)) if ident.isdigit() else None
    if decision is None:
        await query.answer(t("not_found", lang), show_alert=True)
        return
    if not may_touch(d, query, decision):
        await query.answer(t("not_permitted", lang), show_alert=True)
        return
    message = query.message if isinstance(query.message, Message) else None
    if action == "fc":
        n = int(extra) if extra and extra.isdigit() else (decision.clauses[0] if decision.clauses else 0)
        if n not in decision.clauses:
            await query.answer(t("not_permitted", lang), show_alert=True)
            return
        await query.answer()
        if message is not None:
            await send_html(message, full_clause(d.policy, n, lang))
    elif action == "dr":
        await query.answer()
        if decision.verdict == "not_a_request":
            text = escape(t("draft.none", lang))
        else:
            body = draft_reply(
                d.policy,
                lang,
                verdict=decision.verdict,
                clauses=decision.clauses,
                text=decision.text,
                conditions=conditions_of(decision.findings),
                office=origin_name(decision.forward_origin),
            )
            text = t("draft.header", lang) + "\n\n" + escape(body)
        if message is not None:
            await send_html(message, pack([text]))
    elif action == "wv":
        await query.answer()
        buttons = [
            [
                InlineKeyboardButton(
                    t("verdict." + v, lang).split("：")[0].split(":")[0], callback_data=f"dv:{decision.id}:{v}"
                )
            ]
            for v in VERDICT_CHOICES
            if v != decision.verdict
        ]
        if message is not None:
            await message.reply_text(t("dispute.ask", lang), reply_markup=InlineKeyboardMarkup(buttons))
    elif action == "dv":
        if extra not in VERDICT_CHOICES:
            await query.answer(t("not_permitted", lang), show_alert=True)
            return
        dispute = await d.storage.add_dispute(decision.id, query.from_user.id, extra, lang, update.update_id)
        if context.user_data is not None:
            context.user_data["awaiting_comment"] = dispute.id
        await query.answer()
        label = t("verdict." + extra, lang).split("：")[0].split(":")[0]
        skip = InlineKeyboardMarkup([[InlineKeyboardButton(t("button.skip", lang), callback_data=f"dk:{dispute.id}")]])
        await query.edit_message_text(t("dispute.saved", lang, verdict=label), reply_markup=skip)


async def _forget(d: Deps, query: CallbackQuery, lang: str, confirmed: bool) -> None:
    chat = query.message.chat if query.message else None
    if chat is None or chat.type != "private" or chat.id != query.from_user.id:
        await query.answer(t("not_permitted", lang), show_alert=True)
        return
    await query.answer()
    if not confirmed:
        await query.edit_message_text(t("forget.cancelled", lang))
        return
    n = await d.storage.forget_user(query.from_user.id)
    await query.edit_message_text(t("forget.done", lang, n=n))
