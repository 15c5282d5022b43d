"""Article pages of the portal simulator as the page stage receives them, for tests that
need processed articles without a crawl: one source, ``portal``, reading its Chinese feed."""

from __future__ import annotations

from typing import Any

from crawler.config import parse_config
from crawler.demo.portal import PortalSite
from crawler.page_stage import page_input, process_article

SITE = PortalSite("http://portal.test")
SOURCE = '[[sources]]\nname = "portal"\nfeeds = ["http://portal.test/feeds/zh.xml"]\n'
CONFIG = parse_config(SOURCE, path="t.toml")


def page(i: int = 0) -> dict[str, Any]:
    """The page-stage input for the portal's article ``i``."""
    article = SITE.articles[i]
    reply = SITE.article_reply(article)
    item = {
        "source": "portal",
        "url": f"http://portal.test{article.path}",
        "body": reply.body,
        "content_type": reply.headers["Content-Type"],
        "fetched_at": "2026-05-14T08:00:00Z",
    }
    return page_input(item, CONFIG.sources[0])


def processed(i: int = 0) -> dict[str, Any]:
    """The processed article (the record) of the portal's article ``i``."""
    return process_article(page(i), CONFIG.catalogue)
