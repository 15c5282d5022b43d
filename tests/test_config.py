"""Config loading: valid files parse into typed objects; every mistake exits 2 naming the
file, the key and what was expected."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.config import ConfigError, load_config, parse_config, parse_duration
from tests.conftest import run_cli

VALID = """
[archive]
path = "archive.db"

[[sources]]
name = "mofcom"
feeds = ["https://www.mofcom.gov.cn/rss.xml"]
interval = "1s"
delay = 0

[[sources]]
name = "guancha"
listings = ["https://www.guancha.cn/economy"]
article_links = '/economy/\\d{4}_\\d{2}_\\d{2}_\\d+\\.shtml$'
listing_depth = 3
cron = "*/15 * * * *"
encoding = "gbk"
language = "zh-Hans"
[sources.selectors]
title = "h3.article-title"
body = "//div[@class='content']"
date = "span.time::text"

[[rules]]
name = "ascend"
keywords = ["昇腾"]
channels = ["team-slack"]

[[channels]]
name = "team-slack"
type = "slack"
webhook_url = "${SLACK_WEBHOOK_URL}"

[[channels]]
name = "desk"
type = "email"
host = "127.0.0.1"
port = 2525
sender = "newswatch@example.org"
recipients = ["desk@example.org"]
"""


def test_valid_config_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x")
    config = parse_config(VALID, path="x.toml")
    assert [s.name for s in config.sources] == ["mofcom", "guancha"]
    assert config.sources[0].every == timedelta(seconds=1)
    assert config.sources[0].delay == 0
    assert config.sources[1].selectors.body == "//div[@class='content']"
    assert config.channels[0].webhook_url.endswith("/x")  # type: ignore[union-attr]
    assert config.channels[1].port == 2525  # type: ignore[union-attr]


def test_defaults_are_polite() -> None:
    config = parse_config('[[sources]]\nname = "a"\nfeeds = ["https://a.example/rss"]\n')
    assert config.sources[0].delay >= 1
    assert config.sources[0].every == timedelta(hours=1)
    assert config.crawl.obey_robots is True
    assert config.crawl.concurrency_per_host <= 2


@pytest.mark.parametrize(
    ("snippet", "key", "expected"),
    [
        ('feedz = ["https://a.example/rss"]', "sources[0].feedz", "did you mean 'feeds'"),
        ('feeds = "https://a.example/rss"', "sources[0].feeds", "expected a list"),
        ('feeds = ["ftp://a.example/rss"]', "sources[0].feeds[0]", "absolute http(s) URL"),
        (
            'feeds = ["https://a.example/rss", "not a url"]',
            "sources[0].feeds[1]",
            "absolute http(s) URL",
        ),
        (
            'listings = ["https://a.example/"]\narticle_links = "("',
            "sources[0].article_links",
            "valid regular expression",
        ),
        (
            'feeds = ["https://a.example/rss"]\ninterval = "10 minutes"',
            "sources[0].interval",
            "duration",
        ),
        (
            'feeds = ["https://a.example/rss"]\ninterval = "0s"',
            "sources[0].interval",
            "at least 1 second",
        ),
        (
            'feeds = ["https://a.example/rss"]\ndelay = -1',
            "sources[0].delay",
            "expected a value of at least 0.0, got -1",
        ),
        ('feeds = ["https://a.example/rss"]\ndelay = "1"', "sources[0].delay", "a number"),
        ('feeds = ["https://a.example/rss"]\ncron = "every day"', "sources[0].cron", "crontab"),
        ('feeds = ["https://a.example/rss"]\nencoding = "klingon"', "sources[0].encoding", "codec"),
        (
            'feeds = ["https://a.example/rss"]\n[sources.selectors]\ntitle = "h1[["',
            "sources[0].selectors.title",
            "selector",
        ),
        (
            'feeds = ["https://a.example/rss"]\n[sources.selectors]\nheadline = "h1"',
            "sources[0].selectors.headline",
            "unknown key",
        ),
        ("", "sources[0]", "at least one entry point"),
        ('listings = ["https://a.example/"]', "sources[0].article_links", "required with listings"),
        (
            'feeds = ["https://a.example/rss"]\ninterval = "1h"\ncron = "0 * * * *"',
            "sources[0].cron",
            "not both",
        ),
    ],
)
def test_source_errors_name_the_key(snippet: str, key: str, expected: str) -> None:
    text = f'[[sources]]\nname = "a"\n{snippet}\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="bad.toml")
    assert info.value.key == key
    assert expected in info.value.message
    assert str(info.value).startswith(f"bad.toml: {key}: ")


def test_duplicate_source_name() -> None:
    text = """
