"""Datasette plugin: makes the search box of the ``articles`` table find Chinese words.

Datasette runs a search as ``articles_fts MATCH escape_fts(:search)``. This plugin
registers its own ``escape_fts`` on every connection, after datasette's (``trylast``), which
turns the query into the bigram phrases the index holds (:func:`storage.search.fts_query`).
It also registers ``newswatch_fts_query(q)`` for use in SQL written by hand. Installed with
the package through the ``datasette`` entry point, so ``datasette archive.db`` just works.
"""

from __future__ import annotations

from datasette import hookimpl

from storage.search import fts_query


@hookimpl(trylast=True)
def prepare_connection(conn):  # type: ignore[no-untyped-def]
    conn.create_function("escape_fts", 1, fts_query)
    conn.create_function("newswatch_fts_query", 1, fts_query)
