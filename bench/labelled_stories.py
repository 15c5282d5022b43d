"""A labelled set for story clustering, built for newswatch.

Stories: the demo portal's 14 articles plus 8 more written here on the same topics (export
controls, H20, Ascend, the Entity List) so that distinct articles share vocabulary. Each
story gets copies the way syndication makes them: a new headline with a wrapper and an
editor's note, light edits (a paragraph dropped, words changed, punctuation changed), the
other Chinese script, and for English a wire-style dateline. Every copy is labelled with
its story; every pair of different stories is a negative.

``python bench/labelled_stories.py`` prints pairwise precision and recall of story
assignment through the archive, and of the signature threshold alone at several values.
"""

from __future__ import annotations

import itertools
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.demo.portal import load_articles  # noqa: E402

EXTRA = [
    (
        "zh-Hans",
        "英伟达H20对华出货恢复在即",
        [
            "知情人士称，美国政府已开始向英伟达发放H20芯片对华出口许可证，首批货物预计下月交付。",
            "多家云计算企业表示，将根据许可情况调整采购计划，部分订单此前已被搁置。",
            "分析人士认为，许可证的发放并不意味着管制放松，后续仍可能附加新的条件。",
        ],
    ),
    (
        "zh-Hans",
        "H20芯片需求下滑 国内厂商加速替代",
        [
            "受出口管制不确定性影响，国内客户对H20芯片的需求明显下滑，部分订单转向国产加速卡。",
            "一家大模型公司的技术负责人表示，团队已完成主要模型在国产硬件上的适配。",
            "业内预计，今年国产加速卡在推理场景中的份额将显著上升。",
        ],
    ),
    (
        "zh-Hans",
        "美国商务部更新实体清单 涉及多家芯片设计企业",
        [
            "美国商务部工业与安全局发布公告，将若干芯片设计企业列入实体清单，公告即日生效。",
            "被列入清单的企业表示，公司将通过法律途径维护自身权益，日常经营暂未受到重大影响。",
            "律师提醒，相关供应商应当核查与上述企业的交易，避免违反出口管理条例。",
        ],
    ),
    (
        "zh-Hans",
        "昇腾生态大会在深圳举行",
        [
            "以昇腾为主题的生态大会在深圳举行，数百家合作伙伴展示了基于昇腾的行业解决方案。",
            "华为表示，将继续开放软件栈和开发工具，降低开发者迁移模型的成本。",
            "与会企业认为，国产算力生态正在从能用走向好用。",
        ],
    ),
    (
        "zh-Hans",
        "商务部回应美方出口管制新规",
        [
            "商务部新闻发言人在例行发布会上表示，美方不断泛化国家安全概念，滥用出口管制措施。",
            "发言人指出，中方将密切关注事态发展，采取必要措施坚决维护中国企业的正当权益。",
            "发言人还表示，中方愿与各方加强沟通，共同维护全球产业链供应链稳定。",
        ],
    ),
    (
        "zh-Hant",
        "昇騰晶片進入更多資料中心",
        [
            "據供應鏈消息，採用昇騰晶片的伺服器正進入更多大型資料中心，出貨量較去年明顯增加。",
            "業者表示，軟體相容性仍是客戶最關心的問題，原廠已派駐工程團隊協助遷移。",
            "分析師預估，國產晶片在訓練市場的占比仍低，但推論市場成長快速。",
        ],
    ),
    (
        "en",
        "Entity List additions hit chip design firms",
        [
            "The Commerce Department added several Chinese chip design companies to the "
            "Entity List, "
            "citing their support for advanced computing programmes.",
            "The companies said they would seek to have the decision reversed and that operations "
            "continued normally for now.",
            "Compliance lawyers urged suppliers to review open orders with the listed firms.",
        ],
    ),
    (
        "en",
        "Nvidia resumes H20 shipments after licences granted",
        [
            "Nvidia has begun shipping H20 accelerators to customers in China after receiving "
            "export "
            "licences, according to people familiar with the matter.",
            "Cloud providers had put some purchases on hold while the applications were pending.",
            "Analysts said the licences did not signal a broader easing of export controls.",
        ],
    ),
]

WRAPPERS_ZH = [
    ("（本文来源：证券时报网）", "编者按：本文转载自合作媒体，仅供参考。", "责任编辑：王明"),
    ("【环球网科技综合报道】", "", "（完）"),
]
WRAPPERS_HANT = [("（中央社記者報導）", "編者按：本文經授權轉載。", "（編輯：林志明）")]


@dataclass(frozen=True)
class Item:
    story: int
    kind: str
    title: str
    text: str


