"""The real bot as a separate process (`python -m bot`, polling mode) against a Bot API emulator running in
the test's own event loop: TELEGRAM_BOT_TOKEN is the emulator's token and TELEGRAM_API_BASE_URL /
TELEGRAM_FILE_BASE_URL point at it, as they would at a self-hosted Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bot.config import env_names
from bot.emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:SECRET-jianfu-kill-test-Zq8Xw3"
#: Verdict cards start with one of these (Chinese and English alike).
CARD_MARKS = ("✅", "⛔", "⚠️", "💬")


def is_card(text: str) -> bool:
    return text.startswith(CARD_MARKS)


class BotProcess:
    """`python -m bot` in its own process group, its log in `log_path`."""

    def __init__(self, emu: BotApiEmulator, db_path: Path, log_path: Path, **env: str) -> None:
        self.emu = emu
        self.db_path = db_path
        self.log_path = log_path
        self.env = {k: v for k, v in os.environ.items() if k not in set(env_names())}
        self.env.update(
            PYTHONPATH=str(ROOT),
            TELEGRAM_BOT_TOKEN=emu.token,
            TELEGRAM_API_BASE_URL=emu.base_url,
            TELEGRAM_FILE_BASE_URL=emu.base_file_url,
            DATABASE_PATH=str(db_path),
            USER_RATE_LIMIT_PER_MINUTE="10000",
            **env,
        )
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        assert self.proc is None
        self.starts += 1
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n===== start {self.starts}\n")
        log_file = self.log_path.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.db_path.parent, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file, stderr=log_file, start_new_session=True,
            )  # fmt: skip
        finally:
            log_file.close()

    async def kill(self) -> None:
        """SIGKILL the whole process group (the bot and anything it started), as a machine crash would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        self.proc = None

    async def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM: the bot stops cleanly; returns its exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        self.proc = None
        return code

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def cleanup(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        self.proc = None


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A query on the bot's database from outside (WAL: readers never block the bot)."""
    if not db_path.exists():
        return []
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return list(conn.execute(sql, params))
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
