"""Soak: many updates from many simulated users and groups through the Bot API emulator, as fast as the bot
takes them; then every screening update must have exactly one decision row and one verdict card.

    .venv/bin/python tests/bench/soak.py [--updates 10000] [--users 500] [--groups 20] [--concurrency 64]

The bot (the real Application, handlers, engine, SQLite log and durable intake) runs in this process, as
`python -m bot` runs it (uvloop, the garbage collector tuned once it is up), with Telegram's sending rates
lifted (they would measure Telegram's limits, not the bot); the emulator and the simulated users run in a
second process, as Telegram would be another machine. Each private chat and each
group is one session that waits for the bot's answer before its next message, `--concurrency` sessions at
a time: a mix of texts, forwards, .txt files (UTF-8 and GBK), commands and button presses in private
chats, and /check, mentions, /check as a reply and messages the bot ignores in groups.

Prints throughput, latency (update queued -> the answer it waits for, measured inside the emulator) and the
bot process's peak memory; raises AssertionError when a record is lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN = "4242:soak"
BOT_USERNAME = "jianfu_soak_bot"
CARD_MARKS = ("✅", "⛔", "⚠️", "💬")
PRIVATE_MIX = {"text": 40, "forward": 10, "file": 10, "command": 20, "button": 20}
GROUP_MIX = {"check": 3, "mention": 2, "reply_check": 2, "silent": 3}
COMMANDS = {
    "/help": lambda t: t.startswith("用法"),
    "/start": lambda t: t.startswith("您好"),
    "/history": lambda t: t.startswith(("您最近的判断", "您还没有")),
    "/clause 99": lambda t: t.startswith("请输入1到20"),
}


@dataclass
class Plan:
    updates: int
    users: int
    groups: int
    concurrency: int
    seed: int


@dataclass
class Report:
    updates: int
    kinds: dict[str, int]
    elapsed: float
    latencies_ms: list[float]
    screening: dict[int, int]  # update_id -> chat_id
    cards: dict[int, int]  # chat_id -> verdict cards the bot sent there
    card_ids: set[tuple[int, int]] = field(default_factory=set)  # (chat_id, message_id) of every bot message
    # Filled in by the bot's side:
    decisions: int = 0
    unanswered: int = 0
    wrong_rows: int = 0
    unhandled: int = 0
    integrity: str = ""
    peak_mb: float = 0.0

    @property
    def throughput(self) -> float:
        return self.updates / self.elapsed

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0

    def check(self) -> None:
        """Exactly one decision row and one card per screening update, nothing unhandled, the file intact."""
        per_chat = Counter(self.screening.values())
        assert self.decisions == len(self.screening), (self.decisions, len(self.screening))
        assert self.wrong_rows == 0 and self.unanswered == 0 and self.unhandled == 0
        assert {c: self.cards.get(c, 0) for c in per_chat} == dict(per_chat), "one card per screening update"
        assert self.integrity == "ok"

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items(), key=lambda kv: -kv[1]))
        return [
            f"updates: {self.updates} ({kinds})",
            f"throughput: {self.throughput:.0f} updates/s ({self.elapsed:.1f} s)",
            f"latency update -> answer: p50 {self.percentile(0.5):.1f} ms, p99 {self.percentile(0.99):.1f} ms "
            f"({len(self.latencies_ms)} answers)",
            f"screening updates: {len(self.screening)}; decision rows: {self.decisions}; verdict cards: "
            f"{sum(self.cards.values())}; unanswered: {self.unanswered}; rows not matching their update: "
            f"{self.wrong_rows}",
            f"inbox left unhandled: {self.unhandled}; integrity_check: {self.integrity}",
            f"bot process peak memory: {self.peak_mb:.0f} MB",
        ]


# ---------------------------------------------------------------------- the emulator's side


def corpus_texts(limit: int = 600) -> list[str]:
    texts = []
    with (ROOT / "tests" / "corpus" / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            if 20 <= len(text) <= limit:
                texts.append(text)
    return texts


def is_card(text: str) -> bool:
    return text.startswith(CARD_MARKS)


class Load:
    """The simulated users: sessions that each wait for their answer, `concurrency` at a time."""

    def __init__(self, emu: Any, plan: Plan) -> None:
        from bot.emulator import group_chat, make_user, origin_channel, origin_hidden_user

        self.emu = emu
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.texts = corpus_texts()
        self.users = [make_user(100_000 + i, f"用户{i}", username=f"soak{i}") for i in range(plan.users)]
        self.groups = [group_chat(-1_000_000_000_000 - i, f"校长群{i}") for i in range(plan.groups)]
        self.channel = {"id": -100_999, "type": "channel", "title": "城东街道办公告"}
        self.origins = [
            lambda: origin_hidden_user("王主任"),
            lambda: origin_channel(self.channel, self.rng.randint(1, 999)),
        ]
        self.screening: dict[int, int] = {}
        self.kinds: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.pushed = 0
        self.stamps: dict[tuple[str, Any], float] = {}
        self.wake = asyncio.Event()
        emu.add_listener(self._on_call)

    def _on_call(self, call: Any) -> None:
        if not call.ok:
            return
        now = time.perf_counter()
        if call.method == "sendMessage":
            self.stamps[("msg", (int(call.result["chat"]["id"]), int(call.result["message_id"])))] = now
        elif call.method == "answerCallbackQuery":
            self.stamps[("cb", str(call.params["callback_query_id"]))] = now
        self.wake.set()

    async def _until(self, check: Callable[[], float | None], timeout: float = 120.0) -> float:
        """Wait until `check()` gives the time of the awaited answer."""
        deadline = time.perf_counter() + timeout
        while True:
            found = check()
            if found is not None:
                return found
            if time.perf_counter() > deadline:
                raise TimeoutError("the bot did not answer")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), 1.0)

    def _new_message(self, chat_id: int, after: int, predicate: Callable[[str], bool]) -> Callable[[], float | None]:
        def check() -> float | None:
            for m in self.emu.sent_messages(chat_id)[after:]:
                if predicate(m.get("text", "")):
                    return self.stamps.get(("msg", (chat_id, m["message_id"])))
            return None

        return check

    def _push(self, kind: str, update: dict[str, Any], screening_chat: int | None = None) -> float:
        self.pushed += 1
        self.kinds[kind] += 1
        if screening_chat is not None:
            self.screening[int(update["update_id"])] = screening_chat
        return time.perf_counter()

    async def _answered(self, pushed_at: float, check: Callable[[], float | None]) -> None:
        self.latencies.append((await self._until(check) - pushed_at) * 1000)

    async def private_step(self, who: dict[str, Any]) -> None:
        chat = int(who["id"])
        kind = self.rng.choices(list(PRIVATE_MIX), weights=list(PRIVATE_MIX.values()))[0]
        before = len(self.emu.sent_messages(chat))
        cards = [m for m in self.emu.sent_messages(chat) if (m.get("reply_markup") or {}).get("inline_keyboard")]
        if kind == "button" and not cards:
            kind = "text"
        text = self.rng.choice(self.texts)
        if kind == "text":
            t0 = self._push(kind, self.emu.user_message(who, text=text), chat)
        elif kind == "forward":
            t0 = self._push(
                kind, self.emu.user_message(who, text=text, forward_origin=self.rng.choice(self.origins)()), chat
            )
        elif kind == "file":
            encoding = self.rng.choice(["utf-8", "gbk"])
            try:
                data = text.encode(encoding)
            except UnicodeEncodeError:
                data = text.encode("utf-8")
            doc = self.emu.add_file(data, file_name="通知.txt", mime_type="text/plain")
            t0 = self._push(kind, self.emu.user_message(who, document=doc), chat)
        elif kind == "command":
            command = self.rng.choice(list(COMMANDS))
            t0 = self._push(kind, self.emu.user_message(who, text=command))
            await self._answered(t0, self._new_message(chat, before, COMMANDS[command]))
            return
        else:
            card = self.rng.choice(cards)
            data = [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
            press = self.rng.choice([d for d in data if d.startswith(("fc:", "dr:"))])
            update = self.emu.callback(who, card, press)
            query = update["callback_query"]["id"]
            t0 = self._push("button", update)
            wanted = (lambda t: t.startswith("回复草稿")) if press.startswith("dr:") else (lambda t: t.startswith("第"))
            message = self._new_message(chat, before, wanted)
            await self._until(lambda: self.stamps.get(("cb", query)))
            await self._answered(t0, message)
            return
        await self._answered(t0, self._new_message(chat, before, is_card))

    async def group_step(self, group: dict[str, Any]) -> None:
        chat = int(group["id"])
        who = self.rng.choice(self.users)
        kind = self.rng.choices(list(GROUP_MIX), weights=list(GROUP_MIX.values()))[0]
        text = self.rng.choice(self.texts)
        before = len(self.emu.sent_messages(chat))
        if kind == "silent":
            self._push(kind, self.emu.user_message(who, chat=group, text="收到，谢谢。"))
            return
        if kind == "check":
            t0 = self._push(kind, self.emu.user_message(who, chat=group, text=f"/check {text}"), chat)
        elif kind == "mention":
            t0 = self._push(kind, self.emu.user_message(who, chat=group, text=f"@{BOT_USERNAME} {text}"), chat)
        else:
            notice = self.emu.user_message(self.rng.choice(self.users), chat=group, text=text)
            self._push("silent", notice)
            t0 = self._push(kind, self.emu.user_message(who, chat=group, text="/check", reply_to=notice), chat)
        await self._answered(t0, self._new_message(chat, before, is_card))

    async def run(self) -> float:
        sessions: list[tuple[Callable[..., Any], dict[str, Any]]] = [(self.private_step, u) for u in self.users]
        sessions += [(self.group_step, g) for g in self.groups] * 4  # groups are busier than one person
        self.rng.shuffle(sessions)
        ready: asyncio.Queue[tuple[Callable[..., Any], dict[str, Any]]] = asyncio.Queue()
        for s in sessions:
            ready.put_nowait(s)
        busy: set[int] = set()

        async def worker() -> None:
            while self.pushed < self.plan.updates:
                step, who = await ready.get()
                if int(who["id"]) in busy:  # a group drawn twice: one step at a time per chat
                    ready.put_nowait((step, who))
                    await asyncio.sleep(0)
                    continue
                busy.add(int(who["id"]))
                try:
                    await step(who)
                finally:
                    busy.discard(int(who["id"]))
                    ready.put_nowait((step, who))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self.plan.concurrency)))
        return time.perf_counter() - start

    def report(self, elapsed: float) -> Report:
        cards: Counter[int] = Counter()
        ids: set[tuple[int, int]] = set()
        for m in self.emu.sent_messages():
            ids.add((int(m["chat"]["id"]), int(m["message_id"])))
            if is_card(m.get("text", "")):
                cards[int(m["chat"]["id"])] += 1
        return Report(self.pushed, dict(self.kinds), elapsed, self.latencies, self.screening, dict(cards), ids)


def emulator_process(conn: Connection, plan: Plan) -> None:
    from bot.emulator import BotApiEmulator

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        async with BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME) as emu:
            conn.send((emu.base_url, emu.base_file_url))
            await loop.run_in_executor(None, conn.recv)  # the bot is polling
            load = Load(emu, plan)
            try:
                elapsed = await load.run()
                await emu.wait_for(lambda e: not e.pending_updates, timeout=60)
            except Exception as exc:  # the parent raises it
                conn.send(("failed", f"{type(exc).__name__}: {exc}"))
                return
            conn.send(("pushed", None))
            await loop.run_in_executor(None, conn.recv)  # the bot has handled everything
            conn.send(dataclasses.asdict(load.report(elapsed)))  # a plain dict: this module is __mp_main__ here
            await loop.run_in_executor(None, conn.recv)

    asyncio.run(serve())


# ---------------------------------------------------------------------- the bot's side


async def run(plan: Plan, workdir: Path | None = None, *, as_deployed: bool = False) -> Report:
    """`as_deployed`: the garbage collector tuned as `python -m bot` does (not inside a test process)."""
    from telegram.ext import AIORateLimiter

    from bot.app import build_application, close_deps, tune_garbage_collector
    from bot.config import Settings
    from bot.intake import Intake
    from bot.storage import Storage

    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=emulator_process, args=(child, plan), daemon=True)
    proc.start()
    loop = asyncio.get_running_loop()
    try:
        base_url, base_file_url = await loop.run_in_executor(None, parent.recv)
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            db = Path(tmp) / "soak.sqlite3"
            settings = Settings(_env_file=None, database_path=db, user_rate_limit_per_minute=10_000)  # type: ignore[call-arg]
            storage = Storage(db)
            limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
            app = build_application(
                settings, storage, token=TOKEN, base_url=base_url, base_file_url=base_file_url, rate_limiter=limiter
            )
            async with app:
                assert app.post_init is not None
                await app.post_init(app)
                await app.start()
                if as_deployed:
                    tune_garbage_collector()
                intake = Intake(app, storage)
                await intake.start()
                parent.send("go")
                status, error = await loop.run_in_executor(None, parent.recv)
                if status == "failed":
                    raise AssertionError(f"the simulated users stopped: {error}")
                while intake.busy:
                    await asyncio.sleep(0.05)
                parent.send("report?")
                report = Report(**await loop.run_in_executor(None, parent.recv))
                parent.send("stop")
                await intake.stop()
                await app.stop()
                await account(report, storage)
            await close_deps(app)
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    report.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


async def account(report: Report, storage: Any) -> None:
    rows = await storage._read("SELECT update_id, chat_id, replied_at, reply_message_id FROM decisions")
    report.decisions = len(rows)
    report.unanswered = sum(1 for r in rows if r[2] is None or (r[1], r[3]) not in report.card_ids)
    report.wrong_rows = sum(1 for r in rows if report.screening.get(r[0]) != r[1])
    report.unhandled = (await storage._read("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL"))[0][0]
    report.integrity = await storage.integrity_check()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    from bot.__main__ import run_loop

    reports: list[Report] = []

    async def soak() -> None:
        plan = Plan(args.updates, args.users, args.groups, args.concurrency, args.seed)
        reports.append(await run(plan, as_deployed=True))

    run_loop(soak())  # the bot's event loop, uvloop where installed
    [report] = reports
    print("\n".join(report.lines()))
    report.check()
    print("records lost: 0; records doubled: 0")


if __name__ == "__main__":
    main()
