"""Alert rules compiled into one multi-pattern engine, matched against an article.

Semantics (README "Alert rules" has examples):

- Matching is on the folded text (:func:`crawler.text.fold.fold_char`): width-insensitive
  (Ｈ２０ is H20), Latin case-insensitive unless the rule says ``case_sensitive``, and
  script-insensitive (昇騰 is 昇腾) without merging distinct characters (升腾 is not 昇腾).
- A term that starts or ends with a Latin letter or digit must sit at a token boundary
  there: H20 matches ``英伟达H20芯片``, ``H20,`` and ``(H20)``, not ``H200``, ``H20E`` or
  ``SH20``. Han characters are boundaries (``\\b`` would treat them as letters).
- A rule fires when each condition it has holds: ``keywords`` (any), ``all`` (every),
  ``near`` (each pair within N characters), ``regex`` (any); and no ``exclude`` term occurs.
  ``fields``, ``sources`` and ``languages`` (``zh`` covers ``zh-Hans`` and ``zh-Hant``)
  restrict where and what it reads.

All rules' terms go into one Aho-Corasick automaton (ahocorasick-rs), built once per config:
the cost per article grows with the text, not with the number of rules. I/O-free.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import ahocorasick_rs

from crawler.config import RuleConfig
from crawler.text.fold import fold_char

__all__ = ["Hit", "RuleMatch", "RuleSet", "fold_with_offsets"]

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
SNIPPET_RADIUS = 40
MARK_OPEN, MARK_CLOSE = "【", "】"


# Per case mode: code point -> folded text (for str.translate), and the characters that
# do not fold to exactly one character (their presence needs an offset map).
_TABLES: dict[bool, dict[int, str]] = {False: {}, True: {}}
_NOT_ONE_TO_ONE: dict[bool, set[str]] = {False: set(), True: set()}


def _fold_one(char: str, keep_case: bool) -> str:
    normal = unicodedata.normalize("NFKC", char)
    if not keep_case:
        normal = normal.casefold()
    return "".join(fold_char(piece) for piece in normal)


def fold_with_offsets(text: str, *, keep_case: bool = False) -> tuple[str, list[int] | None]:
    """The folded text and, for each of its characters, the index of the character of
    ``text`` it came from (folding can turn one character into several); ``None`` when
    every character folded to exactly one, so positions are the same."""
    table = _TABLES[keep_case]
    odd = _NOT_ONE_TO_ONE[keep_case]
    chars = set(text)
    for char in chars:
        if ord(char) not in table:
            folded = _fold_one(char, keep_case)
            table[ord(char)] = folded
            if len(folded) != 1:
                odd.add(char)
    if not (chars & odd):
        return text.translate(table), None
    pieces = [table[ord(char)] for char in text]
    offsets = [index for index, piece in enumerate(pieces) for _ in piece]
    return "".join(pieces), offsets


def fold_term(term: str, *, keep_case: bool = False) -> str:
    return fold_with_offsets(term.strip(), keep_case=keep_case)[0]


class Hit(NamedTuple):
    """Where a term occurred: ``field`` and the span ``start:end`` in that field's text."""

    term: str
    field: str
    start: int
    end: int


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
        return [
            Hit(self.fields[h.field][h.start : h.end], h.field, h.start, h.end)
            for h in self.evidence
        ]

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
            "spans": [
                {"term": h.term, "field": h.field, "start": h.start, "end": h.end} for h in hits
            ],
            "snippet": _snippet(self.fields, hits[0]) if hits else "",
        }


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

    @classmethod
    def compile(cls, config: RuleConfig) -> _Rule:
        flags = 0 if config.case_sensitive else re.IGNORECASE
        rule = cls(config, [re.compile(p, flags) for p in config.regex])
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
    """The compiled rules of a config."""

    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self.rules = [_Rule.compile(rule) for rule in rules]
        # folded term -> the rules that use it (in any role)
        owners: dict[str, dict[int, None]] = defaultdict(dict)
        for index, rule in enumerate(self.rules):
            for folded, _ in rule.terms:
                owners[folded][index] = None
        self._regex_rules = [i for i, rule in enumerate(self.rules) if rule.regexes]
        # A keywords-only rule (the common case) fires on any hit of its terms in the fields
        # it reads, so its hits are its evidence: field -> folded term -> such rules. Every
        # other rule that owns a term is evaluated in full when the term is found.
        simple = {
            i
            for i, rule in enumerate(self.rules)
            if rule.keywords
            and not (rule.all or rule.exclude or rule.near or rule.regexes)
            and not (rule.config.case_sensitive or rule.config.sources or rule.config.languages)
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
        self._patterns = list(owners)
        self._heads = [(r.config.name, r.config.channels, r.config.mode) for r in self.rules]
        # Per pattern: the term, and whether its first / last character needs a boundary.
        self._pattern_info = [
            (term, term[0] in _WORD_CHARS, term[-1] in _WORD_CHARS) for term in self._patterns
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
            if bounded_start and start > 0 and folded[start - 1] in _WORD_CHARS:
                continue
            if bounded_end and stop < size and folded[stop] in _WORD_CHARS:
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
        self, *, title: str, text: str, source: str | None = None, lang: str | None = None
    ) -> list[RuleMatch]:
        """The rules that fire on an article, with what they matched where."""
        fields = {"title": title or "", "text": text or ""}
        scans = {name: self._scan(value, name) for name, value in fields.items()}
        # Only rules that own a term found here, or that have a regex, can fire: the cost
        # follows the text and its hits, not the number of rules.
        candidates = set(self._regex_rules)
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
                match = self._evaluate(self.rules[index], fields, scans, source, lang)
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
        return matches

    def _evaluate(
        self,
        rule: _Rule,
        fields: dict[str, str],
        scans: dict[str, dict[str, list[Hit]]],
        source: str | None,
        lang: str | None,
    ) -> RuleMatch | None:
        config = rule.config
        if config.sources and source not in config.sources:
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
                        hits = [h for h in hits if _same_case(fields[name], h, original)]
                    hits_by_term.setdefault(folded, []).extend(hits)

        if any(folded in hits_by_term for folded in rule.exclude):
            return None
        evidence: list[Hit] = []
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


def _same_case(text: str, hit: Hit, original: str) -> bool:
    return unicodedata.normalize("NFKC", text[hit.start : hit.end]) == unicodedata.normalize(
        "NFKC", original
    )


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
