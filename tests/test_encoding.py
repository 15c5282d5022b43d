"""The decoding chain: each declaration mismatch a Chinese portal serves decodes right."""

from __future__ import annotations

import codecs

import pytest

from crawler.text.encoding import decode_bytes, han_commonness, normalize_label

ZH_HANS = "美国商务部宣布对英伟达芯片实施新的出口管制措施，国内厂商正在评估替代方案。"
ZH_HANT = "華為宣布昇騰開發者計畫上線一年以來，已有超過一千家企業和研究機構加入。"
EN = "The Bureau of Industry and Security published an interim final rule on Tuesday."


def page(text: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"


def test_gbk_labelled_gb2312_decodes_as_gb18030() -> None:
    body = page(ZH_HANS + "镕").encode("gbk")  # 镕 is in GBK, not in GB2312
    decoded = decode_bytes(body, http_charset="gb2312")
    assert decoded.encoding == "gb18030"
    assert ZH_HANS + "镕" in decoded.text
    assert "declared gb2312" in decoded.reason


def test_big5_without_any_declaration() -> None:
    decoded = decode_bytes(page(ZH_HANT).encode("big5"))
    assert decoded.encoding in ("cp950", "big5hkscs")
    assert ZH_HANT in decoded.text
    assert decoded.reason.startswith("guessed")


def test_short_undeclared_gbk_is_not_guessed_korean_or_japanese() -> None:
    decoded = decode_bytes("<p>出口管制新规</p>".encode("gbk"))
    assert decoded.encoding == "gb18030"
    assert "出口管制新规" in decoded.text


def test_utf8_behind_a_latin1_header() -> None:
    decoded = decode_bytes(page(ZH_HANS).encode("utf-8"), http_charset="iso-8859-1")
    assert decoded.encoding == "utf-8"
    assert ZH_HANS in decoded.text
    assert "overrides declared iso-8859-1" in decoded.reason


def test_utf8_behind_a_gb2312_meta() -> None:
    body = page(ZH_HANT, '<meta charset="gb2312">').encode("utf-8")
    decoded = decode_bytes(body)
    assert decoded.encoding == "utf-8"
    assert ZH_HANT in decoded.text


def test_gbk_behind_a_utf8_header() -> None:
    decoded = decode_bytes(page(ZH_HANS).encode("gbk"), http_charset="utf-8")
    assert decoded.encoding == "gb18030"
    assert ZH_HANS in decoded.text


def test_big5_labelled_gb2312_is_rejected_when_implausible() -> None:
    decoded = decode_bytes(page(ZH_HANT * 3).encode("big5"), http_charset="gb2312")
    assert ZH_HANT in decoded.text


def test_gbk_mislabelled_latin1_is_not_mojibake() -> None:
    decoded = decode_bytes(page(ZH_HANS * 2).encode("gbk"), http_charset="iso-8859-1")
    assert ZH_HANS in decoded.text


def test_latin1_page_stays_western() -> None:
    text = "Les contrôles à l'exportation visent les puces avancées, déclare le ministère."
    decoded = decode_bytes(page(text).encode("cp1252"), http_charset="iso-8859-1")
    assert decoded.encoding == "cp1252"
    assert text in decoded.text


def test_bom_wins() -> None:
    decoded = decode_bytes(codecs.BOM_UTF8 + page(EN).encode(), http_charset="gbk")
    assert decoded.reason == "byte-order mark"
    assert EN in decoded.text


def test_override() -> None:
    decoded = decode_bytes(page(ZH_HANT).encode("big5"), override="big5")
    assert decoded.encoding == "cp950"
    assert decoded.reason == "source override"


def test_xml_declaration_is_read() -> None:
    body = f'<?xml version="1.0" encoding="gb2312"?><rss><title>{ZH_HANS}</title></rss>'
    decoded = decode_bytes(body.encode("gbk"))
    assert decoded.encoding == "gb18030"
    assert decoded.declared == "gb2312"


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("GB2312", "gb18030"),
        ("gbk", "gb18030"),
        ("x-gbk", "gb18030"),
        ("Big5", "big5"),
        ("ISO-8859-1", "cp1252"),
        ("utf8", "utf-8"),
        ("nonsense", None),
    ],
)
def test_label_mapping(label: str, codec: str | None) -> None:
    assert normalize_label(label) == codec


def test_han_commonness_separates_right_from_wrong_codec() -> None:
    right, _ = han_commonness(ZH_HANS)
    wrong, _ = han_commonness(ZH_HANS.encode("gbk").decode("big5", errors="ignore"))
    assert right > 0.7
    assert wrong < 0.45
