"""Files the admins receive: the decision exports (CSV, JSON lines), the labelled examples, and the weekly
chart (PNG).

The chart is drawn by matplotlib's Agg renderer without pyplot (no global state, safe in a worker thread),
with English labels in DejaVu Sans, the font matplotlib ships: it needs no CJK font on the machine.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from bot.messages import t
from bot.storage import Entry
from handlers.intake import origin_name

EXPORT_FIELDS = (
    "id", "created_at", "chat_type", "source", "language", "forward_origin", "engine_verdict", "engine_category",
    "engine_clauses", "confidence", "needs_review", "policy_version", "verdict", "category", "clauses", "reviewed",
    "disputes", "text",
)  # fmt: skip


def export_record(entry: Entry) -> dict[str, Any]:
    """One decision for export: the engine's verdict and the current one; no user or chat ids."""
    d, s = entry.decision, entry.state
    return {
        "id": d.id,
        "created_at": d.created_at,
        "chat_type": d.chat_type,
        "source": d.source,
        "language": d.language,
        "forward_origin": origin_name(d.forward_origin),
        "engine_verdict": d.verdict,
        "engine_category": d.category,
        "engine_clauses": list(d.clauses),
        "confidence": d.confidence,
        "needs_review": d.needs_review,
        "policy_version": d.policy_version,
        "verdict": s.verdict,
        "category": s.category,
        "clauses": list(s.clauses),
        "reviewed": s.reviewed,
        "disputes": s.disputes,
        "text": d.text,
    }


#: A cell starting with one of these is a formula to a spreadsheet program; texts come from anyone.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str | None) -> str:
    """The value as a cell a spreadsheet shows as text: a leading formula character gets an apostrophe."""
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value


def export_csv(entries: Iterable[Entry]) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese text correctly. Free
    texts that would start a formula are prefixed with an apostrophe; the JSON-lines export keeps them as
    they are."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        row = export_record(entry)
        for key in ("engine_clauses", "clauses"):
            row[key] = " ".join(str(n) for n in row[key])
        for key in ("needs_review", "reviewed"):
            row[key] = int(row[key])
        for key in ("text", "forward_origin"):
            row[key] = spreadsheet_safe(row[key])
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue().encode("utf-8-sig")


def export_jsonl(entries: Iterable[Entry]) -> bytes:
    lines = [json.dumps(export_record(e), ensure_ascii=False) for e in entries]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def labels_jsonl(records: Iterable[dict[str, Any]]) -> bytes:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def weekly_chart_png(weeks: list[tuple[str, str, int]], title: str) -> bytes:
    """Stacked bars: tasks per category (English names) for each week, weeks labelled by their Monday."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    week_labels = sorted({w for w, _, _ in weeks})[-52:]
    categories = sorted({c for w, c, _ in weeks if w in week_labels})
    counts = {(w, c): n for w, c, n in weeks}
    fig = Figure(figsize=(9, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
        "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
    ]  # fmt: skip
    positions = list(range(len(week_labels)))
    bottoms = [0] * len(week_labels)
    for i, category in enumerate(categories):
        heights = [counts.get((w, category), 0) for w in week_labels]
        ax.bar(
            positions, heights, bottom=bottoms, label=t("cat." + category, "en"), color=palette[i % len(palette)],
            width=0.7,
        )  # fmt: skip
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_xticks(
        positions,
        week_labels,
        rotation=45 if len(week_labels) > 6 else 0,
        ha="right" if len(week_labels) > 6 else "center",
    )
    ax.set_xlabel("week (Monday, UTC)", fontfamily="DejaVu Sans")
    ax.set_ylabel("tasks", fontfamily="DejaVu Sans")
    ax.set_title(title, fontfamily="DejaVu Sans")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if categories:
        # Listed top to bottom, as the segments are stacked.
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False
        )
    else:
        ax.text(0.5, 0.5, "no tasks", ha="center", va="center", transform=ax.transAxes)
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        label.set_fontfamily("DejaVu Sans")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
