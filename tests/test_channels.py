"""Each channel against its loopback stand-in (tests/chat_servers.py): the rich format with
user text escaped, signatures the service checks, the error bodies it answers and how they
are sorted into transient and permanent, size limits, and digests."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from alerts.channels import Permanent, Transient, build_channel
from alerts.channels.base import MinuteWindow
from alerts.channels.dingtalk import dingtalk_markdown
from alerts.channels.feishu import feishu_card
from alerts.channels.teams import teams_message
from alerts.channels.telegram import telegram_html
from alerts.channels.webhook import webhook_signature
from alerts.channels.wecom import wecom_markdown
from alerts.formats import clip_parts, escape_markdown, snippet_parts
from crawler.config import parse_config
from tests.chat_servers import (
    DingTalkRobot,
    FeishuBot,
    Reply,
    SignedWebhookReceiver,
    TeamsWorkflow,
    TelegramBotApi,
    WeComBot,
    readme_verify,
)

HOSTILE_TITLE = "英伟达H20 <b>加粗</b> & *星号* [链接](http://evil.test) <@all>"
HOSTILE_SNIPPET = "【独家】据报道，英伟达【H20】芯片 <script>alert(1)</script> & *x* _y_ ~z~ #t"
DINGTALK_SECRET = "SEC0c3b6a5f4e8d7c2b1a09f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7"
FEISHU_SECRET = "qL3vR8tY1uI5oP9aS2dF6gH0"
WEBHOOK_SECRET = "whsec-4f6b1c9e2a7d8e3f0b5c"


def row(i: int = 1, *, title: str = HOSTILE_TITLE, snippet: str = HOSTILE_SNIPPET) -> dict:
    return {
        "id": i,
        "story_id": i,
        "rule": "h20",
        "title": title,
        "url": f"https://news.example.cn/tech/2026/h20-{i}.html?a=1&b=(2)",
        "source": "caixin",
        "published_at": "2026-03-20T08:00:00+08:00",
        "created_at": "2026-03-20T00:01:00Z",
        "terms": json.dumps(["H20"]),
        "snippet": snippet,
    }


def channel(toml: str) -> Any:
    return build_channel(parse_config("[[channels]]\nname = 'c'\n" + toml).channels[0])


@pytest.fixture
def feishu() -> Iterator[FeishuBot]:
    with FeishuBot(FEISHU_SECRET) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def dingtalk() -> Iterator[DingTalkRobot]:
    with DingTalkRobot(DINGTALK_SECRET) as server:
        yield server  # type: ignore[misc]


# -- shared text handling ---------------------------------------------------------------------


def test_snippet_parts_mark_the_match_not_the_articles_own_brackets() -> None:
    assert snippet_parts("【独家】英伟达【H20】芯片", ["H20"]) == [
        ("【独家】英伟达", False),
        ("H20", True),
        ("芯片", False),
    ]
    # the match folded: full width and Traditional script still find their term
    assert ("Ｈ２０", True) in snippet_parts("【图】部分【Ｈ２０】库存", ["H20"])
    assert ("昇騰", True) in snippet_parts("【快讯】【昇騰】叢集", ["昇腾"])


def test_clip_keeps_the_match_markup_balanced() -> None:
    parts = [("前文" * 10, False), ("H20", True), ("后文" * 10, False)]
    for limit in range(0, 50):
        clipped = clip_parts(parts, limit)
        assert sum(len(t) for t, _ in clipped) <= max(limit, 1)
        rendered = "".join(f"<b>{t}</b>" if m else t for t, m in clipped)
        assert rendered.count("<b>") == rendered.count("</b>")
    assert clip_parts(parts, 22) == [("前文" * 10, False), ("H", True), ("…", False)]


def test_markdown_escape_shows_text_as_itself() -> None:
    escaped = escape_markdown("*a* _b_ [c](d) <@all> & `e` ~f~ |g|")
    assert not re.search(r"[*_\[\]()<>`~|]", escaped)
    assert escaped.count("&#") == 17
    assert (
        escape_markdown("- item") == "&#45; item" and escape_markdown("2026-03-20") == "2026-03-20"
    )


def _entities_whole(text: str) -> bool:
    """Every & starts a complete character reference."""
    return all(
        re.match(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", text[i:], re.I)
        for i, ch in enumerate(text)
        if ch == "&"
    )


@pytest.mark.parametrize("size", [300, 1000, 5000])
def test_cutting_never_splits_an_escape(size: int) -> None:
    snippet = "【H20】" + "<&*>" * size
    rows = [dict(row(snippet=snippet, title="&<>*" * size), url="https://news.example.cn/a.html")]
    card = feishu_card("h20", rows, limit=3000)
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= 3000
    markdown = [e["text"]["content"] for e in card["card"]["elements"] if "text" in e]
    assert markdown and all(_entities_whole(text) for text in markdown)
    for limit in (500, 2000):
        markdown = wecom_markdown("h20", rows, limit=limit)["markdown"]["content"]
        assert len(markdown.encode()) <= limit and _entities_whole(markdown)
        html = telegram_html("h20", rows, limit=limit)
        assert len(html) <= limit and _entities_whole(html)
        assert html.count("<b>") == html.count("</b>")


# -- Feishu -------------------------------------------------------------------------------------


def test_feishu_signed_card_with_the_content_escaped(feishu: FeishuBot) -> None:
    sender = channel(f'type = "feishu"\nwebhook_url = "{feishu.url}"\nsecret = "{FEISHU_SECRET}"')
    sender.send("h20", [row()])
    [payload] = feishu.delivered
    card = payload["card"]
    assert card["header"]["title"]["content"] == HOSTILE_TITLE  # plain_text: shown as is
    texts = json.dumps(card["elements"], ensure_ascii=False)
    assert "**H20**" in texts and "【独家】" in texts
    assert "<script>" not in texts and "&#60;script&#62;" in texts and "&#42;x&#42;" in texts
    assert card["elements"][-1]["actions"][0]["url"] == row()["url"]
    fields = [f["text"]["content"] for f in card["elements"][0]["fields"]]
    assert fields == [
        "**Rule**\nh20",
        "**Matched**\nH20",
        "**Source**\ncaixin",
        "**Time**\n2026-03-20T08:00:00+08:00",
    ]


def test_feishu_wrong_secret_is_dead_with_the_reason(feishu: FeishuBot) -> None:
    sender = channel(f'type = "feishu"\nwebhook_url = "{feishu.url}"\nsecret = "not-the-secret"')
    with pytest.raises(Permanent, match="19021.*check secret"):
        sender.send("h20", [row()])
    unsigned = channel(f'type = "feishu"\nwebhook_url = "{feishu.url}"')
    with pytest.raises(Permanent, match="19021"):
        unsigned.send("h20", [row()])
    assert feishu.delivered == []


def test_feishu_error_codes_in_200_bodies(feishu: FeishuBot) -> None:
    sender = channel(f'type = "feishu"\nwebhook_url = "{feishu.url}"\nsecret = "{FEISHU_SECRET}"')
    feishu.script = [
        FeishuBot.error(11232, "frequency limited psm[lark.oapi.app_platform_runtime]"),
        FeishuBot.error(9499, "Bad Request"),
        Reply(502, "Bad Gateway"),
    ]
    with pytest.raises(Transient, match="11232 frequency limited"):
        sender.send("h20", [row()])
    with pytest.raises(Permanent, match="9499 Bad Request"):
        sender.send("h20", [row()])
    with pytest.raises(Transient, match="HTTP 502"):
        sender.send("h20", [row()])
    sender.send("h20", [row()])
    assert len(feishu.delivered) == 1 and len(feishu.received) == 4
    wrong = channel(f'type = "feishu"\nwebhook_url = "{feishu.base}/open-apis/bot/v2/hook/x"')
    with pytest.raises(Permanent, match="19001"):
        wrong.send("h20", [row()])


def test_feishu_rate_limit_from_the_service(feishu: FeishuBot) -> None:
    config = f'type = "feishu"\nwebhook_url = "{feishu.url}"\nsecret = "{FEISHU_SECRET}"'
    outcomes = []
    for _ in range(7):  # a fresh client each time: only the service's 5-a-second limit applies
        try:
            channel(config).send("h20", [row()])
            outcomes.append("sent")
        except Transient as exc:
            outcomes.append(str(exc))
    assert outcomes[:5] == ["sent"] * 5
    assert all("11232" in o for o in outcomes[5:])


def test_feishu_digest_fits_20kb(feishu: FeishuBot) -> None:
    sender = channel(f'type = "feishu"\nwebhook_url = "{feishu.url}"\nsecret = "{FEISHU_SECRET}"')
    rows = [row(i, snippet="【H20】" + "出口管制新规影响芯片供应链。" * 40) for i in range(200)]
    sender.send("h20", rows)
    [payload] = feishu.delivered
    card = payload["card"]
    assert card["header"]["title"]["content"] == "h20: 200 new stories"
    assert len(feishu.received[0].body) <= 20 * 1024
    note = card["elements"][-1]["elements"][0]["content"]
    shown = sum(1 for e in card["elements"] if e["tag"] == "div")
    assert 10 < shown < 200 and note == f"… and {200 - shown} more"


# -- DingTalk ---------------------------------------------------------------------------------


def test_dingtalk_signed_markdown(dingtalk: DingTalkRobot) -> None:
    sender = channel(
        f'type = "dingtalk"\nwebhook_url = "{dingtalk.url}"\nsecret = "{DINGTALK_SECRET}"'
    )
    sender.send("h20", [row()])
    [payload] = dingtalk.delivered
    text = payload["markdown"]["text"]
    assert payload["msgtype"] == "markdown" and payload["markdown"]["title"].startswith("[h20]")
    assert "**H20**" in text and "&#60;script&#62;" in text and "<script>" not in text
    assert "&#60;@all&#62;" in text  # no mention of everyone from a headline
    assert "[Open article](https://news.example.cn/tech/2026/h20-1.html?a=1&b=%282%29)" in text
    query = dingtalk.received[0].query
    assert set(query) == {"access_token", "timestamp", "sign"}


def test_no_webhook_url_or_token_reaches_the_log(
    dingtalk: DingTalkRobot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs each request's URL at INFO
    sender = channel(
        f'type = "dingtalk"\nwebhook_url = "{dingtalk.url}"\nsecret = "{DINGTALK_SECRET}"'
    )
    sender.send("h20", [row()])
    dingtalk.script = [DingTalkRobot.error(310000, "sign not match")]
    with pytest.raises(Permanent) as info:
        sender.send("h20", [row()])
    logged = caplog.text + str(info.value)
    assert DingTalkRobot.TOKEN not in logged and "sign=" not in logged


def test_dingtalk_sign_mismatch_and_bad_token_are_permanent(dingtalk: DingTalkRobot) -> None:
    wrong = channel(f'type = "dingtalk"\nwebhook_url = "{dingtalk.url}"\nsecret = "SEC{"0" * 64}"')
    with pytest.raises(Permanent, match="310000 sign not match"):
        wrong.send("h20", [row()])
    token = channel(
        f'type = "dingtalk"\nwebhook_url = "{dingtalk.base}/robot/send?access_token=nope"\n'
        f'secret = "{DINGTALK_SECRET}"'
    )
    with pytest.raises(Permanent, match="300001"):
        token.send("h20", [row()])
    assert dingtalk.delivered == []


def test_dingtalk_over_20_a_minute_is_retried_after_the_lock() -> None:
    with DingTalkRobot(DINGTALK_SECRET, per_minute=2) as robot:
        config = f'type = "dingtalk"\nwebhook_url = "{robot.url}"\nsecret = "{DINGTALK_SECRET}"'
        channel(config).send("h20", [row(1)])
        channel(config).send("h20", [row(2)])
        with pytest.raises(Transient) as info:
            channel(config).send("h20", [row(3)])
        assert "130101 send too fast" in str(info.value) and info.value.retry_after == 600
        robot.script = [DingTalkRobot.error(-1, "系统繁忙")]
        with pytest.raises(Transient, match="errcode -1"):
            channel(config).send("h20", [row(4)])
        assert len(robot.delivered) == 2


def test_the_channel_keeps_within_20_a_minute_itself(dingtalk: DingTalkRobot) -> None:
    sender = channel(
        f'type = "dingtalk"\nwebhook_url = "{dingtalk.url}"\nsecret = "{DINGTALK_SECRET}"'
    )
    for i in range(20):
        sender.send("h20", [row(i)])
    with pytest.raises(Transient) as info:
        sender.send("h20", [row(21)])
    assert len(dingtalk.received) == 20  # the 21st never left: the robot is not locked
    assert info.value.retry_after is not None and 50 < info.value.retry_after <= 60


def test_minute_window_frees_a_slot_after_a_minute() -> None:
    now = [1000.0]
    window = MinuteWindow("x", 2, clock=lambda: now[0])
    window.check()
    window.record()
    now[0] += 10
    window.record()
    with pytest.raises(Transient) as info:
        window.check()
    assert info.value.retry_after == pytest.approx(50)
    now[0] += 50.5
    window.check()


def test_dingtalk_digest_and_size() -> None:
    rows = [row(i, snippet="【H20】" + "供应链" * 200) for i in range(300)]
    payload = dingtalk_markdown("h20", rows)
    text = payload["markdown"]["text"]
    assert len(text.encode()) <= 20000 and text.startswith("### h20: 300 new stories")
    assert re.search(r"… and \d+ more$", text)


# -- WeCom --------------------------------------------------------------------------------------


def test_wecom_markdown_limits_and_errors() -> None:
    with WeComBot(per_minute=2) as bot:
        sender = channel(f'type = "wecom"\nwebhook_url = "{bot.url}"')
        sender.send("h20", [row()])
        rows = [row(i, snippet="【H20】" + "出口管制" * 100) for i in range(40)]
        sender.send("h20", rows)  # a digest cut under 4,096 bytes: the bot takes it
        content = bot.delivered[1]["markdown"]["content"]
        assert len(content.encode()) <= 4096 and "more" in content
        assert "**H20**" in bot.delivered[0]["markdown"]["content"]
        bot.script = [WeComBot.error(-1, "system busy")]
        with pytest.raises(Transient, match="-1 system busy"):
            sender.send("h20", [row()])
        with pytest.raises(Transient) as info:  # the bot's own limit (2 a minute here)
            channel(f'type = "wecom"\nwebhook_url = "{bot.url}"').send("h20", [row()])
        assert "45009" in str(info.value) and info.value.retry_after == 60
        wrong = channel(f'type = "wecom"\nwebhook_url = "{bot.base}/cgi-bin/webhook/send?key=x"')
        with pytest.raises(Permanent, match="93000"):
            wrong.send("h20", [row()])


# -- Teams ----------------------------------------------------------------------------------


def test_teams_adaptive_card_and_answers() -> None:
    with TeamsWorkflow() as flow:
        sender = channel(f'type = "teams"\nwebhook_url = "{flow.url}"')
        sender.send("h20", [row()])
        [message] = flow.delivered
        card = message["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        runs = [run for block in card["body"] for run in block["inlines"]]
        assert {"type": "TextRun", "text": "H20", "weight": "Bolder", "highlight": True} in runs
        assert any(run["text"].startswith("芯片 <script>") for run in runs)  # TextRun: plain
        assert card["actions"][0] == {
            "type": "Action.OpenUrl",
            "title": "Open article",
            "url": row()["url"],
        }
        flow.script = [
            Reply(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "7"}),
            Reply(502, "Bad Gateway"),
            Reply(400, {"error": {"code": "InvalidTemplate", "message": "flow failed"}}),
        ]
        with pytest.raises(Transient) as info:
            sender.send("h20", [row()])
        assert info.value.retry_after == 7
        with pytest.raises(Transient, match="HTTP 502"):
            sender.send("h20", [row()])
        with pytest.raises(Permanent, match="400 InvalidTemplate flow failed"):
            sender.send("h20", [row()])
        bad_sig = flow.url.replace(TeamsWorkflow.SIG, "forged")
        with pytest.raises(Permanent, match="401 DirectApiAuthorizationRequired") as dead:
            channel(f'type = "teams"\nwebhook_url = "{bad_sig}"').send("h20", [row()])
        assert "forged" not in str(dead.value)
        rows = [row(i, snippet="【H20】" + "出口管制" * 100) for i in range(100)]
        assert len(json.dumps(teams_message("h20", rows), ensure_ascii=False).encode()) <= 28 * 1024
        sender.send("h20", rows)
        assert len(flow.delivered) == 2


# -- Telegram -------------------------------------------------------------------------------


@pytest.fixture
def telegram() -> Iterator[TelegramBotApi]:
    with TelegramBotApi() as server:
        yield server  # type: ignore[misc]


def telegram_channel(server: TelegramBotApi, chat: str = "-1001234567890") -> Any:
    return channel(
        f'type = "telegram"\nbot_token = "{server.TOKEN}"\nchat_id = {chat}\n'
        f'api_url = "{server.base}"'
    )


def test_telegram_html_escaped_and_parsed(telegram: TelegramBotApi) -> None:
    telegram_channel(telegram).send("h20", [row()])
    [payload] = telegram.delivered
    assert payload["parse_mode"] == "HTML" and payload["chat_id"] == "-1001234567890"
    assert "<b>H20</b>" in payload["text"]
    [shown] = telegram.texts
    assert HOSTILE_TITLE in shown and "<script>alert(1)</script>" in shown  # as text
    assert 'href="https://news.example.cn/tech/2026/h20-1.html?a=1&amp;b=(2)"' in payload["text"]


def test_telegram_429_honours_retry_after_from_the_body(telegram: TelegramBotApi) -> None:
    telegram.script = [
        Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        )
    ]
    with pytest.raises(Transient) as info:
        telegram_channel(telegram).send("h20", [row()])
    assert info.value.retry_after == 3 and "Too Many Requests" in str(info.value)


def test_telegram_permanent_answers(telegram: TelegramBotApi) -> None:
    with pytest.raises(Permanent, match="chat not found"):
        telegram_channel(telegram, "-100999").send("h20", [row()])
    telegram.script = [
        Reply(
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -1009876543210},
            },
        ),
        Reply(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked"}),
        Reply(502, "Bad Gateway"),
    ]
    with pytest.raises(Permanent, match="set chat_id = -1009876543210"):
        telegram_channel(telegram).send("h20", [row()])
    with pytest.raises(Permanent, match="403 Forbidden"):
        telegram_channel(telegram).send("h20", [row()])
    with pytest.raises(Transient, match="502"):
        telegram_channel(telegram).send("h20", [row()])
    forged = channel(
        f'type = "telegram"\nbot_token = "42:forged-token"\nchat_id = 1\n'
        f'api_url = "{telegram.base}"'
    )
    with pytest.raises(Permanent, match="401 Unauthorized") as info:
        forged.send("h20", [row()])
    assert "forged-token" not in str(info.value)


def test_telegram_digest_within_4096_characters(telegram: TelegramBotApi) -> None:
    rows = [row(i, snippet="【H20】" + "<&>" * 100) for i in range(60)]
    telegram_channel(telegram).send("h20", rows)
    [text] = telegram.texts
    assert text.startswith("h20: 60 new stories") and len(text) <= 4096
    assert re.search(r"… and \d+ more$", text)


def test_a_refused_connection_is_transient_and_names_no_token() -> None:
    from tests.servers import free_port

    port = free_port()
    sender = channel(
        f'type = "telegram"\nbot_token = "{TelegramBotApi.TOKEN}"\nchat_id = 1\n'
        f'api_url = "http://127.0.0.1:{port}"\ntimeout = 2'
    )
    with pytest.raises(Transient) as info:
        sender.send("h20", [row()])
    assert TelegramBotApi.TOKEN not in str(info.value) and "ConnectError" in str(info.value)


# -- generic webhook --------------------------------------------------------------------------


def test_webhook_is_signed_and_the_readme_receiver_verifies_it() -> None:
    verify = readme_verify()
    with SignedWebhookReceiver(WEBHOOK_SECRET, verify) as receiver:
        sender = channel(
            f'type = "webhook"\nwebhook_url = "{receiver.url}"\nsecret = "{WEBHOOK_SECRET}"'
        )
        sender.send("h20", [row()])
        [body] = receiver.delivered
        assert body["type"] == "newswatch.alert" and body["rule"] == "h20"
        [alert] = body["alerts"]
        assert alert["title"] == HOSTILE_TITLE and alert["terms"] == ["H20"]
        assert {"text": "H20", "match": True} in alert["snippet_parts"]
        request = receiver.received[0]
        assert verify(request.body, request.headers, WEBHOOK_SECRET)
        assert not verify(request.body + b" ", request.headers, WEBHOOK_SECRET)  # tampered
        assert not verify(request.body, request.headers, "another-secret-entirely")
        stale = dict(request.headers)
        stale["x-newswatch-timestamp"] = str(int(time.time()) - 600)
        stale["x-newswatch-signature"] = webhook_signature(
            WEBHOOK_SECRET, int(stale["x-newswatch-timestamp"]), request.body
        )
        assert not verify(request.body, stale, WEBHOOK_SECRET)  # a replay, correctly signed
        sender.send("h20", [row()])  # the same alert again: same delivery id
        assert receiver.duplicates == 1 and len(receiver.delivered) == 1
        sender.send("h20", [row(1), row(2)])
        assert receiver.delivered[-1]["type"] == "newswatch.digest"


def test_webhook_answers() -> None:
    with SignedWebhookReceiver(WEBHOOK_SECRET, readme_verify()) as receiver:
        wrong = channel(
            f'type = "webhook"\nwebhook_url = "{receiver.url}"\nsecret = "0123456789abcdef-x"'
        )
        with pytest.raises(Permanent, match="HTTP 401"):
            wrong.send("h20", [row()])
        receiver.script = [Reply(503, "busy", {"Retry-After": "12"}), Reply(410, "gone")]
        sender = channel(
            f'type = "webhook"\nwebhook_url = "{receiver.url}"\nsecret = "{WEBHOOK_SECRET}"'
        )
        with pytest.raises(Transient) as info:
            sender.send("h20", [row()])
        assert info.value.retry_after == 12
        with pytest.raises(Permanent, match="HTTP 410"):
            sender.send("h20", [row()])
        assert receiver.rejected == 1 and receiver.delivered == []


# -- log ----------------------------------------------------------------------------------------


def test_log_channel_records_the_alert(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="alerts.channels.log")
    channel('type = "log"').send("h20", [row(1), row(2)])
    lines = [r.getMessage() for r in caplog.records if r.name == "alerts.channels.log"]
    assert len(lines) == 2 and all(r.levelno == logging.INFO for r in caplog.records)
    assert lines[0].startswith("alert h20 on c: 英伟达H20") and row(1)["url"] in lines[0]


# -- every rich format is valid for its parser ------------------------------------------------


class _Balanced(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag


@pytest.mark.parametrize("count", [1, 2, 25])
def test_telegram_html_is_balanced(count: int) -> None:
    parser = _Balanced()
    parser.feed(telegram_html("h20", [row(i) for i in range(count)]))
    assert parser.stack == []
