"""The entities an article mentions, from the hits of one scan of the automaton.

An alias found inside a longer alias of another entity of its kind (商务部 in 美国商务部)
or inside a false friend (高通 in 高通量) does not count; case-sensitive aliases keep
their Latin case; an ambiguous alias (寒武纪, 曙光, "Ascend") counts only next to one of
its context terms, or when the article also names the entity unambiguously. I/O-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.hits import Hit, fold_term, same_case
from crawler.text.entities import Alias, Mention

__all__ = ["find_mentions"]


def find_mentions(
    fields: Mapping[str, str],
    scans: Mapping[str, Mapping[str, list[Hit]]],
    *,
    alias_roles: Mapping[str, Sequence[tuple[int, Alias]]],
    false_friends: set[str],
    kinds: Sequence[tuple[str, str]],
    weights: Sequence[float],
) -> list[Mention]:
    """The mentions, in order (title first): ``scans`` holds each field's hits by folded
    term; ``alias_roles`` says which (entity, alias) pairs a folded term is; ``kinds``
    and ``weights`` are per entity index."""
    candidates: list[tuple[int, Alias, Hit]] = []
    blockers: list[tuple[int, Hit]] = []
    for name, scan in scans.items():
        text = fields[name]
        for term, hits in scan.items():
            if term in false_friends:
                blockers.extend((-1, h) for h in hits)
            for index, alias in alias_roles.get(term, ()):
                for hit in hits:
                    if alias.case_sensitive and not same_case(text, hit, alias.text):
                        continue
                    candidates.append((index, alias, hit))
    if not candidates:
        return []
    kept = _not_covered(candidates, blockers, kinds)
    named = {index for index, alias, _ in kept if alias.context is None}
    mentions = []
    for index, alias, hit in kept:
        ambiguous = alias.context is not None and index not in named
        if ambiguous and not _in_context(alias, hit, scans[hit.field]):
            continue
        name, kind = kinds[index]
        mentions.append(
            Mention(name, kind, alias.text, hit.field, hit.start, hit.end, weights[index])
        )
    mentions.sort(key=lambda m: (m.field != "title", m.start, -m.end))
    return mentions


def _not_covered(
    candidates: list[tuple[int, Alias, Hit]],
    blockers: list[tuple[int, Hit]],
    kinds: Sequence[tuple[str, str]],
) -> list[tuple[int, Alias, Hit]]:
    """The candidates not inside a longer hit of a false friend (index -1) or of an entity
    of the same kind (商务部 in 美国商务部, the Entity List in the unreliable entity list;
    Nvidia in "Nvidia H20" stays: a product names its maker). Spans are sorted once; only
    spans that overlap are compared (few do)."""
    spans = sorted(
        [*blockers, *((index, hit) for index, _, hit in candidates)],
        key=lambda s: (s[1].field, s[1].start, -s[1].end),
    )
    covered: set[tuple[int, str, int, int]] = set()
    cluster: list[tuple[int, Hit]] = []
    cluster_end = -1
    cluster_field = ""
    for index, hit in [*spans, (-2, Hit("", "", 1 << 62, 1 << 62))]:
        if hit.field == cluster_field and hit.start < cluster_end:
            cluster.append((index, hit))
            cluster_end = max(cluster_end, hit.end)
            continue
        if len(cluster) > 1:
            for inner_index, inner in cluster:
                if inner_index == -1:
                    continue
                for outer_index, outer in cluster:
                    if (
                        (outer_index == -1 or kinds[outer_index][1] == kinds[inner_index][1])
                        and outer.start <= inner.start
                        and inner.end <= outer.end
                        and outer.end - outer.start > inner.end - inner.start
                    ):
                        covered.add((inner_index, inner.field, inner.start, inner.end))
                        break
        cluster, cluster_end, cluster_field = [(index, hit)], hit.end, hit.field
    if not covered:
        return candidates
    return [c for c in candidates if (c[0], c[2].field, c[2].start, c[2].end) not in covered]


def _in_context(alias: Alias, hit: Hit, scan: Mapping[str, list[Hit]]) -> bool:
    """Whether a ``before`` term ends, or an ``after`` term starts, within the alias's
    window of ``hit`` (same field)."""
    context = alias.context
    assert context is not None
    for term in context.after:
        for other in scan.get(fold_term(term), ()):
            if 0 <= other.start - hit.end <= context.window:
                return True
    for term in context.before:
        for other in scan.get(fold_term(term), ()):
            if 0 <= hit.start - other.end <= context.window:
                return True
    return False
