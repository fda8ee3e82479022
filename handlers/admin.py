"""The admins' side: the review queue, the log, one decision whole, statistics with a chart, exports, the
admin chat and the scheduled jobs (admin-chat posts, the weekly digest, the retention purge).

Every admin command and button checks when it is handled that the user is in ADMIN_IDS and that the chat is
a private chat or the admin chat (`admin_place`); anyone else gets a short "not permitted" and nothing
changes. Button data is parsed strictly and carries the latest review the card was drawn from, so a stale
or double press writes nothing.

Button data (at most 64 bytes):
    rv:c:ID:REV           confirm the current verdict
    rv:v:ID:REV:V         change to verdict V (a, r, c, n): asks for the clause, or records `n` at once
    rv:k:ID:REV:V:N       change to verdict V citing clause N (1-17)
    rv:b:ID:REV           back from the clause question
    rv:s:ID               skip: the next pending decision after ID
    rv:o:ID               open the review card of decision ID
    lg:FILTER:PAGE        a page of the log (FILTER: all, reviewed, disputed, a verdict or a category)
REV is the id of the decision's latest review when the card was drawn, 0 when it had none.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from html import escape
from time import monotonic

from telegram import Bot, BotCommandScopeChat, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.labels import CHANGE_CLAUSES, category_for, label_record, suggested_clauses
from bot.logs import redact
from bot.messages import t
from bot.storage import AdminRepository, Dispute, Entry, LogFilter, Review, StorageError, days_ago
from handlers.admin_cards import (
    LOG_PAGE,
    VERDICT_CODES,
    clause_keyboard,
    clause_prompt,
    log_keyboard,
    log_text,
    news_message,
    review_card,
    review_keyboard,
    review_outcome,
    short,
    show_blocks,
    stats_text,
    told_text,
)
from handlers.admin_files import export_csv, export_jsonl, labels_jsonl, weekly_chart_png
from handlers.commands import bot_commands
from handlers.core import Deps, admin_place, deps, language, reply_text, send_html
from policy.models import CATEGORIES, VERDICTS

log = logging.getLogger(__name__)

PERIODS: dict[str, int | None] = {"7d": 7, "30d": 30, "all": None}
#: The admin chat gets at most one message per interval: three a minute, well under Telegram's 20 per group.
ADMIN_CHAT_INTERVAL = 20.0
#: 09:00 in Beijing on Mondays (python-telegram-bot counts days from Sunday = 0).
DIGEST_TIME = time(1, 0, tzinfo=UTC)
DIGEST_DAYS = (1,)
RETENTION_FIRST = timedelta(minutes=1)
#: Failures are posted to the admin chat at most once a minute per kind; the next post counts the rest.
ALERT_INTERVAL = 60.0
JOB_ADMIN_CHAT = "admin-chat"
JOB_DIGEST = "weekly-digest"
JOB_RETENTION = "retention"
#: user_data key: the review waiting for a typed clause.
AWAITING = "awaiting_review"
MAX_REASON = 500

_ID = r"[0-9]{1,12}"
BUTTON = re.compile(
    rf"^rv:(?:(?P<act>[cb]):(?P<id1>{_ID}):(?P<rev1>{_ID})"
    rf"|v:(?P<id2>{_ID}):(?P<rev2>{_ID}):(?P<code2>[arcn])"
    rf"|k:(?P<id3>{_ID}):(?P<rev3>{_ID}):(?P<code3>[arc]):(?P<clause>[0-9]{{1,2}})"
    rf"|(?P<nav>[so]):(?P<id4>{_ID}))$"
)
LOG_BUTTON = re.compile(r"^lg:(?P<token>[a-z_]{1,24}):(?P<page>[0-9]{1,6})$")
TYPED = re.compile(r"^\s*第?\s*(\d{1,2})\s*条?((?:\s*[,，、]\s*第?\s*\d{1,2}\s*条?)*)\s*[:：,，。.]?\s*(.*)$", re.S)


def repo(d: Deps) -> AdminRepository:
    return AdminRepository(d.storage)


@dataclass(frozen=True)
class Press:
    """A parsed review button."""

    action: str  # c, v, k, b, s, o
    decision_id: int
    rev: int | None = None
    verdict: str | None = None
    clause: int | None = None


def parse_press(data: str) -> Press | None:
    m = BUTTON.match(data)
    if m is None:
        return None
    g = m.groupdict()
    if g["act"]:
        return Press(g["act"], int(g["id1"]), int(g["rev1"]))
    if g["id2"]:
        return Press("v", int(g["id2"]), int(g["rev2"]), VERDICT_CODES[g["code2"]])
    if g["id3"]:
        return Press("k", int(g["id3"]), int(g["rev3"]), VERDICT_CODES[g["code3"]], int(g["clause"]))
    return Press(g["nav"], int(g["id4"]))


def parse_filter(token: str) -> tuple[LogFilter, str | None] | None:
    if token == "all":
        return "all", None
    if token == "reviewed":
        return "reviewed", None
    if token == "disputed":
        return "disputed", None
    if token in VERDICTS:
        return "verdict", token
    if token in CATEGORIES:
        return "category", token
    return None


async def _authorised(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Deps, str] | None:
    """The deps and the admin's language, or None after telling a non-admin (or a wrong chat) no."""
    d = deps(context)
    lang = language(d, update.effective_user)
    if admin_place(d, update):
        return d, lang
    if update.callback_query is not None:
        await update.callback_query.answer(t("not_permitted", lang), show_alert=True)
    else:
        await reply_text(update, t("not_permitted", lang))
    return None


