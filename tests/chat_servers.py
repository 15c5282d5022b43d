"""Real HTTP servers on 127.0.0.1 that answer like Feishu, DingTalk, WeCom, Teams Workflows,
the Telegram Bot API and a signed-webhook receiver: their paths, tokens, signature checks
(written here from each service's documentation, not from newswatch's clients), message
checks, per-minute limits and error bodies. ``script`` holds replies used before answering
normally; ``received`` keeps every request, ``delivered`` the payloads a real chat would show.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON, str → text
    headers: dict[str, str] = field(default_factory=dict)


class RateLimit:
    """At most ``per_minute`` requests in any ``window`` seconds (``per_second`` in any 1 s);
    a refused request locks the sender out for ``lock`` seconds (DingTalk: ten minutes)."""

    def __init__(
        self,
        per_minute: int,
        *,
        per_second: int | None = None,
        lock: float = 0.0,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute, self.per_second, self.lock, self.window = (
            per_minute,
            per_second,
            lock,
            window,
        )
        self.clock = clock
        self.times: deque[float] = deque()
        self.locked_until = 0.0

    def allow(self) -> bool:
        now = self.clock()
        if now < self.locked_until:
            return False
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        recent = sum(1 for t in self.times if t > now - 1.0)
        if len(self.times) >= self.per_minute or (
            self.per_second is not None and recent >= self.per_second
        ):
            self.locked_until = now + self.lock
            return False
        self.times.append(now)
        return True


class StandIn:
    """A threaded HTTP server; subclasses implement :meth:`answer`."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.received: list[Request] = []
        self.delivered: list[Any] = []
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                parts = urlsplit(self.path)
                request = Request(
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                with stand_in.lock:
                    stand_in.received.append(request)
                    reply = stand_in.script.pop(0) if stand_in.script else stand_in.answer(request)
                if isinstance(reply.body, dict | list):
                    body = json.dumps(reply.body, ensure_ascii=False).encode()
                    kind = "application/json; charset=utf-8"
                else:
                    body = str(reply.body or "").encode()
                    kind = "text/plain; charset=utf-8"
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # a short poll keeps shutdown() quick: tests start six of these at a time
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


# -- Feishu ---------------------------------------------------------------------------------


class FeishuBot(StandIn):
    """``POST /open-apis/bot/v2/hook/<token>``. With ``secret``: ``timestamp`` (seconds,
    within an hour) and ``sign`` = base64(HMAC-SHA256(key = "timestamp\\nsecret", msg = ""))
    in the body, else code 19021. 100 a minute and 5 a second, else 11232. A body over 20 KB
    or a card without elements: 9499."""

    TOKEN = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

    def __init__(self, secret: str | None = None, *, per_minute: int = 100) -> None:
        super().__init__()
        self.secret = secret
        self.limit = RateLimit(per_minute, per_second=5)
        self.url = f"{self.base}/open-apis/bot/v2/hook/{self.TOKEN}"

    @staticmethod
    def error(code: int, msg: str) -> Reply:
        return Reply(200, {"code": code, "data": {}, "msg": msg})

    def answer(self, request: Request) -> Reply:
        if request.path != f"/open-apis/bot/v2/hook/{self.TOKEN}":
            return self.error(19001, "param invalid: incoming webhook access token invalid")
        payload = request.json()
        if not isinstance(payload, dict) or len(request.body) > 20 * 1024:
            return self.error(9499, "Bad Request")
        if self.secret is not None:
            stamp = str(payload.get("timestamp", ""))
            expected = _hmac_b64(f"{stamp}\n{self.secret}".encode(), b"")
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 3600
            if not fresh or not hmac.compare_digest(str(payload.get("sign", "")), expected):
                return self.error(
                    19021, "sign match fail or timestamp is not within one hour from current time"
                )
        if not self.limit.allow():
            return self.error(11232, "frequency limited psm[lark.oapi.app_platform_runtime]")
        card = payload.get("card")
        if payload.get("msg_type") != "interactive" or not isinstance(card, dict):
            return self.error(9499, "Bad Request")
        if not card.get("elements") or not card.get("header", {}).get("title", {}).get("content"):
            return self.error(9499, "Bad Request")
        self.delivered.append(payload)
        return Reply(
            200,
            {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"},
        )


# -- DingTalk -------------------------------------------------------------------------------


class DingTalkRobot(StandIn):
    """``POST /robot/send?access_token=...``. With ``secret``: ``timestamp`` (ms, within an
    hour) and ``sign`` = urlencode(base64(HMAC-SHA256(key = secret, msg =
    "timestamp\\nsecret"))) in the query, else 310000. 20 messages a minute; the 21st gets
    130101 and the robot stays limited for ``lock`` seconds (ten minutes)."""

    TOKEN = "5f0c8e1a9b7d4c3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e"

    def __init__(
        self, secret: str | None = None, *, per_minute: int = 20, lock: float = 600.0
    ) -> None:
        super().__init__()
        self.secret = secret
        self.limit = RateLimit(per_minute, lock=lock)
        self.url = f"{self.base}/robot/send?access_token={self.TOKEN}"

    @staticmethod
    def error(code: int, msg: str) -> Reply:
        return Reply(200, {"errcode": code, "errmsg": msg})

    def answer(self, request: Request) -> Reply:
        if request.path != "/robot/send" or request.query.get("access_token") != self.TOKEN:
            return self.error(300001, "token is not exist")
        if self.secret is not None:
            stamp = request.query.get("timestamp", "")
            expected = _hmac_b64(self.secret.encode(), f"{stamp}\n{self.secret}".encode())
            fresh = stamp.isdigit() and abs(time.time() * 1000 - int(stamp)) <= 3_600_000
            # parse_qs has already URL-decoded the sign
            if not fresh or not hmac.compare_digest(request.query.get("sign", ""), expected):
                return self.error(310000, "sign not match, more: [https://ding-doc.dingtalk.com]")
        if not self.limit.allow():
            return self.error(130101, "send too fast, exceed 20 times per minute")
        payload = request.json()
        if not isinstance(payload, dict) or payload.get("msgtype") != "markdown":
            return self.error(40035, "缺少参数 json")
        markdown = payload.get("markdown") or {}
        if not markdown.get("title") or not markdown.get("text"):
            return self.error(40035, "缺少参数 markdown")
        if len(markdown["text"].encode()) > 20000:
            return self.error(40035, "消息内容超过长度限制")
        self.delivered.append(payload)
        return self.error(0, "ok")


# -- WeCom ----------------------------------------------------------------------------------


class WeComBot(StandIn):
    """``POST /cgi-bin/webhook/send?key=...``: 20 messages a minute (45009), markdown
    content up to 4,096 bytes (40058), an unknown key 93000."""

    KEY = "693a91f6-7a0c-4bc4-97a0-0ec2d1f5a0aa"

    def __init__(self, *, per_minute: int = 20) -> None:
        super().__init__()
        self.limit = RateLimit(per_minute)
        self.url = f"{self.base}/cgi-bin/webhook/send?key={self.KEY}"

    @staticmethod
    def error(code: int, msg: str) -> Reply:
        return Reply(200, {"errcode": code, "errmsg": msg})

    def answer(self, request: Request) -> Reply:
        if request.path != "/cgi-bin/webhook/send" or request.query.get("key") != self.KEY:
            return self.error(93000, "invalid webhook url, hint: [1700000000_1_abc]")
        if not self.limit.allow():
            return self.error(45009, "api freq out of limit, hint: [1700000000_2_abc]")
        payload = request.json()
        if not isinstance(payload, dict) or payload.get("msgtype") != "markdown":
            return self.error(40008, "invalid message type")
        content = (payload.get("markdown") or {}).get("content") or ""
        if not content:
            return self.error(44004, "empty content")
        if len(content.encode()) > 4096:
            return self.error(40058, "markdown.content exceed max length 4096")
        self.delivered.append(payload)
        return self.error(0, "ok")


# -- Teams ----------------------------------------------------------------------------------


class TeamsWorkflow(StandIn):
    """A Workflows trigger, ``POST /workflows/<id>/triggers/manual/paths/invoke?...&sig=``:
    202 for a message with one Adaptive Card attachment; 401 for a wrong ``sig``, 400 for
    another payload, 413 over 28 KB."""

    SIG = "kJ2qX9vQ0cYc3pQ7m1Zr8Hq5nB4wV6tE2uA9sD0fG1h"

    def __init__(self) -> None:
        super().__init__()
        self.url = (
            f"{self.base}/workflows/8e2f0c3a6b1d4e5f9a7c2b1d0e3f4a5b/triggers/manual/paths/"
            f"invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.SIG}"
        )

    def answer(self, request: Request) -> Reply:
        if request.query.get("sig") != self.SIG:
            return Reply(
                401,
                {
                    "error": {
                        "code": "DirectApiAuthorizationRequired",
                        "message": "The request must be authenticated.",
                    }
                },
            )
        if len(request.body) > 28 * 1024:
            return Reply(413, {"error": {"code": "MessageSizeExceeded", "message": "too large"}})
        payload = request.json()
        attachments = payload.get("attachments") if isinstance(payload, dict) else None
        if (
            not isinstance(payload, dict)
            or payload.get("type") != "message"
            or not isinstance(attachments, list)
            or len(attachments) != 1
            or attachments[0].get("contentType") != "application/vnd.microsoft.card.adaptive"
            or attachments[0].get("content", {}).get("type") != "AdaptiveCard"
        ):
            return Reply(
                400, {"error": {"code": "InvalidRequestContent", "message": "bad message"}}
            )
        self.delivered.append(payload)
        return Reply(202, "")


# -- Telegram -------------------------------------------------------------------------------

_TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "blockquote", "tg-spoiler", "span",
}  # fmt: skip


class _TelegramHtml(HTMLParser):
    """Parses text the way the Bot API's HTML mode does: known tags only, balanced; the
    rendered text is collected (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.error = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TELEGRAM_TAGS:
            self.error = f'can\'t parse entities: unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = f"can't parse entities: can't find end tag corresponding to \"{tag}\""

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class TelegramBotApi(StandIn):
    """``POST /bot<token>/sendMessage``: 401 for another token, 400 "chat not found", 400 for
    HTML it cannot parse or text over 4,096 characters; ``per_minute`` messages a minute,
    then 429 with ``parameters.retry_after``."""

    TOKEN = "123456789:AAHd4f2Q9xZr7Tq1mB3kL8nV5cW0yE6uI2o"

    def __init__(self, chat_id: str = "-1001234567890", *, per_minute: int = 20) -> None:
        super().__init__()
        self.chat_id = chat_id
        self.limit = RateLimit(per_minute)
        self.texts: list[str] = []  # as the chat shows them

    @staticmethod
    def error(code: int, description: str, **parameters: Any) -> Reply:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        headers = (
            {"Retry-After": str(parameters["retry_after"])} if "retry_after" in parameters else {}
        )
        return Reply(code, body, headers)

    def answer(self, request: Request) -> Reply:
        if request.path != f"/bot{self.TOKEN}/sendMessage":
            return self.error(401, "Unauthorized")
        payload = request.json() or {}
        if str(payload.get("chat_id")) != self.chat_id:
            return self.error(400, "Bad Request: chat not found")
        if not self.limit.allow():
            return self.error(429, "Too Many Requests: retry after 3", retry_after=3)
        parser = _TelegramHtml()
        if payload.get("parse_mode") == "HTML":
            parser.feed(payload.get("text") or "")
            parser.close()
            if parser.error or parser.stack:
                return self.error(400, f"Bad Request: {parser.error or 'unclosed tag'}")
            text = "".join(parser.text)
        else:
            text = payload.get("text") or ""
        if not text.strip():
            return self.error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self.error(400, "Bad Request: message is too long")
        self.delivered.append(payload)
        self.texts.append(text)
        message = {
            "message_id": len(self.delivered),
            "chat": {"id": int(self.chat_id)},
            "text": text,
        }
        return Reply(200, {"ok": True, "result": message})


# -- signed webhook -------------------------------------------------------------------------


class SignedWebhookReceiver(StandIn):
    """Verifies with ``verify`` (the README's receiver example): a bad signature or a stale
    timestamp is 401; a delivery id seen before is answered 200 and counted in
    ``duplicates``, not delivered again."""

    def __init__(self, secret: str, verify: Callable[[bytes, dict[str, str], str], bool]) -> None:
        super().__init__()
        self.secret = secret
        self.verify = verify
        self.url = f"{self.base}/hooks/newswatch"
        self.seen: set[str] = set()
        self.duplicates = 0
        self.rejected = 0

    def answer(self, request: Request) -> Reply:
        if not self.verify(request.body, request.headers, self.secret):
            self.rejected += 1
            return Reply(401, {"error": "bad signature or stale timestamp"})
        delivery = request.headers.get("x-newswatch-delivery", "")
        if delivery in self.seen:
            self.duplicates += 1
            return Reply(200, {"ok": True, "duplicate": True})
        self.seen.add(delivery)
        self.delivered.append(json.loads(request.body))
        return Reply(200, {"ok": True})


def readme_verify() -> Callable[[bytes, dict[str, str], str], bool]:
    """The ``verify`` function of the README's receiver example, executed as written."""
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\n# verify a newswatch webhook")
    code = readme[start + len("```python\n") : readme.index("```\n", start + 10)]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    verify: Callable[[bytes, dict[str, str], str], bool] = namespace["verify"]
    return verify


__all__ = [
    "DingTalkRobot",
    "FeishuBot",
    "RateLimit",
    "Reply",
    "SignedWebhookReceiver",
    "TeamsWorkflow",
    "TelegramBotApi",
    "WeComBot",
    "readme_verify",
]
