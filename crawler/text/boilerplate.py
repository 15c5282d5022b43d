"""Remove what the reader did not come for from an article's text.

Reader comments (a ``… 發表評論於`` header onwards, ``登錄後才可評論``), platform disclaimers
(``特別聲明：以上內容…網易號…``, ``Notice: The content above…``, ``本文來自投稿，不代表…立場``),
reward and share footers (``微信扫一扫``, ``支付宝扫一扫``, ``分享到``), page furniture
(``打印``, ``被閱讀次數``, ``浏览量:7``), date lines at the top or bottom of the text
(``2026-11-18 16:20 来源：…``), image placeholders and picture credits (``![]()``,
``[图片]``, ``图源：…``), credits and bylines at the text's edges (``编辑｜…``, ``本文来自微信
公众号…``, ``Reporting by …; Editing by …``), a press release's contacts after ``###``, and
paragraphs repeated verbatim (kept once). Each rule is written so that the article's own
sentences that use the same words stay (``在视频评论区…``, ``话题阅读量已超过3亿``,
``未经授权向第三国转运``, ``打印机市场回暖``). The article's own content stays, its reference
list included. The lists of phrases are written by hand: they are what portals print, and
no library carries them. I/O-free.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CleanResult", "clean_text"]

# A line that starts the comment section: everything from it on is comments. The section's
# name opens the line ("网友评论（12）", "全部评论：", "评论区 热度排序"): a sentence that
# mentions a video's comment section ("在视频评论区，不少网友…") is the article's.
_COMMENTS_START_RE = re.compile(
    r"發表評論於|发表评论于"
    r"|^\s*(?:發表評論|发表评论|网友评论|網友評論|精彩评论|精彩評論|全部评论|全部評論|热门评论"
    r"|熱門評論|最新评论|最新評論|评论区|評論區|网友留言|網友留言)(?:\s*[(（]?\s*\d*\s*条?\s*[)）]?)"
    r"(?:\s*[:：]|\s*$|\s+\S{1,12}$)"
    r"|^\s*(?:评论|評論|留言)\s*[（(]?\d*[)）]?\s*$|^\s*comments?\s*\(?\d*\)?\s*$",
    re.IGNORECASE,
)
_COMMENT_LINE_RE = re.compile(r"^\S{1,40}\s*(發表評論於|发表评论于)")
_DISCLAIMER_RE = re.compile(
    r"(特別聲明|特别声明|免責聲明|免责声明).{0,40}(以上|本文|內容|内容|平台|網易號|网易号|僅代表|仅代表)"
    r"|^notice:\s*the content above"
    r"|本文.{0,6}(來自投稿|来自投稿|不代表|僅代表|仅代表)"
    r"|不代表本(站|平台|網|网|刊|報|报|號|号)(立場|立场|觀點|观点)"
    r"|如若轉載|如若转载|轉載請注明|转载请注明"
    # "未经授权，不得转载" is a notice; "未经授权向第三国转运" is the news
    r"|未[經经](?:授[權权]|[许許]可|同意|允[许許]).{0,10}(?:轉載|转载|轉發|转发|複製|复制|摘編|摘编"
    r"|鏡像|镜像|轉貼|转贴|使用本(?:站|網|网|文|刊))"
    # a credit line of labels: "（责任编辑：王凯）", "本文来源：网易科技报道 责任编辑：王凯_NT5541"
    r"|^[（(]?(?:(?:本文|文章)?(?:來源|来源|責任編輯|责任编辑|編輯|编辑)[:：][^）)]{0,30}?){1,3}[）)]?$"
    r"|^(登錄後才可評論|登录后才可评论|登錄後發表評論|登录后发表评论)"
    # reprint notices of other forms and languages; where an article came from
    # ("本文版权归作者所有，禁止转载", "禁止转载"; not "各平台不得转载未经核实的信息")
    r"|(?:本站|本网|本網|本文|本号|本號|本刊|版权|版權|作品).{0,20}(?:禁止|严禁|嚴禁|请勿|請勿|不得)"
    r"(?:任何)?(?:转载|轉載|转发|轉發)|^(?:禁止|严禁|嚴禁|请勿|請勿)(?:任何)?(?:转载|轉載)\W{0,3}$"
    r"|無断転載|無断複製|무단\s*전재|재배포\s*금지|저작권자\s*[(ⓒ©]"
    r"|^[（(]?本文(?:来自|來自|首发于|首發於|转载自|轉載自|转自|轉自|经授权转载|經授權轉載)"
    r"|^\S{1,10}注[:：]\s*本文(?:来源|來源|来自|來自)"
    # a tip line ("澎湃新闻报料：021-962866"), not "有网友爆料：该公司…"
    r"|^.{0,12}(?:报料|報料|爆料)(?:热线|熱線|邮箱|郵箱|电话|電話)?[:：]\s*(?:[\d()+\s-]{5,}|\S+@\S+)$"
    r"|^제보는",
    re.IGNORECASE,
)
_FURNITURE_RE = re.compile(
    # (no \b after a Chinese word: between two Han characters there is none)
    r"^(?:微信扫一扫|微信掃一掃|支付宝扫一扫|支付寶掃一掃|扫一扫|掃一掃|分享到|分享至|关注我们|關注我們"
    r"|点击关注|點擊關注|返回顶部|返回頂部|订阅电子报|訂閱電子報|订阅我们|訂閱我們)[^，。！？；,.!?;]{0,20}$"
    # page buttons with their object at most: "打印本页", "收藏本文"; not "打印机市场回暖"
    r"|^(?:打印|列印|收藏|点赞|點讚|打赏|打賞|举报|舉報)(?:本页|本頁|本文|此文|文章|页面|頁面)?\W{0,4}$"
    r"|^(share( on| this)?|print|tweet|email this)\b.{0,30}$"
    r"|^(?:sign up|subscribe) (?:for|to) (?:our|the) newsletter\b.{0,60}$"
    # an app's promotion ("新浪财经APP", "海量资讯、精准解读，尽在新浪财经APP"), short and
    # ending with the app: not "目前已有1亿用户下载了DeepSeek App。"
    r"|^.{0,16}(?:尽在|盡在|都在|下载|下載)\s*[\u4e00-\u9fff\s]{1,10}(?-i:APP|App|客户端|客戶端)[!！]?$"
    r"|^[\u4e00-\u9fff]{2,10}(?-i:APP)$"
    # a page marker ("— 1 —", "（第2页）") and a line that is only an address to write to
    r"|^[—–-]\s*\d{1,3}\s*[—–-]$|^[（(]?第\s*\d{1,3}\s*[页頁][）)]?$|^\S+@\S+\.[a-z]{2,}$"
    # a label standing alone ("摘要" over the summary, "贊助文章", "Advertisement")
    r"|^(?:摘要|文章作者|贊助文章|赞助文章|广告|廣告|Advertisement|Sponsored)[:：]?$"
    r"|^(?:請繼續往下閱讀|请继续往下阅读|繼續閱讀|继续阅读|展開全文|展开全文|阅读全文|閱讀全文"
    r"|continue reading|read the full (?:story|article))\W{0,6}$"
    r"|^(?:please )?(?:turn on|enable) javascript\b"
    # a counter that ends the line ("阅读量：1.2万", "浏览次数 128"), not "话题阅读量已超过3亿"
    # nor "阅读数据显示，…"
    r"|(?:被)?(?:阅读|閱讀|浏览|瀏覽)(?:量|数|數|次数|次數)\s*[:：]?\s*[\d.,]+\s*[万萬千kKwW]?\+?\s*$"
    r"|^更新时间\s*[:：]|^更新時間\s*[:：]",
    re.IGNORECASE,
)
_IMAGE_RE = re.compile(
    r"^\s*(!\[[^\]]*\]\([^)]*\)\s*)+$|^\s*\[(图片|圖片|image|img)\]\s*$"
    r"|^\s*(图片|圖片)(来源|來源)?\s*[:：]?.{0,20}$"
    # a picture's credit: "图源：视觉中国", "（首圖來源：shutterstock）"
    r"|^[（(]?(?:首图|首圖|题图|題圖|头图|頭圖|图源|圖源)(?:来源|來源)?\s*[:：].{0,30}[）)]?$",
    re.IGNORECASE,
)
_MIN_REPEATED = 8
_FURNITURE_MAX = 60  # characters: page furniture is short (checked before its patterns)
# A platform's statement runs to about 200 characters; a longer line that holds one of its
# phrases is a paragraph (or paragraphs run together) that quotes it: kept.
_DISCLAIMER_MAX = 250
# A page's date line that extraction kept at the top or bottom of the text:
# "2026-11-18 16:20 来源：科技日报网", "송고시간 2026-11-18 10:25", "2026年11月18日 19:30".
_DATELINE_RE = re.compile(
    r"^(?:\S{0,6}[:：]?\s*)?(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*(?:星期|週|周|禮拜|礼拜)[一二三四五六日天])?"
    # then what follows, spaced ("16:20 来源：科技日报网"), or run on after a time
    # ("20:41:12第一财经作者：周芳"); never a sentence ("2026年3月5日美方宣布新规")
    r"(?:[\s|T-]*\d{1,2}:\d{2}(?::\d{2})?(?:\s*[^\s，。！？；,;!?]{1,16}){0,3}"
    r"|(?:\s+[^\s，。！？；,;!?]{1,16}){0,3})\s*$"
)
# The issuers a notice is signed by, the line before its date ("商务部 海关总署"): that
# date is the notice's own, not the page's.
_SIGNATURE_RE = re.compile(
    r"^(?:\S{1,16}(?:部|署|局|委|委员会|委員會|院|厅|廳|办公室|辦公室|政府|中心|协会|協會)\s*){1,4}$"
)
# A byline at the top ("文｜财新 何苗", "文/记者 张三"): the credit, not the article.
# (not a line that ends a sentence: "记者：您怎么看？" is an interview's question)
_NAME = r"(?:[\u4e00-\u9fff·]{1,6}[A-Za-z0-9_.\-]{0,10}|[A-Za-z][A-Za-z0-9_.\-]{0,15})"
_BYLINE_RE = re.compile(
    r"^(?:[^\s｜|/／:：]{0,8}?(?:记者|記者|编辑|編輯|责编|責編|作者|撰文|文|图|圖|摄影|攝影)"
    rf"\s*[｜|/／:：]\s*{_NAME}(?:\s+{_NAME}){{0,2}}\s*){{1,3}}$"
)
_BYLINE_MAX = 60
# The end of a press release ("###", "-30-"): what follows is the media contact.
_RELEASE_END_RE = re.compile(r"^\s*(?:#{3,}|-\s*30\s*-)\s*$")
# An agency's credit line at the foot ("Reporting by …; Editing by …").
_WIRE_CREDIT_RE = re.compile(
    # names and the desks' semicolons, not a sentence: "Reporting by Karen Freifeld;
    # Editing by Leslie Adler", "(Reporting by David Shepardson in Washington)"
    r"^\(?(?i:additional )?(?i:reporting|writing|editing) by [A-Z][\w.'-]*(?:[ ,]+(?:and |in )?"
    r"[A-Z][\w.'-]*)*(?:; (?i:additional )?(?i:reporting|writing|editing) by [A-Z][\w.'-]*"
    r"(?:[ ,]+(?:and |in )?[A-Z][\w.'-]*)*)*\)?\.?$"
)
_DATELINE_MAX = 40


@dataclass
class CleanResult:
    text: str
    removed: dict[str, int] = field(default_factory=dict)


def _count(removed: dict[str, int], kind: str) -> None:
    removed[kind] = removed.get(kind, 0) + 1


def _is_byline(line: str) -> bool:
    return len(line) <= _BYLINE_MAX and _BYLINE_RE.match(line) is not None


# What may follow a release's end mark: a few short lines (a media contact), not a section.
_CONTACT_LINES, _CONTACT_CHARS = 6, 400


def _contacts_only(lines: list[str]) -> bool:
    return len(lines) <= _CONTACT_LINES and sum(map(len, lines)) <= _CONTACT_CHARS


def _tail_start(lines: list[str]) -> tuple[int, str] | None:
    """Where the text's tail of comments (or a press release's contacts) starts, and which
    it is. A section heading (评论区, 全部评论) or a release's end mark (``###``) counts in
    the second half of the text only, so an article that discusses comments keeps its
    body; ``<user> 發表評論於`` headers count after the third paragraph when there are two."""
    headers = [i for i, line in enumerate(lines) if _COMMENT_LINE_RE.search(line) and i >= 3]
    if len(headers) >= 2:
        return headers[0], "comments"
    half = len(lines) // 2
    for index in range(half, len(lines)):
        if _COMMENTS_START_RE.search(lines[index]):
            return index, "comments"
        if _RELEASE_END_RE.match(lines[index]) and _contacts_only(lines[index + 1 :]):
            return index, "press_contacts"
    return None


def clean_text(text: str) -> CleanResult:
    """Drop comments, disclaimers, footers, placeholders and repeated paragraphs."""
    result = CleanResult("")
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    tail = _tail_start(lines)
    if tail is not None:
        start, kind = tail
        result.removed[kind] = len(lines) - start
        lines = lines[:start]
    kept: list[str] = []
    seen: Counter[str] = Counter()
    edges = {0, 1, len(lines) - 2, len(lines) - 1}
    for index, line in enumerate(lines):
        if (
            index in edges
            and len(line) <= _DATELINE_MAX
            and _DATELINE_RE.match(line)
            and not (index and _SIGNATURE_RE.match(lines[index - 1]))
        ):
            _count(result.removed, "datelines")
            continue
        if _IMAGE_RE.search(line):
            _count(result.removed, "image_placeholders")
            continue
        if len(line) < _DISCLAIMER_MAX and _DISCLAIMER_RE.search(line):
            _count(result.removed, "disclaimers")
            continue
        if len(line) < _FURNITURE_MAX and _FURNITURE_RE.search(line):
            _count(result.removed, "share_and_page_furniture")
            continue
        if len(line) >= _MIN_REPEATED and seen[line]:
            _count(result.removed, "repeated_paragraphs")
            continue
        seen[line] += 1
        kept.append(line)
    # Credits at the edges of what is left (a byline under the footer just removed)
    for _ in range(2):
        if kept and _is_byline(kept[0]):
            kept.pop(0)
            _count(result.removed, "bylines")
        if kept and (_is_byline(kept[-1]) or _WIRE_CREDIT_RE.match(kept[-1])):
            kept.pop()
            _count(result.removed, "bylines")
    result.text = "\n".join(kept)
    return result
