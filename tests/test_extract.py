"""Extraction: the article's own title, text and date; sidebars stay out; selectors win."""

from __future__ import annotations

import lxml.html
import pytest

from crawler.demo.portal import PortalSite
from crawler.text.extract import extract_article, normalize_date
from crawler.text.page import process_page

BASE = "http://portal.test"
SITE = PortalSite(BASE)


@pytest.mark.parametrize("article", SITE.articles, ids=lambda a: a.slug)
def test_portal_pages_through_the_page_pipeline(article) -> None:  # type: ignore[no-untyped-def]
    reply = SITE.article_reply(article)
    page = process_page(
        reply.body,
        url=f"{BASE}{article.path}?utm_source=x",
        content_type=reply.headers["Content-Type"],
    )
    assert page.title == article.title
    for paragraph in article.paragraphs:
        assert paragraph in page.text
    others = [a.title for a in SITE.articles if a.slug != article.slug]
    assert not any(title in page.text for title in others), "sidebar headline leaked"
    assert page.lang == article.lang
    assert page.canonical_url == f"{BASE}{article.path}"
    assert page.published_at == normalize_date(article.date)
    assert page.repairs["encoding"]["codec"] == page.encoding


def test_selectors_override_generic_extraction() -> None:
    html = """<html><body><div class="hd"><span class="t">Real title</span></div>
    <div id="story"><p>First paragraph of the story.</p><p>Second paragraph.</p></div>
    <p class="when">2026年3月5日 14:30</p></body></html>"""
    result = extract_article(
        html, title_selector="span.t", body_selector="#story p", date_selector="//p[@class='when']"
    )
    assert result.title == "Real title"
    assert result.text == "First paragraph of the story.\nSecond paragraph."
    assert result.published_at == "2026-03-05T14:30:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T09:15:00+08:00", "2026-03-02T01:15:00Z"),
        ("Tue, 03 Mar 2026 15:00:00 GMT", "2026-03-03T15:00:00Z"),
        ("2026年3月5日", "2026-03-05T00:00:00"),
        ("2026-03-05", "2026-03-05T00:00:00"),
        ("soon", None),
        (None, None),
    ],
)
def test_normalize_date(value: str | None, expected: str | None) -> None:
    assert normalize_date(value) == expected


def test_broken_html_gives_empty_result() -> None:
    page = process_page(b"", url="http://x.test/a")
    assert page.text == ""
    page = process_page(b"\x00\xff\xfe garbage", url="http://x.test/b")
    assert isinstance(page.text, str)


def test_canonical_link_to_another_site_is_ignored() -> None:
    html = b'<html><head><link rel="canonical" href="https://other.test/x"></head><body>' + (
        b"<article><h1>T</h1><p>"
        + b"Body text that is long enough to be extracted. " * 5
        + b"</p></article></body></html>"
    )
    page = process_page(html, url="http://mirror.test/a.html?utm_source=x")
    assert page.canonical_url == "http://mirror.test/a.html"


def test_mobile_page_names_its_desktop_twin() -> None:
    html = (
        b'<html><head><link rel="canonical" href="https://www.163.com/dy/article/A.html">'
        b"</head><body><article><h1>T</h1><p>"
        + b"Enough text for extraction here. " * 10
        + b"</p></article></body></html>"
    )
    page = process_page(html, url="https://m.163.com/dy/article/A.html?from=wap")
    assert page.canonical_url == "https://www.163.com/dy/article/A.html"


# -- issue 13: the density fallback and pruned blocks ----------------------------------------

from crawler.text.blocks import is_boilerplate_attr, prune_tree  # noqa: E402
from crawler.text.density import density_text  # noqa: E402

PARAGRAPHS = [
    "海关总署公布的数据显示，前十个月集成电路进口数量同比增长百分之九，进口金额增长百分之十二。",
    "分析人士指出，进口增长主要来自存储芯片和处理器，国内整机厂商正在为明年的新品提前备货。",
    "与此同时，集成电路出口也保持增长，成熟制程芯片的海外订单明显增加，部分企业的产能已经排满。",
    "业内人士预计，随着消费电子需求回暖，明年一季度的进口规模仍将维持在较高水平。",
]