def _s2t(text: str) -> str:
    from opencc import OpenCC

    return OpenCC("s2t").convert(text)


def _t2s(text: str) -> str:
    from opencc import OpenCC

    return OpenCC("t2s").convert(text)


def _light_edit(paragraphs: list[str], rng: random.Random) -> list[str]:
    edited = list(paragraphs)
    if len(edited) > 3:
        edited.pop(rng.randrange(1, len(edited)))
    edited = [p.replace("，", ",").replace("表示", "称") for p in edited]
    return edited


def labelled_items(seed: int = 7) -> list[Item]:
    rng = random.Random(seed)
    bases = [(a.lang, a.title, list(a.paragraphs)) for a in load_articles()]
    bases += [(lang, title, list(paragraphs)) for lang, title, paragraphs in EXTRA]
    items: list[Item] = []
    for story, (lang, title, paragraphs) in enumerate(bases):
        items.append(Item(story, "original", title, "\n".join(paragraphs)))
        if lang == "en":
            items.append(
                Item(
                    story,
                    "wire copy",
                    f"UPDATE 1-{title}",
                    "WASHINGTON (Wire) - " + "\n".join(paragraphs[:-1] or paragraphs),
                )
            )
            items.append(
                Item(
                    story,
                    "light edit",
                    title.upper(),
                    "\n".join(_light_edit(paragraphs, rng))
                    + "\nReporting by A. Writer; editing by B. Editor",
                )
            )
            continue
        wrappers = WRAPPERS_HANT if lang == "zh-Hant" else WRAPPERS_ZH
        head, note, tail = rng.choice(wrappers)
        items.append(
            Item(
                story,
                "syndicated",
                f"独家｜{title[:8]}：业内怎么看",
                "\n".join(x for x in [head, note, *paragraphs, tail] if x),
            )
        )
        items.append(Item(story, "light edit", title, "\n".join(_light_edit(paragraphs, rng))))
        other = _s2t if lang == "zh-Hans" else _t2s
        items.append(Item(story, "other script", other(title), other("\n".join(paragraphs))))
    return items


def evaluate_archive(items: list[Item], seed: int = 11) -> tuple[float, float, int]:
    """Insert every item (originals first, copies shuffled) into an in-memory archive and
    score the resulting stories pairwise: precision, recall, stories made."""
    from storage import Archive

    archive = Archive.memory()
    order = [i for i in items if i.kind == "original"]
    copies = [i for i in items if i.kind != "original"]
    random.Random(seed).shuffle(copies)
    assigned: dict[int, int] = {}
    for n, item in enumerate(order + copies):
        stored = archive.add_article(
            {
                "url": f"http://s{n}.test/a",
                "canonical_url": f"http://s{n}.test/a",
                "source": f"s{n % 5}",
                "title": item.title,
                "text": item.text,
            }
        )
        assigned[id(item)] = stored.story_id
    tp = fp = fn = 0
    for a, b in itertools.combinations(items, 2):
        same_truth = a.story == b.story
        same_pred = assigned[id(a)] == assigned[id(b)]
        tp += same_truth and same_pred
        fp += same_pred and not same_truth
        fn += same_truth and not same_pred
    stories = len(set(assigned.values()))
    archive.close()
    return tp / max(1, tp + fp), tp / max(1, tp + fn), stories


def evaluate_threshold(items: list[Item], threshold: float) -> tuple[float, float]:
    from crawler.text.dedup import signature, similarity

    sigs = {id(i): signature(i.text) for i in items}
    tp = fp = fn = 0
    for a, b in itertools.combinations(items, 2):
        sa, sb = sigs[id(a)], sigs[id(b)]
        pred = sa is not None and sb is not None and similarity(sa, sb) >= threshold
        truth = a.story == b.story
        tp += pred and truth
        fp += pred and not truth
        fn += truth and not pred
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def main() -> None:
    items = labelled_items()
    stories = len({i.story for i in items})
    print(
        f"labelled set: {len(items)} articles in {stories} stories "
        f"({len(list(itertools.combinations(items, 2)))} pairs)"
    )
    print("signature similarity alone:")
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        precision, recall = evaluate_threshold(items, threshold)
        print(f"  threshold {threshold:.1f}: precision {precision:.3f} recall {recall:.3f}")
    precision, recall, made = evaluate_archive(items)
    print(
        f"archive story assignment (fingerprint, LSH bands, threshold): precision "
        f"{precision:.3f} recall {recall:.3f}, {made} stories for {stories}"
    )


if __name__ == "__main__":
    main()
