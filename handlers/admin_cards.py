"""Formatting the admins' messages: the review card and its keyboards, the log page, one decision whole,
statistics and the admin-chat digest. HTML, every piece of stored text escaped; no clause logic."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import t
from bot.storage import Dispute, Entry, Review, Stats
from handlers.cards import clause_title, evidence_quotes, excerpt, pack
from handlers.core import conditions_of
from handlers.intake import origin_name
from policy import Policy

#: Verdicts as they travel in button data (64 bytes at most).
VERDICT_CODES = {"a": "allow", "r": "refuse", "c": "conditional", "n": "not_a_request"}
CODE_OF = {v: k for k, v in VERDICT_CODES.items()}
#: Characters of the notice shown on a review card (the card must stay one message: it is edited in place).
CARD_TEXT = 1200
CARD_LIMIT = 3600
LOG_PAGE = 10


def short(verdict: str, lang: str) -> str:
    return t("short." + verdict, lang)


def clause_list(clauses: list[int]) -> str:
    return ", ".join(str(n) for n in clauses) if clauses else "—"


def when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def chat_label(chat_type: str, lang: str) -> str:
    return t("chat." + chat_type, lang) if chat_type in ("private", "group", "supergroup", "channel") else chat_type


def _category(category: str, lang: str) -> str:
    return t("cat." + category, lang)


def _who(user_id: int | None, lang: str) -> str:
    return t("review.user", lang, user=user_id) if user_id is not None else t("review.someone", lang)


# ---------------------------------------------------------------------- the review card


def _verdict_blocks(lang: str, entry: Entry) -> list[str]:
    """What the engine said, the verdict after review when there is one, and the review flag."""
    d, s = entry.decision, entry.state
    blocks = [
        t(
            "review.engine", lang, verdict=escape(short(d.verdict, lang)), category=escape(_category(d.category, lang)),
            clauses=clause_list(d.clauses), confidence=f"{d.confidence:.2f}",
        )
    ]  # fmt: skip
    if s.reviewed:
        blocks.append(
            t(
                "review.current", lang, verdict=escape(short(s.verdict, lang)),
                category=escape(_category(s.category, lang)), clauses=clause_list(s.clauses),
            )
        )  # fmt: skip
    if d.needs_review:
        blocks.append(escape(t("review.flagged", lang)))
    return blocks


def review_card(
    lang: str,
    entry: Entry,
    disputes: list[Dispute],
    reviews: list[Review],
    pending: int,
    note: str | None = None,
    text_limit: int = CARD_TEXT,
) -> str:
    """One message: what was sent, what the engine said, the disputes and earlier reviews. `note` (HTML) is
    added at the end (the clause prompt, or the outcome once acted on)."""
    d = entry.decision
    meta = t("review.meta", lang, time=when(d.created_at) + " UTC", chat=chat_label(d.chat_type, lang), source=d.source)
    extras = [_who(d.user_id, lang)]
    if origin_name(d.forward_origin):
        extras.append(t("review.forwarded", lang, name=origin_name(d.forward_origin)))
    blocks = [
        t("review.header", lang, id=d.id, pending=pending),
        escape(meta + " · " + " · ".join(extras)),
    ]
    if d.text:
        body = d.text.strip()
        if len(body) > text_limit:
            body = body[: text_limit - 1] + "…"
        blocks.append(t("review.text", lang) + f"\n<blockquote expandable>{escape(body)}</blockquote>")
    else:
        blocks.append(t("review.text", lang) + "\n" + escape(t("history.forgotten", lang)))
    blocks += _verdict_blocks(lang, entry)
    quotes = evidence_quotes(d.evidence, 6)
    if quotes:
        blocks.append(t("review.evidence", lang) + "\n" + "\n".join(f"• “{escape(excerpt(q, 60))}”" for q in quotes))
    if disputes:
        lines = [t("review.disputes", lang)]
        for x in disputes[-3:]:
            line = t("review.dispute_line", lang, time=when(x.created_at), who=_who(x.user_id, lang),
                     verdict=short(x.proposed, lang))  # fmt: skip
            lines.append("• " + escape(line))
            if x.comment:
                lines.append(f"  <i>“{escape(excerpt(x.comment, 200))}”</i>")
        blocks.append("\n".join(lines))
    if reviews:
        lines = [t("review.history", lang)]
        for r in reviews[-3:]:
            lines.append("• " + escape(history_line(lang, r)))
            if r.reason:
                lines.append("  " + escape(t("review.reason", lang, reason=excerpt(r.reason, 150))))
        blocks.append("\n".join(lines))
    if note:
        blocks.append(note)
    card = "\n\n".join(blocks)
    if len(card) > CARD_LIMIT and text_limit > 200:
        return review_card(lang, entry, disputes, reviews, pending, note, text_limit=200)
    return card


def history_line(lang: str, r: Review) -> str:
    before = f"{short(r.verdict_before, lang)} [{clause_list(r.clauses_before)}]"
    after = f"{short(r.verdict_after, lang)} [{clause_list(r.clauses_after)}]"
    return t("review.history_line", lang, time=when(r.created_at), reviewer=r.reviewer_id, before=before, after=after)


def review_data(action: str, entry: Entry, *extra: str) -> str:
    """Button data of a review action: the decision and the latest review the card was drawn from."""
    return ":".join(["rv", action, str(entry.decision.id), str(entry.state.review_id or 0), *extra])


def review_keyboard(lang: str, entry: Entry) -> InlineKeyboardMarkup:
    current = entry.state.verdict
    rows = [[InlineKeyboardButton(t("button.confirm", lang), callback_data=review_data("c", entry))]]
    for verdict, code in CODE_OF.items():
        if verdict == current and verdict == "not_a_request":
            continue
        label = (
            t("button.change_clause", lang)
            if verdict == current
            else t("button.change_to", lang, verdict=short(verdict, lang))
        )
        rows.append([InlineKeyboardButton(label, callback_data=review_data("v", entry, code))])
    rows.append([InlineKeyboardButton(t("button.skip", lang), callback_data=f"rv:s:{entry.decision.id}")])
    return InlineKeyboardMarkup(rows)


def clause_keyboard(
    policy: Policy, lang: str, entry: Entry, verdict: str, suggestions: list[int]
) -> InlineKeyboardMarkup:
    code = CODE_OF[verdict]
    rows = []
    for n in suggestions:
        title = excerpt(clause_title(policy, n, lang), 18)
        label = t("button.clause", lang, n=n, title=title)
        rows.append([InlineKeyboardButton(label, callback_data=review_data("k", entry, code, str(n)))])
    rows.append([InlineKeyboardButton(t("button.back", lang), callback_data=review_data("b", entry))])
    return InlineKeyboardMarkup(rows)


def clause_prompt(lang: str, verdict: str) -> str:
    return t("review.pick_clause", lang, verdict=escape(short(verdict, lang)))


def review_outcome(lang: str, review: Review) -> str:
    if review.action == "confirm":
        text = t("review.confirmed", lang, reviewer=review.reviewer_id, verdict=short(review.verdict_after, lang))
    else:
        text = t(
            "review.changed", lang, reviewer=review.reviewer_id, verdict=short(review.verdict_after, lang),
            clauses=clause_list(review.clauses_after),
        )  # fmt: skip
    if review.reason:
        text += "\n" + t("review.reason", lang, reason=excerpt(review.reason, 300))
    return f"<b>{escape(text)}</b>"


def told_text(lang: str, entry: Entry, review: Review) -> str:
    """What a disputing user is told (plain text)."""
    verdict = short(review.verdict_after, lang)
    if review.action == "confirm":
        outcome = t("review.told_confirmed", lang, verdict=verdict)
    elif not review.clauses_after:
        outcome = t("review.told_not_a_request", lang, verdict=verdict)
    else:
        outcome = t("review.told_changed", lang, verdict=verdict, clauses="、".join(map(str, review.clauses_after)))
    quoted = excerpt(entry.decision.text, 40) if entry.decision.text else t("history.forgotten", lang)
    return t("review.told", lang, id=entry.decision.id, excerpt=quoted, outcome=outcome)


# ---------------------------------------------------------------------- the log and one decision


def log_line(lang: str, entry: Entry) -> str:
    d, s = entry.decision, entry.state
    mark = short(d.verdict, lang).split(" ")[0]
    if s.verdict != d.verdict:
        mark += "→" + short(s.verdict, lang).split(" ")[0]
    flags = ("✎" if s.reviewed else "") + ("❓" if s.disputes else "") + ("🔎" if s.pending else "")
    text = excerpt(d.text, 40) if d.text else t("history.forgotten", lang)
    head = f"#{d.id} {when(d.created_at)[5:]} {mark} {_category(s.category, lang)} [{clause_list(s.clauses)}]"
    return escape(f"{head} {flags} — {text}".replace("  ", " "))


def log_text(lang: str, entries: list[Entry], page: int, pages: int, total: int, filter_name: str | None) -> str:
    shown = t("log.filter", lang, name=escape(filter_name)) if filter_name else ""
    lines = [t("log.header", lang, filter=shown, page=page, pages=pages, total=total)]
    lines += [log_line(lang, e) for e in entries]
    lines.append(escape(t("log.marks", lang)))
    return "\n".join(lines)


def log_keyboard(lang: str, token: str, page: int, pages: int) -> InlineKeyboardMarkup | None:
    row = []
    if page > 1:
        row.append(InlineKeyboardButton(t("button.previous", lang), callback_data=f"lg:{token}:{page - 1}"))
    if page < pages:
        row.append(InlineKeyboardButton(t("button.next", lang), callback_data=f"lg:{token}:{page + 1}"))
    return InlineKeyboardMarkup([row]) if row else None


def show_blocks(policy: Policy, lang: str, entry: Entry, disputes: list[Dispute], reviews: list[Review]) -> list[str]:
    """One decision whole, as messages of at most 4,096 characters."""
    d = entry.decision
    none = t("show.none", lang)
    origin = origin_name(d.forward_origin)
    meta = t(
        "show.meta", lang, time=d.created_at, chat=chat_label(d.chat_type, lang),
        chat_id=d.chat_id if d.chat_id is not None else none,
        user=d.user_id if d.user_id is not None else none,
        source=d.source + (" · " + t("review.forwarded", lang, name=origin) if origin else ""),
        language=d.language, policy=d.policy_version, confidence=f"{d.confidence:.3f}", latency=f"{d.latency_ms:.1f}",
    )  # fmt: skip
    blocks = [t("show.header", lang, id=d.id), escape(meta)]
    text = d.text.strip() if d.text else t("history.forgotten", lang)
    blocks.append(t("review.text", lang) + "\n" + "\n".join(escape(line) for line in text.split("\n")))
    blocks += _verdict_blocks(lang, entry)
    for n in d.clauses:
        blocks.append("• " + escape(t("card.clause_line", lang, n=n, title=clause_title(policy, n, lang))))
    conditions = conditions_of(d.findings)
    if conditions:
        lines = [t("card.conditions", lang)] + ["• " + escape(c["zh"] if lang == "zh" else c["en"]) for c in conditions]
        blocks.append("\n".join(lines))
    if d.evidence:
        lines = [t("review.evidence", lang)]
        for ev in d.evidence:
            lines.append(
                f"• “{escape(excerpt(str(ev.get('text', '')), 80))}” <code>{escape(str(ev.get('rule', '')))}</code>"
            )
        blocks.append("\n".join(lines))
    if len(d.findings) > 1:
        lines = [t("card.findings", lang)]
        for i, f in enumerate(d.findings, 1):
            cl = clause_list([int(n) for n in f.get("clauses", [])])
            label = f"{short(f['verdict'], lang)} {_category(f['category'], lang)} [{cl}]"
            item = f"{i}. {label} — {excerpt(f.get('text', ''), 40)}"
            lines.append(escape(item))
        blocks.append("\n".join(lines))
    if disputes:
        lines = [t("review.disputes", lang)]
        for x in disputes:
            line = t("review.dispute_line", lang, time=when(x.created_at), who=_who(x.user_id, lang),
                     verdict=short(x.proposed, lang))  # fmt: skip
            lines.append("• " + escape(line))
            if x.comment:
                lines.append(f"  <i>“{escape(excerpt(x.comment, 500))}”</i>")
        blocks.append("\n".join(lines))
    if reviews:
        lines = [t("review.history", lang)]
        for r in reviews:
            lines.append("• " + escape(history_line(lang, r)))
            if r.reason:
                lines.append("  " + escape(t("review.reason", lang, reason=r.reason)))
        blocks.append("\n".join(lines))
    return pack(blocks)


# ---------------------------------------------------------------------- statistics and the admin chat


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def stats_text(lang: str, stats: Stats, period: str, digest: bool = False) -> str:
    head = "stats.digest_header" if digest else "stats.header"
    blocks = [t(head, lang, period=escape(t("period." + period, lang)), total=stats.total)]
    lines = [t("stats.by_verdict", lang)]
    lines += [f"{escape(short(v, lang))}: {n} ({_share(n, stats.total)})" for v, n in stats.by_verdict.items()]
    blocks.append("\n".join(lines))
    lines = [t("stats.by_category", lang)]
    lines += [f"{escape(_category(c, lang))}: {n}" for c, n in stats.by_category.items()]
    blocks.append("\n".join(lines))
    blocks.append(
        escape(
            t(
                "stats.rates", lang, review=stats.needs_review, review_share=_share(stats.needs_review, stats.total),
                disputed=stats.disputed, dispute_rate=_share(stats.disputed, stats.total), reviewed=stats.reviewed,
                agreed=stats.agreed, agreement=_share(stats.agreed, stats.reviewed),
            )
        )
    )  # fmt: skip
    for key, rows in (("stats.origins", stats.refusable_origins), ("stats.issuers", stats.refusable_issuers)):
        if rows:
            blocks.append("\n".join([t(key, lang)] + [f"{escape(excerpt(name, 40))}: {n}" for name, n in rows]))
    return "\n\n".join(blocks)


def news_message(lang: str, items: list[tuple[Entry, str]], limit: int = 8) -> tuple[str, InlineKeyboardMarkup]:
    """Several new items for the admin chat in one message, with a button to open each."""
    lines = [t("admin.news_header", lang, n=len(items))]
    buttons = []
    for entry, reason in items[:limit]:
        lines.append(f"{escape(t('admin.reason.' + reason, lang))} · {log_line(lang, entry)}")
        buttons.append(
            InlineKeyboardButton(
                t("button.open_review", lang, id=entry.decision.id), callback_data=f"rv:o:{entry.decision.id}"
            )
        )
    if len(items) > limit:
        lines.append(escape(t("admin.more", lang, n=len(items) - limit)))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return "\n".join(lines), InlineKeyboardMarkup(rows)
