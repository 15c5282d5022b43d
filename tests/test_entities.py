"""The entity catalogue (issue 16): names in both languages and scripts, false friends,
rules on entities and origins, [[entities]] in the config, `newswatch entities`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from alerts import RuleSet
from crawler.config import ConfigError, parse_config
from crawler.text.entities import KINDS, builtin_entities, fold_name, load_catalogue
from tests.conftest import run_cli

CATALOGUE = load_catalogue()
SCANNER = RuleSet([], CATALOGUE)


def mentioned(text: str, title: str = "") -> list[str]:
    return SCANNER.scan(title=title, text=text).entities


def rules(text: str) -> RuleSet:
    config = parse_config(text)
    return RuleSet(config.rules, config.catalogue)


def fired(ruleset: RuleSet, text: str, **kw: str | None) -> list[str]:
    return [m.rule for m in ruleset.match(title="", text=text, **kw)]


def test_catalogue_has_every_entry_in_both_scripts_and_english() -> None:
    entities = builtin_entities()
    assert 100 <= len(entities) <= 200
    for entity in entities:
        assert entity.kind in KINDS, entity.name
        assert entity.zh_hans and entity.zh_hant and entity.en, entity.name
    kinds = Counter(e.kind for e in entities)
    for kind in ("company", "product", "agency", "list", "rule", "technology", "outlet"):
        assert kinds[kind] >= 5, kind
    names = [fold_name(e.name) for e in entities]
    assert len(names) == len(set(names))


def test_no_alias_belongs_to_two_entities() -> None:
    owner: dict[str, str] = {}
    for entity in builtin_entities():
        for alias in entity.aliases:
            key = alias.text if alias.case_sensitive else fold_name(alias.text)
            assert owner.setdefault(key, entity.name) == entity.name, alias.text


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("昇腾", "Huawei Ascend"),
        ("昇騰", "Huawei Ascend"),
        ("英伟达", "Nvidia"),
        ("輝達", "Nvidia"),
        ("实体清单", "Entity List"),
        ("實體清單", "Entity List"),
        ("工业与安全局", "BIS"),
        ("Bureau of Industry and Security", "BIS"),
        ("中芯国际", "SMIC"),
        ("长江存储", "YMTC"),
        ("海光信息", "Hygon"),
        ("Cambricon", "Cambricon"),
        ("新華社", "Xinhua"),
        ("路透社", "Reuters"),
        ("彭博", "Bloomberg"),
    ],
)
def test_names_in_any_language_and_script_resolve(name: str, canonical: str) -> None:
    entity = CATALOGUE.get(name)
    assert entity is not None and entity.name == canonical


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Huawei's Ascend 910C is in short supply.", "Huawei Ascend"),
        ("Ascend chips are now in more data centres.", "Huawei Ascend"),
        ("华为昇腾芯片出货量增加", "Huawei Ascend"),
        ("昇騰叢集擴容完成", "Huawei Ascend"),
        ("寒武纪发布新一代云端芯片", "Cambricon"),
        ("寒武纪营收同比大增", "Cambricon"),
        ("中科曙光被列入实体清单", "Sugon"),
        ("曙光公司表示将提起申诉", "Sugon"),
        ("Nvidia's H20 is the chip in question", "Nvidia H20"),
        ("英伟达Ｈ２０芯片", "Nvidia H20"),
        ("美国商务部发布新规", "US Department of Commerce"),
        ("商务部新闻发言人表示", "MOFCOM"),
        ("The Commerce Department's BIS said on Monday", "BIS"),
    ],
)
def test_entities_found(text: str, entity: str) -> None:
    assert entity in mentioned(text)


@pytest.mark.parametrize(
    ("text", "not_entity"),
    [
        # 寒武纪 is also the Cambrian period, 曙光 the dawn
        ("科学家在寒武纪地层中发现了新的化石", "Cambricon"),
        ("寒武纪生命大爆发是地球生命史上的重要事件", "Cambricon"),
        ("经过多年攻关，国产芯片终于迎来了曙光", "Sugon"),
        ("天边露出一线曙光", "Sugon"),
        # ascend the verb, and Ascend opening a sentence or a headline in title case
        ("Prices ascend as supply tightens.", "Huawei Ascend"),
        ("Ascend slowly, the guide said, because the air is thin.", "Huawei Ascend"),
        ("Chip Stocks Ascend After Nvidia Results", "Huawei Ascend"),
        # other false friends
        ("高通量测序仪出口增长", "Qualcomm"),
        ("三星堆遗址出土新文物", "Samsung Electronics"),
        ("这让人联想到上一轮管制", "Lenovo"),
        ("the paper said on Monday", "The Paper"),
        # an alias inside a longer one of another entity of the same kind
        ("美国商务部发布新规", "MOFCOM"),
        ("MOFCOM added them to its unreliable entity list", "Entity List"),
    ],
)
def test_false_friends_are_not_entities(text: str, not_entity: str) -> None:
    assert not_entity not in mentioned(text)


def test_an_ambiguous_alias_counts_where_the_entity_is_named_plainly() -> None:
    text = "寒武纪科技今日公告。\n公司表示，寒武纪将继续投入研发。"
    scan = SCANNER.scan(title="", text=text)
    assert [m.alias for m in scan.mentions if m.entity == "Cambricon"] == ["寒武纪科技", "寒武纪"]


ASCEND_RULES = """
[[rules]]
name = "ascend"
entities = ["昇腾"]

