"""Durable intake: no update is confirmed to Telegram before it is stored.

python-telegram-bot's own polling confirms a fetched batch (the next getUpdates offset) before its updates
are handled, so a crash loses up to a whole batch that Telegram will never send again. Here:

1. fetch a batch with getUpdates(offset);
2. store every update of it, raw, in the `inbox` table, in one transaction;
3. only then ask for the next batch, with offset = the highest stored id + 1, which confirms the stored ones;
4. hand each new update to the Application (in update_id order; the update processor keeps one chat's
   updates in order), and mark it handled once the Application is done with it.

On start, the rows not yet handled are handed over again, oldest first, before anything new is fetched,
and the offset comes from the inbox, so a restart neither skips nor fetches again. Handling must therefore
be safe to repeat; screening is (a decision is stored once per update and answered once, see
handlers/core.py), and a verdict card that could not be sent because Telegram was unreachable is tried
again later: its update stays unhandled until the card is out.

In webhook mode the same `accept` runs inside the webhook server's request (`queue()`), so Telegram gets
its 200 only for a stored update; a storage failure answers 500, and Telegram delivers it again later.

Errors of the fetch never end the loop: flood control waits as long as Telegram asks, network errors and
5xx back off exponentially (capped), a database that cannot store the batch leaves it unconfirmed and is
tried again (Telegram keeps unconfirmed updates for a day).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot.retry import is_transient, retry_after_seconds
from bot.storage import InboxRepository, Storage, StorageError
from bot.wire import INT_LIMIT, malformed

log = logging.getLogger(__name__)

#: Seconds a getUpdates call waits for news (long polling).
POLL_TIMEOUT = 30.0
#: Seconds allowed for an answer beyond the long-polling wait (python-telegram-bot's default read time-out).
READ_TIMEOUT = 5.0
#: Updates fetched at most per getUpdates call (Telegram's maximum).
BATCH = 100
#: Updates handed to the Application and not yet handled; beyond this the intake stops fetching.
MAX_IN_FLIGHT = 256
#: Back-off of the fetch loop after an error (doubling), and of a verdict card tried again later.
FIRST_PAUSE = 0.5
MAX_PAUSE = 30.0
#: Handled rows are pruned from the inbox after this many.
PRUNE_EVERY = 1000

Raw = dict[str, Any]


class InboxQueue(asyncio.Queue[object]):
    """The update queue the webhook server puts each update into: `put` returns once the update is in the
    inbox, so the server answers 200 only for a stored update, and 500 (Telegram tries again) otherwise."""

    def __init__(self, intake: Intake) -> None:
        super().__init__()
        self.intake = intake

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            try:
                await self.intake.accept([item.to_dict()])
            except StorageError as exc:
                await self.intake.report(exc)
                raise
        else:
            await super().put(item)


class Intake:
    """Stores updates in the inbox, hands them to the Application, and marks them handled."""

    def __init__(
        self,
        app: Application,
        storage: Storage,
        *,
        poll_timeout: float = POLL_TIMEOUT,
        allowed_updates: Sequence[str] = Update.ALL_TYPES,
        max_in_flight: int = MAX_IN_FLIGHT,
        backoff: tuple[float, float] = (FIRST_PAUSE, MAX_PAUSE),
    ) -> None:
        self.app = app
        self.inbox = InboxRepository(storage)
        self.storage = storage
        self.poll_timeout = poll_timeout
        self.allowed_updates = list(allowed_updates)
        #: The first pause after a failure, and the longest (pauses double in between).
        self.first_pause, self.max_pause = backoff
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        #: update id -> the error its handling ended with (from the Application's error handlers).
        self._failures: dict[int, BaseException] = {}
        self._attempts: dict[int, int] = {}
        self._to_mark: set[int] = set()
        self._marking = asyncio.Lock()
        self._handled = 0
        app.add_error_handler(self._note_failure)

    # ------------------------------------------------------------------ life cycle

    async def start(self, *, polling: bool = True) -> None:
        """Hand over what is left in the inbox, oldest first, then (polling) fetch new updates until `stop`.
        What is left is read before this returns, so nothing accepted afterwards is handed over twice."""
        left = await self.inbox.unhandled()
        if left:
            log.info("%d updates stored and not handled before: handling them now", len(left))
        self._loop_task = asyncio.create_task(self._run(left, polling), name="intake")

    async def stop(self, drain: float = 10.0) -> None:
        """Stop fetching, let the updates in hand finish (up to `drain` seconds), and record what was handled.
        Whatever is not finished stays unhandled in the inbox for the next start."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=drain)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self._flush_marks()
        except StorageError as exc:
            log.error("could not record the last handled updates (they will be handled again): %s", exc)

    @property
    def busy(self) -> bool:
        """Updates in hand, waiting to be tried again, or handled and not yet recorded."""
        return bool(self._in_flight or self._tasks or self._to_mark)

    def queue(self) -> InboxQueue:
        """The update queue for python-telegram-bot's webhook server (webhook mode)."""
        return InboxQueue(self)

    # ------------------------------------------------------------------ the loop

    async def _run(self, left: list[tuple[int, Raw]], polling: bool) -> None:
        for update_id, raw in left:
            await self._feed(update_id, raw)
        if not polling:
            return
        pause = self.first_pause
        while True:
            try:
                offset = await self.inbox.next_offset()
                break
            except StorageError as exc:
                await self.report(exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.max_pause)
        pause = self.first_pause
        batch: list[Raw] | None = None
        while True:
            try:
                if batch is None:
                    batch = await self._fetch(offset)
                stored = await self.accept(batch)
                batch = None
                if stored is not None:
                    offset = max(offset, stored)
                pause = self.first_pause
                continue
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                log.warning("getUpdates: flood control, waiting %.0f s", wait)
                await asyncio.sleep(wait)
                continue
            except StorageError as exc:
                # The batch is not confirmed: it is kept here and stored again, Telegram keeps it meanwhile.
                await self.report(exc)
                wait = pause
            except (Conflict, InvalidToken) as exc:
                log.error("getUpdates refused: %s", exc)
                wait = self.max_pause
            except TelegramError as exc:
                log.warning("getUpdates failed (%s: %s); again in %.1f s", type(exc).__name__, exc, pause)
                wait = pause
            except Exception as exc:
                log.error("getUpdates: unexpected failure (%s: %s); again in %.1f s", type(exc).__name__, exc, pause)
                wait = pause
            pause = min(pause * 2, self.max_pause)
            await asyncio.sleep(wait)

    async def _fetch(self, offset: int) -> list[Raw]:
        """One getUpdates call, returning the updates as Telegram sent them (not parsed: an update that
        cannot be parsed must not block the others)."""
        # Bot.get_updates parses the whole batch and raises if one update does not parse (python-telegram-bot's
        # own polling then fetches the same batch again, forever); Bot._post is the same request, unparsed.
        result = await self.app.bot._post(
            "getUpdates",
            {"offset": offset, "limit": BATCH, "timeout": self.poll_timeout, "allowed_updates": self.allowed_updates},
            read_timeout=self.poll_timeout + READ_TIMEOUT,
        )
        if not isinstance(result, list):
            raise ValueError(f"getUpdates answered with a {type(result).__name__}, not a list")
        return [u for u in result if isinstance(u, dict)]

    async def accept(self, batch: Sequence[Raw]) -> int | None:
        """Store the batch, then hand each new update to the Application. Returns the next offset (the
        highest stored id + 1), None for an empty batch. Raises StorageError when nothing could be stored."""
        keyed: list[tuple[int, Raw]] = []
        for raw in batch:
            update_id = raw.get("update_id")
            if type(update_id) is int and 0 <= update_id < INT_LIMIT - 1:
                keyed.append((update_id, raw))
            else:
                log.warning("an update without a usable update_id was dropped")
        if not keyed:
            return None
        fresh = set(await self.inbox.store(keyed))
        for update_id, raw in sorted(keyed, key=lambda pair: pair[0]):
            if update_id in fresh:
                fresh.discard(update_id)  # an id twice in one batch is handled once
                await self._feed(update_id, raw)
        return max(update_id for update_id, _ in keyed) + 1

    # ------------------------------------------------------------------ handling one update

    async def _feed(self, update_id: int, raw: Raw) -> None:
        """Hand one update over; waits while MAX_IN_FLIGHT are in hand."""
        await self._slots.acquire()
        self._in_flight.add(update_id)
        task = asyncio.create_task(self._handle(update_id, raw), name=f"intake:{update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update_id: int, raw: Raw) -> None:
        try:
            again = False
            update = self._parse(update_id, raw)
            if update is not None:
                try:
                    await self.app.update_processor.process_update(update, self.app.process_update(update))
                except Exception:
                    log.exception("update %s could not be handled", update_id)
                again = await self._card_pending(update_id, self._failures.pop(update_id, None))
            if again:
                self._retry_later(update_id, raw)
            else:
                self._attempts.pop(update_id, None)
                self._to_mark.add(update_id)
        finally:
            self._in_flight.discard(update_id)
            self._slots.release()
        await self._flush_marks_soon()

    def _parse(self, update_id: int, raw: Raw) -> Update | None:
        fault = malformed(raw)
        if fault is not None:
            log.warning("update %s is malformed (%s); skipped", update_id, fault)
            return None
        try:
            return Update.de_json(raw, self.app.bot)
        except Exception as exc:
            log.warning("update %s could not be parsed (%s); skipped", update_id, type(exc).__name__)
            return None

    async def _card_pending(self, update_id: int, failure: BaseException | None) -> bool:
        """The handling failed because Telegram was unreachable, and left a verdict card unsent."""
        if not is_transient(failure):
            return False
        try:
            decision = await self.storage.decision_for_update(update_id)
        except StorageError:
            return True
        return decision is not None and decision.replied_at is None

    def _retry_later(self, update_id: int, raw: Raw) -> None:
        attempt = self._attempts.get(update_id, 0) + 1
        self._attempts[update_id] = attempt
        wait = min(self.first_pause * 2**attempt, self.max_pause)
        log.warning("update %s: its verdict could not be sent; trying again in %.1f s", update_id, wait)

        async def again() -> None:
            await asyncio.sleep(wait)
            await self._feed(update_id, raw)

        task = asyncio.create_task(again(), name=f"intake-retry:{update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _note_failure(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An error handler: remembers how an update's handling failed (the first error handler reports it)."""
        if isinstance(update, Update) and context.error is not None:
            self._failures.setdefault(update.update_id, context.error)

    # ------------------------------------------------------------------ recording what was handled

    async def _flush_marks_soon(self) -> None:
        """Handled updates are recorded in one transaction with whichever others finished meanwhile; a
        database that refuses is asked again (until then a restart would hand them over again)."""
        pause = self.first_pause
        while not self._marking.locked():
            try:
                await self._flush_marks()
                return
            except StorageError as exc:
                log.warning("could not record handled updates yet (%s); again in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.max_pause)

    async def _flush_marks(self) -> None:
        async with self._marking:
            while self._to_mark:
                ids = set(self._to_mark)
                await self.inbox.mark_handled(ids)
                self._to_mark -= ids
                before, self._handled = self._handled, self._handled + len(ids)
                if before // PRUNE_EVERY != self._handled // PRUNE_EVERY:
                    await self.inbox.prune()

    async def report(self, error: StorageError) -> None:
        """A storage failure outside any update goes to the Application's error handler (log, admin chat)."""
        await self.app.process_error(update=None, error=error)
