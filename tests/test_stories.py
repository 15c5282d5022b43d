"""Duplicates and stories: one article once, one story once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.labelled_stories import evaluate_archive, labelled_items
from crawler.demo.portal import DemoArticle, PortalServer, load_articles
from crawler.text.dedup import (
    content_fingerprint,
    fingerprint_and_signature,
    normalize_for_matching,
    signature,
)
from storage import Archive
from tests.conftest import portal_config, run_cli


def test_fingerprint_ignores_width_case_punctuation_and_script() -> None:
    a = "美国商务部宣布：对英伟达Ｈ２０芯片实施出口管制。"
    b = "美國商務部宣布,對英偉達h20晶片實施出口管制"
    assert normalize_for_matching(a).replace("晶", "芯") == normalize_for_matching(b).replace(
        "晶", "芯"
    )
    assert content_fingerprint("同一篇文章。") == content_fingerprint("同一篇文章")


def test_short_texts_are_matched_exactly_only() -> None:
    assert signature("短文") is None
    assert signature("这是一段足够长的文字，" * 10) is not None


def test_signatures_are_pinned() -> None:
    """Signatures are stored: the values of a given text never change, whatever the
    installed libraries (first values of a fixed text and of one shingle)."""
    from crawler.text.dedup import minhash

    got = signature("同一家公司的芯片出口许可证申请被退回。" * 4)
    assert got is not None and got.dtype == np.uint64 and len(got) == 128
    assert [int(v) for v in got[:3]] == [253839769, 164693820, 291118255]
    assert [int(v) for v in minhash([b"abcd"])[:2]] == [3806461405, 4202438363]
    assert set(minhash([]).tolist()) == {2**32 - 1}  # nothing seen: every slot at its top


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_signatures_are_datasketchs_affine32_minhash(text: str) -> None:
    """The MinHash is datasketch's ``affine32`` scheme value for value (its reference
    implementation, a test dependency), with shingles fed in any order or repeated."""
    datasketch = pytest.importorskip(
        "datasketch", reason="datasketch (the test extra) is the reference"
    )
    from crawler.text.dedup import _SEED, NUM_PERM, _shingles, minhash

    shingles = _shingles(normalize_for_matching(text))
    reference = datasketch.MinHash(num_perm=NUM_PERM, seed=_SEED, scheme="affine32")
    reference.update_batch(shingles)
    assert np.array_equal(minhash(set(shingles)), reference.hashvalues.astype(np.uint64))
    assert np.array_equal(minhash(shingles[::-1] * 2), reference.hashvalues.astype(np.uint64))


def test_labelled_set_precision_and_recall() -> None:
    precision, recall, stories = evaluate_archive(labelled_items())
    assert precision == 1.0 and recall == 1.0
    assert stories == len({item.story for item in labelled_items()})


def article(n: int, text: str, **extra: object) -> dict[str, object]:
    return {
        "url": f"http://p{n}.test/a",
        "canonical_url": f"http://p{n}.test/a",
        "source": f"portal-{n}",
        "title": f"t{n}",
        "text": text,
        **extra,
    }


def test_story_counts_sources_and_revisions(archive: Archive) -> None:
    body = "\n".join(load_articles()[0].paragraphs)
    first = archive.add_article(article(1, body))
    copy = archive.add_article(article(2, "（来源：某网）\n" + body + "\n责任编辑：李四"))
    assert first.new_story and not copy.new_story and copy.story_id == first.story_id
    story = archive.db["stories"].get(first.story_id)
    assert story["article_count"] == 2 and story["first_source"] == "portal-1"
    assert story["sources"] == '["portal-1", "portal-2"]'
    edited = archive.add_article(article(1, body + "\n更正：第二段数字有误，已修改。"))
    assert edited.revised and not edited.created and edited.story_id == first.story_id
    row = archive.db["articles"].get(first.id)
    assert row["revision"] == 2 and "更正" in row["text"]
    assert archive.db["article_revisions"].count == 1
    assert archive.db["stories"].get(first.story_id)["article_count"] == 2
    assert [r["title"] for r in archive.search("更正")] == ["t1"]


def test_different_articles_on_one_topic_stay_apart(archive: Archive) -> None:
    stories = {
        archive.add_article(article(n, "\n".join(a.paragraphs))).story_id
        for n, a in enumerate(load_articles())
    }
    assert len(stories) == len(load_articles())


def syndicated(
    original: DemoArticle,
    *,
    slug: str,
    title: str,
    head: str,
    tail: str,
    convert: str | None = None,
) -> DemoArticle:
    paragraphs = (head, *original.paragraphs, tail)
    lang = original.lang
    if convert:
        from opencc import OpenCC

        converter = OpenCC(convert)
        paragraphs = tuple(converter.convert(p) for p in paragraphs)
        title = converter.convert(title)
        lang = "zh-Hant" if convert == "s2t" else "zh-Hans"
    return DemoArticle(
        slug=slug,
        section="reprint",
        lang=lang,
        charset="utf-8",
        declare="meta",
        date=original.date,
        title=title,
        paragraphs=paragraphs,
    )


@pytest.mark.slow
def test_copies_on_other_portals_join_the_original_story_across_restarts(
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    originals = [a for a in load_articles() if a.lang == "zh-Hans"][:3] + [
        a for a in load_articles() if a.lang == "en"
    ][:5]
    source = originals[0]
    copies = [
        syndicated(
            source,
            slug="copy-wrapper",
            title="独家｜美方再延审查期限，业内怎么看",
            head="（本文转载自合作媒体）编者按：以下为原文。",
            tail="责任编辑：张三",
        ),
        syndicated(
            source, slug="copy-traditional", title=source.title, head="", tail="", convert="s2t"
        ),
    ]
    db = tmp_path / "archive.db"
    with PortalServer(0, articles=originals) as first, PortalServer(0, articles=copies) as second:
        config = write_config(
            portal_config(first.base, db)
            + f"""
