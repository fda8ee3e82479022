"""The admins' side of the decision log: reviews, the review queue, the paged log, statistics, exports and
what is new for the admin chat.

A review is an appended row (migration 2 refuses UPDATE and DELETE on `reviews`, and any change of a
decision's verdict); what a decision stands at now is derived by the `decision_state` view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiosqlite

from bot.storage.db import _DECISION_COLUMNS, Decision, Dispute, Storage, _decision, utcnow

ReviewAction = Literal["confirm", "change"]
LogFilter = Literal["all", "verdict", "category", "reviewed", "disputed"]

# Fixed SQL fragments chosen by a filter's name; a filter's value is always a bound parameter.
_LOG_WHERE: dict[str, str] = {
    "all": "1 = 1",
    "verdict": "s.verdict = ?",
    "category": "s.category = ?",
    "reviewed": "s.review_id IS NOT NULL",
    "disputed": "s.disputes > 0",
}

_D_COLUMNS = ", ".join(f"d.{c.strip()}" for c in _DECISION_COLUMNS.split(","))
_D_WIDTH = len(_DECISION_COLUMNS.split(","))
_ENTRY_SELECT = (
    f"SELECT {_D_COLUMNS}, s.verdict, s.category, s.clauses, s.review_id, s.disputes, s.last_dispute_id, s.pending "
    "FROM decisions d JOIN decision_state s ON s.decision_id = d.id"
)
_REVIEW_COLUMNS = (
    "id, decision_id, reviewer_id, action, verdict_before, category_before, clauses_before, verdict_after, "
    "category_after, clauses_after, reason, answers_dispute_id, created_at"
)
_R_COLUMNS = ", ".join(f"r.{c.strip()}" for c in _REVIEW_COLUMNS.split(","))
_DISPUTE_COLUMNS = "id, decision_id, user_id, proposed, comment, created_at, language"


def days_ago(days: int, now: datetime | None = None) -> str:
    """The time `days` days ago in the stored format (these ISO strings compare in time order)."""
    return ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Review:
    """One reviewer's judgement of a decision: an appended row, never changed."""

    id: int
    decision_id: int
    reviewer_id: int
    action: ReviewAction
    verdict_before: str
    category_before: str
    clauses_before: list[int]
    verdict_after: str
    category_after: str
    clauses_after: list[int]
    reason: str | None
    #: The decision's newest dispute when the review was made: it and the ones before it are answered.
    answers_dispute_id: int | None
    created_at: str


@dataclass(frozen=True)
class DecisionState:
    """What a decision stands at now, derived from it, its reviews and its disputes."""

    verdict: str
    category: str
    clauses: list[int]
    review_id: int | None
    disputes: int
    last_dispute_id: int | None
    #: needs_review and never reviewed, or disputed since its latest review.
    pending: bool

    @property
    def reviewed(self) -> bool:
        return self.review_id is not None


@dataclass(frozen=True)
class Entry:
    """A decision together with its current state."""

    decision: Decision
    state: DecisionState


@dataclass(frozen=True)
class Stats:
    """Counts over a period. Verdicts and categories are the current ones (after review)."""

    total: int
    by_verdict: dict[str, int]
    by_category: dict[str, int]
    needs_review: int
    disputed: int
    reviewed: int
    #: Reviewed decisions whose verdict the reviewers left as the engine gave it.
    agreed: int
    #: Where the tasks that may be refused came from: forward origins, and issuing offices named in the text.
    refusable_origins: list[tuple[str, int]]
    refusable_issuers: list[tuple[str, int]]


@dataclass(frozen=True)
class AdminNews:
    """What arrived for the admin chat since the last look: (entry, reason) with reason `needs_review` or
    `disputed`, oldest first, and the new high-water marks."""

    items: list[tuple[Entry, str]]
    decision_mark: int
    dispute_mark: int


def _entry(row: aiosqlite.Row | tuple[Any, ...]) -> Entry:
    r = tuple(row)
    s = r[_D_WIDTH:]
    state = DecisionState(
        verdict=s[0], category=s[1], clauses=json.loads(s[2]), review_id=s[3], disputes=int(s[4]),
        last_dispute_id=s[5], pending=bool(s[6]),
    )  # fmt: skip
    return Entry(_decision(r[:_D_WIDTH]), state)


def _review(row: aiosqlite.Row | tuple[Any, ...]) -> Review:
    r = tuple(row)
    return Review(
        id=r[0], decision_id=r[1], reviewer_id=r[2], action=r[3], verdict_before=r[4], category_before=r[5],
        clauses_before=json.loads(r[6]), verdict_after=r[7], category_after=r[8], clauses_after=json.loads(r[9]),
        reason=r[10], answers_dispute_id=r[11], created_at=r[12],
    )  # fmt: skip


