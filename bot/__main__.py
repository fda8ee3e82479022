"""`python -m bot` (what `make run` starts).

With TELEGRAM_BOT_TOKEN set: the bot, by long polling or by webhook (BOT_MODE). Without it: the offline
local chat, the same Application and handlers against a local Bot API emulator, in the terminal.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from pydantic import ValidationError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, Updater

from bot.config import Settings
from bot.intake import Intake
from bot.logs import setup_logging

log = logging.getLogger(__name__)


def load_settings() -> Settings | None:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "configuration"
        print(f"configuration error: {name}: {err['msg']}", file=sys.stderr)
        return None


def main() -> int:
    settings = load_settings()
    if settings is None:
        return 2
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token, settings.webhook_secret_token) if s]
    if settings.telegram_bot_token is None:
        setup_logging("WARNING" if settings.log_level == "INFO" else settings.log_level, secrets)
        from bot.local_chat import run_local_chat

        return asyncio.run(run_local_chat(settings, sys.stdin, sys.stdout))
    setup_logging(settings.log_level, secrets)
    if settings.bot_mode == "webhook" and (not settings.webhook_url or settings.webhook_secret_token is None):
        print("configuration error: WEBHOOK_URL and WEBHOOK_SECRET_TOKEN are needed in webhook mode", file=sys.stderr)
        return 2
    run_loop(serve(settings))
    return 0


def run_loop(main_coroutine: Coroutine[Any, Any, None]) -> None:
    """The bot's event loop: uvloop where it is installed (about a fifth more updates a second), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_coroutine)
        return
    uvloop.run(main_coroutine)


async def serve(settings: Settings) -> None:
    """The bot until SIGINT or SIGTERM: updates come through the durable intake (bot/intake.py), by long
    polling or through python-telegram-bot's webhook server."""
    from bot.app import build_application, close_deps, tune_garbage_collector
    from bot.storage import Storage

    storage = Storage(settings.database_path)
    app = build_application(settings, storage)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with app:
            assert app.post_init is not None
            await app.post_init(app)
            await app.start()
            tune_garbage_collector()
            intake = Intake(app, storage)
            try:
                if settings.bot_mode == "webhook":
                    await _webhook(settings, app, intake, stop)
                else:
                    try:
                        await app.bot.delete_webhook()
                    except TelegramError as exc:
                        log.warning("could not make sure no webhook is set: %s", exc)
                    await intake.start()
                    await stop.wait()
            finally:
                await intake.stop()
                await app.stop()
    finally:
        await close_deps(app)


async def _webhook(settings: Settings, app: Application, intake: Intake, stop: asyncio.Event) -> None:
    """python-telegram-bot's webhook server (secret token checked), whose queue stores each update in the
    inbox before the server answers 200."""
    assert settings.webhook_url and settings.webhook_secret_token
    await intake.start(polling=False)
    async with Updater(app.bot, intake.queue()) as updater:
        await updater.start_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path="telegram",
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret_token.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
        try:
            await stop.wait()
        finally:
            await updater.stop()


if __name__ == "__main__":
    sys.exit(main())
