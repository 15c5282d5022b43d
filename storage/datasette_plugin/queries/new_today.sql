-- Articles stored since midnight in the configured time zone, newest first.
select
  articles.id as article_id,
  articles.title,
  articles.source,
  articles.lang,
  articles.published_at,
  articles.fetched_at,
  articles.story_id,
  (select count(distinct other.source) from articles as other
    where other.story_id = articles.story_id) as outlets
from articles
where articles.fetched_at >= newswatch_today_start()
order by articles.fetched_at desc, articles.id desc
