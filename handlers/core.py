"""What every handler shares: the dependencies, the user's language, and screening a text into a
recorded decision and a verdict card."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from html import escape
from typing import Any, Protocol

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.messages import pick_language, t
from bot.reading import Extracted
from bot.storage import Decision, Storage, StorageError
from handlers.cards import pack, verdict_card
from policy import Engine, Policy

log = logging.getLogger(__name__)


class Reader(Protocol):
    async def read(self, data: bytes, file_name: str | None, mime_type: str | None, timeout: float) -> Extracted: ...

    def close(self) -> None: ...


#: The per-user rate limit's sliding window, in seconds.
RATE_WINDOW = 60.0

#: Screening a text this long takes long enough to move off the event loop.
OFFLOAD_CHARS = 5_000


@dataclass
class Deps:
    settings: Settings
    storage: Storage
    engine: Engine
    policy: Policy
    #: Reads files and pictures off the event loop (bot.reading.OcrPool, or a stand-in in tests).
    reader: Reader
    _hits: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _warned: dict[int, float] = field(default_factory=dict)
    _pruned_at: float = 0.0
    #: Admin-chat alerts by kind: when the last one was posted, and how many were held back since.
    alerts: dict[str, tuple[float, int]] = field(default_factory=dict)

    def over_limit(self, user_id: int, now: float | None = None) -> bool:
        """Sliding one-minute window per user."""
        now = time.monotonic() if now is None else now
        if now - self._pruned_at > RATE_WINDOW:
            self._prune(now)
        hits = self._hits[user_id]
        while hits and now - hits[0] > RATE_WINDOW:
            hits.popleft()
        if len(hits) >= self.settings.user_rate_limit_per_minute:
            return True
        hits.append(now)
        return False

    def _prune(self, now: float) -> None:
        """Forget users with nothing in the window, so a long-running bot's memory does not grow with
        every user it has ever seen."""
        self._pruned_at = now
        for uid in [u for u, h in self._hits.items() if not h or now - h[-1] > RATE_WINDOW]:
            del self._hits[uid]
        for uid in [u for u, at in self._warned.items() if now - at > RATE_WINDOW]:
            del self._warned[uid]

    def should_warn(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._warned.get(user_id, -1e9) > RATE_WINDOW:
            self._warned[user_id] = now
            return True
        return False


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    found: Deps = context.application.bot_data["deps"]
    return found


def admin_place(d: Deps, update: Update) -> bool:
    """An admin, in a private chat or the admin chat: the only place admin material may be shown."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or not d.settings.is_admin(user.id):
        return False
    return chat.type == "private" or (d.settings.admin_chat_id is not None and chat.id == d.settings.admin_chat_id)


def language(d: Deps, user: User | None) -> str:
    """The user's /lang choice, else their Telegram client's language, else the default."""
    stored = d.storage.language(user.id) if user is not None else None
    return pick_language(stored, user.language_code if user else None, d.settings.default_language)


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def send_html(message: Message, chunks: list[str], markup: InlineKeyboardMarkup | None = None) -> int | None:
    """Send chunks in order, in reply to `message` (quoting it in groups); the buttons go on the last one.
    Returns the id of the last message sent (None when there was nothing to send)."""
    sent = None
    for i, chunk in enumerate(chunks):
        sent = await send_reply(
            message,
            chunk,
            markup=markup if i == len(chunks) - 1 else None,
            quote=i == 0 and message.chat.type != "private",
        )
    return sent


async def send_reply(message: Message, html: str, *, markup: InlineKeyboardMarkup | None, quote: bool) -> int:
    """sendMessage in the chat (and forum topic) of `message`, as Message.reply_html does, through the same
    request path (defaults, rate limiter, retries); returns the new message's id. Telegram answers with the
    whole message sent, entities, buttons and quoted message included: python-telegram-bot's send_message
    parses that into a Message (about a tenth of a millisecond a card) of which only the id is used, so the
    request goes through Bot._post, as the intake's getUpdates does."""
    data: dict[str, Any] = {
        "chat_id": message.chat_id,
        "text": html,
        "parse_mode": ParseMode.HTML,
        "link_preview_options": NO_PREVIEW,
        "reply_markup": markup,
        "reply_parameters": ReplyParameters(message.message_id) if quote else None,
        # As Message.reply_*: a forum topic's id only makes sense for a message in a topic.
        "message_thread_id": message.message_thread_id if message.is_topic_message else None,
        "business_connection_id": message.business_connection_id,
    }
    result = await message.get_bot()._post("sendMessage", data)
    return int(result["message_id"])


def card_buttons(decision_id: int, clause: int | None, lang: str) -> InlineKeyboardMarkup:
    row = []
    if clause:
        row.append(InlineKeyboardButton(t("button.full_clause", lang), callback_data=f"fc:{decision_id}:{clause}"))
    row.append(InlineKeyboardButton(t("button.draft", lang), callback_data=f"dr:{decision_id}"))
    return InlineKeyboardMarkup(
        [row, [InlineKeyboardButton(t("button.wrong", lang), callback_data=f"wv:{decision_id}")]]
    )


def conditions_of(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in findings:
        if f.get("verdict") == "conditional":
            for c in f.get("conditions", []):
                out.setdefault(c["id"], c)
    return list(out.values())


def render_decision(d: Deps, decision: Decision, lang: str, source_note: str | None = None) -> list[str]:
    return pack(
        verdict_card(
            d.policy,
            lang,
            verdict=decision.verdict,
            category=decision.category,
            clauses=decision.clauses,
            findings=decision.findings,
            evidence=decision.evidence,
            conditions=conditions_of(decision.findings),
            needs_review=decision.needs_review,
            source_note=source_note,
        )
    )


async def screen_and_reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    source: str,
    forward_origin: dict[str, Any] | None = None,
    source_note: str | None = None,
) -> None:
    """Screen, commit the decision, then reply; a redelivered update is answered at most once."""
    d = deps(context)
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or chat is None:
        return
    lang = language(d, user)
    # An update handed over again after a crash finds its decision stored, and is not screened again; any other
    # redelivery is screened, and record_decision returns the decision stored the first time.
    decision = None
    if d.storage.may_be_decided(update.update_id):
        decision = await d.storage.decision_for_update(update.update_id)
    if decision is None:
        started = time.perf_counter()
        if len(text) > OFFLOAD_CHARS:
            screening = await asyncio.to_thread(d.engine.screen, text)
        else:
            screening = d.engine.screen(text)
        latency_ms = (time.perf_counter() - started) * 1000
        decision, _ = await d.storage.record_decision(
            update_id=update.update_id,
            chat_id=chat.id,
            chat_type=chat.type,
            user_id=user.id if user else None,
            language=lang,
            source=source,
            text=text,
            forward_origin=forward_origin,
            screening=screening,
            latency_ms=latency_ms,
        )
    if decision.replied_at is not None:
        log.info("update %s already answered (decision %s)", update.update_id, decision.id)
        return
    chunks = render_decision(d, decision, lang, source_note)
    markup = None
    if decision.verdict != "not_a_request":
        markup = card_buttons(decision.id, decision.clauses[0] if decision.clauses else None, lang)
    sent = await send_html(message, chunks, markup)
    try:
        await d.storage.mark_replied(decision.id, sent)
    except StorageError as exc:
        # The card is out: asking the user to send it again would be wrong.
        log.error("decision %s was answered, but that could not be recorded: %s", decision.id, exc)


async def reply_text(update: Update, text: str, html: bool = False) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(text if html else escape(text), parse_mode=ParseMode.HTML)
