"""The item a spider yields for every article page it downloads."""

from __future__ import annotations

import scrapy

__all__ = ["ArticleItem"]


class ArticleItem(scrapy.Item):
    # set by the spider
    source = scrapy.Field()
    url = scrapy.Field()
    body = scrapy.Field()
    content_type = scrapy.Field()
    redirect_urls = scrapy.Field()
    fetched_at = scrapy.Field()
    hint_title = scrapy.Field()
    hint_published_at = scrapy.Field()
    queue_entry = scrapy.Field()  # in a cluster: the queue entry and check it came from
    check = scrapy.Field()
    # set by the page pipeline
    canonical_url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    lang = scrapy.Field()
    encoding = scrapy.Field()
    published_at = scrapy.Field()
    published_precision = scrapy.Field()
    origin = scrapy.Field()
    repairs = scrapy.Field()
    fingerprint = scrapy.Field()
    signature = scrapy.Field()
    entities = scrapy.Field()
    story_keys = scrapy.Field()
    # the processed article itself (crawler.page_stage), which the fields above copy
    record = scrapy.Field()
    # set by the alert match pipeline
    alerts = scrapy.Field()
    # set by the archive pipeline
    article_id = scrapy.Field()
    story_id = scrapy.Field()
    new_story = scrapy.Field()
