"""Storage over one aiosqlite connection (WAL). SQL lives here only, always with bound parameters."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.storage.migrations import MIGRATIONS
from policy import Screening


class StorageError(Exception):
    """The database could not do what was asked (locked, full, unreadable); the message is for logs."""


#: Rows written by one multi-row statement at most (3 bound values each stays far below SQLite's limit).
MAX_ROWS_PER_STATEMENT = 500

T = TypeVar("T")


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def placeholders(rows: int, columns: int = 1) -> str:
    """Parameter markers for a multi-row statement, made of `?` only: `(?, ?), (?, ?)` for 2 rows of 2 columns,
    `?, ?, ?` for 3 single values. The values themselves are always bound."""
    if columns == 1:
        return ", ".join(["?"] * rows)
    row = "(" + ", ".join(["?"] * columns) + ")"
    return ", ".join([row] * rows)


@dataclass(frozen=True)
class Decision:
    id: int
    update_id: int
    chat_id: int | None
    chat_type: str
    user_id: int | None
    language: str
    source: str
    text: str | None
    forward_origin: dict[str, Any] | None
    verdict: str
    category: str
    clauses: list[int]
    findings: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    confidence: float
    needs_review: bool
    policy_version: str
    latency_ms: float
    created_at: str
    replied_at: str | None
    reply_message_id: int | None


@dataclass(frozen=True)
class Dispute:
    id: int
    decision_id: int
    user_id: int | None
    proposed: str
    comment: str | None
    created_at: str
    #: The language the disputing user was answered in, to tell them the review's outcome in it.
    language: str | None = None


_DECISION_COLUMNS = (
    "id, update_id, chat_id, chat_type, user_id, language, source, text, forward_origin, verdict, category, "
    "clauses, findings, evidence, confidence, needs_review, policy_version, latency_ms, created_at, replied_at, "
    "reply_message_id"
)


def _decision(row: aiosqlite.Row | tuple[Any, ...]) -> Decision:
    r = tuple(row)
    return Decision(
        id=r[0], update_id=r[1], chat_id=r[2], chat_type=r[3], user_id=r[4], language=r[5], source=r[6],
        text=r[7], forward_origin=json.loads(r[8]) if r[8] else None, verdict=r[9], category=r[10],
        clauses=json.loads(r[11]), findings=json.loads(r[12]), evidence=json.loads(r[13]), confidence=r[14],
        needs_review=bool(r[15]), policy_version=r[16], latency_ms=r[17], created_at=r[18], replied_at=r[19],
        reply_message_id=r[20],
    )  # fmt: skip


def split_statements(sql: str) -> list[str]:
    """A migration's statements; a `;` inside a trigger body does not end the statement."""
    statements, buffer = [], ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \n;"):
        statements.append(buffer.strip())
    return statements


