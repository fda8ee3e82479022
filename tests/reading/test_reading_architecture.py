"""bot/reading is a pure library: no Telegram, no database, nothing else of the bot's."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = ("telegram", "aiosqlite", "sqlite3", "bot", "handlers", "policy")
READING = Path(__file__).resolve().parents[2] / "bot" / "reading"


def test_reading_imports_nothing_of_telegram_the_database_or_the_bot() -> None:
    offenders = []
    for path in sorted(READING.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in FORBIDDEN]
    assert not offenders
