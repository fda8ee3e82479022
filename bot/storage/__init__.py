"""The decision log: one aiosqlite connection, numbered migrations, and the only place SQL lives."""

from bot.storage.admin import AdminNews, AdminRepository, DecisionState, Entry, LogFilter, Review, Stats, days_ago
from bot.storage.db import Decision, Dispute, Storage, StorageError
from bot.storage.inbox import InboxRepository

__all__ = [
    "AdminNews",
    "AdminRepository",
    "Decision",
    "DecisionState",
    "Dispute",
    "Entry",
    "InboxRepository",
    "LogFilter",
    "Review",
    "Stats",
    "Storage",
    "StorageError",
    "days_ago",
]
