"""Arabic-script text is found whichever keyboard typed it, on every engine: letter variants
(ي/ی, ك/ک, ة/ه), harakat and tatweel are folded at index and query time, and the zero-width
non-joiner (which ingest drops from stored text) is removed, joining the word's halves.
Snippets show the text as written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.db import create_db_engine, downgrade_database, upgrade_database
from app.search.letters import (
    fold_letters,
    fold_letters_keeping_words,
    sqlite_fold,
)
from app.search.query import parse_query
from app.search.similar import folded_words
from app.search.text import matches
from tests.clients import client_for
from tests.helpers import build_search_index, ingest_paths, settings_for
from tests.search.test_service import answered

# Typed on an Arabic keyboard: Arabic yeh and kaf, teh marbuta, harakat and tatweel.
ARABIC_KEYBOARD = (
    "بانك مركزي\n\nوَزِيرِ اقتصاد گفت كه بانك مركزي نرخ بهـــرة را براي يك سال كاهش مي‌دهد.\n"
)
# Typed on a Persian keyboard: Persian yeh and keheh, and a zero-width non-joiner in می‌خواهد.
PERSIAN_KEYBOARD = "کتابخانه کابل\n\nشهردار کابل می‌خواهد یک کتابخانه تازه در مرکز شهر بسازد.\n"


@pytest.fixture
def persian_db(empty_db: str, tmp_path: Path, backend: str) -> str:
    folder = tmp_path / "persian"
    folder.mkdir()
    (folder / "bank.txt").write_text(ARABIC_KEYBOARD)
    (folder / "library.txt").write_text(PERSIAN_KEYBOARD)
    report = ingest_paths(settings_for(empty_db), folder, nlp=False)
    assert report.failed == 0  # type: ignore[attr-defined]
    if backend == "tantivy":
        build_search_index(Path(empty_db.removeprefix("sqlite:///")))
    return empty_db


def search(database_url: str, q: str) -> dict:  # type: ignore[type-arg]
    """The /articles page for `q`, answered by the backend's own engine (never a fallback)."""
    settings = settings_for(database_url)
    engine = create_db_engine(settings)
    try:
        with client_for(settings, engine) as client:
            engines = {name for name, _ in answered(client, "/articles", {"q": q})}
            response = client.get("/articles", params={"q": q})
    finally:
        engine.dispose()
    indexed = settings.search_engine == "tantivy" and settings.is_sqlite
    assert engines == {"index" if indexed else "database"}
    assert response.status_code == 200, response.json()
    return response.json()  # type: ignore[no-any-return]


def titles(database_url: str, q: str) -> list[str]:
    return [item["title"] for item in search(database_url, q)["items"]]


@pytest.mark.parametrize(
    ("q", "title"),
    [
        # Persian-keyboard queries find the Arabic-keyboard text...
        ("بانک مرکزی", "بانك مركزي"),
        ("وزیر", "بانك مركزي"),  # written with harakat
        ("بهره", "بانك مركزي"),  # written with tatweel and teh marbuta
        ('"برای یک سال"', "بانك مركزي"),
        # ...and Arabic-keyboard queries, with harakat, the Persian-keyboard text.
        ("كتابخانه", "کتابخانه کابل"),
        ("تازة", "کتابخانه کابل"),
        ("كَابُل", "کتابخانه کابل"),
        ("شهـردار", "کتابخانه کابل"),
        ("كتابخانة", "کتابخانه کابل"),
    ],
)
def test_either_keyboard_finds_the_other(persian_db: str, q: str, title: str) -> None:
    assert titles(persian_db, q) == [title]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("می‌خواهد", True),  # as written, with the non-joiner
        ("میخواهد", True),  # without it: the same word
        ("مي‌خواهد", True),  # Arabic yeh
        ("می خواهد", False),  # with a space: two other words
        ('"می خواهد"', False),
    ],
)
def test_the_zero_width_non_joiner_joins_a_word(persian_db: str, q: str, found: bool) -> None:
    assert titles(persian_db, q) == (["کتابخانه کابل"] if found else [])


