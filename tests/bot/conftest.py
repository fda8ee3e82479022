"""A running bot against the local Bot API emulator, for end-to-end tests."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, close_deps
from bot.config import Settings
from bot.emulator import BotApiEmulator, make_user
from bot.intake import Intake
from bot.storage import Storage

ADMIN_ID = 999


@dataclass
class Env:
    emu: BotApiEmulator
    app: Any
    storage: Storage
    settings: Settings
    db_path: Path
    #: The durable intake (bot/intake.py) the bot polls through, as in production.
    intake: Intake

    def rows(
        self, sql: str = "SELECT update_id, verdict, category, clauses, source, forward_origin, text FROM decisions"
    ) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return list(conn.execute(sql))

    async def replies(self, chat_id: int, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        await self.emu.wait_for(lambda e: len(e.sent_messages(chat_id)) >= count, timeout=timeout)
        return self.emu.sent_messages(chat_id)

    async def settle(self, update: dict[str, Any], timeout: float = 10.0) -> None:
        """Wait until the bot has confirmed the update and handled what it fetched."""
        uid = int(update["update_id"])
        await self.emu.wait_for(lambda e: any(o > uid for o in e.offsets), timeout=timeout)
        await self.emu.wait_for(lambda e: not self.intake.busy, timeout=timeout)


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_path": tmp_path / "jianfu.sqlite3", "admin_ids": (ADMIN_ID,)}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def make_env(tmp_path: Path) -> Callable[..., Any]:
    """`make_env(engine=None, reader=None, storage=None, rate_limiter=None, **settings)`: a running bot;
    `engine`, `reader` and `storage` replace the screening engine, the file reader and the storage,
    `rate_limiter` python-telegram-bot's AIORateLimiter (with Telegram's rates)."""

    def factory(
        engine: Any = None, reader: Any = None, storage: Storage | None = None, rate_limiter: Any = None,
        **overrides: Any,
    ) -> Any:  # fmt: skip
        return _running(settings_for(tmp_path, **overrides), engine, reader, storage, rate_limiter)

    return factory


class _running:
    def __init__(
        self, settings: Settings, engine: Any = None, reader: Any = None, storage: Storage | None = None,
        rate_limiter: Any = None,
    ) -> None:  # fmt: skip
        self.reader = reader
        self.settings = settings
        self.engine = engine
        self.storage = storage or Storage(settings.database_path)
        self.rate_limiter = rate_limiter

    async def __aenter__(self) -> Env:
        self.emu = BotApiEmulator(token="123456:TEST-TOKEN-abcdef", bot_username="jianfu_test_bot")
        await self.emu.start()
        await self.storage.open()
        self.app = build_application(
            self.settings, self.storage, self.engine, token=self.emu.token, base_url=self.emu.base_url,
            reader=self.reader, base_file_url=self.emu.base_file_url, rate_limiter=self.rate_limiter,
        )  # fmt: skip
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.app.start()
        # Short pauses after failures: the fault tests wait for the bot to recover.
        self.intake = Intake(self.app, self.storage, poll_timeout=1, backoff=(0.2, 2.0))
        await self.intake.start()
        return Env(self.emu, self.app, self.storage, self.settings, Path(self.settings.database_path), self.intake)

    async def __aexit__(self, *exc: object) -> None:
        await self.intake.stop()
        await self.app.stop()
        await self.app.shutdown()
        await close_deps(self.app)
        await self.emu.stop()


@pytest.fixture
async def env(make_env: Callable[..., Any]) -> AsyncIterator[Env]:
    async with make_env() as e:
        yield e


def user(uid: int = 1, lang: str = "zh-hans") -> dict[str, Any]:
    return make_user(uid, f"User{uid}", username=f"user{uid}", language_code=lang)
