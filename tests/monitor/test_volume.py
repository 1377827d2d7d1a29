"""Volume alerts: a saved search whose daily count (articles published that day) spikes
against its trailing window tells its webhook once per day, signed as match deliveries are
(verified by the receiver with the standardwebhooks library); on every engine."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.ingest.document import ArticleDraft
from app.models import SavedSearch, SearchSpike, WebhookDelivery
from app.monitor.deliveries import deliver_due
from tests.clients import run_newsdesk
from tests.monitor.receiver import Receiver
from tests.monitor.world import AUTH, api, monitor_settings, save_search, store

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="
FIRST = date(2024, 3, 1)
# The 28 days before the spike day alternate 1 and 2 matching articles: 42 in all, so the
# mean is 1.5 and the population standard deviation sqrt(mean of squares 2.5 - 2.25) = 0.5.
HISTORY = [1 if i % 2 == 0 else 2 for i in range(28)]
SPIKE_DAY = FIRST + timedelta(days=28)
# Distinct words per article, so no two are taken for duplicates of each other.
VOCABULARY = [f"w{n:04d}" for n in range(3000)]


def article(n: int, day: date, subject: str = "Taliban") -> ArticleDraft:
    words = " ".join(random.Random(n).sample(VOCABULARY, 40))
    return ArticleDraft(
        origin=f"wire/{n}.txt",
        title=f"{subject} report {n}",
        body=f"{subject} officials spoke on the record. {words}.",
        url=f"https://news.example/{n}",
        published_at=datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9),
        language="en",
    )


def history(engine: Engine, empty_db: str) -> int:
    """Store the steady four weeks; the next article number."""
    drafts = []
    for offset, count in enumerate(HISTORY):
        for _ in range(count):
            drafts.append(article(len(drafts) + 1, FIRST + timedelta(days=offset)))
    store(engine, monitor_settings(empty_db), *drafts)
    return len(drafts) + 1


def on_the_spike_day(start: int, count: int, subject: str = "Taliban") -> list[ArticleDraft]:
    return [article(start + i, SPIKE_DAY, subject) for i in range(count)]


def saved(empty_db: str, receiver: Receiver, alert: dict[str, Any] | None) -> int:
    body: dict[str, Any] = {
        "name": "Taliban",
        "query": {"q": "Taliban"},
        "webhook_url": receiver.url,
        "webhook_secret": receiver.secret,
    }
    if alert is not None:
        body["alert"] = alert
    with api(monitor_settings(empty_db)) as client:
        return int(save_search(client, **body)["id"])


def delivered_types(engine: Engine) -> list[str]:
    with Session(engine) as session:
        payloads = session.exec(
            select(WebhookDelivery.payload).order_by(col(WebhookDelivery.id))
        ).all()
    return [json.loads(p)["type"] for p in payloads]


def test_a_spiking_day_is_delivered_once_signed_with_its_mean_and_deviation(
    empty_db: str, engine: Engine
) -> None:
    receiver = Receiver(SECRET)
    try:
        settings = monitor_settings(empty_db)
        n = history(engine, empty_db)
        search_id = saved(empty_db, receiver, {"on": "volume", "threshold": 3, "min_count": 5})
        # 6 articles: above 1.5 + 3 * 0.5 = 3.0, and at least min_count. One off-topic
        # article of the same batch counts for nothing.
        store(engine, settings, *on_the_spike_day(n, 6), *on_the_spike_day(n + 6, 1, "Rain"))
        assert deliver_due(engine, settings).delivered == 1
        assert len(receiver.received) == 1 and receiver.received[0].verified
        body = receiver.received[0].json()
        assert body["type"] == "search.volume_spike"
        assert body["delivery_id"] == receiver.received[0].delivery_id
        assert body["search"]["id"] == search_id
        assert (body["day"], body["count"], body["threshold"]) == (SPIKE_DAY.isoformat(), 6, 3.0)
        assert (body["mean"], body["stddev"]) == (1.5, 0.5)
        assert "articles" not in body
        # A second batch of the same day: still a spike (8), recorded already, not told again.
        store(engine, settings, *on_the_spike_day(n + 7, 2))
        assert deliver_due(engine, settings).delivered == 0
        assert len(receiver.received) == 1
        with api(settings) as client:
            shown = client.get(f"/searches/{search_id}").json()
            listed = client.get(f"/searches/{search_id}/deliveries").json()["items"]
        assert shown["alert"] == {"on": "volume", "threshold": 3.0, "min_count": 5, "window": 28}
        spike = shown["last_spike"]
        assert (spike["day"], spike["count"], spike["mean"], spike["stddev"]) == (
            SPIKE_DAY.isoformat(),
            6,
            1.5,
            0.5,
        )
        assert [(d["type"], d["state"]) for d in listed] == [("search.volume_spike", "delivered")]
    finally:
        receiver.close()


def test_a_day_under_min_count_never_alerts(empty_db: str, engine: Engine) -> None:
    receiver = Receiver(SECRET)
    try:
        settings = monitor_settings(empty_db)
        n = history(engine, empty_db)
        search_id = saved(empty_db, receiver, {"on": "volume", "min_count": 7})
        store(engine, settings, *on_the_spike_day(n, 6))  # far above 3.0, but under 7
        assert deliver_due(engine, settings).delivered == 0
        assert receiver.received == []
        with Session(engine) as session:
            assert session.exec(select(SearchSpike)).all() == []
        with api(settings) as client:
            assert client.get(f"/searches/{search_id}").json()["last_spike"] is None
    finally:
        receiver.close()


def test_both_tells_of_matches_and_spikes_and_match_mode_of_matches_only(
    empty_db: str, engine: Engine
) -> None:
    receiver = Receiver(SECRET)
    try:
        settings = monitor_settings(empty_db)
        n = history(engine, empty_db)
        default = saved(empty_db, receiver, None)
        both = saved(empty_db, receiver, {"on": "both"})
        legacy = saved(empty_db, receiver, None)
        with Session(engine) as session:  # as saved before volume alerts: no alert settings
            unset = update(SavedSearch).where(col(SavedSearch.id) == legacy).values(alert=None)
            session.execute(unset)
            session.commit()
        store(engine, settings, *on_the_spike_day(n, 6))
        assert deliver_due(engine, settings).delivered == 4
        by_search = sorted((r.json()["search"]["id"], r.json()["type"]) for r in receiver.received)
        assert by_search == [
            (default, "search.matched"),
            (both, "search.matched"),
            (both, "search.volume_spike"),
            (legacy, "search.matched"),
        ]
        matched = next(r.json() for r in receiver.received if r.json()["search"]["id"] == default)
        assert len(matched["articles"]) == 6
        with api(settings) as client:
            for search_id in (default, legacy):
                shown = client.get(f"/searches/{search_id}").json()
                assert shown["alert"]["on"] == "match" and shown["last_spike"] is None
    finally:
        receiver.close()


def test_bad_alert_settings_answer_422(empty_db: str) -> None:
    with api(monitor_settings(empty_db)) as client:
        for alert, named in [
            ({"on": "spike"}, "on"),
            ({"on": "volume", "threshold": 0}, "threshold"),
            ({"on": "volume", "min_count": 0}, "min_count"),
            ({"on": "volume", "window": 1}, "window"),
            ({"on": "volume", "every": "day"}, "every"),
        ]:
            answer = client.post(
                "/searches", json={"name": "x", "query": {"q": "x"}, "alert": alert}, headers=AUTH
            )
            assert answer.status_code == 422, answer.text
            error = answer.json()
            assert error["code"] == "invalid_parameter" and named in error["detail"], error


def test_searches_add_takes_the_alert_options(empty_db: str) -> None:
    added = run_newsdesk(
        "searches",
        "add",
        "Taliban volume",
        "--query",
        "q=Taliban",
        "--alert-on",
        "both",
        "--alert-threshold",
        "2.5",
        "--alert-min-count",
        "3",
        "--alert-window",
        "14",
        database_url=empty_db,
    )
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert created["alert"] == {"on": "both", "threshold": 2.5, "min_count": 3, "window": 14}
    listed = run_newsdesk("searches", "list", database_url=empty_db)
    assert "both (>2.5 sd over 14 days, min 3)" in listed.stdout, listed.stdout
    bad = run_newsdesk(
        "searches", "add", "x", "--query", "q=x", "--alert-on", "daily", database_url=empty_db
    )
    assert bad.returncode == 2 and "--alert-on" in bad.stderr, bad.stderr


def test_a_batch_spread_over_decades_is_matched_and_checked(empty_db: str, engine: Engine) -> None:
    # Forty years of days is more than one timeline may hold: the check must not fail the
    # matching (which would leave the batch's matches unrecorded).
    receiver = Receiver(SECRET)
    try:
        settings = monitor_settings(empty_db)
        search_id = saved(empty_db, receiver, {"on": "volume", "min_count": 1})
        old, recent = date(1984, 1, 2), date(2024, 1, 2)
        report = store(engine, settings, article(1, old), article(2, recent))
        assert report
        with api(settings) as client:
            matched = client.get(f"/searches/{search_id}/articles").json()["items"]
        assert sorted(a["url"] for a in matched) == [
            "https://news.example/1",
            "https://news.example/2",
        ]
        # Each day is the first with an article: above a flat history of zeros, and at least 1.
        with Session(engine) as session:
            days = session.exec(select(SearchSpike.day).order_by(col(SearchSpike.day))).all()
        assert list(days) == [old, recent]
    finally:
        receiver.close()
