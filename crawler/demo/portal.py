"""A sample news portal served on 127.0.0.1: the offline demo and the tests' simulator.

It serves the articles of ``articles.toml`` as a portal would: HTML pages with navigation,
a sidebar of other headlines and a share footer, in GBK, Big5 or UTF-8 with right, wrong or
missing charset declarations; an RSS feed in GBK, an Atom feed, a sitemap index with a
Google News sitemap, paginated listing pages, and robots.txt. Entry points carry ETag and
Last-Modified and answer conditional requests with 304.

For tests it can also misbehave on purpose: ``/broken/404``, ``/broken/500``,
``/slow/<seconds>`` (slow answer), ``/redirect/<slug>`` (301 to an article),
``/feeds/malformed.xml``, ``/private/*`` (disallowed by robots.txt), and scripted status
sequences per path (``PortalServer.script``), e.g. ``[429, 500]`` before the real answer.
Every request is logged in ``PortalServer.requests``.
"""

from __future__ import annotations

import hashlib
import html
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DemoArticle", "PortalServer", "load_articles"]

LISTING_PAGE_SIZE = 5
LAST_MODIFIED = datetime(2026, 3, 20, 0, 0, 0, tzinfo=UTC)

_CHARSET_LABEL = {"gbk": "gb2312", "big5": "big5", "utf-8": "utf-8"}
_WRONG_LABEL = {"gbk": "utf-8", "big5": "utf-8", "utf-8": "iso-8859-1"}


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    section: str
    lang: str
    charset: str
    declare: str
    date: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/news/{self.section}/{self.date[:4]}/{self.slug}.html"

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def load_articles() -> list[DemoArticle]:
    raw = resources.files("crawler.demo").joinpath("articles.toml").read_text("utf-8")
    return [
        DemoArticle(**{**entry, "paragraphs": tuple(entry["paragraphs"])})
        for entry in tomllib.loads(raw)["articles"]
    ]


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")))


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class PortalSite:
    """The portal's content, independent of HTTP. ``base`` is the site's root URL."""

    def __init__(self, base: str, articles: list[DemoArticle] | None = None) -> None:
        self.base = base.rstrip("/")
        self.articles = articles if articles is not None else load_articles()
        self.by_path = {a.path: a for a in self.articles}
        self.by_slug = {a.slug: a for a in self.articles}
        # Markup every article page carries after its footer, as a real portal's site map
        # and scripts (benchmarks set it for pages of a real page's size).
        self.chrome = ""

    def publish(self, article: DemoArticle) -> None:
        """Add ``article``: from now on its page answers and the feeds, sitemap and
        listing lead to it (newest first in the feeds)."""
        self.by_path[article.path] = article
        self.by_slug[article.slug] = article
        self.articles = [article, *self.articles]  # a new list: readers keep the old one

    # -- pages ---------------------------------------------------------------------------

    def article_html(self, article: DemoArticle) -> str:
        others = [a for a in self.articles if a.slug != article.slug][:4]
        sidebar = "\n".join(
            f'      <li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in others
        )
        body = "\n".join(f"    <p>{html.escape(p)}</p>" for p in article.paragraphs)
        meta = ""
        if article.declare == "meta":
            meta = f'<meta charset="{_CHARSET_LABEL[article.charset]}">'
        elif article.declare == "wrong-meta":
            meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        zh = article.lang.startswith("zh")
        if article.lang == "zh-Hant":
            home, share, most_read = "首頁", "微信掃一掃 分享到微博", "熱門文章"
        elif zh:
            home, share, most_read = "首页", "微信扫一扫 分享到微博", "热门文章"
        else:
            home, share, most_read = "Home", "Share on social media", "Most read"
        return f"""<!DOCTYPE html>
<html lang="{article.lang}">
<head>
  {meta}
  <title>{html.escape(article.title)} - Sample Portal</title>
  <link rel="canonical" href="{self.base}{article.path}">
  <meta property="article:published_time" content="{article.date}">
</head>
<body>
  <header><nav>
    <a href="/">{home}</a> <a href="/list/">News</a> <a href="/list/">Policy</a>
  </nav></header>
  <main>
  <article>
    <h1>{html.escape(article.title)}</h1>
    <time datetime="{article.date}">{article.date[:10]}</time>
{body}
  </article>
  </main>
  <aside class="sidebar"><h3>{most_read}</h3>
    <ul>
{sidebar}
    </ul>
  </aside>
  <footer><div class="share">{share}</div><p>Sample Portal</p></footer>
{self.chrome}</body>
</html>
"""

    def article_reply(self, article: DemoArticle) -> Reply:
        # Characters the page's charset lacks become numeric references, as portals do.
        body = self.article_html(article).encode(article.charset, errors="xmlcharrefreplace")
        content_type = "text/html"
        if article.declare == "header":
            content_type += f"; charset={_CHARSET_LABEL[article.charset]}"
        elif article.declare == "wrong-header":
            content_type += f"; charset={_WRONG_LABEL[article.charset]}"
        return Reply(200, body, {"Content-Type": content_type})

    # -- entry points --------------------------------------------------------------------

    def rss(self) -> bytes:
        items = "\n".join(
            f"""  <item>
    <title>{html.escape(a.title)}</title>
    <link>{self.base}{a.path}?utm_source=rss&amp;utm_medium=feed</link>
    <guid isPermaLink="false">{a.slug}</guid>
    <pubDate>{_rfc822(a.date)}</pubDate>
  </item>"""
            for a in self.articles
            if a.lang.startswith("zh")
        )
        doc = f"""<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0">
<channel>
  <title>样例门户 - 要闻</title>
  <link>{self.base}/</link>
  <description>芯片与出口管制</description>
{items}
</channel>
</rss>
"""
        return doc.encode("gb18030")

    def atom(self) -> bytes:
        entries = "\n".join(
            f"""  <entry>
    <title>{html.escape(a.title)}</title>
    <link rel="alternate" href="{a.path}"/>
    <id>tag:sample-portal,2026:{a.slug}</id>
    <updated>{a.date}</updated>
  </entry>"""
            for a in self.articles
            if a.lang == "en"
        )
        doc = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{self.base}/">
  <title>Sample Portal - English</title>
  <id>tag:sample-portal,2026:en</id>
  <updated>2026-03-20T00:00:00Z</updated>
{entries}
</feed>
"""
        return doc.encode("utf-8")

    def sitemap_index(self) -> bytes:
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{self.base}/sitemaps/news.xml</loc></sitemap>
</sitemapindex>
""".encode()

    def news_sitemap(self) -> bytes:
        urls = "\n".join(
            f"""  <url>
    <loc>{self.base}{a.path}</loc>
    <news:news>
      <news:publication>
        <news:name>Sample Portal</news:name><news:language>{a.lang[:2]}</news:language>
      </news:publication>
      <news:publication_date>{a.date}</news:publication_date>
      <news:title>{html.escape(a.title)}</news:title>
    </news:news>
  </url>"""
            for a in self.articles
        )
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}
</urlset>
""".encode()

    def listing(self, page: int) -> bytes | None:
        start = (page - 1) * LISTING_PAGE_SIZE
        chunk = self.articles[start : start + LISTING_PAGE_SIZE]
        if not chunk and page > 1:
            return None
        items = "\n".join(
            f'    <li><a href="{a.path}">{html.escape(a.title)}</a> <span>{a.date[:10]}</span></li>'
            for a in chunk
        )
        more = start + LISTING_PAGE_SIZE < len(self.articles)
        nxt = f'<a rel="next" href="/list/?page={page + 1}">Next</a>' if more else ""
        return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>News - page {page}</title></head>
<body>
  <nav><a href="/">Home</a> <a href="/about.html">About</a></nav>
  <ul class="news">
{items}
  </ul>
  <div class="pages">{nxt}</div>
</body></html>
""".encode()

    def entry_points(self) -> dict[str, tuple[bytes, str]]:
        return {
            "/feeds/zh.xml": (self.rss(), "application/rss+xml"),
            "/feeds/en.atom": (self.atom(), "application/atom+xml"),
            "/sitemap.xml": (self.sitemap_index(), "application/xml"),
            "/sitemaps/news.xml": (self.news_sitemap(), "application/xml"),
        }


