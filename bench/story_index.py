"""Story assignment at scale: time per article and p95 lookup at N synthetic articles,
memory and disk, against a brute-force comparison with every earlier story on the first
10,000, in one run.

Synthetic articles are MinHash signatures (computing 1M real signatures would measure
datasketch, not the index): stories get a random signature, and a third of the articles
are copies of an earlier story with 30% of the values changed (Jaccard about 0.5, like a
syndicated copy). Each article goes through ``Archive.add_article`` with that signature, so
the fingerprint lookup, the LSH band lookup, the candidate check and all writes are timed.

Run: python bench/story_index.py --articles 100000 1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.text.dedup import NUM_PERM, STORY_THRESHOLD  # noqa: E402
from storage import Archive  # noqa: E402

BRUTE_FORCE = 10_000


def synthetic(n: int, seed: int = 5):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    stories: list[np.ndarray] = []
    for i in range(n):
        if stories and rng.random() < 1 / 3:
            truth = int(rng.integers(len(stories)))
            values = stories[truth].copy()
            change = rng.random(NUM_PERM) < 0.3
            values[change] = rng.integers(0, 2**63, change.sum(), dtype=np.uint64)
            yield i, values, truth
        else:
            values = rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
            stories.append(values)
            yield i, values, len(stories) - 1


def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive.open(Path(tmp) / "stories.db")
        times: list[float] = []
        brute: list[float] = []
        story_sigs: list[np.ndarray] = []
        truth_of_story: dict[int, int] = {}
        correct = 0
        started = time.perf_counter()
        for i, values, truth in synthetic(n):
            url = f"http://s.test/{i}"
            article = {
                "url": url,
                "canonical_url": url,
                "source": "bench",
                "title": "",
                "text": "",
                "fingerprint": f"fp{i}",
                "signature": values,
            }
            t0 = time.perf_counter()
            stored = archive.add_article(article)
            times.append(time.perf_counter() - t0)
            if stored.new_story:
                truth_of_story[stored.story_id] = truth
            correct += truth_of_story.get(stored.story_id) == truth
            if i < BRUTE_FORCE:
                t0 = time.perf_counter()
                if story_sigs:
                    matrix = np.vstack(story_sigs)
                    scores = (matrix == values).mean(axis=1)
                    best = int(scores.argmax())
                    if scores[best] < STORY_THRESHOLD:
                        story_sigs.append(values)
                else:
                    story_sigs.append(values)
                brute.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        archive.close()
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    in_order = [t * 1000 for t in times]
    ms = sorted(in_order)
    first = sorted(in_order[: min(BRUTE_FORCE, n)])
    last = sorted(in_order[-(n // 10) :])
    bf = sorted(t * 1000 for t in brute)
    print(
        f"{n:>9,} articles: {elapsed:7.1f} s, mean {statistics.fmean(ms):.3f} ms, "
        f"p50 {statistics.median(ms):.3f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.3f} ms "
        f"per article; last 10% p95 {last[int(len(last) * 0.95) - 1]:.3f} ms; "
        f"assignment right {correct / n:.2%}; max RSS {rss:.0f} MiB; archive {size / 2**20:.0f} MiB"
    )
    print(
        f"{'':>9}  first {len(first):,}: index p50 {statistics.median(first):.3f} ms vs "
        f"brute force p50 {statistics.median(bf):.3f} ms, p95 {bf[int(len(bf) * 0.95) - 1]:.3f} ms "
        f"(brute force at 10k: {bf[-1]:.3f} ms, and linear in the number of stories)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, nargs="+", default=[100_000])
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for n in args.articles:
        run(n)


if __name__ == "__main__":
    main()
