"""Load and validate the newswatch TOML configuration.

One file describes the archive, the sources to crawl, the alert rules and the delivery
channels. :func:`load_config` reads it, substitutes ``${ENV_VAR}`` references in strings,
and validates it strictly into typed objects. Every problem is reported as a
:class:`ConfigError` naming the file, the key path (``sources[2].interval``) and what was
expected; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from crawler.text.selectors import compile_selector

__all__ = [
    "ArchiveConfig",
    "ChannelConfig",
    "Config",
    "ConfigError",
    "CrawlConfig",
    "DeliveryConfig",
    "EmailChannel",
    "RuleConfig",
    "SelectorsConfig",
    "SlackChannel",
    "SourceConfig",
    "config_path_from",
    "load_config",
    "parse_config",
    "parse_duration",
]

DEFAULT_CONFIG_NAME = "newswatch.toml"
ENV_CONFIG = "NEWSWATCH_CONFIG"

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ConfigError(Exception):
    """A configuration problem, naming the file, the key and what was expected."""

    def __init__(self, path: str | Path, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        super().__init__(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")


def parse_duration(value: str) -> timedelta:
    """Parse ``"30s"``, ``"10m"``, ``"2h"`` or ``"1d"`` into a :class:`timedelta` (>= 1 s)."""
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f'expected a duration such as "30s", "10m", "2h" or "1d", got {value!r}')
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds < 1:
        raise ValueError(f"expected a duration of at least 1 second, got {value!r}")
    return timedelta(seconds=seconds)


def _check_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"expected a valid regular expression, got {value!r} ({exc})") from None
    return value


Url = Annotated[str, AfterValidator(_check_url)]
Regex = Annotated[str, AfterValidator(_check_regex)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ArchiveConfig(_Strict):
    path: str = "newswatch.db"


class CrawlConfig(_Strict):
    """Settings shared by every source."""

    user_agent: str | None = None
    contact_url: str = "https://github.com/newswatch/newswatch"
    obey_robots: bool = True
    concurrency_per_host: Annotated[int, Field(ge=1, le=2)] = 2
    timeout: Annotated[float, Field(gt=0)] = 30.0
    max_page_size: Annotated[int, Field(gt=0)] = 16 * 1024 * 1024
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    allow_private_addresses: bool = False


class SelectorsConfig(_Strict):
    """Per-site overrides; CSS by default, XPath when the value starts with ``/``,
    ``(`` or ``xpath:``."""

    title: str | None = None
    body: str | None = None
    date: str | None = None

    @field_validator("title", "body", "date")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_selector(value)
        return value


class SourceConfig(_Strict):
    name: str
    feeds: list[Url] = []
    sitemaps: list[Url] = []
    listings: list[Url] = []
    article_links: str | None = None
    listing_depth: Annotated[int, Field(ge=1, le=50)] = 1
    next_page: str | None = None
    interval: str | None = None
    cron: str | None = None
    delay: Annotated[float, Field(ge=0)] = 1.0
    language: str | None = None
    encoding: str | None = None
    selectors: SelectorsConfig = SelectorsConfig()
    host_aliases: dict[str, str] = {}
    revisit: str | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"expected a name of letters, digits, '.', '_' or '-', got {value!r}")
        return value

    @field_validator("article_links")
    @classmethod
    def _regex_ok(cls, value: str | None) -> str | None:
        return None if value is None else _check_regex(value)

    @field_validator("next_page")
    @classmethod
    def _next_page_ok(cls, value: str | None) -> str | None:
        if value is not None:
            compile_selector(value)
        return value

    @field_validator("interval")
    @classmethod
    def _interval_ok(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("revisit")
    @classmethod
    def _revisit_ok(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron_ok(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(
                    f'expected a crontab expression such as "*/15 * * * *", got {value!r} ({exc})'
                ) from None
        return value

    @field_validator("host_aliases")
    @classmethod
    def _hosts_ok(cls, value: dict[str, str]) -> dict[str, str]:
        host = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
        for alias, target in value.items():
            for name in (alias, target):
                if not host.match(name):
                    raise ValueError(
                        f"expected lower-case host names such as "
                        f'"m.example.com" = "www.example.com", got {name!r}'
                    )
        return {k.lower(): v.lower() for k, v in value.items()}

    @field_validator("encoding")
    @classmethod
    def _encoding_ok(cls, value: str | None) -> str | None:
        import codecs

        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"expected a codec name Python knows, got {value!r}") from None
        return value

    @model_validator(mode="after")
    def _entry_points(self) -> SourceConfig:
        if not (self.feeds or self.sitemaps or self.listings):
            raise ValueError("expected at least one entry point in feeds, sitemaps or listings")
        if self.listings and not self.article_links:
            raise _FieldError(
                "article_links", "expected a regex picking article links, required with listings"
            )
        if self.interval and self.cron:
            raise _FieldError("cron", "expected either interval or cron, not both")
        return self

    @property
    def every(self) -> timedelta:
        """How often the daemon crawls this source when no cron is set (default 1 h)."""
        return parse_duration(self.interval or "1h")

    @property
    def entry_urls(self) -> list[str]:
        return [*self.feeds, *self.sitemaps, *self.listings]


class NearConfig(_Strict):
    terms: Annotated[list[str], Field(min_length=2, max_length=2)]
    within: Annotated[int, Field(ge=1)]


class RuleConfig(_Strict):
    name: str
    keywords: list[str] = []
    all: list[str] = []
    exclude: list[str] = []
    near: list[NearConfig] = []
    regex: list[Regex] = []
    fields: list[Literal["title", "text"]] = ["title", "text"]
    sources: list[str] = []
    languages: list[str] = []
    channels: list[str] | None = None
    mode: Literal["immediate", "digest"] = "immediate"
    period: str | None = None
    case_sensitive: bool = False

    @field_validator("period")
    @classmethod
    def _period_ok(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _has_terms(self) -> RuleConfig:
        if not (self.keywords or self.all or self.near or self.regex):
            raise ValueError("expected at least one of keywords, all, near or regex")
        if self.mode == "digest" and not self.period:
            raise _FieldError("period", 'expected a duration such as "1d" with mode = "digest"')
        return self


class SlackChannel(_Strict):
    name: str
    type: Literal["slack"]
    webhook_url: str
    timeout: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("webhook_url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        return _check_url(value)


class EmailChannel(_Strict):
    name: str
    type: Literal["email"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    sender: str
    recipients: Annotated[list[str], Field(min_length=1)]
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: Annotated[float, Field(gt=0)] = 10.0

    @model_validator(mode="after")
    def _tls_ok(self) -> EmailChannel:
        if self.starttls and self.ssl:
            raise _FieldError("ssl", "expected at most one of starttls and ssl")
        return self


ChannelConfig = Annotated[SlackChannel | EmailChannel, Field(discriminator="type")]


class DeliveryConfig(_Strict):
    """How the alert outbox retries."""

    base_backoff: str = "30s"
    max_backoff: str = "1h"
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 12
    budget: str = "30s"

    @field_validator("base_backoff", "max_backoff", "budget")
    @classmethod
    def _duration_ok(cls, value: str) -> str:
        parse_duration(value)
        return value


class Config(_Strict):
    archive: ArchiveConfig = ArchiveConfig()
    crawl: CrawlConfig = CrawlConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    sources: list[SourceConfig] = []
    rules: list[RuleConfig] = []
    channels: list[ChannelConfig] = []
    path: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        _unique("sources", [s.name for s in self.sources])
        _unique("rules", [r.name for r in self.rules])
        _unique("channels", [c.name for c in self.channels])
        source_names = {s.name for s in self.sources}
        channel_names = {c.name for c in self.channels}
        for i, rule in enumerate(self.rules):
            for name in rule.channels or []:
                if name not in channel_names:
                    raise _KeyedError(
                        f"rules[{i}].channels",
                        f"expected the name of a configured channel, got {name!r}",
                    )
            for name in rule.sources:
                if name not in source_names:
                    raise _KeyedError(
                        f"rules[{i}].sources",
                        f"expected the name of a configured source, got {name!r}",
                    )
        return self

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise KeyError(f"no source named {name!r} (configured: {known})")

    @property
    def archive_path(self) -> Path:
        """The archive path, relative paths taken from the config file's folder."""
        path = Path(self.archive.path).expanduser()
        if not path.is_absolute() and self.path:
            path = Path(self.path).resolve().parent / path
        return path


class _FieldError(ValueError):
    """A model-level check that concerns one field of the model."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class _KeyedError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def _unique(section: str, names: Iterable[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise _KeyedError(
                f"{section}[{i}].name",
                f"expected a unique name, {name!r} is also {section}[{seen[name]}]",
            )
        seen[name] = i


def config_path_from(option: str | None) -> Path:
    """The config path: the ``--config`` option, else ``$NEWSWATCH_CONFIG``, else
    ``./newswatch.toml``."""
    return Path(option or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG_NAME)


def load_config(path: str | Path) -> Config:
    """Read, substitute and validate the TOML file at ``path``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            path, "", "file not found (give --config or set NEWSWATCH_CONFIG)"
        ) from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"expected UTF-8 text ({exc})") from None
    return parse_config(text, path=path)


