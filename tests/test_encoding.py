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


# -- issue 13: pages no single codec reads, and close calls ----------------------------------

ZH_UTF8_PARAGRAPH = "英伟达表示，新规生效后将按要求向客户交付符合规定的产品。"


def test_gbk_page_with_pasted_utf8_decodes_in_segments() -> None:
    body = (
        page(ZH_HANS, '<meta charset="gbk">').encode("gbk").replace(b"</body>", b"")
        + f"<p>{ZH_UTF8_PARAGRAPH}</p>".encode()
        + "<p>版权所有</p></body></html>".encode("gbk")
    )
    decoded = decode_bytes(body)
    assert ZH_HANS in decoded.text and ZH_UTF8_PARAGRAPH in decoded.text
    assert "版权所有" in decoded.text
    assert decoded.encoding == "gb18030" and decoded.utf8_segments == 1
    assert decoded.reason.startswith("mixed")


def test_big5_page_with_pasted_utf8_and_no_declaration() -> None:
    body = (
        page(ZH_HANT).encode("big5").replace(b"</body>", b"")
        + f"<p>{ZH_UTF8_PARAGRAPH}</p>".encode()
        + "<p>版權所有</p></body></html>".encode("big5")
    )
    decoded = decode_bytes(body)
    assert ZH_HANT in decoded.text and ZH_UTF8_PARAGRAPH in decoded.text
    assert decoded.encoding == "cp950" and decoded.utf8_segments == 1


def test_big5_page_needing_both_tables_decodes() -> None:
    # € exists only in cp950, 䏰 only in Big5-HKSCS: neither decodes the page alone.
    body = page(ZH_HANT).encode("cp950")[:-18] + b"\xa3\xe1\x87\x40</p></body></html>"
    decoded = decode_bytes(body)
    assert ZH_HANT + "€䏰" in decoded.text
    assert decoded.encoding == "cp950" and decoded.replaced == 0


def test_gbk_page_with_one_broken_byte_stays_chinese() -> None:
    body = page(ZH_HANS * 3).encode("gbk").replace("芯片".encode("gbk"), b"\xd0\x7f", 1)
    decoded = decode_bytes(body)
    assert decoded.encoding == "gb18030"
    assert ZH_HANS in decoded.text and decoded.replaced >= 1


def test_one_accented_letter_decides_a_short_central_european_title() -> None:
    decoded = decode_bytes("Izvoz čipova".encode("cp1250"))
    assert decoded.text == "Izvoz čipova"
    assert "hr" in decoded.reason


def test_close_call_names_the_runner_up() -> None:
    # EUC-JP katakana: GB18030 has the same kana in the same rows, so both read alike.
    decoded = decode_bytes("ソニー".encode("euc_jp"))
    assert decoded.text == "ソニー" and decoded.encoding == "euc_jp"
    assert decoded.runner_up is not None and decoded.runner_up.startswith("gb18030")
    assert "closest other reading gb18030" in decoded.reason


def test_iso2022_jp_is_not_ascii() -> None:
    text = "経済産業省は輸出管理を強化すると発表した。"
    decoded = decode_bytes(text.encode("iso2022_jp"))
    assert decoded.text == text and decoded.encoding == "iso2022_jp"


def test_declared_euc_kr_and_shift_jis_are_kept() -> None:
    korean = "삼성전자는 새로운 규정에 따라 장비 반입 절차를 검토하고 있다."
    decoded = decode_bytes(page(korean).encode("euc_kr"), http_charset="euc-kr")
    assert decoded.encoding == "cp949" and korean in decoded.text
    japanese = "東京エレクトロンは新たな規制の影響は限定的だと説明した。"
    decoded = decode_bytes(page(japanese).encode("shift_jis"), http_charset="Shift_JIS")
    assert decoded.encoding == "cp932" and japanese in decoded.text


def test_korean_page_declared_gb2312_is_not_read_as_chinese() -> None:
    korean = "산업통상자원부는 반도체 수출 통제를 강화한다고 발표했다. 업계는 영향을 분석하고 있다."
    decoded = decode_bytes(page(korean * 2).encode("euc_kr"), http_charset="gb2312")
    assert decoded.encoding == "cp949" and korean in decoded.text


def test_polish_with_runs_of_accented_letters_is_not_read_as_korean() -> None:
    text = "Zażółć gęślą jaźń"
    for codec in ("iso8859_2", "cp1250"):
        decoded = decode_bytes(text.encode(codec))
        assert decoded.text == text, (codec, decoded.reason)


def test_big5_slashes_read_as_browsers_show_them() -> None:
    """A Taiwanese byline's slash is 0xA241, which cp950 reads as U+2215 (division slash);
    browsers show U+FF0F, as Big5-HKSCS reads it."""
    head = "〔記者林佳慧".encode("cp950")
    tail = "台北報導〕美國商務部近日再度更新出口管制規定，對先進晶片的管制範圍進一步擴大。"
    decoded = decode_bytes(head + b"\xa2\x41" + tail.encode("cp950"))
    assert decoded.encoding == "cp950"
    assert "林佳慧／台北報導" in decoded.text and "\u2215" not in decoded.text
