"""The outlet an article credits: a repost names where it came from.

Portals carry wire copy and each other's stories and say so in a handful of ways, read
here in this order of trust:

1. a wire dateline opening the text: ``新华社北京5月14日电（记者 …）``, ``中新网5月14日电``;
2. the credit in the page's header: ``来源：新华社``, ``稿源：观察者网``, ``來源：中央社``;
3. an English dateline or byline: ``WASHINGTON (Reuters) -``, ``(AP) —``, ``By Jane Doe,
   Reuters``, ``Source: Xinhua``;
4. a credit line at the start or end of the text: ``（本文来源：证券时报网）``;
5. the lead attributing the report: ``据路透社报道，…``, ``据彭博社消息``.

The name is normalised through the entity catalogue (新华社, 新华网 and Xinhua are
``Xinhua``; 路透社 is ``Reuters``). An explicit ``来源：`` naming an outlet the catalogue
does not know keeps the name as written; datelines, bylines and ``据…报道`` count only for
outlets the catalogue knows, and vague credits (外媒, 网络, 综合) are no origin at all.
Written by hand: no library reads Chinese credit lines. I/O-free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from crawler.text.entities import Catalogue, fold_name

__all__ = ["find_origin"]

_CREDIT_RE = re.compile(
    r"(?:文章|本文|信息|新闻|稿件|内容|图文)?(?:来源|來源|稿源|出处|出處|转自|轉自|转载自|轉載自)"
    r"(?:于|於)?\s*[:：]?\s*[《【]?(?P<name>[^\s:：|｜,，。;；/（）()【】《》]{2,24})"
)
_VIA_RE = re.compile(
    r"^[^。]{0,40}?据\s*[《【]?(?P<name>[^\s，。,《》【】]{2,12}?)[》】]?\s*"
    r"(?:\d{1,2}月\d{1,2}日)?\s*(?:报道|報導|报导|消息|援引|称|稱|透露|获悉|獲悉|发布|發布)"
)
_CN_DATELINE_RE = re.compile(
    r"^[【（(\[]?\s*(?P<lead>[\u4e00-\u9fff0-9A-Za-z]{2,16}?)\s*"
    r"\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:电|電|讯|訊)"
)
_EN_DATELINE_RE = re.compile(
    r"^(?:[A-Z][A-Za-z0-9.,' -]{0,60}?)?\s*\((?P<name>[A-Z][A-Za-z .&'-]{1,40})\)\s*[-–—]"
)
_BYLINE_RE = re.compile(
    r"^(?:By|BY)\s+(?:[^,]{1,60},\s*)?(?P<name>(?:the\s+)?[A-Z][A-Za-z .&'-]{1,40}?)\s*$"
)
_SOURCE_EN_RE = re.compile(r"^\(?(?:Source|SOURCE)\s*:\s*(?P<name>[A-Z][A-Za-z .&'-]{1,40}?)\)?$")
_REPORTER_RE = re.compile(r"^(?P<name>[\u4e00-\u9fff]{2,8}?)(?:记者|記者|特约记者|通讯员)")
_VAGUE = {
    fold_name(word)
    for word in (
        "外媒",
        "外网",
        "网络",
        "网友",
        "综合",
        "本站",
        "本网",
        "互联网",
        "网络整理",
        "综合报道",
        "综合整理",
        "媒体",
        "媒体报道",
        "官网",
        "公众号",
        "微信公众号",
        "原创",
        "作者",
        "网络综合",
        "多家媒体",
        "知情人士",
        "消息人士",
        "相关人士",
        "业内人士",
        "报道",
        "外电",
        "央媒",
        "港媒",
        "台媒",
        "美媒",
        "日媒",
        "韩媒",
        "英媒",
        "国外媒体",
        "海外媒体",
    )
}
_TRAILING = re.compile(r"(?:作者|编辑|編輯|责任编辑|責任編輯|记者|記者|时间|時間|发布|發布).*$")


def _known(name: str, catalogue: Catalogue) -> str | None:
    return catalogue.outlet(name.strip("《》【】 "))


def _explicit(name: str, catalogue: Catalogue) -> str | None:
    """A name after ``来源：``: the catalogue's outlet, else the name as written unless it
    is vague."""
    name = _TRAILING.sub("", name).strip("《》【】 ")
    if len(name) < 2:
        return None
    known = _known(name, catalogue)
    if known:
        return known
    folded = fold_name(name)
    if folded in _VAGUE or any(folded.startswith(v) for v in _VAGUE if len(v) >= 3):
        return None
    return name


def _dateline(line: str, catalogue: Catalogue) -> str | None:
    """新华社北京5月14日电: the longest leading run that is a known outlet."""
    match = _CN_DATELINE_RE.match(line)
    if not match:
        return None
    lead = match.group("lead")
    for end in range(len(lead), 1, -1):
        known = _known(lead[:end], catalogue)
        if known:
            return known
    return None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def find_origin(
    header: Sequence[str], text: str, catalogue: Catalogue, *, title: str = ""
) -> str | None:
    """The outlet the article credits (normalised), or None when it credits none."""
    lines = _lines(text)
    head, tail = lines[:2], lines[-3:]
    for line in head:
        found = _dateline(line, catalogue)
        if found:
            return found
    for line in header:
        match = _CREDIT_RE.search(line)
        if match:
            found = _explicit(match.group("name"), catalogue)
            if found:
                return found
    for line in [*head, *header, *tail]:
        for regex in (_EN_DATELINE_RE, _BYLINE_RE, _SOURCE_EN_RE, _REPORTER_RE):
            match = regex.match(line)
            if match:
                name = match.group("name")
                found = _known(name.removeprefix("the ").removeprefix("The "), catalogue)
                if found:
                    return found
    for line in [*head, *tail]:
        match = _CREDIT_RE.search(line)
        if match:
            found = _explicit(match.group("name"), catalogue)
            if found:
                return found
    if lines:
        match = _VIA_RE.match(lines[0])
        if match:
            return _known(match.group("name"), catalogue)
    return None
