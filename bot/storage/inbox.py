"""The inbox: every update as Telegram sent it, stored before Telegram is told it arrived (the next
getUpdates offset, or the webhook's 200), and marked handled once the bot has dealt with it.

A handled row keeps only its id and times: the payload, which holds the user's text, is erased as soon
as it is no longer needed. The highest update id always stays, so the bot knows where to continue.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.storage.db import Storage, utcnow


class InboxRepository:
    """Queries over the shared Storage connection; writes go through the storage's transaction lock."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def store(self, updates: Sequence[tuple[int, dict[str, Any]]]) -> list[int]:
        """Store (update_id, raw update) pairs in one transaction; returns the ids that were new, in order.
        An id stored before (a webhook delivered twice) is left as it is."""
        if not updates:
            return []
        now = utcnow()
        fresh: list[int] = []
        async with self.storage._transaction() as db:
            for update_id, raw in updates:
                # ASCII JSON: any string Telegram can send (even a lone surrogate) is storable.
                async with db.execute(
                    "INSERT INTO inbox (update_id, raw, received_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(update_id) DO NOTHING RETURNING update_id",
                    (update_id, json.dumps(raw, ensure_ascii=True), now),
                ) as cur:
                    if await cur.fetchone() is not None:
                        fresh.append(update_id)
        return fresh

    async def next_offset(self) -> int:
        """The getUpdates offset that confirms everything stored: the highest stored id + 1 (0 when empty)."""
        rows = await self.storage._read("SELECT COALESCE(MAX(update_id) + 1, 0) FROM inbox")
        return int(rows[0][0])

    async def unhandled(self) -> list[tuple[int, dict[str, Any]]]:
        """Stored and not yet handled, oldest first."""
        rows = await self.storage._read("SELECT update_id, raw FROM inbox WHERE handled_at IS NULL ORDER BY update_id")
        return [(int(r[0]), json.loads(r[1])) for r in rows]

    async def mark_handled(self, update_ids: Iterable[int]) -> None:
        """Handled: the payload is erased, the id and times stay."""
        ids = sorted(set(update_ids))
        if not ids:
            return
        now = utcnow()
        async with self.storage._transaction() as db:
            await db.executemany(
                "UPDATE inbox SET handled_at = ?, raw = NULL WHERE update_id = ? AND handled_at IS NULL",
                [(now, i) for i in ids],
            )

    async def prune(self) -> int:
        """Delete handled rows, except the highest id (it gives the offset)."""
        cur = await self.storage._write(
            "DELETE FROM inbox WHERE handled_at IS NOT NULL AND update_id < (SELECT MAX(update_id) FROM inbox)", ()
        )
        return int(cur.rowcount)

    async def count_unhandled(self) -> int:
        rows = await self.storage._read("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL")
        return int(rows[0][0])
