"""Chinese relative and partial dates, resolved against the fetch time in the source's
time zone, and the outlet an article credits (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.text.dates import resolve_date
from crawler.text.entities import load_catalogue
from crawler.text.origin import find_origin
from crawler.text.page import process_page
from tests.conftest import run_cli

FETCHED = "2026-05-20T02:07:42Z"  # 10:07 on 20 May in Beijing


@pytest.mark.parametrize(
    ("value", "expected", "precision"),
    [
        ("刚刚", "2026-05-20T02:07:00Z", "estimated"),
        ("剛剛", "2026-05-20T02:07:00Z", "estimated"),
        ("3分钟前", "2026-05-20T02:04:00Z", "minute"),
        ("3小时前", "2026-05-19T23:07:00Z", "estimated"),
        ("3 小時前", "2026-05-19T23:07:00Z", "estimated"),
        ("半小时前", "2026-05-20T01:37:00Z", "estimated"),
        ("今天 08:00", "2026-05-20T00:00:00Z", "minute"),
        ("昨天 14:30", "2026-05-19T06:30:00Z", "minute"),
        ("前天 09:05", "2026-05-18T01:05:00Z", "minute"),
        ("昨天", "2026-05-19", "day"),
        ("2天前", "2026-05-18", "day"),
        ("5月19日", "2026-05-19", "day"),
        ("5月20日 09:30", "2026-05-20T01:30:00Z", "minute"),
        ("09-25 14:30", "2025-09-25T06:30:00Z", "minute"),
        ("发布时间：05-19 22:15 来源：新华社", "2026-05-19T14:15:00Z", "minute"),
        ("2026年3月5日 14:30", "2026-03-05T06:30:00Z", "minute"),
        ("2026-03-05", "2026-03-05", "day"),
        ("2026-03-02T09:15:00+08:00", "2026-03-02T01:15:00Z", "minute"),
        ("Tue, 03 Mar 2026 15:00:00 GMT", "2026-03-03T15:00:00Z", "minute"),
        # a national agency's header, its parts spaced apart
        ("2026 03/14 09:12:30", "2026-03-14T01:12:30Z", "minute"),
        ("2026年3月17日星期二", "2026-03-17", "day"),
        # English dates as wires, agencies and papers print them
        ("March 20, 2026", "2026-03-20", "day"),
        ("20 March 2026", "2026-03-20", "day"),
        ("Sept. 9, 2025", "2025-09-09", "day"),
        ("Mar. 20, 2026 3:45 PM ET", "2026-03-20T19:45:00Z", "minute"),
        ("Mar 20, 2026 3:45 PM EST", "2026-03-20T19:45:00Z", "minute"),  # not 03:45
        ("Wed 25 Mar 2026 09.02 EDT", "2026-03-25T13:02:00Z", "minute"),
        ("May 5, 2026, 11:30 a.m. UTC", "2026-05-05T11:30:00Z", "minute"),
        ("Published March 3rd, 2026 at 9:15 pm", "2026-03-03T13:15:00Z", "minute"),
        # a time before the date
        ("6:00am, 29 Mar 2026", "2026-03-28T22:00:00Z", "minute"),
        ("10:02 AM EST, Thu March 5, 2026", "2026-03-05T15:02:00Z", "minute"),
        # a dash before the time, Japanese 時分, morning and afternoon words
        ("2026/03/27-17:40", "2026-03-27T09:40:00Z", "minute"),
        ("2026年3月5日 10時02分", "2026-03-05T02:02:00Z", "minute"),
        ("2026年3月5日 下午2:30", "2026-03-05T06:30:00Z", "minute"),
        ("2026.03.05. 오후 2:02", "2026-03-05T06:02:00Z", "minute"),
        # day first with dashes or dots; slashes when the order shows
        ("27-03-2026 | 15:30", "2026-03-27T07:30:00Z", "minute"),
        ("27/03/2026", "2026-03-27", "day"),
        ("03/24/2026", "2026-03-24", "day"),
        # relative, in English, Japanese and Korean
        ("3 hours ago", "2026-05-19T23:07:00Z", "estimated"),
        ("30 minutes ago", "2026-05-20T01:37:00Z", "minute"),
        ("2 days ago", "2026-05-18", "day"),
        ("Yesterday at 2:30 PM", "2026-05-19T06:30:00Z", "minute"),
        ("3時間前", "2026-05-19T23:07:00Z", "estimated"),
        ("30분 전", "2026-05-20T01:37:00Z", "minute"),
        # a time after numbers, with am/pm, a zone or an offset
        ("03/24/2026 3:45 PM", "2026-03-24T07:45:00Z", "minute"),
        ("03/24/2026 12:30 AM", "2026-03-23T16:30:00Z", "minute"),
        ("27-03-2026 | 3:30 pm", "2026-03-27T07:30:00Z", "minute"),
        ("3/24/2026 11:45 PM EST", "2026-03-25T03:45:00Z", "minute"),
        ("March 24, 2026 10:30 GMT+8", "2026-03-24T02:30:00Z", "minute"),
        ("Tue 24 Mar 2026 15.45 GMT+8", "2026-03-24T07:45:00Z", "minute"),
        ("10:30 HKT, 24 Mar 2026", "2026-03-24T02:30:00Z", "minute"),
        ("24 March 2026 - 15.45", "2026-03-24T07:45:00Z", "minute"),
        ("Sun, 05 Apr 2026 10:00:00 +0800 (CST)", "2026-04-05T02:00:00Z", "minute"),
    ],
)
def test_dates_resolve_against_the_fetch_time(value: str, expected: str, precision: str) -> None:
    found = resolve_date(value, fetched_at=FETCHED)
    assert found is not None
    assert (found.value, found.precision) == (expected, precision)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5月21日", "2025-05-21"),  # tomorrow's date is last year's
        ("12月31日", "2025-12-31"),
        ("05-20 11:30", "2025-05-20T03:30:00Z"),  # later today: last year
        ("2月29日", "2024-02-29"),  # the latest 29 February on or before the fetch
    ],
)
def test_dates_without_a_year_are_never_in_the_future(value: str, expected: str) -> None:
    found = resolve_date(value, fetched_at=FETCHED)
    assert found is not None and found.value == expected


def test_a_portal_clock_running_fast_gives_the_fetch_time() -> None:
    found = resolve_date("05-20 10:30", fetched_at=FETCHED)  # 23 minutes ahead
    assert found == ("2026-05-20T02:07:00Z", "estimated")
    assert resolve_date("今天 14:00", fetched_at=FETCHED) is None  # hours ahead: not a date


def test_the_source_timezone_decides() -> None:
    assert resolve_date("昨天 14:30", fetched_at=FETCHED, timezone="UTC") == (
        "2026-05-19T14:30:00Z",
        "minute",
    )
    # 01:00 UTC is already 09:00 on the next day in Beijing: 昨天 counts from there
    late = "2026-05-20T01:00:00Z"
    assert resolve_date("昨天", fetched_at=late).value == "2026-05-19"  # type: ignore[union-attr]
    assert resolve_date("昨天", fetched_at=late, timezone="America/New_York").value == (  # type: ignore[union-attr]
        "2026-05-18"
    )


def page(header: str, body: str, *, meta: str = "") -> bytes:
    return f"""<html><head><meta charset="utf-8">{meta}<title>标题 - 某网</title></head><body>