async def _edit(bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML, reply_markup=markup,
            disable_web_page_preview=True,
        )  # fmt: skip
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _card(d: Deps, lang: str, entry: Entry, note: str | None = None) -> str:
    r = repo(d)
    disputes = await d.storage.disputes_for(entry.decision.id)
    reviews = await r.reviews_for(entry.decision.id)
    return review_card(lang, entry, disputes, reviews, await r.count_pending(), note)


async def send_card(bot: Bot, d: Deps, chat_id: int, lang: str, entry: Entry) -> None:
    await bot.send_message(
        chat_id, await _card(d, lang, entry), parse_mode=ParseMode.HTML, reply_markup=review_keyboard(lang, entry),
        disable_web_page_preview=True,
    )  # fmt: skip


async def send_next(bot: Bot, d: Deps, chat_id: int, lang: str, after_id: int) -> None:
    """The next decision in the queue after `after_id`, or where the queue stands."""
    r = repo(d)
    entry = await r.next_pending(after_id)
    if entry is not None:
        await send_card(bot, d, chat_id, lang, entry)
        return
    pending = await r.count_pending()
    text = t("review.end", lang, n=pending) if pending else t("review.empty", lang)
    await bot.send_message(chat_id, text)


# ---------------------------------------------------------------------- commands


