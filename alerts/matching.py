"""Alert rules compiled into one multi-pattern engine, matched against an article.

Semantics (README "Alert rules" has examples):

- Matching is on the folded text (:func:`crawler.text.fold.fold_char`): width-insensitive
  (Ｈ２０ is H20), Latin case-insensitive unless the rule says ``case_sensitive``, and
  script-insensitive (昇騰 is 昇腾) without merging distinct characters (升腾 is not 昇腾).
- A term that starts or ends with a Latin letter or digit must sit at a token boundary
  there: H20 matches ``英伟达H20芯片``, ``H20,`` and ``(H20)``, not ``H200``, ``H20E`` or
  ``SH20``. Han characters are boundaries (``\\b`` would treat them as letters).
- A rule fires when each condition it has holds: ``keywords`` (any), ``entities`` (any
  name of any of the entities, in either language and script), ``all`` (every), ``near``
  (each pair within N characters), ``regex`` (any); and no ``exclude`` term occurs.
  ``fields``, ``sources``, ``languages`` (``zh`` covers ``zh-Hans`` and ``zh-Hant``) and
  ``origins`` (the outlet the article credits) restrict where and what it reads.
- Entities come from the catalogue (:mod:`crawler.text.entities`). An alias found inside a
  longer alias of another entity (商务部 inside 美国商务部) or inside one of the entity's
  false friends (高通 inside 高通量) does not count; an ambiguous alias (寒武纪, 曙光,
  "Ascend") counts only next to one of its context terms or when the article also names
  the entity unambiguously; case-sensitive aliases keep their Latin case.

All rules' terms and every alias of the catalogue go into one Aho-Corasick automaton
(ahocorasick-rs), built once per config: the cost per article grows with the text and what
it mentions, not with the number of rules or the size of the catalogue. I/O-free.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick_rs

from alerts.hits import WORD_CHARS, Hit, fold_term, fold_with_offsets, same_case
from alerts.mentions import find_mentions
from crawler.config import RuleConfig
from crawler.text.entities import (
    Alias,
    Catalogue,
    Entity,
    Mention,
    builtin_actions,
    fold_name,
    load_catalogue,
)

__all__ = ["Hit", "RuleMatch", "RuleSet", "Scan", "fold_with_offsets"]

SNIPPET_RADIUS = 40
MARK_OPEN, MARK_CLOSE = "【", "】"


def _evidence_order(hit: Hit) -> tuple[bool, int]:
    """Title hits first, then by position."""
    return (hit.field != "title", hit.start)


@dataclass(slots=True)
class RuleMatch:
    """A rule that fired: its hits (evidence first from the title), with the matched text,
    spans and snippet worked out when asked for (most matches are only counted)."""

    rule: str
    channels: list[str] | None
    mode: str
    evidence: list[Hit] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def hits(self) -> list[Hit]:
        """The hits, each named by the text it matched as written in the article."""
        return [h._replace(term=self.fields[h.field][h.start : h.end]) for h in self.evidence]

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(hit.term for hit in self.hits))

    @property
    def snippet(self) -> str:
        hits = self.hits
        return _snippet(self.fields, hits[0]) if hits else ""

    def to_dict(self) -> dict[str, Any]:
        hits = self.hits
        return {
            "rule": self.rule,
            "terms": list(dict.fromkeys(hit.term for hit in hits)),
            "spans": [_span(h) for h in hits],
            "snippet": _snippet(self.fields, hits[0]) if hits else "",
        }


def _span(hit: Hit) -> dict[str, Any]:
    span: dict[str, Any] = {"term": hit.term, "field": hit.field, "start": hit.start}
    span["end"] = hit.end
    if hit.entity is not None:
        span["entity"] = hit.entity
        span["alias"] = hit.alias
    return span


@dataclass(slots=True)
class Scan:
    """One pass over an article: the rules that fire and the entities it mentions."""

    matches: list[RuleMatch]
    mentions: list[Mention]

    @property
    def entities(self) -> list[str]:
        """The entities mentioned (not the actions), title first, then in order."""
        ordered = sorted(self.mentions, key=lambda m: (m.field != "title", m.start))
        return list(dict.fromkeys(m.entity for m in ordered if m.kind != "action"))


@dataclass
class _Rule:
    """A rule with its terms folded once."""

    config: RuleConfig
    regexes: list[re.Pattern[str]]
    keywords: list[str] = field(default_factory=list)
    all: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    near: list[tuple[str, str, int]] = field(default_factory=list)
    terms: list[tuple[str, str]] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    origins: frozenset[str] = frozenset()

    @classmethod
    def compile(cls, config: RuleConfig, catalogue: Catalogue | None = None) -> _Rule:
        flags = 0 if config.case_sensitive else re.IGNORECASE
        rule = cls(config, [re.compile(p, flags) for p in config.regex])
        if config.entities or config.origins:
            catalogue = catalogue if catalogue is not None else load_catalogue()
            for name in config.entities:
                entity = catalogue.get(name)
                if entity is None:
                    raise ValueError(f"rule {config.name!r}: no entity named {name!r}")
                rule.entities.append(entity.name)
            rule.origins = frozenset(
                fold_name(catalogue.outlet(name) or name) for name in config.origins
            )
        rule.keywords = [fold_term(t) for t in config.keywords]
        rule.all = [fold_term(t) for t in config.all]
        rule.exclude = [fold_term(t) for t in config.exclude]
        rule.near = [(fold_term(n.terms[0]), fold_term(n.terms[1]), n.within) for n in config.near]
        originals = [
            *config.keywords,
            *config.all,
            *config.exclude,
            *(t for n in config.near for t in n.terms),
        ]
        rule.terms = list(dict.fromkeys((fold_term(t), t) for t in originals if fold_term(t)))
        return rule


class RuleSet:
    """The compiled rules of a config, and the entity catalogue they and the archive's
    stories read (``catalogue``; rules naming ``entities`` get the built-in one when none
    is given). With a catalogue, the automaton also finds the actions of
    :func:`~crawler.text.entities.builtin_actions` (or ``actions``), for stories."""

    def __init__(
        self,
        rules: Sequence[RuleConfig],
        catalogue: Catalogue | None = None,
        *,
        actions: Sequence[Entity] | None = None,
    ) -> None:
        if catalogue is None and any(r.entities or r.origins for r in rules):
            catalogue = load_catalogue()
        self.catalogue = catalogue
        if actions is None:
            actions = builtin_actions() if catalogue is not None else ()
        self.rules = [_Rule.compile(rule, catalogue) for rule in rules]
        # folded term -> the rules that use it (in any role)
        owners: dict[str, dict[int, None]] = defaultdict(dict)
        for index, rule in enumerate(self.rules):
            for folded, _ in rule.terms:
                owners[folded][index] = None
        self._regex_rules = [i for i, rule in enumerate(self.rules) if rule.regexes]
        # entity name -> the rules that name it
        entity_owners: dict[str, dict[int, None]] = defaultdict(dict)
        for index, rule in enumerate(self.rules):
            for name in rule.entities:
                entity_owners[name][index] = None
        self._entity_owners = {name: tuple(using) for name, using in entity_owners.items()}
        # A keywords-only rule (the common case) fires on any hit of its terms in the fields
        # it reads, so its hits are its evidence: field -> folded term -> such rules. Every
        # other rule that owns a term is evaluated in full when the term is found.
        simple = {
            i
            for i, rule in enumerate(self.rules)
            if rule.keywords
            and not (rule.all or rule.exclude or rule.near or rule.regexes)
            and not (rule.config.case_sensitive or rule.config.sources or rule.config.languages)
            and not (rule.entities or rule.origins)
        }
        self._simple_owners: dict[str, dict[str, tuple[int, ...]]] = {"title": {}, "text": {}}
        self._other_owners: dict[str, tuple[int, ...]] = {}
        for folded, using in owners.items():
            for name, by_term in self._simple_owners.items():
                reading = tuple(
                    i for i in using if i in simple and name in self.rules[i].config.fields
                )
                if reading:
                    by_term[folded] = reading
            others = tuple(i for i in using if i not in simple)
            if others:
                self._other_owners[folded] = others
        patterns = dict.fromkeys(owners)
        # folded alias -> (entity, alias) pairs; false friends and context terms are
        # patterns of the same automaton, found in the same pass.
        self._alias_roles: dict[str, list[tuple[int, Alias]]] = defaultdict(list)
        self._false_friends: set[str] = set()
        self._entity_kinds: list[tuple[str, str]] = []
        self._entity_weights: list[float] = []
        for index, entity in enumerate([*(catalogue or ()), *actions]):
            self._entity_kinds.append((entity.name, entity.kind))
            self._entity_weights.append(entity.weight)
            for alias in entity.aliases:
                folded = fold_term(alias.text)
                if folded:
                    self._alias_roles[folded].append((index, alias))
                    patterns[folded] = None
                if alias.context is not None:
                    for term in (*alias.context.before, *alias.context.after):
                        patterns.setdefault(fold_term(term), None)
            for phrase in entity.false_friends:
                self._false_friends.add(fold_term(phrase))
                patterns.setdefault(fold_term(phrase), None)
        patterns.pop("", None)
        self._patterns = list(patterns)
        self._heads = [(r.config.name, r.config.channels, r.config.mode) for r in self.rules]
        # Per pattern: the term, and whether its first / last character needs a boundary.
        self._pattern_info = [
            (term, term[0] in WORD_CHARS, term[-1] in WORD_CHARS) for term in self._patterns
        ]
        self._automaton: Any = None
        if self._patterns:
            self._automaton = ahocorasick_rs.AhoCorasick(
                self._patterns, matchkind=ahocorasick_rs.MatchKind.Standard
            )

    def __len__(self) -> int:
        return len(self.rules)

    def _scan(self, text: str, field_name: str) -> dict[str, list[Hit]]:
        """Bounded occurrences of every term in ``text``, by folded term, in order."""
        found: dict[str, list[Hit]] = {}
        if self._automaton is None or not text:
            return found
        folded, offsets = fold_with_offsets(text)
        size = len(folded)
        info = self._pattern_info
        for pattern, start, stop in self._automaton.find_matches_as_indexes(
            folded, overlapping=True
        ):
            term, bounded_start, bounded_end = info[pattern]
            if bounded_start and start > 0 and folded[start - 1] in WORD_CHARS:
                continue
            if bounded_end and stop < size and folded[stop] in WORD_CHARS:
                continue
            if offsets is None:
                hit = Hit(term, field_name, start, stop)
            else:
                hit = Hit(term, field_name, offsets[start], offsets[stop - 1] + 1)
            hits = found.get(term)
            if hits is None:
                found[term] = [hit]
            else:
                hits.append(hit)
        return found

    def match(
        self,
        *,
        title: str,
        text: str,
        source: str | None = None,
        lang: str | None = None,
        origin: str | None = None,
    ) -> list[RuleMatch]:
        """The rules that fire on an article, with what they matched where."""
        return self.scan(title=title, text=text, source=source, lang=lang, origin=origin).matches

    def scan(
        self,
        *,
        title: str,
        text: str,
        source: str | None = None,
        lang: str | None = None,
        origin: str | None = None,
    ) -> Scan:
        """One pass over an article: the rules that fire and the entities it mentions."""
        fields = {"title": title or "", "text": text or ""}
        scans = {name: self._scan(value, name) for name, value in fields.items()}
        mentions = self._mentions(fields, scans) if self._alias_roles else []
        by_entity: dict[str, list[Hit]] = {}
        for m in mentions:
            by_entity.setdefault(m.entity, []).append(
                Hit(m.alias, m.field, m.start, m.end, m.entity, m.alias)
            )
        # Only rules that own a term or an entity found here, or that have a regex, can
        # fire: the cost follows the text and its hits, not the number of rules.
        candidates = set(self._regex_rules)
        for name in by_entity:
            candidates.update(self._entity_owners.get(name, ()))
        simple: dict[int, list[list[Hit]]] = {}
        for name, scan in scans.items():
            simple_owners = self._simple_owners[name]
            for term, hits in scan.items():
                for owner in simple_owners.get(term, ()):
                    parts = simple.get(owner)
                    if parts is None:
                        simple[owner] = [hits]
                    else:
                        parts.append(hits)
                candidates.update(self._other_owners.get(term, ()))
        matches: list[RuleMatch] = []
        for index in sorted(simple.keys() | candidates) if candidates else sorted(simple):
            parts = simple.get(index)
            if parts is None:
                match = self._evaluate(
                    self.rules[index], fields, scans, by_entity, source, lang, origin
                )
                if match is not None:
                    matches.append(match)
                continue
            # One list of one term's hits in one field is already in order, without repeats.
            if len(parts) == 1:
                evidence = list(parts[0])
            else:
                evidence = sorted((hit for part in parts for hit in part), key=_evidence_order)
            name, channels, mode = self._heads[index]
            matches.append(RuleMatch(name, channels, mode, evidence, fields))
        return Scan(matches, mentions)

    def _mentions(
        self, fields: dict[str, str], scans: dict[str, dict[str, list[Hit]]]
    ) -> list[Mention]:
        """The entities an article mentions, from the hits of one scan."""
        return find_mentions(
            fields,
            scans,
            alias_roles=self._alias_roles,
            false_friends=self._false_friends,
            kinds=self._entity_kinds,
            weights=self._entity_weights,
        )

    def _evaluate(
        self,
        rule: _Rule,
        fields: dict[str, str],
        scans: dict[str, dict[str, list[Hit]]],
        by_entity: dict[str, list[Hit]],
        source: str | None,
        lang: str | None,
        origin: str | None,
    ) -> RuleMatch | None:
        config = rule.config
        if config.sources and source not in config.sources:
            return None
        if rule.origins and (origin is None or fold_name(origin) not in rule.origins):
            return None
        if config.languages and not any(
            lang and (lang == want or lang.startswith(want + "-")) for want in config.languages
        ):
            return None
        hits_by_term: dict[str, list[Hit]] = {}
        for folded, original in rule.terms:
            for name in config.fields:
                hits = scans[name].get(folded)
                if hits:
                    if config.case_sensitive:
                        hits = [h for h in hits if same_case(fields[name], h, original)]
                    hits_by_term.setdefault(folded, []).extend(hits)

        if any(folded in hits_by_term for folded in rule.exclude):
            return None
        evidence: list[Hit] = []
        if rule.entities:
            found = [
                h
                for name in rule.entities
                for h in by_entity.get(name, ())
                if h.field in config.fields
            ]
            if not found:
                return None
            evidence += found
        if rule.keywords:
            found = [h for folded in rule.keywords for h in hits_by_term.get(folded, ())]
            if not found:
                return None
            evidence += found
        if rule.all:
            if not all(folded in hits_by_term for folded in rule.all):
                return None
            evidence += [h for folded in rule.all for h in hits_by_term[folded]]
        for first, second, within in rule.near:
            pair = _near_pair(hits_by_term.get(first, []), hits_by_term.get(second, []), within)
            if pair is None:
                return None
            evidence += pair
        if rule.regexes:
            found = []
            for name in config.fields:
                for regex in rule.regexes:
                    for m in regex.finditer(fields[name]):
                        found.append(Hit(m.group(0), name, m.start(), m.end()))
            if not found:
                return None
            evidence += found
        evidence = sorted(set(evidence), key=_evidence_order)
        return RuleMatch(config.name, config.channels, config.mode, evidence, fields)


def _near_pair(a: list[Hit], b: list[Hit], within: int) -> list[Hit] | None:
    for x in a:
        for y in b:
            if x.field == y.field:
                gap = max(y.start - x.end, x.start - y.end)
                if gap <= within:
                    return [x, y]
    return None


def _snippet(fields: dict[str, str], hit: Hit) -> str:
    """Text around the first hit with the match marked 【like this】."""
    text = fields[hit.field]
    start = max(0, hit.start - SNIPPET_RADIUS)
    end = min(len(text), hit.end + SNIPPET_RADIUS)
    before = ("…" if start > 0 else "") + text[start : hit.start]
    after = text[hit.end : end] + ("…" if end < len(text) else "")
    return " ".join(f"{before}{MARK_OPEN}{text[hit.start : hit.end]}{MARK_CLOSE}{after}".split())
