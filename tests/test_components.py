"""Middlewares, pipelines and spiders built with get_crawler and called directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request, Response, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.demo.portal import PortalSite
from crawler.middlewares import (
    AddressGuardMiddleware,
    BlockedAddress,
    ConditionalGetMiddleware,
    non_public_host,
    parse_retry_after,
)
from crawler.pipelines import ArchivePipeline, PagePipeline
from crawler.resources import runtime_for
from crawler.spidermiddlewares import KnownArticleMiddleware
from spiders.by_kind import FeedsSpider, ListingsSpider, SitemapsSpider
from spiders.source import SourceSpider
from storage.db import Fetch
from tests.conftest import loopback_name

BASE = "http://portal.test"
SITE = PortalSite(BASE)


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "newswatch.toml"
    config.write_text(
        f"""
[archive]
path = "{tmp_path / "archive.db"}"
[[sources]]
name = "portal"
feeds = ["{BASE}/feeds/zh.xml"]
sitemaps = ["{BASE}/sitemap.xml"]
listings = ["{BASE}/list/"]
article_links = '/news/'
listing_depth = 2
delay = 0.5
""",
        encoding="utf-8",
    )
    return {"NEWSWATCH_CONFIG": str(config)}


def spider_for(cls: type[SourceSpider], settings: dict[str, str]) -> SourceSpider:
    """A spider set up the way ``Crawler.crawl`` does it, without starting the engine."""
    from scrapy.crawler import AsyncCrawlerRunner, CrawlerRunner
    from scrapy.settings import Settings
    from scrapy.utils.reactor import is_reactor_installed
    from scrapy.utils.test import get_reactor_settings

    project = Settings()
    project.setmodule("crawler.settings", priority="project")
    project.update({**get_reactor_settings(), **settings}, priority="cmdline")
    runner_cls = CrawlerRunner if is_reactor_installed() else AsyncCrawlerRunner
    crawler = runner_cls(project).create_crawler(cls)
    spider = crawler._create_spider(source="portal")
    crawler.spider = spider
    crawler._apply_settings()
    return spider


def test_spider_takes_politeness_from_source(settings: dict[str, str]) -> None:
    spider = spider_for(SourceSpider, settings)
    assert spider.crawler.settings.getfloat("DOWNLOAD_DELAY") == 0.5
    assert spider.crawler.settings.getbool("ROBOTSTXT_OBEY")
    assert "newswatch" in spider.crawler.settings.get("USER_AGENT")


def test_entry_requests_by_kind(settings: dict[str, str]) -> None:
    kinds = {
        cls: [r.meta["newswatch_kind"] for r in spider_for(cls, settings).entry_requests()]
        for cls in (SourceSpider, FeedsSpider, SitemapsSpider, ListingsSpider)
    }
    assert kinds[SourceSpider] == ["feed", "sitemap", "listing"]
    assert kinds[FeedsSpider] == ["feed"]
    assert kinds[SitemapsSpider] == ["sitemap"]
    assert kinds[ListingsSpider] == ["listing"]


def response_for(url: str, body: bytes, request: Request, status: int = 200) -> Response:
    cls = XmlResponse if url.endswith((".xml", ".atom")) else HtmlResponse
    return cls(url=url, body=body, request=request, status=status)


def test_feed_yields_article_requests(settings: dict[str, str]) -> None:
    spider = spider_for(FeedsSpider, settings)
    request = next(iter(spider.entry_requests()))
    out = list(spider.parse_feed(response_for(request.url, SITE.rss(), request)))
    assert len(out) == sum(1 for a in SITE.articles if a.lang.startswith("zh"))
    assert all(r.meta["newswatch_kind"] == "article" for r in out)
    assert out[0].meta["hint_title"] == SITE.articles[0].title


def test_not_modified_feed_yields_nothing(settings: dict[str, str]) -> None:
    spider = spider_for(FeedsSpider, settings)
    request = next(iter(spider.entry_requests()))
    assert list(spider.parse_feed(response_for(request.url, b"", request, status=304))) == []


def test_malformed_feed_is_counted(settings: dict[str, str]) -> None:
    spider = spider_for(FeedsSpider, settings)
    request = next(iter(spider.entry_requests()))
    assert list(spider.parse_feed(response_for(request.url, b"<html>oops</html>", request))) == []
    assert spider.crawler.stats.get_value("newswatch/errors") == 1
    assert spider.crawler.stats.get_value("newswatch/errors/malformed_feed") == 1


def collect(results: AsyncIterator[Any]) -> list[Any]:
    async def gather() -> list[Any]:
        return [entry async for entry in results]

    return asyncio.run(gather())


def test_sitemap_index_then_urlset(settings: dict[str, str]) -> None:
    spider = spider_for(SitemapsSpider, settings)
    request = next(iter(spider.entry_requests()))
    subs = collect(spider.parse_sitemap(response_for(request.url, SITE.sitemap_index(), request)))
    assert [r.url for r in subs] == [f"{BASE}/sitemaps/news.xml"]
    assert subs[0].meta["sitemap_nesting"] == 1
    urlset = response_for(subs[0].url, SITE.news_sitemap(), subs[0])
    articles = collect(spider.parse_sitemap(urlset))
    assert len(articles) == len(SITE.articles)


def test_unchanged_sitemap_index_asks_its_known_sitemaps_again(settings: dict[str, str]) -> None:
    spider = spider_for(SitemapsSpider, settings)
    runtime = runtime_for(spider.crawler)
    request = next(iter(spider.entry_requests()))
    runtime.state.record_fetch(
        Fetch(f"{BASE}/sitemaps/news.xml", source="portal", kind="sitemap", status=200,
              parent=request.url)
    )  # fmt: skip
    runtime.state.settle("portal", complete=True)  # the check that fetched it ended
    runtime.writer.call(lambda archive: None)  # the write above is committed
    again = collect(spider.parse_sitemap(response_for(request.url, b"", request, status=304)))
    assert [r.url for r in again] == [f"{BASE}/sitemaps/news.xml"]


def test_listing_follows_next_page_up_to_depth(settings: dict[str, str]) -> None:
    spider = spider_for(ListingsSpider, settings)
    request = next(iter(spider.entry_requests()))
    page1 = SITE.listing(1)
    assert page1 is not None
    out = list(spider.parse_listing(response_for(request.url, page1, request)))
    nexts = [r for r in out if r.meta["newswatch_kind"] == "listing"]
    assert [r.url for r in nexts] == [f"{BASE}/list/?page=2"]
    page2 = SITE.listing(2)
    assert page2 is not None
    deeper = list(spider.parse_listing(response_for(nexts[0].url, page2, nexts[0])))
    assert not [r for r in deeper if r.meta["newswatch_kind"] == "listing"]  # depth 2 reached


def test_conditional_get_and_known_articles(settings: dict[str, str]) -> None:
    crawler = get_crawler(SourceSpider, settings)
    runtime = runtime_for(crawler)
    conditional = ConditionalGetMiddleware.from_crawler(crawler)
    known = KnownArticleMiddleware.from_crawler(crawler)
    feed = Request(
        f"{BASE}/feeds/zh.xml", meta={"newswatch_kind": "feed", "newswatch_source": "portal"}
    )
    asyncio.run(conditional.process_request(feed))
    assert b"If-None-Match" not in feed.headers
    conditional.process_response(
        feed,
        Response(
            feed.url,
            status=200,
            headers={"ETag": '"abc"', "Last-Modified": "Fri, 20 Mar 2026 00:00:00 GMT"},
        ),
    )
    runtime.state.settle("portal", complete=True)  # the check ended, every request done
    runtime.writer.call(lambda archive: None)  # the fetch record is committed
    again = feed.replace()
    again.headers.pop(b"If-None-Match", None)
    asyncio.run(conditional.process_request(again))
    assert again.headers[b"If-None-Match"] == b'"abc"'
    assert again.headers[b"If-Modified-Since"] == b"Fri, 20 Mar 2026 00:00:00 GMT"

    runtime.writer.call(
        lambda archive: archive.add_article(
            {
                "url": f"{BASE}/a.html",
                "canonical_url": f"{BASE}/a.html",
                "source": "portal",
                "title": "t",
                "text": "x",
            }
        )
    )

    async def spider_output() -> AsyncIterator[Any]:
        for url in (f"{BASE}/a.html?utm_source=rss", f"{BASE}/b.html"):
            yield Request(url, meta={"newswatch_kind": "article", "newswatch_source": "portal"})
        yield Request(f"{BASE}/feed2.xml", meta={"newswatch_kind": "feed"})

    listing = HtmlResponse(BASE, request=Request(BASE))
    out = collect(known.process_spider_output(listing, spider_output()))
    assert [r.url for r in out] == [f"{BASE}/feed2.xml", f"{BASE}/b.html"]
    assert crawler.stats.get_value("newswatch/articles_known") == 1
    assert listing.meta["newswatch_known"] == 1  # what a cluster worker reports per page


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("10.1.2.3", True),
        ("172.16.0.9", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("www.news.cn", False),
        ("localhost.example.com", False),
    ],
)
def test_non_public_hosts(host: str, refused: bool) -> None:
    assert non_public_host(host) is refused


def test_address_guard(settings: dict[str, str]) -> None:
    import asyncio
    import ipaddress

    guard = AddressGuardMiddleware.from_crawler(get_crawler(SourceSpider, settings))
    meta = {"newswatch_kind": "article", "newswatch_source": "portal"}

    def ask(url: str, **extra: object) -> None:
        return asyncio.run(guard.process_request(Request(url, meta={**meta, **extra})))

    with pytest.raises(BlockedAddress):
        ask("http://169.254.169.254/latest/")
    with pytest.raises(BlockedAddress):  # robots.txt and other requests without a source
        asyncio.run(guard.process_request(Request("http://10.0.0.1/robots.txt")))
    assert ask("https://93.184.216.34/a.html") is None
    # A name that does not resolve goes on, for the download to report the DNS error.
    assert ask("https://no-such-host.invalid/a.html") is None
    assert ask(f"{BASE}/news/a.html") is None  # the source's own host, never resolved

    # A public name that resolved to a private address: the response is dropped...
    request = Request("http://intranet.example/a.html", meta=meta)
    inside = Response(request.url, ip_address=ipaddress.ip_address("192.168.0.7"))
    with pytest.raises(BlockedAddress, match="192.168.0.7"):
        guard.process_response(request, inside)
    # ...unless it came through a proxy (the address is the proxy's) or is public.
    proxied = Request(request.url, meta={**meta, "proxy": "http://10.0.0.2:3128"})
    assert guard.process_response(proxied, inside) is inside
    public = Response(request.url, ip_address=ipaddress.ip_address("93.184.216.34"))
    assert guard.process_response(request, public) is public

    # The source's own hosts are allowed, whatever they resolve to; so is everything
    # when the config says so.
    own = Request(f"{BASE}/news/a.html", meta=meta)
    own_response = Response(own.url, ip_address=ipaddress.ip_address("127.0.0.1"))
    assert guard.process_response(own, own_response) is own_response
    open_guard = AddressGuardMiddleware({"": frozenset()}, allow_all=True)
    assert (
        asyncio.run(open_guard.process_request(Request("http://10.0.0.1/a.html", meta=meta)))
        is None
    )
    assert open_guard.process_response(request, inside) is inside


def test_address_guard_resolves_names_before_connecting(settings: dict[str, str]) -> None:
    import asyncio

    name = loopback_name()
    if name is None:
        pytest.skip("this machine's host name does not resolve to a non-public address")
    guard = AddressGuardMiddleware.from_crawler(get_crawler(SourceSpider, settings))
    request = Request(f"http://{name}:8080/a.html", meta={"newswatch_source": "portal"})
    with pytest.raises(BlockedAddress, match="resolves to non-public address"):
        asyncio.run(guard.process_request(request))
    named = AddressGuardMiddleware({"portal": frozenset({name.lower()}), "": frozenset()}, False)
    assert asyncio.run(named.process_request(request)) is None


def test_pipelines_store_an_article_once(settings: dict[str, str]) -> None:
    from crawler.items import ArticleItem

    crawler = get_crawler(SourceSpider, settings)
    page, store = PagePipeline.from_crawler(crawler), ArchivePipeline.from_crawler(crawler)
    demo = SITE.articles[5]
    reply = SITE.article_reply(demo)

    def item() -> ArticleItem:
        return ArticleItem(
            source="portal",
            url=f"{BASE}{demo.path}",
            body=reply.body,
            content_type=reply.headers["Content-Type"],
            redirect_urls=[f"{BASE}/redirect/{demo.slug}"],
            fetched_at="2026-03-20T00:00:00Z",
        )

    async def both() -> ArticleItem:
        return await store.process_item(await page.process_item(item()))

    stored = asyncio.run(both())
    assert stored["lang"] == demo.lang and stored["title"] == demo.title
    asyncio.run(both())
    reader = store.runtime.reader
    assert reader.call(lambda archive: archive.count_articles()) == 1
    assert reader.call(lambda archive: archive.is_known_url(f"{BASE}/redirect/{demo.slug}"))
    assert crawler.stats.get_value("newswatch/articles_new") == 1
    assert crawler.stats.get_value("newswatch/articles_duplicate") == 1


def test_page_without_text_is_dropped_and_counted(settings: dict[str, str]) -> None:
    from scrapy.exceptions import DropItem

    from crawler.items import ArticleItem

    crawler = get_crawler(SourceSpider, settings)
    page = PagePipeline.from_crawler(crawler)
    with pytest.raises(DropItem):
        asyncio.run(
            page.process_item(
                ArticleItem(
                    source="portal", url=f"{BASE}/empty", body=b"<html></html>", fetched_at="t"
                )
            )
        )
    assert crawler.stats.get_value("newswatch/articles_empty") == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (b"3", 3.0),
        ("Fri, 20 Mar 2026 00:01:00 GMT", 60.0),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | bytes | None, seconds: float | None) -> None:
    now = datetime(2026, 3, 20, 0, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == seconds


def test_no_generator_callback_returns_a_value() -> None:
    """Scrapy's check for generator callbacks that ``return`` a value is off
    (``WARN_ON_GENERATOR_RETURN_VALUE``): this is that check, once, on every spider."""
    from scrapy.utils.misc import is_generator_with_return_value

    from crawler.cluster.worker import ClusterSpider

    checked = 0
    for spider in (SourceSpider, FeedsSpider, ListingsSpider, SitemapsSpider, ClusterSpider):
        for name in dir(spider):
            member = getattr(spider, name)
            if callable(member) and (name.startswith("parse") or name == "errback"):
                assert not is_generator_with_return_value(member), f"{spider.__name__}.{name}"
                checked += 1
    assert checked >= 5


def test_validators_are_kept_only_from_a_check_that_completed(
    settings: dict[str, str],
) -> None:
    """A feed's new ETag saved before the articles it listed are stored would turn the
    next check into a 304 that hides them, were the process killed in between."""
    crawler = get_crawler(SourceSpider, settings)
    runtime = runtime_for(crawler)
    url = f"{BASE}/feeds/zh.xml"

    def fetched(etag: str) -> None:
        runtime.state.record_fetch(Fetch(url, source="portal", kind="feed", status=200, etag=etag))

    def stored() -> Any:
        runtime.writer.call(lambda archive: None)
        return runtime.writer.call(lambda archive: archive.fetch_state(url))

    fetched('"v1"')
    assert stored() is None  # nothing written while the check runs (a kill loses it)
    runtime.state.settle("portal", complete=True)
    assert stored().etag == '"v1"'
    fetched('"v2"')
    runtime.state.settle("portal", complete=False)  # timed out, or an article failed
    state = stored()
    assert state.etag is None and state.last_status == 200  # asked unconditionally next
    fetched('"v3"')
    runtime.state.settle("other-source", complete=True)  # another source's check
    assert stored().etag is None
    runtime.state.settle("portal", complete=True)
    assert stored().etag == '"v3"'


def meta_refresh_page(url: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    from scrapy.http import HtmlResponse

    return HtmlResponse(url, body=body, headers=headers or {}, request=Request(url))


@pytest.mark.parametrize(
    ("body", "charset"),
    [
        (b'<html><head><meta http-equiv="Refresh" content="0; url=/moved.html"></head></html>', ""),
        # Chinese text before the tag, in GBK with no declaration.
        (
            "<html><head><title>出口管制新规</title>".encode("gbk")
            + b'<META HTTP-EQUIV="refresh" CONTENT="0;URL=/moved.html"></head></html>',
            "",
        ),
        # UTF-16: the word is not spelt in ASCII bytes, so Scrapy's own look decides.
        (
            '<html><head><meta http-equiv="refresh" content="0; url=/moved.html"></head>'
            "</html>".encode("utf-16"),
            "; charset=utf-16",
        ),
    ],
)
def test_meta_refresh_is_followed(body: bytes, charset: str) -> None:
    from crawler.middlewares import MetaRefreshMiddleware

    middleware = MetaRefreshMiddleware.from_crawler(get_crawler(SourceSpider, {}))
    url = "http://portal.test/old.html"
    page = meta_refresh_page(url, body, {"Content-Type": f"text/html{charset}"})
    followed = middleware.process_response(page.request, page)
    assert isinstance(followed, Request)
    assert followed.url == "http://portal.test/moved.html"


def test_a_page_without_meta_refresh_passes_undecoded() -> None:
    from crawler.middlewares import MetaRefreshMiddleware, may_refresh

    middleware = MetaRefreshMiddleware.from_crawler(get_crawler(SourceSpider, {}))
    body = ("<html><body>" + "对华出口管制的新规定。" * 2000 + "</body></html>").encode("gbk")
    page = meta_refresh_page("http://portal.test/a.html", body)
    assert middleware.process_response(page.request, page) is page
    # Scrapy's own middleware would have worked out the page's encoding and decoded it.
    assert page._cached_benc is None and page._cached_ubody is None
    # A refresh past the bytes Scrapy looks at is not one it would follow either.
    assert not may_refresh(body + b'<meta http-equiv="refresh" content="0;url=/x">')
    assert may_refresh(b'<meta http-equiv="refresh" content="0;url=/x">' + body)
