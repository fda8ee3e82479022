"""Which Telegram failures pass, and a rate limiter that sends a request again when one does.

Telegram answers a flood with 429 and a `retry_after` (python-telegram-bot raises RetryAfter); a
server error (5xx), a time-out or a dropped connection arrive as NetworkError (TimedOut is one). Those
pass. A BadRequest (also a NetworkError in python-telegram-bot's tree), Forbidden (the user blocked the
bot) or any other TelegramError does not: sending again would fail again.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

#: How long one request is tried again before its error reaches the handler. A verdict card that still
#: fails is tried again later by the intake (bot/intake.py); other replies are given up after this.
SEND_RETRY_SECONDS = 120.0
FIRST_PAUSE = 0.5
MAX_PAUSE = 10.0

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def is_transient(error: BaseException | None) -> bool:
    """Telegram was unreachable or flooded: the same request may well succeed later."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def retry_after_seconds(error: RetryAfter) -> float:
    """The pause Telegram asked for, as seconds (python-telegram-bot is moving it from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class PatientLimiter(BaseRateLimiter[int]):
    """Wraps a rate limiter (python-telegram-bot's AIORateLimiter by default): a request that fails for a
    reason that passes is sent again, after the pause Telegram asked for (429) or after a pause that
    doubles from `first_pause` up to `max_pause` (5xx, time-out, dropped connection), for up to `budget`
    seconds; then its error is raised. Other errors are raised at once. getUpdates never comes here."""

    def __init__(
        self,
        inner: BaseRateLimiter[int] | None = None,
        *,
        budget: float = SEND_RETRY_SECONDS,
        first_pause: float = FIRST_PAUSE,
        max_pause: float = MAX_PAUSE,
    ) -> None:
        self.inner: BaseRateLimiter[int] = inner or AIORateLimiter(max_retries=3)
        self.budget = budget
        self.first_pause = first_pause
        self.max_pause = max_pause

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget
        pause = self.first_pause
        while True:
            try:
                return await self.inner.process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                error: Exception = exc
            except NetworkError as exc:
                if not is_transient(exc):
                    raise
                wait, pause = pause, min(pause * 2, self.max_pause)
                error = exc
            if loop.time() + wait > deadline:
                raise error
            log.warning("%s failed (%s); sending it again in %.1f s", endpoint, type(error).__name__, wait)
            await asyncio.sleep(wait)
