"""Sending queued webhook deliveries: signed, retried with backoff, at least once.

A delivery is claimed (its next attempt moved past the request's timeout) before it is sent,
so two deliverers don't send it at once, and marked delivered only after the receiver's 2xx:
a deliverer killed in between leaves it pending, and the next run sends it again with the
same id (Standard Webhooks `webhook-id`), which receivers use to drop the repeat. A failed
attempt waits `webhook_retry_base_seconds`, doubled per attempt; a delivery still failing
after `webhook_retry_window_seconds` gives up and marks its search's webhook failing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.db import run_retrying
from app.faults import kill_point
from app.models import SavedSearch, WebhookDelivery, utc_now
from app.net.addresses import RefusedTarget, Resolver, check_url, system_resolver

log = logging.getLogger("newsdesk.monitor")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Longest error text kept per attempt.
MAX_ERROR = 500


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0

    def summary(self) -> str:
        return (
            f"{self.delivered} delivered, {self.failed_attempts} failed attempts, "
            f"{self.given_up} given up"
        )


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends, read before the request so no session is held during it."""

    id: int
    delivery_id: str
    url: str
    secret: str
    payload: str


def sign_headers(secret: str, delivery_id: str, moment: datetime, payload: str) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery_id, moment, payload),
    }


class Deliverer:
    """Sends due deliveries of one database through one HTTP client."""

    def __init__(
        self, engine: Engine, settings: Settings, resolve: Resolver = system_resolver
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.resolve = resolve
        # Redirects are not followed: a redirect could point at an address refused here.
        self.client = httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def run(self, wait_seconds: float = 0.0, stop: threading.Event | None = None) -> DeliveryReport:
        """Send what is due, then wait for retries falling due within `wait_seconds` of the
        start (or until `stop` is set), and return."""
        report = DeliveryReport()
        deadline = time.monotonic() + wait_seconds
        while stop is None or not stop.is_set():
            self.send_due(report)
            upcoming = self.next_due()
            if upcoming is None:
                break
            pause = max((upcoming - utc_now()).total_seconds(), 0.0)
            if time.monotonic() + pause > deadline:
                break
            if stop is not None:
                stop.wait(pause)
            else:
                time.sleep(pause)
        return report

    def send_due(self, report: DeliveryReport) -> None:
        """One attempt of every delivery due now."""
        now = utc_now()
        with Session(self.engine) as session:
            due = session.exec(
                select(col(WebhookDelivery.id))
                .where(col(WebhookDelivery.state) == PENDING)
                .where(col(WebhookDelivery.next_attempt_at) <= now)
                .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            ).all()
        for row_id in due:
            if row_id is not None:
                outgoing = self._claim(row_id, now)
                if outgoing is not None:
                    self._attempt(outgoing, report)

    def next_due(self) -> datetime | None:
        """When the next pending delivery falls due (None: nothing pending)."""
        with Session(self.engine) as session:
            return session.exec(
                select(func.min(col(WebhookDelivery.next_attempt_at))).where(
                    col(WebhookDelivery.state) == PENDING
                )
            ).one()

    def _claim(self, row_id: int, now: datetime) -> Outgoing | None:
        """Take the delivery for this attempt; None when another deliverer has it or it
        has nowhere to go (its search lost its webhook: delivered to no one, it fails)."""
        lease = now + timedelta(seconds=self.settings.webhook_timeout_seconds + 5)

        def claim() -> Outgoing | None:
            with Session(self.engine) as session:
                taken = session.execute(
                    update(WebhookDelivery)
                    .where(col(WebhookDelivery.id) == row_id)
                    .where(col(WebhookDelivery.state) == PENDING)
                    .where(col(WebhookDelivery.next_attempt_at) <= now)
                    .values(next_attempt_at=lease)
                )
                delivery = session.get(WebhookDelivery, row_id)
                search = session.get(SavedSearch, delivery.search_id) if delivery else None
                if taken.rowcount != 1 or delivery is None or search is None:  # type: ignore[attr-defined]  # CursorResult
                    session.rollback()
                    return None
                if not search.webhook_url or not search.webhook_secret:
                    delivery.state, delivery.next_attempt_at = FAILED, None
                    session.add(delivery)
                    session.commit()
                    return None
                session.commit()
                return Outgoing(
                    row_id,
                    delivery.delivery_id,
                    search.webhook_url,
                    search.webhook_secret,
                    delivery.payload,
                )

        return run_retrying(claim)

    def _attempt(self, outgoing: Outgoing, report: DeliveryReport) -> None:
        moment = utc_now()
        status: int | None = None
        error: str | None = None
        try:
            check_url(
                outgoing.url,
                allow_private=self.settings.webhook_allow_private,
                resolve=self.resolve,
            )
            headers = sign_headers(outgoing.secret, outgoing.delivery_id, moment, outgoing.payload)
            response = self.client.post(outgoing.url, content=outgoing.payload, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"the receiver answered HTTP {status}"
        except RefusedTarget as refused:
            error = f"refused: {refused}"
        except httpx.TimeoutException:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        if error is None:
            kill_point("webhook_sent")
        run_retrying(lambda: self._record(outgoing, moment, status, error, report))

    def _record(
        self,
        outgoing: Outgoing,
        moment: datetime,
        status: int | None,
        error: str | None,
        report: DeliveryReport,
    ) -> None:
        with Session(self.engine) as session:
            delivery = session.get(WebhookDelivery, outgoing.id)
            if delivery is None:  # its search was deleted meanwhile
                return
            search = session.get(SavedSearch, delivery.search_id)
            attempt = {"at": moment.isoformat(), "status": status, "error": error}
            delivery.attempts = [*delivery.attempts, attempt]
            now = utc_now()
            if error is None:
                delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                    DELIVERED,
                    now,
                    None,
                )
                report.delivered += 1
                if search is not None and search.webhook_failing_since is not None:
                    search.webhook_failing_since = None
                    session.add(search)
            else:
                report.failed_attempts += 1
                log.warning("webhook delivery %s failed: %s", outgoing.delivery_id, error)
                self._reschedule(delivery, search, now, report)
                if search is not None:
                    session.add(search)
            session.add(delivery)
            session.commit()

    def _reschedule(
        self,
        delivery: WebhookDelivery,
        search: SavedSearch | None,
        now: datetime,
        report: DeliveryReport,
    ) -> None:
        settings = self.settings
        backoff = settings.webhook_retry_base_seconds * 2 ** (len(delivery.attempts) - 1)
        retry_at = now + timedelta(seconds=backoff)
        given_up_at = delivery.created_at + timedelta(seconds=settings.webhook_retry_window_seconds)
        if retry_at <= given_up_at:
            delivery.next_attempt_at = retry_at
            return
        delivery.state, delivery.next_attempt_at = FAILED, None
        report.given_up += 1
        if search is not None and search.webhook_failing_since is None:
            search.webhook_failing_since = now


def deliver_due(
    engine: Engine,
    settings: Settings,
    wait_seconds: float = 0.0,
    stop: threading.Event | None = None,
    resolve: Resolver = system_resolver,
) -> DeliveryReport:
    """Send what is due and the retries falling due within `wait_seconds`."""
    deliverer = Deliverer(engine, settings, resolve)
    try:
        return deliverer.run(wait_seconds, stop)
    finally:
        deliverer.close()


def deliver_until(
    engine: Engine, settings: Settings, stop: threading.Event, poll_seconds: float = 5.0
) -> None:
    """Send deliveries as they fall due until `stop` is set (beside `collect --watch`, in a
    thread of its own: a slow receiver never delays collection)."""
    deliverer = Deliverer(engine, settings)
    try:
        while not stop.is_set():
            try:
                deliverer.run(poll_seconds, stop)
            except Exception:  # a database outage must not end the watch: try again later
                log.exception("webhook deliveries interrupted")
            stop.wait(poll_seconds)
    finally:
        deliverer.close()
