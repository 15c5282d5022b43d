-- Full-text search, best match first, with a snippet of the text around the hits.
-- q: words, "quoted phrases", OR between words, -word to leave out.
select
  articles.id as article_id,
  articles.title,
  articles.source,
  articles.lang,
  articles.published_at,
  newswatch_snippet(snippet(articles_fts, 1, char(2), char(3), '…', 40), articles.text) as snippet,
  articles.story_id,
  articles.canonical_url as url,
  'urn:newswatch:article:' || articles.id as atom_id,
  coalesce(articles.published_at, articles.fetched_at) as atom_updated,
  articles.title as atom_title,
  articles.canonical_url as atom_link,
  newswatch_snippet_text(snippet(articles_fts, 1, char(2), char(3), '…', 40), articles.text) as atom_content
from articles_fts
join articles on articles.id = articles_fts.rowid
where articles_fts match newswatch_fts_query(:q)
order by articles_fts.rank
limit 100
