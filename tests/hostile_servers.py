"""A hostile news site on 127.0.0.1 for the crawl's defences: a listing whose links lead to
a decompression bomb, an endless body, a slow drip, redirect loops, a redirect chain into
another loopback service, and redirects to ``file:`` and cloud-metadata URLs; plus one
honest article. Every stream stops by itself (bounded in bytes and seconds)."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STREAM_LIMIT_SECONDS = 60.0
STREAM_LIMIT_BYTES = 256 * 1024 * 1024

HONEST = (
    b"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
    b"<title>Export licences for lithography tools tightened</title></head><body><article>"
    b"<h1>Export licences for lithography tools tightened</h1>"
    b"<p>Suppliers of lithography tools now need a licence for a wider range of parts, "
    b"including spare parts and servicing, according to a notice published on Monday.</p>"
    b"<p>The notice gives exporters thirty days to apply for licences covering machines "
    b"already installed at customer sites, after which servicing must stop.</p>"
    b"<p>Analysts said the change would mostly affect older deep ultraviolet machines that "
    b"had been serviced under general authorisations until now.</p>"
    b"</article></body></html>"
)


def _bomb(size: int) -> bytes:
    """A gzip body of ``size`` zero bytes (about a thousandth of that on the wire)."""
    return gzip.compress(b"\0" * size, compresslevel=9)


class HostileSite:
    """Routes under ``/``: ``/list`` (links to all below), ``/news/honest.html``,
    ``/news/bomb.html``, ``/news/endless.html``, ``/news/drip.html``,
    ``/news/loop-a.html`` ⇄ ``/news/loop-b.html``, ``/news/chain/<n>.html`` (n hops, then
    to ``inside``), ``/news/to-file.html``, ``/news/to-metadata.html``. ``inside`` is the
    base URL of a service that must never be reached."""

    def __init__(self, inside: str, *, bomb_size: int = 64 * 1024 * 1024) -> None:
        self.inside = inside
        self.bomb = _bomb(bomb_size)
        self.requests: list[str] = []
        self.sent: dict[str, int] = {}
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:  # noqa: N802
                with site.lock:
                    site.requests.append(self.path)
                # the crawler hanging up mid-stream is the point
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
                    site.route(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requested(self, prefix: str) -> list[str]:
        with self.lock:
            return [p for p in self.requests if p.startswith(prefix)]

    # -- routes ---------------------------------------------------------------------------

    def links(self) -> list[str]:
        return [
            "/news/honest.html",
            "/news/bomb.html",
            "/news/endless.html",
            "/news/drip.html",
            "/news/loop-a.html",
            "/news/chain/5.html",
            "/news/to-file.html",
            "/news/to-metadata.html",
        ]

    def route(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        if path == "/robots.txt":
            return self._reply(handler, 200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/list":
            body = "".join(f'<a href="{link}">x</a>' for link in self.links()).encode()
            return self._reply(handler, 200, b"<html><body>" + body + b"</body></html>")
        if path == "/news/honest.html":
            return self._reply(handler, 200, HONEST)
        if path == "/news/bomb.html":
            return self._reply(handler, 200, self.bomb, headers={"Content-Encoding": "gzip"})
        if path == "/news/endless.html":
            return self._endless(handler)
        if path == "/news/drip.html":
            return self._drip(handler)
        if path == "/news/loop-a.html":
            return self._redirect(handler, "/news/loop-b.html")
        if path == "/news/loop-b.html":
            return self._redirect(handler, "/news/loop-a.html")
        if path.startswith("/news/chain/"):
            hops = int(path.rsplit("/", 1)[1].split(".")[0])
            target = f"/news/chain/{hops - 1}.html" if hops > 1 else f"{self.inside}/secret"
            return self._redirect(handler, target)
        if path == "/news/to-file.html":
            return self._redirect(handler, "file:///etc/passwd")
        if path == "/news/to-metadata.html":
            return self._redirect(handler, "http://169.254.169.254/latest/meta-data/")
        return self._reply(handler, 404, b"not found")

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _redirect(self, handler: BaseHTTPRequestHandler, location: str) -> None:
        self._reply(handler, 302, b"", headers={"Location": location})

    def _count(self, path: str, sent: int) -> None:
        with self.lock:
            self.sent[path] = self.sent.get(path, 0) + sent

    def _endless(self, handler: BaseHTTPRequestHandler) -> None:
        """A body with no length that never ends (until the limits above)."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"<p>" + b"more " * 13000 + b"</p>\n"
        started, sent = time.monotonic(), 0
        try:
            while sent < STREAM_LIMIT_BYTES and time.monotonic() - started < STREAM_LIMIT_SECONDS:
                handler.wfile.write(chunk)
                sent += len(chunk)
        finally:
            self._count("/news/endless.html", sent)
            handler.close_connection = True

    def _drip(self, handler: BaseHTTPRequestHandler) -> None:
        """Promises 100 kB, then sends a byte every half second."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        started, sent = time.monotonic(), 0
        try:
            while time.monotonic() - started < STREAM_LIMIT_SECONDS:
                handler.wfile.write(b" ")
                handler.wfile.flush()
                sent += 1
                time.sleep(0.5)
        finally:
            self._count("/news/drip.html", sent)
            handler.close_connection = True
