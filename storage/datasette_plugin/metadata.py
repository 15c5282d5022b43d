"""What datasette shows of the archive: titles, descriptions of every table and column,
the internal tables it hides, sort orders, labels, facets, the canned queries (their SQL
lives beside this module in ``queries/``) and the dashboard.

Every table the migrations create has an entry here; ``tests/test_serve.py`` fails when a
table or a column has no description, so a new column cannot arrive undocumented.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "CANNED_QUERIES",
    "HIDDEN_TABLES",
    "READING_COLUMNS",
    "TABLE_ORDER",
    "TABLES",
    "archive_metadata",
    "dashboard",
    "query_sql",
]

_TZ_NOTE = "Times are shown in {timezone}."
# Whole counts: at most five ticks, never more than the largest count (Vega-Lite's
# tickMinStep is not honoured for these bars, and "d" then printed 0, 1, 1, 2, 2).
_COUNTS = {"format": "d", "tickCount": {"signal": "min(5, ceil(domain('y')[1]))"}}
# Days on a time scale (a day without articles shows as a gap), ticked at whole days only:
# a single day was labelled twice (its midnight and its noon).
_DAY = {
    "field": "day",
    "type": "temporal",
    "timeUnit": "yearmonthdate",
    "title": "day",
    "axis": {"format": "%b %d", "tickCount": "day", "labelOverlap": True},
}

TABLES: dict[str, dict[str, Any]] = {
    "articles": {
        "title": "Articles",
        "description": "Every article the crawler stored, once per canonical URL, newest "
        "first. Open a title for the article as a reader sees it: its text, its story and "
        "the other outlets that carried it, the alerts it fired and what was repaired.",
        "columns": {
            "id": "Article number.",
            "url": "The URL it was first fetched at (possibly with tracking parameters).",
            "canonical_url": "The article's one address: tracking parameters, fragments "
            "and mobile hosts removed; the page's own rel=canonical when on the same site.",
            "source": "The configured source that found it.",
            "title": "Headline, as extracted from the page.",
            "text": "Body text, one paragraph per line, after repairs and boilerplate removal.",
            "html": "The raw page as served, zlib-compressed (not shown in table views).",
            "lang": "Language (BCP 47): zh-Hans, zh-Hant, en, ...",
            "published_at": "Publication time given by the page or feed.",
            "fetched_at": "When it was stored (or last revised).",
            "story_id": "The story it belongs to: copies on other outlets share it.",
            "encoding": "The codec its bytes were decoded with.",
            "repairs": "What was repaired while reading it (decoding, mojibake, pinyin, "
            "boilerplate), shown in words on the article page.",
            "content_type": "The Content-Type header it was served with.",
            "fingerprint": "Hash of the folded text: equal fingerprints are the same text.",
            "revision": "1 for the first text; higher when the text at this URL changed.",
            "origin": "The outlet the article credits (来源, a dateline such as 新华社…电, "
            '"(Reuters) -"), normalised: Xinhua, Reuters. Empty when it credits none.',
            "published_precision": "How exact published_at is: minute, day (a date alone), "
            'or estimated (from "3小时前" and the like).',
            "entities": "The catalogue entities it names (companies, products, agencies, "
            "lists), in either language.",
            "story_match": "How it joined its story: first, copy, or other language.",
        },
    },
    "stories": {
        "title": "Stories",
        "description": "One row per story however many outlets carried it; a story page "
        "lists every outlet's article.",
        "columns": {
            "id": "Story number (the id of its first article).",
            "first_seen": "When its first article was stored.",
            "first_source": "The source of its first article.",
            "first_url": "The canonical URL of its first article.",
            "title": "The headline of its first article.",
            "article_count": "How many articles (copies) it has.",
            "sources": "The sources that carried it.",
            "signature": "MinHash signature used to find near-duplicates (binary).",
            "languages": "The languages it was reported in.",
            "origin": "Its first outlet: what its earliest article credits, else that "
            "article's source.",
            "reposts": "The sources that carried it as a copy or crediting that outlet.",
            "merged_into": "Set when reports of one event met late: the story it joined.",
        },
    },
    "alerts": {
        "title": "Alerts",
        "description": "The alert outbox: one row per rule, story and channel, with its "
        "delivery status. Also a feed: the latest_alerts query in Atom.",
        "columns": {
            "id": "Alert number.",
            "rule": "The rule that fired.",
            "story_id": "The story it fired on (a story alerts once per rule and channel).",
            "channel": "Where it is delivered (Slack, email).",
            "article_id": "The article that fired it.",
            "mode": "immediate, or digest (sent with others once per period).",
            "status": "pending, sending, sent, failed (retried later) or dead (given up).",
            "attempts": "Delivery attempts so far.",
            "next_attempt_at": "When a failed alert is tried again.",
            "last_error": "Why the last attempt failed.",
            "sent_at": "When it was delivered.",
            "created_at": "When the rule fired.",
            "terms": "The terms that matched.",
            "spans": "Where they matched (character offsets).",
            "snippet": "The text around the first match.",
            "title": "The article's headline when the alert was queued.",
            "url": "The article's URL when the alert was queued.",
            "source": "The article's source.",
            "published_at": "The article's publication time.",
            "lease_until": "While a deliverer is sending it: until when its claim holds.",
            "claimed_by": "Which deliverer holds the claim.",
        },
    },
    "source_health": {
        "title": "Source health",
        "description": "How each source is doing, kept up to date by the daemon.",
        "columns": {
            "source": "The configured source.",
            "state": "unknown, ok, failing, silent (no new articles for too long), degraded, "
            "or removed (no longer in the config; its history kept).",
            "last_check_at": "Its last check.",
            "last_success_at": "Its last successful check.",
            "last_failure_at": "Its last failed check.",
            "consecutive_failures": "Failed checks in a row.",
            "last_error": "What went wrong last.",
            "next_check_at": "When it is checked next.",
            "last_new_article_at": "When it last gave a new article.",
            "articles_today": "New articles today.",
            "articles_per_day": "Its usual number of new articles per day.",
            "empty_share": "Share of pages with no text extracted.",
            "repaired_share": "Share of pages that needed repairs.",
            "alarm": "The alarm raised about it, if any.",
            "updated_at": "When this row was updated.",
        },
    },
    "crawl_runs": {
        "title": "Crawl runs",
        "description": "One row per source per crawl pass or check: requests, new and "
        "unchanged articles, errors.",
        "columns": {
            "id": "Run number.",
            "run_id": "The pass it belongs to (one id for all sources of a pass).",
            "source": "The source crawled.",
            "started_at": "Start.",
            "finished_at": "End.",
            "requests": "HTTP requests sent.",
            "responses": "HTTP responses received.",
            "new_articles": "Articles stored for the first time.",
            "unchanged": "Articles already archived.",
            "not_modified": "Entry points that answered 304 Not Modified.",
            "errors": "Failures: HTTP errors, timeouts, unreadable pages.",
            "finish_reason": "How the crawl ended (finished, shutdown, ...).",
            "stats": "Key Scrapy counters.",
            "pages": "Article pages processed.",
            "empty_pages": "Pages with no text extracted.",
            "repaired_pages": "Pages that needed repairs.",
            "entry_errors": "Feeds, sitemaps and listings that failed.",
            "duration": "Seconds the check took.",
            "trigger": "What started it (schedule, manual, ...).",
        },
    },
    "fetches": {
        "title": "Fetches",
        "description": "The last fetch of every feed, sitemap, listing and article URL, "
        "with its validators for conditional requests and its last error.",
        "columns": {
            "url": "The URL fetched.",
            "source": "The source it belongs to.",
            "kind": "feed, sitemap, listing or article.",
            "etag": "ETag of the last answer.",
            "last_modified": "Last-Modified of the last answer.",
            "last_status": "HTTP status of the last answer (empty: no answer).",
            "last_fetch": "When it was last fetched.",
            "last_error": "The last error, if the last fetch failed.",
            "parent": "The sitemap index it was found in.",
        },
    },
    "article_revisions": {
        "title": "Article revisions",
        "description": "Earlier texts of articles edited at the same URL.",
        "columns": {
            "article_id": "The article.",
            "revision": "Which revision this text was.",
            "title": "Headline of that revision.",
            "text": "Text of that revision.",
            "fingerprint": "Hash of that text.",
            "fetched_at": "When that revision was stored.",
        },
    },
    "article_aliases": {
        "title": "Article aliases",
        "description": "Other URLs of stored articles (redirects, tracking-parameter "
        "variants), recognised without a download.",
        "columns": {
            "url": "The other URL (canonical form).",
            "article_id": "The article it leads to.",
            "seen_at": "When it was first seen.",
        },
    },
    "alarms": {
        "title": "Alarms",
        "description": "Alarms about sources (failing, silent, degraded) and their delivery.",
        "columns": {
            "id": "Alarm number.",
            "source": "The source concerned.",
            "kind": "What is wrong (failing, silent, degraded).",
            "event": "raised or cleared.",
            "message": "The message sent.",
            "channel": "Where it is delivered.",
            "status": "pending, sending, sent, failed or dead.",
            "attempts": "Delivery attempts so far.",
            "next_attempt_at": "When a failed alarm is tried again.",
            "last_error": "Why the last attempt failed.",
            "sent_at": "When it was delivered.",
            "created_at": "When it was raised.",
            "lease_until": "While being sent: until when the claim holds.",
            "claimed_by": "Which deliverer holds the claim.",
        },
    },
    "digests": {
        "title": "Digests",
        "description": "When each digest rule last sent on each channel (internal).",
        "columns": {
            "rule": "The digest rule.",
            "channel": "The channel.",
            "last_sent_at": "When its last digest was sent.",
        },
    },
    "daemon": {
        "title": "Daemon",
        "description": "The daemon processes and their heartbeats (internal).",
        "columns": {
            "id": "Row number.",
            "pid": "Process id.",
            "host": "Machine name.",
            "role": "What the process does.",
            "version": "newswatch version.",
            "config_path": "Its config file.",
            "started_at": "Start.",
            "heartbeat_at": "Last sign of life.",
            "stopped_at": "Clean stop.",
        },
    },
    "story_bands": {
        "title": "Story bands",
        "description": "The persisted LSH index that finds a story's copies (internal).",
        "columns": {"key": "Band hash.", "story_id": "A story filed under it."},
    },
    "source_paragraphs": {
        "title": "Source paragraphs",
        "description": "Paragraphs recurring across a source's stories: its template, left "
        "out of story matching (internal).",
        "columns": {
            "source": "The source.",
            "hash": "Hash of the paragraph.",
            "stories": "Stories of the source that carried it.",
        },
    },
    "story_keys": {
        "title": "Story keys",
        "description": "The facts of each article (entities, codes, figures, dates, actions) "
        "that reports in the other language are matched on (internal).",
        "columns": {
            "key": "A fact, in a form both languages share.",
            "family": "The article's language family (zh, en).",
            "at": "When the article was published (or stored).",
            "article_id": "The article.",
            "story_id": "Its story.",
            "weight": "How much the fact says about the event.",
        },
    },
    "_migrations": {
        "title": "Migrations",
        "description": "Schema migrations applied to this archive (internal).",
        "columns": {"name": "Migration.", "applied_at": "When it was applied."},
    },
    "articles_fts": {
        "title": "Search index",
        "description": "The full-text index: titles and texts in the bigram form that finds "
        "Chinese words of two characters or more. Search it through the articles table or "
        "the search query.",
        "columns": {
            "title": "Headline, indexed.",
            "text": "Text, indexed.",
        },
    },
}

HIDDEN_TABLES = (
    "story_bands",
    "story_keys",
    "source_paragraphs",
    "_migrations",
    "digests",
    "daemon",
)

# The order of the database page: what a reader opens first.
TABLE_ORDER = (
    "articles",
    "stories",
    "alerts",
    "source_health",
    "crawl_runs",
    "fetches",
    "article_revisions",
    "article_aliases",
    "alarms",
)

# Columns of the default table views (a ?_col= or ?_nocol= in the URL shows others).
READING_COLUMNS: dict[str, tuple[str, ...]] = {
    "articles": ("title", "source", "lang", "published_at", "story_id"),
    "stories": ("title", "article_count", "sources", "first_seen", "first_source"),
    "alerts": ("rule", "article_id", "source", "channel", "status", "created_at", "sent_at"),
    "article_revisions": ("article_id", "revision", "title", "fetched_at"),
}

CANNED_QUERIES: dict[str, dict[str, str]] = {
    "latest_alerts": {
        "title": "Latest alerts",
        "description": "Alerts, newest first: rule, article, source, channel, delivery "
        "status and time. Subscribe to it in a feed reader: latest_alerts.atom.",
    },
    "multi_outlet_stories": {
        "title": "Stories carried by two or more outlets",
        "description": "Stories whose articles come from at least two sources, most "
        "recently seen first.",
    },
    "new_today": {
        "title": "New today",
        "description": "Articles stored since midnight (in the configured time zone), "
        "newest first, with how many outlets carry their story.",
    },
    "articles_per_day": {
        "title": "Articles per day per source",
        "description": "Articles per day of publication (or of storage when the page gave "
        "no date) and source.",
    },
    "rule_hits_per_day": {
        "title": "Rule hits per day",
        "description": "Per day and rule: the stories it fired on and the alerts queued.",
    },
    "failing_sources": {
        "title": "Failing sources and failed fetches",
        "description": "Sources whose health is failing, silent or degraded, whose last "
        "check had errors, or with URLs whose last fetch failed.",
    },
    "search": {
        "title": "Search",
        "description": "Full-text search with a highlighted snippet. Chinese words of two "
        'characters or more, English words; "quoted phrases", OR between words, -word to '
        "leave out. Also a feed: search.atom?q=...",
    },
}


@cache
def query_sql(name: str) -> str:
    """The SQL of canned query ``name`` (``queries/<name>.sql``)."""
    return (
        resources.files("storage.datasette_plugin")
        .joinpath("queries", f"{name}.sql")
        .read_text("utf-8")
        .strip()
    )


def dashboard(database: str) -> dict[str, Any]:
    """The datasette-dashboards definition of the archive's dashboard."""
    since = " [[ AND day >= :since ]]"
    source = " [[ AND source = :source ]]"
    return {
        "title": "The archive at a glance",
        "description": "Articles per day per source and alerts per rule per day. Charts "
        "stop at the server's max_returned_rows (most recent days first).",
        "layout": [
            ["articles", "stories", "alerts"],
            ["articles-per-day", "articles-per-day", "articles-per-day"],
            ["alerts-per-rule", "alerts-per-rule", "alerts-per-rule"],
        ],
        "filters": {
            "since": {"name": "Since", "type": "date"},
            "source": {
                "name": "Source",
                "type": "select",
                "db": database,
                "query": "SELECT DISTINCT source FROM articles ORDER BY source",
            },
        },
        "charts": {
            "articles": {
                "title": "Articles",
                "db": database,
                "query": "SELECT count(*) AS n FROM articles",
                "library": "metric",
                "display": {"field": "n"},
            },
            "stories": {
                "title": "Stories on two or more outlets",
                "db": database,
                "query": "SELECT count(*) AS n FROM stories WHERE id IN (SELECT story_id "
                "FROM articles GROUP BY story_id HAVING count(DISTINCT source) >= 2)",
                "library": "metric",
                "display": {"field": "n"},
            },
            "alerts": {
                "title": "Alerts",
                "db": database,
                "query": "SELECT count(*) AS n FROM alerts",
                "library": "metric",
                "display": {"field": "n"},
            },
            "articles-per-day": {
                "title": "Articles per day per source",
                "db": database,
                "query": "SELECT * FROM (SELECT newswatch_day(coalesce(published_at, "
                "fetched_at)) AS day, source, count(*) AS articles FROM articles "
                "GROUP BY day, source) WHERE day IS NOT NULL" + since + source + " "
                "ORDER BY day DESC, source",
                "library": "vega-lite",
                "display": {
                    "usermeta": {"embedOptions": {"renderer": "svg", "actions": False}},
                    "mark": {"type": "bar", "tooltip": True},
                    "encoding": {
                        "x": _DAY,
                        "y": {
                            "field": "articles",
                            "type": "quantitative",
                            "aggregate": "sum",
                            "title": "articles",
                            "axis": _COUNTS,
                        },
                        "color": {"field": "source", "type": "nominal"},
                    },
                },
            },
            "alerts-per-rule": {
                "title": "Alerts per rule per day",
                "db": database,
                "query": "SELECT * FROM (SELECT newswatch_day(created_at) AS day, rule, "
                "count(*) AS alerts FROM alerts GROUP BY day, rule) WHERE day IS NOT NULL"
                + since
                + " ORDER BY day DESC, rule",
                "library": "vega-lite",
                "display": {
                    "usermeta": {"embedOptions": {"renderer": "svg", "actions": False}},
                    "mark": {"type": "bar", "tooltip": True},
                    "encoding": {
                        "x": _DAY,
                        "y": {
                            "field": "alerts",
                            "type": "quantitative",
                            "aggregate": "sum",
                            "title": "alerts",
                            "axis": _COUNTS,
                        },
                        # stacked, as articles per source: bars side by side on a time
                        # scale split one day into halves that read as two days
                        "color": {"field": "rule", "type": "nominal"},
                    },
                },
            },
        },
    }


