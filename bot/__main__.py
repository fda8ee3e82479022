"""`python -m bot` (what `make run` starts).

With TELEGRAM_BOT_TOKEN set: the bot, by long polling or by webhook (BOT_MODE). Without it: the offline
local chat, the same Application and handlers against a local Bot API emulator, in the terminal.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from bot.config import Settings
from bot.logs import setup_logging


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
    from telegram import Update

    from bot.app import build_application
    from bot.storage import Storage

    app = build_application(settings, Storage(settings.database_path))
    if settings.bot_mode == "webhook":
        if not settings.webhook_url or settings.webhook_secret_token is None:
            print(
                "configuration error: WEBHOOK_URL and WEBHOOK_SECRET_TOKEN are needed in webhook mode", file=sys.stderr
            )
            return 2
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path="telegram",
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret_token.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
