"""The archive as knowledge: forms of entities that recur across stored articles are found in
new articles where the model misses them; a form two entities share is not forced; each form
says how it was found (GET /entities/{id}); re-ingest changes nothing.

The texts are our own. The model finds "Ofgem" after "A spokesman for" (an organisation) and
misses it in "Ofgem chief Jonson Hale" (checked by the control in the first test).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.db import create_db_engine
from app.ingest.entities.gazetteer import forceable
from app.models import ArticleEntity, Entity
from tests.clients import client_with
from tests.helpers import ingest_paths, settings_for, shared_recognizer

KNOWN = (
    "Energy bills to rise again\n\n"
    "Households will pay more for gas and electricity from April, the energy regulator said. "
    "A spokesman for Ofgem declined to comment on the figures for {place}. "
    "Suppliers blamed the cost of wholesale gas for the rise.\n"
)
MISTYPED = (
    "Energy talks stall\n\n"
    "Talks with Ofgem ended without a deal on Friday, and suppliers said prices would keep "
    "rising through the winter for most households in the country.\n"
)
NEW = (
    "Price cap review\n\n"
    "Ofgem chief Jonson Hale spoke to reporters about the price cap on Wednesday. "
    "He said the review of the cap would take several months to complete.\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def entities_of(url: str, file_name: str) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """The entities linked to the article from `file_name`: name -> (type, found_by)."""
    engine = create_db_engine(settings_for(url))
    with Session(engine) as session:
        rows = session.execute(
            select(Entity.name, Entity.type, ArticleEntity.found_by)
            .join(ArticleEntity, ArticleEntity.entity_id == Entity.id)
            .where(ArticleEntity.article_id.in_(article_ids(session, file_name)))  # type: ignore[attr-defined]
        ).all()
    engine.dispose()
    return {name: (entity_type, found_by) for name, entity_type, found_by in rows}


def article_ids(session: Session, file_name: str) -> list[int]:
    from app.models import Article

    rows = session.execute(select(Article.id, Article.origin)).all()
    return [article_id for article_id, origin in rows if origin.endswith(file_name)]


def all_links(url: str) -> list[tuple[Any, ...]]:
    engine = create_db_engine(settings_for(url))
    with Session(engine) as session:
        rows = session.execute(
            select(
                ArticleEntity.article_id,
                ArticleEntity.entity_id,
                ArticleEntity.mentions,
                ArticleEntity.forms,
                ArticleEntity.found_by,
            ).order_by(ArticleEntity.article_id, ArticleEntity.entity_id)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


@pytest.fixture
def archive(empty_db: str, tmp_path: Path) -> Path:
    """Two stored articles in which the model found Ofgem, the organisation."""
    folder = tmp_path / "archive"
    write(folder, "known_1.txt", KNOWN.format(place="England"))
    write(folder, "known_2.txt", KNOWN.format(place="Wales"))
    report = ingest_paths(settings_for(empty_db), folder)
    assert report.added == 2  # type: ignore[attr-defined]
    assert entities_of(empty_db, "known_1.txt")["Ofgem"][0] == "organization"
    return folder


def test_a_form_the_model_misses_is_found_once_the_archive_knows_it(
    empty_db: str, tmp_path: Path
) -> None:
    # Control: in an archive that knows nothing, the model alone misses it.
    write(tmp_path / "alone", "control.txt", NEW)
    ingest_paths(settings_for(empty_db), tmp_path / "alone")
    assert "Ofgem" not in entities_of(empty_db, "control.txt")

    folder = tmp_path / "archive"
    write(folder, "known_1.txt", KNOWN.format(place="England"))
    write(folder, "known_2.txt", KNOWN.format(place="Wales"))
    ingest_paths(settings_for(empty_db), folder)
    write(folder, "new.txt", NEW + "Officials gave no details.\n")
    ingest_paths(settings_for(empty_db), folder)

    found = entities_of(empty_db, "new.txt")
    assert found["Ofgem"] == ("organization", {"Ofgem": ["gazetteer"]})
    assert entities_of(empty_db, "known_1.txt")["Ofgem"][1] == {"Ofgem": ["model"]}


def test_ingest_workers_get_the_gazetteer_once_each_and_force_its_forms(
    archive: Path, empty_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With worker processes, the run's gazetteer goes to each worker when it starts, not
    with every batch it recognises (a large archive's is thousands of forms), and the
    workers force its forms as one process does."""
    from app.ingest.entities.gazetteer import Gazetteer
    from app.ingest.pipeline import Ingest

    sent: list[int] = []
    getstate = Gazetteer.__getstate__

    def counted(self: Gazetteer) -> dict[str, object]:
        sent.append(len(self))
        return getstate(self)

    monkeypatch.setattr(Gazetteer, "__getstate__", counted)
    news = [f"new_{number}.txt" for number in range(6)]
    for number, name in enumerate(news):
        write(archive, name, NEW + f"Officials gave no details on day {number}.\n")
    settings = settings_for(empty_db, ingest_batch_size=1)
    engine = create_db_engine(settings, writer=True)
    try:
        report = Ingest(engine, settings, shared_recognizer(), workers=2).run([archive])
    finally:
        engine.dispose()

    assert report.added == len(news)
    assert len(sent) == 2, f"sent {len(sent)} times: once to each of the two workers"
    assert all(sent), "the archive's forms, Ofgem among them"
    for name in news:
        assert entities_of(empty_db, name)["Ofgem"] == ("organization", {"Ofgem": ["gazetteer"]})


