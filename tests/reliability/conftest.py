"""Shared by the reliability tests: the running bot of tests/bot (through the durable intake), and a
record of every error that reached the Application's error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram.ext import AIORateLimiter, ContextTypes

from tests.bot.conftest import Env, make_env, user

__all__ = ["ADMIN_CHAT", "Env", "Errors", "fast_env", "make_env", "user"]

ADMIN_CHAT = -100500


class Errors:
    """Every error the Application's error handlers were given, with its update."""

    def __init__(self) -> None:
        self.seen: list[tuple[object, BaseException | None]] = []

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.seen.append((update, context.error))

    def describe(self) -> list[str]:
        return [f"{type(err).__name__}: {err}" for _, err in self.seen]


def unlimited() -> AIORateLimiter:
    """Telegram's rates lifted (they would pace a test, not test the bot); flood replies still retried."""
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)


@pytest.fixture
async def fast_env(make_env: Callable[..., Any]) -> AsyncIterator[tuple[Env, Errors]]:
    """A running bot without Telegram's rates or the per-user limit, and its error record."""
    async with make_env(rate_limiter=unlimited(), user_rate_limit_per_minute=10_000) as env:
        errors = Errors()
        env.app.add_error_handler(errors)
        yield env, errors
