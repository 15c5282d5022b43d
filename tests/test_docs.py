"""Docs and code cannot drift: every command, config key and setting is documented, and
the example config is valid."""

from __future__ import annotations

import re

import click
import pytest
from pydantic import BaseModel

from crawler import settings as project_settings
from crawler.cli import cli
from crawler.config import (
    CHANNEL_MODELS,
    AlarmsConfig,
    ArchiveConfig,
    ClusterConfig,
    CrawlConfig,
    DeliveryConfig,
    EntityConfig,
    RuleConfig,
    SelectorsConfig,
    ServeConfig,
    SourceConfig,
    StoriesConfig,
    load_config,
    parse_config,
)
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "newswatch") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found.extend(commands(command, f"{prefix} {name}"))
    return found


@pytest.mark.parametrize(("name", "command"), commands(cli), ids=lambda x: str(x))
def test_every_command_is_documented_with_an_example(name: str, command: click.Command) -> None:
    assert f"`{name}" in README, f"{name} is not in the README's command table"
    assert "Example:" in (command.help or ""), f"{name} has no example in its docstring"
    for param in command.params:
        if isinstance(param, click.Option):
            flag = max(param.opts, key=len)
            assert flag in README, f"{name} {flag} is undocumented"


@pytest.mark.parametrize(
    "model",
    [
        ArchiveConfig,
        CrawlConfig,
        SourceConfig,
        SelectorsConfig,
        ServeConfig,
        RuleConfig,
        DeliveryConfig,
        AlarmsConfig,
        ClusterConfig,
        EntityConfig,
        StoriesConfig,
        *CHANNEL_MODELS.values(),
    ],
)
def test_every_config_key_is_documented(model: type[BaseModel]) -> None:
    for key in model.model_fields:
        assert re.search(rf"`(selectors\.)?{key}[`.]", README), f"{model.__name__}.{key}"


def test_every_newswatch_setting_is_documented() -> None:
    ours = [
        name
        for name in dir(project_settings)
        if name.isupper() and (name.startswith(("NEWSWATCH_", "ARCHIVE_", "RETRY_AFTER")))
    ]
    assert ours
    doc = project_settings.__doc__ or ""
    for name in ours:
        assert name in README, f"setting {name} is not in the README"
        assert name in doc, f"setting {name} is not in crawler/settings.py's docstring"


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SLACK_WEBHOOK_URL", "SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.setenv(var, "https://hooks.example/x" if var.startswith("SLACK") else "x")
    config = load_config(REPO / "newswatch.toml.example")
    assert len(config.sources) >= 15
    hosts = " ".join(u for s in config.sources for u in s.entry_urls)
    for site in (
        "163.com",
        "sina.com.cn",
        "guancha.cn",
        "huanqiu.com",
        "jiemian.com",
        "caixin.com",
        "thepaper.cn",
        "mofcom.gov.cn",
        "bis.gov",
        "federalregister.gov",
    ):
        assert site in hosts, site


def test_every_channel_type_is_documented_and_the_commented_examples_are_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for kind in CHANNEL_MODELS:
        assert f'`"{kind}"`' in README, kind
        assert kind in ("slack", "email") or f"| `{kind}` |" in README, kind
    example = (REPO / "newswatch.toml.example").read_text(encoding="utf-8")
    block = example.split("# --- More channels", 1)[1]
    toml = "\n".join(
        line[2:]
        for line in block.splitlines()
        if line.startswith("# [[") or (line.startswith("# ") and " = " in line)
    )
    env = {
        "FEISHU_WEBHOOK_URL": "https://open.feishu.cn/open-apis/bot/v2/hook/x",
        "FEISHU_SECRET": "feishu-secret",
        "DINGTALK_WEBHOOK_URL": "https://oapi.dingtalk.com/robot/send?access_token=x",
        "DINGTALK_SECRET": "SEC0123",
        "WECOM_WEBHOOK_URL": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
        "TEAMS_WORKFLOW_URL": "https://prod-00.westus.logic.azure.com/workflows/x",
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "NEWSWATCH_WEBHOOK_SECRET": "0123456789abcdef0123",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = parse_config(toml, path="newswatch.toml.example")
    expected = sorted(set(CHANNEL_MODELS) - {"slack", "email"})
    assert sorted(c.type for c in config.channels) == expected