[[sources]]
name = "mirror"
sitemaps = ["{second.base}/sitemap.xml"]
delay = 0
"""
        )
        assert (
            run_cli(
                "--config",
                str(config),
                "crawl",
                "--source",
                "portal-feeds",
                "--source",
                "portal-sitemap",
            ).returncode
            == 0
        )
        # A new process: the story index comes from the archive, not from memory.
        assert run_cli("--config", str(config), "crawl", "--source", "mirror").returncode == 0
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT url, canonical_url, story_id FROM articles").fetchall()
    assert len(rows) == len(originals) + len(copies)
    assert len({r["canonical_url"] for r in rows}) == len(rows)
    story_of = {r["canonical_url"].rsplit("/", 1)[-1]: r["story_id"] for r in rows}
    original_story = story_of[f"{source.slug}.html"]
    assert story_of["copy-wrapper.html"] == original_story
    assert story_of["copy-traditional.html"] == original_story
    stories = conn.execute("SELECT * FROM stories").fetchall()
    assert len(stories) == len(originals)
    joined = conn.execute("SELECT * FROM stories WHERE id = ?", [original_story]).fetchone()
    assert joined["article_count"] == 3 and "mirror" in joined["sources"]
    # No article was stored twice although feeds and the sitemap list the same pages.
    assert (
        conn.execute("SELECT count(*) FROM article_aliases WHERE url LIKE '%utm_%'").fetchone()[0]
        == 0
    )


def test_a_sites_own_blurb_does_not_merge_its_articles(archive: Archive) -> None:
    blurb = [
        "欢迎关注本站微信公众号，获取更多芯片产业深度报道与独家解读。",
        "本站长期招聘科技记者与行业分析师，简历请投递至招聘邮箱。",
        "市场有风险，投资需谨慎，本站内容仅供参考，不构成任何投资建议。",
        "本站所有文章均由编辑部审核发布，读者来信请注明姓名与联系方式。",
        "每周五晚八点，本站直播间与行业嘉宾一起聊聊半导体的新变化。",
    ]
    bodies = [[demo.paragraphs[0] + demo.paragraphs[1][:30]] for demo in load_articles()[:5]]
    stories = [
        archive.add_article(article(n, "\n".join(body + blurb), source="site")).story_id
        for n, body in enumerate(bodies)
    ]
    assert len(set(stories)) == 5, "articles of one site sharing only its blurb were merged"
    copy = archive.add_article(
        article(9, "（转载）\n" + "\n".join(bodies[4]) + "\n编辑补充说明了统计口径。")
    )
    assert copy.story_id == stories[4]


def test_copies_on_one_site_join_their_story(archive: Archive) -> None:
    """The check that keeps a site's blurb from merging its articles leaves real copies on
    the same site alone: a credit line, light edits, an added paragraph; and a third and
    fourth copy still find the story (copies do not make the story's paragraphs look
    like the site's template)."""
    demo = load_articles()
    blurb = "欢迎关注本站微信公众号，获取更多芯片产业深度报道与独家解读，每周五晚八点直播。"
    body = list(demo[0].paragraphs)
    first = archive.add_article(
        article(1, "\n".join([*body, blurb]), source="site", title=demo[0].title)
    )
    other = archive.add_article(
        article(2, "\n".join([*demo[1].paragraphs[:1], blurb]), source="site")
    )
    assert other.story_id != first.story_id
    edited = [p.replace("，", "、", 1).replace("表示", "称") for p in body]
    copies = {
        "credit line": ("另一个标题", ["（转载自某网）", *body, blurb]),
        "light edits": ("另一个标题", [*edited[:-1], blurb]),
        "added paragraph": (
            "更新：" + demo[0].title,
            [*body, "更新：相关部门当天晚些时候发表了补充说明，细节仍有待确认。", blurb],
        ),
        "added paragraph, no blurb": (
            demo[0].title,
            [*body[:-1], "另据报道，多家企业已经提交了补充材料，等待主管部门进一步审核。"],
        ),
    }
    for n, (label, (title, paragraphs)) in enumerate(copies.items(), start=3):
        stored = archive.add_article(article(n, "\n".join(paragraphs), source="site", title=title))
        assert stored.story_id == first.story_id, label


def test_fingerprint_and_signature_together_are_each_alone() -> None:
    for text in ("短文", "出口管制新规将于下月生效。" * 8, "Export controls tighten. " * 6):
        fingerprint, values = fingerprint_and_signature(text)
        assert fingerprint == content_fingerprint(text)
        alone = signature(text)
        assert (values is None) == (alone is None)
        assert values is None or alone is None or (values == alone).all()
