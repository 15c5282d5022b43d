-- Per day (in the configured time zone) and rule: stories it fired on, alerts queued.
select
  newswatch_day(created_at) as day,
  rule,
  count(distinct story_id) as stories,
  count(*) as alerts
from alerts
group by day, rule
order by day desc, rule
