"""Commands, from one table that also feeds set_my_commands and /help."""

from __future__ import annotations

from html import escape

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.messages import t
from handlers.cards import clause_table, excerpt, full_clause
from handlers.core import admin_place, deps, language, reply_text, screen_and_reply, send_html
from handlers.intake import forward_origin, message_text

#: name -> catalog key of its description. Order is the order users see.
COMMANDS: list[tuple[str, str]] = [
    ("start", "cmd.start"),
    ("help", "cmd.help"),
    ("check", "cmd.check"),
    ("clauses", "cmd.clauses"),
    ("clause", "cmd.clause"),
    ("lang", "cmd.lang"),
    ("history", "cmd.history"),
    ("forget", "cmd.forget"),
]
#: The admins' commands (handlers/admin.py): in the admins' own command menus and their /help only.
ADMIN_COMMANDS: list[tuple[str, str]] = [
    ("review", "cmd.review"),
    ("log", "cmd.log"),
    ("show", "cmd.show"),
    ("stats", "cmd.stats"),
    ("export", "cmd.export"),
]


def bot_commands(lang: str, admin: bool = False) -> list[BotCommand]:
    table = COMMANDS + ADMIN_COMMANDS if admin else COMMANDS
    return [BotCommand(name, t(key, lang)) for name, key in table]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    lang = language(d, update.effective_user)
    await reply_text(update, t("start", lang, days=d.settings.retention_days), html=True)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    lang = language(d, update.effective_user)
    lines = "\n".join(f"/{name} — {escape(t(key, lang))}" for name, key in COMMANDS)
    text = t("help", lang, commands=lines)
    if admin_place(d, update):
        admin_lines = "\n".join(f"/{name} — {escape(t(key, lang))}" for name, key in ADMIN_COMMANDS)
        text += "\n\n" + t("help.admin", lang, commands=admin_lines)
    await reply_text(update, text, html=True)


async def clauses(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    lang = language(d, update.effective_user)
    if update.effective_message:
        await send_html(update.effective_message, clause_table(d.policy, lang))


def _clause_number(args: list[str]) -> int | None:
    if len(args) != 1:
        return None
    raw = args[0].strip().lstrip("第").rstrip("条")
    if not raw.isdigit() or len(raw) > 2:
        return None
    n = int(raw)
    return n if 1 <= n <= 20 else None


async def clause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    lang = language(d, update.effective_user)
    n = _clause_number(list(context.args or []))
    if n is None:
        await reply_text(update, t("clause.usage", lang))
        return
    if update.effective_message:
        await send_html(update.effective_message, full_clause(d.policy, n, lang))


async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    user = update.effective_user
    args = [a.lower() for a in (context.args or [])]
    choice = (
        {"zh": "zh", "cn": "zh", "中文": "zh", "en": "en", "english": "en"}.get(args[0]) if len(args) == 1 else None
    )
    if user is None or choice is None:
        await reply_text(update, t("lang.usage", language(d, user)))
        return
    await d.storage.set_language(user.id, choice)
    await reply_text(update, t("lang.set", choice))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    user = update.effective_user
    lang = language(d, user)
    if user is None:
        return
    if update.effective_chat and update.effective_chat.type != "private":
        await reply_text(update, t("not_permitted", lang))
        return
    rows = await d.storage.history(user.id, 10)
    if not rows:
        await reply_text(update, t("history.empty", lang))
        return
    lines = [t("history.header", lang)]
    for r in rows:
        day = r.created_at[:16].replace("T", " ")
        mark = t("verdict." + r.verdict, lang).split(" ")[0]
        text = excerpt(r.text, 40) if r.text else t("history.forgotten", lang)
        lines.append(f"#{r.id} {day} {mark} {escape(t('cat.' + r.category, lang))} — {escape(text)}")
    if update.effective_message:
        await send_html(update.effective_message, ["\n".join(lines)])


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    lang = language(d, update.effective_user)
    if update.effective_chat and update.effective_chat.type != "private":
        await reply_text(update, t("not_permitted", lang))
        return
    markup = InlineKeyboardMarkup(
        [[
            InlineKeyboardButton(t("button.confirm_forget", lang), callback_data="fg:y"),
            InlineKeyboardButton(t("button.cancel", lang), callback_data="fg:n"),
        ]]
    )  # fmt: skip
    if update.effective_message:
        await update.effective_message.reply_text(t("forget.ask", lang), reply_markup=markup)


async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/check` as a reply screens the replied message; `/check TEXT` screens TEXT."""
    d = deps(context)
    message = update.effective_message
    if message is None:
        return
    lang = language(d, update.effective_user)
    target = message.reply_to_message
    if target is not None and message_text(target):
        await screen_and_reply(update, context, message_text(target) or "", "check_reply", forward_origin(target))
        return
    text = (message.text or "").split(maxsplit=1)
    if len(text) == 2 and text[1].strip():
        await screen_and_reply(update, context, text[1], "check")
        return
    await reply_text(update, t("check.usage", lang))
