-- Alerts, newest first. The atom_* columns make it an Atom feed: latest_alerts.atom
select
  alerts.id as alert_id,
  alerts.rule,
  coalesce(articles.title, alerts.title) as title,
  coalesce(articles.source, alerts.source) as source,
  alerts.channel,
  alerts.status,
  alerts.created_at as time,
  alerts.sent_at,
  alerts.article_id,
  alerts.story_id,
  'urn:newswatch:alert:' || alerts.id as atom_id,
  alerts.created_at as atom_updated,
  '[' || alerts.rule || '] ' || coalesce(articles.title, alerts.title, '') as atom_title,
  coalesce(articles.canonical_url, alerts.url) as atom_link,
  coalesce(articles.source, alerts.source, '') || ' · ' || alerts.channel || ' · '
    || alerts.status || char(10) || coalesce(alerts.snippet, '') as atom_content
from alerts
left join articles on articles.id = alerts.article_id
order by alerts.id desc
limit 500
