"""The page pipeline (decode, extract, repair, clean, language) against trafilatura alone
(and charset-normalizer alone) on the same pages, in one run; its text quality against
the expected text of the real-layout pages; and the undeclared encoding corpus decoded by
newswatch, charset-normalizer and Scrapy (w3lib).

Two page mixes: the real-layout pages of ``tests/fixtures/pages`` (WeChat, finance portal,
``<br>`` text, next article, related boxes, comments, Big5/HKSCS, mixed encodings, Korean,
Japanese; see ``bench/page_fixtures.py``) and synthetic portal pages (the demo's GBK, Big5
and UTF-8 pages with right, wrong and missing declarations). The contenders are timed in
turns, pass after pass, so a slowdown of the shared machine hits them alike; each reports
its fastest and its median pass (ms per page), and the ratio newswatch / trafilatura.

Run: python bench/page_pipeline.py [--pages 400] [--passes 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.encoding_corpus import corpus  # noqa: E402
from bench.page_fixtures import bigram_f1, load_fixtures  # noqa: E402
from bench.synthetic import synthetic_articles  # noqa: E402
from crawler.demo.portal import PortalSite  # noqa: E402
from crawler.text.encoding import decode_bytes  # noqa: E402
from crawler.text.page import process_page  # noqa: E402

Page = tuple[bytes, str, str]  # body, Content-Type, URL


def _pass(pages: list[Page], run: Callable[[Page], object]) -> float:
    started = time.perf_counter()
    for page in pages:
        run(page)
    return (time.perf_counter() - started) * 1000 / len(pages)


def timed_in_turns(
    label: str, pages: list[Page], contenders: dict[str, Callable[[Page], object]], passes: int
) -> dict[str, list[float]]:
    for run in contenders.values():  # warm caches and imports
        for page in pages[:20]:
            run(page)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(passes):
        for name, run in contenders.items():
            samples[name].append(_pass(pages, run))
    print(f"\n{label}: {len(pages)} pages, {passes} passes in turns (ms per page)")
    for name, values in samples.items():
        print(f"  {name:<28} fastest {min(values):6.3f}   median {statistics.median(values):6.3f}")
    newswatch, trafilatura = samples["newswatch page pipeline"], samples["trafilatura alone"]
    fastest = min(newswatch) / min(trafilatura)
    median = statistics.median(newswatch) / statistics.median(trafilatura)
    print(
        f"  ratio newswatch/trafilatura: fastest {fastest:.2f}, median {median:.2f}"
        f"  ({1 / fastest:.2f}x and {1 / median:.2f}x faster)"
    )
    return samples


def quality(fixtures_passes: int) -> None:
    import trafilatura

    print("\nreal-layout pages, text against the expected text (character-bigram F1):")
    rows = []
    for page in load_fixtures():
        ours = process_page(page.body, url=page.url, content_type=page.content_type)
        theirs = trafilatura.extract(page.body) or ""
        rows.append(
            (
                page.name,
                bigram_f1(ours.text, page.expected),
                bigram_f1(theirs, page.expected),
                ours.repairs["extractor"],
            )
        )
        print(
            f"  {page.name:<44} newswatch {rows[-1][1]:.3f}  trafilatura {rows[-1][2]:.3f}"
            f"  ({rows[-1][3]})"
        )
    ours_mean = statistics.fmean(r[1] for r in rows)
    theirs_mean = statistics.fmean(r[2] for r in rows)
    print(
        f"  mean F1: newswatch {ours_mean:.3f}, trafilatura alone {theirs_mean:.3f};"
        f" F1 under 0.5: newswatch {sum(r[1] < 0.5 for r in rows)},"
        f" trafilatura {sum(r[2] < 0.5 for r in rows)} of {len(rows)}"
    )


def encoding_corpus() -> None:
    from charset_normalizer import from_bytes
    from w3lib.encoding import html_to_unicode

    items = list(corpus())
    results = {"newswatch": 0, "charset-normalizer": 0, "scrapy (w3lib)": 0}
    for item in items:
        truth = item.body.decode(item.encoding)
        results["newswatch"] += decode_bytes(item.body).text == truth
        best = from_bytes(item.body).best()
        results["charset-normalizer"] += best is not None and str(best) == truth
        results["scrapy (w3lib)"] += html_to_unicode(None, item.body)[1] == truth
    print(f"\nundeclared encoding corpus ({len(items)} items, every declaration stripped):")
    for label, hits in results.items():
        print(f"  {label:<20} {hits}/{len(items)} = {hits / len(items):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    import trafilatura
    from charset_normalizer import from_bytes

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", trafilatura {trafilatura.__version__}"
    )
    contenders: dict[str, Callable[[Page], object]] = {
        "charset-normalizer alone": lambda p: from_bytes(p[0]).best(),
        "trafilatura alone": lambda p: trafilatura.extract(p[0]),
        "newswatch page pipeline": lambda p: process_page(p[0], url=p[2], content_type=p[1]),
    }
    fixtures = [(f.body, f.content_type, f.url) for f in load_fixtures()]
    # Repeated so that a pass lasts long enough to time well.
    timed_in_turns("real-layout pages", fixtures * 10, contenders, args.passes)
    site = PortalSite("http://bench.test", synthetic_articles(args.pages))
    synthetic = []
    for article in site.articles:
        reply = site.article_reply(article)
        synthetic.append((reply.body, reply.headers["Content-Type"], "http://bench.test/a.html"))
    timed_in_turns("synthetic portal pages", synthetic, contenders, args.passes)
    quality(args.passes)
    encoding_corpus()


if __name__ == "__main__":
    main()
