"""Rule matching cost: 10, 1,000 and 10,000 rules over 1,000 articles, ms per article,
newswatch's one-automaton engine against a loop of one compiled regex per rule, in one run.

At well under 0.1 ms per article a single pass is at the mercy of the machine, so the three
rule sets are timed in turns over several passes (any slowdown of the machine hits all of
them alike) and each reports its fastest pass and its median pass; the ratios to 10 rules
are given for both. The regex loop, thousands of times slower, is timed once on fewer
articles.

Run: python bench/rules_matching.py
"""

from __future__ import annotations

import os
import platform
import random
import re
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts import RuleSet, fold_with_offsets  # noqa: E402
from bench.synthetic import synthetic_articles  # noqa: E402
from crawler.config import RuleConfig  # noqa: E402


def words() -> list[str]:
    data = resources.files("crawler.text").joinpath("data/common_words.txt").read_text("utf-8")
    return [w for w in data.splitlines() if w and not w.startswith("#")]


def make_rules(n: int, rng: random.Random, vocabulary: list[str]) -> list[RuleConfig]:
    """``n`` rules of two Chinese words from ``vocabulary`` and one Latin code each."""
    latin = ["H20", "H200", "Ascend", "BIS", "Entity List", "MOFCOM", "3A090", "HBM", "EUV"]
    rules = []
    for i in range(n):
        terms = rng.sample(vocabulary, 2) + [rng.choice(latin) + str(i % 97)]
        rules.append(RuleConfig(name=f"r{i}", keywords=terms))
    return rules


def per_rule_regex(rules: list[RuleConfig]) -> list[re.Pattern[str]]:
    return [
        re.compile(
            "|".join(rf"(?<![A-Za-z0-9]){re.escape(k)}(?![A-Za-z0-9])" for k in rule.keywords),
            re.IGNORECASE,
        )
        for rule in rules
    ]


PASSES = 9
LOOP_ARTICLES = 100


def time_per_article(texts: list[str], run) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for text in texts:
        run(text)
    return (time.perf_counter() - started) * 1000 / len(texts)


def main() -> None:
    texts = [a.title + "\n" + "\n".join(a.paragraphs) for a in synthetic_articles(1000)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"articles: {len(texts)}, mean {statistics.fmean(len(t) for t in texts):.0f} characters")
    all_words = words()
    for label, vocabulary in (
        (
            "watch-list terms (words ranked 5,000-30,000: names, products, agencies)",
            all_words[5000:30000],
        ),
        (
            "everyday words (the 2,000 commonest: most rules fire on most articles)",
            all_words[:2000],
        ),
    ):
        print(f"\nrules of {label}:")
        run_suite(texts, vocabulary)


def run_suite(texts: list[str], vocabulary: list[str]) -> None:
    rng = random.Random(3)
    sizes = (10, 1000, 10000)
    rulesets: dict[int, RuleSet] = {}
    loops: dict[int, float] = {}
    for n in sizes:
        rules = make_rules(n, rng, vocabulary)
        built = time.perf_counter()
        rulesets[n] = RuleSet(rules)
        build_ms = (time.perf_counter() - built) * 1000
        regexes = per_rule_regex(rules)
        loops[n] = time_per_article(
            texts[:LOOP_ARTICLES], lambda t, loop_rules=regexes: [r.search(t) for r in loop_rules]
        )
        fired = statistics.fmean(len(rulesets[n].match(title="", text=t)) for t in texts)
        print(f"{n:>6} rules: built in {build_ms:.0f} ms, {fired:.1f} rules fire per article")
    passes: dict[int, list[float]] = {n: [] for n in sizes}
    folding: list[float] = []
    for _ in range(PASSES):
        folding.append(time_per_article(texts, fold_with_offsets))
        for n, ruleset in rulesets.items():
            passes[n].append(
                time_per_article(texts, lambda t, rs=ruleset: rs.match(title="", text=t))
            )
    best_10, median_10 = min(passes[10]), statistics.median(passes[10])
    print(
        f"folding the text alone (the same for any number of rules): "
        f"{min(folding):.3f} ms/article fastest, {statistics.median(folding):.3f} median"
    )
    for n in sizes:
        best, median = min(passes[n]), statistics.median(passes[n])
        print(
            f"{n:>6} rules: newswatch {best:.3f} ms/article fastest of {PASSES} passes "
            f"(x{best / best_10:.2f} of 10 rules), {median:.3f} median "
            f"(x{median / median_10:.2f}); per-rule regex loop {loops[n]:.3f} ms/article "
            f"over {LOOP_ARTICLES} articles (x{loops[n] / best:.0f} newswatch)"
        )


if __name__ == "__main__":
    main()
