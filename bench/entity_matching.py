"""Entity matching cost: does the per-article cost of the one automaton grow with the
catalogue? ms per article for the same 10 rules with no catalogue (the baseline: rule
matching as it was), with the built-in catalogue (about 200 entities and the actions),
and with synthetic catalogues of 2,000 and 20,000 entities, all in one run.

Articles: 1,000 synthetic portal articles (the demo's Chinese and English mix) and the 34
reports of the bilingual labelled set, which name many entities. Passes are timed in turns
(as in ``bench/rules_matching.py``); each configuration reports its fastest and median
pass and the ratio to the built-in catalogue. The story keys computed from a scan (figures,
codes, dates: the same whatever the catalogue) are timed once for reference.

Run: python bench/entity_matching.py
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time
import warnings
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts import RuleSet  # noqa: E402
from bench.labelled_bilingual import REPORTS  # noqa: E402
from bench.synthetic import synthetic_articles  # noqa: E402
from crawler.config import RuleConfig  # noqa: E402
from crawler.text.crosslang import story_keys  # noqa: E402
from crawler.text.entities import Catalogue, Entity, builtin_entities  # noqa: E402

PASSES = 9


def words() -> list[str]:
    data = resources.files("crawler.text").joinpath("data/common_words.txt").read_text("utf-8")
    return [w for w in data.splitlines() if w and not w.startswith("#")]


def synthetic_catalogue(size: int, rng: random.Random, vocabulary: list[str]) -> Catalogue:
    """The built-in entities plus ``size`` made-up ones, each with a Chinese name of two
    rare words, a Traditional twin, an English name and a code."""
    entities = list(builtin_entities())
    used: set[str] = set()
    while len(entities) < size:
        zh = "".join(rng.sample(vocabulary, 2))
        if zh in used:
            continue
        used.add(zh)
        n = len(entities)
        entities.append(
            Entity(
                name=f"Synthetic {n}",
                kind=rng.choice(["company", "product", "agency"]),
                zh_hans=(zh,),
                zh_hant=(zh + "公司",),
                en=(f"Synthco {n}",),
                codes=(f"SX{n}",),
            )
        )
    return Catalogue(tuple(entities))


def per_article(texts: list[tuple[str, str]], ruleset: RuleSet) -> float:
    started = time.perf_counter()
    for title, text in texts:
        ruleset.scan(title=title, text=text)
    return (time.perf_counter() - started) * 1000 / len(texts)


def main() -> None:
    articles = [(a.title, "\n".join(a.paragraphs)) for a in synthetic_articles(1000)]
    articles += [(r.title, r.text) for r in REPORTS] * 3
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"articles: {len(articles)}")
    rules = [
        RuleConfig(name="h20", keywords=["H20"]),
        RuleConfig(name="ascend", entities=["昇腾"]),
        RuleConfig(name="list", entities=["Entity List", "BIS"]),
        RuleConfig(name="smic", keywords=["中芯国际", "SMIC"]),
        RuleConfig(name="controls", keywords=["出口管制", "export controls"]),
        RuleConfig(name="near", keywords=["芯片"], all=["美国"]),
        RuleConfig(name="hbm", keywords=["HBM"]),
        RuleConfig(name="euv", keywords=["EUV", "光刻机"]),
        RuleConfig(name="gallium", keywords=["镓", "gallium"]),
        RuleConfig(name="nvidia", keywords=["英伟达", "Nvidia"], exclude=["游戏"]),
    ]
    baseline_rules = [r for r in rules if not r.entities]
    rng = random.Random(5)
    vocabulary = words()[5000:30000]
    configs: dict[str, RuleSet] = {}
    built: dict[str, float] = {}
    for label, catalogue in (
        ("no catalogue (rules as before)", None),
        ("built-in catalogue", Catalogue(builtin_entities())),
        ("2,000 entities", synthetic_catalogue(2000, rng, vocabulary)),
        ("20,000 entities", synthetic_catalogue(20000, rng, vocabulary)),
    ):
        started = time.perf_counter()
        if catalogue is None:
            configs[label] = RuleSet(baseline_rules)
        else:
            configs[label] = RuleSet(rules, catalogue)
        built[label] = (time.perf_counter() - started) * 1000
    passes: dict[str, list[float]] = {label: [] for label in configs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(PASSES):
            for label, ruleset in configs.items():
                passes[label].append(per_article(articles, ruleset))
        scanner = configs["built-in catalogue"]
        started = time.perf_counter()
        for title, text in articles:
            scan = scanner.scan(title=title, text=text)
            story_keys(title, text, mentions=scan.mentions, published="2026-05-20T00:00:00Z")
        keys_ms = (time.perf_counter() - started) * 1000 / len(articles)
    reference = min(passes["built-in catalogue"])
    reference_median = statistics.median(passes["built-in catalogue"])
    for label, times in passes.items():
        best, median = min(times), statistics.median(times)
        print(
            f"{label:<32} built in {built[label]:>6.0f} ms; scan {best:.3f} ms/article fastest "
            f"(x{best / reference:.2f} of built-in), {median:.3f} median "
            f"(x{median / reference_median:.2f})"
        )
    print(f"scan + story keys with the built-in catalogue: {keys_ms:.3f} ms/article")


if __name__ == "__main__":
    main()
