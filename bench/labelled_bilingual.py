"""A bilingual labelled set for stories across Chinese and English, built for newswatch.

Sixteen events on the beat, each reported in English and in Chinese (Simplified or
Traditional) by articles written separately, the way a wire and a Chinese portal write
them: different headlines, different order, background the other lacks, figures written
the local way (55亿美元 / $5.5 billion, 百分之十五 / 15%, 140家 / 140 entities). Some events
also have a repost (a Chinese portal carrying the Xinhua copy under its own headline) or a
wire copy. Written for this project; events and figures are illustrative, not reporting.

The hard negatives are built in: the same companies on another event months later (the H20
licence requirement, then the licences, then the revenue share), a different event of the
same week (the Entity List package and Beijing's mineral ban the next day; Malaysia's
Ascend plan and its retraction a day later; an antitrust finding and an anti-dumping probe
on the same days; rare-earth controls and the tariff threat that answered them), and
responses that recall the event they answer, with its date and figures, in a background
paragraph.

``python bench/labelled_bilingual.py`` inserts every article into an in-memory archive the
way a crawl does (entities through the catalogue, story keys, publication times) in three
orders and prints pairwise precision and recall of story assignment, overall and for the
pairs across languages, and the scores of the closest different-event pairs.
"""

from __future__ import annotations

import itertools
import random
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass(frozen=True)
class Report:
    event: str
    lang: str
    published_at: str
    title: str
    text: str
    source: str = "portal"


def _r(event: str, lang: str, when: str, title: str, *paragraphs: str, source: str = "") -> Report:
    return Report(event, lang, when, title, "\n".join(paragraphs), source or f"{lang}-{event}")