[[rules]]
name = "ascend-keyword"
keywords = ["昇腾"]

[[rules]]
name = "h20"
entities = ["H20"]
"""


def test_rule_on_an_entity_fires_on_any_alias_and_names_it() -> None:
    ruleset = rules(ASCEND_RULES)
    assert fired(ruleset, "Chinese clouds test clusters of Ascend 910C parts.") == ["ascend"]
    assert fired(ruleset, "昇騰晶片進入更多資料中心") == ["ascend", "ascend-keyword"]
    assert fired(ruleset, "Prices ascend as supply tightens.") == []
    assert fired(ruleset, "半导体板块情绪升腾") == []
    assert fired(ruleset, "英伟达H20芯片") == ["h20"]
    assert fired(ruleset, "H200 shipments") == []
    match = ruleset.match(title="", text="Huawei's Ascend 910C chips")[0]
    span = match.to_dict()["spans"][0]
    assert span == {
        "term": "Ascend 910C",
        "field": "text",
        "start": 9,
        "end": 20,
        "entity": "Huawei Ascend",
        "alias": "Ascend 910C",
    }


def test_rule_filters_on_the_credited_origin() -> None:
    ruleset = rules('[[rules]]\nname = "x"\nkeywords = ["出口管制"]\norigins = ["新华社"]\n')
    assert fired(ruleset, "出口管制新规", origin="Xinhua") == ["x"]
    assert fired(ruleset, "出口管制新规", origin="Reuters") == []
    assert fired(ruleset, "出口管制新规") == []


def test_config_entities_add_extend_and_replace() -> None:
    config = parse_config(
        """
[[entities]]
name = "黄仁勋"
aliases = ["Jensen Huang", "黃仁勳"]
kind = "person"

[[entities]]
name = "英伟达"
aliases = ["老黄家"]
extend = true

[[entities]]
name = "Hygon"
aliases = ["海光信息", "Hygon"]

[[rules]]
name = "people"
entities = ["Jensen Huang", "Nvidia"]
"""
    )
    catalogue = config.catalogue
    assert catalogue.get("黃仁勳").name == "黄仁勋"  # type: ignore[union-attr]
    nvidia = catalogue.get("老黄家")
    assert nvidia is not None and nvidia.name == "Nvidia" and catalogue.get("輝達") is nvidia
    assert catalogue.get("海光DCU").name == "Hygon DCU"  # type: ignore[union-attr]
    hygon = catalogue.get("Hygon")
    assert hygon is not None and hygon.ambiguous == () and hygon.origin == "config"
    ruleset = RuleSet(config.rules, catalogue)
    assert fired(ruleset, "黃仁勳訪問北京") == ["people"]
    assert fired(ruleset, "老黄家又出新卡") == ["people"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[entities]]\nname = "x"\naliases = ["英伟达"]\n', "entities[0].aliases"),
        ('[[entities]]\nname = "x"\nkind = "planet"\n', "entities[0].kind"),
        ('[[entities]]\nname = "x"\nalias = ["y"]\n', "entities[0].alias"),
        ('[[rules]]\nname = "r"\nentities = ["no such thing"]\n', "rules[0].entities"),
        ('[[sources]]\nname = "s"\nfeeds = ["https://x.test/f"]\ntimezone = "Mars"\n', None),
    ],
)
def test_entity_config_errors_name_the_key(text: str, key: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path="n.toml")
    assert caught.value.path == "n.toml"
    assert caught.value.key == (key or "sources[0].timezone")


def test_entities_command_lists_and_searches(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    config = write_config('[[entities]]\nname = "黄仁勋"\naliases = ["Jensen Huang"]\n')
    found = run_cli("--config", str(config), "entities", "昇騰")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("Huawei Ascend") and "Ascend 910C" in found.stdout
    outlets = run_cli("--config", str(config), "entities", "--kind", "outlet", "--json")
    assert '"name": "Xinhua"' in outlets.stdout and '"kind": "company"' not in outlets.stdout
    added = run_cli("--config", str(config), "entities", "jensen")
    assert added.stdout.startswith("黄仁勋")
    missing = run_cli("--config", str(config), "entities", "nothing-like-this")
    assert missing.returncode == 1
    bad = write_config('[[entities]]\nname = "x"\naliases = ["英伟达"]\n', "bad.toml")
    failed = run_cli("--config", str(bad), "entities")
    assert failed.returncode == 2 and "entities[0].aliases" in failed.stderr
