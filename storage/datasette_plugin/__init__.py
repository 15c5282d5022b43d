"""Datasette plugin: the archive as a reading room.

Installed with the package through the ``datasette`` entry point. With any archive, also
under plain ``datasette archive.db``:

- the search box of ``articles`` finds Chinese words: datasette runs a search as
  ``articles_fts MATCH escape_fts(:search)``, and this plugin registers its own
  ``escape_fts`` after datasette's (``trylast``) that writes the query in the bigram form
  the index holds (:func:`storage.search.fts_query`); ``get_metadata`` points datasette at
  the index (``fts_table``/``fts_pk``), which is not declared over ``articles``;
- SQL functions for queries written by hand: ``newswatch_fts_query(q)``,
  ``newswatch_snippet(snippet(...), text)`` (hits in ``<mark>``, in the characters of the
  article's ``text``: the index holds them folded), ``newswatch_snippet_text``,
  ``newswatch_day(time)`` (the day in the reader's time zone) and
  ``newswatch_today_start()`` (that zone's last midnight, in UTC);
- ``.atom`` output (datasette-atom's) that answers an empty result with an empty feed.

For the databases named in its plugin config (``newswatch serve`` sets it, see
:mod:`crawler.serve`), it also renders times in the configured time zone, JSON columns in
words and hits in snippets, links ids in query results, fills the article, story, table
and database templates (``templates/``) and sends a visitor without a login to the login
page.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from datasette import hookimpl
from markupsafe import Markup, escape

from storage.datasette_plugin.metadata import READING_COLUMNS, TABLE_ORDER, TABLES
from storage.datasette_plugin.reading import article_page, story_page
from storage.datasette_plugin.words import (
    DEFAULT_TIMEZONE,
    describe_repairs,
    describe_stats,
    local_day,
    local_midnight_utc,
    local_time,
    sources_list,
)
from storage.search import fts_query, readable_snippet

PLUGIN = "newswatch"
STATIC = "newswatch"  # the distribution name: datasette serves static/ under it
_TIME_COLUMNS = frozenset({"first_seen", "last_seen", "time", "last_fetch"})
_ID_LINKS = {"article_id": "articles", "story_id": "stories", "alert_id": "alerts"}
# Datasette 0.65 links foreign keys in table views, not on row pages.
_FOREIGN_KEYS = {
    ("alerts", "article_id"),
    ("alerts", "story_id"),
    ("articles", "story_id"),
    ("article_revisions", "article_id"),
    ("article_aliases", "article_id"),
}


def _settings(datasette: Any) -> dict[str, Any]:
    return datasette.plugin_config(PLUGIN) or {}


def _zone(datasette: Any) -> ZoneInfo:
    return ZoneInfo(_settings(datasette).get("timezone") or DEFAULT_TIMEZONE)


def _served(datasette: Any, database: str | None) -> bool:
    return database is not None and database in (_settings(datasette).get("databases") or ())


def _time_markup(value: str, zone: ZoneInfo) -> Markup | None:
    shown = local_time(value, zone)
    if shown is None:
        return None
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(value, shown)


def _marked(value: str) -> Markup:
    """Escape ``value``, keeping only ``<mark>`` tags: a snippet from newswatch_snippet."""
    escaped = str(escape(value))
    return Markup(escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


def _plain_snippet(snippet: str | None, text: str | None = None) -> str:
    return readable_snippet(snippet, text).replace("<mark>", "").replace("</mark>", "")


@hookimpl(trylast=True)
def prepare_connection(conn: Any, database: str, datasette: Any) -> None:
    zone = _zone(datasette)
    conn.create_function("escape_fts", 1, fts_query)
    conn.create_function("newswatch_fts_query", 1, fts_query, deterministic=True)
    # (snippet) or (snippet, the article's text: the snippet then reads in its characters)
    for arity in (1, 2):
        conn.create_function("newswatch_snippet", arity, readable_snippet, deterministic=True)
        conn.create_function("newswatch_snippet_text", arity, _plain_snippet, deterministic=True)
    conn.create_function("newswatch_day", 1, lambda v: local_day(v, zone), deterministic=True)
    conn.create_function("newswatch_today_start", 0, lambda: local_midnight_utc(zone))


@hookimpl
def startup(datasette: Any) -> Any:
    async def find_archives() -> None:
        found = []
        for name, db in datasette.databases.items():
            if db.is_memory:
                continue
            tables = set(await db.table_names())
            if {"articles", "articles_fts", "_migrations"} <= tables:
                found.append(name)
        datasette.newswatch_archives = found

    return find_archives


@hookimpl
def get_metadata(datasette: Any, key: Any, database: Any, table: Any) -> Any:
    archives = getattr(datasette, "newswatch_archives", None)
    if not archives:
        return None
    search = {"fts_table": "articles_fts", "fts_pk": "id"}
    return {"databases": {name: {"tables": {"articles": search}} for name in archives}}


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Any:
    if not _served(datasette, database):
        return None
    linked = (table, column) in _FOREIGN_KEYS or (table is None and column in _ID_LINKS)
    if linked and isinstance(value, int) and not isinstance(value, bool):
        href = datasette.urls.row(database, _ID_LINKS[column], str(value))
        return Markup('<a href="{}">{}</a>').format(href, value)
    if not isinstance(value, str):
        return None
    if column.endswith("_at") or column in _TIME_COLUMNS:
        return _time_markup(value, _zone(datasette))
    if column == "snippet" and "<mark>" in value:
        return _marked(value)
    if table is None and column == "title":
        keys = row.keys()
        for key in ("article_id", "story_id"):
            if key in keys and isinstance(row[key], int):
                href = datasette.urls.row(database, _ID_LINKS[key], str(row[key]))
                return Markup('<a href="{}">{}</a>').format(href, value)
    words: str | None = None
    if (column, table) in (("sources", "stories"), ("sources", None), ("terms", "alerts")):
        words = sources_list(value)
    elif column == "stats" and table == "crawl_runs":
        words = describe_stats(value)
    elif column == "repairs" and table == "articles":
        words = " ".join(describe_repairs(value)) or None
    if words is None:
        return None
    return Markup('<span class="nw-long">{}</span>').format(words)


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    if not _settings(datasette):
        return []
    return [datasette.urls.static_plugins(STATIC, "newswatch.css")]


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Any) -> None:
    def shown_time(value: Any) -> Any:
        if not isinstance(value, str):
            return "" if value is None else value
        return _time_markup(value, _zone(datasette)) or value

    env.filters["nw_time"] = shown_time
    env.filters["nw_marked"] = lambda v: _marked(v or "")


@hookimpl
def extra_template_vars(
    template: Any,
    database: str | None,
    table: str | None,
    columns: Any,
    view_name: str,
    request: Any,
    datasette: Any,
) -> Any:
    settings = _settings(datasette)
    if not settings or (database is not None and not _served(datasette, database)):
        return {}

    async def template_vars() -> dict[str, Any]:
        found: dict[str, Any] = {
            "newswatch_timezone": settings.get("timezone") or DEFAULT_TIMEZONE,
            "newswatch_table_order": TABLE_ORDER,
        }
        if view_name in ("database", "index"):
            found["newswatch_tables"] = TABLES
        args = request.args if request is not None else {}
        own_columns = any(key in args for key in ("_col", "_nocol", "_all_columns"))
        if view_name == "table" and table in READING_COLUMNS and not own_columns:
            found["newswatch_columns"] = READING_COLUMNS[table]
        if view_name == "row" and table in ("articles", "stories") and request is not None:
            try:
                row_id = int(request.url_vars["pks"])
            except (KeyError, ValueError):
                return found
            db = datasette.get_database(database)
            if table == "articles":
                found["newswatch_article"] = await article_page(db, row_id)
            else:
                found["newswatch_story"] = await story_page(db, row_id)
        return found

    return template_vars


@hookimpl
def forbidden(datasette: Any, request: Any, message: str) -> Any:
    from datasette.utils.asgi import Response

    if not _settings(datasette).get("login") or request.actor:
        return None
    if request.path.endswith((".atom", ".json", ".csv")):
        # Feed readers and scripts: ask for HTTP Basic credentials.
        return Response.text(
            "Authentication required",
            status=401,
            headers={"www-authenticate": 'Basic realm="newswatch", charset="UTF-8"'},
        )
    return Response.redirect(datasette.urls.path("/-/login"))


@hookimpl(trylast=True)
def register_output_renderer(datasette: Any) -> Any:
    try:
        import datasette_atom
    except ImportError:
        return None

    def render(
        datasette: Any,
        request: Any,
        sql: str,
        columns: Any,
        rows: Any,
        database: str,
        table: Any,
        query_name: Any,
        view_name: Any,
        data: Any,
    ) -> Any:
        if rows or not datasette_atom.REQUIRED_COLUMNS.issubset(columns):
            return datasette_atom.render_atom(
                datasette,
                request,
                sql,
                columns,
                rows,
                database,
                table,
                query_name,
                view_name,
                data,
            )
        return _empty_feed(datasette, request, sql, database, query_name)

    return {"extension": "atom", "render": render, "can_render": datasette_atom.can_render_atom}


def _empty_feed(datasette: Any, request: Any, sql: str, database: str, query_name: Any) -> Any:
    """An Atom feed with no entries (datasette-atom fails on an empty result)."""
    from datetime import UTC, datetime

    from datasette.utils.asgi import Response
    from feedgen.feed import FeedGenerator

    title = request.args.get("_feed_title", sql)
    if query_name:
        queries = datasette.metadata("queries", database=database, fallback=False) or {}
        title = (queries.get(query_name) or {}).get("title") or title
    feed = FeedGenerator()
    feed.id(request.url)
    feed.link(href=request.url, rel="self")
    feed.title(title)
    feed.updated(datetime.now(UTC))
    return Response(
        feed.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200
    )
