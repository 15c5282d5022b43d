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
    # set by the page pipeline
    canonical_url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    lang = scrapy.Field()
    encoding = scrapy.Field()
    published_at = scrapy.Field()
    repairs = scrapy.Field()
    # set by the dedup pipeline
    fingerprint = scrapy.Field()
    signature = scrapy.Field()
    # set by the alert match pipeline
    alerts = scrapy.Field()
    # set by the archive pipeline
    article_id = scrapy.Field()
    story_id = scrapy.Field()
    new_story = scrapy.Field()
