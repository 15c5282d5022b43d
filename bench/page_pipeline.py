"""The page pipeline (decode, extract, repair, clean, language) per page, against
charset-normalizer alone and trafilatura alone on the same pages, in one run; and the
undeclared encoding corpus decoded by newswatch, charset-normalizer and Scrapy (w3lib).

Run: python bench/page_pipeline.py [--pages 1000]
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

from bench.encoding_corpus import TEXTS, corpus  # noqa: E402
from bench.synthetic import synthetic_articles  # noqa: E402
from crawler.demo.portal import PortalSite  # noqa: E402
from crawler.text.encoding import decode_bytes  # noqa: E402
from crawler.text.page import process_page  # noqa: E402


def timed(
    label: str, pages: list[tuple[bytes, str]], run: Callable[[bytes, str], object]
) -> list[float]:
    for body, ctype in pages[:20]:  # warm caches and imports
        run(body, ctype)
    samples = []
    for body, ctype in pages:
        started = time.perf_counter()
        run(body, ctype)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    mean = statistics.fmean(samples)
    print(f"{label:<34} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   mean {mean:7.2f} ms")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    args = parser.parse_args()
    import trafilatura
    from charset_normalizer import from_bytes

    site = PortalSite("http://bench.test", synthetic_articles(args.pages))
    pages = []
    for article in site.articles:
        reply = site.article_reply(article)
        pages.append((reply.body, reply.headers["Content-Type"]))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"pages: {len(pages)} (GBK, Big5, UTF-8; right, wrong and missing declarations)")
    cn = timed("charset-normalizer alone", pages, lambda b, c: from_bytes(b).best())
    tr = timed("trafilatura.extract alone", pages, lambda b, c: trafilatura.extract(b))
    nw = timed(
        "newswatch page pipeline",
        pages,
        lambda b, c: process_page(b, url="http://bench.test/a.html", content_type=c),
    )
    print(
        f"ratio newswatch/trafilatura (median): {statistics.median(nw) / statistics.median(tr):.2f}"
    )
    print(
        f"ratio newswatch/charset-normalizer (median): "
        f"{statistics.median(nw) / statistics.median(cn):.2f}"
    )

    print("\nundeclared encoding corpus (every declaration stripped):")
    from w3lib.encoding import html_to_unicode

    def right(encoding: str, name: str, text_out: str, codec: str | None) -> bool:
        text = TEXTS[encoding][int(name.split("-")[-2])]
        return text in text_out

    items = list(corpus())
    results = {"newswatch": 0, "charset-normalizer": 0, "scrapy (w3lib)": 0}
    for name, encoding, body in items:
        decoded = decode_bytes(body)
        results["newswatch"] += right(encoding, name, decoded.text, decoded.encoding)
        best = from_bytes(body).best()
        results["charset-normalizer"] += bool(best) and right(encoding, name, str(best), None)
        codec, text = html_to_unicode(None, body)
        results["scrapy (w3lib)"] += right(encoding, name, text, codec)
    for label, hits in results.items():
        print(f"  {label:<20} {hits}/{len(items)} = {hits / len(items):.1%}")


if __name__ == "__main__":
    main()
