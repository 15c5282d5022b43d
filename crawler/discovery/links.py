"""What discovery yields: a link to an article, with whatever the entry point told about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    url: str
    title: str | None = None
    published_at: str | None = None
