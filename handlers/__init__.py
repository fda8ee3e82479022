"""The Telegram edge: updates in, replies out. Handlers translate; no clause logic lives here."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.messages import t
from bot.retry import is_transient
from bot.storage import StorageError
from handlers import admin, buttons, commands, messages
from handlers.core import deps, language, reply_text

log = logging.getLogger(__name__)


async def rate_limit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: a user over the per-minute limit gets one polite wait message."""
    user = update.effective_user
    if user is None or (update.message is None and update.callback_query is None):
        return
    d = deps(context)
    if d.over_limit(user.id):
        if d.should_warn(user.id):
            lang = language(d, user)
            if update.callback_query:
                await update.callback_query.answer(t("rate_limited", lang), show_alert=True)
            else:
                await reply_text(update, t("rate_limited", lang))
        raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler; it logs first. Telegram unreachable or flooded: the request was already sent
    again for a while (bot/retry.py) and the intake tries an unsent verdict again, so the user is not told
    (a message would not get through either). The user blocked the bot: noted. The database or anything
    else: the user is asked to send again, and the admin chat is told."""
    err = context.error
    if is_transient(err):
        log.warning("Telegram unreachable while handling an update (%s: %s)", type(err).__name__, err)
        return
    if isinstance(err, Forbidden):
        log.info("could not answer: %s", err)
        return
    if isinstance(err, StorageError):
        log.error("storage unavailable: %s", err)
    else:
        log.error("error while handling an update", exc_info=err)
    if err is not None:
        alert = admin.alert_admins(context.bot, deps(context), err)
        if context.application.running:
            context.application.create_task(alert)
        else:
            await alert
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = language(deps(context), update.effective_user)
        try:
            await context.bot.send_message(update.effective_chat.id, t("unavailable", lang))
        except Exception:
            log.warning("could not tell the user about the error")


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    app.add_handler(TypeHandler(Update, rate_limit), group=-2)
    # A reviewer typing a clause is answered before anything else reads the text (it stops the update there).
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, admin.typed_clause), group=-1)
    handlers = {
        "start": commands.start,
        "help": commands.help_command,
        "clauses": commands.clauses,
        "clause": commands.clause,
        "lang": commands.lang_command,
        "history": commands.history,
        "forget": commands.forget,
        "check": commands.check,
        "review": admin.review,
        "log": admin.log_command,
        "show": admin.show,
        "stats": admin.stats,
        "export": admin.export,
    }
    # The command tables feed the menu and /help; every listed command must have its handler.
    assert set(handlers) == {name for name, _ in (*commands.COMMANDS, *commands.ADMIN_COMMANDS)}
    for name, callback in handlers.items():
        app.add_handler(CommandHandler(name, callback))
    app.add_handler(CallbackQueryHandler(admin.on_admin_button, pattern=r"^(?:rv|lg):"))
    app.add_handler(CallbackQueryHandler(buttons.on_button))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, messages.private_text))
    app.add_handler(MessageHandler(private & filters.PHOTO, messages.photo))
    app.add_handler(MessageHandler(private & filters.Document.ALL, messages.document))
    app.add_handler(
        MessageHandler(
            private & ~filters.TEXT & ~filters.PHOTO & ~filters.Document.ALL & ~filters.StatusUpdate.ALL,
            messages.unsupported,
        )
    )
    mention = filters.Entity("mention") | filters.CaptionEntity("mention")
    app.add_handler(MessageHandler(groups & mention, messages.group_mention))
    app.add_error_handler(on_error)
    _ = ChatType
