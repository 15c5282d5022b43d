"""Parts of a news page that are not its article: comment threads, related-article and
ranking boxes, the next article an infinite-scroll page renders after this one.

Chinese portals name these blocks in pinyin (``pinglun``, ``xgyd`` for 相关阅读,
``tuijian``, ``rdph`` for 热点排行, ``xiayipian`` for 下一篇) or head them with a Chinese
heading (``网友评论``, ``相关阅读``, ``猜你喜欢``), which trafilatura's English class
lists do not know; extraction then runs on into them. ``prune_tree`` removes them from an
lxml tree before extraction, for trafilatura and the density extractor alike. A heading
that opens its block takes the block; one further down the article's own block takes only
what it heads (the links after "Read more:", the rest of the block after 网友评论). The
token and heading lists are written by hand: they are what portals print, and no library
carries them. I/O-free.
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = [
    "BOILERPLATE_HEADING_RE",
    "BOILERPLATE_TOKEN_RE",
    "COMMENTS_HEADING_RE",
    "is_boilerplate_attr",
    "prune_tree",
]

# id/class tokens (split at -, _, spaces and camelCase; pinyin abbreviations included).
BOILERPLATE_TOKEN_RE = re.compile(
    r"(?:^|[-_\s])(?:"
    r"pl|pinglun|plbox|pllist|comments?|cmt|discuss|reply|huifu|liuyan|gentie"
    r"|xgyd|xgwz|xgxw|xgbd|xiangguan|tuijian|rmtj|rdph|remen|redian|hot-?news|hot-?list"
    r"|related|relate|relevant|recommend|recommends|guess|cnxh|paihang|ranking|rank-?list"
    r"|xiayipian|shangyipian|xyp|syp|next-?article|prev-?article|more-?news|yanshen"
    r")(?:$|[-_\s])"
)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# CSS frameworks' spacing utilities (Bootstrap's ``pl-lg-0``, Tailwind's ``pl-4``): ``pl``
# there is padding-left, not 评论.
_UTILITY_CLASS_RE = re.compile(
    r"^-?[mp][trblxyse]?-(?:(?:sm|md|lg|xl|xxl|2xl)-)?(?:n?\d+(?:\.\d+)?|auto|px)$"
)
# The names portals give a comment thread's section (both its heading lists below).
_COMMENT_SECTIONS = (
    r"网友评论|網友評論|精彩评论|精彩評論|热门评论|熱門評論|全部评论|全部評論|最新评论"
    r"|最新評論|评论区|評論區|精选留言|精選留言|发表评论|發表評論|我要评论|我要評論|网友留言|網友留言"
)
# A heading that opens a comment thread: everything after it in its block is comments.
_COMMENTS_HEADING = (
    rf"{_COMMENT_SECTIONS}|读者留言|讀者留言|评论|評論|留言|Comments?|Reader\s+comments"
    r"|Join\s+the\s+conversation"
)
_COUNT = r"\s*(?:[(（]?\s*\d*\s*条?\s*[)）]?)?\s*[:：]?\s*$"
COMMENTS_HEADING_RE = re.compile(rf"^\s*(?:{_COMMENTS_HEADING}){_COUNT}", re.IGNORECASE)
# The bare words head a thread only as a section heading (h2-h6): in bold or a "title"
# element they are a channel's name or a kicker above the headline (评论, "Comment").
_BARE_COMMENTS_RE = re.compile(rf"^\s*(?:评论|評論|留言|Comments?){_COUNT}", re.IGNORECASE)
_SECTION_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6", "dt"})
# A heading (or a block's first line) that opens such a block.
BOILERPLATE_HEADING_RE = re.compile(
    rf"^\s*(?:{_COMMENT_SECTIONS}"
    r"|相关阅读|相關閱讀|相关文章|相關文章|相关新闻|相關新聞|相关报道|相關報導|延伸阅读|延伸閱讀"
    r"|推荐阅读|推薦閱讀|猜你喜欢|猜你喜歡|热点排行|熱點排行|热门排行|熱門排行|热门推荐|熱門推薦"
    r"|为你推荐|為你推薦|大家都在看|下一篇|上一篇|继续阅读下一篇|喜欢此内容的人还喜欢"
    r"|关联新闻|關聯新聞|관련\s*뉴스|관련\s*기사|많이\s*본\s*뉴스|関連記事|関連ニュース"
    r"|アクセスランキング"
    # English headings are the whole line ("Comments (12)", "Read more:"): "Comments on
    # the proposed rule" heads a section of the article itself.
    r"|(?:Related\s+(?:articles|stories|news|coverage)|Read\s+more|More\s+on\s+this\s+story"
    r"|Comments?|Most\s+(?:read|popular))\s*(?:[(（]\s*\d*\s*[)）])?\s*[:：]?\s*$)",
    re.IGNORECASE,
)
_RUN_IN = 10  # characters of text right after a "heading" that make it a run-in label
_KEEP_TAGS = frozenset({"html", "body", "main", "article"})
# Elements found through their attributes: a predicate on every element (``//*[@class]``)
# costs libxml2 several times as much on a large page, most of whose elements have none.
_NAMED_XPATH = etree.XPath("(//@class|//@id)/..")
_HEADINGS_XPATH = etree.XPath(
    "//h1|//h2|//h3|//h4|//h5|//h6|//dt|//strong|//b"
    "|//@class[substring(., string-length(.) - 4) = 'title']/.."
)


def is_boilerplate_attr(value: str | None) -> bool:
    """Whether an ``id`` or ``class`` value names a comment, related or ranking block."""
    if not value:
        return False
    names = " ".join(name for name in value.split() if not _UTILITY_CLASS_RE.match(name))
    return BOILERPLATE_TOKEN_RE.search(_CAMEL_RE.sub("-", names).lower()) is not None


def _holds_title(node: etree._Element) -> bool:
    return bool(node.xpath(".//h1"))


def _has_text(node: etree._Element) -> bool:
    return isinstance(node.tag, str) and any(t.strip() for t in node.itertext())


def _opens(node: etree._Element) -> bool:
    """Whether nothing with text comes before ``node`` in its parent: a heading that
    opens its block heads all of it; one further down heads only what follows it."""
    parent = node.getparent()
    if parent is None:
        return True
    if parent.text and parent.text.strip():
        return False
    for sibling in node.itersiblings(preceding=True):
        if (sibling.tail and sibling.tail.strip()) or _has_text(sibling):
            return False
    return True


def _runs_in(node: etree._Element) -> bool:
    """A run-in label (``<b>评论：</b>`` followed by the paragraph's own text) or a word in
    bold inside a sentence (``平台<b>留言</b>反映``), not a heading."""
    if node.tag not in ("b", "strong"):
        return False
    if len((node.tail or "").strip()) >= _RUN_IN:
        return True
    previous = node.getprevious()
    before = previous.tail if previous is not None else node.getparent().text  # type: ignore[union-attr]
    return bool(before and before.strip())


def _link_like(node: etree._Element) -> bool:
    """A ``<br>``, an image, or an element whose text is mostly link text."""
    if not isinstance(node.tag, str):
        return True  # a comment or processing instruction
    text = sum(len(t.strip()) for t in node.itertext())
    if not text:
        return True
    linked = sum(len(t.strip()) for link in node.iter("a") for t in link.itertext())
    return linked >= 0.6 * text


def _headed_run(node: etree._Element, comments: bool) -> list[etree._Element]:
    """What a heading inside a larger block heads: the rest of the block after a comments
    heading, else the links that follow it (up to the first text that is not a link);
    never the headline or a block that holds it."""
    run = [node]
    for sibling in node.itersiblings():
        if isinstance(sibling.tag, str) and (sibling.tag == "h1" or _holds_title(sibling)):
            return run
        if not comments and not _link_like(sibling):
            break
        run.append(sibling)
        if not comments and sibling.tail and sibling.tail.strip():
            break
    if comments:
        for item in run:
            item.tail = None  # comments between <br>s are the siblings' tails
    return run


def _remove(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is None:
        return
    # Keep the text that follows the node (its tail) in the document.
    if node.tail and node.tail.strip():
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def prune_tree(tree: etree._Element) -> int:
    """Remove comment threads, related-article and ranking boxes and appended next
    articles from ``tree`` in place; return how many elements went. A block that holds the
    page's ``<h1>`` (the article itself) is never removed."""
    doomed: list[etree._Element] = []
    for node in _NAMED_XPATH(tree):
        named = is_boilerplate_attr(node.get("class")) or is_boilerplate_attr(node.get("id"))
        if named and node.tag not in _KEEP_TAGS and not _holds_title(node):
            doomed.append(node)
    taken = set(doomed)
    for node in _HEADINGS_XPATH(tree):
        if node in taken or node.getparent() in taken:
            continue  # inside a block or run already going (one pass, however many labels)
        text = "".join(node.itertext()).strip()
        if node.tag in _KEEP_TAGS or len(text) >= 40 or _runs_in(node):
            continue
        comments = COMMENTS_HEADING_RE.match(text) is not None
        if comments and node.tag not in _SECTION_TAGS and _BARE_COMMENTS_RE.match(text):
            continue
        if not comments and not BOILERPLATE_HEADING_RE.match(text):
            continue
        parent = node.getparent()
        opens = _opens(node)
        if (
            parent is not None
            and parent.tag not in _KEEP_TAGS
            and not _holds_title(parent)
            and parent.getparent() is not None
            and opens
        ):
            block = [parent]
        else:
            # Inside the article's own block (a "Read more:" line, the related links at
            # the foot of a <td> of <br>-separated text): only what the heading heads; a
            # comments heading before the block's text (a label above the headline)
            # takes nothing but itself.
            block = _headed_run(node, comments and not opens)
        doomed.extend(block)
        taken.update(block)
    removed = 0
    gone: set[etree._Element] = set()
    for node in doomed:
        if node in gone or any(ancestor in gone for ancestor in node.iterancestors()):
            continue  # inside one removed already
        if node.getparent() is not None:
            _remove(node)
            gone.add(node)
            removed += 1
    return removed