def test_density_reads_br_separated_text_in_a_table_cell() -> None:
    html = (
        "<html><body><table><tr><td><a href='/'>首页</a> | <a href='/n'>新闻</a></td></tr>"
        "<tr><td class='zw'>" + "<br><br>".join(PARAGRAPHS) + "</td></tr></table></body></html>"
    )
    assert density_text(html).split("\n") == PARAGRAPHS


def test_density_prefers_known_containers_even_when_hidden() -> None:
    sections = "".join(f"<section><span>{p}</span></section>" for p in PARAGRAPHS)
    html = (
        "<html><body><div class='profile'>公众号简介：每天分享半导体行业观察，欢迎关注我们。"
        "</div><div id='js_content' style='visibility: hidden;'>" + sections + "</div>"
        "<div class='qr'>微信扫一扫关注该公众号</div></body></html>"
    )
    assert density_text(html).split("\n") == PARAGRAPHS


def test_density_skips_link_lists_comments_and_related_boxes() -> None:
    links = "".join(f"<li><a href='/{i}'>{p[:20]}</a></li>" for i, p in enumerate(PARAGRAPHS))
    html = (
        f"<html><body><ul class='list'>{links}{links}</ul>"
        "<div class='text'>" + "".join(f"<div>{p}</div>" for p in PARAGRAPHS) + "</div>"
        "<div class='pinglun'><p>"
        + "这篇文章写得很好，数据很详细，希望以后多做这样的分析。" * 3
        + "</p></div><div><h3>相关阅读</h3><p>"
        + "另一篇文章的摘要，讲的是面板价格和手机出货。" * 3
        + "</p></div></body></html>"
    )
    assert density_text(html).split("\n") == PARAGRAPHS


def test_pruning_keeps_the_block_with_the_title() -> None:
    html = (
        "<html><body><div class='hot-news'><h1>标题</h1><p>正文第一段。</p></div>"
        "<div class='xgyd'><p>相关文章</p></div><div><h3>网友评论</h3><p>评论</p></div>"
        "</body></html>"
    )
    tree = lxml.html.fromstring(html)
    assert prune_tree(tree) == 2
    text = tree.text_content()
    assert "正文第一段" in text and "相关文章" not in text and "评论" not in text


def _pruned(html: str) -> str:
    tree = lxml.html.fromstring(html)
    prune_tree(tree)
    return tree.text_content()


def test_a_related_heading_inside_the_article_takes_only_its_links() -> None:
    """A "Read more:" line and its links in the middle of the article's own block go; the
    article around them (before and after) stays."""
    text = _pruned(
        "<html><body><div class='entry-content'><p>The rule runs to 150 pages.</p>"
        "<b>Read more:</b>\n<ul><li><a href='/a'>Ascend, explained</a></li></ul>"
        "<h2>Who is affected</h2><p>Chip designers and cloud providers.</p></div></body></html>"
    )
    assert "150 pages" in text and "Chip designers" in text and "Who is affected" in text
    assert "Read more" not in text and "Ascend, explained" not in text


def test_related_links_at_the_foot_of_a_br_separated_cell_go_alone() -> None:
    cell = "<br>".join(PARAGRAPHS)
    text = _pruned(
        f"<html><body><table><tr><td class='content'>{cell}<br><br><b>相关新闻：</b><br>"
        "<a href='/1'>省商务厅发布芯片进口合规指引</a><br><a href='/2'>昇腾产业园签约</a>"
        "</td></tr></table></body></html>"
    )
    assert all(p in text for p in PARAGRAPHS)
    assert "相关新闻" not in text and "合规指引" not in text and "产业园" not in text


def test_a_comments_heading_inside_the_article_takes_the_rest_of_its_block() -> None:
    text = _pruned(
        f"<html><body><div class='c'><p>{PARAGRAPHS[0]}</p><h3>网友评论</h3>"
        "用户甲：这篇分析很有价值，希望继续关注。<br><div>用户乙：同意楼上。</div></div>"
        f"<p>{PARAGRAPHS[1]}</p></body></html>"
    )
    assert PARAGRAPHS[0] in text and PARAGRAPHS[1] in text
    assert "网友评论" not in text and "用户甲" not in text and "用户乙" not in text


