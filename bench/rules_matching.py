"""Rule matching cost: 10, 1,000 and 10,000 rules over 1,000 articles, ms per article,
newswatch's one-automaton engine against a loop of one compiled regex per rule, in one run.

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

from alerts import RuleSet  # noqa: E402
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
    baseline_10 = None
    for n in (10, 1000, 10000):
        rules = make_rules(n, rng, vocabulary)
        built = time.perf_counter()
        ruleset = RuleSet(rules)
        build_ms = (time.perf_counter() - built) * 1000
        ours = time_per_article(texts, lambda t, rs=ruleset: rs.match(title="", text=t))
        fired = statistics.fmean(len(ruleset.match(title="", text=t)) for t in texts[:200])
        regexes = per_rule_regex(rules)
        loop = time_per_article(
            texts[:200], lambda t, loop_rules=regexes: [r.search(t) for r in loop_rules]
        )
        baseline_10 = baseline_10 or ours
        print(
            f"{n:>6} rules: newswatch {ours:8.3f} ms/article (x{ours / baseline_10:.2f} of 10 "
            f"rules, built in {build_ms:.0f} ms, {fired:.1f} rules fire per article); "
            f"per-rule regex loop {loop:8.3f} ms/article (x{loop / ours:.1f} newswatch)"
        )


if __name__ == "__main__":
    main()
