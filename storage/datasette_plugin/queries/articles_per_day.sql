-- Articles per day (of publication, else of storage; in the configured time zone) and source.
select
  newswatch_day(coalesce(published_at, fetched_at)) as day,
  source,
  count(*) as articles
from articles
group by day, source
order by day desc, source
