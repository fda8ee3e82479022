"""All composition in one place: settings + storage + engine -> a python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import BotCommandScopeDefault, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseRateLimiter, BaseUpdateProcessor

import handlers
from bot.config import Settings
from bot.reading import OcrPool, ReadLimits
from bot.request import AiohttpRequest
from bot.retry import PatientLimiter
from bot.storage import Storage
from handlers.admin import on_startup, schedule_jobs
from handlers.commands import bot_commands
from handlers.core import Deps, Reader
from policy import Engine, default_engine, default_policy

log = logging.getLogger(__name__)

CONCURRENT_UPDATES = 32
#: Connections kept for Bot API requests other than getUpdates (python-telegram-bot's default).
REQUEST_POOL_SIZE = 256
#: Net new container objects between two collections of the garbage collector's young generation.
GC_YOUNG_THRESHOLD = 10_000
#: OCR worker processes (each holds its models, ~0.5-0.7 GB at peak); one leaves a core for the bot.
OCR_WORKERS = 1


class PerChatOrder(BaseUpdateProcessor):
    """Updates of different chats are handled concurrently (one reply's round trip does not hold up
    another chat), those of one chat in the order they came, so replies keep the order of messages."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def build_application(
    settings: Settings,
    storage: Storage,
    engine: Engine | None = None,
    *,
    token: str | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    rate_limiter: BaseRateLimiter[int] | None = None,
    reader: Reader | None = None,
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
        # The storage serialises its own transactions.
        .concurrent_updates(PerChatOrder(CONCURRENT_UPDATES))
    )
    # Telegram's own limits (about 30 messages a second overall, 20 a minute per group) unless the
    # caller passes another limiter (the benchmark lifts the rates to measure the bot itself); a request
    # that fails for a reason that passes (429, 5xx, time-out, dropped connection) is sent again.
    limiter = rate_limiter or AIORateLimiter(max_retries=3)
    builder = builder.rate_limiter(limiter if isinstance(limiter, PatientLimiter) else PatientLimiter(limiter))
    # Requests over aiohttp (bot/request.py), with python-telegram-bot's pool sizes: one long poll at a time.
    builder = builder.request(AiohttpRequest(REQUEST_POOL_SIZE)).get_updates_request(AiohttpRequest(1))
    app = builder.build()
    reader = reader or OcrPool(ReadLimits(max_bytes=settings.max_file_bytes), workers=OCR_WORKERS)
    app.bot_data["deps"] = Deps(
        settings=settings, storage=storage, engine=engine or default_engine(), policy=default_policy(), reader=reader
    )
    handlers.register(app)
    schedule_jobs(app)
    return app


def tune_garbage_collector() -> None:
    """Once the bot is up (the production entry point and the benchmark call it; tests do not). What start-up
    built, the policy and its model, the Application, lives as long as the process: frozen out of the cyclic
    garbage collector's way, full collections no longer walk it (they took 50–100 ms each, mid-reply). The
    young generation is collected after GC_YOUNG_THRESHOLD net new containers instead of Python's 700: an
    update allocates a few hundred, almost all freed at once by reference counting, so the collector ran
    every update or two for nothing. Together: about 0.1 ms less per update (tests/bench/bench_bot.py)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


async def _post_init(app: Application) -> None:
    await app.bot_data["deps"].storage.open()
    await on_startup(app)
    try:
        await app.bot.set_my_commands(bot_commands("zh"), scope=BotCommandScopeDefault())
        await app.bot.set_my_commands(bot_commands("en"), scope=BotCommandScopeDefault(), language_code="en")
    except Exception:
        log.warning("could not set the command menu")


async def _post_shutdown(app: Application) -> None:
    await close_deps(app)


async def close_deps(app: Application) -> None:
    """What the Application does not close itself: the reader's worker processes and the database."""
    deps: Deps = app.bot_data["deps"]
    deps.reader.close()
    await deps.storage.close()