def parse_config(text: str, *, path: str | Path = "<string>") -> Config:
    """Validate TOML ``text``; ``path`` is used in error messages only."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"expected valid TOML ({exc})") from None
    data = _substitute_env(data, path, "")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _config_error(path, exc) from None
    return config.model_copy(update={"path": str(path)})


def _substitute_env(value: Any, path: str | Path, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute_env(v, path, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, path, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(path, key, f"expected environment variable {name} to be set")
            return os.environ[name]

        return _ENV_REF_RE.sub(replace, value)
    return value


def _format_loc(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part in ("slack", "email"):
            # the discriminated union adds the tag as a path element
            continue
        else:
            key += f".{part}" if key else str(part)
    return key


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if part in ("slack", "email"):
            model = SlackChannel if part == "slack" else EmailChannel
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        model = _model_in(annotation)
        if model is None:
            return []
    return [name for name in model.model_fields if name != "path"]


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _config_error(path: str | Path, exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    # A misspelled key also makes the intended key "missing": report the cause.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(error["loc"])
    key = _format_loc(loc)
    kind = error["type"]
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _KeyedError):
        return ConfigError(path, ctx_error.key, str(ctx_error))
    if isinstance(ctx_error, ConfigError):
        return ctx_error
    if isinstance(ctx_error, _FieldError):
        return ConfigError(
            path, f"{key}.{ctx_error.field}" if key else ctx_error.field, str(ctx_error)
        )
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        unknown = str(loc[-1])
        close = difflib.get_close_matches(unknown, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return ConfigError(path, key, f"unknown key (expected one of: {', '.join(allowed)}){hint}")
    if kind == "missing":
        return ConfigError(path, key, "required key is missing")
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return ConfigError(path, f"{key}.type" if key else "type", 'expected "slack" or "email"')
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"expected {_expected(kind)}, got {error.get('input')!r}"
    return ConfigError(path, key, message)


def _expected(kind: str) -> str:
    return {
        "string_type": "a string",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "list_type": "a list",
        "model_type": "a table",
        "dict_type": "a table",
    }.get(kind, kind.replace("_", " "))
