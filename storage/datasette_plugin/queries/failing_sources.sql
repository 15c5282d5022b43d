-- Sources in trouble: health failing/silent/degraded (kept by the daemon), a last check
-- with errors, or URLs whose last fetch failed; not the ones taken out of the config.
with last_run as (
  select crawl_runs.*
  from crawl_runs
  join (select source, max(id) as id from crawl_runs group by source) as latest
    on latest.id = crawl_runs.id
),
failed as (
  select
    source,
    count(*) as failed_fetches,
    max(last_fetch) as last_failed_fetch_at
  from fetches
  where last_error is not null or last_status >= 400
  group by source
),
named as (
  select source from source_health
  union select source from last_run
  union select source from failed
)
select
  named.source,
  source_health.state,
  source_health.consecutive_failures,
  coalesce(source_health.last_error, (
    select coalesce(fetches.last_error, 'HTTP ' || fetches.last_status) || ': ' || fetches.url
    from fetches
    where fetches.source = named.source
      and (fetches.last_error is not null or fetches.last_status >= 400)
    order by fetches.last_fetch desc limit 1
  )) as last_error,
  source_health.last_success_at,
  last_run.finished_at as last_check_at,
  last_run.errors as last_check_errors,
  last_run.finish_reason,
  coalesce(failed.failed_fetches, 0) as failed_fetches,
  failed.last_failed_fetch_at
from named
left join source_health on source_health.source = named.source
left join last_run on last_run.source = named.source
left join failed on failed.source = named.source
where coalesce(source_health.state, '') != 'removed'  -- no longer configured
  and (
    source_health.state in ('failing', 'silent', 'degraded')
    or coalesce(source_health.consecutive_failures, 0) > 0
    or coalesce(last_run.errors, 0) > 0
    or coalesce(last_run.entry_errors, 0) > 0
    or coalesce(last_run.finish_reason, 'finished') != 'finished'
    or failed.failed_fetches > 0
  )
order by
  case source_health.state when 'failing' then 0 when 'silent' then 1
    when 'degraded' then 2 else 3 end,
  coalesce(source_health.consecutive_failures, 0) desc,
  coalesce(failed.failed_fetches, 0) desc,
  named.source
