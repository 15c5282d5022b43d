"""The page pipeline: bytes in, an article's facts out.

``process_page`` is what both the crawl (through the pipelines) and ``newswatch extract`` run:
decode the bytes, extract title/text/date, decide the language, find the outlet the article
credits, and record what was done in a ``repairs`` record. It does no I/O, so it is tested
without a crawl; the fetch time relative dates are resolved against is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from crawler.text.boilerplate import clean_text
from crawler.text.dates import DEFAULT_TIMEZONE
from crawler.text.encoding import decode_bytes
from crawler.text.entities import Catalogue, load_catalogue
from crawler.text.extract import extract_article
from crawler.text.language import detect_language
from crawler.text.mojibake import drop_replacement_characters, repair_mojibake
from crawler.text.origin import find_origin
from crawler.text.pinyin import repair_pinyin
from crawler.text.urls import canonical_url, site_of

__all__ = ["Page", "charset_from_content_type", "process_page", "repair_text"]

_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.IGNORECASE)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, if any."""
    if not content_type:
        return None
    match = _CHARSET_RE.search(content_type)
    return match.group(1) if match else None


@dataclass
class Page:
    url: str | None
    canonical_url: str | None
    title: str
    text: str
    lang: str
    encoding: str
    published_at: str | None
    repairs: dict[str, Any] = field(default_factory=dict)
    published_precision: str | None = None
    origin: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _add(record: dict[str, Any], key: str, counts: dict[str, int]) -> None:
    counts = {k: v for k, v in counts.items() if v}
    if counts:
        merged = record.setdefault(key, {})
        for kind, count in counts.items():
            merged[kind] = merged.get(kind, 0) + count


def repair_text(text: str, repairs: dict[str, Any]) -> str:
    """Repair decoded ``text`` (mojibake per paragraph, pinyin annotations and corrupted
    spans, replacement characters), adding what was done to ``repairs``."""
    mojibake = repair_mojibake(text)
    _add(repairs, "mojibake", mojibake.fixed)
    pinyin = repair_pinyin(mojibake.text)
    _add(
        repairs,
        "pinyin",
        {
            "annotations_removed": pinyin.annotations_removed,
            "spans_reconstructed": pinyin.spans_reconstructed,
            "spans_left": pinyin.spans_left,
        },
    )
    text, dropped = drop_replacement_characters(pinyin.text)
    _add(repairs, "replacement_characters", {"dropped": dropped})
    return text


def process_page(
    body: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    encoding: str | None = None,
    language: str | None = None,
    title_selector: str | None = None,
    body_selector: str | None = None,
    date_selector: str | None = None,
    host_aliases: Mapping[str, str] | None = None,
    fetched_at: str | datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    catalogue: Catalogue | None = None,
) -> Page:
    """Run the page pipeline on raw ``body`` bytes as served at ``url``. The canonical URL
    is the page's own ``rel=canonical``/``og:url`` when it points to the same site (a
    mobile page naming its desktop twin), else ``url``, canonicalised. Dates are read in
    the source's ``timezone``, relative ones against ``fetched_at`` (default: now); the
    credited outlet is normalised through ``catalogue`` (default: the built-in one)."""
    decoded = decode_bytes(
        body, http_charset=charset_from_content_type(content_type), override=encoding
    )
    extracted = extract_article(
        decoded.text,
        url=url,
        title_selector=title_selector,
        body_selector=body_selector,
        date_selector=date_selector,
        fetched_at=fetched_at,
        timezone=timezone,
    )
    canonical = canonical_url(url, host_aliases=host_aliases) if url else None
    if url and extracted.declared_canonical:
        declared = urljoin(url, extracted.declared_canonical)
        if declared.startswith(("http://", "https://")) and site_of(declared) == site_of(url):
            canonical = canonical_url(declared, host_aliases=host_aliases)
    repairs: dict[str, Any] = {
        "encoding": {
            "codec": decoded.encoding,
            "reason": decoded.reason,
            "declared": decoded.declared,
        },
    }
    if decoded.runner_up:
        repairs["encoding"]["runner_up"] = decoded.runner_up
    if decoded.utf8_segments:
        repairs["encoding"]["utf8_segments"] = decoded.utf8_segments
    if decoded.replaced:
        repairs["undecodable_bytes"] = decoded.replaced
    repairs["extractor"] = extracted.extractor
    # The headline is repaired with its text, on the text's evidence: a page annotated
    # with pinyin throughout annotates its headline too, which alone is too short to tell.
    headline = extracted.title.replace("\n", " ")
    if headline:
        title, _, text = repair_text(f"{headline}\n{extracted.text}", repairs).partition("\n")
    else:
        title, text = "", repair_text(extracted.text, repairs)
    cleaned = clean_text(text)
    _add(repairs, "boilerplate", cleaned.removed)
    text = cleaned.text
    lang = detect_language(f"{title}\n{text}", hint=language)
    # Credit lines are read before boilerplate removal, which may take a closing one.
    origin = find_origin(
        extracted.header,
        extracted.text,
        catalogue if catalogue is not None else load_catalogue(),
    )
    return Page(
        url=url,
        canonical_url=canonical,
        title=title,
        text=text,
        lang=lang,
        encoding=decoded.encoding,
        published_at=extracted.published_at,
        repairs=repairs,
        published_precision=extracted.published_precision,
        origin=origin,
    )
