"""Readers for the deployment files in ``deploy/``, the Dockerfile and compose.yaml, as
the tools that run them read them: systemd unit files (sections, repeated keys, ``\\``
continuations, ``#``/``;`` comments), systemd's ``EnvironmentFile=`` format, and the
Dockerfile's instructions (through dockerfile-parse).

Written by hand where no library reads systemd's formats (configparser rejects repeated
keys and knows neither continuation lines nor ``EnvironmentFile=`` quoting)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
DAEMON_UNIT = DEPLOY / "newswatch.service"
SERVE_UNIT = DEPLOY / "newswatch-serve.service"
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "compose.yaml"

# Where deploy/README.md installs things; the tests put their own paths in their place.
INSTALLED_NEWSWATCH = "/opt/newswatch/bin/newswatch"
INSTALLED_CONFIG = "/etc/newswatch/newswatch.toml"


@dataclass
class Unit:
    path: Path
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def values(self, section: str, key: str) -> list[str]:
        """Every value of ``key`` in order; an empty assignment resets the list, as in
        systemd."""
        found: list[str] = []
        for name, value in self.sections.get(section, []):
            if name == key:
                if value == "":
                    found = []
                else:
                    found.append(value)
        return found

    def get(self, section: str, key: str) -> str | None:
        """The last value of ``key`` ("" when it is assigned empty), None when unset."""
        last = None
        for name, value in self.sections.get(section, []):
            if name == key:
                last = value
        return last

    def service(self, key: str) -> str | None:
        return self.get("Service", key)


def read_unit(path: Path) -> Unit:
    unit = Unit(path)
    section = ""
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.sections.setdefault(section, [])
            continue
        key, _, value = line.partition("=")
        unit.sections.setdefault(section, []).append((key.strip(), value.strip()))
    return unit


def seconds(value: str) -> float:
    """A systemd time span (``30s``, ``10min``, ``1min 30s``, ``90``) in seconds."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "ms": 0.001}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit]
    return total


def read_environment_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as systemd's ``EnvironmentFile=`` reads them (comments,
    optional quotes)."""
    env: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def command_line(value: str, replacements: dict[str, str]) -> list[str]:
    """An ``Exec*=`` line as argv: an argument equal to a key of ``replacements`` (an
    installed path) is replaced whole, ``$NAME`` keys (``$MAINPID``) wherever they
    occur."""
    argv = []
    for arg in shlex.split(value.lstrip("-@:+!")):
        arg = replacements.get(arg, arg)
        for name, new in replacements.items():
            if name.startswith("$"):
                arg = arg.replace(name, new)
        argv.append(arg)
    return argv


# -- the Dockerfile -----------------------------------------------------------------


def dockerfile_stages() -> list[list[dict[str, Any]]]:
    """The Dockerfile's instructions, one list per stage (``FROM`` first)."""
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(DOCKERFILE))
    stages: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def final_stage() -> list[dict[str, Any]]:
    return dockerfile_stages()[-1]


def instruction(stage: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def exec_form(value: str) -> list[str]:
    """``["a", "b"]`` (JSON) as a list; anything else is the shell form, an error here."""
    parsed = json.loads(value)
    assert isinstance(parsed, list), value
    return [str(v) for v in parsed]


def healthcheck_command() -> list[str]:
    """The final stage's ``HEALTHCHECK ... CMD [...]`` as argv."""
    (value,) = instruction(final_stage(), "HEALTHCHECK")
    _, _, command = value.partition("CMD")
    return exec_form(command.strip())


def healthcheck_options() -> dict[str, str]:
    (value,) = instruction(final_stage(), "HEALTHCHECK")
    options, _, _ = value.partition("CMD")
    return dict(re.findall(r"--([a-z-]+)=(\S+)", options))


def image_environment() -> dict[str, str]:
    """The final stage's ``ENV`` values (``${PATH}`` left for the caller)."""
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(DOCKERFILE))
    return dict(parser.envs)
