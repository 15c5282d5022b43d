"""One story across Chinese and English (issue 16): figures, codes and dates normalised
across languages, the bilingual labelled set, stories' languages, origin and reposts,
alerts once per story, merging, and the migration of an existing archive."""

from __future__ import annotations

import hashlib
import json
import warnings

import pytest
import sqlite_utils

from alerts import RuleSet
from bench.labelled_bilingual import REPORTS, evaluate
from crawler.config import parse_config
from crawler.text import crosslang
from crawler.text.crosslang import same_event, story_keys
from crawler.text.entities import load_catalogue
from storage import Archive
from storage.migrations import MIGRATIONS

SCANNER = RuleSet([], load_catalogue())


def keys(title: str, text: str, published: str | None = None) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = SCANNER.scan(title=title, text=text)
        return story_keys(title, text, mentions=scan.mentions, published=published)


@pytest.mark.parametrize(
    ("chinese", "english", "key"),
    [
        ("计提55亿美元费用", "a $5.5 billion charge", "usd:5.5e+09"),
        ("计提五十五亿美元费用", "charges of $5.5bn", "usd:5.5e+09"),
        ("将140家实体列入", "added 140 entities", "n:140"),
        ("将一百四十家实体列入", "added 140 Chinese entities", "n:140"),
        ("营收增长百分之十六", "revenue rose 16%", "pct:16"),
        ("营收增长16%", "revenue rose 16 percent", "pct:16"),
        ("营业收入161亿元", "revenue of 16.1 billion yuan", "cny:1.61e+10"),
        ("7纳米工艺", "a 7nm process", "nm:7"),
        ("美方于4月9日通知", "told it on April 9", "d:04-09"),
        ("12月2日发布新规", "the rule of Dec. 2", "d:12-02"),
        ("英伟达H20芯片", "Nvidia's H20 chip", "e:Nvidia H20"),
        ("昇腾910C", "Huawei's Ascend 910C", "e:Huawei Ascend"),
        ("实体清单", "the Entity List", "e:Entity List"),
        ("出口3A090物项", "items under ECCN 3A090", "e:ECCN 3A090"),
        ("撤回此前表态", "walked back the statement", "x:retract"),
        ("商务部发起反倾销调查", "an anti-dumping probe", "x:anti-dumping"),
    ],
)
def test_figures_codes_dates_and_entities_match_across_languages(
    chinese: str, english: str, key: str
) -> None:
    assert key in keys("", chinese)
    assert key in keys("", english)


FIGURE_PHRASES = [
    # Chinese money, each currency word
    "计提55亿美元费用", "另有3亿美金", "人民币2亿元", "4万亿日元", "5千万港元", "6百万欧元",
    "7歐元", "营业收入161亿元", "元人民币5亿", "人民幣12万", "收入5亿元人民幣",
    # English money
    "a $5.5 billion charge", "US$3 mln", "€4 million", "RMB 12 billion", "¥500", "RMB7bn",
    # percentages, node sizes, Chinese dates
    "16%", "16％", "12 percent", "3 per cent", "百分之十六", "百分之 5",
    "7nm", "5 - nm", "3纳米", "2納米", "14奈米", "28 nanometres", "7 nanometer",
    "美方于4月9日通知", "十二月二日发布", "2026年5月14日电",
]  # fmt: skip


@pytest.mark.parametrize("phrase", FIGURE_PHRASES)
def test_a_figure_pattern_skipped_for_a_text_would_have_found_nothing(phrase: str) -> None:
    """The cheap test before a figure or date pattern (what every match of it needs)
    never drops a match: each phrase names one figure, which some guarded pattern
    finds, and the guarded scan finds what the pattern alone finds in the phrase and in
    it with any one character taken out."""
    assert any(list(crosslang._matches(regex, phrase)) for regex in crosslang._NEEDS)
    for variant in [phrase, *(phrase[:i] + phrase[i + 1 :] for i in range(len(phrase)))]:
        for regex in crosslang._NEEDS:
            found = [m.span() for m in crosslang._matches(regex, variant)]
            assert found == [m.span() for m in regex.finditer(variant)], (regex.pattern, variant)


def test_dates_relative_to_publication_match_across_languages() -> None:
    # 15日 in a Chinese report of 16 April, "on Wednesday" in an English one of 15 April
    assert "d:04-15" in keys("", "英伟达当地时间15日披露", "2026-04-16T06:10:00Z")
    assert "d:04-15" in keys("", "Nvidia said on Wednesday", "2026-04-15T21:40:00Z")
    assert "d:04-15" in keys("", "英伟达周三披露", "2026-04-16T06:10:00Z")
    assert "d:03-30" in keys("", "30日宣布", "2026-04-02T00:00:00Z")  # last month's 30th


