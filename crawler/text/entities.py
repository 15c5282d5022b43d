"""The bilingual entity catalogue: companies, products and codes, agencies, lists and rules,
technologies and news outlets, each with its Simplified, Traditional and English names.

The catalogue ships as ``data/entities.toml`` (curated for newswatch; its header explains
the fields). A config's ``[[entities]]`` add entries or override them
(:func:`load_catalogue`). The catalogue is data only: finding its names in a text is the
job of the one Aho-Corasick automaton of :class:`alerts.matching.RuleSet`, which holds the
rules' terms and every alias below. I/O-free apart from reading the packaged file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple, Protocol

from crawler.text.fold import fold_text

__all__ = [
    "KINDS",
    "Alias",
    "Catalogue",
    "CatalogueError",
    "Context",
    "Entity",
    "EntityOverride",
    "Mention",
    "builtin_actions",
    "builtin_catalogue",
    "builtin_entities",
    "fold_name",
    "load_catalogue",
]

KINDS = (
    "company",
    "product",
    "agency",
    "list",
    "rule",
    "technology",
    "outlet",
    "person",
    "place",
    "other",
)
DEFAULT_WINDOW = 6


def fold_name(name: str) -> str:
    """The form names are compared in: NFKC, case and script folded, spaces collapsed."""
    return " ".join(fold_text(name).split())


@dataclass(frozen=True)
class Context:
    """What must surround an ambiguous alias for it to count: a ``before`` term ending, or
    an ``after`` term starting, within ``window`` characters."""

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    window: int = DEFAULT_WINDOW


@dataclass(frozen=True)
class Alias:
    """One name of an entity as it is written in a text."""

    text: str
    case_sensitive: bool = False
    context: Context | None = None  # set for an ambiguous alias

    @property
    def ambiguous(self) -> bool:
        return self.context is not None


@dataclass(frozen=True)
class Entity:
    name: str
    kind: str
    zh_hans: tuple[str, ...] = ()
    zh_hant: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    abbr: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    ambiguous: tuple[Alias, ...] = ()
    false_friends: tuple[str, ...] = ()
    case: tuple[str, ...] = ()
    origin: str = "catalogue"  # or "config" for an entry a config added or changed
    weight: float = 1.0  # for actions: how strongly it tells events apart

    @property
    def aliases(self) -> list[Alias]:
        """Every name to look for: the canonical name (unless it is ambiguous), the names in
        both scripts and English, abbreviations (case kept), codes, then ambiguous ones."""
        ambiguous = {fold_name(a.text) for a in self.ambiguous}
        case = set(self.case) | set(self.abbr)
        seen: set[tuple[str, bool]] = set()
        found: list[Alias] = []
        for text in (self.name, *self.zh_hans, *self.zh_hant, *self.en, *self.abbr, *self.codes):
            text = text.strip()
            if not text or (fold_name(text) in ambiguous and text not in case):
                continue
            alias = Alias(text, case_sensitive=text in case)
            key = (text if alias.case_sensitive else fold_name(text), alias.case_sensitive)
            if key not in seen:
                seen.add(key)
                found.append(alias)
        return found + list(self.ambiguous)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "zh_hans": list(self.zh_hans),
            "zh_hant": list(self.zh_hant),
            "en": list(self.en),
            "abbr": list(self.abbr),
            "codes": list(self.codes),
            "ambiguous": [a.text for a in self.ambiguous],
            "origin": self.origin,
        }


class Mention(NamedTuple):
    """An entity found in an article: which alias, in which field, where."""

    entity: str
    kind: str
    alias: str
    field: str
    start: int
    end: int
    weight: float = 1.0


class EntityOverride(Protocol):
    """A config's ``[[entities]]`` entry (:class:`crawler.config.EntityConfig`)."""

    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> list[str]: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def extend(self) -> bool: ...
    @property
    def case_sensitive(self) -> bool: ...


class CatalogueError(ValueError):
    """An ``[[entities]]`` entry that cannot be applied; ``index`` and ``key`` say where."""

    def __init__(self, index: int, key: str, message: str) -> None:
        self.index = index
        self.key = key
        super().__init__(message)


def _entity(raw: dict[str, Any]) -> Entity:
    ambiguous = tuple(
        Alias(
            a["alias"],
            case_sensitive=bool(a.get("case", False)),
            context=Context(
                tuple(a.get("before", ())), tuple(a.get("after", ())), a.get("window", 6)
            ),
        )
        for a in raw.get("ambiguous", ())
    )
    return Entity(
        name=raw["name"],
        kind=raw["kind"],
        zh_hans=tuple(raw.get("zh_hans", ())),
        zh_hant=tuple(raw.get("zh_hant", ())),
        en=tuple(raw.get("en", ())),
        abbr=tuple(raw.get("abbr", ())),
        codes=tuple(raw.get("codes", ())),
        ambiguous=ambiguous,
        false_friends=tuple(raw.get("false_friends", ())),
        case=tuple(raw.get("case", ())),
        weight=float(raw.get("weight", 1.0)),
    )


