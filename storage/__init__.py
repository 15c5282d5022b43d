"""The newswatch archive: a SQLite file with articles, fetch state, crawl runs and search."""

from storage.clock import utc_now, utc_stamp
from storage.db import (
    Archive,
    FetchState,
    Stored,
    compress_html,
    decompress_html,
)
from storage.migrations import MIGRATIONS, migrate
from storage.search import fts_query, index_text

__all__ = [
    "MIGRATIONS",
    "Archive",
    "FetchState",
    "Stored",
    "compress_html",
    "decompress_html",
    "fts_query",
    "index_text",
    "migrate",
    "utc_now",
    "utc_stamp",
]