@pytest.mark.parametrize(
    "heading",
    [
        "<h3>Comments on the Interim Final Rule</h3>",  # a section of a rule, not a thread
        "<b>评论：</b>记者认为这一新规的影响被市场低估了。",  # a run-in label of a paragraph
        "<h2>Read more about the licence exception</h2>",
    ],
)
def test_article_headings_that_mention_comments_or_reading_stay(heading: str) -> None:
    text = _pruned(
        f"<html><body><div class='body-column'><p>{PARAGRAPHS[0]}</p><p>{heading}</p>"
        f"<p>{PARAGRAPHS[1]}</p></div></body></html>"
    )
    assert PARAGRAPHS[0] in text and PARAGRAPHS[1] in text
    assert lxml.html.fromstring(heading).text_content() in text


@pytest.mark.parametrize(
    "label",
    [
        "<div class='channel-title'>评论</div>",  # the op-ed channel's name above the headline
        "<span class='section-title'>Comment</span>",
        "<b>留言</b>",
    ],
)
def test_a_comments_word_above_the_headline_takes_nothing_with_it(label: str) -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = (
        f"<html><body><div class='article'>{label}<h1>芯片管制的代价</h1>{body}</div></body></html>"
    )
    result = extract_article(html)
    assert result.title == "芯片管制的代价" and result.text.split("\n") == PARAGRAPHS


def test_a_word_in_bold_inside_a_sentence_is_no_heading() -> None:
    html = (
        f"<html><body><article><h1>新规</h1><p>{PARAGRAPHS[0]}</p>"
        "<p>市民可通过政务服务平台<b>留言</b>反映意见和建议。</p></article></body></html>"
    )
    assert "平台留言反映意见" in extract_article(html).text


def test_a_data_table_in_an_article_keeps_its_rows() -> None:
    """A table whose rows share their columns is the article's data (the Entity List's
    additions), kept row by row; it is not a page laid out in a table."""
    rows = "".join(
        f"<tr><td>{i}</td><td>某某计算技术有限公司{i}</td><td>深圳</td>"
        "<td>所有受EAR管辖物项</td><td>推定拒绝</td></tr>"
        for i in range(1, 5)
    )
    html = (
        "<html><body><article><h1>实体清单新增十二家实体</h1>"
        f"<p>{PARAGRAPHS[0]}</p><table><tr><th>序号</th><th>实体名称</th><th>所在地</th>"
        f"<th>许可要求</th><th>审查政策</th></tr>{rows}</table><p>{PARAGRAPHS[1]}</p>"
        "</article></body></html>"
    )
    result = process_page(html.encode(), url="http://x.test/a")
    assert result.repairs["extractor"] == "trafilatura"
    # one long cell (a listing's reason) does not make the page a layout table
    reason = "该实体参与了为受限最终用户开发先进计算芯片的活动。" * 9
    longer = html.replace("推定拒绝</td></tr></table>", f"{reason}</td></tr></table>")
    assert process_page(longer.encode(), url="http://x.test/a").repairs["extractor"] == (
        "trafilatura"
    )
    for i in range(1, 5):
        row = f"| {i} | 某某计算技术有限公司{i} | 深圳 | 所有受EAR管辖物项 | 推定拒绝 |"
        assert row in result.text


def test_text_after_an_empty_inline_element_is_kept() -> None:
    """A stock quote's empty placeholder (``<span id="quote_…"></span>``): trafilatura
    dropped the rest of its paragraph."""
    html = (
        "<html><body><article><h1>算力概念股午后走强</h1><p>华丰科技(688629)"
        "<span id='quote_sh688629'></span>涨停，浪潮信息(000977)<span></span>跟涨，"
        f"多只算力概念股走强，成交额明显放大。</p><p>{PARAGRAPHS[0]}</p></article></body></html>"
    )
    text = extract_article(html).text
    assert "华丰科技(688629)涨停，浪潮信息(000977)跟涨，多只算力概念股走强" in text


