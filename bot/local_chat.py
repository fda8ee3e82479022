"""The offline local chat: the real Application, handlers and SQLite log, against the local Bot API
emulator on 127.0.0.1, driven from the terminal.

What is typed (or piped on stdin) up to an empty line arrives as one message, so a pasted multi-line
notice arrives whole. Buttons are shown numbered; typing the number alone presses it. `/quit` or the
end of input stops cleanly. The local user is also an admin.
"""

from __future__ import annotations

import asyncio
from typing import Any, TextIO

from bot.app import build_application, close_deps
from bot.config import Settings
from bot.emulator import ApiCall, BotApiEmulator, make_user
from bot.intake import Intake
from bot.storage import Storage
from bot.storage.inbox import InboxRepository

LOCAL_USER_ID = 10_000
QUIET_SECONDS = 0.15


class Terminal:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.buttons: list[tuple[dict[str, Any], str]] = []

    def on_call(self, call: ApiCall) -> None:
        if not call.ok:
            return
        if call.method in ("sendMessage", "editMessageText", "sendDocument", "sendPhoto"):
            msg = call.result if isinstance(call.result, dict) else {}
            text = msg.get("text") or msg.get("caption") or ""
            prefix = "jianfu (edited)" if call.method == "editMessageText" else "jianfu"
            if msg.get("document"):
                text = f"[file: {msg['document'].get('file_name')}] {text}"
            elif msg.get("photo"):
                size = msg["photo"][-1]
                text = f"[picture: {size.get('width')}x{size.get('height')}, {size.get('file_size')} bytes] {text}"
            self.out.write(f"\n{prefix}> {text}\n")
            markup = msg.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") or []
            labels = []
            for row in rows:
                for button in row:
                    if "callback_data" in button:
                        self.buttons.append((msg, button["callback_data"]))
                        labels.append(f"[{len(self.buttons)}] {button['text']}")
            if labels:
                self.out.write("   " + "   ".join(labels) + "\n")
            self.out.flush()
        elif call.method == "answerCallbackQuery" and call.params.get("text"):
            self.out.write(f"\njianfu (notice)> {call.params['text']}\n")
            self.out.flush()


async def _read_message(stdin: TextIO) -> str | None:
    """Lines up to an empty line; None at the end of input."""
    loop = asyncio.get_running_loop()
    lines: list[str] = []
    while True:
        line = await loop.run_in_executor(None, stdin.readline)
        if line == "":
            return "\n".join(lines) if lines else None
        line = line.rstrip("\n")
        if not line.strip():
            if lines:
                return "\n".join(lines)
            continue
        lines.append(line)
        if len(lines) == 1 and (line.strip().startswith("/") or line.strip().isdigit()):
            return line.strip()


async def _settle(emu: BotApiEmulator, intake: Intake, update_id: int) -> None:
    """Wait until the bot has fetched and handled the update and gone quiet."""
    await emu.wait_for(lambda e: any(o > update_id for o in e.offsets) or not e.pending_updates, timeout=30)
    await emu.wait_for(lambda e: not intake.busy, timeout=120)
    seen = -1
    while len(emu.calls) != seen:
        seen = len(emu.calls)
        await asyncio.sleep(QUIET_SECONDS)


async def run_local_chat(settings: Settings, stdin: TextIO, out: TextIO) -> int:
    settings = settings.model_copy(update={"admin_ids": (*settings.admin_ids, LOCAL_USER_ID)})
    lang = settings.default_language
    user = make_user(
        LOCAL_USER_ID, "Local", username="local_principal", language_code="zh-hans" if lang == "zh" else "en"
    )
    terminal = Terminal(out)
    storage = Storage(settings.database_path)
    await storage.open()
    # The database outlives this session's emulator: number the new updates after every one it already
    # holds, or the intake (which polls from the stored offset) would skip them as already confirmed.
    first_update_id = max(1000, await InboxRepository(storage).next_offset())
    async with BotApiEmulator(
        token="10000:offline-local-chat", bot_username="jianfu_local_bot", first_update_id=first_update_id
    ) as emu:
        emu.add_listener(terminal.on_call)
        app = build_application(
            settings, storage, token=emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url
        )
        out.write(
            "jianfu 减负 — offline local chat (no TELEGRAM_BOT_TOKEN set). Paste a notice and end it with an empty "
            "line; type a number to press a button; /quit to leave.\n"
        )
        out.flush()
        async with app:
            if app.post_init:
                await app.post_init(app)
            await app.start()
            intake = Intake(app, storage)
            await intake.start()
            try:
                while True:
                    text = await _read_message(stdin)
                    if text is None or text == "/quit":
                        break
                    if text.isdigit() and 1 <= int(text) <= len(terminal.buttons):
                        message, data = terminal.buttons[int(text) - 1]
                        update = emu.callback(user, message, data)
                    else:
                        terminal.buttons.clear()
                        update = emu.user_message(user, text=text)
                    await _settle(emu, intake, int(update["update_id"]))
            finally:
                await intake.stop()
                await app.stop()
        await close_deps(app)
    out.write("bye.\n")
    out.flush()
    return 0
