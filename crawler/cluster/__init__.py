"""Scale-out over Redis: crawl workers on many machines, one archive node.

Opt-in with ``[cluster]`` in the config. ``newswatch run --role archive`` is the one node
that owns the SQLite archive: it schedules the sources (pushes their entry points into
per-source request streams), consumes processed articles and events from Redis, stores
them (dedup, stories, rules, the archive transaction), delivers alerts and keeps source
health. ``newswatch run --role worker`` (any number, any machine) downloads through the
scrapy-redis scheduler (:mod:`crawler.cluster.queue`), runs the page stage and hands each
processed article to the archive node through a Redis Stream (:mod:`crawler.cluster.ledger`).
See ``docs/scaling.md``.
"""