def _period(since: str | None) -> tuple[str, tuple[Any, ...]]:
    return ("WHERE d.created_at >= ?", (since,)) if since else ("WHERE 1 = 1", ())


class AdminRepository:
    """Queries over the shared Storage connection; its writes go through the storage's transaction lock."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[aiosqlite.Row]:
        return await self.storage._read(sql, params)

    # ------------------------------------------------------------------ one decision

    async def entry(self, decision_id: int) -> Entry | None:
        rows = await self._read(f"{_ENTRY_SELECT} WHERE d.id = ?", (decision_id,))
        return _entry(rows[0]) if rows else None

    async def reviews_for(self, decision_id: int) -> list[Review]:
        rows = await self._read(
            f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE decision_id = ? ORDER BY id", (decision_id,)
        )
        return [_review(r) for r in rows]

    async def review(self, review_id: int) -> Review | None:
        rows = await self._read(f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE id = ?", (review_id,))
        return _review(rows[0]) if rows else None

    async def add_review(
        self,
        decision_id: int,
        reviewer_id: int,
        *,
        action: ReviewAction,
        verdict: str,
        category: str,
        clauses: list[int],
        reason: str | None,
        expected_review_id: int | None,
    ) -> tuple[Review, list[Dispute]] | None:
        """Append a review of the decision as it stands now. `expected_review_id` is the latest review the
        reviewer was shown: if another was added since (a second reviewer, a double press), nothing is written
        and None is returned. Returns the review and the disputes it answers, those no earlier review did."""
        async with self.storage._transaction() as db:
            async with db.execute(f"{_ENTRY_SELECT} WHERE d.id = ?", (decision_id,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            state = _entry(row).state
            if state.review_id != expected_review_id:
                return None
            async with db.execute(
                "SELECT answers_dispute_id FROM reviews WHERE id = ?", (state.review_id or 0,)
            ) as cur:
                previous = await cur.fetchone()
            answered_before = int(previous[0] or 0) if previous else 0
            cur = await db.execute(
                "INSERT INTO reviews (decision_id, reviewer_id, action, verdict_before, category_before, "
                "clauses_before, verdict_after, category_after, clauses_after, reason, answers_dispute_id, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    decision_id, reviewer_id, action, state.verdict, state.category, json.dumps(state.clauses),
                    verdict, category, json.dumps(list(clauses)), reason, state.last_dispute_id, utcnow(),
                ),
            )  # fmt: skip
            review_id = int(cur.lastrowid or 0)
        review = await self.review(review_id)
        assert review is not None
        rows = await self._read(
            f"SELECT {_DISPUTE_COLUMNS} FROM disputes WHERE decision_id = ? AND id > ? AND id <= ? ORDER BY id",
            (decision_id, answered_before, review.answers_dispute_id or 0),
        )
        return review, [Dispute(*tuple(r)) for r in rows]

    # ------------------------------------------------------------------ the queue and the log

    async def next_pending(self, after_id: int = 0) -> Entry | None:
        """The oldest decision awaiting review with an id above `after_id`."""
        rows = await self._read(f"{_ENTRY_SELECT} WHERE s.pending = 1 AND d.id > ? ORDER BY d.id LIMIT 1", (after_id,))
        return _entry(rows[0]) if rows else None

    async def count_pending(self) -> int:
        rows = await self._read("SELECT COUNT(*) FROM decision_state WHERE pending = 1")
        return int(rows[0][0])

    async def log_page(self, kind: LogFilter, value: str | None, offset: int, limit: int) -> tuple[list[Entry], int]:
        """Newest first, filtered by the current verdict or category, or to the reviewed or the disputed.
        Returns one page and how many decisions match."""
        where = _LOG_WHERE[kind]
        params: tuple[Any, ...] = (value,) if "?" in where else ()
        total = await self._read(
            f"SELECT COUNT(*) FROM decisions d JOIN decision_state s ON s.decision_id = d.id WHERE {where}", params
        )
        rows = await self._read(
            f"{_ENTRY_SELECT} WHERE {where} ORDER BY d.id DESC LIMIT ? OFFSET ?", (*params, limit, offset)
        )
        return [_entry(r) for r in rows], int(total[0][0])

    async def entries_since(self, since: str | None) -> list[Entry]:
        """Every decision created at or after `since` (all when None), oldest first."""
        where, params = _period(since)
        rows = await self._read(f"{_ENTRY_SELECT} {where} ORDER BY d.id", params)
        return [_entry(r) for r in rows]

    async def reviewed(self) -> list[tuple[Decision, Review]]:
        """Every reviewed decision with its latest review, oldest first."""
        rows = await self._read(
            f"SELECT {_D_COLUMNS}, {_R_COLUMNS} FROM decisions d "
            "JOIN reviews r ON r.id = (SELECT MAX(y.id) FROM reviews y WHERE y.decision_id = d.id) ORDER BY d.id"
        )
        return [(_decision(tuple(r)[:_D_WIDTH]), _review(tuple(r)[_D_WIDTH:])) for r in rows]

    # ------------------------------------------------------------------ the admin chat

    async def marks(self) -> tuple[int, int]:
        """The newest decision and dispute ids now: what is already known when the bot starts."""
        rows = await self._read(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM decisions), (SELECT COALESCE(MAX(id), 0) FROM disputes)"
        )
        return int(rows[0][0]), int(rows[0][1])

    async def news(self, decision_mark: int, dispute_mark: int) -> AdminNews:
        """Decisions flagged needs_review and disputes that arrived after the marks, if still pending."""
        new_decision_mark, new_dispute_mark = await self.marks()
        flagged = await self._read(
            f"{_ENTRY_SELECT} WHERE d.id > ? AND d.id <= ? AND d.needs_review = 1 AND s.pending = 1 ORDER BY d.id",
            (decision_mark, new_decision_mark),
        )
        disputed = await self._read(
            f"{_ENTRY_SELECT} WHERE d.id IN (SELECT decision_id FROM disputes WHERE id > ? AND id <= ?) "
            "AND s.pending = 1 ORDER BY d.id",
            (dispute_mark, new_dispute_mark),
        )
        items: dict[int, tuple[Entry, str]] = {}
        for row in disputed:
            entry = _entry(row)
            items[entry.decision.id] = (entry, "disputed")
        for row in flagged:
            entry = _entry(row)
            items.setdefault(entry.decision.id, (entry, "needs_review"))
        ordered = [items[k] for k in sorted(items)]
        return AdminNews(ordered, max(decision_mark, new_decision_mark), max(dispute_mark, new_dispute_mark))

    # ------------------------------------------------------------------ statistics

    async def stats(self, since: str | None, top: int = 5) -> Stats:
        where, params = _period(since)
        base = f"FROM decisions d JOIN decision_state s ON s.decision_id = d.id {where}"
        totals = await self._read(
            "SELECT COUNT(*), COALESCE(SUM(d.needs_review), 0), COALESCE(SUM(s.disputes > 0), 0), "
            "COALESCE(SUM(s.review_id IS NOT NULL), 0), "
            f"COALESCE(SUM(s.review_id IS NOT NULL AND s.verdict = d.verdict), 0) {base}",
            params,
        )
        by_verdict = await self._read(
            f"SELECT s.verdict, COUNT(*) {base} GROUP BY s.verdict ORDER BY 2 DESC, 1", params
        )
        by_category = await self._read(
            f"SELECT s.category, COUNT(*) {base} GROUP BY s.category ORDER BY 2 DESC, 1", params
        )
        origins = await self._read(
            f"SELECT json_extract(d.forward_origin, '$.name') AS name, COUNT(*) {base} AND s.verdict = 'refuse' "
            "AND name IS NOT NULL GROUP BY name ORDER BY 2 DESC, 1 LIMIT ?",
            (*params, top),
        )
        # The engine's evidence names the issuer it recognised (rules issuer.*); the school itself is no source.
        issuers = await self._read(
            "SELECT json_extract(e.value, '$.text') AS name, COUNT(DISTINCT d.id) "
            f"FROM decisions d JOIN decision_state s ON s.decision_id = d.id, json_each(d.evidence) e {where} "
            "AND s.verdict = 'refuse' AND json_extract(e.value, '$.rule') LIKE 'issuer.%' "
            "AND json_extract(e.value, '$.rule') <> 'issuer.school' AND name IS NOT NULL "
            "GROUP BY name ORDER BY 2 DESC, 1 LIMIT ?",
            (*params, top),
        )
        total, needs_review, disputed, reviewed, agreed = (int(x) for x in totals[0])
        return Stats(
            total=total,
            by_verdict={str(r[0]): int(r[1]) for r in by_verdict},
            by_category={str(r[0]): int(r[1]) for r in by_category},
            needs_review=needs_review,
            disputed=disputed,
            reviewed=reviewed,
            agreed=agreed,
            refusable_origins=[(str(r[0]), int(r[1])) for r in origins],
            refusable_issuers=[(str(r[0]), int(r[1])) for r in issuers],
        )

    async def weekly_counts(self, since: str | None) -> list[tuple[str, str, int]]:
        """(Monday of the week, current category, tasks) for each week and category with tasks; messages
        that are not tasks are left out."""
        where, params = _period(since)
        rows = await self._read(
            "SELECT date(d.created_at, '-6 days', 'weekday 1') AS week, s.category, COUNT(*) "
            f"FROM decisions d JOIN decision_state s ON s.decision_id = d.id {where} AND s.category <> 'none' "
            "GROUP BY week, s.category ORDER BY week, s.category",
            params,
        )
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]
