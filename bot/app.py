"""All composition in one place: settings + storage + engine -> a python-telegram-bot Application."""

from __future__ import annotations

import logging

from telegram import BotCommandScopeDefault
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

import handlers
from bot.config import Settings
from bot.storage import Storage
from handlers.commands import bot_commands
from handlers.core import Deps
from policy import Engine, default_engine, default_policy

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    storage: Storage,
    engine: Engine | None = None,
    *,
    token: str | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    rate_limiter: bool = True,
) -> Application:
    """The bot. `token`/`base_url` override the settings (the offline chat and tests use the emulator)."""
    secret = token or (settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None)
    if not secret:
        raise ValueError("no bot token")
    builder: ApplicationBuilder = (
        Application.builder()
        .token(secret)
        .base_url(base_url or settings.telegram_api_base_url)
        .base_file_url(base_file_url or settings.telegram_file_base_url)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .concurrent_updates(False)
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app = builder.build()
    app.bot_data["deps"] = Deps(
        settings=settings, storage=storage, engine=engine or default_engine(), policy=default_policy()
    )
    handlers.register(app)
    return app


async def _post_init(app: Application) -> None:
    await app.bot_data["deps"].storage.open()
    try:
        await app.bot.set_my_commands(bot_commands("zh"), scope=BotCommandScopeDefault())
        await app.bot.set_my_commands(bot_commands("en"), scope=BotCommandScopeDefault(), language_code="en")
    except Exception:
        log.warning("could not set the command menu")


async def _post_shutdown(app: Application) -> None:
    await app.bot_data["deps"].storage.close()
