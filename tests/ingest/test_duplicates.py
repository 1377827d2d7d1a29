"""Near-duplicates flagged at ingest: lightly edited syndicated copies link to the earliest."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from contextlib import closing
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from app.config import PROJECT_ROOT, Settings
from app.db import create_db_engine
from app.ingest.document import ArticleDraft
from app.ingest.store.articles import ArticleStore
from app.ingest.store.duplicates import (
    BANDS,
    JACCARD_THRESHOLD,
    Copy,
    band_keys,
    earliest,
    jaccard,
    shingle_words,
    shingles,
)
from tests.helpers import SEEDS_DIR, ingest_paths, settings_for

SEED_000 = next(SEEDS_DIR.glob("000_*.txt"))
FURNITURE = ["Share this article", "Follow us on Telegram", "Advertisement"]


def syndicated_copy(text: str, old: str, new: str) -> str:
    """The text with one sentence rewritten, a sign-off appended and page furniture around it."""
    assert old in text, old
    edited = text.replace(old, new)
    signoff = "This story was first published elsewhere and is republished with permission."
    lines = edited.splitlines()
    return "\n".join([lines[0], *FURNITURE[:1], *lines[1:], "", signoff, *FURNITURE[1:]]) + "\n"


def write_article(folder: Path, name: str, text: str, sidecar: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    (folder / f"{name}.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return folder


def rows(settings: Settings, sql: str, **params: object) -> list[tuple]:
    """Rows of a query on the test's database (SQLite or PostgreSQL)."""
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def article_by_url(settings: Settings, url: str) -> tuple[int, int | None]:
    [(article_id, duplicate_of)] = rows(
        settings, "SELECT id, duplicate_of FROM article WHERE url = :url", url=url
    )
    return article_id, duplicate_of


def seed_copy(
    tmp_path: Path, url: str, published: str, edit: str = "has become more stable lately"
) -> Path:
    """Seed 000 as another outlet ran it: one sentence edited, furniture and a sign-off added."""
    text = syndicated_copy(
        SEED_000.read_text(encoding="utf-8"),
        "Afghanistan is achieving stability.",
        f"Afghanistan {edit}.",
    )
    sidecar = {"url": url, "publisher": "Kabul Syndicate", "published": published}
    return write_article(tmp_path / "copies", "copy", text, sidecar)


# The duplicate rule worked out independently of the detector: plain sets of 5-word runs
# (case and accents folded, punctuation ignored), no hashing, no MinHash.


def reference_words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.findall(r"[^\W_]+", folded)


def word_runs(text: str) -> set[tuple[str, ...]]:
    words = reference_words(text)
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def reference_jaccard(first: str, second: str) -> float:
    first_runs, second_runs = word_runs(first), word_runs(second)
    return len(first_runs & second_runs) / len(first_runs | second_runs)


def test_shingle_sets_of_a_lightly_edited_text_pass_the_threshold() -> None:
    text = SEED_000.read_text(encoding="utf-8")
    edited = text.replace("Afghanistan is achieving stability.", "Afghanistan is stable now.")
    assert reference_jaccard(text, edited) >= JACCARD_THRESHOLD
    # The detector's own measure agrees with the reference.
    original, copy = shingles(shingle_words(text)), shingles(shingle_words(edited))
    assert jaccard(original, copy) == pytest.approx(reference_jaccard(text, edited))
    # Similar texts share some band keys (what makes them candidates).
    assert set(band_keys(original)) & set(band_keys(copy))


BAND_KEYS_OF_A_FILE = """
import json, sys
from pathlib import Path
from app.ingest.store.duplicates import band_keys, shingle_words, shingles
text = Path(sys.argv[1]).read_text(encoding="utf-8")
print(json.dumps(band_keys(shingles(shingle_words(text)))))
"""