def test_entities_alone_are_no_evidence_of_one_event() -> None:
    chinese = keys("英伟达H20芯片需求下滑", "国内客户对英伟达H20芯片的需求明显下滑。")
    english = keys("Nvidia resumes H20 shipments", "Nvidia has begun shipping H20 chips.")
    assert same_event(chinese, english) == 0.0


@pytest.mark.parametrize("order", [None, 1, 2])
def test_bilingual_labelled_set(order: int | None) -> None:
    precision, recall, cross_precision, cross_recall, stories = evaluate(order)
    assert precision == 1.0 and cross_precision == 1.0
    assert recall >= 0.9 and cross_recall >= 0.9
    assert stories <= len({r.event for r in REPORTS}) + 2


def stored(archive: Archive, report_index: int, *, alerts=(), **extra: object):  # type: ignore[no-untyped-def]
    report = REPORTS[report_index]
    url = f"http://{report.source}.test/{report_index}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = SCANNER.scan(title=report.title, text=report.text)
        article = {
            "url": url,
            "canonical_url": url,
            "source": report.source,
            "title": report.title,
            "text": report.text,
            "lang": report.lang,
            "published_at": report.published_at,
            "fetched_at": report.published_at,
            "entities": scan.entities,
            "story_keys": story_keys(
                report.title, report.text, mentions=scan.mentions, published=report.published_at
            ),
            **extra,
        }
        return archive.add_article(article, alerts=alerts)


def index_of(event: str, lang: str, source_prefix: str = "") -> int:
    for i, r in enumerate(REPORTS):
        if r.event == event and r.lang == lang and r.source.startswith(source_prefix):
            return i
    raise KeyError(event)


def alert(rule: str) -> dict[str, object]:
    return {"rule": rule, "channels": ["slack"], "terms": ["H20"], "spans": [], "snippet": ""}


