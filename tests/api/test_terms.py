"""/articles/terms: the words and phrases that characterise a result, on every engine."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Article
from app.search import terms
from app.search.terms import document_terms, log_likelihood, stop_words
from tests.clients import client_with

SPORT_WORDS = {
    "match", "season", "coach", "cup", "players", "game", "team", "club", "win", "champion",
    "injury", "league", "rugby", "football", "squad", "final", "title", "championship",
    "olympic", "tennis", "won", "play", "victory", "side", "goal", "england", "wales",
    "ireland", "france", "world cup", "six nations", "grand slam",
}  # fmt: skip


@pytest.mark.corpus
def test_the_terms_of_sport_are_sport_words(bbc_client: TestClient) -> None:
    response = bbc_client.get("/articles/terms", params={"tag": "sport"})
    assert response.status_code == 200, response.text
    body = response.json()
    total = bbc_client.get("/articles", params={"tag": "sport", "limit": 1}).json()["total"]
    assert body["total"] == total > 500 and body["sampled"] == 500 == body["background"]
    terms = [t["term"] for t in body["terms"]]
    assert len(terms) == 20
    assert len(SPORT_WORDS & set(terms)) >= 8, terms
    english_stops = stop_words("en")
    assert not [word for t in terms for word in t.split() if word in english_stops], terms
    for term in body["terms"]:
        # Each is over-represented: a larger part of the matches than of the archive.
        assert term["matches"] / body["sampled"] > term["background_matches"] / 500
    assert body["terms"] == sorted(body["terms"], key=lambda t: -t["score"])


@pytest.mark.corpus
def test_a_small_result_is_read_whole(bbc_client: TestClient) -> None:
    params = {"q": '"world cup"', "tag": "sport"}
    total = bbc_client.get("/articles", params={**params, "limit": 1}).json()["total"]
    body = bbc_client.get("/articles/terms", params={**params, "size": 5}).json()
    assert body["total"] == body["sampled"] == total < 500
    assert len(body["terms"]) == 5 and "world cup" in [t["term"] for t in body["terms"]]


def test_no_match_has_no_terms_and_bad_sizes_are_refused(client: TestClient) -> None:
    body = client.get("/articles/terms", params={"q": "xylophonequartet"}).json()
    assert body == {"total": 0, "sampled": 0, "background": 5, "terms": []}
    for size in ("0", "101", "many"):
        response = client.get("/articles/terms", params={"size": size})
        assert response.status_code == 422 and response.json()["detail"].startswith("size:")
    assert client.get("/articles/terms", params={"q": "(x"}).status_code == 400


def test_terms_leave_out_stop_words_of_the_article_language() -> None:
    english = document_terms("The coach said that the Wales team, and rugby.", "en")
    assert english == {"coach", "said", "coach said", "wales", "team", "wales team", "rugby"}
    assert "die" not in document_terms("Die Mannschaft gewann", "de")
    assert "die" in document_terms("Die Mannschaft gewann", None)  # no language: no list
    assert stop_words("../../etc") == frozenset() == stop_words("zz")


def test_log_likelihood_matches_a_hand_computed_value() -> None:
    # 10 of 20 matches against 10 of 100 archive articles: 2 * sum(k ln(k / expected)),
    # expected counts 20*20/120, 20*100/120, 100*20/120, 100*100/120.
    expected = 2 * (
        10 * 1.0986122886681098  # ln(10 / 3.333...)
        + 10 * -0.5108256237659907  # ln(10 / 16.666...)
        + 10 * -0.5108256237659907
        + 90 * 0.07696104113612832  # ln(90 / 83.333...)
    )
    assert log_likelihood(10, 20, 10, 100) == pytest.approx(expected)


def test_the_latin_tokens_are_the_unicode_tokens() -> None:
    """terms.tokens_of takes a listed-letters pattern for Latin-script text: it finds what
    TOKEN, the Unicode-category pattern, finds, character by character and in real text."""
    latin = [chr(c) for low, high in terms.LATIN_RANGES for c in range(low, high + 1)]
    for character in latin:
        text = f"ab{character}cd {character} x{character}-{character}y 'é{character}"
        assert terms.tokens_of(text) == terms.TOKEN.findall(text), hex(ord(character))
    mixed = "l'été’s “naïve” cafés – 3rd ½ ² ª º x_y ab–cd a - b (Ærø) [ÿ] ɏɐ"
    assert terms.tokens_of(mixed) == terms.TOKEN.findall(mixed)
    assert terms.LATIN_TOKEN is not terms.TOKEN
    for text in (mixed, mixed + " Москва", "Kabul ; Қазақстан", "plain ascii, words."):
        assert terms.tokens_of(text) == terms.TOKEN.findall(text), text


def test_the_sampled_matches_are_the_newest_and_counted_by_their_text(
    seeded_db: str, engine: Engine
) -> None:
    """No q: the sample is the newest articles (terms_sample_size of them), and each term's
    `matches` is how many of their texts (title, lede, body) hold it."""
    with client_with(seeded_db, terms_sample_size=3) as client:
        response = client.get("/articles/terms", params={"size": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    with Session(engine) as session:
        rows = session.execute(
            select(
                Article.id, Article.title, Article.lede, Article.body, Article.language,
                Article.published_at,
            )
        ).all()  # fmt: skip
    newest = sorted(
        rows, key=lambda r: (r.published_at is not None, r.published_at, r.id), reverse=True
    )[:3]
    texts = [
        document_terms("\n".join(p for p in (r.title, r.lede, r.body) if p), r.language)
        for r in newest
    ]
    assert (body["total"], body["sampled"], body["background"]) == (len(rows), 3, 3)
    assert body["terms"]
    for term in body["terms"]:
        assert term["matches"] == sum(term["term"] in found for found in texts), term