async def review(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/review: the oldest decision awaiting review, one at a time."""
    ok = await _authorised(update, context)
    chat = update.effective_chat
    if ok is None or chat is None:
        return
    d, lang = ok
    await send_next(context.bot, d, chat.id, lang, after_id=0)


async def log_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/log [filter] [page]: recent decisions, newest first, ten a page."""
    ok = await _authorised(update, context)
    chat = update.effective_chat
    if ok is None or chat is None:
        return
    d, lang = ok
    token, page = "all", 1
    for arg in (a.strip().lower() for a in context.args or []):
        if arg.isdigit() and len(arg) <= 6:
            page = max(1, int(arg))
        elif parse_filter(arg) is not None:
            token = arg
        else:
            await reply_text(update, t("log.usage", lang))
            return
    text, markup = await _log_page(d, lang, token, page)
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _log_page(d: Deps, lang: str, token: str, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    parsed = parse_filter(token)
    assert parsed is not None
    kind, value = parsed
    r = repo(d)
    entries, total = await r.log_page(kind, value, (page - 1) * LOG_PAGE, LOG_PAGE)
    pages = max(1, math.ceil(total / LOG_PAGE))
    if page > pages:
        page = pages
        entries, total = await r.log_page(kind, value, (page - 1) * LOG_PAGE, LOG_PAGE)
    if total == 0:
        return escape(t("log.empty", lang)), None
    if kind == "verdict" and value:
        name: str | None = short(value, lang)
    elif kind == "category" and value:
        name = t("cat." + value, lang)
    else:
        name = None if kind == "all" else kind
    return log_text(lang, entries, page, pages, total, name), log_keyboard(lang, token, page, pages)


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/show ID: one decision whole, with its disputes and reviews."""
    ok = await _authorised(update, context)
    message = update.effective_message
    if ok is None or message is None:
        return
    d, lang = ok
    args = [a.lstrip("#") for a in context.args or []]
    if len(args) != 1 or not args[0].isdigit() or len(args[0]) > 12:
        await reply_text(update, t("show.usage", lang))
        return
    entry = await repo(d).entry(int(args[0]))
    if entry is None:
        await reply_text(update, t("not_found", lang))
        return
    disputes = await d.storage.disputes_for(entry.decision.id)
    reviews = await repo(d).reviews_for(entry.decision.id)
    button = InlineKeyboardButton(
        t("button.open_review", lang, id=entry.decision.id), callback_data=f"rv:o:{entry.decision.id}"
    )
    await send_html(message, show_blocks(d.policy, lang, entry, disputes, reviews), InlineKeyboardMarkup([[button]]))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [7d|30d|all]: counts, rates, sources, and the weekly chart."""
    ok = await _authorised(update, context)
    chat = update.effective_chat
    if ok is None or chat is None:
        return
    d, lang = ok
    args = [a.lower() for a in context.args or []]
    period = args[0] if args else "30d"
    if len(args) > 1 or period not in PERIODS:
        await reply_text(update, t("stats.usage", lang))
        return
    await send_stats(context.bot, d, chat.id, lang, period, digest=False)


async def send_stats(bot: Bot, d: Deps, chat_id: int, lang: str, period: str, digest: bool) -> None:
    days = PERIODS[period]
    since = days_ago(days) if days is not None else None
    r = repo(d)
    figures = await r.stats(since)
    if figures.total == 0:
        await bot.send_message(chat_id, t("stats.none", lang, period=t("period." + period, lang)))
        return
    await bot.send_message(chat_id, stats_text(lang, figures, period, digest), parse_mode=ParseMode.HTML)
    weeks = await r.weekly_counts(since)
    title = f"Tasks per category per week ({t('period.' + period, 'en')})"
    png = await asyncio.to_thread(weekly_chart_png, weeks, title)
    await bot.send_photo(
        chat_id, photo=png, caption=t("stats.chart_caption", lang, period=t("period." + period, lang)),
        filename=f"jianfu-{period}.png",
    )  # fmt: skip


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export [csv|jsonl] [7d|30d|all], or /export labels: the decisions, or the reviewed examples."""
    ok = await _authorised(update, context)
    chat = update.effective_chat
    if ok is None or chat is None:
        return
    d, lang = ok
    args = [a.lower() for a in context.args or []]
    day = datetime.now(UTC).strftime("%Y%m%d")
    if args == ["labels"]:
        data, n, skipped = await _labels(d)
        if n == 0:
            await reply_text(update, t("export.none", lang))
            return
        await context.bot.send_document(
            chat.id, document=data, filename=f"jianfu-labels-{day}.jsonl",
            caption=t("export.labels_caption", lang, n=n, skipped=skipped),
        )  # fmt: skip
        return
    fmt = next((a for a in args if a in ("csv", "jsonl")), "csv")
    period = next((a for a in args if a in PERIODS), "30d")
    if len(args) > 2 or any(a not in ("csv", "jsonl", *PERIODS) for a in args):
        await reply_text(update, t("export.usage", lang))
        return
    days = PERIODS[period]
    entries = await repo(d).entries_since(days_ago(days) if days is not None else None)
    if not entries:
        await reply_text(update, t("export.none", lang))
        return
    data = export_csv(entries) if fmt == "csv" else export_jsonl(entries)
    await context.bot.send_document(
        chat.id, document=data, filename=f"jianfu-decisions-{period}-{day}.{fmt}",
        caption=t("export.caption", lang, n=len(entries), period=t("period." + period, lang)),
    )  # fmt: skip


async def _labels(d: Deps) -> tuple[bytes, int, int]:
    reviewed = await repo(d).reviewed()

    def build() -> tuple[bytes, int, int]:
        records, skipped = [], 0
        for decision, rev in reviewed:
            # The label's `lang` is the language of the text itself, as the engine reads it.
            lang = d.engine.screen(decision.text).language if decision.text else "zh"
            record = label_record(decision, rev, lang)
            if record is None:
                skipped += 1
            else:
                records.append(record)
        return labels_jsonl(records), len(records), skipped

    return await asyncio.to_thread(build)


# ---------------------------------------------------------------------- buttons


async def on_admin_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Review and log buttons. Checked as they are handled: admin, right chat, well-formed data."""
    query = update.callback_query
    if query is None:
        return
    ok = await _authorised(update, context)
    if ok is None:
        return
    d, lang = ok
    message = query.message
    if message is None:
        await query.answer(t("not_permitted", lang), show_alert=True)
        return
    data = query.data or ""
    log_match = LOG_BUTTON.match(data)
    if log_match is not None:
        if parse_filter(log_match["token"]) is None:
            await query.answer(t("not_permitted", lang), show_alert=True)
            return
        await query.answer()
        text, markup = await _log_page(d, lang, log_match["token"], max(1, int(log_match["page"])))
        await _edit(context.bot, message.chat.id, message.message_id, text, markup)
        return
    press = parse_press(data)
    if press is None:
        await query.answer(t("not_permitted", lang), show_alert=True)
        return
    if context.user_data is not None:
        context.user_data.pop(AWAITING, None)
    entry = await repo(d).entry(press.decision_id)
    if entry is None:
        await query.answer(t("not_found", lang), show_alert=True)
        return
    chat_id, message_id = message.chat.id, message.message_id
    if press.action == "o":
        await query.answer()
        await send_card(context.bot, d, chat_id, lang, entry)
        return
    if press.action == "s":
        await query.answer()
        await _edit(context.bot, chat_id, message_id, await _card(d, lang, entry, t("review.skipped", lang)), None)
        await send_next(context.bot, d, chat_id, lang, after_id=entry.decision.id)
        return
    if (entry.state.review_id or 0) != press.rev:
        await _stale(query, d, lang, entry)
        return
    if press.action == "b":
        await query.answer()
        await _edit(context.bot, chat_id, message_id, await _card(d, lang, entry), review_keyboard(lang, entry))
    elif press.action == "c":
        await _press_record(query, context, d, lang, entry, entry.state.verdict, entry.state.clauses)
    elif press.action == "v" and press.verdict == "not_a_request":
        await _press_record(query, context, d, lang, entry, "not_a_request", [])
    elif press.action == "v" and press.verdict is not None:
        await query.answer()
        if context.user_data is not None:
            context.user_data[AWAITING] = {
                "decision": entry.decision.id, "rev": press.rev, "verdict": press.verdict, "chat": chat_id,
                "message": message_id,
            }  # fmt: skip
        keyboard = clause_keyboard(
            d.policy, lang, entry, press.verdict, suggested_clauses(d.policy, entry, press.verdict)
        )
        await _edit(
            context.bot, chat_id, message_id, await _card(d, lang, entry, clause_prompt(lang, press.verdict)), keyboard
        )
    elif (
        press.action == "k"
        and press.verdict is not None
        and press.clause is not None
        and press.clause in CHANGE_CLAUSES
    ):
        await _press_record(query, context, d, lang, entry, press.verdict, [press.clause])
    else:
        await query.answer(t("not_permitted", lang), show_alert=True)


async def _stale(query: CallbackQuery, d: Deps, lang: str, entry: Entry) -> None:
    await query.answer(t("review.stale", lang), show_alert=True)
    message = query.message
    if message is not None:
        await _edit(
            query.get_bot(),
            message.chat.id,
            message.message_id,
            await _card(d, lang, entry),
            review_keyboard(lang, entry),
        )


async def _record(
    context: ContextTypes.DEFAULT_TYPE,
    d: Deps,
    entry: Entry,
    reviewer_id: int,
    verdict: str,
    clauses: list[int],
    reason: str | None,
) -> tuple[Review, Entry] | None:
    """Append the review (a confirmation when verdict and clauses are the current ones) and tell the users
    whose disputes it answers. None when the card was stale: nothing was written."""
    s = entry.state
    confirm = verdict == s.verdict and list(clauses) == list(s.clauses)
    category = s.category if confirm else category_for(d.policy, verdict, clauses)
    if category is None:
        return None
    result = await repo(d).add_review(
        entry.decision.id, reviewer_id, action="confirm" if confirm else "change", verdict=verdict,
        category=category, clauses=clauses, reason=reason, expected_review_id=s.review_id,
    )  # fmt: skip
    if result is None:
        return None
    written, answered = result
    fresh = await repo(d).entry(entry.decision.id) or entry
    await tell_disputers(context.bot, d, fresh, written, answered)
    return written, fresh


async def _close_and_next(
    context: ContextTypes.DEFAULT_TYPE, d: Deps, lang: str, where: tuple[int, int], written: Review, fresh: Entry
) -> None:
    """The card shows the outcome and loses its buttons; the next decision in the queue follows."""
    await _edit(context.bot, where[0], where[1], await _card(d, lang, fresh, review_outcome(lang, written)), None)
    await send_next(context.bot, d, where[0], lang, after_id=fresh.decision.id)


async def _press_record(
    query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, d: Deps, lang: str, entry: Entry, verdict: str,
    clauses: list[int],
) -> None:  # fmt: skip
    done = await _record(context, d, entry, query.from_user.id, verdict, clauses, None)
    if done is None:
        await _stale(query, d, lang, await repo(d).entry(entry.decision.id) or entry)
        return
    await query.answer()
    if query.message is not None:
        await _close_and_next(context, d, lang, (query.message.chat.id, query.message.message_id), *done)


async def tell_disputers(bot: Bot, d: Deps, entry: Entry, written: Review, answered: list[Dispute]) -> None:
    """Each user whose dispute this review answers is told, once, in the language they disputed in (or
    their /lang choice since), what was decided."""
    languages = {x.user_id: x.language for x in answered if x.user_id is not None}
    for user_id, disputed_in in languages.items():
        lang = d.storage.language(user_id) or disputed_in or d.settings.default_language
        try:
            await bot.send_message(user_id, told_text(lang, entry, written))
        except TelegramError as exc:
            log.info("could not tell user %s about review %s: %s", user_id, written.id, exc)


async def typed_clause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reviewer types the clause (and a reason) after choosing a new verdict. Runs before the other
    message handlers; does nothing unless that reviewer is being asked, here, for a clause."""
    message = update.effective_message
    user = update.effective_user
    pending = context.user_data.get(AWAITING) if context.user_data is not None else None
    if message is None or user is None or not pending or message.text is None or message.forward_origin is not None:
        return
    if message.chat.id != pending["chat"]:
        return
    d = deps(context)
    lang = language(d, user)
    if not admin_place(d, update):
        if context.user_data is not None:
            context.user_data.pop(AWAITING, None)
        return
    m = TYPED.match(message.text)
    clauses = [int(n) for n in re.findall(r"\d{1,2}", (m.group(1) + m.group(2)) if m else "")]
    if m is None or not clauses or any(n not in CHANGE_CLAUSES for n in clauses):
        await reply_text(update, t("review.typed_usage", lang))
        raise ApplicationHandlerStop
    reason = " ".join(m.group(3).split())[:MAX_REASON] or None
    if context.user_data is not None:
        context.user_data.pop(AWAITING, None)
    entry = await repo(d).entry(int(pending["decision"]))
    if entry is None:
        await reply_text(update, t("not_found", lang))
        raise ApplicationHandlerStop
    if (entry.state.review_id or 0) != pending["rev"]:
        await reply_text(update, t("review.stale", lang))
        await send_card(context.bot, d, message.chat.id, lang, entry)
        raise ApplicationHandlerStop
    done = await _record(context, d, entry, user.id, str(pending["verdict"]), clauses, reason)
    if done is None:
        await reply_text(update, t("review.stale", lang))
        raise ApplicationHandlerStop
    await _close_and_next(context, d, lang, (int(pending["chat"]), int(pending["message"])), *done)
    raise ApplicationHandlerStop


# ---------------------------------------------------------------------- the admin chat and the jobs


async def post_news(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: what arrived for review since the last run goes to the admin chat, in one message."""
    d = deps(context)
    chat_id = d.settings.admin_chat_id
    marks = context.application.bot_data.get("admin_marks")
    if chat_id is None or marks is None:
        return
    news = await repo(d).news(*marks)
    context.application.bot_data["admin_marks"] = (news.decision_mark, news.dispute_mark)
    if not news.items:
        return
    lang = d.settings.default_language
    if len(news.items) == 1:
        await send_card(context.bot, d, chat_id, lang, news.items[0][0])
        return
    text, markup = news_message(lang, news.items)
    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def alert_admins(bot: Bot, d: Deps, error: BaseException) -> None:
    """Tell the admin chat (if there is one) that handling failed: the database, or something unexpected."""
    chat_id = d.settings.admin_chat_id
    if chat_id is None:
        return
    kind = "alert.storage" if isinstance(error, StorageError) else "alert.error"
    now = monotonic()
    last, held = d.alerts.get(kind, (-math.inf, 0))
    if now - last < ALERT_INTERVAL:
        d.alerts[kind] = (last, held + 1)
        return
    d.alerts[kind] = (now, 0)
    lang = d.settings.default_language
    summary = redact(f"{type(error).__name__}: {error}"[:300], [bot.token])
    more = t("alert.more", lang, n=held) if held else ""
    try:
        await bot.send_message(chat_id, t(kind, lang, error=summary, more=more))
    except TelegramError as exc:
        log.warning("could not post the alert to the admin chat (%s)", type(exc).__name__)


async def weekly_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: the week's statistics and chart in the admin chat."""
    d = deps(context)
    if d.settings.admin_chat_id is not None:
        await send_stats(context.bot, d, d.settings.admin_chat_id, d.settings.default_language, "7d", digest=True)


async def purge_expired(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: erase the texts older than RETENTION_DAYS; the verdict rows stay."""
    d = deps(context)
    purged = await d.storage.purge_texts(days_ago(d.settings.retention_days))
    if purged:
        log.info("retention: erased the texts of %d decisions older than %d days", purged, d.settings.retention_days)


def schedule_jobs(app: Application) -> None:
    settings = app.bot_data["deps"].settings
    jobs = app.job_queue
    if jobs is None:
        log.warning("no job queue (install python-telegram-bot[job-queue]): no retention purge, digest or admin chat")
        return
    jobs.run_repeating(purge_expired, interval=timedelta(days=1), first=RETENTION_FIRST, name=JOB_RETENTION)
    if settings.admin_chat_id is not None:
        jobs.run_repeating(post_news, interval=ADMIN_CHAT_INTERVAL, first=ADMIN_CHAT_INTERVAL, name=JOB_ADMIN_CHAT)
        jobs.run_daily(weekly_digest, time=DIGEST_TIME, days=DIGEST_DAYS, name=JOB_DIGEST)


async def on_startup(app: Application) -> None:
    """After the storage opened: what is already in the log is not news; the admins get their menus."""
    d: Deps = app.bot_data["deps"]
    app.bot_data["admin_marks"] = await repo(d).marks()
    chats = [*d.settings.admin_ids, *([d.settings.admin_chat_id] if d.settings.admin_chat_id is not None else [])]
    for chat_id in chats:
        for lang, code in (("zh", None), ("en", "en")):
            try:
                await app.bot.set_my_commands(
                    bot_commands(lang, admin=True), scope=BotCommandScopeChat(chat_id), language_code=code
                )
            except TelegramError as exc:
                # Telegram knows a private chat only once the admin has started the bot.
                log.info("no admin command menu for chat %s: %s", chat_id, exc)
