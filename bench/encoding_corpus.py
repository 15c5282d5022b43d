"""An encoding corpus written for newswatch, every charset declaration stripped.

News sentences written for the project in Chinese (Simplified and Traditional), Korean,
Japanese, Western European languages (French, German, Spanish, Portuguese, Italian,
Dutch, Finnish, Swedish, English), Central European languages (Polish, Czech, Slovak,
Hungarian, Romanian, Croatian, Slovene) and Cyrillic-script languages (Russian,
Ukrainian, Bulgarian), encoded in every codec news portals use: GB2312/GBK, Big5, UTF-8,
EUC-KR, Shift_JIS, EUC-JP, ISO-2022-JP, cp1252, ISO-8859-1, cp1250, ISO-8859-2, cp1251 and
KOI8-R. Each text comes bare, as an HTML page, as an RSS item (an XML declaration with
its ``encoding`` removed) and, per language and codec, all of them as one long page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

TEXTS: dict[str, list[str]] = {
    "zh-Hans": [
        "美国商务部宣布对英伟达芯片实施新的出口管制措施，国内厂商正在评估替代方案。",
        "华为表示，基于昇腾处理器的计算集群已完成扩容。",
        "出口管制",
        "商务部新闻发言人回应称，中方将采取必要措施维护企业正当权益。",
        "光刻机零部件新规即将生效，晶圆厂正在盘点关键备件的库存情况。",
    ],
    "zh-Hant": [
        "華為宣布昇騰開發者計畫上線一年以來，已有超過一千家企業和研究機構加入。",
        "經濟部公告將高階人工智慧晶片納入出口管制清單。",
        "晶片禁令",
        "半導體業者普遍表示支持，但也希望主管機關簡化申請流程。",
    ],
    "ko": [
        "산업통상자원부는 반도체 수출 통제를 강화한다고 발표했다. 업계는 영향을 분석하고 있다.",
        "삼성전자는 새로운 규정에 따라 중국 공장의 장비 반입 절차를 다시 점검하고 있다고 밝혔다.",
        "수출 통제 강화",
        "SK하이닉스는 고대역폭 메모리 수요가 늘면서 올해 설비 투자를 확대하기로 했다.",
        "연합뉴스에 따르면 정부는 이번 주 안에 반도체 지원 대책을 발표할 예정이다.",
        "반도체장비",
    ],
    "ja": [
        "経済産業省は半導体製造装置の輸出管理を強化すると発表した。業界は影響を分析している。",
        "東京エレクトロンの社長は記者会見で、中国向けの売上高が減る可能性があると述べた。",
        "輸出管理を強化",
        "日経平均株価は半導体関連株の下落を受けて、前日比で三百円以上値下がりした。",
        "エヌビディアの新型チップ",
        "半導体輸出規制",
    ],
    # Western and Central European languages: per language a paragraph and a headline.
    "fr": [
        "Le ministère a annoncé de nouvelles règles sur les exportations de puces avancées. "
        "Les fabricants craignent des retards et réclament une période de transition.",
        "Café-owners’ “naïve” résumé",
        "Contrôles à l’exportation",
    ],
    "de": [
        "Die Bundesregierung prüft strengere Ausfuhrkontrollen für Halbleiteranlagen – "
        "Hersteller äußern Bedenken, weil die Genehmigungen länger dauern könnten.",
        "Exportkontrolle für Chips",
    ],
    "es": [
        "El Gobierno español estudia las nuevas normas de exportación de semiconductores. "
        "Según el ministerio, la decisión se tomará después del verano.",
        "Exportación de chips",
    ],
    "pt": [
        "A decisão do governo sobre as exportações de chips avançados gerou reações no setor. "
        "As empresas pedem mais informações sobre as licenças.",
        "Exportações",
    ],
    "it": [
        "Il governo italiano valuterà le nuove regole già entro la prossima settimana; "
        "le imprese chiedono però più chiarezza sulle licenze.",
        "Perché è così",
    ],
    "fi": [
        "Hallitus päätti tiukentaa sirujen vientiä, ja yhtiöt pelkäävät viivästyksiä. "
        "Päätös tulee voimaan ensi vuoden alussa.",
        "Vientirajoitukset",
    ],
    "sv": [
        "Regeringen skärper exportkontrollen för avancerade kretsar från årsskiftet, och "
        "företagen får vänta längre på sina tillstånd.",
        "Exportförbud",
    ],
    "nl": [
        "De fabrikanten zijn bezorgd over de gevolgen voor hun leveringen in Azië. "
        "Volgens het ministerie gaan de regels volgend jaar in.",
    ],
    "pl": [
        "Ministerstwo Rozwoju ogłosiło nowe zasady eksportu zaawansowanych układów scalonych. "
        "Przedsiębiorcy obawiają się opóźnień w dostawach i żądają wyjaśnień.",
        "Łańcuch dostaw",
        "Eksport układów",
    ],
    "cs": [
        "Ministerstvo průmyslu oznámilo, že přísnější pravidla pro vývoz čipů začnou platit "
        "od příštího měsíce. Výrobci se obávají zpoždění dodávek.",
        "Vývoz čipů",
    ],
    "sk": [
        "Vláda schválila nové pravidlá pre vývoz čipov. Výrobcovia sa obávajú ďalších "
        "oneskorení dodávok a žiadajú dlhšie prechodné obdobie.",
        "Vývoz čipov",
    ],
    "hu": [
        "A kormány szigorúbb exportszabályokat vezet be, az új előírások a gyártók szerint "
        "késéseket okozhatnak a műszaki ellátásban.",
        "Exportkorlátozás",
    ],
    "ro": [
        "Guvernul a anunţat noi reguli pentru exportul de cipuri, iar producătorii se tem de "
        "întârzieri în livrări.",
        "Reguli noi",
    ],
    "hr": [
        "Vlada je najavila stroža pravila za izvoz čipova, a proizvođači strahuju od "
        "kašnjenja isporuka.",
        "Izvoz čipova",
    ],
    "sl": [
        "Ministrstvo je napovedalo strožja pravila za izvoz čipov in večje število pregledov.",
    ],
    "cyrillic": [
        "Министерство промышленности объявило о новых правилах экспорта передовых микросхем. "
        "Производители опасаются задержек поставок.",
        "Уряд оголосив нові правила експорту мікросхем, і виробники побоюються затримок.",
        "Министерството на икономиката обяви нови правила за износа на чипове.",
        "Экспортный контроль",
        "Санкции против производителей чипов",
        "Санкции США",
    ],
    "russian": [
        "Министерство промышленности объявило о новых правилах экспорта передовых микросхем. "
        "Производители опасаются задержек поставок.",
        "Экспортный контроль",
        "Санкции против производителей чипов",
        "Компания заявила, что новые ограничения почти не повлияют на её выручку.",
        "Новые квоты",
    ],
    "mixed-utf-8": [
        "美国商务部宣布对英伟达H20芯片实施新的出口管制措施。",
        "華為宣布昇騰開發者計畫上線一年以來。",
        "The Bureau of Industry and Security published an interim final rule — again.",
        "산업통상자원부는 반도체 수출 통제를 강화한다고 발표했다.",
        "経済産業省は輸出管理を強化すると発表した。",
        "芯片禁令",
    ],
}

_WESTERN = ("fr", "de", "es", "pt", "it", "fi", "sv", "nl")
_CENTRAL = ("pl", "cs", "sk", "hu", "ro", "hr", "sl")
# Each codec with the languages written in it (ISO-8859-1 and cp1252 differ only in C1).
CODECS: dict[str, tuple[str, ...]] = {
    "gbk": ("zh-Hans",),
    "big5": ("zh-Hant",),
    "utf-8": ("mixed-utf-8",),
    "euc_kr": ("ko",),
    "shift_jis": ("ja",),
    "euc_jp": ("ja",),
    "iso2022_jp": ("ja",),
    "cp1252": _WESTERN,
    "latin_1": _WESTERN,
    "cp1250": _CENTRAL,
    "iso8859_2": _CENTRAL,
    "cp1251": ("cyrillic",),
    "koi8_r": ("russian",),
}


@dataclass(frozen=True)
class Item:
    name: str
    encoding: str
    texts: tuple[str, ...]
    body: bytes


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{escape(title[:12])}</title></head><body><article>"
        f"{body}</article></body></html>"
    )


def _feed(text: str) -> str:
    return (
        '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>news</title>'
        f"<item><title>{escape(text[:12])}</title><description>{escape(text)}</description>"
        "<link>https://example.test/a</link></item></channel></rss>"
    )


def corpus() -> Iterator[Item]:
    """Every text bare, as a page and as a feed item, and each codec's texts as one
    long page."""
    for encoding, languages in CODECS.items():
        for language in languages:
            texts = [t for t in TEXTS[language] if _encodable(t, encoding)]
            for i, text in enumerate(texts):
                forms = {
                    "bare": text,
                    "page": _page(text, [text, text]),
                    "feed": _feed(text),
                }
                for form, document in forms.items():
                    name = f"{encoding}-{language}-{i}-{form}"
                    yield Item(name, encoding, (text,), document.encode(encoding))
            long_page = _page(texts[0], texts * 3)
            name = f"{encoding}-{language}-long"
            yield Item(name, encoding, tuple(texts), long_page.encode(encoding))