@lru_cache(maxsize=1)
def builtin_entities() -> tuple[Entity, ...]:
    """The catalogue shipped with newswatch (``crawler/text/data/entities.toml``)."""
    text = resources.files("crawler.text").joinpath("data/entities.toml").read_text("utf-8")
    return tuple(_entity(raw) for raw in tomllib.loads(text)["entity"])


@dataclass
class Catalogue:
    """Entities with lookups by any of their names (folded)."""

    entities: tuple[Entity, ...]
    _by_alias: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for index, entity in enumerate(self.entities):
            for text in (entity.name, *(a.text for a in entity.aliases)):
                self._by_alias.setdefault(fold_name(text), index)

    def __len__(self) -> int:
        return len(self.entities)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entities)

    def get(self, name: str) -> Entity | None:
        """The entity ``name`` is the canonical name or any alias of (folded)."""
        index = self._by_alias.get(fold_name(name))
        return None if index is None else self.entities[index]

    def search(self, query: str | None = None) -> list[Entity]:
        """Entities a name of which contains ``query`` (folded), or whose kind it is; all
        when ``query`` is empty. Exact name matches first."""
        if not query:
            return list(self.entities)
        wanted = fold_name(query)
        exact = self.get(query)
        found = [exact] if exact else []
        for entity in self.entities:
            if entity is exact:
                continue
            names = (entity.name, *(a.text for a in entity.aliases), *entity.zh_hant)
            if entity.kind == wanted or any(wanted in fold_name(n) for n in names):
                found.append(entity)
        return found

    def outlet(self, credited: str) -> str | None:
        """The canonical name of the news outlet ``credited`` names (新华社 → Xinhua)."""
        entity = self.get(credited)
        return entity.name if entity is not None and entity.kind == "outlet" else None


@lru_cache(maxsize=1)
def builtin_actions() -> tuple[Entity, ...]:
    """What happened, in both languages (``data/actions.toml``: retract/撤回, ban/禁止,
    anti-dumping/反倾销 ...), as entities of kind ``action``: found by the same automaton,
    used only to tell one event from another (:mod:`crawler.text.crosslang`)."""
    text = resources.files("crawler.text").joinpath("data/actions.toml").read_text("utf-8")
    return tuple(_entity({**raw, "kind": "action"}) for raw in tomllib.loads(text)["action"])


@lru_cache(maxsize=1)
def builtin_catalogue() -> Catalogue:
    """The shipped catalogue with no config applied (built once)."""
    return Catalogue(builtin_entities())


def _check_unique_aliases(entities: Sequence[Entity], changed: dict[str, int]) -> None:
    owner: dict[tuple[str, bool], str] = {}
    for entity in entities:
        for alias in entity.aliases:
            key = (
                alias.text if alias.case_sensitive else fold_name(alias.text),
                alias.case_sensitive,
            )
            other = owner.get(key)
            if other is not None and other != entity.name:
                index = changed.get(entity.name, changed.get(other, -1))
                raise CatalogueError(
                    index,
                    "aliases",
                    f"expected aliases of one entity only, {alias.text!r} is also an alias "
                    f"of {other!r}",
                )
            owner[key] = entity.name


def load_catalogue(
    overrides: Sequence[EntityOverride] = (), *, base: Iterable[Entity] | None = None
) -> Catalogue:
    """The built-in catalogue (or ``base``) with a config's ``[[entities]]`` applied: an
    entry whose ``name`` is a name of an existing entity changes it (``aliases`` replace
    its names, or with ``extend`` are added to them; ``kind`` replaces its kind), any other
    entry is added. Raises :class:`CatalogueError` when an alias would belong to two."""
    if not overrides and base is None:
        return builtin_catalogue()
    entities = list(builtin_entities() if base is None else base)
    if not overrides:
        return Catalogue(tuple(entities))
    changed: dict[str, int] = {}
    for index, override in enumerate(overrides):
        current = Catalogue(tuple(entities)).get(override.name)
        case = tuple(override.aliases) if override.case_sensitive else ()
        if current is None:
            entities.append(
                Entity(
                    name=override.name,
                    kind=override.kind or "other",
                    en=tuple(override.aliases),
                    case=case,
                    origin="config",
                )
            )
            changed[override.name] = index
            continue
        if override.extend:
            updated = replace(
                current,
                en=current.en + tuple(override.aliases),
                case=current.case + case,
                kind=override.kind or current.kind,
                origin="config",
            )
        else:
            updated = Entity(
                name=current.name,
                kind=override.kind or current.kind,
                en=tuple(override.aliases),
                case=case,
                origin="config",
            )
        entities[entities.index(current)] = updated
        changed[current.name] = index
    _check_unique_aliases(entities, changed)
    return Catalogue(tuple(entities))