class _Handler(BaseHTTPRequestHandler):
    server: _PortalHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACKs
    # stall every response by ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        portal = self.server.portal
        portal._log(self)
        if portal.latency and self.path.startswith("/news/"):
            time.sleep(portal.latency)  # a portal far away (benchmarks, kill tests)
        reply = portal.reply_for(self.path, dict(self.headers.items()))
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class _PortalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    portal: PortalServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) closes the socket mid-answer: not an error.
        return


class PortalServer:
    """The sample portal on ``127.0.0.1:port`` (0 picks a free port), in a thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self, port: int = 0, *, articles: list[DemoArticle] | None = None, host: str = "127.0.0.1"
    ) -> None:
        self._httpd = _PortalHTTPServer((host, port), _Handler)
        self._httpd.portal = self
        address = self._httpd.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self.base = f"http://{self.host}:{self.port}"
        self.site = PortalSite(self.base, articles)
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, list[Reply]] = {}
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self.latency = 0.0  # seconds each article page takes to answer
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PortalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> PortalServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def publish(self, article: DemoArticle) -> None:
        """Publish ``article`` on the running portal (see :meth:`PortalSite.publish`)."""
        with self._lock:
            self.site.publish(article)

    # -- request log ---------------------------------------------------------------------

    def _log(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(
                {"path": handler.path, "headers": dict(handler.headers.items()), "at": time.time()}
            )

    def requested(self, prefix: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"].startswith(prefix)]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- routing ---------------------------------------------------------------------------

    def reply_for(self, target: str, headers: dict[str, str]) -> Reply:
        path = urlsplit(target).path
        with self._lock:
            scripted = self.script.get(path)
            if scripted:
                return scripted.pop(0)
        query = urlsplit(target).query
        site = self.site
        if path == "/robots.txt":
            return Reply(200, self.robots.encode(), {"Content-Type": "text/plain"})
        if path in site.by_path:
            return site.article_reply(site.by_path[path])
        entries = site.entry_points()
        if path in entries:
            body, content_type = entries[path]
            return self._conditional(body, content_type, headers)
        if path == "/":
            return Reply(200, self._home(entries), {"Content-Type": "text/html; charset=utf-8"})
        if path == "/list/":
            page = 1
            for part in query.split("&"):
                if part.startswith("page=") and part[5:].isdigit():
                    page = int(part[5:])
            listing = site.listing(page)
            if listing is None:
                return Reply(404, b"no such page", {"Content-Type": "text/plain"})
            return self._conditional(listing, "text/html; charset=utf-8", headers)
        return self._test_route(path)

    def _home(self, entries: dict[str, Any]) -> bytes:
        """A front page for a person who opens the portal in a browser: what it serves."""
        feeds = "".join(f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>'
                        for p in sorted(entries))  # fmt: skip
        latest = "".join(
            f'<li><a href="{html.escape(a.path)}">{html.escape(a.title)}</a></li>'
            for a in self.site.articles[-10:][::-1]
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>newswatch sample "
            "portal</title></head><body><h1>newswatch sample portal</h1>"
            f"<p>{len(self.site.articles)} articles, served on this machine for the demo "
            "and the tests.</p><h2>Entry points</h2>"
            f"<ul>{feeds}<li><a href='/list/'>/list/</a> (listing pages)</li></ul>"
            f"<h2>Latest articles</h2><ul>{latest}</ul></body></html>"
        )
        return page.encode("utf-8")

    def _test_route(self, path: str) -> Reply:
        if path == "/broken/404":
            return Reply(404, b"<h1>Not Found</h1>", {"Content-Type": "text/html"})
        if path == "/broken/500":
            return Reply(500, b"<h1>Server Error</h1>", {"Content-Type": "text/html"})
        if path.startswith("/slow/"):
            seconds = float(path.split("/")[2] or 0)
            time.sleep(min(seconds, 30.0))
            return Reply(
                200, b"<html><body><p>slow</p></body></html>", {"Content-Type": "text/html"}
            )
        if path.startswith("/redirect/"):
            article = self.site.by_slug.get(path.split("/")[2])
            if article is not None:
                return Reply(301, b"", {"Location": self.base + article.path})
        if path == "/feeds/malformed.xml":
            return Reply(200, b"<rss><channel><item><title>broken", {"Content-Type": "text/xml"})
        if path.startswith("/private/"):
            return Reply(200, b"<html><body>private</body></html>", {"Content-Type": "text/html"})
        return Reply(404, b"<h1>Not Found</h1>", {"Content-Type": "text/html"})

    @staticmethod
    def _conditional(body: bytes, content_type: str, headers: dict[str, str]) -> Reply:
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        last_modified = format_datetime(LAST_MODIFIED, usegmt=True)
        lowered = {k.lower(): v for k, v in headers.items()}
        fresh = lowered.get("if-none-match") == etag
        since = lowered.get("if-modified-since")
        if not fresh and since and "if-none-match" not in lowered:
            try:
                fresh = parsedate_to_datetime(since) >= LAST_MODIFIED
            except (TypeError, ValueError):
                fresh = False
        base = {"ETag": etag, "Last-Modified": last_modified}
        if fresh:
            return Reply(304, b"", base)
        return Reply(200, body, {**base, "Content-Type": content_type})
