"""Tests for mutants of app/ingest/store/duplicates.py that the rest of the suite let through
(docs/mutation.md): a group that drifts one edit at a time, the candidate lookup, the
Jaccard measure at its edges and the fixed seeds of the MinHash family."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlmodel import Session, select

from app.db import create_db_engine
from app.ingest.document import ArticleDraft
from app.ingest.store.articles import ArticleStore
from app.ingest.store.duplicates import (
    JACCARD_THRESHOLD,
    MIN_WORDS,
    DuplicateIndex,
    _seeded,
    band_keys,
    jaccard,
    shingle_words,
    shingles,
)
from app.models import Article, ArticleBand
from tests.helpers import settings_for


def edited(words: list[str], positions: list[int]) -> list[str]:
    """The words with those positions changed (each change swaps 5 shingles for 5 new ones)."""
    return [f"changed{i}" if i in positions else word for i, word in enumerate(words)]


def similarity(first: list[str], second: list[str]) -> float:
    return jaccard(shingles(first), shingles(second))


def save_all(database: str, drafts: list[ArticleDraft]) -> tuple[list[int], dict[int, int | None]]:
    """Save the drafts in order, in one transaction: their ids and every duplicate_of."""
    engine = create_db_engine(settings_for(database), writer=True)
    try:
        with Session(engine) as session:
            store = ArticleStore(session)
            ids = [store.save(draft)[0] for draft in drafts]
            session.commit()
            links = {article.id: article.duplicate_of for article in session.exec(select(Article))}
    finally:
        engine.dispose()
    return ids, links


def save_drifting_copies(
    database: str, dates: list[datetime | None]
) -> tuple[list[int], dict[int, int | None]]:
    """Save A, B (an edit of A) and C (an edit of B that A no longer matches), in that order
    and with those publication dates: their ids, and every article's duplicate_of."""
    original = [f"word{i}" for i in range(100)]
    first_copy = edited(original, [10])
    second_copy = edited(first_copy, [10, 20, 30])
    assert similarity(original, first_copy) >= JACCARD_THRESHOLD
    assert similarity(first_copy, second_copy) >= JACCARD_THRESHOLD
    assert similarity(original, second_copy) < JACCARD_THRESHOLD
    drafts = [
        ArticleDraft(origin=f"{n}.txt", body=" ".join(words), published_at=date)
        for n, (words, date) in enumerate(
            zip([original, first_copy, second_copy], dates, strict=True)
        )
    ]
    return save_all(database, drafts)


def test_a_copy_of_a_copy_joins_the_group_of_the_original(empty_db: str) -> None:
    # C matches only B, a copy of A: C must still land in A's group (found through B's
    # link), and B must keep pointing at A, without chains.
    ids, links = save_drifting_copies(empty_db, [None, None, None])
    assert links == {ids[0]: None, ids[1]: ids[0], ids[2]: ids[0]}


def test_a_copy_of_a_copy_published_first_becomes_the_original(empty_db: str) -> None:
    # The group found through B's link is dated throughout: the earliest published copy,
    # C, is its original, although it arrived last.
    may, june, july = (datetime(2024, month, 1, tzinfo=UTC) for month in (5, 6, 7))
    ids, links = save_drifting_copies(empty_db, [june, july, may])
    assert links == {ids[0]: ids[2], ids[1]: ids[2], ids[2]: None}


def test_only_articles_sharing_a_band_key_are_candidates(empty_db: str) -> None:
    # Candidates are found without a scan: an unrelated article is never read for the check.
    story = [f"story{i}" for i in range(60)]
    unrelated = [f"other{i}" for i in range(60)]
    engine = create_db_engine(settings_for(empty_db), writer=True)
    try:
        with Session(engine) as session:
            store = ArticleStore(session)
            story_id = store.save(ArticleDraft(origin="story.txt", body=" ".join(story)))[0]
            store.save(ArticleDraft(origin="other.txt", body=" ".join(unrelated)))
            session.commit()
            candidates = DuplicateIndex(session)._candidates(-1, band_keys(shingles(story)))
    finally:
        engine.dispose()
    assert [(copy.id, body) for copy, body in candidates] == [(story_id, " ".join(story))]


def test_jaccard_of_sets_at_the_edges() -> None:
    assert jaccard({1, 2}, {2, 3}) == 1 / 3
    assert jaccard({1}, {1}) == 1.0
    # An empty shingle set (a text under five words) is like nothing, not like everything.
    assert jaccard(set(), {1, 2}) == 0.0
    assert jaccard({1, 2}, set()) == 0.0
    assert jaccard(set(), set()) == 0.0


