"""The storage's batched writes: reply marks written and failed together, inbox batches stored whole, decisions
returned as stored, language choices kept in memory in step with the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.storage import InboxRepository, Storage, StorageError
from bot.storage.db import MAX_ROWS_PER_STATEMENT
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


async def test_marks_arriving_together_share_statements(tmp_path: Path) -> None:
    async with Storage(tmp_path / "s.sqlite3") as storage:
        ids = await decisions(storage, 40)
        statements: list[str] = []
        await storage.db.set_trace_callback(statements.append)
        await asyncio.gather(*(storage.mark_replied(d, 1000 + d) for d in ids))
        await storage.db.set_trace_callback(None)
        assert 1 <= len([s for s in statements if s.startswith("UPDATE decisions")]) <= 3
        rows = await storage._read("SELECT id, reply_message_id FROM decisions WHERE replied_at IS NOT NULL")
        assert sorted(tuple(r) for r in rows) == [(d, 1000 + d) for d in ids]


async def test_a_failed_batch_fails_every_caller_and_a_cancelled_one_strands_nobody(tmp_path: Path) -> None:
    async with Storage(tmp_path / "s.sqlite3") as storage:
        ids = await decisions(storage, 10)
        await storage.db.execute("PRAGMA query_only = ON")  # every write refused, as on a full disk
        results = await asyncio.gather(*(storage.mark_replied(d, None) for d in ids), return_exceptions=True)
        assert all(isinstance(r, StorageError) for r in results)
        await storage.db.execute("PRAGMA query_only = OFF")

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


async def test_a_batch_is_stored_whole_or_not_at_all_and_each_id_once(tmp_path: Path) -> None:
    async with Storage(tmp_path / "s.sqlite3") as storage:
        inbox = InboxRepository(storage)
        big = [(i, {"update_id": i, "message": {"text": "通知" * 50}}) for i in range(1, MAX_ROWS_PER_STATEMENT + 300)]
        # The last row cannot be stored (an id beyond 64 bits): nothing of the batch is.
        with pytest.raises(OverflowError):
            await inbox.store([*big, (2**64, {"update_id": 2**64})])
        assert await inbox.next_offset() == 0
        twice = [*big[:3], big[1], *big[3:]]
        assert await inbox.store(twice) == [i for i, _ in big]
        assert await inbox.count_unhandled() == len(big)
        assert await inbox.store(big[:10]) == []


async def test_a_decision_is_returned_as_it_reads_back_and_looked_up_only_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    text = "县商务局：请每位教职工购买不少于200元农产品，截图上报。"
    origin = {"type": "chat", "id": -5, "name": "县教育局", "username": None}
    async with Storage(path) as storage:
        assert not storage.may_be_decided(0)
        written, created = await storage.record_decision(
            update_id=7, chat_id=1, chat_type="private", user_id=1, language="zh", source="forward", text=text,
            forward_origin=origin, screening=screen(text), latency_ms=0.4567,
        )  # fmt: skip
        assert created and written == await storage.decision_for_update(7)
        again, created = await storage.record_decision(
            update_id=7, chat_id=1, chat_type="private", user_id=1, language="zh", source="forward", text="另一段",
            forward_origin=None, screening=screen("另一段"), latency_ms=1.0,
        )  # fmt: skip
        assert not created and again == written
        assert not storage.may_be_decided(7), "decided in this process: record_decision finds it"
    async with Storage(path) as storage:
        assert storage.may_be_decided(7) and storage.may_be_decided(3) and not storage.may_be_decided(8)


async def test_language_choices_are_read_once_and_kept_in_step(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    async with Storage(path) as storage:
        assert storage.language(1) is None
        await storage.set_language(1, "en")
        await storage.set_language(2, "zh")
        await storage.set_language(1, "zh")
        assert (storage.language(1), storage.language(2)) == ("zh", "zh")
    async with Storage(path) as storage:
        assert (storage.language(1), storage.language(2), storage.language(3)) == ("zh", "zh", None)
        await storage.forget_user(2)
        assert storage.language(2) is None
    async with Storage(path) as storage:
        assert storage.language(2) is None and storage.language(1) == "zh"


async def test_a_dispute_is_stored_once_per_button_press(tmp_path: Path) -> None:
    """A "Wrong verdict?" answer handled again after a crash (same update id) is one dispute, not two."""
    async with Storage(tmp_path / "s.sqlite3") as storage:
        [decision_id] = await decisions(storage, 1)
        first = await storage.add_dispute(decision_id, 7, "refuse", "zh", update_id=500)
        again = await storage.add_dispute(decision_id, 7, "refuse", "zh", update_id=500)
        assert again == first
        other = await storage.add_dispute(decision_id, 7, "allow", "zh", update_id=501)
        no_id = [await storage.add_dispute(decision_id, 7, "allow", "zh") for _ in range(2)]
        assert len({first.id, other.id, *(d.id for d in no_id)}) == 4
        assert [d.id for d in await storage.disputes_for(decision_id)] == sorted(
            [first.id, other.id, *(d.id for d in no_id)]
        )
