"""The soak script (tests/bench/soak.py) at a reduced size: the same mix, the same accounting."""

from __future__ import annotations

from pathlib import Path

from tests.bench.soak import Plan, run


async def test_soak_at_a_reduced_size_loses_and_doubles_nothing(tmp_path: Path) -> None:
    report = await run(Plan(updates=300, users=60, groups=4, concurrency=16, seed=11), workdir=tmp_path)
    print("\n".join(report.lines()))
    report.check()
    assert report.updates >= 300 and len(report.screening) > 100
    assert {"text", "forward", "file", "command", "button", "check", "mention", "reply_check", "silent"} <= set(
        report.kinds
    )
