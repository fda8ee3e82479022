"""The inbox: every update as Telegram sent it, stored before Telegram is told it arrived (the next
getUpdates offset, or the webhook's 200), and marked handled once the bot has dealt with it.

A handled row keeps only its id and times: the payload, which holds the user's text, is erased as soon
as it is no longer needed. The highest update id always stays, so the bot knows where to continue.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.storage.db import MAX_ROWS_PER_STATEMENT, Storage, chunks, placeholders, utcnow


class InboxRepository:
    """Queries over the shared Storage connection; writes go through the storage's transaction lock."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def store(self, updates: Sequence[tuple[int, dict[str, Any]]]) -> list[int]:
        """Store (update_id, raw update) pairs; returns the ids that were new, in the order given. An id stored
        before (a webhook delivered twice) is left as it is. The batch is stored whole or not at all: as one
        statement, or one transaction when it has more than MAX_ROWS_PER_STATEMENT updates."""
        first: dict[int, dict[str, Any]] = {}
        for update_id, raw in updates:
            first.setdefault(update_id, raw)
        if not first:
            return []
        now = utcnow()
        returned = await self.storage._write_all(
            [
                (
                    f"INSERT INTO inbox (update_id, raw, received_at) VALUES {placeholders(len(part), 3)} "
                    "ON CONFLICT(update_id) DO NOTHING RETURNING update_id",
                    # ASCII JSON: any string Telegram can send (even a lone surrogate) is storable.
                    tuple(v for update_id, raw in part for v in (update_id, json.dumps(raw, ensure_ascii=True), now)),
                )
                for part in chunks(list(first.items()), MAX_ROWS_PER_STATEMENT)
            ]
        )
        fresh = {int(row[0]) for rows in returned for row in rows}
        return [update_id for update_id in first if update_id in fresh]

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
        await self.storage._write_all(
            [
                (
                    "UPDATE inbox SET handled_at = ?, raw = NULL "
                    f"WHERE update_id IN ({placeholders(len(part))}) AND handled_at IS NULL",
                    (now, *part),
                )
                for part in chunks(ids, MAX_ROWS_PER_STATEMENT)
            ]
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