def band_keys_in_another_process(path: Path, hash_seed: int) -> list[int]:
    """The band keys of a file's text as a fresh interpreter with this PYTHONHASHSEED makes them."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", BAND_KEYS_OF_A_FILE, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    keys: list[int] = json.loads(done.stdout)
    return keys


def test_band_keys_are_the_same_in_every_process() -> None:
    # Band keys are stored: an article ingested by another run (another process, another
    # string-hash seed) must find its copies by the same keys.
    here = band_keys(shingles(shingle_words(SEED_000.read_text(encoding="utf-8"))))
    assert len(set(here)) == BANDS
    assert band_keys_in_another_process(SEED_000, hash_seed=1) == here
    assert band_keys_in_another_process(SEED_000, hash_seed=2) == here


def text_with_replacements(length: int, replaced: int) -> tuple[str, str]:
    """A text of `length` distinct words, and a copy with `replaced` of them changed, each
    at least 5 words from the others and from the ends: every change swaps 5 shingles of
    the S = length - 4 for 5 new ones, so the pair's Jaccard is (S - 5r) / (S + 5r)."""
    words = [f"word{i}" for i in range(length)]
    copy = list(words)
    for number in range(replaced):
        copy[10 + 10 * number] = f"changed{number}"
    return " ".join(words), " ".join(copy)


# (length, replaced words, Jaccard by the formula above, a duplicate?)
KNOWN_PAIRS = [
    (100, 1, 91 / 101, True),
    (94, 2, 80 / 100, True),  # exactly the threshold: a duplicate
    (93, 2, 79 / 99, False),  # just under it
    (100, 3, 81 / 111, False),
]


@pytest.mark.parametrize(("length", "replaced", "similarity", "duplicate"), KNOWN_PAIRS)
def test_pairs_of_known_similarity_are_linked_exactly_from_the_threshold(
    empty_db: str, length: int, replaced: int, similarity: float, duplicate: bool
) -> None:
    original, copy = text_with_replacements(length, replaced)
    assert reference_jaccard(original, copy) == pytest.approx(similarity)
    assert (similarity >= JACCARD_THRESHOLD) == duplicate
    engine = create_db_engine(settings_for(empty_db), writer=True)
    try:
        with Session(engine) as session:
            store = ArticleStore(session)
            original_id, _, _ = store.save(ArticleDraft(origin="original.txt", body=original))
            copy_id, _, _ = store.save(ArticleDraft(origin="copy.txt", body=copy))
            session.commit()
    finally:
        engine.dispose()
    settings = settings_for(empty_db)
    [(linked,)] = rows(settings, "SELECT duplicate_of FROM article WHERE id = :id", id=copy_id)
    assert linked == (original_id if duplicate else None)


def test_the_earliest_copy_is_the_earliest_dated_or_else_the_first_ingested() -> None:
    may, june = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    assert earliest([Copy(1, june, None), Copy(2, may, None), Copy(3, may, None)]).id == 2
    # An undated copy can not be placed in time: the first ingested wins.
    assert earliest([Copy(1, None, None), Copy(2, may, None)]).id == 1
    assert earliest([Copy(3, june, None), Copy(2, None, None)]).id == 2


def test_two_outlets_telling_the_same_story_are_not_duplicates(settings: Settings) -> None:
    # Seeds 000 and 001 report the same CSTO-summit remarks in their own words.
    assert rows(settings, "SELECT count(*) FROM article WHERE duplicate_of IS NOT NULL") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM article WHERE fingerprint IS NULL") == [(0,)]