def test_a_page_laid_out_in_one_table_row_comes_out_as_paragraphs() -> None:
    """The article in one cell, a sidebar in the next: trafilatura's one-row table is the
    page's layout (a cell of prose), and the density extractor reads its paragraphs."""
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = (
        "<html><body><table><tr><td class='main'><h1>存储芯片出口新规</h1>"
        f"<span>2026/03/27-17:40</span>{body}<p>DIGITIMES 版權所有，未經同意，不得轉載。</p>"
        "</td><td class='side'><a href='/1'>熱門新聞一</a><br><a href='/2'>熱門新聞二</a>"
        "</td></tr></table></body></html>"
    )
    result = process_page(html.encode(), url="http://x.test/a", fetched_at="2026-03-30T04:00:00Z")
    assert result.text.split("\n") == PARAGRAPHS
    assert result.published_at == "2026-03-27T09:40:00Z"


def test_the_headline_is_not_repeated_under_a_byline() -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = (
        "<html><body><h1>昇腾出海受阻背后的三重逻辑</h1><div class='content'><p>作者：李志平</p>"
        f"<p>昇腾出海受阻背后的三重逻辑</p><p>（第2页）</p>{body}</div></body></html>"
    )
    assert process_page(html.encode(), url="http://x.test/a").text.split("\n") == PARAGRAPHS


@pytest.mark.parametrize(
    ("html", "title"),
    [
        (  # the site's logo in the only <h1>, the headline in an <h2>
            "<html><head><title>国产训练芯片发布 算力提升一倍_产业_电子报</title></head><body>"
            "<div class='header'><h1 class='logo'><a href='/'>电子报</a></h1></div>"
            "<div class='detail-title'><h2>国产训练芯片发布 算力提升一倍</h2></div>",
            "国产训练芯片发布 算力提升一倍",
        ),
        (  # the logo's <h1> links to the site's home by its full address
            "<html><head><meta property='og:title' content='钛媒体深度 | 国产AI芯片'></head>"
            "<body><h1 class='hd'><a href='https://www.tmtpost.test/'>钛媒体</a></h1>"
            "<div class='post-title'><h1>昇腾与寒武纪的分岔路</h1></div>",
            "昇腾与寒武纪的分岔路",
        ),
        (  # a theme's class on <body> names no logo
            "<html><head><title>网站名称_频道</title></head><body class='page brand-red'>"
            "<div class='content'><h1>国务院发布新规定</h1>",
            "国务院发布新规定",
        ),
        (  # an old portal's title, its parts joined by --
            "<html><head><title>市商务局举办出口管制合规培训会--本站新闻--某市人民政府</title>"
            "</head><body>",
            "市商务局举办出口管制合规培训会",
        ),
    ],
)
def test_the_headline_not_the_site_name(html: str, title: str) -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    assert extract_article(f"{html}{body}</body></html>").title == title


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("pinglun", True),
        ("relevantNews", True),
        ("xgyd", True),
        ("pl-item", True),
        ("pl20 fl", False),
        ("article-body", False),
        ("art_contextBox", False),
        ("col-lg-8 pl-lg-0 article-body", False),  # Bootstrap's padding, not 评论
        ("pl-4 text-gray-700", False),  # Tailwind's
    ],
)
def test_boilerplate_block_names(value: str, named: bool) -> None:
    assert is_boilerplate_attr(value) is named


def test_fallback_runs_only_when_trafilatura_falls_short() -> None:
    for article in SITE.articles:
        reply = SITE.article_reply(article)
        page = process_page(reply.body, url=f"{BASE}{article.path}")
        assert page.repairs["extractor"] == "trafilatura"


