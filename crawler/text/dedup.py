"""Fingerprints and MinHash signatures of an article's text, for duplicates and stories.

- :func:`normalize_for_matching`: NFKC, case folded, Traditional folded to Simplified,
  punctuation and whitespace removed (for matching only; the stored text is untouched).
- :func:`content_fingerprint`: a hash of that form: the same text at two URLs, or in both
  scripts, has the same fingerprint.
- :func:`signature`: a MinHash (:func:`minhash`) over character shingles of that form, and
  :func:`band_keys`, the LSH band keys under which the archive files it. Syndicated copies
  with their own wrappers, an editor's note, a new headline or light edits share most
  shingles; different articles on the same topic share few.

Parameters were chosen on the labelled set in ``bench/labelled_stories.py`` (see
``docs/benchmarks.md``): 4-character shingles, 128 permutations; the first 40 values in 20
bands of 2 rows find candidates (a pair with Jaccard 0.35 is a candidate 93% of the time, at
0.5 99.7%), which are then checked against the story's whole signature; a story match
needs an estimated Jaccard of ``STORY_THRESHOLD`` = 0.35: on that set copies of one story
score 0.49 or more and different stories 0.22 or less.

- :func:`own_parts_agree`: for two articles of one site that look alike, whether they
  still agree once the paragraphs they share word for word are set aside. A site's blurb
  that the archive has not yet learned (see ``storage.stories.template_paragraphs``) can
  make two short articles look alike; what is left of each, its own body, tells them
  apart. (Titles do not: a site's daily column keeps one headline.)

I/O-free.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Collection

import numpy as np

from crawler.text.fold import fold_text

__all__ = [
    "BANDS",
    "MIN_NEAR_DUPLICATE",
    "NUM_PERM",
    "ROWS",
    "SHINGLE",
    "STORY_THRESHOLD",
    "band_keys",
    "content_fingerprint",
    "fingerprint_and_signature",
    "minhash",
    "normalize_for_matching",
    "own_parts_agree",
    "signature",
    "similarity",
]

NUM_PERM = 128
BANDS = 20
ROWS = 2
SHINGLE = 4
STORY_THRESHOLD = 0.35
MIN_NEAR_DUPLICATE = 60
MIN_OWN_PART = 20
_SEED = 20261122
_STRIP_RE = re.compile(r"[\W_]+", re.UNICODE)


def normalize_for_matching(text: str) -> str:
    """The matching form: NFKC, folded (case, width, Traditional→Simplified), with
    everything but letters and digits removed."""
    return _STRIP_RE.sub("", fold_text(unicodedata.normalize("NFKC", text)))


def content_fingerprint(text: str) -> str:
    """A hex digest of the matching form of ``text``."""
    return _fingerprint(normalize_for_matching(text))


def _fingerprint(normalized: str) -> str:
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


def _shingles(normalized: str) -> list[bytes]:
    if len(normalized) <= SHINGLE:
        return [normalized.encode("utf-8")] if normalized else []
    last = len(normalized) - SHINGLE + 1
    return [normalized[i : i + SHINGLE].encode("utf-8") for i in range(last)]


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The ``NUM_PERM`` affine permutations ``h → a·h + b (mod 2³²)`` drawn from ``_SEED``:
    ``a`` odd (so each is a bijection), ``b`` any. NumPy keeps ``RandomState``'s stream
    fixed across releases, so the draw is the same on every machine and release."""
    draw = np.random.RandomState(_SEED)
    a = draw.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = draw.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _mix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, a bijection that spreads the input hashes' bits
    before the affine permutations (uint32 arithmetic wraps, as the finaliser wants)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash(shingles: Collection[bytes]) -> np.ndarray:
    """The MinHash values (``NUM_PERM``, uint64) of a set of shingles: each shingle hashed
    to the first four bytes of its SHA-1 (little-endian), mixed (:func:`_mix32`), put
    through every permutation; the least value per permutation. This is datasketch's
    ``affine32`` scheme, value for value (a test holds them together); it is written out
    here because the values are stored: they must not change with a dependency's
    defaults (datasketch 2.0 changed its default scheme)."""
    a, b = _permutations()
    if not shingles:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint64)
    sha1 = hashlib.sha1
    digests = b"".join([sha1(s).digest()[:4] for s in shingles])
    hashed = _mix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
    permuted = a[:, np.newaxis] * hashed  # (permutations × shingles), wraps mod 2³²
    permuted += b[:, np.newaxis]
    return permuted.min(axis=1).astype(np.uint64)


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature (``NUM_PERM`` unsigned 64-bit values, :func:`minhash`) of the
    shingles of ``text``, or ``None`` when the text is too short for near-duplicate
    matching (exact fingerprints still match): a few dozen characters share shingles by
    chance."""
    return _signature(normalize_for_matching(text))


def _signature(normalized: str) -> np.ndarray | None:
    if len(normalized) < MIN_NEAR_DUPLICATE:
        return None
    return minhash(set(_shingles(normalized)))


def fingerprint_and_signature(text: str) -> tuple[str, np.ndarray | None]:
    """:func:`content_fingerprint` and :func:`signature` of ``text``, which share its
    matching form (worked out once)."""
    normalized = normalize_for_matching(text)
    return _fingerprint(normalized), _signature(normalized)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def band_keys(values: np.ndarray) -> list[int]:
    """One signed 64-bit key per LSH band (band number mixed in, so keys of different
    bands never collide)."""
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=band.to_bytes(2, "big")).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def _containment(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def own_parts_agree(a: str, b: str, *, template: Collection[str] = ()) -> bool:
    """Whether two texts agree beyond the paragraphs they share verbatim (in the matching
    form) and the site's known ``template`` paragraphs: true when what is left of either
    is under ``MIN_OWN_PART`` characters (a credit line, an added sentence), else when
    the shorter remainder's shingles are at least ``STORY_THRESHOLD`` contained in the
    longer one's (light edits)."""
    paragraphs_a = [normalize_for_matching(p) for p in a.split("\n")]
    paragraphs_b = [normalize_for_matching(p) for p in b.split("\n")]
    shared = set(paragraphs_a) & set(paragraphs_b)
    shared |= {normalize_for_matching(p) for p in template}
    rest_a = "".join(p for p in paragraphs_a if p not in shared)
    rest_b = "".join(p for p in paragraphs_b if p not in shared)
    if min(len(rest_a), len(rest_b)) < MIN_OWN_PART:
        return True
    return _containment(set(_shingles(rest_a)), set(_shingles(rest_b))) >= STORY_THRESHOLD