REPORTS = [
    # --- H20: the licence requirement, then the licences, then the revenue share -------
    _r(
        "h20-licence",
        "en",
        "2026-04-15T21:40:00Z",
        "Nvidia to take $5.5 billion charge as US curbs H20 sales to China",
        "Nvidia said on Wednesday it expects charges of about $5.5 billion in its first quarter "
        "after the U.S. government told it that exports of its H20 chip to China now need a "
        "licence.",
        "The company said officials informed it on April 9 that the requirement would stay in "
        "place indefinitely, citing the risk that the chips could be used in supercomputers.",
        "The H20 was designed to fit under earlier export limits and had become the company's "
        "best-selling data-centre part in China. Shares fell about 6% in after-hours trading.",
    ),
    _r(
        "h20-licence",
        "zh-Hans",
        "2026-04-16T06:10:00Z",
        "美方要求H20对华出口须获许可 英伟达预计计提55亿美元",
        "英伟达当地时间15日披露，美国政府此前通知公司，H20芯片出口至中国须申请许可证，"
        "该要求将无限期有效。",
        "公司在提交的文件中称，受此影响，第一财季将计提约55亿美元费用，涉及库存、采购承诺及相关准备金。"
        "据披露，美方于4月9日向英伟达发出通知。",
        "受消息影响，英伟达股价盘后一度下跌约6%。业内人士认为，国内云厂商将加快转向国产算力。",
    ),
    _r(
        "h20-licence",
        "zh-Hans",
        "2026-04-16T07:30:00Z",
        "英伟达H20对华出口受限，影响几何？",
        "新华社旧金山4月15日电 英伟达15日表示，美国政府通知该公司，向中国出口H20芯片须获得许可证，"
        "公司预计将因此计提约55亿美元费用。",
        "英伟达说，美方于4月9日作出上述通知，并表示该许可要求将无限期适用。",
        "分析人士指出，H20是英伟达为符合美国出口管制规定而专门面向中国市场推出的产品。",
        source="zh-repost",
    ),
    _r(
        "h20-resume",
        "en",
        "2026-07-15T02:20:00Z",
        "Nvidia says US will grant licences to resume H20 sales in China",
        "Nvidia said it is filing applications to sell its H20 chips in China again and that "
        "the U.S. government has assured it the licences will be granted.",
        "Chief executive Jensen Huang made the announcement during a visit to Beijing, where "
        "he is due to attend a supply-chain expo this week.",
        "The company had written down H20 inventory in the spring after the licence "
        "requirement took effect.",
    ),
    _r(
        "h20-resume",
        "zh-Hans",
        "2026-07-15T04:05:00Z",
        "黄仁勋：美方将批准H20对华销售许可",
        "英伟达首席执行官黄仁勋15日在北京表示，公司正在提交恢复向中国销售H20芯片的申请，"
        "美国政府已向公司保证将发放相关许可证。",
        "黄仁勋此次访华期间将出席链博会。他表示，中国市场规模巨大，英伟达希望继续服务中国客户。",
        "今年春季，美方对H20实施许可要求后，英伟达曾对相关库存进行减记。",
    ),
    _r(
        "h20-share",
        "en",
        "2026-08-11T14:00:00Z",
        "Nvidia, AMD to give US government 15% of China chip revenue",
        "Nvidia and AMD have agreed to pay the U.S. government 15% of the revenue from sales "
        "of certain AI chips in China, in exchange for export licences, a person familiar "
        "with the arrangement said.",
        "The deal covers Nvidia's H20 and AMD's MI308 accelerators, according to the person. "
        "The Commerce Department began issuing the licences last week.",
        "Export control experts questioned whether such a payment was lawful under U.S. law.",
    ),
    _r(
        "h20-share",
        "zh-Hant",
        "2026-08-12T02:30:00Z",
        "輝達、超微同意將對華晶片營收百分之十五繳交美國政府",
        "知情人士透露，輝達與超微已同意將部分人工智慧晶片在中國銷售營收的百分之十五交給美國政府，"
        "以換取出口許可。",
        "協議涵蓋輝達的H20與超微的MI308晶片，美國商務部已於上週開始核發相關許可證。",
        "多位出口管制專家質疑，這種以營收換許可的安排在美國法律上是否站得住腳。",
    ),
    # --- The Entity List package and Beijing's answer the next day ---------------------
    _r(
        "entity-list-140",
        "en",
        "2026-12-02T16:30:00Z",
        "US adds 140 entities to trade blacklist in new chip export curbs",
        "The Commerce Department on Wednesday added 140 entities, most of them Chinese chip "
        "equipment makers and fabs, to the Entity List, in its third package of curbs on "
        "China's chip industry in as many years.",
        "The Bureau of Industry and Security also restricted exports of 24 types of "
        "chipmaking equipment and 3 types of software tools, and put high-bandwidth memory "
        "under control for the first time.",
        "Naura and Piotech were among the companies listed, while several Huawei suppliers "
        "were spared. The rules take effect immediately, with some provisions on Dec. 31.",
    ),
    _r(
        "entity-list-140",
        "zh-Hans",
        "2026-12-03T01:15:00Z",
        "美商务部将140家中国实体列入实体清单 首次管制高带宽存储器",
        "美国商务部工业与安全局当地时间12月2日发布新规，将140家中国半导体企业及相关机构列入实体清单，"
        "其中包括北方华创等设备厂商。",
        "新规还对24种半导体制造设备和3种软件工具实施出口管制，并首次将高带宽存储器（HBM）纳入管制范围。",
        "这是美方三年来第三次大规模收紧对华芯片出口管制。部分条款将于12月31日生效。",
    ),
    _r(
        "entity-list-140",
        "zh-Hans",
        "2026-12-03T02:00:00Z",
        "重磅！140家中国实体被美列入“黑名单”",
        "（来源：新华社）",
        "美国商务部工业与安全局当地时间12月2日发布新规，将140家中国半导体企业及相关机构列入实体清单，"
        "其中包括北方华创等设备厂商。",
        "新规还对24种半导体制造设备和3种软件工具实施出口管制，并首次将高带宽存储器（HBM）纳入管制范围。",
        "责任编辑：刘洋",
        source="zh-repost",
    ),
    _r(
        "mineral-ban",
        "en",
        "2026-12-03T09:00:00Z",
        "China bans exports of gallium, germanium and antimony to the US",
        "China's Ministry of Commerce said on Thursday it would ban exports of gallium, "
        "germanium and antimony to the United States, and tighten reviews of graphite "
        "shipments, with immediate effect.",
        "The ministry said the items were dual-use and that the ban served national security. "
        "It came a day after Washington's latest curbs on China's chip sector.",
        "China produces most of the world's gallium, which is used in compound "
        "semiconductors and radar.",
    ),
    _r(
        "mineral-ban",
        "zh-Hans",
        "2026-12-03T05:30:00Z",
        "商务部：原则上不予许可镓、锗、锑、超硬材料对美出口",
        "商务部3日发布公告，决定加强相关两用物项对美国出口管制，禁止两用物项对美国军事用户或军事用途出口。",
        "公告明确，原则上不予许可镓、锗、锑、超硬材料相关两用物项对美国出口；对石墨两用物项对美出口实施更严格的最终用户和最终用途审查。",
        "商务部新闻发言人表示，此举是为维护国家安全和利益、履行防扩散等国际义务。"
        "12月2日，美方将140家中国实体列入实体清单，并对24种半导体制造设备实施管制。",
    ),
    # --- Ascend: the guidance, Malaysia's plan, the retraction -------------------------
    _r(
        "ascend-guidance",
        "en",
        "2026-05-13T22:10:00Z",
        "US says using Huawei's Ascend chips anywhere breaks its export rules",
        "The Commerce Department said on Wednesday that using Huawei's Ascend AI chips anywhere "
        "in the world could violate U.S. export controls, naming the Ascend 910B, 910C and "
        "910D.",
        "The Bureau of Industry and Security also said it would rescind the AI Diffusion Rule "
        "issued in January, which had been due to take effect on May 15.",
        "Companies were warned about the risk of their chips being used to train Chinese AI "
        "models.",
    ),
    _r(
        "ascend-guidance",
        "zh-Hans",
        "2026-05-14T03:20:00Z",
        "美方称全球任何地方使用昇腾芯片或违反出口管制",
        "美国商务部工业与安全局13日发布指南称，在全球任何地方使用华为昇腾芯片都可能违反美国出口管制规定，"
        "并点名昇腾910B、910C和910D。",
        "美方同时宣布将撤销原定于5月15日生效的人工智能扩散规则。",
        "外交部发言人回应称，美方滥用出口管制，中方将坚决维护中国企业正当权益。",
    ),
    _r(
        "malaysia-plan",
        "zh-Hant",
        "2026-05-19T10:00:00Z",
        "馬來西亞宣布以華為昇騰晶片打造主權AI基礎設施",
        "馬來西亞數位部副部長19日在吉隆坡宣布，該國將採用華為昇騰晶片建設主權人工智慧基礎設施，"
        "首期部署3000顆昇騰晶片。",
        "官員表示，項目將由當地企業負責營運，預計明年底前完成。",
        "外界指出，此舉正值美方警告各國使用昇騰晶片可能違反美國出口管制之際。",
    ),
    _r(
        "malaysia-plan",
        "en",
        "2026-05-19T12:30:00Z",
        "Malaysia to build sovereign AI system with Huawei Ascend chips",
        "Malaysia will build a sovereign artificial intelligence infrastructure using Huawei's "
        "Ascend processors, a deputy minister said in Kuala Lumpur on Tuesday.",
        "The first phase will deploy 3,000 Ascend chips and will be run by a local company, "
        "with completion targeted by the end of next year.",
        "The announcement came days after Washington warned that using the chips anywhere "
        "could breach U.S. export controls.",
    ),
    _r(
        "malaysia-retract",
        "en",
        "2026-05-20T08:45:00Z",
        "Malaysia walks back Huawei AI chip announcement",
        "Malaysia's government retracted on Wednesday a statement about a national AI project "
        "built on Huawei chips, saying the project was a private initiative.",
        "The digital ministry said it had not endorsed any vendor and that the deputy "
        "minister's remarks had been misunderstood.",
        "The reversal came a day after the May 19 announcement drew attention in Washington.",
    ),
    _r(
        "malaysia-retract",
        "zh-Hans",
        "2026-05-20T11:00:00Z",
        "马来西亚撤回采用华为AI芯片的表态",
        "马来西亚政府20日撤回此前有关以华为芯片建设国家人工智能项目的表态，称该项目属于企业自主行为。",
        "马来西亚数字部表示，政府并未为任何供应商背书，副部长的讲话被误读。",
        "5月19日，马来西亚官员宣布将采用华为昇腾芯片建设主权人工智能基础设施，首期部署3000颗芯片。",
    ),
    # --- An antitrust finding and an anti-dumping probe, the same days ----------------
    _r(
        "samr-nvidia",
        "en",
        "2026-09-15T08:00:00Z",
        "China says Nvidia violated anti-monopoly law over Mellanox deal",
        "China's State Administration for Market Regulation said on Tuesday a preliminary "
        "investigation found that Nvidia violated the country's anti-monopoly law in "
        "relation to its acquisition of Mellanox Technologies.",
        "The regulator said it would continue its investigation. The finding came as U.S. "
        "and Chinese officials met in Madrid for trade talks.",
        "Nvidia completed the $6.9 billion acquisition of the Israeli networking company in "
        "2020 with conditional approval from Beijing.",
    ),
    _r(
        "samr-nvidia",
        "zh-Hans",
        "2026-09-15T04:30:00Z",
        "市场监管总局：初步调查显示英伟达违反反垄断法",
        "市场监管总局15日发布消息称，经初步调查，英伟达公司违反《中华人民共和国反垄断法》"
        "及附加限制性条件批准英伟达收购迈络思科技股权案的有关规定。",
        "市场监管总局表示，将依法对英伟达公司实施进一步调查。",
        "英伟达于2020年完成对迈络思的收购，交易金额约69亿美元。",
    ),
    _r(
        "analog-probe",
        "en",
        "2026-09-13T12:00:00Z",
        "China opens anti-dumping probe into US analog chips",
        "China's Ministry of Commerce said on Sunday it had launched an anti-dumping "
        "investigation into certain analog chips imported from the United States, used in "
        "products from hearing aids to cars.",
        "The probe targets interface and gate-driver chips made on 40nm and older processes "
        "by companies including Texas Instruments and Analog Devices.",
        "The ministry said imports of the chips rose 37% between 2022 and 2024 while prices "
        "fell 52%, hurting domestic producers.",
    ),
    _r(
        "analog-probe",
        "zh-Hans",
        "2026-09-13T03:00:00Z",
        "商务部对原产于美国的进口相关模拟芯片发起反倾销调查",
        "商务部13日发布公告，决定即日起对原产于美国的进口相关模拟芯片进行反倾销立案调查。",
        "调查范围涉及采用40纳米及以上工艺制程的通用接口芯片和栅极驱动芯片，德州仪器等企业的产品在列。",
        "商务部表示，2022年至2024年，相关产品自美进口数量累计增长37%，进口价格累计下降52%，"
        "对国内产业造成了损害。",
    ),
    # --- Rare-earth controls and the tariff threat that answered them -----------------
    _r(
        "rare-earth-controls",
        "zh-Hans",
        "2026-10-09T03:00:00Z",
        "商务部公布稀土相关技术和物项出口管制措施",
        "商务部9日发布公告，对稀土开采、冶炼分离、金属冶炼、磁材制造等相关技术实施出口管制。",
        "另一份公告规定，境外制造的含有从中国出口的稀土物项且价值占比达到0.1%及以上的相关物项，"
        "出口须获得许可。",
        "商务部新闻发言人表示，相关措施旨在维护国家安全和利益，更好履行防扩散等国际义务。",
    ),
    _r(
        "rare-earth-controls",
        "en",
        "2026-10-09T10:20:00Z",
        "China tightens rare earth export controls, targets foreign chip users",
        "China's commerce ministry on Friday expanded its rare earth export controls to "
        "cover technologies for mining, smelting and magnet making.",
        "Foreign companies will need a licence to export products containing Chinese rare "
        "earths worth 0.1% or more of the product's value, the ministry said, a rule modelled "
        "on U.S. chip controls.",
        "Applications for exports used to develop advanced chips of 14nm and below will be "
        "reviewed case by case.",
    ),
    _r(
        "tariff-threat",
        "en",
        "2026-10-10T20:30:00Z",
        "Trump threatens 100% tariff on China and curbs on critical software",
        "President Donald Trump said on Saturday he would impose an additional 100% tariff on "
        "imports from China starting Nov. 1, along with export controls on any and all "
        "critical software.",
        "He called Beijing's new rare earth rules extraordinarily aggressive and said a "
        "planned meeting with Xi Jinping might not take place.",
        "U.S. stocks fell sharply, with chip shares among the biggest losers.",
    ),
    _r(
        "tariff-threat",
        "zh-Hans",
        "2026-10-11T01:00:00Z",
        "特朗普威胁11月1日起对华加征100%关税",
        "美国总统特朗普10日宣布，将从11月1日起对中国商品额外加征100%关税，并对所有关键软件实施出口管制。",
        "特朗普称，中方日前出台的稀土出口管制措施极具攻击性。10月9日，商务部公布了稀土相关技术出口管制措施，"
        "规定含中国稀土价值占比0.1%及以上的境外物项出口须获许可。",
        "受此影响，美股三大指数大幅下跌，芯片股跌幅居前。",
    ),
    # --- More Entity List, months apart -----------------------------------------------
    _r(
        "entity-list-80",
        "en",
        "2026-03-25T19:00:00Z",
        "US adds 80 companies including Inspur units to export blacklist",
        "The Commerce Department added 80 companies and organisations to the Entity List on "
        "Wednesday, more than 50 of them in China, including six subsidiaries of server maker "
        "Inspur Group.",
        "The department said the companies had supported the development of supercomputers "
        "and advanced AI for China's military.",
    ),
    _r(
        "entity-list-80",
        "zh-Hant",
        "2026-03-26T02:00:00Z",
        "美國將80家企業列入實體清單 浪潮集團六家子公司在列",
        "美國商務部25日宣布將80家企業和機構列入實體清單，其中逾50家來自中國，浪潮集團旗下6家子公司在列。",
        "美方聲稱，相關企業支持中國軍方發展超級電腦和先進人工智慧。",
        "中國外交部發言人表示，堅決反對美方將經貿問題政治化、泛安全化。",
    ),
    # --- The Dutch licence rule and ASML --------------------------------------------
    _r(
        "dutch-duv",
        "en",
        "2026-01-15T11:00:00Z",
        "Netherlands expands export licence rule for ASML chip tools",
        "The Dutch government said on Thursday that ASML will need a national export "
        "licence to ship its TWINSCAN NXT:1970i and NXT:1980i immersion DUV systems, "
        "bringing two more models under its control.",
        "The measure takes effect on April 1 and applies to shipments outside the European Union.",
        "ASML said it did not expect the change to affect its outlook for 2026.",
    ),
    _r(
        "dutch-duv",
        "zh-Hans",
        "2026-01-15T14:00:00Z",
        "荷兰扩大阿斯麦DUV光刻机出口许可范围",
        "荷兰政府15日宣布，阿斯麦出口NXT:1970i和NXT:1980i型浸润式DUV光刻机须事先申请许可证，"
        "新规将于4月1日生效。",
        "阿斯麦回应称，预计此次调整不会影响公司今年的财务预期。",
        "中方此前多次表示，反对将经贸问题政治化、工具化。",
    ),
    # --- Results of one chipmaker, and a tool maker's the next day --------------------
    _r(
        "smic-results",
        "en",
        "2026-08-07T10:30:00Z",
        "SMIC quarterly revenue rises 16% as domestic demand holds up",
        "Semiconductor Manufacturing International Corp said second-quarter revenue rose 16% "
        "from a year earlier to $2.21 billion, helped by Chinese customers shifting orders "
        "home.",
        "China's biggest contract chipmaker forecast third-quarter revenue to grow 5% to 7% "
        "from the previous quarter.",
    ),
    _r(
        "smic-results",
        "zh-Hans",
        "2026-08-07T12:00:00Z",
        "中芯国际二季度营收22.1亿美元 同比增长百分之十六",
        "中芯国际7日晚间发布财报，第二季度销售收入为22.1亿美元，同比增长百分之十六。",
        "公司预计第三季度收入环比增长5%至7%，毛利率介于18%至20%之间。",
    ),
    _r(
        "naura-results",
        "zh-Hans",
        "2026-08-08T09:00:00Z",
        "北方华创上半年营收同比增长近三成",
        "北方华创8日披露半年报，上半年实现营业收入161亿元，同比增长29%，净利润同比增长15%。",
        "公司表示，刻蚀、薄膜沉积等设备在国内晶圆厂的验证进展顺利。",
        "此前一日，中芯国际公布二季度营收同比增长16%。",
    ),
    _r(
        "naura-results",
        "en",
        "2026-08-08T11:30:00Z",
        "Chinese toolmaker Naura's first-half revenue jumps 29%",
        "Naura Technology Group, China's largest maker of chipmaking equipment, said revenue "
        "for the first half rose 29% to 16.1 billion yuan as domestic fabs bought more local "
        "tools.",
        "Net profit grew 15%, the company said in a filing on Saturday.",
    ),
]


