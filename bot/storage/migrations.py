"""Numbered schema migrations. Each runs once, in order, inside a transaction; the applied numbers are
recorded in `schema_migrations`, so running them again is a no-op."""

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
]
