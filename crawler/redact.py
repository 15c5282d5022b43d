"""Secrets in the config: which keys hold them, which hold them as literals, and keeping
their values out of every log line, error and ``--json`` output.

A *secret-bearing* key is one named ``webhook_url``, ``password``, ``bot_token`` or
``secret`` (or ending in ``_password``, ``_secret``, ``_token``), and any URL whose user
part carries a password (``redis://:pw@host:6379/0``, ``https://user:pw@feeds.example``).

- :func:`secret_fields` walks a config and yields each secret-bearing key with its value
  and whether the file wrote it as ``${ENV}``; :func:`config_warnings` turns that and the
  file's permissions into the warnings ``newswatch check`` prints.
- :func:`secret_values` collects the values to hide; :class:`Redactor` replaces them, and
  URL passwords, Slack webhook paths and tokens and ``token=``-style query parameters in
  general, by ``[redacted]``; :class:`RedactingFilter` applies it to every log record's
  message, arguments and exception text; :func:`redact_json` to a JSON-ready value.

Written here because logging has no redaction of its own and the secrets are the ones
this config defines; the patterns are plain regular expressions.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_plus, urlsplit

if TYPE_CHECKING:
    from crawler.config import Config

__all__ = [
    "REDACTED",
    "PathSecret",
    "RedactingFilter",
    "Redactor",
    "SecretField",
    "config_warnings",
    "is_secret_key",
    "redact_json",
    "secret_fields",
    "secret_values",
    "url_secrets",
]

REDACTED = "[redacted]"
# Shorter values would blank out ordinary words all over the logs.
MIN_SECRET_LENGTH = 4

_SECRET_NAMES = frozenset({"webhook_url", "password", "bot_token", "secret"})
_SECRET_SUFFIXES = ("_password", "_secret", "_token")
_LAST_KEY_RE = re.compile(r"([A-Za-z0-9_]+)(?:\[\d+\])*$")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

# Generic shapes of credentials, whatever the config holds.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@ in any URL
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/@]+@"), rf"\1{REDACTED}@"),
    # Slack incoming-webhook paths and tokens
    (re.compile(r"(hooks\.slack\.com/services/)[^\s\"'<>]+"), rf"\1{REDACTED}"),
    (re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]+"), REDACTED),
    # credentials in query strings and Authorization headers
    (
        re.compile(
            r"([?&](?:access_token|token|api_key|apikey|secret|password|passwd|pwd|"
            r"auth|sig|signature)=)[^&\s#\"'<>]+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1{REDACTED}"),
)


def is_secret_key(key: str) -> bool:
    """Whether the last name of a key path (``channels[0].password``) names a secret."""
    match = _LAST_KEY_RE.search(key)
    name = (match.group(1) if match else key).lower()
    return name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES)


def _url_password(value: str) -> str | None:
    if not _URL_RE.match(value):
        return None
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    return unquote(password) if password else None


@dataclass(frozen=True)
class SecretField:
    """A secret-bearing key of the config and its value."""

    key: str
    value: str
    from_env: bool


def _walk(data: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, Mapping):
        for name, value in data.items():
            yield from _walk(value, f"{key}.{name}" if key else str(name))
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            yield from _walk(value, f"{key}[{i}]")
    else:
        yield key, data


def secret_fields(
    data: Mapping[str, Any], env_references: Mapping[str, Iterable[str]] | None = None
) -> list[SecretField]:
    """The secret-bearing keys of ``data`` (a config as plain data) with a non-empty
    string value; ``env_references`` maps a key to the ``${ENV}`` names it used."""
    refs = env_references or {}
    found = []
    for key, value in _walk(data):
        if not isinstance(value, str) or not value:
            continue
        if is_secret_key(key) or _url_password(value):
            found.append(SecretField(key, value, from_env=bool(tuple(refs.get(key, ())))))
    return found


def _config_fields(config: Config) -> list[SecretField]:
    data = config.model_dump(mode="python")
    return secret_fields(data, {key: config.env_references(key) for key, _ in _walk(data)})


def secret_values(config: Config) -> set[str]:
    """Every string that would give a secret of ``config`` away: the values of its
    secret-bearing keys, what :func:`url_secrets` finds in those that are URLs,
    and the environment values they were built from."""
    values: set[str] = set()
    for field in _config_fields(config):
        values.add(field.value)
        password = _url_password(field.value)
        if password:
            values.add(password)
        if _URL_RE.match(field.value) and is_secret_key(field.key):
            values |= url_secrets(field.value)
        for name in config.env_references(field.key):
            values.add(os.environ.get(name, ""))
    return {v for v in values if len(v) >= MIN_SECRET_LENGTH}


class PathSecret(str):
    """A secret URL's path of plain words (``/newsalerts``, ``/hooks/catch/123/ab1c/``):
    hidden where it stands as a path (followed by the end of the text or by a character
    no path holds), not where its words are part of another path or of a sentence
    (``/tmp/newsalerts/a.db``, ``3 alerts sent``)."""


def url_secrets(url: str) -> set[str]:
    """What gives a secret URL (a webhook) away, even quoted without its host: the URL,
    its password and query, the path segments and query values that look like tokens,
    and its path: anywhere when the path holds a token, else as a :class:`PathSecret`."""
    parts = urlsplit(url)
    path_tokens = {s for s in parts.path.split("/") if _token_like(s)}
    query_values = [v for pair in parts.query.split("&") for v in pair.split("=", 1)[1:]]
    query_tokens = {v for raw in query_values for v in {raw, unquote_plus(raw)} if _token_like(v)}
    values: set[str] = {url, parts.query, _url_password(url) or "", *path_tokens, *query_tokens}
    if path_tokens:
        values |= {parts.path, parts.path.lstrip("/")}
    else:
        values |= {PathSecret(parts.path), PathSecret(parts.path.rstrip("/"))}
    return {v for v in values if len(v) >= MIN_SECRET_LENGTH}


def _token_like(value: str) -> bool:
    """A path segment or query value that may be a credential on its own: long (16
    characters or more), or of 8 or more that mix letters and digits (``3f9a1c7e``)."""
    if len(value) >= 16:
        return True
    has_digit = any(c.isdigit() for c in value)
    return len(value) >= 8 and has_digit and any(c.isalpha() for c in value)


def config_warnings(config: Config) -> list[str]:
    """What ``newswatch check`` warns about: secret-bearing keys written as literals in
    the file, and such a file being readable by group or other users."""
    literal = [f for f in _config_fields(config) if not f.from_env]
    warnings = []
    for field in literal:
        hint = re.sub(r"[^A-Z0-9]+", "_", field.key.upper()).strip("_")
        warnings.append(
            f"{config.path}: {field.key}: holds a secret as a literal; write "
            f'"${{{hint}}}" and set {hint} in the environment'
        )
    if literal and config.path:
        try:
            mode = stat.S_IMODE(Path(config.path).stat().st_mode)
        except OSError:
            mode = 0
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            warnings.append(
                f"{config.path}: holds secrets and is readable by other users "
                f"(mode {mode:04o}); chmod 600 {config.path}"
            )
    return warnings


class Redactor:
    """Replaces known secret values (longest first), paths of plain words where they stand
    as paths (:class:`PathSecret`) and credential-shaped text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._paths: set[str] = set()
        self._known: re.Pattern[str] | None = None
        self._known_paths: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also hide these values (shorter than 4 characters are ignored)."""
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                kind = self._paths if isinstance(secret, PathSecret) else self._secrets
                kind.add(str(secret))
        self._paths -= self._secrets  # hidden everywhere already
        self._known = _alternation(self._secrets)
        self._known_paths = _alternation(self._paths, after=_NOT_IN_A_PATH)

    def redact(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        if self._known_paths is not None:
            text = self._known_paths.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    __call__ = redact


# What follows a path where it ends: anything but a character a path (or a file name) holds.
_NOT_IN_A_PATH = r"(?![\w.~%/-])"


def _alternation(values: set[str], after: str = "") -> re.Pattern[str] | None:
    """One pattern of ``values``, the longest first, each followed by ``after``."""
    if not values:
        return None
    ordered = sorted(values, key=len, reverse=True)
    return re.compile("(?:" + "|".join(re.escape(v) for v in ordered) + ")" + after)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts every record's message (arguments merged in),
    exception text and stack. Install it on the handlers, so records that propagate
    from any logger pass it."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def redact_json(value: Any, redactor: Redactor) -> Any:
    """``value`` (JSON-ready: dicts, lists, strings, numbers) with every string redacted;
    for ``--json`` outputs."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, Mapping):
        return {k: redact_json(v, redactor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v, redactor) for v in value]
    return value
