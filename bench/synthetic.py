"""Synthetic portal content for benchmarks: N distinct articles built from the demo set."""

from __future__ import annotations

import random
from dataclasses import replace

from crawler.demo.portal import DemoArticle, load_articles


def synthetic_articles(count: int, *, seed: int = 7) -> list[DemoArticle]:
    """``count`` articles with the demo's languages, charsets and declarations, each with
    its own slug, title and paragraph mix."""
    rng = random.Random(seed)
    templates = load_articles()
    out = []
    for i in range(count):
        base = templates[i % len(templates)]
        pool = [p for t in templates if t.lang == base.lang for p in t.paragraphs]
        paragraphs = tuple(rng.sample(pool, k=min(6, len(pool))))
        out.append(
            replace(
                base,
                slug=f"{base.slug}-{i:05d}",
                title=f"{base.title} ({i})",
                paragraphs=paragraphs,
            )
        )
    return out
