"""Language by script first: Traditional Chinese is zh-Hant, never Korean."""

from __future__ import annotations

import pytest

from crawler.text.language import detect_language
from tests.conftest import read_seed


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("美国商务部宣布对英伟达芯片实施新的出口管制措施，国内厂商正在评估替代方案。", "zh-Hans"),
        ("華為宣布昇騰開發者計畫上線一年以來，已有超過一千家企業和研究機構加入。", "zh-Hant"),
        ("The Bureau of Industry and Security published an interim final rule.", "en"),
        ("経済産業省は半導体製造装置の輸出管理を強化すると発表した。", "ja"),
        ("산업통상자원부는 반도체 수출 통제를 강화한다고 발표했다.", "ko"),
        ("Le ministère a annoncé de nouvelles règles sur les exportations de puces.", "fr"),
    ],
)
def test_languages(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_deterministic() -> None:
    text = "Export controls on chips tighten again as the rule takes effect."
    assert len({detect_language(text) for _ in range(20)}) == 1


def test_hint_for_text_too_short() -> None:
    assert detect_language("OK", hint="en") == "en"
    assert detect_language("", hint="zh-Hans") == "zh-Hans"


@pytest.mark.parametrize("seed", ["000", "004", "002"])
def test_traditional_seeds_are_zh_hant(seed: str) -> None:
    assert detect_language(read_seed(seed)) == "zh-Hant"


@pytest.mark.parametrize("seed", ["001", "003"])
def test_simplified_seeds_are_zh_hans(seed: str) -> None:
    assert detect_language(read_seed(seed)) == "zh-Hans"