def archive_metadata(database: str, *, timezone: str) -> dict[str, Any]:
    """Datasette metadata for an archive served as ``database``."""
    tables: dict[str, dict[str, Any]] = copy.deepcopy(TABLES)
    for name in HIDDEN_TABLES:
        tables[name]["hidden"] = True
    articles = tables["articles"]
    articles.update(
        {
            "sort_desc": "published_at",
            "label_column": "title",
            "fts_table": "articles_fts",
            "fts_pk": "id",
            "facets": ["source", "lang"],
        }
    )
    tables["stories"].update({"sort_desc": "id", "label_column": "title"})
    tables["alerts"].update({"sort_desc": "id", "facets": ["rule", "status", "channel"]})
    tables["crawl_runs"].update({"sort_desc": "id", "facets": ["source"]})
    tables["fetches"].update({"sort_desc": "last_fetch", "facets": ["kind", "last_status"]})
    queries = {
        name: {**info, "sql": query_sql(name), "hide_sql": True}
        for name, info in CANNED_QUERIES.items()
    }
    note = _TZ_NOTE.format(timezone=timezone)
    return {
        "title": "newswatch archive",
        "description": "News on export controls and the chip industry, in Chinese and "
        "English: articles, the stories they belong to, and the alerts they fired. " + note,
        "databases": {
            database: {
                "title": "The archive",
                "description": "Start with the queries below, the articles table (newest "
                "first, searchable) or the dashboard at /-/dashboards/newswatch. " + note,
                "tables": tables,
                "queries": queries,
            }
        },
        "plugins": {"datasette-dashboards": {"newswatch": dashboard(database)}},
    }
