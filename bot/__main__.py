"""`python -m bot`: until the Telegram bot lands, an interactive screening prompt in the terminal."""

from __future__ import annotations

import sys

from policy import default_engine
from policy.cli import format_screening


def main() -> int:
    engine = default_engine()
    print("jianfu 减负 — paste a notice, end it with an empty line; /quit to leave.")
    buffer: list[str] = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.strip() == "/quit":
            break
        if line.strip():
            buffer.append(line)
            continue
        if buffer:
            print(format_screening(engine.screen("\n".join(buffer))) + "\n")
            buffer.clear()
    if buffer:
        print(format_screening(engine.screen("\n".join(buffer))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
