"""What every ``newswatch`` command shares: ``--config``, ``-v``, ``--log-file`` and
``--log-format``, accepted before the command's name and after it, at every level
(``newswatch --config X sources``, ``newswatch sources --config X``, ``newswatch rules
test --config X --text ...``, ``newswatch alerts retry -v``), and the logging they set up.

One mechanism for all commands: the root group is a :class:`NewswatchGroup`, whose
``command_class`` and ``group_class`` make every command and subgroup declared on it a
:class:`NewswatchCommand` or :class:`NewswatchGroup`; both add the shared options to their
own. A value given at any level is kept in the context's ``meta`` (which click shares along
the whole chain of contexts): the one nearest the command wins, ``-v`` counts add up.
Logging starts when the command that runs is reached, once every option is known.

:class:`QueryCommand` (``search``) keeps ``-word`` a word of the query.

Shell completion is click's own (``_NEWSWATCH_COMPLETE=bash_source newswatch``);
:func:`complete_sources` and :func:`complete_rules` complete the names the config (the one
``--config`` names on the line being completed) defines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

__all__ = [
    "NewswatchCommand",
    "NewswatchGroup",
    "QueryCommand",
    "complete_rules",
    "complete_sources",
    "shared",
    "shared_options",
    "start_logging",
]

_META = "newswatch.shared"
_STARTED = "newswatch.logging_started"
DEFAULTS: dict[str, Any] = {"config": None, "verbose": 0, "log_file": None, "log_format": "text"}


def shared(ctx: click.Context) -> dict[str, Any]:
    """The shared options as given anywhere on the command line (defaults filled in)."""
    return {**DEFAULTS, **ctx.meta.get(_META, {})}


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        given = ctx.meta.setdefault(_META, {})
        if name == "verbose":
            if value:
                given["verbose"] = given.get("verbose", 0) + value
        elif value is not None:
            given[name] = value

    return callback


def shared_options() -> list[click.Parameter]:
    """New instances of the shared options (a command owns its parameter objects)."""
    return [
        click.Option(
            ["--config", "config_path"],
            type=click.Path(dir_okay=False),
            default=None,
            expose_value=False,
            callback=_remember("config"),
            help="TOML config file (default: $NEWSWATCH_CONFIG, else ./newswatch.toml).",
        ),
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_remember("verbose"),
            help="More logging: -v info, -vv debug.",
        ),
        click.Option(
            ["--log-file"],
            type=click.Path(dir_okay=False),
            default=None,
            expose_value=False,
            callback=_remember("log_file"),
            help="Log to a file.",
        ),
        click.Option(
            ["--log-format"],
            type=click.Choice(["text", "json"]),
            default=None,
            expose_value=False,
            callback=_remember("log_format"),
            help="One line of text, or one JSON object, per log record (default: text).",
        ),
    ]


def _level(verbose: int, default: str) -> str:
    if verbose >= 2:
        return "DEBUG"
    if verbose == 1:
        return "INFO"
    return default


def start_logging(ctx: click.Context) -> None:
    """Set up logging from the shared options, once per process; the daemon (``run``)
    logs at INFO by default, one-shot commands at WARNING. Fills ``ctx.obj``:
    ``log_level`` and ``redact`` (the log filter that hides secrets)."""
    from crawler.logs import setup_logging

    if ctx.meta.get(_STARTED):
        return
    ctx.meta[_STARTED] = True
    options = shared(ctx)
    obj = ctx.ensure_object(dict)
    is_daemon = ctx.command.name == "run" and ctx.parent is not None and ctx.parent.parent is None
    level = _level(options["verbose"], "INFO" if is_daemon else "WARNING")
    obj["log_level"] = level
    obj["redact"] = setup_logging(
        level,
        log_file=options["log_file"],
        fmt=options["log_format"],
        verbose_libraries=options["verbose"] >= 2,
    )


class NewswatchCommand(click.Command):
    """A command that takes the shared options; logging starts when it runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(shared_options())

    def invoke(self, ctx: click.Context) -> Any:
        # A group's own callback runs before its subcommand's options are read; logging
        # waits for the command that runs (invoked_subcommand is None for it).
        if ctx.invoked_subcommand is None:
            start_logging(ctx)
        return super().invoke(ctx)


class NewswatchGroup(click.Group, NewswatchCommand):
    """A group whose commands and subgroups take the shared options too.

    ``click.Group.invoke`` calls the next ``invoke`` in the method order, which is
    :meth:`NewswatchCommand.invoke`: a group invoked without a subcommand (``newswatch
    alerts``) starts logging itself."""

    command_class = NewswatchCommand
    group_class = type  # subgroups are of this class too


class QueryCommand(NewswatchCommand):
    """``-word`` on the command line is a word to exclude, not an option (click would read
    ``-Nvidia`` as ``-N -v -i ...``): such words go behind ``--``. Where they stand does
    not matter, exclusions apply to the whole query."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            known = {o for p in self.get_params(ctx) for o in (*p.opts, *p.secondary_opts)}

            def excluded(arg: str) -> bool:
                name = arg.split("=", 1)[0]
                return (
                    len(arg) > 1
                    and arg.startswith("-")
                    and name not in known
                    and (arg.startswith("--") or set(arg[1:]) != {"v"})
                )

            words = [arg for arg in args if excluded(arg)]
            if words:
                args = [arg for arg in args if not excluded(arg)] + ["--", *words]
        return super().parse_args(ctx, args)


def _names_in_config(ctx: click.Context, kind: str, incomplete: str) -> list[str]:
    from crawler.config import ConfigError, config_path_from, load_config

    try:
        config = load_config(config_path_from(shared(ctx)["config"]), channel_secrets=False)
    except ConfigError:
        return []
    names = [item.name for item in getattr(config, kind)]
    return [name for name in names if name.startswith(incomplete)]


def complete_sources(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: the configured sources' names."""
    return _names_in_config(ctx, "sources", incomplete)


def complete_rules(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: the configured rules' names."""
    return _names_in_config(ctx, "rules", incomplete)