[[sources]]
name = "a"
feeds = ["https://a.example/rss"]
[[sources]]
name = "a"
feeds = ["https://b.example/rss"]
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="dup.toml")
    assert info.value.key == "sources[1].name"
    assert "unique" in info.value.message


def test_unknown_top_level_section() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config('[archve]\npath = "x.db"\n')
    assert info.value.key == "archve"
    assert "did you mean 'archive'" in info.value.message


def test_env_substitution_and_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSWATCH_TEST_MISSING", raising=False)
    text = '[[channels]]\nname = "s"\ntype = "slack"\nwebhook_url = "${NEWSWATCH_TEST_MISSING}"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="env.toml")
    assert info.value.key == "channels[0].webhook_url"
    assert "NEWSWATCH_TEST_MISSING" in info.value.message
    monkeypatch.setenv("NEWSWATCH_TEST_MISSING", "https://hooks.example/abc")
    assert parse_config(text).channels[0].webhook_url == "https://hooks.example/abc"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[[rules]]\nname = "r"\n', "rules[0]", "at least one of keywords"),
        (
            '[[rules]]\nname = "r"\nkeywords = ["x"]\nchannels = ["nope"]\n',
            "rules[0].channels",
            "configured channel",
        ),
        ('[[rules]]\nname = "r"\nkeywords = ["x"]\nmode = "digest"\n', "rules[0].period", "digest"),
        (
            '[[rules]]\nname = "r"\nkeywords = ["x"]\nfields = ["body"]\n',
            "rules[0].fields[0]",
            "title",
        ),
        ('[[rules]]\nname = "r"\nregex = ["(unclosed"]\n', "rules[0].regex[0]", "regular"),
        (
            '[[channels]]\nname = "c"\ntype = "pigeon"\n',
            "channels[0].type",
            '"slack", "email", "feishu", "dingtalk", "wecom", "teams", "telegram", "webhook" '
            'or "log"',
        ),
        (
            '[[channels]]\nname = "c"\ntype = "email"\nhost = "h"\nsender = "a@b"\n',
            "channels[0].recipients",
            "required",
        ),
        (
            '[[channels]]\nname = "c"\ntype = "slack"\nwebhook = "https://x.example"\n',
            "channels[0].webhook",
            "unknown key",
        ),
    ],
)
def test_rule_and_channel_errors(text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="r.toml")
    assert info.value.key == key, info.value
    assert expected in info.value.message


def test_invalid_toml_and_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        parse_config("[[sources]\n", path="broken.toml")
    assert "valid TOML" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert "file not found" in str(info.value)


@pytest.mark.parametrize(
    ("value", "seconds"), [("45", 45.0), ('"45"', 45.0), ('"30s"', 30.0), ('"2m"', 120.0)]
)
def test_timeouts_take_seconds_or_a_duration(value: str, seconds: float) -> None:
    config = parse_config(
        f'[crawl]\ntimeout = {value}\n[[channels]]\nname = "l"\ntype = "slack"\n'
        f'webhook_url = "https://hooks.slack.test/x"\ntimeout = {value}\n'
    )
    assert config.crawl.timeout == seconds and config.channels[0].timeout == seconds


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[crawl]\ntimeout = "soon"', "crawl.timeout", 'a duration such as "30s"'),
        ("[crawl]\ntimeout = 0", "crawl.timeout", "expected a value above 0, got 0"),
        (
            "[crawl]\nconcurrency_per_host = 3",
            "crawl.concurrency_per_host",
            "expected a value of at most 2, got 3",
        ),
        (
            '[[channels]]\nname = "m"\ntype = "email"\nhost = "h"\nsender = "a@b.test"\n'
            "recipients = []",
            "channels[0].recipients",
            "expected at least 1 item(s), got []",
        ),
    ],
)
def test_bounds_are_said_like_every_other_error(text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path="bad.toml")
    assert info.value.key == key and expected in info.value.message, info.value.message


def test_parse_duration_units() -> None:
    assert parse_duration("30s") == timedelta(seconds=30)
    assert parse_duration("10m") == timedelta(minutes=10)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1d") == timedelta(days=1)


def test_cli_exits_2_naming_file_and_key(write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config('[[sources]]\nname = "a"\nfeedz = ["https://a.example/rss"]\n')
    for command in ("check", "crawl", "sources"):
        result = run_cli("--config", str(path), command)
        assert result.returncode == 2, result.stderr
        assert str(path) in result.stderr
        assert "sources[0].feedz" in result.stderr


def test_cli_reads_config_from_environment(write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config('[[sources]]\nname = "a"\nfeeds = ["https://a.example/rss"]\n')
    result = run_cli("check", env={"NEWSWATCH_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    assert "ok (1 source, 0 rules, 0 channels)" in result.stdout
