"""Similar-article ranking on the seeds: rarity-weighted entities and distinctive terms."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Article, ArticleEntity, Entity
from app.search.similar import (
    article_count,
    entity_weights,
    folded_words,
    idf,
    similar_articles,
    term_weights,
)


def test_idf_gives_nothing_to_what_every_article_has() -> None:
    assert idf(5, 5) == 0.0
    assert idf(5, 1) > idf(5, 2) > idf(5, 4) > 0
    assert idf(0, 0) == 0.0


def test_folded_words_ignore_case_accents_and_numbers() -> None:
    assert folded_words("Médvédev's 2024 CSTO-summit") == ["medvedev", "s", "csto", "summit"]


def test_entities_every_seed_mentions_weigh_nothing(
    engine: Engine, seed_ids: dict[str, int]
) -> None:
    with Session(engine) as session:
        everywhere = set(
            session.execute(
                select(Entity.name)
                .join(ArticleEntity, ArticleEntity.entity_id == Entity.id)
                .group_by(Entity.id, Entity.name)
                .having(func.count() == 5)
            ).scalars()
        )
        assert "Taliban" in everywhere or "Russia" in everywhere
        weights = entity_weights(session, seed_ids["000"], article_count(session))
    names = [w.label for w in weights]
    assert names and not everywhere & set(names)
    assert [w.weight for w in weights] == sorted((w.weight for w in weights), reverse=True)


def test_distinctive_terms_are_words_few_seeds_share(
    engine: Engine, seed_ids: dict[str, int]
) -> None:
    with Session(engine) as session:
        article = session.get(Article, seed_ids["001"])
        assert article is not None
        terms = [w.label for w in term_weights(session, article, article_count(session))]
    assert "csto" in terms
    assert not {"the", "and", "taliban", "putin", "russia"} & set(terms)


def test_seeds_000_and_001_are_each_others_best_match(
    engine: Engine, seed_ids: dict[str, int]
) -> None:
    with Session(engine) as session:
        for this, other in (("000", "001"), ("001", "000")):
            article = session.get(Article, seed_ids[this])
            assert article is not None
            hits = similar_articles(session, article, limit=10)
            assert hits[0].article.id == seed_ids[other], this
            assert seed_ids[this] not in {hit.article.id for hit in hits}
            assert "Collective Security Treaty Organization" in hits[0].shared_entities
            scores = [hit.score for hit in hits]
            assert scores == sorted(scores, reverse=True)
            assert all(0 < score <= 1 for score in scores)
