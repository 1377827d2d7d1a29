"""Entities in other languages: each article read only by a model trained on its language
(English: spaCy, Russian: natasha), Russian names linked to the entities English seeds name,
and articles in a language without a model marked as not analysed rather than empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.ingest.entities.recognition import EntityRecognizer
from app.models import Article, ArticleEntity, Entity
from tests.helpers import ingest_paths

RUSSIAN = (
    "Путин принял делегацию талибов в Москве\n\n"
    "Президент России Владимир Путин в понедельник принял в Москве делегацию движения "
    "«Талибан». По словам Путина, Россия готова расширять торговлю с Афганистаном. "
    "Министр обороны Сергей Шойгу заявил, что Москва внимательно следит за безопасностью "
    "на южных границах. Делегация вернётся в Кабул в среду.\n"
)
PERSIAN = (
    "دیدار پوتین با طالبان در مسکو\n\n"
    "ولادیمیر پوتین، رئیس جمهور روسیه، روز دوشنبه در مسکو با هیئتی از طالبان دیدار کرد. "
    "پوتین گفت که افغانستان شریک مهم روسیه در منطقه است. "
    "هیئت طالبان روز چهارشنبه به کابل بازمی‌گردد.\n"
)
# What the seeds (English) call the people and places the Russian article names.
SHARED = {
    "Vladimir Putin": "person",
    "Sergei Shoigu": "person",
    "Russia": "location",
    "Moscow": "location",
    "Kabul": "location",
    "Afghanistan": "location",
}


def ingest_text(settings: Settings, folder: Path, name: str, text: str) -> None:
    folder.mkdir()
    (folder / name).write_text(text, encoding="utf-8")
    ingest_paths(settings, folder)


def article_id_of(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        rows = session.execute(select(Article.id, Article.origin)).all()
    [article_id] = [article_id for article_id, origin in rows if origin.endswith(name)]
    return int(article_id)


def detail(client: TestClient, article_id: int) -> dict[str, Any]:
    response = client.get(f"/articles/{article_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def russian_id(settings: Settings, engine: Engine, tmp_path: Path) -> int:
    ingest_text(settings, tmp_path / "ru", "putin-taliban.txt", RUSSIAN)
    return article_id_of(engine, "putin-taliban.txt")


def test_russian_names_link_to_the_entities_english_seeds_name(
    russian_id: int, engine: Engine, client: TestClient
) -> None:
    with Session(engine) as session:
        seeds = {
            (name, kind): entity_id
            for entity_id, name, kind in session.execute(
                select(Entity.id, Entity.name, Entity.type)
                .join(ArticleEntity, ArticleEntity.entity_id == Entity.id)
                .join(Article, Article.id == ArticleEntity.article_id)
                .where(Article.id != russian_id)
            )
        }
    assert set(SHARED.items()) <= set(seeds), "the seeds no longer name these entities"
    article = detail(client, russian_id)
    assert article["language"] == "ru"
    assert article["entities_analysed"] is True
    assert article["entity_model"] == "natasha"
    linked = {(e["name"], e["type"]): e for e in article["entities"]}
    for name, kind in SHARED.items():
        assert (name, kind) in linked, f"{name} not linked; linked: {sorted(linked)}"
        assert linked[name, kind]["id"] == seeds[name, kind]
    # The forms as written, in their cases, are kept: "Путина" is Putin in the genitive.
    assert {"Владимир Путин", "Путина"} <= set(linked["Vladimir Putin", "person"]["forms"])


def test_entity_filter_finds_the_russian_article(russian_id: int, client: TestClient) -> None:
    for name in ("Vladimir Putin", "Путин", "Sergei Shoigu"):
        response = client.get("/articles", params={"entity": name, "limit": 100})
        assert response.status_code == 200, response.text
        ids = [hit["id"] for hit in response.json()["items"]]
        assert russian_id in ids, name


def test_persian_article_is_not_analysed_and_stores_no_entities(
    settings: Settings, engine: Engine, client: TestClient, tmp_path: Path, seed_ids: dict[str, int]
) -> None:
    ingest_text(settings, tmp_path / "fa", "putin-taliban-fa.txt", PERSIAN)
    article = detail(client, article_id_of(engine, "putin-taliban-fa.txt"))
    assert article["language"] == "fa"
    assert article["entities"] == []
    assert article["entities_analysed"] is False
    assert article["entity_model"] is None
    english = detail(client, seed_ids["000"])
    assert english["entities_analysed"] is True
    assert english["entity_model"] == "en_core_web_sm"
    assert english["entities"]


def test_natasha_loads_only_when_a_russian_article_comes() -> None:
    recognizer = EntityRecognizer()
    [english] = recognizer.analyse([(None, "Vladimir Putin met Taliban envoys in Moscow.", "en")])
    assert english.model == "en_core_web_sm" and english.entities
    assert recognizer.russian._tools is None
    [russian] = recognizer.analyse([(None, "Владимир Путин прибыл в Москву.", "ru")])
    assert russian.model == "natasha"
    assert {e.name for e in russian.entities} == {"Vladimir Putin", "Moscow"}
    assert recognizer.russian._tools is not None


def test_a_transliteration_variant_links_to_the_english_spelling(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "lavrov"
    folder.mkdir()
    english = "Russia's Foreign Minister Sergey Lavrov met Taliban envoys in Moscow on Monday."
    (folder / "a-en.txt").write_text(f"Lavrov meets envoys\n\n{english}\n", encoding="utf-8")
    ingest_paths(settings, folder)
    russian = "Министр иностранных дел Сергей Лавров встретился с послами в Москве."
    (folder / "b-ru.txt").write_text(f"Лавров и послы\n\n{russian}\n", encoding="utf-8")
    ingest_paths(settings, folder)
    with Session(engine) as session:
        rows = session.execute(
            select(Article.origin, Entity.name)
            .join(ArticleEntity, ArticleEntity.article_id == Article.id)
            .join(Entity, Entity.id == ArticleEntity.entity_id)
            .where(Entity.type == "person")
        ).all()
    people = {(Path(origin).name, name) for origin, name in rows}
    assert ("a-en.txt", "Sergey Lavrov") in people
    assert ("b-ru.txt", "Sergey Lavrov") in people
