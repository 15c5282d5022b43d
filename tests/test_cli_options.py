"""Issue 14: --config, -v, --log-file and --log-format are accepted after a command's name as
well as before it, by every command and subcommand; shell completion; --version."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler import __version__
from crawler.cli import cli
from crawler.demo.portal import PortalServer
from tests.conftest import portal_config, run_cli

SHARED = ("--config", "--verbose", "--log-file", "--log-format")


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(command_paths(command, (*prefix, name)))
    return found


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


ALL_COMMANDS = command_paths(cli)

# What each command needs besides options to get as far as reading its config.
ARGUMENTS: dict[tuple[str, ...], list[str]] = {
    ("search",): ["昇腾"],
    ("rules", "test"): ["--text", "英伟达H20芯片"],
    ("rules", "backtest"): ["ascend"],
}
# Commands that never read a config (they accept the options all the same).
NO_CONFIG = {("extract",), ("demo",), ("rules",)}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI configures the root logger; give the test process its own back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_tree_is_walked() -> None:
    assert {("sources",), ("rules", "test"), ("alerts", "retry"), ("status",)} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", [(), *ALL_COMMANDS], ids=lambda p: " ".join(p) or "newswatch")
def test_every_command_and_group_has_the_shared_options(path: tuple[str, ...]) -> None:
    params = {max(p.opts, key=len) for p in command_at(path).params if isinstance(p, click.Option)}
    assert set(SHARED) <= params, f"newswatch {' '.join(path)} lacks {set(SHARED) - params}"


@pytest.mark.parametrize(
    "path", [p for p in ALL_COMMANDS if p not in NO_CONFIG], ids=lambda p: " ".join(p)
)
def test_config_after_the_command_name_is_the_one_read(
    path: tuple[str, ...], tmp_path: Path, restore_logging: None
) -> None:
    missing = tmp_path / "given-after.toml"
    args = [*path, *ARGUMENTS.get(path, []), "--config", str(missing)]
    result = CliRunner().invoke(cli, args, prog_name="newswatch")
    assert result.exit_code == 2, result.output
    assert f"{missing}: file not found" in result.output


def test_extract_takes_the_options_after_its_name(tmp_path: Path, restore_logging: None) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body><article><p>英伟达H20芯片</p></article></body></html>")
    log = tmp_path / "extract.log"
    args = ["extract", str(page), "--config", str(tmp_path / "none.toml"), "--log-file", str(log)]
    result = CliRunner().invoke(cli, args, prog_name="newswatch")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["file"] == str(page)


def test_options_after_subcommands_in_child_processes(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    config = write_config(
        portal_config(portal.base, tmp_path / "a.db")
        + '\n[[rules]]\nname = "h20"\nkeywords = ["H20"]\n'
    )
    other = tmp_path / "elsewhere"
    other.mkdir()
    # the issue's own example
    listed = run_cli("sources", "--config", str(config), cwd=other)
    assert listed.returncode == 0, listed.stderr
    assert "portal-feeds" in listed.stdout and "No such option" not in listed.stderr
    # a subcommand of a group, options after it, before it and between
    fired = run_cli("rules", "test", "--text", "英伟达H20芯片", "--config", str(config), cwd=other)
    assert json.loads(fired.stdout)["fired"][0]["rule"] == "h20", fired.stderr
    between = run_cli("rules", "--config", str(config), "test", "--text", "H20", cwd=other)
    assert json.loads(between.stdout)["fired"][0]["rule"] == "h20", between.stderr
    # -v, --log-file and --log-format after the command: a JSON log at INFO in the file
    log = tmp_path / "crawl.log"
    crawled = run_cli(
        "crawl",
        "--source",
        "portal-feeds",
        "--config",
        str(config),
        "-v",
        "--log-file",
        str(log),
        "--log-format",
        "json",
        cwd=other,
    )
    assert crawled.returncode == 0, crawled.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records and {r["level"] for r in records} >= {"INFO"}
    retried = run_cli("alerts", "retry", "--config", str(config), cwd=other)
    assert retried.returncode == 0 and "queued again" in retried.stdout, retried.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"newswatch, version {__version__}"


def test_bash_completion_script_is_produced() -> None:
    result = run_cli(env={"_NEWSWATCH_COMPLETE": "bash_source"})
    assert result.returncode == 0, result.stderr
    assert "complete -o nosort -F _newswatch_completion newswatch" in result.stdout


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("zsh", "#compdef newswatch"), ("fish", "complete --no-files --command newswatch")],
)
def test_zsh_and_fish_completion_scripts_are_produced(shell: str, marker: str) -> None:
    result = CliRunner().invoke(
        cli, [], prog_name="newswatch", env={"_NEWSWATCH_COMPLETE": f"{shell}_source"}
    )
    assert result.exit_code == 0, result.output
    assert marker in result.output


def test_completion_offers_commands_and_configured_names(write_config) -> None:  # type: ignore[no-untyped-def]
    config = write_config(
        '[[sources]]\nname = "caixin"\nfeeds = ["https://a.example/rss"]\n'
        '[[sources]]\nname = "mofcom"\nfeeds = ["https://b.example/rss"]\n'
        '[[rules]]\nname = "ascend"\nkeywords = ["昇腾"]\n'
    )

    def complete(words: str) -> list[str]:
        env = {
            "_NEWSWATCH_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        result = CliRunner().invoke(cli, [], prog_name="newswatch", env=env)
        assert result.exit_code == 0, result.output
        return [line.split(",", 1)[1] for line in result.output.splitlines()]

    assert "crawl" in complete("newswatch cr")
    assert complete(f"newswatch crawl --config {config} --source ca") == ["caixin"]
    assert complete(f"newswatch rules backtest --config {config} as") == ["ascend"]
    assert "--config" in complete("newswatch sources --con")
