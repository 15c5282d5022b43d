"""Full-text search finds two-character Chinese words, long words, Traditional spellings
and English words, in the archive and in datasette's search box."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from crawler.text.fold import fold_text
from storage import Archive, fts_query, index_text
from storage.search import SEARCH_FORM, readable_snippet, search_entry, search_text

ARTICLES = [
    ("华为发布昇腾芯片新品", "美国商务部对英伟达H20芯片实施出口管制。"),
    ("Nvidia H200 shipments resume", "The Entity List grows again."),
    ("馬來西亞採用昇騰AI晶片", "據報道，該計畫已暫停。"),
    ("股价升腾", "市场情绪升腾。"),
]


@pytest.fixture
def filled(archive: Archive) -> Archive:
    for i, (title, text) in enumerate(ARTICLES):
        archive.add_article(
            {
                "url": f"http://x/{i}",
                "canonical_url": f"http://x/{i}",
                "source": "s",
                "title": title,
                "text": text,
            }
        )
    return archive


def titles(archive: Archive, query: str) -> set[str]:
    return {row["title"] for row in archive.search(query)}


def test_two_character_word(filled: Archive) -> None:
    assert titles(filled, "昇腾") == {ARTICLES[0][0], ARTICLES[2][0]}


def test_ascend_does_not_match_rise(filled: Archive) -> None:
    assert ARTICLES[3][0] not in titles(filled, "昇腾")
    assert titles(filled, "升腾") == {ARTICLES[3][0]}


def test_longer_word_matches_adjacent_characters_only(filled: Archive) -> None:
    assert titles(filled, "出口管制") == {ARTICLES[0][0]}
    assert titles(filled, "管出") == set()


def test_traditional_query_finds_simplified(filled: Archive) -> None:
    assert titles(filled, "馬來西亞") == {ARTICLES[2][0]}
    assert titles(filled, "马来西亚") == {ARTICLES[2][0]}


def test_english_tokens(filled: Archive) -> None:
    assert titles(filled, "h20") == {ARTICLES[0][0]}
    assert titles(filled, "H200") == {ARTICLES[1][0]}
    assert titles(filled, '"entity list"') == {ARTICLES[1][0]}


def test_single_han_character_is_a_prefix(filled: Archive) -> None:
    assert ARTICLES[0][0] in titles(filled, "芯")


def test_query_syntax_is_escaped(filled: Archive) -> None:
    assert titles(filled, 'OR AND " NEAR(') == set()


def test_index_text_bigrams() -> None:
    assert index_text("华为昇腾芯片H20") == " 华为 为昇 昇腾 腾芯 芯片 h20"
    assert fts_query("出口管制 H20") == '"出口 口管 管制" "h20"'
    assert fold_text("Ｈ２０ 昇騰") == "h20 昇腾"


def test_datasette_search_box_finds_chinese_words(tmp_path: Path) -> None:
    datasette_app = pytest.importorskip("datasette.app")
    path = tmp_path / "archive.db"
    archive = Archive.open(path)
    for i, (title, text) in enumerate(ARTICLES):
        archive.add_article(
            {
                "url": f"http://x/{i}",
                "canonical_url": f"http://x/{i}",
                "source": "s",
                "title": title,
                "text": text,
            }
        )
    archive.close()

    async def search(query: str) -> list[str]:
        ds = datasette_app.Datasette([str(path)])
        response = await ds.client.get(
            "/archive/articles.json", params={"_search": query, "_shape": "objects"}
        )
        assert response.status_code == 200, response.text
        return sorted(row["title"] for row in response.json()["rows"])

    assert asyncio.run(search("昇腾")) == sorted([ARTICLES[0][0], ARTICLES[2][0]])
    assert asyncio.run(search("出口管制")) == [ARTICLES[0][0]]
    assert asyncio.run(search("H20")) == [ARTICLES[0][0]]


def test_or_exclusion_and_phrases(filled: Archive) -> None:
    """Issue 11: the search query accepts OR, -term and quoted phrases."""
    assert titles(filled, "馬來西亞 OR h200") == {ARTICLES[1][0], ARTICLES[2][0]}
    assert titles(filled, "昇腾 -华为") == {ARTICLES[2][0]}
    assert titles(filled, '-"entity list" 昇腾') == {ARTICLES[0][0], ARTICLES[2][0]}
    assert titles(filled, '"list entity"') == set()
    assert titles(filled, "-昇腾") == set()  # exclusions alone match nothing
    assert titles(filled, "OR 昇腾 OR") == {ARTICLES[0][0], ARTICLES[2][0]}
    assert fts_query("a OR b -c") == '(("a" OR "b")) NOT "c"'


def test_stored_text_tokenizes_like_the_index() -> None:
    """What articles_fts stores keeps case, width-folds letters and bigrams Han runs with
    invisible separators, so FTS5 finds the same tokens as index_text() gives."""
    text = "华为昇腾芯片：Nvidia Ｈ２０出口，對 Straße 1½"
    stored = search_text(text)
    assert "Nvidia H20" in stored and "：" in stored and "，" in stored
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", [(1, stored), (2, index_text(text))])

    def tokens(row: int) -> list[str]:
        query = "SELECT term FROM v WHERE doc = ? ORDER BY offset"
        return [r[0] for r in conn.execute(query, [row])]

    assert tokens(1) == tokens(2)
    assert tokens(1)[:6] == ["华为", "为昇", "昇腾", "腾芯", "芯片", "nvidia"]


@pytest.mark.parametrize(
    ("snippet", "readable"),
    [
        (
            "\x1e华为\x1f为昇\x1f\x02昇腾\x03\x1f腾芯\x1e H20",
            "华为<mark>昇腾</mark>芯 H20",
        ),
        ("…为昇\x1f\x02昇腾\x1f腾芯\x03\x1f芯片…", "…为<mark>昇腾芯</mark>片…"),
        ("\x1e对\x1e \x02Entity List\x03 rule", "对 <mark>Entity List</mark> rule"),
        ("\x1e\x02出口\x03\x1f口管\x1f\x02管制\x03\x1e", "<mark>出口管制</mark>"),
        ("\x1e\x02出口\x03\x1f\x02口管\x03\x1e", "<mark>出口管</mark>"),
        ("", ""),
    ],
)
def test_readable_snippet(snippet: str, readable: str) -> None:
    assert readable_snippet(snippet) == readable


def test_snippet_of_the_index_reads_as_the_text(filled: Archive) -> None:
    row = filled.db.execute(
        "SELECT snippet(articles_fts, 1, char(2), char(3), '…', 16) FROM articles_fts "
        "WHERE articles_fts MATCH ?",
        [fts_query("出口管制")],
    ).fetchone()
    assert readable_snippet(row[0]) == "美国商务部对英伟达H20芯片实施<mark>出口管制</mark>。"


def test_a_snippet_quotes_the_article_in_its_own_characters() -> None:
    """The index folds Traditional to Simplified and full width to ASCII; a snippet given
    the article's text reads as the article wrote it, its hits still marked."""
    text = "華為昇騰生態大會今日在深圳舉行，會上發布了新一代昇騰處理器，Ｈ２０ also noted."
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(title, text)")
    conn.execute("INSERT INTO f(rowid, title, text) VALUES (1, '', ?)", [search_text(text)])

    def snippet(query: str) -> str:
        sql = "SELECT snippet(f, 1, char(2), char(3), '…', 8) FROM f WHERE f MATCH ?"
        return conn.execute(sql, [fts_query(query)]).fetchone()[0]

    assert readable_snippet(snippet("昇腾")) == "华为<mark>昇腾</mark>生态大会今…"  # the index's
    assert readable_snippet(snippet("昇腾"), text) == "華為<mark>昇騰</mark>生態大會今…"
    wide = "…代昇騰處理器，<mark>Ｈ２０</mark> also noted."
    assert readable_snippet(snippet("h20"), text) == wide
    # a character NFKC writes as several (㍿ is 株式会社): mapped back one by one
    wide_text = "㍿華為昇騰生態大會今日在深圳舉行，會上發布了新一代昇騰處理器。"
    conn.execute("INSERT INTO f(rowid, title, text) VALUES (2, '', ?)", [search_text(wide_text)])
    row = conn.execute(
        "SELECT snippet(f, 1, char(2), char(3), '…', 8) FROM f WHERE f MATCH ? AND rowid = 2",
        [fts_query("昇腾")],
    ).fetchone()[0]
    assert readable_snippet(row, wide_text).startswith("㍿華為<mark>昇騰</mark>")
    # an entry that is not of this text stays as the index has it
    assert readable_snippet(snippet("深圳"), "另一篇文章") == readable_snippet(snippet("深圳"))


