"""`newsdesk entities merge / split / rename / retype`: what they change, and that a re-ingest,
recognition run again and a rebuilt index keep it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlmodel import Session

from app.db import create_db_engine
from app.keys import name_key
from app.models import ArticleEntity, Entity, EntityAlias
from tests.clients import client_with, run_newsdesk
from tests.helpers import SEEDS_DIR, ingest_paths, settings_for

Links = dict[int, tuple[int, list[str]]]  # article id -> (mentions, forms)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A copy of the seed articles the test may change."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS_DIR, folder)
    return folder


@pytest.fixture
def url(empty_db: str, seeds: Path) -> str:
    """A database holding the seed copies, ingested with real NER."""
    report = ingest_paths(settings_for(empty_db), seeds)
    assert report.added == 5  # type: ignore[attr-defined]
    return empty_db


def reingest(url: str, seeds: Path) -> str:
    return str(ingest_paths(settings_for(url), seeds).summary())  # type: ignore[attr-defined]


def entity_ids(url: str, name: str) -> list[int]:
    """Ids of the entities a name or alias looks up (as /articles?entity= does)."""
    engine = create_db_engine(settings_for(url))
    with Session(engine) as session:
        ids = session.execute(
            select(EntityAlias.entity_id).where(EntityAlias.key == name_key(name))
        ).scalars()
        result = sorted(set(ids))
    engine.dispose()
    return result


def links_of(url: str, entity_id: int) -> Links:
    engine = create_db_engine(settings_for(url))
    with Session(engine) as session:
        rows = session.execute(
            select(ArticleEntity).where(ArticleEntity.entity_id == entity_id)
        ).scalars()
        result = {link.article_id: (link.mentions, list(link.forms)) for link in rows}
    engine.dispose()
    return result


def entity_named(url: str, name: str) -> Entity | None:
    engine = create_db_engine(settings_for(url))
    with Session(engine) as session:
        found = session.execute(select(Entity).where(Entity.name == name)).scalars().first()
    engine.dispose()
    return found


def seed_file(seeds: Path, number: str) -> Path:
    return next(seeds.glob(f"{number}_*.txt"))


def change_text(path: Path) -> None:
    """Edit an article so a re-ingest updates it and recognises its entities again."""
    path.write_text(path.read_text(encoding="utf-8") + "\nOfficials gave no details.\n")


def test_merge_moves_links_and_sums_mentions_in_shared_articles(url: str) -> None:
    [russia], [kremlin] = entity_ids(url, "Russia"), entity_ids(url, "Kremlin")
    before_russia, before_kremlin = links_of(url, russia), links_of(url, kremlin)
    assert before_kremlin and set(before_kremlin) <= set(before_russia)

    done = run_newsdesk("entities", "merge", "Russia", "Kremlin", database_url=url)

    assert done.returncode == 0, done.stderr
    assert "Merged 'Kremlin' into 'Russia'" in done.stdout
    after = links_of(url, russia)
    for article_id, (mentions, forms) in before_kremlin.items():
        kept_mentions, kept_forms = before_russia[article_id]
        assert after[article_id] == (mentions + kept_mentions, sorted({*forms, *kept_forms}))
    assert entity_named(url, "Kremlin") is None
    assert entity_ids(url, "Kremlin") == [russia]


def test_merge_survives_reingest_of_a_changed_article(url: str, seeds: Path) -> None:
    [kept] = entity_ids(url, "Russian Security Council")
    [dropped] = entity_ids(url, "Russian National Security Council")
    articles = set(links_of(url, kept)) | set(links_of(url, dropped))
    done = run_newsdesk("entities", "merge", str(kept), str(dropped), database_url=url)
    assert done.returncode == 0, done.stderr
    change_text(seed_file(seeds, "000"))  # the article that names both

    assert reingest(url, seeds).startswith("0 added, 1 updated, 4 unchanged")

    assert entity_named(url, "Russian National Security Council") is None
    assert entity_ids(url, "Russian National Security Council") == [kept]
    assert set(links_of(url, kept)) == articles


def test_split_moves_the_articles_that_wrote_the_alias(url: str) -> None:
    [shoigu] = entity_ids(url, "Sergei Shoigu")
    before = links_of(url, shoigu)
    spelled = {a for a, (_, forms) in before.items() if "Sergey Shoigu" in forms}
    assert spelled and spelled != set(before)

    done = run_newsdesk("entities", "split", "Sergei Shoigu", "Sergey Shoigu", database_url=url)

    assert done.returncode == 0, done.stderr
    new = entity_named(url, "Sergey Shoigu")
    assert new is not None and new.type == "person" and new.id is not None
    assert set(links_of(url, new.id)) == spelled
    assert set(links_of(url, shoigu)) == set(before) - spelled
    assert entity_ids(url, "Sergey Shoigu") == [new.id]


def test_split_survives_reingest_and_new_articles(url: str, seeds: Path) -> None:
    done = run_newsdesk("entities", "split", "Shoigu", "Sergey Shoigu", database_url=url)
    assert "unknown entity 'Shoigu'; did you mean 'Sergei Shoigu'" in done.stderr
    done = run_newsdesk("entities", "split", "Sergei Shoigu", "Sergey Shoigu", database_url=url)
    assert done.returncode == 0, done.stderr
    [old], [new] = entity_ids(url, "Sergei Shoigu"), entity_ids(url, "Sergey Shoigu")
    old_articles, new_articles = set(links_of(url, old)), set(links_of(url, new))
    change_text(seed_file(seeds, "001"))  # the article that writes "Sergey Shoigu"
    (seeds / "005_new.txt").write_text(
        "Shoigu Visits Minsk\n\nSergey Shoigu met officials in Minsk on Monday.\n"
    )

    assert reingest(url, seeds).startswith("1 added, 1 updated, 4 unchanged")

    assert entity_ids(url, "Sergey Shoigu") == [new]
    assert set(links_of(url, old)) == old_articles
    assert len(set(links_of(url, new)) - new_articles) == 1  # the new article, not merged back


def test_curation_errors_say_what_is_wrong(url: str) -> None:
    unknown = run_newsdesk("entities", "merge", "Russia", "Atlantis", database_url=url)
    assert unknown.returncode == 1
    assert "unknown entity 'Atlantis'" in unknown.stderr
    itself = run_newsdesk("entities", "merge", "Russia", "Russia", database_url=url)
    assert itself.returncode == 1 and "two different entities" in itself.stderr
    foreign = run_newsdesk("entities", "split", "Vladimir Putin", "Taliban", database_url=url)
    assert foreign.returncode == 1
    assert "neither an alias of 'Vladimir Putin'" in foreign.stderr
    bad_type = run_newsdesk(
        "entities", "split", "Russia", "Kremlin", "--type", "x", database_url=url
    )
    assert bad_type.returncode == 2


def test_entities_list_shows_ids_for_curation(url: str) -> None:
    [putin] = entity_ids(url, "Putin")
    shown = run_newsdesk("entities", "list", "putin", database_url=url)
    assert shown.returncode == 0, shown.stderr
    assert f"{putin} " in shown.stdout and "Vladimir Putin" in shown.stdout


def relink_everything(url: str, seeds: Path, changed: str) -> None:
    """Change one seed's text (re-ingest), drop every other article's links (recognition runs
    again on them, as after a crash), re-ingest, and rebuild the search index."""
    change_text(seed_file(seeds, changed))
    engine = create_db_engine(settings_for(url), writer=True)
    with Session(engine) as session:
        session.execute(delete(ArticleEntity))
        session.commit()
    engine.dispose()
    assert reingest(url, seeds).startswith("0 added, 1 updated, 4 unchanged")
    done = run_newsdesk("reindex", database_url=url)
    assert done.returncode == 0, done.stderr


def indexed_articles(url: str, entity: str) -> set[int]:
    """Ids of the articles /articles?entity= lists, answered by the search index."""
    with client_with(url, search_engine="tantivy") as client:
        response = client.get("/articles", params={"entity": entity, "limit": 100})
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}


def test_split_of_a_surname_survives_reingest_reextraction_and_reindex(
    url: str, seeds: Path
) -> None:
    done = run_newsdesk("entities", "split", "Vladimir Putin", "Putin", database_url=url)
    assert done.returncode == 0, done.stderr
    [full], [short] = entity_ids(url, "Vladimir Putin"), entity_ids(url, "Putin")
    assert full != short
    full_links, short_links = links_of(url, full), links_of(url, short)

    relink_everything(url, seeds, "003")

    assert entity_ids(url, "Putin") == [short]
    # Every article that writes "Putin" links it to the split-off entity, not the full name
    # (the other forms of an article that never wrote "Vladimir Putin" go back to it).
    assert set(links_of(url, short)) == set(short_links)
    assert all(forms == ["Putin"] for _, forms in links_of(url, short).values())
    assert set(full_links) <= set(links_of(url, full))
    assert all("Putin" not in forms for _, forms in links_of(url, full).values())
    assert indexed_articles(url, str(short)) == set(short_links)


def test_merge_from_readme_survives_reingest_reextraction_and_reindex(
    url: str, seeds: Path
) -> None:
    [kept] = entity_ids(url, "Russian Security Council")
    [dropped] = entity_ids(url, "Russian National Security Council")
    articles = set(links_of(url, kept)) | set(links_of(url, dropped))
    done = run_newsdesk(
        "entities",
        "merge",
        "Russian Security Council",
        "Russian National Security Council",
        database_url=url,
    )
    assert done.returncode == 0, done.stderr

    relink_everything(url, seeds, "000")

    assert entity_named(url, "Russian National Security Council") is None
    assert entity_ids(url, "Russian National Security Council") == [kept]
    assert set(links_of(url, kept)) == articles
    assert indexed_articles(url, "Russian National Security Council") == articles


def test_a_merged_entity_lists_each_alias_once(url: str) -> None:
    [russia] = entity_ids(url, "Russia")
    done = run_newsdesk("entities", "merge", "Russia", "Russian", database_url=url)
    assert done.returncode == 0, done.stderr
    with client_with(url) as client:
        aliases = client.get(f"/entities/{russia}").json()["aliases"]
    assert "Russian" in aliases
    assert len(aliases) == len(set(aliases)), aliases


def test_rename_survives_reingest_reextraction_and_reindex(url: str, seeds: Path) -> None:
    [russia] = entity_ids(url, "Russia")
    articles = set(links_of(url, russia))
    done = run_newsdesk("entities", "rename", "Russia", "Russian Federation", database_url=url)
    assert done.returncode == 0, done.stderr
    assert "Renamed 'Russia' to 'Russian Federation'" in done.stdout

    relink_everything(url, seeds, "001")

    renamed = entity_named(url, "Russian Federation")
    assert renamed is not None and renamed.id == russia
    assert entity_named(url, "Russia") is None
    assert entity_ids(url, "Russia") == [russia]
    assert set(links_of(url, russia)) == articles
    assert indexed_articles(url, "Russian Federation") == articles


def test_type_change_survives_reingest_reextraction_and_reindex(url: str, seeds: Path) -> None:
    [kremlin] = entity_ids(url, "Kremlin")
    articles = set(links_of(url, kremlin))
    done = run_newsdesk("entities", "retype", "Kremlin", "location", database_url=url)
    assert done.returncode == 0, done.stderr

    relink_everything(url, seeds, "000")

    retyped = entity_named(url, "Kremlin")
    assert retyped is not None and (retyped.id, retyped.type) == (kremlin, "location")
    assert entity_ids(url, "Kremlin") == [kremlin]
    assert set(links_of(url, kremlin)) == articles
    with client_with(url, search_engine="tantivy") as client:
        page = client.get("/articles", params={"entity_type": "location", "limit": 100}).json()
    assert articles <= {item["id"] for item in page["items"]}


def test_rename_and_retype_refuse_what_is_a_merge(url: str) -> None:
    [kremlin], [russia] = entity_ids(url, "Kremlin"), entity_ids(url, "Russia")
    done = run_newsdesk("entities", "retype", "Kremlin", "location", database_url=url)
    assert done.returncode == 0, done.stderr
    taken = run_newsdesk("entities", "rename", "Kremlin", "Russia", database_url=url)
    assert taken.returncode == 1
    advice = f"merge them instead: newsdesk entities merge {russia} {kremlin}"
    assert advice in " ".join(taken.stderr.split())
    bad = run_newsdesk("entities", "retype", "Kremlin", "planet", database_url=url)
    assert bad.returncode == 2
