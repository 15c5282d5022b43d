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


def site_chrome(size: int, *, seed: int = 11) -> str:
    """About ``size`` bytes of the markup a real portal puts on every article page beside
    the article: a site map of links to its channels and an inline analytics script (real
    portals' article pages are 50–200 KB, most of it this). The same on every page of a
    site, as it is on a portal; the extractor drops it."""
    if size <= 0:
        return ""
    rng = random.Random(seed)
    words = common_words(2000)
    script = ["<script>", "var _cfg = {"]
    links = ['<nav class="sitemap"><ul>']
    written = 0
    while written < size:
        name = "".join(rng.choice(words) for _ in range(rng.randint(2, 5)))
        channel = f"{rng.choice('abcdefghkmnpqrstwxyz')}{rng.randint(1, 999):03d}"
        link = f'<li><a href="/{channel}/{rng.getrandbits(40):x}.html">{name}</a></li>'
        line = f'  "{channel}_{rng.getrandbits(24):x}": [{rng.randint(0, 99999)}, "{name}"],'
        links.append(link)
        script.append(line)
        written += len(link.encode()) + len(line.encode())
    script.append("};</script>")
    links.append("</ul></nav>")
    return "\n".join(links + script) + "\n"


def common_words(limit: int = 5000) -> list[str]:
    """The commonest two-character Chinese words (the text library's word list)."""
    from importlib import resources

    text = resources.files("crawler.text").joinpath("data/common_words.txt").read_text("utf-8")
    words = [line.split()[0] for line in text.splitlines() if line.strip() and line[0] != "#"]
    return words[:limit]


def distinct_article(i: int, rng: random.Random, words: list[str]) -> DemoArticle:
    """An article of its own naming H20 (random common words: no two join one story)."""

    def paragraph() -> str:
        return "".join(rng.choice(words) for _ in range(30)) + "。"

    return DemoArticle(
        slug=f"h20-news-{i}",
        section="tech",
        lang="zh-Hans",
        charset="utf-8",
        declare="meta",
        date="2026-05-14T08:00:00+08:00",
        title=f"英伟达H20{rng.choice(words)}{rng.choice(words)}第{i}期",
        paragraphs=(f"英伟达H20芯片{paragraph()}", paragraph(), paragraph()),
    )
