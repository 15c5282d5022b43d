"""HTTPS on 127.0.0.1 with throwaway certificates (trustme): Python's own static file
server (``http.server.SimpleHTTPRequestHandler``) over TLS, serving a small news site
written to a folder, and the TLS variants of the Slack and SMTP stand-ins."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

ARTICLES = {
    "chip-licences": (
        "Licence reviews for accelerator exports stretch into a third month",
        [
            "Exporters of data-centre accelerators say the review of their licence "
            "applications has now run past ninety days, longer than any earlier round.",
            "Two distributors told customers that shipments booked for the spring would "
            "move to the summer at the earliest, and asked for revised purchase orders.",
            "A trade lawyer who advises several suppliers said the agency had asked for "
            "more detail on end users, including the names of cloud tenants.",
        ],
    ),
    "entity-list-update": (
        "Eleven research institutes added to the trade restriction list",
        [
            "The commerce department added eleven research institutes and two component "
            "makers to its restricted list on Tuesday, citing military end uses.",
            "Companies that supply the listed institutes now need a licence for nearly "
            "every item, and most applications are expected to be denied.",
            "Industry groups said members were reviewing contracts signed this year and "
            "would pause deliveries until they had legal advice.",
        ],
    ),
}


def write_site(directory: Path, base: str) -> list[str]:
    """An RSS feed (``/feed.xml``) and its articles (``/news/<slug>.html``) under
    ``directory``, linked with absolute URLs on ``base``; returns the article URLs."""
    (directory / "news").mkdir(parents=True, exist_ok=True)
    items, urls = [], []
    for slug, (title, paragraphs) in ARTICLES.items():
        url = f"{base}/news/{slug}.html"
        urls.append(url)
        items.append(
            f"<item><title>{title}</title><link>{url}</link>"
            "<pubDate>Fri, 20 Mar 2026 08:00:00 GMT</pubDate></item>"
        )
        body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
        (directory / "news" / f"{slug}.html").write_text(
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}"
            f"</title></head><body><article><h1>{title}</h1>{body}</article></body></html>",
            encoding="utf-8",
        )
    (directory / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Trade desk</title><link>{base}/</link>{''.join(items)}</channel></rss>",
        encoding="utf-8",
    )
    return urls


class StaticHTTPSServer:
    """``SimpleHTTPRequestHandler`` over TLS with ``cert``; the paths it was asked for
    (after a completed handshake) are in ``requested``."""

    def __init__(self, directory: Path, cert: trustme.LeafCert, host: str = "127.0.0.1") -> None:
        self.requested: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:  # noqa: N802
                server.requested.append(self.path)
                super().do_GET()

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self.httpd = ThreadingHTTPServer((host, 0), partial(Handler, directory=str(directory)))
        # The handshake happens in the handler's thread, so a client that refuses the
        # certificate never blocks the accept loop.
        self.httpd.socket = context.wrap_socket(
            self.httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.port = int(self.httpd.server_address[1])
        self.base = f"https://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def static_https_site(
    directory: Path, cert: trustme.LeafCert
) -> Iterator[tuple[StaticHTTPSServer, list[str]]]:
    """The news site of :func:`write_site` served over TLS with ``cert``."""
    server = StaticHTTPSServer(directory, cert)
    try:
        yield server, write_site(directory, server.base)
    finally:
        server.close()
