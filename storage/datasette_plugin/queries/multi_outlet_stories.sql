-- Stories whose articles come from two or more sources, most recently seen first.
select
  stories.id as story_id,
  stories.title,
  count(distinct articles.source) as outlets,
  replace(group_concat(distinct articles.source), ',', ', ') as sources,
  count(articles.id) as articles,
  stories.first_seen,
  max(articles.fetched_at) as last_seen
from stories
join articles on articles.story_id = stories.id
group by stories.id
having count(distinct articles.source) >= 2
order by last_seen desc, stories.id desc
limit 500
