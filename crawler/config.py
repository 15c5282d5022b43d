"""Load and validate the newswatch TOML configuration.

One file describes the archive, the sources to crawl, the alert rules and the delivery
channels. :func:`load_config` reads it, substitutes ``${ENV_VAR}`` references in strings,
and validates it strictly into typed objects. Every problem is reported as a
:class:`ConfigError` naming the file, the key path (``sources[2].interval``) and what was
expected; the CLI turns it into exit code 2. ``load_config(path, all_errors=True)`` (what
``newswatch check`` uses) raises :class:`ConfigErrors` with every missing environment
variable and every bad key at once; otherwise the first of them is raised, with the same
message.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Iterable
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from crawler.redact import MIN_SECRET_LENGTH, is_secret_key
from crawler.text.entities import Catalogue, CatalogueError, load_catalogue
from crawler.text.selectors import compile_selector
from storage.health import AlarmPolicy

__all__ = [
    "AlarmsConfig",
    "ClusterConfig",
    "ArchiveConfig",
    "CHANNEL_MODELS",
    "ChannelConfig",
    "Config",
    "ConfigError",
    "ConfigErrors",
    "CrawlConfig",
    "DeliveryConfig",
    "DingTalkChannel",
    "EmailChannel",
    "FeishuChannel",
    "LogChannel",
    "EntityConfig",
    "RuleConfig",
    "SelectorsConfig",
    "ServeConfig",
    "SlackChannel",
    "SourceConfig",
    "TeamsChannel",
    "TelegramChannel",
    "WeComChannel",
    "WebhookChannel",
    "StoriesConfig",
    "config_path_from",
    "usage_warnings",
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


class ConfigErrors(ConfigError):
    """Every problem found in one config file; ``errors`` in the order they are reported
    (the first is what :func:`load_config` raises without ``all_errors``)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.path, first.key, first.message)

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


def parse_duration(value: str) -> timedelta:
    """Parse ``"30s"``, ``"10m"``, ``"2h"`` or ``"1d"`` into a :class:`timedelta` (>= 1 s)."""
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f'expected a duration such as "30s", "10m", "2h" or "1d", got {value!r}')
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds < 1:
        raise ValueError(f"expected a duration of at least 1 second, got {value!r}")
    return timedelta(seconds=seconds)


def _seconds(value: Any) -> Any:
    """A number of seconds, or a duration written as elsewhere in the file (``"30s"``)."""
    if isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            return parse_duration(value).total_seconds()
        if not math.isfinite(seconds):
            raise ValueError(
                f'expected a number of seconds or a duration such as "30s", got {value!r}'
            )
        return seconds
    return value


# Seconds: ``timeout = 30`` or ``timeout = "30s"``, like every other duration.
Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]


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
    timeout: Seconds = 30.0
    max_page_size: Annotated[int, Field(gt=0)] = 16 * 1024 * 1024
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    allow_private_addresses: bool = False
    max_parallel_checks: Annotated[int, Field(ge=1, le=10_000)] = 32
    workers: Annotated[int, Field(ge=0, le=256)] | None = None

    @property
    def page_workers(self) -> int:
        """Worker processes for the page stage: ``workers``, else the machine's cores."""
        if self.workers is not None:
            return self.workers
        from crawler.page_stage import default_workers

        return default_workers()


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
    jitter: str | None = None
    crawl_timeout: str | None = None
    timezone: str = "Asia/Shanghai"
    enabled: bool = True
    ca_bundle: str | None = None
    verify_tls: bool = True

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

    @field_validator("timezone")
    @classmethod
    def _timezone_ok(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'expected an IANA time zone such as "Asia/Shanghai" or "UTC", got {value!r}'
            ) from None
        return value

    @field_validator("revisit", "jitter", "crawl_timeout")
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
        if self.ca_bundle is not None and not self.verify_tls:
            raise _FieldError(
                "ca_bundle", "expected either ca_bundle or verify_tls = false, not both"
            )
        return self

    @property
    def every(self) -> timedelta:
        """How often the daemon crawls this source when no cron is set (default 1 h)."""
        return parse_duration(self.interval or "1h")

    @property
    def jitter_seconds(self) -> float:
        """Random spread of the daemon's check times: ``jitter``, else 10 % of the interval,
        at most 5 minutes (cron sources: 10 % of an hour at most, i.e. up to 5 minutes)."""
        if self.jitter is not None:
            return parse_duration(self.jitter).total_seconds()
        base = 3600.0 if self.cron else self.every.total_seconds()
        return min(0.1 * base, 300.0)

    @property
    def timeout_seconds(self) -> float:
        """How long a daemon check may run: ``crawl_timeout``, else the interval (at most
        an hour, at least 30 s so a first crawl of a fast source is not cut short)."""
        if self.crawl_timeout is not None:
            return parse_duration(self.crawl_timeout).total_seconds()
        base = 3600.0 if self.cron else self.every.total_seconds()
        return max(30.0, min(base, 3600.0))

    @property
    def entry_urls(self) -> list[str]:
        return [*self.feeds, *self.sitemaps, *self.listings]


