"""Webhook deliveries to a real receiver on 127.0.0.1: signed (verified with the
standardwebhooks library on the receiving side), retried with backoff, given up after the
retry window, never in the way of an ingest, and sent again with the same id after the
deliverer is killed mid-delivery; on every engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import PROJECT_ROOT
from app.models import SavedSearch, WebhookDelivery
from app.monitor.deliveries import deliver_due
from tests.monitor.receiver import HANG, Receiver
from tests.monitor.world import api, draft, monitor_settings, save_search, store

TALIBAN = "Taliban delegation meets Russian officials in Kabul to discuss trade."


def receiver_for(script: list[int]) -> Receiver:
    # The secret is the one the search is saved with (chosen by the test, as a client may).
    return Receiver("whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==", script)


def saved_with(empty_db: str, receiver: Receiver, **overrides: object) -> int:
    with api(monitor_settings(empty_db, **overrides)) as client:
        created = save_search(
            client,
            name="Taliban",
            query={"q": "Taliban"},
            webhook_url=receiver.url,
            webhook_secret=receiver.secret,
        )
    return int(created["id"])


def deliveries(engine: Engine) -> list[WebhookDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))).all())


def test_a_receiver_failing_twice_gets_the_delivery_once_signed_after_3_attempts(
    empty_db: str, engine: Engine
) -> None:
    receiver = receiver_for([500, 503, 204])
    try:
        settings = monitor_settings(empty_db)
        search_id = saved_with(empty_db, receiver)
        store(engine, settings, draft(1, "Talks", TALIBAN), draft(2, "Other", "Rain today."))
        report = deliver_due(engine, settings, wait_seconds=30)
        assert (report.delivered, report.failed_attempts) == (1, 2)
        assert len(receiver.received) == 3
        assert all(r.verified for r in receiver.received)
        assert len({r.delivery_id for r in receiver.received}) == 1
        body = receiver.received[-1].json()
        assert body["delivery_id"] == receiver.received[-1].delivery_id
        assert body["search"]["id"] == search_id
        assert [a["url"] for a in body["articles"]] == ["https://news.example/1"]
        assert {"id", "title", "snippet", "entities", "source"} <= set(body["articles"][0])
        with api(settings) as client:
            shown = client.get(f"/searches/{search_id}/deliveries").json()["items"]
        assert [d["state"] for d in shown] == ["delivered"]
        assert [a["status"] for a in shown[0]["attempts"]] == [500, 503, 204]
        assert shown[0]["attempts"][0]["error"] == "the receiver answered HTTP 500"
        assert shown[0]["attempts"][2]["error"] is None
        # Nothing is due any more: a second run sends nothing.
        assert deliver_due(engine, settings).delivered == 0
        assert len(receiver.received) == 3
    finally:
        receiver.close()


def test_a_receiver_that_never_answers_blocks_no_ingest_and_is_given_up_on(
    empty_db: str, engine: Engine
) -> None:
    receiver = receiver_for([HANG])
    try:
        settings = monitor_settings(
            empty_db, webhook_timeout_seconds=0.5, webhook_retry_window_seconds=5.0
        )
        search_id = saved_with(empty_db, receiver)
        # The ingest queues the delivery and returns: no request is made while storing.
        store(engine, settings, draft(1, "Talks", TALIBAN))
        assert receiver.received == []
        assert [d.state for d in deliveries(engine)] == ["pending"]
        report = deliver_due(engine, settings, wait_seconds=30)
        assert report.delivered == 0 and report.given_up == 1
        assert report.failed_attempts >= 2  # retried before the window closed
        (delivery,) = deliveries(engine)
        assert delivery.state == "failed"
        assert {a["error"] for a in delivery.attempts} == {"no answer within 0.5 s"}
        assert len(receiver.received) == len(delivery.attempts)
        with Session(engine) as session:
            search = session.get(SavedSearch, search_id)
            assert search is not None and search.webhook_failing_since is not None
        # Another batch still stores and queues while the webhook is failing.
        store(engine, settings, draft(2, "More talks", TALIBAN + " Again."))
        assert [d.state for d in deliveries(engine)] == ["failed", "pending"]
    finally:
        receiver.close()


def test_a_delivery_cut_by_kill_9_is_sent_again_with_the_same_id(
    empty_db: str, engine: Engine
) -> None:
    receiver = receiver_for([204])
    try:
        settings = monitor_settings(empty_db)
        saved_with(empty_db, receiver)
        store(engine, settings, draft(1, "Talks", TALIBAN))
        environment = {
            "DATABASE_URL": empty_db,
            "NEWSDESK_WEBHOOK_ALLOW_PRIVATE": "1",
            "NEWSDESK_WEBHOOK_TIMEOUT_SECONDS": "1",
            "NEWSDESK_SEARCH_ENGINE": settings.search_engine,
        }
        killed = newsdesk(
            "deliver", "--wait", "0", NEWSDESK_FAULT_KILL_AT="webhook_sent", **environment
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert len(receiver.received) == 1  # the receiver got it; its answer was not recorded
        assert [d.state for d in deliveries(engine)] == ["pending"]
        again = newsdesk("deliver", "--wait", "30", **environment)
        assert again.returncode == 0, again.stderr
        assert "1 delivered" in again.stdout
        assert len(receiver.received) == 2
        first, second = receiver.received
        assert first.delivery_id == second.delivery_id and first.body == second.body
        assert second.verified
        (delivery,) = deliveries(engine)
        assert delivery.state == "delivered"
        assert delivery.delivery_id == first.delivery_id
    finally:
        receiver.close()


def newsdesk(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **environ},
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def test_collect_watch_sends_deliveries_beside_its_rounds(empty_db: str, engine: Engine) -> None:
    receiver = receiver_for([204])
    try:
        settings = monitor_settings(empty_db)
        saved_with(empty_db, receiver)
        store(engine, settings, draft(1, "Talks", TALIBAN))
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "collect", "--watch", "--no-nlp"],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "DATABASE_URL": empty_db,
                "NEWSDESK_WEBHOOK_ALLOW_PRIVATE": "1",
                "NEWSDESK_SEARCH_ENGINE": settings.search_engine,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while [d.state for d in deliveries(engine)] != ["delivered"]:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0, err
        assert len(receiver.received) == 1 and receiver.received[0].verified
        (delivery,) = deliveries(engine)
        assert delivery.state == "delivered"
    finally:
        receiver.close()