def test_boilerplate_rules_apply_to_the_fallback_output() -> None:
    sections = "".join(f"<section><span>{p}</span></section>" for p in PARAGRAPHS)
    footer = (
        "<section><span>特别声明：以上内容仅代表作者本人观点，不代表本平台立场。</span></section>"
        "<section><span>微信扫一扫</span></section>"
    )
    body = (
        "<html><head><title>进口数据</title></head><body>"
        f"<div id='js_content' style='visibility: hidden;'>{sections}{footer}</div>"
        "</body></html>"
    ).encode()
    page = process_page(body, url="https://mp.weixin.qq.com/s/x")
    assert page.repairs["extractor"] == "density"
    assert page.text.split("\n") == PARAGRAPHS
    assert page.repairs["boilerplate"] == {"disclaimers": 1, "share_and_page_furniture": 1}


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><div><p>a<!-- note -->b</p><h1>T<i>x</i></h1>after<script>var s</script>"
        "tail<style>p{}</style><span>one<b>two</b>three</span>four</div>outer"
        "<p>p2<br>br tail</p><?pi data?>pi tail</body></html>",
        "<html><body><article><h1>T</h1><p>1</p></article><p>2</p><noscript>n</noscript></body>"
        "<!-- c -->end</html>",
        "<html><body><h1>only</h1></body></html>",
    ],
)
def test_the_lines_after_the_headline_are_read_in_document_order(html: str) -> None:
    """The lazy walk after the headline reads what XPath's ``following::text()`` does,
    without script and style text, in the same order (comments, processing instructions,
    tails, nesting)."""
    from crawler.text.extract import _texts_after

    heading = lxml.html.fromstring(html).xpath("//h1")[0]
    expected = heading.xpath("following::text()[not(ancestor::script) and not(ancestor::style)]")
    assert list(_texts_after(heading)) == [str(t) for t in expected]


def test_header_lines_stop_at_the_body_on_a_large_page() -> None:
    """A page of a real page's size (a site map of 2,000 links after the article): the
    header lines are the byline and date after the headline, then the named elements."""
    links = "".join(f'<li><a href="/n/{i}.html">链接{i}</a></li>' for i in range(2000))
    html = (
        '<html><body><h1>标题</h1><div class="info">2026-03-18 09:30 来源：新华社</div>'
        f"<p>{'正文' * 60}</p><nav><ul>{links}</ul></nav></body></html>"
    )
    from crawler.text.extract import _header_texts

    assert _header_texts(lxml.html.fromstring(html)) == ["2026-03-18 09:30 来源：新华社"]


_ELEMENTS_BY_NAME_HTML = (
    "<html><head><title>t</title><meta name='x' id='m'></head><body class='page'>"
    "<div class='' id='a'><p class='xtitle subtitle'>sub</p><span id=''>e</span></div>"
    "<h2 class='title'>h</h2><section class='news-title' id='s'><b>bold</b>"
    "<div class='titles'>not a title class</div><i class='title-bar'>no</i></section>"
    "<!-- c --><ul><li><a href='/1'>1</a></li><li class='pl'>pl</li></ul><dt>dt</dt>"
    "<article><strong id='st'>s</strong><em class='title'>em</em></article></body></html>"
)


def test_named_and_heading_elements_are_found_in_document_order() -> None:
    """``blocks`` and the header lines find elements through their ``class`` and ``id``
    attributes: the same elements, once each, in document order, as a test of every
    element (empty values, both attributes, fragments and comments included)."""
    from crawler.text import blocks, extract

    tree = lxml.html.fromstring(_ELEMENTS_BY_NAME_HTML)
    elements = [e for e in tree.iter() if isinstance(e.tag, str)]
    named = [e for e in elements if e.get("class") is not None or e.get("id") is not None]
    headings = [
        e
        for e in elements
        if e.tag in {"h1", "h2", "h3", "h4", "h5", "h6", "dt", "strong", "b"}
        or (e.get("class") or "").endswith("title")
    ]
    assert blocks._NAMED_XPATH(tree) == named
    assert blocks._HEADINGS_XPATH(tree) == headings
    assert [e.tag for e in headings] == ["p", "h2", "section", "b", "dt", "strong", "em"]
    assert extract._NAMED_XPATH(tree) == named
    for fragment in tree.iter("section", "article", "li"):
        within = [e for e in named if e is fragment or fragment in e.iterancestors()]
        assert extract._NAMED_XPATH(fragment) == within