def test_a_form_seen_in_fewer_articles_than_the_setting_is_not_forced(
    archive: Path, empty_db: str
) -> None:
    write(archive, "new.txt", NEW)
    ingest_paths(settings_for(empty_db, gazetteer_min_articles=3), archive)
    assert "Ofgem" not in entities_of(empty_db, "new.txt")


def test_a_form_two_entities_share_is_not_forced(archive: Path, empty_db: str) -> None:
    # The model reads "Talks with Ofgem" as a person: "Ofgem" now names two entities.
    write(archive, "mistyped.txt", MISTYPED)
    ingest_paths(settings_for(empty_db), archive)
    assert entities_of(empty_db, "mistyped.txt")["Ofgem"][0] == "person"

    write(archive, "new.txt", NEW)
    ingest_paths(settings_for(empty_db), archive)
    assert "Ofgem" not in entities_of(empty_db, "new.txt")


def test_a_curated_form_is_found_as_curation(archive: Path, empty_db: str) -> None:
    """Once a person merges the two entities "Ofgem" names, the form names one entity again,
    and its curated aliases find it in new text."""
    from app.ingest.entities.curation import find_entity, merge_entities

    write(archive, "mistyped.txt", MISTYPED)
    ingest_paths(settings_for(empty_db), archive)
    engine = create_db_engine(settings_for(empty_db))
    with Session(engine) as session:
        keep = find_entity(session, "Ofgem", "organization")
        merge_entities(session, keep, find_entity(session, "Ofgem", "person"))
        session.commit()
    engine.dispose()

    write(archive, "new.txt", NEW)
    ingest_paths(settings_for(empty_db), archive)
    assert entities_of(empty_db, "new.txt")["Ofgem"] == ("organization", {"Ofgem": ["curation"]})


def test_the_entity_page_shows_how_each_form_was_found(archive: Path, empty_db: str) -> None:
    write(archive, "new.txt", NEW)
    ingest_paths(settings_for(empty_db), archive)
    engine = create_db_engine(settings_for(empty_db))
    with Session(engine) as session:
        ofgem = session.execute(select(Entity.id).where(Entity.name == "Ofgem")).scalar_one()
    engine.dispose()
    with client_with(empty_db) as client:
        page = client.get(f"/entities/{ofgem}").json()
    assert {"form": "Ofgem", "articles": 3, "found_by": ["model", "gazetteer"]} in page["forms"]


def test_reingest_changes_no_link_and_no_provenance(archive: Path, empty_db: str) -> None:
    write(archive, "new.txt", NEW)
    ingest_paths(settings_for(empty_db), archive)
    before = all_links(empty_db)
    report = ingest_paths(settings_for(empty_db), archive)
    assert report.unchanged == 3  # type: ignore[attr-defined]
    assert all_links(empty_db) == before
    assert any(found_by == {"Ofgem": ["gazetteer"]} for *_, found_by in before)


@pytest.mark.parametrize(
    ("form", "forced"),
    [
        ("Ofgem", True),
        ("Jonson Hale", True),
        ("CSTO", True),
        ("Bush", False),  # a common word
        ("Reading", False),
        ("David", False),  # a first name
        ("May", False),  # a month
        ("Minister", False),  # a title
        ("US", False),  # too short to force
        ("the Taliban", False),  # not as a name starts
    ],
)
def test_single_common_words_are_never_forced(form: str, forced: bool) -> None:
    assert forceable(form) is forced


def posted(client: Any, key: str, name: str, text: str) -> int:
    """POST /articles with `text` (headline, blank line, body); the new article's id."""
    title, _, body = text.partition("\n\n")
    article = {"title": title, "body": body, "url": f"https://news.example/{name}"}
    response = client.post("/articles", json=article, headers={"X-Api-Key": key})
    assert response.status_code == 201, response.text
    assert response.json()["entities"] == "recognized"
    return int(response.json()["id"])


def test_an_article_written_through_the_api_is_read_with_the_gazetteer(empty_db: str) -> None:
    """POST /articles learns from the archive as an ingest does, the articles it wrote
    itself included (the gazetteer it keeps grows as they arrive)."""
    key = "gazetteer-test-key-0123456789"
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    with client_with(empty_db, api_key_hash=key_hash) as client:
        # Control: an archive that knows nothing; the model alone misses the form.
        control = posted(client, key, "control", NEW)
        first = posted(client, key, "known-1", KNOWN.format(place="England"))
        posted(client, key, "known-2", KNOWN.format(place="Wales"))
        later = posted(client, key, "new", NEW + "Officials gave no details.\n")
        entities = {
            article: {e["name"]: e for e in client.get(f"/articles/{article}").json()["entities"]}
            for article in (control, first, later)
        }
    assert "Ofgem" not in entities[control]
    assert entities[first]["Ofgem"]["type"] == "organization"
    assert entities[later]["Ofgem"]["type"] == "organization"
    with Session(create_db_engine(settings_for(empty_db))) as session:
        found_by = session.execute(
            select(ArticleEntity.found_by)
            .join(Entity, Entity.id == ArticleEntity.entity_id)
            .where(ArticleEntity.article_id == later, Entity.name == "Ofgem")
        ).scalar_one()
    assert found_by == {"Ofgem": ["gazetteer"]}