def test_the_minhash_seeds_are_fixed_32_bit_numbers() -> None:
    # Band keys are stored: the numbers behind them must be the same in every release.
    assert _seeded("minhash-a-0") == 0xDC043245
    assert _seeded("minhash-b-99") == 0x8B53DE03
    assert all(0 <= _seeded(f"minhash-a-{i}") < 2**32 for i in range(100))
    assert _seeded("minhash-a-0") != _seeded("minhash-a-1")


def test_band_keys_of_a_known_text_are_the_stored_ones() -> None:
    # The keys already in every database: a change to the hash family would orphan them.
    keys = band_keys(shingles(shingle_words(" ".join(f"word{i}" for i in range(40)))))
    assert keys[:3] == [3236543707208210785, 2518177680633244898, 5332081800558667041]


def test_a_changed_article_keeps_only_the_band_keys_of_its_new_text(empty_db: str) -> None:
    # Band keys are kept current: the rewritten text's keys replace the old ones (stale
    # keys would make every later copy of the old text read this article again).
    old, new = [f"old{i}" for i in range(60)], [f"new{i}" for i in range(60)]
    other = [f"other{i}" for i in range(60)]
    engine = create_db_engine(settings_for(empty_db), writer=True)
    try:
        with Session(engine) as session:
            store = ArticleStore(session)
            other_id = store.save(ArticleDraft(origin="other.txt", body=" ".join(other)))[0]
            article_id = store.save(ArticleDraft(origin="story.txt", body=" ".join(old)))[0]
            assert store.save(ArticleDraft(origin="story.txt", body=" ".join(new)))[0] == article_id
            session.commit()
            rows = session.exec(select(ArticleBand.article_id, ArticleBand.band_key)).all()
    finally:
        engine.dispose()
    assert sorted(rows) == sorted(
        [(article_id, key) for key in band_keys(shingles(new))]
        + [(other_id, key) for key in band_keys(shingles(other))]
    )


def test_a_saved_article_is_fingerprinted_by_its_folded_text(empty_db: str) -> None:
    # The fingerprint is the SHA-256 of the text as the duplicate check sees it: lower
    # case, no accents, words joined by single spaces.
    engine = create_db_engine(settings_for(empty_db), writer=True)
    try:
        with Session(engine) as session:
            article_id = ArticleStore(session).save(
                ArticleDraft(origin="short.txt", body="Café  SOCIETY, at   noon!")
            )[0]
            session.commit()
            article = session.get(Article, article_id)
    finally:
        engine.dispose()
    assert article is not None
    assert article.fingerprint == hashlib.sha256(b"cafe society at noon").hexdigest()


def test_an_earlier_copy_takes_over_copies_it_does_not_match_itself(empty_db: str) -> None:
    # B is a copy of A; D, published before both, matches A but not B. D becomes the
    # original of the whole group, B included (B follows A's link), with no chain left.
    original = [f"word{i}" for i in range(100)]
    copy_of_a, earlier = edited(original, [10, 20]), edited(original, [50, 60])
    assert similarity(original, copy_of_a) >= JACCARD_THRESHOLD
    assert similarity(original, earlier) >= JACCARD_THRESHOLD
    assert similarity(copy_of_a, earlier) < JACCARD_THRESHOLD
    may, june, july = (datetime(2024, month, 1, tzinfo=UTC) for month in (5, 6, 7))
    ids, links = save_all(
        empty_db,
        [
            ArticleDraft(origin="a.txt", body=" ".join(original), published_at=june),
            ArticleDraft(origin="b.txt", body=" ".join(copy_of_a), published_at=july),
            ArticleDraft(origin="d.txt", body=" ".join(earlier), published_at=may),
        ],
    )
    assert links == {ids[0]: ids[2], ids[1]: ids[2], ids[2]: None}


def test_a_body_of_exactly_the_minimum_length_is_checked(empty_db: str) -> None:
    # Bodies under MIN_WORDS words are never flagged; one of exactly MIN_WORDS is.
    words = [f"word{i}" for i in range(MIN_WORDS)]
    copy = [*words[:-1], "changed"]
    assert similarity(words, copy) >= JACCARD_THRESHOLD
    ids, links = save_all(
        empty_db,
        [
            ArticleDraft(origin="a.txt", body=" ".join(words)),
            ArticleDraft(origin="b.txt", body=" ".join(copy)),
        ],
    )
    assert links == {ids[0]: None, ids[1]: ids[0]}
    shorter = save_all(
        empty_db,
        [
            ArticleDraft(origin="c.txt", body=" ".join(words[1:])),
            ArticleDraft(origin="d.txt", body=" ".join(copy[1:])),
        ],
    )
    assert shorter[1][shorter[0][1]] is None
