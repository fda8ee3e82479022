"""Numbered schema migrations. Each runs once, in order, inside a transaction; the applied numbers are
recorded in `schema_migrations`, so running them again is a no-op.

Decisions are events: once written, their verdict, category and clauses never change (a trigger refuses
it). A review is an appended row in `reviews`; the current state of a decision (its verdict after the
latest review, whether it awaits review) is derived by the `decision_state` view.

The inbox (migration 3) holds each update as Telegram sent it from the moment it is fetched until it has
been handled (bot/intake.py); its payload is then erased, and the highest update id stays to continue from."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "create decisions, disputes, user settings",
        """
        CREATE TABLE decisions (
            id               INTEGER PRIMARY KEY,
            update_id        INTEGER NOT NULL UNIQUE,
            chat_id          INTEGER,
            chat_type        TEXT NOT NULL,
            user_id          INTEGER,
            language         TEXT NOT NULL,
            source           TEXT NOT NULL,
            text             TEXT,
            text_sha256      TEXT NOT NULL,
            forward_origin   TEXT,
            verdict          TEXT NOT NULL,
            category         TEXT NOT NULL,
            clauses          TEXT NOT NULL,
            findings         TEXT NOT NULL,
            evidence         TEXT NOT NULL,
            confidence       REAL NOT NULL,
            needs_review     INTEGER NOT NULL,
            policy_version   TEXT NOT NULL,
            latency_ms       REAL NOT NULL,
            created_at       TEXT NOT NULL,
            replied_at       TEXT,
            reply_message_id INTEGER
        );
        CREATE INDEX decisions_user ON decisions(user_id, id);
        CREATE INDEX decisions_created ON decisions(created_at);
        CREATE TABLE disputes (
            id            INTEGER PRIMARY KEY,
            decision_id   INTEGER NOT NULL REFERENCES decisions(id),
            user_id       INTEGER,
            proposed      TEXT NOT NULL,
            comment       TEXT,
            created_at    TEXT NOT NULL
        );
        CREATE INDEX disputes_decision ON disputes(decision_id);
        CREATE TABLE user_settings (
            user_id    INTEGER PRIMARY KEY,
            language   TEXT,
            updated_at TEXT NOT NULL
        );
        """,
    ),
    (
        2,
        "reviews (append-only), the derived current state of each decision, the disputing user's language",
        """
        ALTER TABLE disputes ADD COLUMN language TEXT;
        CREATE TABLE reviews (
            id                 INTEGER PRIMARY KEY,
            decision_id        INTEGER NOT NULL REFERENCES decisions(id),
            reviewer_id        INTEGER NOT NULL,
            action             TEXT NOT NULL CHECK (action IN ('confirm', 'change')),
            verdict_before     TEXT NOT NULL,
            category_before    TEXT NOT NULL,
            clauses_before     TEXT NOT NULL,
            verdict_after      TEXT NOT NULL,
            category_after     TEXT NOT NULL,
            clauses_after      TEXT NOT NULL,
            reason             TEXT,
            answers_dispute_id INTEGER,
            created_at         TEXT NOT NULL
        );
        CREATE INDEX reviews_decision ON reviews(decision_id, id);
        CREATE INDEX disputes_created ON disputes(created_at);
        CREATE TRIGGER reviews_are_never_updated BEFORE UPDATE ON reviews
        BEGIN
            SELECT RAISE(ABORT, 'reviews are append-only');
        END;
        CREATE TRIGGER reviews_are_never_deleted BEFORE DELETE ON reviews
        BEGIN
            SELECT RAISE(ABORT, 'reviews are append-only');
        END;
        CREATE TRIGGER decisions_keep_their_verdict
        BEFORE UPDATE OF verdict, category, clauses, confidence, needs_review ON decisions
        BEGIN
            SELECT RAISE(ABORT, 'a decision is never rewritten: add a review');
        END;
        CREATE VIEW decision_state AS
        SELECT
            d.id AS decision_id,
            COALESCE(r.verdict_after, d.verdict) AS verdict,
            COALESCE(r.category_after, d.category) AS category,
            COALESCE(r.clauses_after, d.clauses) AS clauses,
            r.id AS review_id,
            (SELECT COUNT(*) FROM disputes x WHERE x.decision_id = d.id) AS disputes,
            (SELECT MAX(x.id) FROM disputes x WHERE x.decision_id = d.id) AS last_dispute_id,
            CASE
                WHEN d.needs_review = 1 AND r.id IS NULL THEN 1
                WHEN COALESCE((SELECT MAX(x.id) FROM disputes x WHERE x.decision_id = d.id), 0)
                     > COALESCE(r.answers_dispute_id, 0) THEN 1
                ELSE 0
            END AS pending
        FROM decisions d
        LEFT JOIN reviews r ON r.id = (SELECT MAX(y.id) FROM reviews y WHERE y.decision_id = d.id);
        """,
    ),
    (
        3,
        "the inbox: updates stored before Telegram is told they arrived",
        """
        CREATE TABLE inbox (
            update_id   INTEGER PRIMARY KEY,
            raw         TEXT,
            received_at TEXT NOT NULL,
            handled_at  TEXT
        );
        CREATE INDEX inbox_unhandled ON inbox(update_id) WHERE handled_at IS NULL;
        """,
    ),
    (
        4,
        "a dispute remembers the update (button press) that made it: handled again after a crash, it is one",
        """
        ALTER TABLE disputes ADD COLUMN update_id INTEGER;
        CREATE UNIQUE INDEX disputes_update ON disputes(update_id) WHERE update_id IS NOT NULL;
        """,
    ),
]
