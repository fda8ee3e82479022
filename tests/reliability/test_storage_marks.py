"""Recording that replies went out: marks that arrive together are written together, and fail together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.storage import InboxRepository, Storage, StorageError
from policy import screen


async def decisions(storage: Storage, n: int) -> list[int]:
    ids = []
    for i in range(n):
        decision, _ = await storage.record_decision(
            update_id=i, chat_id=i, chat_type="private", user_id=i, language="zh", source="text", text="在吗",
            forward_origin=None, screening=screen("在吗"), latency_ms=0.1,
        )  # fmt: skip
        ids.append(decision.id)
    return ids


async def test_marks_arriving_together_share_transactions(tmp_path: Path, monkeypatch: Any) -> None:
    async with Storage(tmp_path / "s.sqlite3") as storage:
        ids = await decisions(storage, 40)
        opened = 0
        original = storage._transaction

        @asynccontextmanager
        async def counting() -> AsyncIterator[Any]:
            nonlocal opened
            opened += 1
            async with original() as db:
                yield db

        monkeypatch.setattr(storage, "_transaction", counting)
        await asyncio.gather(*(storage.mark_replied(d, 1000 + d) for d in ids))
        assert opened <= 3
        rows = await storage._read("SELECT id, reply_message_id FROM decisions WHERE replied_at IS NOT NULL")
        assert sorted(tuple(r) for r in rows) == [(d, 1000 + d) for d in ids]


async def test_a_failed_batch_fails_every_caller_and_a_cancelled_one_strands_nobody(
    tmp_path: Path, monkeypatch: Any
) -> None:
    async with Storage(tmp_path / "s.sqlite3") as storage:
        ids = await decisions(storage, 10)

        @asynccontextmanager
        async def full() -> AsyncIterator[Any]:
            raise StorageError("database or disk is full")
            yield

        monkeypatch.setattr(storage, "_transaction", full)
        results = await asyncio.gather(*(storage.mark_replied(d, None) for d in ids), return_exceptions=True)
        assert all(isinstance(r, StorageError) for r in results)
        monkeypatch.undo()

        marks = [asyncio.create_task(storage.mark_replied(d, None)) for d in ids]
        await asyncio.sleep(0)
        marks[0].cancel()
        done = await asyncio.wait_for(asyncio.gather(*marks[1:]), 10)
        assert done == [None] * 9
        with pytest.raises(asyncio.CancelledError):
            await marks[0]
        rows = await storage._read("SELECT COUNT(*) FROM decisions WHERE replied_at IS NOT NULL")
        assert rows[0][0] == 10


async def test_inbox_prunes_handled_rows_but_keeps_the_offset(tmp_path: Path) -> None:
    async with Storage(tmp_path / "s.sqlite3") as storage:
        inbox = InboxRepository(storage)
        assert await inbox.next_offset() == 0
        assert await inbox.store([(i, {"update_id": i}) for i in (5, 6, 7)]) == [5, 6, 7]
        assert await inbox.store([(7, {"update_id": 7}), (8, {"update_id": 8})]) == [8]
        await inbox.mark_handled([5, 6, 7, 8])
        assert await inbox.prune() == 3
        assert await inbox.next_offset() == 9 and await inbox.unhandled() == []
