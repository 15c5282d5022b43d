"""An encoding corpus written for newswatch: news paragraphs in Chinese (Simplified and
Traditional), Korean, Japanese, French/German/Spanish and English, encoded in GB2312/GBK,
Big5, EUC-KR, Shift_JIS, cp1252 and UTF-8, as bare text and as HTML pages, short and long,
with every charset declaration stripped."""

from __future__ import annotations

from collections.abc import Iterator

TEXTS: dict[str, list[str]] = {
    "gbk": [
        "美国商务部宣布对英伟达芯片实施新的出口管制措施，国内厂商正在评估替代方案。",
        "华为表示，基于昇腾处理器的计算集群已完成扩容。",
        "出口管制",
        "商务部新闻发言人回应称，中方将采取必要措施维护企业正当权益。",
        "光刻机零部件新规即将生效，晶圆厂正在盘点关键备件的库存情况。",
    ],
    "big5": [
        "華為宣布昇騰開發者計畫上線一年以來，已有超過一千家企業和研究機構加入。",
        "經濟部公告將高階人工智慧晶片納入出口管制清單。",
        "晶片禁令",
        "半導體業者普遍表示支持，但也希望主管機關簡化申請流程。",
    ],
    "euc_kr": [
        "산업통상자원부는 반도체 수출 통제를 강화한다고 발표했다. 업계는 영향을 분석하고 있다.",
        "삼성전자는 새로운 규정에 따라 장비 반입 절차를 검토하고 있다고 밝혔다.",
        "수출 통제 강화",
    ],
    "shift_jis": [
        "経済産業省は半導体製造装置の輸出管理を強化すると発表した。業界は影響を分析している。",
        "東京エレクトロンは新たな規制の影響は限定的だと説明した。",
        "輸出管理を強化",
    ],
    "cp1252": [
        "Le ministère a annoncé de nouvelles règles sur les exportations de puces avancées.",
        "Die Bundesregierung prüft strengere Ausfuhrkontrollen für Halbleiteranlagen – "
        "Hersteller äußern Bedenken.",
        "El Gobierno español estudia las nuevas normas de exportación de semiconductores.",
        "Café-owners’ “naïve” résumé",
    ],
    "utf-8": [
        "美国商务部宣布对英伟达H20芯片实施新的出口管制措施。",
        "華為宣布昇騰開發者計畫上線一年以來。",
        "The Bureau of Industry and Security published an interim final rule — again.",
        "산업통상자원부는 반도체 수출 통제를 강화한다고 발표했다.",
    ],
}

# The codec a correct decoder may report for each encoding (supersets are right).
ACCEPTED = {
    "gbk": {"gb18030", "gbk", "gb2312"},
    "big5": {"cp950", "big5", "big5hkscs"},
    "euc_kr": {"cp949", "euc_kr"},
    "shift_jis": {"cp932", "shift_jis"},
    "cp1252": {"cp1252", "windows-1252"},
    "utf-8": {"utf-8", "utf_8"},
}


def corpus() -> Iterator[tuple[str, str, bytes]]:
    """``(name, encoding, bytes)`` for every text, bare and wrapped in a page."""
    for encoding, texts in TEXTS.items():
        for i, text in enumerate(texts):
            yield f"{encoding}-{i}-bare", encoding, text.encode(encoding)
            page = (
                f"<html><head><title>{text[:10]}</title></head><body><article>"
                f"<p>{text}</p><p>{text}</p></article></body></html>"
            )
            yield f"{encoding}-{i}-page", encoding, page.encode(encoding)
