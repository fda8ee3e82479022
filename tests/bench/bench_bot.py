"""Throughput, latency and memory of the bot through long polling (the durable intake) with the decision log on.

    .venv/bin/python tests/bench/bench_bot.py [N]        (default N = 10,000 updates)

The bot (the real Application, handlers, engine and SQLite log) runs in this process, as `python -m bot` runs
it (uvloop, the garbage collector tuned once it is up); the local Bot API emulator runs in a second process,
as Telegram would be another machine. Outgoing requests go through python-telegram-bot's AIORateLimiter with
Telegram's own rates lifted (with them, replies are held to about 30 a second whatever the bot can do).
Prints figures, among them the CPU time each process spent per update during the flood (steadier than the
rate when other work shares the machine); asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TOKEN = "1:bench"


def emulator_process(conn: Connection) -> None:
    """The Bot API side: queue updates on request, report when every reply has arrived."""
    from bot.emulator import ApiCall, BotApiEmulator, make_user

    async def serve() -> None:
        replied: dict[int, float] = {}

        def on_call(call: ApiCall) -> None:
            if call.method == "sendMessage" and call.ok:
                replied.setdefault(int(call.params["chat_id"]), time.perf_counter())

        async with BotApiEmulator(token=TOKEN) as emu:
            emu.add_listener(on_call)
            conn.send((emu.base_url, emu.base_file_url))
            loop = asyncio.get_running_loop()
            while True:
                command: Any = await loop.run_in_executor(None, conn.recv)
                if command[0] == "stop":
                    break
                if command[0] == "flood":
                    _, first_uid, texts = command
                    start = time.perf_counter()
                    cpu = time.process_time()
                    for i, text in enumerate(texts):
                        emu.user_message(make_user(first_uid + i, f"U{i}"), text=text)
                    want = set(range(first_uid, first_uid + len(texts)))
                    await emu.wait_for(lambda e, want=want: want <= replied.keys(), timeout=3600)
                    conn.send((max(replied[u] for u in want) - start, time.process_time() - cpu))
                elif command[0] == "one":
                    _, uid, text = command
                    t0 = time.perf_counter()
                    emu.user_message(make_user(uid, "L"), text=text)
                    await emu.wait_for(lambda e, uid=uid: uid in replied, timeout=60)
                    conn.send(replied[uid] - t0)

    import uvloop

    uvloop.run(serve())


async def run(n: int) -> None:
    from telegram.ext import AIORateLimiter

    from bot.app import build_application, tune_garbage_collector
    from bot.config import Settings
    from bot.intake import Intake
    from bot.storage import Storage

    texts = [json.loads(line)["text"] for line in (ROOT / "tests" / "corpus" / "corpus.jsonl").open(encoding="utf-8")]
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=emulator_process, args=(child,), daemon=True)
    proc.start()
    loop = asyncio.get_running_loop()
    base_url, base_file_url = await loop.run_in_executor(None, parent.recv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_path=Path(tmp) / "bench.sqlite3", user_rate_limit_per_minute=10**4)  # type: ignore[call-arg]
        storage = Storage(settings.database_path)
        await storage.open()
        limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
        app = build_application(
            settings, storage, token=TOKEN, base_url=base_url, base_file_url=base_file_url, rate_limiter=limiter
        )
        async with app:
            await app.start()
            tune_garbage_collector()  # as `python -m bot` does once the bot is up
            intake = Intake(app, storage)
            await intake.start()
            cpu = time.process_time()
            parent.send(("flood", 100_000, [texts[i % len(texts)] for i in range(n)]))
            elapsed, emulator_cpu = await loop.run_in_executor(None, parent.recv)
            bot_cpu = time.process_time() - cpu
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            lat = []
            for i in range(300):
                parent.send(("one", 900_000 + i, texts[(i * 7) % len(texts)]))
                lat.append(await loop.run_in_executor(None, parent.recv) * 1000)
            rows = await storage.count_decisions()
            integrity = await storage.integrity_check()
            await intake.stop()
            await app.stop()
        await storage.close()
    parent.send(("stop",))
    proc.join(10)
    lat.sort()
    print(
        f"updates through long polling: {n} in {elapsed:.1f} s = {n / elapsed:.0f} updates/s (bot in one process, log on)"
    )
    print(
        f"CPU time per update during the flood: bot {bot_cpu / n * 1000:.2f} ms, "
        f"Bot API emulator {emulator_cpu / n * 1000:.2f} ms"
    )
    print(f"decision rows written:        {rows} (expected {n + 300}); integrity_check: {integrity}")
    print(
        f"latency update -> reply (one at a time): p50 {statistics.median(lat):.1f} ms, "
        f"p99 {lat[int(len(lat) * 0.99) - 1]:.1f} ms"
    )
    print(f"bot process resident memory after {n} updates: {rss_mb:.0f} MB")


if __name__ == "__main__":
    import uvloop

    uvloop.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
