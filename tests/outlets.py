"""Three news sites on 127.0.0.1 unlike the demo portal, for the end-to-end test of
issue 16: an English wire (datelines, metadata in UTC), a Chinese portal in the layout of
the big mainland portals (a ``post_info`` line with the time and ``来源：``, GBK, reposts of
Xinhua copy) and a Chinese mobile site that shows only relative times (``3小时前``,
``昨天 14:30``) and no date metadata. Each has a news sitemap. Times are relative to when
the server starts, as on a live site; a story's text may name the day of the event, 20
hours before the start, as ``{weekday}`` (English) or ``{day}`` (the day of the month)."""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Story:
    site: str  # "wire", "portal" or "mobile"
    slug: str
    title: str
    paragraphs: tuple[str, ...]
    hours_ago: float = 2.0  # when it was published, before the server started
    shown_time: str | None = None  # what the mobile site shows instead of a date
    credit: str | None = None  # the portal's 来源


def _wire(story: Story, published: datetime) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | Wire</title>
<meta name="article:published_time" content="{published.isoformat()}">
</head><body><div class="masthead"><a href="/">Wire</a> <a href="/world">World</a></div>
<main><article><header><h1>{html.escape(story.title)}</h1>
<p class="byline">By Staff Writers</p></header>
<div class="article-body">{body}</div></article></main>
<aside><h2>Most read</h2><ul><li>Markets wrap</li><li>Oil prices ascend again</li></ul></aside>
</body></html>"""


def _portal(story: Story, published: datetime) -> str:
    local = published.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    credit = f"来源: <a href='#'>{html.escape(story.credit)}</a>" if story.credit else ""
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(story.title)}_网易科技</title></head><body>
<div class="N-nav"><a href="/">首页</a><a href="/tech">科技</a><a href="/money">财经</a></div>
<div class="post_main"><h1 class="post_title">{html.escape(story.title)}</h1>
<div class="post_info">{local}　{credit}　<a href="#comments">举报</a></div>
<div class="post_body">{body}
<p class="otitle">（原标题：{html.escape(story.title)}）</p></div></div>
<div class="post_side"><h3>热点新闻</h3><ul><li>半导体板块情绪升腾</li></ul></div>
</body></html>"""


def _mobile(story: Story, published: datetime) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>{html.escape(story.title)}</title>
</head><body><div class="top-bar">科技快讯</div>
<div class="article"><h1>{html.escape(story.title)}</h1>
<div class="meta"><span class="author">快讯编辑部</span>
<span class="t">{story.shown_time}</span></div>
<div class="rich-text">{body}</div></div>
<div class="recommend"><div class="item">另一条快讯 <span>刚刚</span></div></div>
</body></html>"""


RENDER = {"wire": _wire, "portal": _portal, "mobile": _mobile}
CHARSET = {"wire": "utf-8", "portal": "gbk", "mobile": "utf-8"}


class Outlets:
    """The three sites, each under its own path prefix: ``/wire/``, ``/portal/``,
    ``/mobile/``, with ``/<site>/sitemap.xml``."""

    def __init__(self, stories: list[Story]) -> None:
        self.started = datetime.now(UTC).replace(microsecond=0)
        self.stories = {f"/{s.site}/{s.slug}.html": s for s in stories}
        outlets = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                status, body, content_type = outlets.reply(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def published(self, story: Story) -> datetime:
        return self.started - timedelta(hours=story.hours_ago)

    def reply(self, path: str) -> tuple[int, bytes, str]:
        site = path.strip("/").split("/")[0]
        if path.endswith("/sitemap.xml") and site in RENDER:
            return 200, self.sitemap(site), "application/xml"
        story = self.stories.get(path)
        if story is None:
            return 404, b"not found", "text/plain"
        event = self.started - timedelta(hours=20)
        paragraphs = tuple(
            p.replace("{weekday}", event.strftime("%A")).replace("{day}", str(event.day))
            for p in story.paragraphs
        )
        story = Story(**{**story.__dict__, "paragraphs": paragraphs})
        page = RENDER[story.site](story, self.published(story))
        charset = CHARSET[story.site]
        return 200, page.encode(charset), f"text/html; charset={charset}"

    def sitemap(self, site: str) -> bytes:
        urls = "\n".join(
            f"<url><loc>{self.base}{path}</loc></url>"
            for path, story in self.stories.items()
            if story.site == site
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Outlets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
