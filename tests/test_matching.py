"""Rule matching semantics: script, width and case folding, token boundaries next to Han
characters, all/exclude/near/regex, fields, sources, languages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts import RuleSet
from crawler.config import parse_config


def rules(text: str) -> RuleSet:
    return RuleSet(parse_config(text).rules)


H20 = rules('[[rules]]\nname = "h20"\nkeywords = ["H20"]\n')
ASCEND = rules('[[rules]]\nname = "ascend"\nkeywords = ["昇腾"]\n')


def fired(ruleset: RuleSet, text: str, title: str = "", **kw: str) -> list[str]:
    return [m.rule for m in ruleset.match(title=title, text=text, **kw)]


han = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=6)
punct = st.sampled_from(["", " ", ",", "，", "(", ")", "（", "）", "、", "。", "-", "/", "\n"])
alnum = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


@given(before=han, after=han, left=punct, right=punct)
@settings(max_examples=200)
def test_h20_matches_next_to_han_and_punctuation(
    before: str, after: str, left: str, right: str
) -> None:
    assert fired(H20, f"{before}{left}H20{right}{after}") == ["h20"]


@given(before=han, after=han, glued=alnum, side=st.booleans())
@settings(max_examples=200)
def test_h20_glued_to_letters_or_digits_does_not_match(
    before: str, after: str, glued: str, side: bool
) -> None:
    token = f"{glued}H20" if side else f"H20{glued}"
    assert fired(H20, f"{before}{token}{after}") == []


@pytest.mark.parametrize(
    "text", ["英伟达H20芯片", "H20,", "(H20)", "Ｈ２０", "h20", "（Ｈ２０）", "the H20 is", "H20。"]
)
def test_h20_examples(text: str) -> None:
    assert fired(H20, text) == ["h20"]


@pytest.mark.parametrize("text", ["H200", "H20E", "SH20", "英伟达H200芯片", "Ｈ２００", "H2O"])
def test_h20_non_matches(text: str) -> None:
    assert fired(H20, text) == []


@given(before=han, after=han)
@settings(max_examples=100)
def test_ascend_in_either_script_but_never_rise(before: str, after: str) -> None:
    assert fired(ASCEND, f"{before}昇腾{after}") == ["ascend"]
    assert fired(ASCEND, f"{before}昇騰{after}") == ["ascend"]
    if "昇" not in before + after:
        assert fired(ASCEND, f"{before}升腾{after}") == []


def test_traditional_rule_matches_simplified_text() -> None:
    assert fired(rules('[[rules]]\nname = "t"\nkeywords = ["實體清單"]\n'), "列入实体清单") == ["t"]


def test_case_sensitive_rule() -> None:
    ruleset = rules('[[rules]]\nname = "bis"\nkeywords = ["BIS"]\ncase_sensitive = true\n')
    assert fired(ruleset, "BIS published a rule") == ["bis"]
    assert fired(ruleset, "bis published a rule") == []
    assert fired(rules('[[rules]]\nname = "bis"\nkeywords = ["BIS"]\n'), "bis rule") == ["bis"]


def test_all_exclude_near_regex() -> None:
    ruleset = rules("""
[[rules]]
name = "both"
all = ["出口管制", "芯片"]
[[rules]]
name = "not-games"
keywords = ["芯片"]
exclude = ["游戏"]
[[rules]]
name = "near"
near = [{ terms = ["出口管制", "芯片"], within = 5 }]
[[rules]]
name = "eccn"
regex = ['\\b3A090\\b']
""")
    assert fired(ruleset, "出口管制涉及芯片") == ["both", "not-games", "near"]
    assert fired(ruleset, "芯片游戏") == []
    assert fired(ruleset, "出口管制。" + "无关的内容" * 5 + "芯片") == ["both", "not-games"]
    assert fired(ruleset, "Items under ECCN 3A090 need a licence") == ["eccn"]
    assert fired(ruleset, "ECCN 3A0901") == []


def test_fields_sources_languages() -> None:
    ruleset = rules("""
[[rules]]
name = "title-only"
keywords = ["H20"]
fields = ["title"]
[[rules]]
name = "zh-only"
keywords = ["H20"]
languages = ["zh"]
[[sources]]
name = "a"
feeds = ["https://a.example/rss"]
[[rules]]
name = "source-a"
keywords = ["H20"]
sources = ["a"]
""")
    assert fired(ruleset, "H20", title="other", lang="en", source="b") == []
    assert fired(ruleset, "x", title="H20 news", lang="zh-Hant", source="a") == [
        "title-only",
        "zh-only",
        "source-a",
    ]


def test_match_records_terms_spans_and_snippet() -> None:
    text = "据报道，" + "背景" * 30 + "英伟达Ｈ２０芯片对华出口恢复。"
    [match] = H20.match(title="标题", text=text)
    record = match.to_dict()
    assert record["terms"] == ["Ｈ２０"]
    span = record["spans"][0]
    assert text[span["start"] : span["end"]] == "Ｈ２０" and span["field"] == "text"
    assert "【Ｈ２０】" in record["snippet"] and record["snippet"].startswith("…")


def test_one_automaton_for_many_rules() -> None:
    text = "\n".join(f'[[rules]]\nname = "r{i}"\nkeywords = ["term{i}"]' for i in range(2000))
    ruleset = rules(text)
    assert fired(ruleset, "nothing here term1999 and term7.") == ["r7", "r1999"]


pieces = st.sampled_from(
    ["H20", "Ｈ２０", "h20", "昇腾", "昇騰", "升腾", "芯片", "BIS", "H200", "，", " ", "报道"]
)
keyword_sets = st.lists(st.sampled_from(["H20", "昇腾", "昇騰", "芯片", "BIS", "报道"]), min_size=1)


@given(
    title=st.lists(pieces, max_size=6).map("".join),
    text=st.lists(pieces, max_size=20).map("".join),
    keywords=keyword_sets,
    fields=st.sampled_from([["title"], ["text"], ["title", "text"]]),
)
@settings(max_examples=300)
def test_keywords_only_fast_path_agrees_with_full_evaluation(
    title: str, text: str, keywords: list[str], fields: list[str]
) -> None:
    """A keywords-only rule takes a shortcut; the same rule restricted to the article's
    own language goes through the full evaluation. Both must fire alike, with the same
    evidence: every hit once, title hits first, each in order."""
    body = f"keywords = {keywords!r}\nfields = {fields!r}\n".replace("'", '"')
    fast = rules(f'[[rules]]\nname = "r"\n{body}')
    full = rules(f'[[rules]]\nname = "r"\n{body}languages = ["zh"]\n')
    got_fast = [m.to_dict() for m in fast.match(title=title, text=text, lang="zh")]
    got_full = [m.to_dict() for m in full.match(title=title, text=text, lang="zh")]
    assert got_fast == got_full
    for record in got_fast:
        order = [(span["field"] != "title", span["start"]) for span in record["spans"]]
        assert order == sorted(set(order))
