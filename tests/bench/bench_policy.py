"""Speed and memory of the screening engine. Prints figures; asserts nothing (these machines are noisy).

    .venv/bin/python tests/bench/bench_policy.py            (or: make bench)

Runs on one core: load time of the policy and model, screenings per second over the corpus, p50/p99
latency for texts up to 2,000 characters, cost per character at growing lengths, a 1 MB text, and the
peak resident memory of the process after the corpus and after everything.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t0 = time.perf_counter()
    from policy import default_engine

    engine = default_engine()
    load_ms = (time.perf_counter() - t0) * 1000
    texts = [json.loads(line)["text"] for line in (ROOT / "tests" / "corpus" / "corpus.jsonl").open(encoding="utf-8")]
    engine.screen(texts[0])

    start = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for text in texts:
            engine.screen(text)
    elapsed = time.perf_counter() - start
    rate = rounds * len(texts) / elapsed
    corpus_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    lat = []
    for text in texts:
        if len(text) <= 2000:
            t = time.perf_counter()
            engine.screen(text)
            lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    p50 = statistics.median(lat)
    p99 = lat[int(len(lat) * 0.99) - 1]

    long_notice = "\n".join(t for t in texts if len(t) > 300)
    growth = []
    for size in (250, 500, 1000, 2000, 4000, 8000):
        sample = long_notice[:size]
        t = time.perf_counter()
        for _ in range(20):
            engine.screen(sample)
        per = (time.perf_counter() - t) / 20 * 1000
        growth.append((size, per, per / size * 1000))

    big = (long_notice * (1_000_000 // len(long_notice) + 1))[:1_000_000]
    t = time.perf_counter()
    s = engine.screen(big)
    big_ms = (time.perf_counter() - t) * 1000

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"policy + model load:         {load_ms:7.1f} ms (imports included)")
    print(f"throughput (corpus, 1 core): {rate:7.0f} screenings/s over {len(texts)} texts x {rounds}")
    print(f"latency, texts <= 2000 chars: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    for size, per, per_kchar in growth:
        print(f"  {size:5d} chars: {per:6.2f} ms  ({per_kchar:.2f} ms per 1000 chars)")
    print(f"1 MB text:                   {big_ms:7.1f} ms, truncated={s.truncated}, findings={len(s.findings)}")
    print(
        f"peak resident memory:        {corpus_rss_mb:7.1f} MB after the corpus, {rss_mb:.1f} MB after all of the above"
    )


if __name__ == "__main__":
    main()
