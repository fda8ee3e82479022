"""policy/ is a pure library: it imports nothing of Telegram, the database, or the bot's own packages."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = ("telegram", "aiosqlite", "sqlite3", "bot", "handlers")
POLICY = Path(__file__).resolve().parents[2] / "policy"


def test_policy_imports_no_telegram_database_bot_or_handlers() -> None:
    offenders = []
    for path in POLICY.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.name}: {name}")
    assert not offenders
