"""The decision log: one aiosqlite connection, numbered migrations, and the only place SQL lives."""

from bot.storage.db import Decision, Dispute, Storage, StorageError

__all__ = ["Decision", "Dispute", "Storage", "StorageError"]