class Storage:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        # One connection serves every handler; a transaction must not interleave with another's.
        self._lock = asyncio.Lock()
        # Reply marks waiting to be written together (see mark_replied).
        self._replies: list[tuple[int, int | None, asyncio.Future[None]]] = []
        self._replies_lock = asyncio.Lock()
        # Every /lang choice (only users who made one have a row), read at open and kept in step by
        # set_language and forget_user: answering a message never waits for the database to learn it.
        self._languages: dict[int, str] = {}
        # The highest update id with a decision when the database was opened (see may_be_decided).
        self._decided_before_open = -1

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError("storage is not open")
        return self._db

    async def open(self) -> None:
        if self._db is not None:
            return
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # Created readable by its owner only: it holds what principals forwarded.
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
        try:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL keeps every commit across a crash of the process (what the kill test
            # checks); only a power cut can lose the last commits.
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._db.execute("PRAGMA busy_timeout=2000")
            # Erased texts are overwritten with zeros in the file, not only unlinked.
            await self._db.execute("PRAGMA secure_delete=ON")
            await self.migrate()
            rows = await self._db.execute_fetchall(
                "SELECT user_id, language FROM user_settings WHERE language IS NOT NULL"
            )
            self._languages = {int(r[0]): str(r[1]) for r in rows}
            rows = await self._db.execute_fetchall("SELECT COALESCE(MAX(update_id), -1) FROM decisions")
            self._decided_before_open = int(next(iter(rows))[0])
            # Fold in a write-ahead log a crash left behind now, not in the middle of the first replies.
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except aiosqlite.Error as exc:
            raise StorageError(f"cannot open the database: {exc}") from exc

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Storage:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def migrate(self) -> list[int]:
        db = self.db
        await db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL)"
        )
        async with db.execute("SELECT number FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        applied = []
        for number, name, sql in MIGRATIONS:
            if number in done:
                continue
            await db.execute("BEGIN IMMEDIATE")
            try:
                for statement in split_statements(sql):
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, utcnow()),
                )
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            applied.append(number)
        return applied

    async def _write(self, sql: str, params: tuple[Any, ...]) -> aiosqlite.Cursor:
        """One statement, committed on its own (SQLite applies a single statement atomically): one trip to the
        database thread instead of three. Under the write lock, so it never lands inside another caller's
        open transaction."""
        async with self._lock:
            try:
                return await self.db.execute(sql, params)
            except aiosqlite.Error as exc:
                raise StorageError(str(exc)) from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several statements as one write transaction, under the same lock as `_write`."""
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                    await self.db.execute("COMMIT")
                except BaseException:
                    await self.db.execute("ROLLBACK")
                    raise
            except aiosqlite.Error as exc:
                raise StorageError(str(exc)) from exc

    async def _write_returning(self, sql: str, params: tuple[Any, ...]) -> list[aiosqlite.Row]:
        """One statement with a RETURNING clause, committed on its own, as `_write`."""
        async with self._lock:
            try:
                return list(await self.db.execute_fetchall(sql, params))
            except aiosqlite.Error as exc:
                raise StorageError(str(exc)) from exc

    async def _write_all(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> list[list[aiosqlite.Row]]:
        """Statements committed together, each with the rows it returns: a single one on its own (one trip to
        the database thread), several in one transaction."""
        if len(statements) == 1:
            return [await self._write_returning(*statements[0])]
        async with self._transaction() as db:
            return [list(await db.execute_fetchall(sql, params)) for sql, params in statements]

    async def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[aiosqlite.Row]:
        try:
            return list(await self.db.execute_fetchall(sql, params))
        except aiosqlite.Error as exc:
            raise StorageError(str(exc)) from exc

    # ------------------------------------------------------------------ decisions

    async def record_decision(
        self,
        *,
        update_id: int,
        chat_id: int | None,
        chat_type: str,
        user_id: int | None,
        language: str,
        source: str,
        text: str,
        forward_origin: dict[str, Any] | None,
        screening: Screening,
        latency_ms: float,
    ) -> tuple[Decision, bool]:
        """Store the decision for an update, once. Returns (decision, created); a redelivered update
        returns the row stored the first time with created=False."""
        s = screening
        origin = json.dumps(forward_origin, ensure_ascii=False) if forward_origin else None
        findings = [f.model_dump(mode="json") for f in s.findings]
        evidence = [e.model_dump(mode="json") for e in s.evidence]
        latency, created_at = round(latency_ms, 3), utcnow()
        values = (
            update_id, chat_id, chat_type, user_id, language, source, text,
            hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), origin,
            s.verdict, s.category, json.dumps(list(s.clauses)),
            json.dumps(findings, ensure_ascii=False), json.dumps(evidence, ensure_ascii=False),
            s.confidence, int(s.needs_review), s.policy_version, latency, created_at,
        )  # fmt: skip
        rows = await self._write_returning(
            "INSERT INTO decisions (update_id, chat_id, chat_type, user_id, language, source, text, "
            "text_sha256, forward_origin, verdict, category, clauses, findings, evidence, confidence, needs_review, "
            "policy_version, latency_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(update_id) DO NOTHING RETURNING id",
            values,
        )
        if rows:
            # The row as written, without reading its JSON back.
            decision = Decision(
                id=int(rows[0][0]), update_id=update_id, chat_id=chat_id, chat_type=chat_type, user_id=user_id,
                language=language, source=source, text=text, forward_origin=json.loads(origin) if origin else None,
                verdict=s.verdict, category=s.category, clauses=list(s.clauses), findings=findings,
                evidence=evidence, confidence=s.confidence, needs_review=s.needs_review,
                policy_version=s.policy_version, latency_ms=latency, created_at=created_at, replied_at=None,
                reply_message_id=None,
            )  # fmt: skip
            return decision, True
        existing = await self.decision_for_update(update_id)
        if existing is None:
            raise StorageError(f"decision for update {update_id} neither inserted nor found")
        return existing, False

    async def mark_replied(self, decision_id: int, message_id: int | None) -> None:
        """Record that the decision's reply went out. Until this is committed, a crash would make the bot send
        the reply again, so marks that arrive while one is being written go together in the next statement
        instead of queueing one by one behind the other writes."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._replies.append((decision_id, message_id, done))
        async with self._replies_lock:
            if not done.done():
                batch, self._replies = self._replies, []
                # Shielded: a cancelled caller must not leave the others of its batch waiting for ever.
                await asyncio.shield(self._write_replies(batch))
        await done

    async def _write_replies(self, batch: list[tuple[int, int | None, asyncio.Future[None]]]) -> None:
        try:
            now = utcnow()
            # One statement per batch: the (decision, message) pairs as a VALUES table.
            await self._write_all(
                [
                    (
                        "UPDATE decisions SET replied_at = ?, reply_message_id = marks.column2 "
                        f"FROM (VALUES {placeholders(len(part), 2)}) AS marks "
                        "WHERE decisions.id = marks.column1 AND decisions.replied_at IS NULL",
                        (now, *(value for decision, message, _ in part for value in (decision, message))),
                    )
                    for part in chunks(batch, MAX_ROWS_PER_STATEMENT)
                ]
            )
        except Exception as exc:
            error = exc if isinstance(exc, StorageError) else StorageError(f"replies not recorded: {exc!r}")
            for *_, waiting in batch:
                waiting.set_exception(error)
        else:
            for *_, waiting in batch:
                waiting.set_result(None)

    def may_be_decided(self, update_id: int) -> bool:
        """Whether looking up the update's decision before screening it is worth a query: yes for an update a
        decision may have been stored for before the database was opened (one handed over again after a
        restart). A later update that comes again (a verdict card sent again, a webhook delivering twice) is
        screened again, and record_decision then keeps and returns the row stored the first time."""
        return update_id <= self._decided_before_open

    async def decision_for_update(self, update_id: int) -> Decision | None:
        rows = await self._read(f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE update_id = ?", (update_id,))
        return _decision(rows[0]) if rows else None

    async def decision(self, decision_id: int) -> Decision | None:
        rows = await self._read(f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE id = ?", (decision_id,))
        return _decision(rows[0]) if rows else None

    async def history(self, user_id: int, limit: int = 10) -> list[Decision]:
        rows = await self._read(
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit)
        )
        return [_decision(r) for r in rows]

    async def forget_user(self, user_id: int) -> int:
        """Erase a user's texts and identity; the verdict rows stay, anonymous, for statistics. Reviews are
        the admins' own record and stay; they hold no text of the user's."""
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE decisions SET text = NULL, forward_origin = NULL, user_id = NULL, chat_id = NULL, "
                "evidence = '[]', findings = '[]' WHERE user_id = ?",
                (user_id,),
            )
            await db.execute("UPDATE disputes SET user_id = NULL, comment = NULL WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM user_settings WHERE user_id = ?", (user_id,))
        self._languages.pop(user_id, None)
        await self._checkpoint()
        return cur.rowcount

    async def purge_texts(self, before: str) -> int:
        """Erase the texts (and what quotes them: evidence, findings, forward origin, dispute comments) of
        everything older than `before`; verdict rows stay. Returns the number of decisions purged."""
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE decisions SET text = NULL, forward_origin = NULL, evidence = '[]', findings = '[]' "
                "WHERE created_at < ? AND (text IS NOT NULL OR forward_origin IS NOT NULL OR evidence <> '[]' "
                "OR findings <> '[]')",
                (before,),
            )
            await db.execute(
                "UPDATE disputes SET comment = NULL WHERE created_at < ? AND comment IS NOT NULL", (before,)
            )
        await self._checkpoint()
        return cur.rowcount

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database and empty it, so erased texts do not linger in old page images."""
        try:
            async with self._lock:
                await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except aiosqlite.Error as exc:
            raise StorageError(str(exc)) from exc

    async def count_decisions(self) -> int:
        rows = await self._read("SELECT COUNT(*) FROM decisions")
        return int(rows[0][0])

    # ------------------------------------------------------------------ disputes

    async def add_dispute(
        self,
        decision_id: int,
        user_id: int | None,
        proposed: str,
        language: str | None = None,
        update_id: int | None = None,
    ) -> Dispute:
        """Store a dispute. The same button press (update id) handled twice, as after a crash between
        storing it and marking it handled, stores one dispute and returns it both times."""
        rows = await self._write_returning(
            "INSERT INTO disputes (decision_id, user_id, proposed, created_at, language, update_id) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (update_id) WHERE update_id IS NOT NULL DO NOTHING RETURNING id",
            (decision_id, user_id, proposed, utcnow(), language, update_id),
        )
        if rows:
            dispute = await self.dispute(int(rows[0][0]))
        else:
            found = await self._read("SELECT id FROM disputes WHERE update_id = ?", (update_id,))
            dispute = await self.dispute(int(found[0][0])) if found else None
        assert dispute is not None
        return dispute

    async def comment_dispute(self, dispute_id: int, comment: str) -> None:
        await self._write("UPDATE disputes SET comment = ? WHERE id = ?", (comment, dispute_id))

    async def dispute(self, dispute_id: int) -> Dispute | None:
        rows = await self._read(
            "SELECT id, decision_id, user_id, proposed, comment, created_at FROM disputes WHERE id = ?", (dispute_id,)
        )
        return Dispute(*tuple(rows[0])) if rows else None

    async def disputes_for(self, decision_id: int) -> list[Dispute]:
        rows = await self._read(
            "SELECT id, decision_id, user_id, proposed, comment, created_at FROM disputes WHERE decision_id = ? "
            "ORDER BY id",
            (decision_id,),
        )
        return [Dispute(*tuple(r)) for r in rows]

    # ------------------------------------------------------------------ user settings

    def language(self, user_id: int) -> str | None:
        """The user's /lang choice, None when they made none."""
        return self._languages.get(user_id)

    async def set_language(self, user_id: int, language: str) -> None:
        await self._write(
            "INSERT INTO user_settings (user_id, language, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at",
            (user_id, language, utcnow()),
        )
        self._languages[user_id] = language

    async def integrity_check(self) -> str:
        rows = await self._read("PRAGMA integrity_check")
        return str(rows[0][0])
