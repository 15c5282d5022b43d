"""Real servers on 127.0.0.1 for alert delivery tests: a Slack incoming-webhook stand-in
and an SMTP server (aiosmtpd), both answering from a script before answering normally;
either can speak TLS with a given certificate (``tls=``, an ``ssl.SSLContext``)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SlackReply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class SlackWebhook:
    """Speaks the incoming-webhook protocol: 200 ``ok``; or, from ``script``, 429 with
    Retry-After, 500, 404 ``no_service`` ... Every POST body is kept in ``received``
    (only the ones answered 200 in ``delivered``)."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, path: str = "T000/B000/XXXX") -> None:
        self.script: list[SlackReply] = []
        self.received: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        self.delivered_at: list[float] = []  # time.time() of each delivery
        self.delay = 0.0  # seconds each answer takes (a send in flight for a while)
        self.lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                if webhook.delay:
                    time.sleep(webhook.delay)
                with webhook.lock:
                    webhook.received.append(payload)
                    reply = webhook.script.pop(0) if webhook.script else SlackReply(200, "ok")
                    if reply.status == 200:
                        webhook.delivered.append(payload)
                        webhook.delivered_at.append(time.time())
                body = reply.body.encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
            self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/services/{path}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _SmtpHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.server.lock:
            if self.server.rcpt_script:
                return self.server.rcpt_script.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.server.lock:
            if self.server.data_script:
                return self.server.data_script.pop(0)
            self.server.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; ``data_script``/``rcpt_script`` hold replies such as
    ``"451 4.3.0 try later"`` or ``"550 5.1.1 no such user"`` used before accepting."""

    def __init__(self, **smtp_options: Any) -> None:
        """``smtp_options`` go to aiosmtpd's controller: ``ssl_context`` (implicit TLS),
        ``tls_context`` (STARTTLS), ``authenticator``, ``auth_require_tls`` ..."""
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.data_script: list[str] = []
        self.rcpt_script: list[str] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(
            _SmtpHandler(self), hostname="127.0.0.1", port=self.port, **smtp_options
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def slack_and_smtp() -> Iterator[tuple[SlackWebhook, SmtpServer]]:
    slack, smtp = SlackWebhook(), SmtpServer()
    try:
        yield slack, smtp
    finally:
        slack.close()
        smtp.close()
