"""Issue 14: the search query language (words, "phrases", OR, -term) with two-character
Chinese words in each form, and the snippets `newswatch search` shows."""

from __future__ import annotations

import pytest

from crawler.search_results import build_snippet, present
from storage import Archive
from storage.search import fts_query, parse_query, search_articles

ARTICLES = [
    ("华为发布昇腾芯片新品", "华为表示，新一代昇腾芯片将于下季度量产，面向数据中心。"),
    ("股价升腾", "受消息影响，芯片板块股价升腾，华为概念股领涨。"),
    ("馬來西亞採用昇騰AI晶片", "據報道，該計畫使用昇騰處理器。"),
    ("Nvidia H20 shipments resume", "The Entity List grows again; H20 licences are reviewed."),
    ("Export controls widen", "Commerce added firms to the entity-list on Tuesday."),
]


@pytest.fixture
def filled(archive: Archive) -> Archive:
    for i, (title, text) in enumerate(ARTICLES):
        archive.add_article(
            {
                "url": f"http://x/{i}",
                "canonical_url": f"http://x/{i}",
                "source": "s" if i % 2 else "t",
                "title": title,
                "text": text,
                "fetched_at": f"2026-03-0{i + 1}T00:00:00Z",
            }
        )
    return archive


def titles(archive: Archive, query: str, **kwargs: object) -> set[str]:
    return {row["title"] for row in search_articles(archive.db, query, **kwargs)}  # type: ignore[arg-type]


def test_bare_two_character_word(filled: Archive) -> None:
    assert titles(filled, "昇腾") == {ARTICLES[0][0], ARTICLES[2][0]}
    assert titles(filled, "华为") == {ARTICLES[0][0], ARTICLES[1][0]}


def test_quoted_two_character_word_and_phrase(filled: Archive) -> None:
    assert titles(filled, '"昇腾"') == titles(filled, "昇腾")
    assert titles(filled, '"昇腾芯片"') == {ARTICLES[0][0]}
    assert titles(filled, '"entity list"') == {ARTICLES[3][0], ARTICLES[4][0]}


def test_or_between_two_character_words(filled: Archive) -> None:
    assert titles(filled, "昇腾 OR 升腾") == {ARTICLES[0][0], ARTICLES[1][0], ARTICLES[2][0]}
    # OR binds tighter than the implicit AND: 华为 and one of 昇腾, 升腾
    assert titles(filled, "华为 昇腾 OR 升腾") == {ARTICLES[0][0], ARTICLES[1][0]}
    assert titles(filled, "昇腾 or 升腾") == set()  # lower-case "or" is a word


def test_excluded_two_character_word(filled: Archive) -> None:
    assert titles(filled, "芯片 -股价") == {ARTICLES[0][0]}
    assert titles(filled, "昇腾 -华为") == {ARTICLES[2][0]}
    assert titles(filled, 'H20 -"entity list"') == set()
    assert titles(filled, "entity -H20") == {ARTICLES[4][0]}


def test_nothing_required_matches_nothing(filled: Archive) -> None:
    assert fts_query("-华为") == '""'
    assert parse_query("-华为").required == []
    assert titles(filled, "-华为") == set()
    assert titles(filled, "OR") == set()


def test_since_and_sources_filter(filled: Archive) -> None:
    assert titles(filled, "昇腾", since="2026-03-02T00:00:00Z") == {ARTICLES[2][0]}
    assert titles(filled, "H20 OR entity", sources=["s"]) == {ARTICLES[3][0]}


def test_query_forms() -> None:
    assert fts_query("出口管制 H20") == '"出口 口管 管制" "h20"'
    assert fts_query("H20 OR H200") == '("h20" OR "h200")'
    assert fts_query("芯片 -股价") == '("芯片") NOT "股价"'
    assert fts_query('昇腾 -"entity list"') == '("昇腾") NOT "entity list"'
    parsed = parse_query('华为 "entity list" OR H20 -股价 -"a b"')
    assert parsed.required == [["华为"], ["entity list", "H20"]]
    assert parsed.excluded == ["股价", "a b"]
    assert parsed.terms == ["华为", "entity list", "H20"]


def test_snippet_marks_chinese_words_in_the_articles_own_script() -> None:
    text = (
        "据报道，"
        + "该计划进展顺利。" * 10
        + "马来西亚将采用昇騰处理器，另一批昇腾芯片随后到货。"
        + "其他。" * 30
    )
    snippet = build_snippet(text, ["昇腾"])
    assert "【昇騰】" in snippet and "【昇腾】" in snippet  # the article's own spelling
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "升腾" not in snippet


def test_snippet_of_english_text_uses_fts5(filled: Archive) -> None:
    rows = search_articles(filled.db, "licences")
    [shown] = present(rows, parse_query("licences"))
    assert rows[0]["fts_snippet"] and "【licences】" in rows[0]["fts_snippet"]
    assert shown["snippet"] == " ".join(rows[0]["fts_snippet"].split())
    assert shown["date"] == "2026-03-04" and shown["url"] == "http://x/3"


def test_snippet_of_chinese_text_is_built_from_the_text(filled: Archive) -> None:
    rows = search_articles(filled.db, "华为")
    shown = {row["title"]: row["snippet"] for row in present(rows, parse_query("华为"))}
    assert shown[ARTICLES[0][0]].startswith("【华为】表示，新一代昇腾芯片")
    assert "【华为】概念股" in shown[ARTICLES[1][0]]


def test_datasette_search_box_takes_the_same_query_language(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    datasette_app = pytest.importorskip("datasette.app")
    path = tmp_path / "archive.db"
    archive = Archive.open(path)
    for i, (title, text) in enumerate(ARTICLES):
        archive.add_article(
            {"url": f"http://x/{i}", "canonical_url": f"http://x/{i}", "source": "s",
             "title": title, "text": text}
        )  # fmt: skip
    archive.close()

    async def search(query: str) -> set[str]:
        ds = datasette_app.Datasette([str(path)])
        response = await ds.client.get(
            "/archive/articles.json", params={"_search": query, "_shape": "objects"}
        )
        assert response.status_code == 200, response.text
        return {row["title"] for row in response.json()["rows"]}

    assert asyncio.run(search("昇腾 -华为")) == {ARTICLES[2][0]}
    assert asyncio.run(search("昇腾 OR 升腾")) == {ARTICLES[0][0], ARTICLES[1][0], ARTICLES[2][0]}