class NearConfig(_Strict):
    terms: Annotated[list[str], Field(min_length=2, max_length=2)]
    within: Annotated[int, Field(ge=1)]


class RuleConfig(_Strict):
    name: str
    keywords: list[str] = []
    entities: list[str] = []
    all: list[str] = []
    exclude: list[str] = []
    near: list[NearConfig] = []
    regex: list[Regex] = []
    fields: list[Literal["title", "text"]] = ["title", "text"]
    sources: list[str] = []
    languages: list[str] = []
    origins: list[str] = []
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
        if not (self.keywords or self.entities or self.all or self.near or self.regex):
            raise ValueError("expected at least one of keywords, entities, all, near or regex")
        if self.mode == "digest" and not self.period:
            raise _FieldError("period", 'expected a duration such as "1d" with mode = "digest"')
        return self


class SlackChannel(_Strict):
    name: str
    type: Literal["slack"]
    webhook_url: str
    timeout: Seconds = 10.0

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
    timeout: Seconds = 10.0

    @model_validator(mode="after")
    def _tls_ok(self) -> EmailChannel:
        if self.starttls and self.ssl:
            raise _FieldError("ssl", "expected at most one of starttls and ssl")
        return self


def _query_has(url: str, key: str) -> bool:
    from urllib.parse import parse_qs, urlsplit

    return bool(parse_qs(urlsplit(url).query).get(key))


class FeishuChannel(_Strict):
    """A Feishu/Lark custom bot; ``secret`` when its signature check is on."""

    name: str
    type: Literal["feishu"]
    webhook_url: Url
    secret: str | None = None
    timeout: Seconds = 10.0