<div class="nav"><a href="/">首页</a></div>
<h1>美方扩大芯片出口管制范围</h1>
<div class="article-info"><span class="time">{header}</span></div>
<div class="content"><p>{body}</p>
<p>分析人士认为，新规将影响多家云服务商的采购计划，部分订单可能推迟交付。</p>
<p>业内预计，相关企业将加快国产替代步伐，以降低供应链风险。</p></div>
<div class="side"><ul><li>另一条新闻 1小时前</li></ul></div>
</body></html>""".encode()


@pytest.mark.parametrize(
    ("header", "expected", "precision"),
    [
        ("3小时前 来源：新华社", "2026-05-19T23:07:00Z", "estimated"),
        ("昨天 14:30 来源：观察者网", "2026-05-19T06:30:00Z", "minute"),
        ("09-25 14:30", "2025-09-25T06:30:00Z", "minute"),
        ("5月19日", "2026-05-19", "day"),
    ],
)
def test_page_pipeline_reads_the_header_date(header: str, expected: str, precision: str) -> None:
    body = "美国商务部工业与安全局当地时间周二发布新规，将更多先进计算芯片纳入出口管制范围。"
    result = process_page(page(header, body), url="http://x.test/a", fetched_at=FETCHED)
    assert (result.published_at, result.published_precision) == (expected, precision)


def test_english_words_that_are_not_dates_are_not_dates() -> None:
    assert resolve_date("June 2026", fetched_at=FETCHED) is None
    assert resolve_date("made 2,000 chips in March 2026", fetched_at=FETCHED) is None
    assert resolve_date("05/03/2026", fetched_at=FETCHED) is None  # 5 March or 3 May
    assert resolve_date("请于15日前报名", fetched_at=FETCHED) is None  # before the 15th
    assert resolve_date("2026-03-05 13:30 PM", fetched_at=FETCHED) == ("2026-03-05", "day")


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ('<meta name="citation_publication_date" content="2026/03/24">', ("2026-03-24", "day")),
        (
            '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
            '[{"@type": "WebPage"}, {"@type": "NewsArticle", '
            '"datePublished": "2026-03-24T10:20:00+08:00"}]}</script>',
            ("2026-03-24T02:20:00Z", "minute"),
        ),
    ],
)
def test_dates_from_gazette_metadata_and_linked_data(meta: str, expected: tuple[str, str]) -> None:
    result = process_page(page("", "正文" * 30, meta=meta), fetched_at=FETCHED)
    assert (result.published_at, result.published_precision) == expected


def test_linked_data_nested_past_reason_is_no_date_and_no_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    meta = f'<script type="application/ld+json">{deep}</script>'
    result = process_page(page("", "正文" * 30, meta=meta), fetched_at=FETCHED)
    assert result.text.startswith("正文")


def test_a_wechat_article_is_dated_by_its_script() -> None:
    sentences = [f"出口管制新规解读，第{i}部分，讲清楚许可要求。" * 4 for i in range(4)]
    body = "".join(f"<section><span>{sentence}</span></section>" for sentence in sentences)
    html = (
        '<html><head><meta charset="utf-8"></head><body><div class="rich_media_content" '
        f'id="js_content">{body}</div><script>var ct = "1774567890";\n'
        'var publish_time = "2026-03-27" || "";</script></body></html>'
    )
    result = process_page(html.encode(), url="https://mp.weixin.qq.com/s/x", fetched_at=FETCHED)
    assert (result.published_at, result.published_precision) == ("2026-03-26T23:31:30Z", "minute")


def test_the_header_time_refines_a_day_only_meta_on_that_day() -> None:
    day = '<meta name="publishdate" content="2026-05-19">'
    same = process_page(page("2026年05月19日05:51", "正文" * 30, meta=day), fetched_at=FETCHED)
    assert (same.published_at, same.published_precision) == ("2026-05-18T21:51:00Z", "minute")
    other = process_page(page("2026年05月17日05:51", "正文" * 30, meta=day), fetched_at=FETCHED)
    assert (other.published_at, other.published_precision) == ("2026-05-19", "day")


def test_metadata_wins_over_the_header() -> None:
    meta = '<meta property="article:published_time" content="2026-05-18T08:00:00+08:00">'
    result = process_page(page("3小时前", "正文" * 30, meta=meta), fetched_at=FETCHED)
    assert (result.published_at, result.published_precision) == ("2026-05-18T00:00:00Z", "minute")


def test_extract_command_takes_the_fetch_time(tmp_path: Path) -> None:
    saved = tmp_path / "page.html"
    saved.write_bytes(page("3小时前 来源：新华社", "美国商务部发布新规。" * 5))
    result = run_cli("extract", str(saved), "--fetched-at", FETCHED)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["published_at"] == "2026-05-19T23:07:00Z"
    assert record["published_precision"] == "estimated"
    assert record["origin"] == "Xinhua"
    utc = run_cli("extract", str(saved), "--fetched-at", FETCHED, "--timezone", "Nowhere/City")
    assert utc.returncode == 2


CATALOGUE = load_catalogue()


@pytest.mark.parametrize(
    ("header", "text", "origin"),
    [
        ((), "新华社北京5月14日电（记者 张三）美国商务部13日发布公告。", "Xinhua"),
        ((), "新華社華盛頓5月13日電 美國商務部13日發布指南。", "Xinhua"),
        ((), "中新网5月14日电 据外媒报道，英伟达将推出新芯片。", "China News Service"),
        (("2026-05-14 10:23:11　来源: 新华社",), "正文。", "Xinhua"),
        (("来源：观察者网 作者：李四",), "正文。", "Guancha"),
        (("來源：中央社",), "正文。", "Central News Agency"),
        (("稿源：环球网 | 2026-05-14",), "正文。", "Global Times"),
        ((), "WASHINGTON, May 13 (Reuters) - The U.S. Commerce Department said...", "Reuters"),
        ((), "(AP) — Nvidia said on Tuesday it would...", "Associated Press"),
        (("By Jane Doe, Reuters",), "Nvidia said on Tuesday...", "Reuters"),
        ((), "Nvidia said on Tuesday...\nSource: Xinhua", "Xinhua"),
        ((), "（本文来源：证券时报网）\n英伟达表示……", "Securities Times"),
        ((), "据路透社报道，英伟达将向中国客户交付新芯片。", "Reuters"),
        ((), "据彭博社5月14日报道，英伟达正在研发新芯片。", "Bloomberg"),
        ((), "新华社记者 王五 摄\n正文。", "Xinhua"),
        (("来源：某某科技评论",), "正文。", "某某科技评论"),
        # vague credits and no credit at all
        ((), "据外媒报道，英伟达将推出新芯片。", None),
        (("信息來源:外網",), "正文。", None),
        ((), "正文。\n来源：网络", None),
        ((), "据悉，英伟达将推出新芯片。", None),
        ((), "The Commerce Department (BIS) - said on Tuesday", None),
        ((), "英伟达表示，公司将继续服务中国客户。分析人士称，据路透社报道的数字偏高。", None),
    ],
)
def test_origin(header: tuple[str, ...], text: str, origin: str | None) -> None:
    assert find_origin(header, text, CATALOGUE) == origin
