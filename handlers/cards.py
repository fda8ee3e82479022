"""Formatting replies: verdict cards (HTML, every piece of user text escaped), drafts, clause texts, and
splitting at Telegram's 4,096-character limit without breaking a tag."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from typing import Any

from bot.messages import t
from policy import Policy

MAX_MESSAGE = 4096
EXCERPT = 60


def excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def evidence_quotes(evidence: list[dict[str, Any]], limit: int, skip: tuple[str, ...] = ()) -> list[str]:
    """The quoted words of the evidence, in order: each once, none that lies inside a longer quoted span
    ("下载" inside "下载某某APP"), and none from rules whose id starts with one of `skip`."""
    kept = [ev for ev in evidence if not str(ev.get("rule", "")).startswith(skip) and str(ev.get("text", "")).strip()]

    def inside(ev: dict[str, Any], other: dict[str, Any]) -> bool:
        s, e, os_, oe = ev.get("start"), ev.get("end"), other.get("start"), other.get("end")
        if isinstance(s, int) and isinstance(e, int) and isinstance(os_, int) and isinstance(oe, int):
            return os_ <= s and e <= oe and oe - os_ > e - s
        return False

    quoted: list[str] = []
    for ev in kept:
        piece = " ".join(str(ev["text"]).split())
        if piece not in quoted and not any(inside(ev, other) for other in kept):
            quoted.append(piece)
    return quoted[:limit]


def verdict_line(verdict: str, lang: str) -> str:
    return f"<b>{escape(t('verdict.' + verdict, lang))}</b>"


def clause_title(policy: Policy, n: int, lang: str) -> str:
    c = policy.clause(n)
    if c is None:
        return str(n)
    return c.title_zh if lang == "zh" else c.title_en


def verdict_card(
    policy: Policy,
    lang: str,
    *,
    verdict: str,
    category: str,
    clauses: list[int],
    findings: list[dict[str, Any]],
    evidence: list[dict[str, Any]],
    conditions: list[dict[str, Any]],
    needs_review: bool,
    source_note: str | None = None,
) -> list[str]:
    """The card as blocks of complete HTML; `pack` joins them into messages."""
    blocks = [verdict_line(verdict, lang)]
    if verdict == "not_a_request":
        blocks.append(escape(t("card.not_a_request", lang)))
        return blocks
    blocks.append(escape(t("card.category", lang, category=t("cat." + category, lang))))
    if clauses:
        lines = [t("card.clauses", lang)]
        for n in clauses:
            c = policy.clause(n)
            if c is None:
                continue
            lines.append("• " + escape(t("card.clause_line", lang, n=n, title=clause_title(policy, n, lang))))
            quote = c.quote_zh if lang == "zh" else c.quote_en
            lines.append(f"  <i>“{escape(quote)}”</i>")
        if lang == "zh":
            lines.append(escape(t("card.unofficial", lang)))
        blocks.append("\n".join(lines))
    if conditions:
        lines = [t("card.conditions", lang)]
        lines += ["• " + escape(c["zh"] if lang == "zh" else c["en"]) for c in conditions]
        blocks.append("\n".join(lines))
    quoted = evidence_quotes(evidence, 8, skip=("issuer.", "request.", "noise."))
    if quoted:
        blocks.append(t("card.evidence", lang) + "\n" + "\n".join(f"• “{escape(excerpt(q, 80))}”" for q in quoted))
    if len(findings) > 1:
        lines = [t("card.findings", lang)]
        for i, f in enumerate(findings, 1):
            cl = "/".join(str(n) for n in f.get("clauses", []))
            mark = t("verdict." + f["verdict"], lang).split(" ")[0]
            label = t("cat." + f["category"], lang)
            lines.append(f"{i}. {mark} {escape(label)} [{cl}] — {escape(excerpt(f.get('text', ''), 40))}")
        blocks.append("\n".join(lines))
    if needs_review:
        blocks.append(escape(t("card.review", lang)))
    if source_note:
        blocks.append(escape(source_note))
    return blocks


def pack(blocks: list[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Join blocks into messages of at most `limit` characters; a block that alone is too long is cut at
    line boundaries into pieces that each stay valid HTML (our lines never span tags)."""
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= limit:
            pieces.append(block)
        else:
            lines = [line if len(line) <= limit else _shorten(line, limit) for line in block.split("\n")]
            pieces.extend(_greedy(lines, "\n", limit))
    return _greedy(pieces, "\n\n", limit)


def _greedy(pieces: list[str], sep: str, limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{sep}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            if current:
                out.append(current)
            current = piece
    if current:
        out.append(current)
    return out


def _shorten(line: str, limit: int) -> str:
    """A single over-long line: drop its tags, cut it, and never leave half an HTML entity."""
    plain = re.sub(r"<[^>]*>", "", line)[: limit - 1]
    return re.sub(r"&[#a-zA-Z0-9]*$", "", plain) + "…"


def full_clause(policy: Policy, n: int, lang: str) -> list[str]:
    c = policy.clause(n)
    if c is None:
        return [escape(t("clause.usage", lang))]
    head = f"<b>{escape(t('card.clause_line', lang, n=n, title=clause_title(policy, n, lang)))}</b>"
    if lang == "zh":
        blocks = [
            head,
            escape(c.text_zh.strip()),
            escape(t("clause.unofficial", lang)),
            "<i>English</i>\n" + escape(c.text_en.strip()),
        ]
    else:
        blocks = [head, escape(c.text_en.strip()), escape(t("clause.unofficial", lang))]
    checks = c.checks_zh if lang == "zh" else c.checks_en
    if checks:
        blocks.append("\n".join("• " + escape(x) for x in checks))
    blocks.append(escape(c.may_zh if lang == "zh" else c.may_en))
    return pack(blocks)


def clause_table(policy: Policy, lang: str) -> list[str]:
    lines = [t("clauses.header", lang)]
    for sec in policy.opinion.section:
        lines.append(f"\n<b>{sec.id}. {escape(sec.title_zh if lang == 'zh' else sec.title_en)}</b>")
        for n in sec.clauses:
            lines.append(f"{n}. {escape(clause_title(policy, n, lang))}")
    return pack(["\n".join(lines)])


def draft_reply(
    policy: Policy,
    lang: str,
    *,
    verdict: str,
    clauses: list[int],
    text: str | None,
    conditions: list[dict[str, Any]],
    office: str | None,
    today: datetime | None = None,
) -> str:
    """A formal reply the principal can send back (plain text; escape before sending as HTML)."""
    doc = policy.opinion.document
    day = (today or datetime.now(UTC)).date()
    date = f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.strftime("%d %B %Y")
    n = clauses[0] if clauses else 1
    c = policy.clause(n)
    quote = (c.quote_zh if lang == "zh" else c.quote_en) if c else ""
    fields = {
        "office": office or t("draft.office", lang),
        "excerpt": excerpt(text or "", 40),
        "title": doc.title_zh if lang == "zh" else doc.title_en,
        "clause": n,
        "clause_title": clause_title(policy, n, lang),
        "quote": f"“{quote}”" if lang == "zh" else f'"{quote}"',
        "school": t("draft.school", lang),
        "date": date,
        "conditions": "\n".join(f"{i}. {c['zh'] if lang == 'zh' else c['en']}" for i, c in enumerate(conditions, 1)),
    }
    key = {"refuse": "draft.refuse", "conditional": "draft.conditional"}.get(verdict, "draft.allow")
    return t(key, lang, **fields)
