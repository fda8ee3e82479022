"""Speed, accuracy and memory of bot/reading. Prints figures; asserts nothing (these machines are noisy).

    .venv/bin/python tests/bench/bench_reading.py            (or: make bench)

On the notices rendered by tests/reading/reading_samples.py (a clean notice, a chat screenshot, a
phone-sized JPEG, a scanned PDF page): OCR time per picture, cold and warm, and the character error
rate against the rendered text; time to extract .docx and PDF text layers; peak resident memory of
a process reading pictures, both in-process and as an OcrPool worker (what the bot runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import resource
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "reading"))

import reading_samples as rs  # noqa: E402

from bot.reading import Extracted, OcrPool, ReadError, ReadLimits, extract_text  # noqa: E402

LIMITS = ReadLimits()
ROUNDS = 3


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _chars(text: str) -> str:
    """Compared characters: NFKC (full-width forms folded), no whitespace."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(truth: str, read: str) -> float:
    t = _chars(truth)
    return edit_distance(t, _chars(read)) / max(len(t), 1)


def timed(fn: Callable[[], Extracted]) -> tuple[float, Extracted]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


def bench_pool(pictures: list[rs.Sample]) -> None:
    async def run() -> None:
        pool = OcrPool(LIMITS, workers=1)
        start = time.perf_counter()
        await pool.start()
        print(f"  worker start (spawn, imports, models)   {ms(time.perf_counter() - start)}")
        for sample in pictures:
            times = []
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                await pool.read(sample.data, sample.file_name, sample.mime_type, timeout=120)
                times.append(time.perf_counter() - t0)
            print(f"  {sample.name:<38} {ms(statistics.median(times))}  (median of {ROUNDS}, with the pipe)")
        pool.close()

    print(f"OcrPool, 1 worker, {OcrPool(LIMITS).threads} onnxruntime threads")
    asyncio.run(run())
    print(f"  peak RSS of the bot-side process        {peak_mb():7.0f} MB")
    print(f"  peak RSS of the worker process          {peak_mb(resource.RUSAGE_CHILDREN):7.0f} MB")


def bench_in_process(pictures: list[rs.Sample]) -> None:
    before = peak_mb()
    print(f"\nIn-process extract_text (peak RSS before OCR: {before:.0f} MB)")
    print(f"  {'picture':<38} {'size':>10} {'cold':>10} {'warm':>10}   CER")
    rates = []
    for sample in pictures:
        read = functools.partial(extract_text, sample.data, sample.file_name, sample.mime_type, limits=LIMITS)
        cold, result = timed(read)
        warm = statistics.median(timed(read)[0] for _ in range(ROUNDS))
        rate = cer(sample.truth, result.text)
        rates.append(rate)
        print(f"  {sample.name:<38} {len(sample.data) // 1024:>7} kB {ms(cold):>10} {ms(warm):>10}   {rate:.3f}")
    print(f"  mean character error rate               {statistics.mean(rates):.3f}")
    print(f"  peak RSS after reading the pictures     {peak_mb():7.0f} MB")


def bench_documents() -> None:
    print("\nDocuments (median of 5)")
    cases = [
        ("txt, 2 kB (GB18030)", ("截图上报，纳入考核。" * 100).encode("gb18030"), "a.txt"),
        (".docx with a table", rs.notice_docx().data, "a.docx"),
        ("PDF text layer, 1 page", rs.notice_text_pdf().data, "a.pdf"),
        ("PDF text layer, 20 pages", rs.notice_text_pdf(pages=20).data, "a.pdf"),
        (".docx bomb (1 GiB unpacked), refused", rs.bomb_docx(), "a.docx"),
    ]
    for name, data, file_name in cases:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            with contextlib.suppress(ReadError):
                extract_text(data, file_name, None, limits=LIMITS)
            times.append(time.perf_counter() - start)
        print(f"  {name:<38} {len(data) // 1024:>7} kB {ms(statistics.median(times)):>10}")


def main() -> None:
    pictures = [
        rs.clean_notice_png(),
        rs.chat_screenshot_png(),
        rs.phone_photo_jpeg(),
        # Harsher than the tests use: smaller, blurrier, more tilted, more JPEG loss.
        rs.phone_photo_jpeg(quality=20, size=(540, 960), blur=1.0, tilt=2.5),
        rs.scanned_pdf(),
    ]
    bench_pool(pictures)
    bench_in_process(pictures)
    bench_documents()


if __name__ == "__main__":
    main()