@pytest.fixture
def stored_non_joiner_db(persian_db: str, backend: str) -> str:
    """The library article's body stored with its non-joiner, as another writer may store it."""
    settings = settings_for(persian_db)
    engine = create_db_engine(settings)
    with Session(engine) as session:
        session.execute(
            text("UPDATE article SET body = :body WHERE title = 'کتابخانه کابل'"),
            {"body": PERSIAN_KEYBOARD.split("\n\n")[1]},
        )
        session.commit()
    engine.dispose()
    if backend == "tantivy":
        build_search_index(Path(persian_db.removeprefix("sqlite:///")))
    return persian_db


@pytest.mark.parametrize("q", ["می‌خواهد", "میخواهد"])
def test_a_stored_non_joiner_is_removed_too(stored_non_joiner_db: str, q: str) -> None:
    page = search(stored_non_joiner_db, q)
    assert [item["title"] for item in page["items"]] == ["کتابخانه کابل"]
    assert "<mark>می\u200cخواهد</mark>" in page["items"][0]["snippet"]


def test_snippets_show_the_text_as_written(persian_db: str) -> None:
    snippet = search(persian_db, "کاهش بهره")["items"][0]["snippet"]
    assert "وَزِيرِ" in snippet and "يك" in snippet
    assert "<mark>كاهش</mark>" in snippet and "<mark>بهـــرة</mark>" in snippet


def database_matches(database_url: str, q: str) -> int:
    """How many articles the database's own full-text index matches."""
    engine = create_db_engine(settings_for(database_url))
    try:
        with Session(engine) as session:
            statement = matches(engine.dialect.name, parse_query(q), "all")
            return len(session.execute(statement).all())
    finally:
        engine.dispose()


def test_the_migration_folds_articles_already_stored(persian_db: str, backend: str) -> None:
    if backend == "tantivy":
        pytest.skip("the tantivy index is rebuilt for its schema version, not by a migration")
    downgrade_database(persian_db, "0011")
    assert database_matches(persian_db, "بانک") == 0  # stored as بانك, indexed as stored
    upgrade_database(persian_db)
    assert database_matches(persian_db, "بانک") == 1


def test_folding_unifies_letters_and_removes_marks() -> None:
    assert fold_letters("كِتَابٌ يك مدرسـة") == "کتاب یک مدرسه"
    assert fold_letters("Medvédev") == "Medvédev"  # other scripts as they were
    # Similar articles weigh an article's words by the index's counts of the folded words.
    assert folded_words("وَزِيرِ بانك مي‌دهد") == ["وزیر", "بانک", "میدهد"]


@pytest.mark.parametrize(
    "value", ["plain ascii", ARABIC_KEYBOARD, "£5 “quoted”", "ascii\x00كتاب", "", None]
)
def test_sqlite_folding_gives_the_text_fold_letters_gives(value: str | None) -> None:
    """The FTS5 triggers fold in SQL, the bulk load's deferred index with fold_letters: the
    same text, also past a NUL (where SQLite's length() of text stops counting)."""
    connection = sqlite3.connect(":memory:")
    folded = connection.execute(f"SELECT {sqlite_fold('?1')}", (value,)).fetchone()[0]
    assert folded == (fold_letters(value) if value is not None else None)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("“Medvédev” — £5", "“Medvédev” — £5"),  # no mark to keep or remove: folded as is
        ("كِتَابٌ يك", "کتاب یک"),  # marks inside words are removed
        ("قال ـــ كتاب", "قال ـــ کتاب"),  # a word of tatweel alone stays a word
        ("ـــ", "ـــ"),
    ],
)
def test_folding_keeping_words_keeps_words_made_only_of_marks(value: str, kept: str) -> None:
    """What the snippet page indexes: fold_letters, but a word only of removed characters
    stays, so the folded text has the same words as the text as written."""
    assert fold_letters_keeping_words(value) == kept
    assert len(fold_letters_keeping_words(value).split()) == len(value.split())
