"""Near-duplicate detection at ingest: word shingles, MinHash signatures and LSH band keys.

Two articles are near-duplicates when the Jaccard similarity of their sets of 5-word
shingles (of the body, case- and accent-folded, punctuation ignored) is at least 0.8:
the same story syndicated by two outlets with a changed sentence or a different
sign-off. Bodies under 20 words are never flagged (too short to tell a copy from a stub).

Candidates are found without a scan: a MinHash signature of 100 values is cut into 20
bands of 5; each band's hash is a row of `article_band`, and articles sharing any band key
are candidates (for a true Jaccard of 0.7 the chance of being found is 97.5%, for 0.8 it is
99.96%). Each candidate is then checked with the exact Jaccard of the shingle sets.

A group of near-duplicates points at its earliest copy (the earliest published_at when
every copy has a date, otherwise the first ingested, i.e. the lowest id; an undated copy can
not be placed in time): `duplicate_of` is NULL on that copy and its id
on every other member, so links never chain. When an earlier copy arrives later, the
whole group is re-pointed at it. A changed article is checked again: a copy edited until it
no longer matches loses its link; copies linked to an article keep following it (to its new
root if it joins another group) even if it is later rewritten.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlmodel import Session, col

from app.models import Article, ArticleBand

SHINGLE_WORDS = 5
JACCARD_THRESHOLD = 0.8
MIN_WORDS = 20
PERMUTATIONS = 100
BANDS = 20
ROWS_PER_BAND = PERMUTATIONS // BANDS

_WORD = re.compile(r"[^\W_]+")
_MERSENNE = np.uint64((1 << 61) - 1)


def _seeded(label: str) -> int:
    """A fixed 32-bit number: band keys are stored, so they must not change between runs."""
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=4).digest(), "big")


# Universal hash family (a*x + b) mod p with a, b, x < 2**32, so a*x + b fits in 64 bits.
_A = np.array([_seeded(f"minhash-a-{i}") | 1 for i in range(PERMUTATIONS)], dtype=np.uint64)
_B = np.array([_seeded(f"minhash-b-{i}") for i in range(PERMUTATIONS)], dtype=np.uint64)


def shingle_words(text: str) -> list[str]:
    """The words (numbers included) of a text, lower-cased and without accents."""
    lowered = text.lower()
    if not lowered.isascii():
        decomposed = unicodedata.normalize("NFKD", lowered)
        lowered = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WORD.findall(lowered)


def fingerprint(words: list[str]) -> str:
    """Identity of the folded text (what the duplicate check sees), as 64 hex characters."""
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def shingles(words: list[str]) -> set[int]:
    """CRC-32 checksums of every run of SHINGLE_WORDS consecutive words (fast and stable;
    a collision between two of an article's few hundred shingles is vanishingly rare)."""
    runs = (" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))
    return {zlib.crc32(run.encode()) for run in runs}


def jaccard(first: set[int], second: set[int]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def band_keys(hashes: set[int]) -> list[int]:
    """The LSH band keys of a shingle set: one signed 64-bit key per band."""
    values = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
    permuted = (_A[:, None] * values[None, :] + _B[:, None]) % _MERSENNE
    signature = permuted.min(axis=1)
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(bytes([band]) + rows.tobytes(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True)
class Copy:
    """What deciding a group's earliest copy needs to know about one article."""

    id: int
    published_at: datetime | None
    duplicate_of: int | None


def earliest(copies: list[Copy]) -> Copy:
    """The copy a group points at: the earliest published if every copy has a date, else
    the first ingested (lowest id), since an undated copy can not be placed in time."""
    if all(copy.published_at is not None for copy in copies):
        return min(copies, key=lambda copy: (copy.published_at, copy.id))
    return min(copies, key=lambda copy: copy.id)


class DuplicateIndex:
    """Keeps band keys, fingerprints and duplicate_of links current as articles are saved."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def update(self, article: Article) -> None:
        """Fingerprint a new or changed article and link its group to the earliest copy."""
        assert article.id is not None
        words = shingle_words(article.body)
        article.fingerprint = fingerprint(words)
        self.session.execute(delete(ArticleBand).where(col(ArticleBand.article_id) == article.id))
        this = Copy(article.id, article.published_at, article.duplicate_of)
        if len(words) < MIN_WORDS:
            self._link([this])
            return
        hashes = shingles(words)
        keys = band_keys(hashes)
        self.session.execute(
            insert(ArticleBand), [{"band_key": k, "article_id": article.id} for k in keys]
        )
        matches = [
            copy
            for copy, body in self._candidates(article.id, keys)
            if jaccard(hashes, shingles(shingle_words(body))) >= JACCARD_THRESHOLD
        ]
        roots = {copy.duplicate_of for copy in matches if copy.duplicate_of is not None}
        self._link([this, *matches, *self._copies(roots - {copy.id for copy in matches})])

    def _candidates(self, article_id: int, keys: list[int]) -> list[tuple[Copy, str]]:
        ids = select(col(ArticleBand.article_id)).where(
            col(ArticleBand.band_key).in_(keys), col(ArticleBand.article_id) != article_id
        )
        rows = self.session.execute(
            select(
                col(Article.id),
                col(Article.published_at),
                col(Article.duplicate_of),
                col(Article.body),
            ).where(col(Article.id).in_(ids))
        ).all()
        return [(Copy(row[0], row[1], row[2]), row[3]) for row in rows]

    def _copies(self, ids: set[int]) -> list[Copy]:
        if not ids:
            return []
        rows = self.session.execute(
            select(col(Article.id), col(Article.published_at), col(Article.duplicate_of)).where(
                col(Article.id).in_(ids)
            )
        ).all()
        return [Copy(row[0], row[1], row[2]) for row in rows]

    def _link(self, group: list[Copy]) -> None:
        """Point the group, and every copy linked to one of its members, at its earliest copy.

        Copies already pointing at a member move along with it, so a group keeps one root
        (and links never chain) however its copies arrive.
        """
        members = [*group, *self._followers({copy.id for copy in group})]
        root = earliest(members)
        others = {copy.id for copy in members} - {root.id}
        if others:
            self.session.execute(
                update(Article)
                .where(col(Article.id).in_(others))
                .values(duplicate_of=root.id)
                .execution_options(synchronize_session="fetch")
            )
        self.session.execute(
            update(Article)
            .where(col(Article.id) == root.id)
            .values(duplicate_of=None)
            .execution_options(synchronize_session="fetch")
        )

    def _followers(self, ids: set[int]) -> list[Copy]:
        """Articles linked to any of `ids` that are not among them."""
        rows = self.session.execute(
            select(col(Article.id), col(Article.published_at), col(Article.duplicate_of)).where(
                col(Article.duplicate_of).in_(ids), col(Article.id).not_in(ids)
            )
        ).all()
        return [Copy(row[0], row[1], row[2]) for row in rows]