class DingTalkChannel(_Strict):
    """A DingTalk custom robot; ``secret`` (``SEC...``) when it signs (加签)."""

    name: str
    type: Literal["dingtalk"]
    webhook_url: Url
    secret: str | None = None
    timeout: Seconds = 10.0

    @field_validator("webhook_url")
    @classmethod
    def _token_ok(cls, value: str) -> str:
        if not _query_has(value, "access_token"):
            raise ValueError(
                "expected the robot's webhook URL, with ?access_token=... "
                f"(https://oapi.dingtalk.com/robot/send?access_token=...), got {value!r}"
            )
        return value

    @field_validator("secret")
    @classmethod
    def _secret_ok(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("SEC"):
            raise ValueError("expected the robot's signing secret, which starts with SEC")
        return value


class WeComChannel(_Strict):
    """A WeCom (企业微信) group bot; its key is in the URL, it does not sign."""

    name: str
    type: Literal["wecom"]
    webhook_url: Url
    timeout: Seconds = 10.0

    @field_validator("webhook_url")
    @classmethod
    def _key_ok(cls, value: str) -> str:
        if not _query_has(value, "key"):
            raise ValueError(
                "expected the group bot's webhook URL, with ?key=... "
                f"(https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...), got {value!r}"
            )
        return value


class TeamsChannel(_Strict):
    """A Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is
    received")."""

    name: str
    type: Literal["teams"]
    webhook_url: Url
    timeout: Seconds = 10.0


def _chat_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a chat id (-1001234567890) or @channelname, got {value!r}")
    return value


_BOT_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class TelegramChannel(_Strict):
    """A Telegram bot posting to one chat (a group id, ``-100...``, or ``@channelname``)."""

    name: str
    type: Literal["telegram"]
    bot_token: str
    chat_id: Annotated[str, BeforeValidator(_chat_id)]
    api_url: Url = "https://api.telegram.org"
    timeout: Seconds = 10.0

    @field_validator("bot_token")
    @classmethod
    def _token_ok(cls, value: str) -> str:
        if not _BOT_TOKEN_RE.match(value):
            raise ValueError("expected a bot token from @BotFather, such as 123456:ABC-def...")
        return value


class WebhookChannel(_Strict):
    """Any HTTP endpoint: a JSON body signed with HMAC-SHA256 over ``timestamp.body``."""

    name: str
    type: Literal["webhook"]
    webhook_url: Url
    secret: str
    timeout: Seconds = 10.0

    @field_validator("secret")
    @classmethod
    def _secret_ok(cls, value: str) -> str:
        if len(value) < 16:
            raise ValueError("expected a shared secret of at least 16 characters")
        return value


class LogChannel(_Strict):
    """Only records the alert: a log line at INFO naming rule, title and URL."""

    name: str
    type: Literal["log"]


CHANNEL_MODELS: dict[str, type[BaseModel]] = {
    "slack": SlackChannel,
    "email": EmailChannel,
    "feishu": FeishuChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "teams": TeamsChannel,
    "telegram": TelegramChannel,
    "webhook": WebhookChannel,
    "log": LogChannel,
}

ChannelConfig = Annotated[
    SlackChannel
    | EmailChannel
    | FeishuChannel
    | DingTalkChannel
    | WeComChannel
    | TeamsChannel
    | TelegramChannel
    | WebhookChannel
    | LogChannel,
    Field(discriminator="type"),
]

EntityKind = Literal[
    "company",
    "product",
    "agency",
    "list",
    "rule",
    "technology",
    "outlet",
    "person",
    "place",
    "other",
]


class EntityConfig(_Strict):
    """An ``[[entities]]`` entry: a new entity, or a change to a catalogue entry whose
    name (or any alias) ``name`` is."""

    name: Annotated[str, Field(min_length=1)]
    aliases: list[Annotated[str, Field(min_length=1)]] = []
    kind: EntityKind | None = None
    extend: bool = False
    case_sensitive: bool = False


class DeliveryConfig(_Strict):
    """How the alert outbox retries."""

    base_backoff: str = "30s"
    max_backoff: str = "1h"
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 12
    fast_retries: Annotated[int, Field(ge=0, le=10)] = 3
    budget: str = "30s"

    @field_validator("base_backoff", "max_backoff", "budget")
    @classmethod
    def _duration_ok(cls, value: str) -> str:
        parse_duration(value)
        return value


class AlarmsConfig(_Strict):
    """When a source's health raises an alarm, and where alarms go."""

    channels: list[str] = []
    failures: Annotated[int, Field(ge=1, le=1000)] = 3
    silence_factor: Annotated[float, Field(gt=0)] = 4.0
    min_silence: str = "6h"
    min_daily_articles: Annotated[float, Field(ge=0)] = 1.0
    quality_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    quality_pages: Annotated[int, Field(ge=1)] = 20

    @field_validator("min_silence")
    @classmethod
    def _duration_ok(cls, value: str) -> str:
        parse_duration(value)
        return value

    def policy(self) -> AlarmPolicy:
        return AlarmPolicy(
            failures=self.failures,
            silence_factor=self.silence_factor,
            min_silence=parse_duration(self.min_silence).total_seconds(),
            min_daily_articles=self.min_daily_articles,
            quality_threshold=self.quality_threshold,
            quality_pages=self.quality_pages,
        )


class ServeConfig(_Strict):
    """How ``newswatch serve`` shows the archive."""

    timezone: str = "Asia/Shanghai"
    password_hash: str | None = None
    username: str = "newswatch"

    @field_validator("timezone")
    @classmethod
    def _zone_ok(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'expected an IANA time zone such as "Asia/Shanghai" or "UTC", got {value!r}'
            ) from None
        return value

    @field_validator("password_hash")
    @classmethod
    def _hash_ok(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"pbkdf2_sha256\$\d+\$[^$]+\$[^$]+", value):
            raise ValueError(
                "expected a hash made by `datasette hash-password` "
                f"(pbkdf2_sha256$ITERATIONS$SALT$HASH), got {value[:24]!r}..."
            )
        return value

    @field_validator("username")
    @classmethod
    def _username_ok(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"expected letters, digits, '.', '_' or '-', got {value!r}")
        return value


class StoriesConfig(_Strict):
    """How stories are made."""

    window: str = "3d"

    @field_validator("window")
    @classmethod
    def _window_ok(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def window_delta(self) -> timedelta:
        """How far apart a Chinese and an English report of one event may be published."""
        return parse_duration(self.window)


class ClusterConfig(_Strict):
    """Scale-out over Redis (opt-in): where the shared queues live."""

    redis_url: str
    key_prefix: str = "newswatch"
    lease: str = "60s"
    worker_timeout: str = "30s"
    worker_concurrency: Annotated[int, Field(ge=1, le=1000)] = 16

    @field_validator("redis_url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
            raise ValueError(
                'expected a Redis URL such as "redis://127.0.0.1:6379/0" (rediss:// for TLS), '
                f"got {value!r}"
            )
        return value

    @field_validator("key_prefix")
    @classmethod
    def _prefix_ok(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"expected letters, digits, '.', '_' or '-', got {value!r}")
        return value

    @field_validator("lease", "worker_timeout")
    @classmethod
    def _lease_ok(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def lease_seconds(self) -> float:
        return parse_duration(self.lease).total_seconds()

    @property
    def worker_timeout_seconds(self) -> float:
        return parse_duration(self.worker_timeout).total_seconds()


class Config(_Strict):
    archive: ArchiveConfig = ArchiveConfig()
    serve: ServeConfig = ServeConfig()
    stories: StoriesConfig = StoriesConfig()
    cluster: ClusterConfig | None = None
    crawl: CrawlConfig = CrawlConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    sources: list[SourceConfig] = []
    rules: list[RuleConfig] = []
    channels: list[ChannelConfig] = []
    entities: list[EntityConfig] = []
    path: str = Field(default="", exclude=True)
    # key path (``channels[0].webhook_url``) -> the ${ENV} names its string referenced
    _env_refs: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        problems = _cross_problems(
            self.model_dump(include={"sources", "rules", "channels", "alarms"})
        )
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise _KeyedErrors(problems)
        if self.entities or any(rule.entities for rule in self.rules):
            catalogue = self.catalogue
            for i, rule in enumerate(self.rules):
                for name in rule.entities:
                    if catalogue.get(name) is None:
                        raise _KeyedError(
                            f"rules[{i}].entities",
                            f"expected the name of an entity (see `newswatch entities`), "
                            f"got {name!r}",
                        )
        return self

    @cached_property
    def catalogue(self) -> Catalogue:
        """The built-in entity catalogue with this config's ``[[entities]]`` applied."""
        try:
            return load_catalogue(self.entities)
        except CatalogueError as exc:
            raise _KeyedError(f"entities[{exc.index}].{exc.key}", str(exc)) from None

    @cached_property
    def sources_by_name(self) -> dict[str, SourceConfig]:
        """The sources by name (looked up for every request of a crawl)."""
        return {source.name: source for source in self.sources}

    @cached_property
    def enabled_source_names(self) -> tuple[str, ...]:
        return tuple(source.name for source in self.sources if source.enabled)

    def source(self, name: str) -> SourceConfig:
        found = self.sources_by_name.get(name)
        if found is not None:
            return found
        known = ", ".join(s.name for s in self.sources) or "none"
        raise KeyError(f"no source named {name!r} (configured: {known})")

    @property
    def archive_path(self) -> Path:
        """The archive path, relative paths taken from the config file's folder."""
        return self.relative_path(self.archive.path)

    def relative_path(self, value: str) -> Path:
        """A path from the config, relative ones taken from the config file's folder."""
        path = Path(value).expanduser()
        if not path.is_absolute() and self.path:
            path = Path(self.path).resolve().parent / path
        return path

    def env_references(self, key: str) -> tuple[str, ...]:
        """The ``${NAME}`` variables the string at ``key`` (``channels[0].password``)
        referenced in the file; empty for a literal."""
        return self._env_refs.get(key, ())


class _FieldError(ValueError):
    """A model-level check that concerns one field of the model."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class _KeyedError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


class _KeyedErrors(ValueError):
    """Several cross-checks failed at once (each names its own key)."""

    def __init__(self, errors: list[_KeyedError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def _unique(section: str, names: Iterable[str | None]) -> list[_KeyedError]:
    seen: dict[str, int] = {}
    problems = []
    for i, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            problems.append(
                _KeyedError(
                    f"{section}[{i}].name",
                    f"expected a unique name, {name!r} is also {section}[{seen[name]}]",
                )
            )
        else:
            seen[name] = i
    return problems


def _names(items: Any) -> list[str | None]:
    if not isinstance(items, list):
        return []
    return [
        item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
        for item in items
    ]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _cross_problems(data: Any) -> list[_KeyedError]:
    """Names that must be unique and names that must refer to a configured source or
    channel. Works on the raw TOML data too, so ``check`` reports these with the other
    errors of a file that does not validate."""
    if not isinstance(data, dict):
        return []
    sources, rules, channels = (_names(data.get(k)) for k in ("sources", "rules", "channels"))
    problems = [
        *_unique("sources", sources),
        *_unique("rules", rules),
        *_unique("channels", channels),
    ]
    source_names, channel_names = set(sources), set(channels)
    alarms = data.get("alarms")
    for name in _strings(alarms.get("channels") if isinstance(alarms, dict) else None):
        if name not in channel_names:
            problems.append(
                _KeyedError(
                    "alarms.channels", f"expected the name of a configured channel, got {name!r}"
                )
            )
    raw_rules = data.get("rules")
    for i, rule in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        if not isinstance(rule, dict):
            continue
        for name in _strings(rule.get("channels")):
            if name not in channel_names:
                problems.append(
                    _KeyedError(
                        f"rules[{i}].channels",
                        f"expected the name of a configured channel, got {name!r}",
                    )
                )
        for name in _strings(rule.get("sources")):
            if name not in source_names:
                problems.append(
                    _KeyedError(
                        f"rules[{i}].sources",
                        f"expected the name of a configured source, got {name!r}",
                    )
                )
    return problems


def usage_warnings(config: Config) -> list[str]:
    """What a valid config will not do that its author probably expects."""
    warnings = []
    if not config.sources:
        warnings.append("no [[sources]]: nothing will be crawled")
    elif not any(source.enabled for source in config.sources):
        warnings.append("every source has enabled = false: nothing will be crawled")
    if config.rules and not config.channels:
        warnings.append("[[rules]] but no [[channels]]: rules match, but no alert is sent")
    return warnings


def config_path_from(option: str | None) -> Path:
    """The config path: the ``--config`` option, else ``$NEWSWATCH_CONFIG``, else
    ``./newswatch.toml``."""
    return Path(option or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG_NAME)


def load_config(
    path: str | Path, *, all_errors: bool = False, channel_secrets: bool = True
) -> Config:
    """Read, substitute and validate the TOML file at ``path``; with ``all_errors``, a
    failure is a :class:`ConfigErrors` listing every problem found. Without
    ``channel_secrets`` (commands that send nothing: status, search, serve...), a channel
    whose environment variables are unset is read as a ``log`` channel of its name, so an
    analyst's shell needs none of the daemon's secrets."""
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
    return parse_config(text, path=path, all_errors=all_errors, channel_secrets=channel_secrets)


def parse_config(
    text: str,
    *,
    path: str | Path = "<string>",
    all_errors: bool = False,
    channel_secrets: bool = True,
) -> Config:
    """Validate TOML ``text``; ``path`` is used in error messages only. Missing environment
    variables come first, then unknown keys, then the rest; without ``all_errors`` the first
    one is raised. ``channel_secrets``: see :func:`load_config`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"expected valid TOML ({exc})") from None
    missing: list[ConfigError] = []
    refs: dict[str, tuple[str, ...]] = {}
    data = _substitute_env(data, path, "", missing, refs)
    if not channel_secrets:
        missing = _without_channel_secrets(data, missing)
    errors = list(missing)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        # A key whose variable is missing holds "${NAME}": its other errors are noise.
        unset = {error.key for error in missing}
        found = _config_errors(path, exc)
        if not any(e["type"] == "value_error" and e["loc"] == () for e in exc.errors()):
            # the cross-checks did not run (a field failed first): run them on the raw data
            found += [ConfigError(path, p.key, str(p)) for p in _cross_problems(data)]
        errors += [
            error
            for error in found
            if not any(
                error.key == key or error.key.startswith((f"{key}.", f"{key}[")) for key in unset
            )
        ]
    if errors:
        raise ConfigErrors(errors) if all_errors else errors[0]
    assert config is not None
    config = config.model_copy(update={"path": str(path)})
    config._env_refs = refs
    try:
        _check_ca_bundles(config)
    except ConfigError as exc:
        raise ConfigErrors([exc]) if all_errors else exc from None
    return config


_CHANNEL_KEY_RE = re.compile(r"^channels\[(\d+)\]")


def _without_channel_secrets(data: Any, missing: list[ConfigError]) -> list[ConfigError]:
    """``missing`` less the channels' unset variables; each such channel becomes a ``log``
    channel of its name (nothing is sent through it by a command that reads the config
    only to look at the archive)."""
    channels = data.get("channels") if isinstance(data, dict) else None
    if not isinstance(channels, list):
        return missing
    channel_of = {id(error): _channel_index(error.key) for error in missing}
    unset = {i for i in channel_of.values() if i is not None and i < len(channels)}
    for index in unset:
        entry = channels[index]
        name = entry.get("name") if isinstance(entry, dict) else None
        channels[index] = {"name": name, "type": "log"}
    return [error for error in missing if channel_of[id(error)] not in unset]


def _channel_index(key: str) -> int | None:
    """N of a key under ``channels[N]``."""
    match = _CHANNEL_KEY_RE.match(key)
    return int(match.group(1)) if match else None


def _check_ca_bundles(config: Config) -> None:
    """Each source's ``ca_bundle`` must be a readable PEM file holding a certificate."""
    from cryptography.x509 import load_pem_x509_certificates

    for i, source in enumerate(config.sources):
        if source.ca_bundle is None:
            continue
        key = f"sources[{i}].ca_bundle"
        bundle = config.relative_path(source.ca_bundle)
        try:
            load_pem_x509_certificates(bundle.read_bytes())
        except OSError as exc:
            raise ConfigError(
                config.path, key, f"expected a readable PEM file, cannot read {bundle} ({exc})"
            ) from None
        except ValueError as exc:
            raise ConfigError(
                config.path, key, f"expected PEM certificates in {bundle} ({exc})"
            ) from None


def _substitute_env(
    value: Any,
    path: str | Path,
    key: str,
    missing: list[ConfigError],
    refs: dict[str, tuple[str, ...]],
) -> Any:
    """``${NAME}`` replaced from the environment; an unset variable is added to
    ``missing`` and its reference left as it is; ``refs`` records which keys used which
    variables (a secret written as ``${NAME}`` is not a literal)."""
    if isinstance(value, dict):
        return {
            k: _substitute_env(v, path, f"{key}.{k}" if key else k, missing, refs)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute_env(v, path, f"{key}[{i}]", missing, refs) for i, v in enumerate(value)]
    if isinstance(value, str):
        names = tuple(_ENV_REF_RE.findall(value))
        if names:
            refs[key] = names

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                missing.append(
                    ConfigError(path, key, f"expected environment variable {name} to be set")
                )
                return match.group(0)
            return os.environ[name]

        return _ENV_REF_RE.sub(replace, value)
    return value


def _is_channel_tag(loc: tuple[int | str, ...], i: int) -> bool:
    """The discriminated union adds the channel's ``type`` as a path element after its index
    (``channels, 0, "feishu", "secret"``); a key may share a tag's name (``webhook``)."""
    return (
        i >= 2
        and loc[i - 2] == "channels"
        and isinstance(loc[i - 1], int)
        and loc[i] in CHANNEL_MODELS
    )


def _format_loc(loc: tuple[int | str, ...]) -> str:
    key = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            key += f"[{part}]"
        elif _is_channel_tag(loc, i):
            continue
        else:
            key += f".{part}" if key else str(part)
    return key


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = Config
    for i, part in enumerate(loc[:-1]):
        if isinstance(part, int):
            continue
        if _is_channel_tag(loc, i):
            model = CHANNEL_MODELS[str(part)]
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


def _config_errors(path: str | Path, exc: ValidationError) -> list[ConfigError]:
    """Every validation error as a :class:`ConfigError`, unknown keys first. A misspelled
    key also makes the intended key "missing": only the misspelling is reported."""
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    misspelled = set()
    for error in unknown:
        loc = tuple(error["loc"])
        close = difflib.get_close_matches(str(loc[-1]), _allowed_keys(loc), n=1)
        if close:
            misspelled.add((*loc[:-1], close[0]))
    found: list[ConfigError] = []
    for error in [*unknown, *(e for e in errors if e["type"] != "extra_forbidden")]:
        if error["type"] == "missing" and tuple(error["loc"]) in misspelled:
            continue
        for config_error in _config_error(path, error):
            if str(config_error) not in {str(e) for e in found}:
                found.append(config_error)
    return found


def _config_error(path: str | Path, error: Any) -> list[ConfigError]:
    loc = tuple(error["loc"])
    key = _format_loc(loc)
    kind = error["type"]
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _KeyedErrors):
        return [ConfigError(path, e.key, str(e)) for e in ctx_error.errors]
    if isinstance(ctx_error, _KeyedError):
        return [ConfigError(path, ctx_error.key, str(ctx_error))]
    if isinstance(ctx_error, ConfigError):
        return [ctx_error]
    if isinstance(ctx_error, _FieldError):
        return [
            ConfigError(
                path, f"{key}.{ctx_error.field}" if key else ctx_error.field, str(ctx_error)
            )
        ]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        unknown = str(loc[-1])
        close = difflib.get_close_matches(unknown, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return [
            ConfigError(path, key, f"unknown key (expected one of: {', '.join(allowed)}){hint}")
        ]
    if kind == "missing":
        return [ConfigError(path, key, "required key is missing")]
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        tags = [f'"{tag}"' for tag in CHANNEL_MODELS]
        expected = f"expected {', '.join(tags[:-1])} or {tags[-1]}"
        return [ConfigError(path, f"{key}.type" if key else "type", expected)]
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"expected {_expected(kind)}, got {error.get('input')!r}"
    elif kind in _BOUNDS:
        limit_key, template = _BOUNDS[kind]
        limit = (error.get("ctx") or {}).get(limit_key)
        message = f"{template.format(limit)}, got {error.get('input')!r}"
    if is_secret_key(key) and isinstance(error.get("input"), str) and error["input"]:
        message = _unechoed(message, error["input"])
    return [ConfigError(path, key, message)]


def _unechoed(message: str, secret: str) -> str:
    """``message`` without the secret it quotes: where it is quoted (``got '…'``), else
    wherever it stands when it is long enough to be one (a short value's characters, such
    as ``x`` or ``http``, are the words of the message too)."""
    quoted = repr(secret)
    if quoted in message:
        return message.replace(quoted, "'[redacted]'")
    if len(secret) >= MIN_SECRET_LENGTH:
        return message.replace(secret, "[redacted]")
    return message


# pydantic's bound errors, said the way every other config error is: "expected ..., got ..."
_BOUNDS = {
    "greater_than": ("gt", "expected a value above {}"),
    "greater_than_equal": ("ge", "expected a value of at least {}"),
    "less_than": ("lt", "expected a value below {}"),
    "less_than_equal": ("le", "expected a value of at most {}"),
    "too_short": ("min_length", "expected at least {} item(s)"),
    "too_long": ("max_length", "expected at most {} item(s)"),
}


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
