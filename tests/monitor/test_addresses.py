"""Webhook targets: http(s) only; loopback, private, link-local and metadata addresses refused
after resolution (a resolver is passed in, so a public-looking name can resolve to 10.x
offline), when saved and again when sent."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.db import create_db_engine
from app.monitor.deliveries import deliver_due
from app.monitor.searches import add_search
from app.net.addresses import RefusedTarget, Resolver, check_url
from tests.monitor.world import AUTH, api, draft, monitor_settings, store


def resolving_to(*addresses: str) -> Resolver:
    """A resolver that answers every name with these addresses (no DNS in tests)."""
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.1.2.3/", "private"),
        ("http://[::ffff:192.168.0.1]/", "private"),
        ("http://169.254.10.10/", "link-local"),
        ("ftp://example.org/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
def test_refused_targets(url: str, reason: str) -> None:
    with pytest.raises(RefusedTarget, match=reason):
        check_url(url, resolve=resolving_to("93.184.215.14"))


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    with pytest.raises(RefusedTarget, match=r"hooks\.example resolves to 10\.0\.0\.7"):
        check_url("https://hooks.example/in", resolve=resolving_to("93.184.215.14", "10.0.0.7"))
    public = check_url("https://hooks.example/in", resolve=resolving_to("93.184.215.14"))
    assert [str(a) for a in public] == ["93.184.215.14"]


def test_the_setting_allows_private_addresses_but_never_metadata() -> None:
    assert [str(a) for a in check_url("http://127.0.0.1:9/", allow_private=True)] == ["127.0.0.1"]
    with pytest.raises(RefusedTarget, match="metadata"):
        check_url("http://169.254.169.254/", allow_private=True)


def test_the_api_refuses_a_loopback_webhook_without_the_setting(empty_db: str) -> None:
    body = {"name": "x", "query": {}, "webhook_url": "http://127.0.0.1:9/hook"}
    with api(monitor_settings(empty_db, webhook_allow_private=False)) as client:
        refused = client.post("/searches", json=body, headers=AUTH)
        assert refused.status_code == 422
        assert refused.json()["code"] == "invalid_webhook"
        assert "NEWSDESK_WEBHOOK_ALLOW_PRIVATE" in refused.json()["detail"]
        metadata = {**body, "webhook_url": "http://169.254.169.254/"}
        assert client.post("/searches", json=metadata, headers=AUTH).status_code == 422
    with api(monitor_settings(empty_db)) as client:  # the setting on
        assert client.post("/searches", json=body, headers=AUTH).status_code == 201


def test_a_name_that_resolves_to_a_private_address_when_sent_is_not_requested(
    empty_db: str,
) -> None:
    settings = monitor_settings(
        empty_db, webhook_allow_private=False, webhook_retry_base_seconds=60
    )
    engine = create_db_engine(settings, writer=True)
    try:
        with Session(engine) as session:
            add_search(
                session,
                settings,
                "x",
                {"q": "Taliban"},
                "http://hooks.example/in",
                resolve=resolving_to("93.184.215.14"),
            )
            session.commit()
        store(engine, settings, draft(1, "Talks", "The Taliban met envoys."))
        # By the time it is sent, the name resolves to a private address (DNS rebinding).
        report = deliver_due(engine, settings, resolve=resolving_to("10.0.0.7"))
        assert report.failed_attempts == 1 and report.delivered == 0
        with api(settings) as client:
            (delivery,) = client.get("/searches/1/deliveries").json()["items"]
        (attempt,) = delivery["attempts"]
        assert attempt["status"] is None
        assert attempt["error"].startswith("refused: hooks.example resolves to 10.0.0.7")
    finally:
        engine.dispose()


def test_a_host_name_that_can_not_be_encoded_is_refused_not_an_error() -> None:
    with pytest.raises(RefusedTarget, match="not a host name"):
        check_url("http://" + "a" * 70 + ".example/")