def test_story_across_languages_records_languages_origin_and_reposts(archive: Archive) -> None:
    english = stored(archive, index_of("entity-list-140", "en"), origin="Reuters")
    chinese = stored(
        archive, index_of("entity-list-140", "zh-Hans", "zh-Hans"), origin="Global Times"
    )
    repost = stored(archive, index_of("entity-list-140", "zh-Hans", "zh-repost"), origin="Xinhua")
    assert english.story_id == chinese.story_id == repost.story_id
    story = archive.db["stories"].get(english.story_id)
    assert json.loads(story["languages"]) == ["en", "zh-Hans"]
    assert story["origin"] == "Reuters" and json.loads(story["reposts"]) == ["zh-repost"]
    rows = archive.db.execute("SELECT story_match FROM articles ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["first", "other language", "copy"]
    row = archive.db["articles"].get(chinese.id)
    assert "Entity List" in json.loads(row["entities"]) and row["origin"] == "Global Times"


def test_a_wire_credited_by_both_names_the_wire_and_its_reposts(archive: Archive) -> None:
    first = stored(archive, index_of("h20-licence", "zh-Hans", "zh-repost"), origin="Xinhua")
    wire = stored(archive, index_of("h20-licence", "en"), origin="Xinhua")
    assert wire.story_id == first.story_id
    story = archive.db["stories"].get(first.story_id)
    # the wire was published first: it is the story's first outlet, the portal reposts it
    assert story["origin"] == "Xinhua" and json.loads(story["reposts"]) == ["zh-repost"]


def test_alerts_once_per_story_across_languages(archive: Archive) -> None:
    english = stored(archive, index_of("h20-licence", "en"), alerts=[alert("h20")])
    chinese = stored(archive, index_of("h20-licence", "zh-Hans", "zh-Hans"), alerts=[alert("h20")])
    assert english.story_id == chinese.story_id
    assert archive.db["alerts"].count == 1


def test_reports_that_meet_late_merge_and_keep_one_alert(archive: Archive) -> None:
    # Two Chinese reports of one event, written apart, are two stories until the English
    # report that matches both arrives.
    first = stored(archive, index_of("h20-licence", "zh-Hans", "zh-Hans"), alerts=[alert("h20")])
    second = stored(archive, index_of("h20-licence", "zh-Hans", "zh-repost"))
    assert first.story_id != second.story_id
    english = stored(archive, index_of("h20-licence", "en"), alerts=[alert("h20")])
    ids = {r[0] for r in archive.db.execute("SELECT story_id FROM articles").fetchall()}
    assert ids == {english.story_id} == {first.story_id}
    assert archive.db["stories"].get(second.story_id)["merged_into"] == first.story_id
    assert archive.db["stories"].get(first.story_id)["article_count"] == 3
    assert archive.db["alerts"].count == 1
    # a copy of the absorbed story's text still finds the event
    copy = stored(
        archive,
        index_of("h20-licence", "zh-Hans", "zh-repost"),
        url="http://copy.test/1",
        canonical_url="http://copy.test/1",
    )
    assert copy.story_id == first.story_id


def test_the_same_companies_months_later_stay_apart(archive: Archive) -> None:
    licence = stored(archive, index_of("h20-licence", "en"))
    resume = stored(archive, index_of("h20-resume", "zh-Hans"))
    assert licence.story_id != resume.story_id
    # and the window is the config's: a wide one still needs the evidence to agree
    archive.story_window = parse_config('[stories]\nwindow = "200d"\n').stories.window_delta
    share = stored(archive, index_of("h20-share", "zh-Hant"))
    assert share.story_id not in (licence.story_id, resume.story_id)


def test_migration_brings_an_existing_archive_along() -> None:
    db = sqlite_utils.Database(memory=True)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for migration in MIGRATIONS[:7]:
        migration(db)
        db.execute("INSERT INTO _migrations VALUES (?, '2026-01-01')", [migration.__name__])
    report = REPORTS[index_of("entity-list-140", "zh-Hans", "zh-Hans")]
    db.table("articles").insert(
        {
            "id": 1,
            "url": "http://old.test/1",
            "canonical_url": "http://old.test/1",
            "source": "old",
            "title": report.title,
            "text": "新华社华盛顿12月2日电\n" + report.text,
            "lang": "zh-Hans",
            "fetched_at": report.published_at,
            "story_id": 1,
        }
    )
    db.execute(
        "INSERT INTO stories (id, first_seen, first_source, first_url, title, article_count, "
        "sources) VALUES (1, ?, 'old', 'http://old.test/1', ?, 1, '[\"old\"]')",
        [report.published_at, report.title],
    )
    archive = Archive(db)
    row = archive.db["articles"].get(1)
    assert row["origin"] == "Xinhua" and "Entity List" in json.loads(row["entities"])
    story = archive.db["stories"].get(1)
    assert story["origin"] == "Xinhua" and json.loads(story["languages"]) == ["zh-Hans"]
    # the English report of the event, crawled after the upgrade, joins the old story
    english = stored(archive, index_of("entity-list-140", "en"))
    assert english.story_id == 1


def test_a_revision_updates_origin_entities_and_keys(archive: Archive) -> None:
    index = index_of("entity-list-140", "zh-Hans", "zh-Hans")
    first = stored(archive, index, origin=None)
    report = REPORTS[index]
    revised = stored(
        archive,
        index,
        origin="Xinhua",
        text=report.text + "\n更正：美方同时将镓列入管制。",
        entities=["Entity List", "Gallium"],
    )
    assert revised.revised and revised.story_id == first.story_id
    row = archive.db["articles"].get(first.id)
    assert row["origin"] == "Xinhua" and json.loads(row["entities"]) == ["Entity List", "Gallium"]
    assert archive.db["stories"].get(first.story_id)["origin"] == "Xinhua"


def test_reports_naming_the_same_companies_do_not_crowd_out_the_same_event(
    archive: Archive,
) -> None:
    """More other-language reports than the candidates scored name the same companies
    more prominently (headlines) than the one report of the same event: that report,
    which shares its figures, is still found."""

    def keyed(i: int, lang: str, keys: dict[str, float]) -> dict[str, object]:
        url = f"http://k{i}.test/{i}"
        return {
            "url": url,
            "canonical_url": url,
            "source": f"k{i}",
            "title": f"report {i}",
            "text": " ".join(  # no text in common
                hashlib.sha256(f"{i}/{j}".encode()).hexdigest()[:8] for j in range(30)
            ),
            "lang": lang,
            "published_at": "2026-11-20T08:00:00Z",
            "fetched_at": "2026-11-20T08:00:00Z",
            "story_keys": keys,
        }

    event = {"e:Nvidia": 3.0, "e:Nvidia H20": 3.0, "usd:5500000000": 4.0, "pct:15": 3.0}
    same = archive.add_article(keyed(0, "en", event), alerts=())
    for i in range(1, 15):  # the week's other reports: the companies in their headlines
        archive.add_article(keyed(i, "en", {"e:Nvidia": 12.0, "e:Nvidia H20": 12.0}), alerts=())
    chinese = archive.add_article(keyed(99, "zh-Hans", dict(event)), alerts=())
    assert chinese.story_id == same.story_id
    assert len({row[0] for row in archive.db.execute("SELECT story_id FROM articles")}) == 15