def _events() -> list[str]:
    return list(dict.fromkeys(r.event for r in REPORTS))


def evaluate(order_seed: int | None = None) -> tuple[float, float, float, float, int]:
    """Insert every report into an in-memory archive (in publication order, or shuffled by
    ``order_seed``) the way a crawl does, and score the stories pairwise: precision and
    recall over all pairs, then over the pairs across languages; and stories made."""
    from alerts.matching import RuleSet
    from crawler.text.crosslang import family, story_keys
    from crawler.text.entities import load_catalogue
    from storage import Archive

    ruleset = RuleSet([], load_catalogue())
    archive = Archive.memory()
    reports = sorted(REPORTS, key=lambda r: r.published_at)
    if order_seed is not None:
        random.Random(order_seed).shuffle(reports)
    urls: dict[int, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n, report in enumerate(reports):
            urls[id(report)] = f"http://{report.source}.test/{n}"
            scan = ruleset.scan(title=report.title, text=report.text)
            archive.add_article(
                {
                    "url": urls[id(report)],
                    "canonical_url": urls[id(report)],
                    "source": report.source,
                    "title": report.title,
                    "text": report.text,
                    "lang": report.lang,
                    "published_at": report.published_at,
                    "fetched_at": report.published_at,
                    "entities": scan.entities,
                    "story_keys": story_keys(
                        report.title,
                        report.text,
                        mentions=scan.mentions,
                        published=report.published_at,
                    ),
                }
            )
    # Stories merge as reports meet: read where each article ended up.
    final = dict(archive.db.execute("SELECT url, story_id FROM articles").fetchall())
    assigned = {key: final[url] for key, url in urls.items()}
    archive.close()
    counts = {"all": [0, 0, 0], "cross": [0, 0, 0]}
    for a, b in itertools.combinations(REPORTS, 2):
        same_truth = a.event == b.event
        same_pred = assigned[id(a)] == assigned[id(b)]
        scopes = ["all"] + (["cross"] if family(a.lang) != family(b.lang) else [])
        for scope in scopes:
            tp_fp_fn = counts[scope]
            tp_fp_fn[0] += same_truth and same_pred
            tp_fp_fn[1] += same_pred and not same_truth
            tp_fp_fn[2] += same_truth and not same_pred
    (tp, fp, fn), (ctp, cfp, cfn) = counts["all"], counts["cross"]
    return (
        tp / max(1, tp + fp),
        tp / max(1, tp + fn),
        ctp / max(1, ctp + cfp),
        ctp / max(1, ctp + cfn),
        len(set(assigned.values())),
    )


def closest_pairs(limit: int = 8) -> list[tuple[float, float, str, str]]:
    """Cross-language pairs published within the story window of each other, by score:
    the lowest same-event ones and the highest different-event ones, with their scores
    (similarity, shared evidence)."""
    from datetime import datetime, timedelta

    from alerts.matching import RuleSet
    from crawler.text.crosslang import (
        KEY_WINDOW_DAYS,
        family,
        key_similarity,
        shared_weight,
        story_keys,
    )
    from crawler.text.entities import load_catalogue

    def when(report: Report) -> datetime:
        return datetime.fromisoformat(report.published_at.replace("Z", "+00:00"))

    ruleset = RuleSet([], load_catalogue())
    keys = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in REPORTS:
            scan = ruleset.scan(title=r.title, text=r.text)
            keys[id(r)] = story_keys(
                r.title, r.text, mentions=scan.mentions, published=r.published_at
            )
    rows = []
    for a, b in itertools.combinations(REPORTS, 2):
        if family(a.lang) == family(b.lang):
            continue
        if abs(when(a) - when(b)) > timedelta(days=KEY_WINDOW_DAYS):
            continue
        ka, kb = keys[id(a)], keys[id(b)]
        label = "same " if a.event == b.event else "other"
        rows.append(
            (key_similarity(ka, kb), shared_weight(ka, kb), label, f"{a.event} / {b.event}")
        )
    same = sorted(r for r in rows if r[2] == "same ")[:limit]
    other = sorted((r for r in rows if r[2] == "other"), reverse=True)[:limit]
    return same + other


def main() -> None:
    print(
        f"{len(REPORTS)} reports of {len(_events())} events "
        f"({sum(r.lang.startswith('zh') for r in REPORTS)} Chinese, "
        f"{sum(r.lang == 'en' for r in REPORTS)} English)"
    )
    for label, seed in (("publication order", None), ("shuffled (1)", 1), ("shuffled (2)", 2)):
        precision, recall, cross_p, cross_r, stories = evaluate(seed)
        print(
            f"{label:<18} precision {precision:.3f} recall {recall:.3f}  "
            f"across languages: precision {cross_p:.3f} recall {cross_r:.3f}  "
            f"stories {stories} (events {len(_events())})"
        )
    print("\nclosest cross-language pairs within the window (similarity, shared evidence):")
    for similarity, shared, label, pair in closest_pairs():
        print(f"  {label} {similarity:.3f} {shared:5.1f}  {pair}")


if __name__ == "__main__":
    main()
