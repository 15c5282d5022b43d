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

All rules' terms go into one Aho-Corasick automaton (pyahocorasick), built once per config:
the cost per article grows with the text, not with the number of rules. I/O-free.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from crawler.config import RuleConfig
from crawler.text.fold import fold_char

__all__ = ["Hit", "RuleMatch", "RuleSet", "fold_with_offsets"]

_WORD = re.compile(r"[a-z0-9]")
SNIPPET_RADIUS = 40
MARK_OPEN, MARK_CLOSE = "【", "】"


def fold_with_offsets(text: str, *, keep_case: bool = False) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the character of
    ``text`` it came from (folding can turn one character into several)."""
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        normal = unicodedata.normalize("NFKC", char)
        if not keep_case:
            normal = normal.casefold()
        for piece in normal:
            folded = fold_char(piece)
            out.append(folded)
            offsets.extend([index] * len(folded))
    return "".join(out), offsets


def fold_term(term: str, *, keep_case: bool = False) -> str:
    return fold_with_offsets(term.strip(), keep_case=keep_case)[0]


@dataclass(frozen=True)
class Hit:
    term: str
    field: str
    start: int
    end: int


@dataclass
class RuleMatch:
    rule: str
    channels: list[str] | None
    mode: str
    hits: list[Hit] = field(default_factory=list)
    snippet: str = ""

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(hit.term for hit in self.hits))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "terms": self.terms,
            "spans": [
                {"term": h.term, "field": h.field, "start": h.start, "end": h.end}
                for h in self.hits
            ],
            "snippet": self.snippet,
        }


@dataclass
class _Rule:
    config: RuleConfig
    regexes: list[re.Pattern[str]]


class RuleSet:
    """The compiled rules of a config."""

    def __init__(self, rules: Sequence[RuleConfig]) -> None:
        self.rules = [
            _Rule(
                rule,
                [re.compile(p, 0 if rule.case_sensitive else re.IGNORECASE) for p in rule.regex],
            )
            for rule in rules
        ]
        # folded term -> [(rule index, role, original term)]
        self._owners: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for index, rule in enumerate(self.rules):
            config = rule.config
            roles: list[tuple[str, Iterable[str]]] = [
                ("keywords", config.keywords),
                ("all", config.all),
                ("exclude", config.exclude),
                ("near", [t for near in config.near for t in near.terms]),
            ]
            for role, terms in roles:
                for term in terms:
                    folded = fold_term(term)
                    if folded:
                        self._owners[folded].append((index, role, term))
        self._automaton: Any = None
        if self._owners:
            automaton = ahocorasick.Automaton()
            for folded in self._owners:
                automaton.add_word(folded, folded)
            automaton.make_automaton()
            self._automaton = automaton

    def __len__(self) -> int:
        return len(self.rules)

    def _scan(self, text: str, field_name: str) -> dict[str, list[Hit]]:
        """Bounded occurrences of every term in ``text``, by folded term."""
        found: dict[str, list[Hit]] = defaultdict(list)
        if self._automaton is None or not text:
            return found
        folded, offsets = fold_with_offsets(text)
        for end, term in self._automaton.iter(folded):
            start = end - len(term) + 1
            if _WORD.match(term[0]) and start > 0 and _WORD.match(folded[start - 1]):
                continue
            if _WORD.match(term[-1]) and end + 1 < len(folded) and _WORD.match(folded[end + 1]):
                continue
            found[term].append(Hit(term, field_name, offsets[start], offsets[end] + 1))
        return found

    def match(
        self, *, title: str, text: str, source: str | None = None, lang: str | None = None
    ) -> list[RuleMatch]:
        """The rules that fire on an article, with what they matched where."""
        fields = {"title": title or "", "text": text or ""}
        scans = {name: self._scan(value, name) for name, value in fields.items()}
        results = []
        for index, rule in enumerate(self.rules):
            match = self._evaluate(index, rule, fields, scans, source, lang)
            if match is not None:
                results.append(match)
        return results

    def _evaluate(
        self,
        index: int,
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
        hits_by_term: dict[str, list[Hit]] = defaultdict(list)
        for name in config.fields:
            for term, hits in scans[name].items():
                for owner, _, original in self._owners[term]:
                    if owner == index:
                        kept = [
                            h
                            for h in hits
                            if not config.case_sensitive or _same_case(fields[name], h, original)
                        ]
                        hits_by_term[fold_term(original)].extend(kept)

        def present(term: str) -> bool:
            return bool(hits_by_term.get(fold_term(term)))

        if any(present(t) for t in config.exclude):
            return None
        evidence: list[Hit] = []
        if config.keywords:
            found = [h for t in config.keywords for h in hits_by_term.get(fold_term(t), [])]
            if not found:
                return None
            evidence += found
        if config.all:
            if not all(present(t) for t in config.all):
                return None
            evidence += [h for t in config.all for h in hits_by_term[fold_term(t)]]
        for near in config.near:
            pair = _near_pair(
                hits_by_term.get(fold_term(near.terms[0]), []),
                hits_by_term.get(fold_term(near.terms[1]), []),
                near.within,
            )
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
        evidence = sorted(set(evidence), key=lambda h: (h.field != "title", h.start))
        named = [Hit(fields[h.field][h.start : h.end], h.field, h.start, h.end) for h in evidence]
        return RuleMatch(
            config.name,
            config.channels,
            config.mode,
            named,
            _snippet(fields, named[0]) if named else "",
        )


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