def test_a_syndicated_copy_points_at_the_original_and_can_be_hidden(
    settings: Settings, client: TestClient, seed_ids: dict[str, int], tmp_path: Path
) -> None:
    url = "https://syndicate.example/putin-taliban"
    report = ingest_paths(settings, seed_copy(tmp_path, url, "2024-11-29"), nlp=False)
    assert report.added == 1  # type: ignore[attr-defined]
    copy_id, duplicate_of = article_by_url(settings, url)
    assert duplicate_of == seed_ids["000"]
    assert client.get(f"/articles/{copy_id}").json()["duplicate_of"] == seed_ids["000"]

    everything = client.get("/articles", params={"q": "Baradar"}).json()
    assert copy_id in {item["id"] for item in everything["items"]}
    hidden = client.get("/articles", params={"q": "Baradar", "duplicates": "exclude"}).json()
    assert copy_id not in {item["id"] for item in hidden["items"]}
    assert seed_ids["000"] in {item["id"] for item in hidden["items"]}
    assert hidden["total"] == everything["total"] - 1
    assert client.get("/articles", params={"duplicates": "exclude"}).json()["total"] == 5


def test_reingest_keeps_duplicate_links(
    settings: Settings, seed_ids: dict[str, int], tmp_path: Path
) -> None:
    url = "https://syndicate.example/putin-taliban"
    folder = seed_copy(tmp_path, url, "2024-11-29")
    ingest_paths(settings, folder, nlp=False)
    before = rows(settings, "SELECT id, duplicate_of, fingerprint FROM article ORDER BY id")
    report = ingest_paths(settings, SEEDS_DIR, folder, nlp=False)
    assert report.unchanged == 6  # type: ignore[attr-defined]
    assert rows(settings, "SELECT id, duplicate_of, fingerprint FROM article ORDER BY id") == before
    assert article_by_url(settings, url)[1] == seed_ids["000"]


def test_an_earlier_copy_arriving_later_becomes_the_original(
    settings: Settings, seed_ids: dict[str, int], tmp_path: Path
) -> None:
    late = "https://syndicate.example/late-copy"
    ingest_paths(settings, seed_copy(tmp_path / "late", late, "2024-11-30"), nlp=False)
    assert article_by_url(settings, late)[1] == seed_ids["000"]
    # A copy dated before the seed (2024-11-28): the whole group re-points at it, no chains.
    early = "https://syndicate.example/early-copy"
    folder = seed_copy(tmp_path / "early", early, "2024-11-27", edit="is calmer than it was")
    ingest_paths(settings, folder, nlp=False)
    early_id, early_duplicate_of = article_by_url(settings, early)
    assert early_duplicate_of is None
    assert article_by_url(settings, late)[1] == early_id
    [(seed_duplicate_of,)] = rows(
        settings, "SELECT duplicate_of FROM article WHERE id = :id", id=seed_ids["000"]
    )
    assert seed_duplicate_of == early_id


def test_an_edited_copy_that_no_longer_matches_loses_its_link(
    settings: Settings, seed_ids: dict[str, int], tmp_path: Path
) -> None:
    url = "https://syndicate.example/putin-taliban"
    folder = seed_copy(tmp_path, url, "2024-11-29")
    ingest_paths(settings, folder, nlp=False)
    assert article_by_url(settings, url)[1] == seed_ids["000"]
    rewritten = "Putin and the Taliban\n\n" + " ".join(
        f"Paragraph {n} of an entirely different report about grain exports and rail freight."
        for n in range(30)
    )
    (folder / "copy.txt").write_text(rewritten, encoding="utf-8")
    report = ingest_paths(settings, folder, nlp=False)
    assert report.updated == 1  # type: ignore[attr-defined]
    assert article_by_url(settings, url)[1] is None


@pytest.mark.corpus
def test_bbc_syndicated_variants_link_to_the_bbc_original(
    bbc_db: str, bbc_corpus: Path, tmp_path: Path
) -> None:
    settings = settings_for(bbc_db)
    originals = {
        "business/010.txt": "https://wire.example/business-10",
        "sport/100.txt": "https://wire.example/sport-100",
        "tech/200.txt": "https://wire.example/tech-200",
    }
    for number, (name, url) in enumerate(originals.items()):
        text = (bbc_corpus / name).read_text(encoding="latin-1")
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        changed = paragraphs[2].strip().split(". ")[0]
        variant = syndicated_copy(text, changed, "A wire editor rewrote this sentence entirely")
        sidecar = {"url": url, "publisher": "Wire Service", "published": "2005-06-01"}
        write_article(tmp_path / "wire", f"variant{number}", variant, sidecar)
    report = ingest_paths(settings, tmp_path / "wire", nlp=False)
    assert report.added == 3  # type: ignore[attr-defined]
    for name, url in originals.items():
        [(original_id,)] = rows(
            settings, "SELECT id FROM article WHERE origin LIKE :o", o=f"%/bbc/{name}"
        )
        [(root,)] = rows(
            settings,
            "SELECT coalesce(duplicate_of, id) FROM article WHERE id = :id",
            id=original_id,
        )
        assert article_by_url(settings, url)[1] == root, name


