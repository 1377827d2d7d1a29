"""Collected articles are matched against saved searches after each round's batch, as
ingested ones are: each match once, its webhook delivery queued; on every database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, col, select

from app.models import Article, SavedSearch, SearchMatch, WebhookDelivery
from tests.collect import corpus
from tests.collect.harness import Harness, each_database, publish
from tests.collect.site import Reply, Site

pytestmark = [pytest.mark.corpus, each_database]


def test_each_round_matches_its_new_articles_once(
    harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:3])
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode()))
    harness.add(site.url("/rss"))
    # A phrase of the third story's title: it is matched when it is collected, not before.
    phrase = f'"{stories[2].title}"'
    with Session(harness.engine) as session:
        session.add(SavedSearch(name="third", query={"q": phrase}, webhook_url=site.url("/hook")))
        session.add(SavedSearch(name="all", query={}))
        session.commit()
    assert harness.round().added == 2
    site.route("/rss", Reply(corpus.rss2(stories[:3], base=site.base).encode()))
    assert harness.round().added == 1
    harness.round()  # nothing new: nothing matched again
    with Session(harness.engine) as session:
        pairs = session.exec(
            select(col(SavedSearch.name), col(Article.url))
            .join(SearchMatch, col(SearchMatch.search_id) == col(SavedSearch.id))
            .join(Article, col(Article.id) == col(SearchMatch.article_id))
            .order_by(col(SearchMatch.id))
        ).all()
        queued = session.exec(select(WebhookDelivery)).all()
    urls = [site.url(story.path) for story in stories[:3]]
    assert sorted(pairs) == sorted(
        [("all", urls[0]), ("all", urls[1]), ("all", urls[2]), ("third", urls[2])]
    )
    assert len(queued) == 1 and urls[2] in queued[0].payload