def test_a_search_entry_from_the_page_stage_is_used_only_in_this_releases_form() -> None:
    """The page stage computes the search entry (off the archive's thread); the archive
    takes it when it is in this release's form, and computes its own from one made by
    another release (a crawl worker during an upgrade) or from a malformed one."""
    from crawler.page_stage import process_article
    from tests.portal_pages import CONFIG, page

    record = process_article(page(), CONFIG.catalogue)
    assert record["search"] == {
        "form": SEARCH_FORM,
        "title": search_text(record["title"]),
        "text": search_text(record["text"]),
    }
    title, text = "华为昇腾", "英伟达H20芯片"
    computed = (search_text(title), search_text(text))
    given = {"form": SEARCH_FORM, "title": "T", "text": "X"}
    assert search_entry(title, text, given) == ("T", "X")
    assert search_entry(title, text, {**given, "form": SEARCH_FORM + 1}) == computed
    assert search_entry(title, text, {**given, "text": None}) == computed
    assert search_entry(title, text, None) == computed


def test_the_archive_stores_the_page_stages_search_entry(archive: Archive) -> None:
    entry = {"form": SEARCH_FORM, "title": "given title", "text": "given text"}
    stored = archive.add_article(
        {
            "url": "http://x/entry",
            "canonical_url": "http://x/entry",
            "source": "s",
            "title": "华为昇腾",
            "text": "英伟达H20芯片",
            "search": entry,
        }
    )
    row = archive.db.execute(
        "SELECT title, text FROM articles_fts WHERE rowid = ?", [stored.id]
    ).fetchone()
    assert row == ("given title", "given text")