@pytest.fixture(scope="module")
def bbc_reference_pairs(sqlite_bbc_template: Path) -> list[tuple[int, int]]:
    """Every pair of BBC articles (ids) whose reference Jaccard reaches the threshold, bodies
    of 20 words or more: found by comparing every two articles that share a 5-word run."""
    with closing(sqlite3.connect(f"file:{sqlite_bbc_template}?mode=ro", uri=True)) as database:
        bodies = database.execute("SELECT id, body FROM article").fetchall()
    runs = {id_: word_runs(body) for id_, body in bodies if len(reference_words(body)) >= 20}
    holders: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for id_, article_runs in runs.items():
        for run in article_runs:
            holders[run].append(id_)
    shared: Counter[tuple[int, int]] = Counter()
    for ids in holders.values():
        shared.update(combinations(sorted(ids), 2))
    return [
        (first, second)
        for (first, second), common in shared.items()
        if common / (len(runs[first]) + len(runs[second]) - common) >= JACCARD_THRESHOLD
    ]


@pytest.mark.corpus
def test_every_bbc_pair_over_the_threshold_is_in_one_group(
    bbc_db: str, bbc_reference_pairs: list[tuple[int, int]]
) -> None:
    # Band keys find a pair of Jaccard 0.8 with a chance of 99.96%: on this corpus, all of them.
    roots = dict(rows(settings_for(bbc_db), "SELECT id, coalesce(duplicate_of, id) FROM article"))
    assert len(bbc_reference_pairs) > 20
    assert [(a, b) for a, b in bbc_reference_pairs if roots[a] != roots[b]] == []


@pytest.mark.corpus
def test_the_bbc_corpus_has_few_near_duplicates_and_they_are_real(bbc_db: str) -> None:
    settings = settings_for(bbc_db)
    pairs = rows(
        settings,
        "SELECT c.id, c.title, c.body, o.id, o.title, o.body, ct.tag, ot.tag "
        "FROM article c JOIN article o ON o.id = c.duplicate_of "
        "JOIN article_tag ct ON ct.article_id = c.id JOIN article_tag ot ON ot.article_id = o.id "
        "ORDER BY c.id",
    )
    [(total,)] = rows(settings, "SELECT count(*) FROM article")
    print(f"\nBBC: {len(pairs)} of {total} articles flagged as near-duplicates")
    for copy_id, copy_title, _, original_id, original_title, *_ in pairs[:8]:
        print(f"  {copy_id} {copy_title!r} -> {original_id} {original_title!r}")
    # The corpus re-publishes some stories with a new headline or an extra paragraph.
    assert len(pairs) <= 0.03 * total
    for _, _, copy_body, _, _, original_body, copy_tags, original_tags in pairs:
        assert reference_jaccard(copy_body, original_body) >= JACCARD_THRESHOLD
        assert copy_tags == original_tags
    titles = {(copy_title, original_title) for _, copy_title, _, _, original_title, *_ in pairs}
    assert ("Nasdaq planning $100m-share sale", "Nasdaq planning $100m share sale") in titles
    [(chained,)] = rows(
        settings,
        "SELECT count(*) FROM article c JOIN article o ON o.id = c.duplicate_of "
        "WHERE o.duplicate_of IS NOT NULL",
    )
    assert chained == 0
