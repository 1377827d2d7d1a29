"""/docs in a real headless Chromium: every operation listed, and "Try it out" really works.

Runs `newsdesk serve` on a copy of the seeded database and drives Debian's chromium through
Playwright (never `playwright install`). Every request to a host other than 127.0.0.1 is
blocked and recorded: the docs must work offline. The screenshot lands in
test-artifacts/docs.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from app.config import PROJECT_ROOT
from tests.e2e.live import SEED_TITLES, chromium, free_port, stop, wait_until_serving

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.browser

SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "docs.png"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def newsdesk_command() -> list[str]:
    script = Path(sys.executable).parent / "newsdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


@pytest.fixture
def live_server(seeded_db: str, tmp_path: Path) -> Iterator[str]:
    """`newsdesk serve` on a free loopback port over this test's copy of the seeded DB."""
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {**os.environ, "DATABASE_URL": seeded_db}
    command = [*newsdesk_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(
            base_url, lambda: process.poll() is None, timeout=60, log=log_path.read_text
        )
        yield base_url
    finally:
        stop(process)


def operations(base_url: str) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation the server's OpenAPI document declares."""
    spec = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_docs_page_lists_every_operation_and_runs_a_search(live_server: str) -> None:
    expected = operations(live_server)
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.route("**/*", only_loopback)
        page.goto(f"{live_server}/docs")
        page.wait_for_selector(".opblock-summary", timeout=30_000)
        listed = listed_operations(page)
        body = try_out_search(page, "Taliban")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert blocked == [], f"the docs page tried to reach other hosts: {blocked}"
    assert listed == expected
    result = json.loads(body)
    assert result["total"] == 5
    titles = {item["title"] for item in result["items"]}
    assert titles >= SEED_TITLES
    assert all("taliban" in (item["snippet"] or "").lower() for item in result["items"])


def listed_operations(page: Page) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation block Swagger UI rendered."""
    pairs = page.eval_on_selector_all(
        ".opblock-summary",
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ])""",
    )
    return {(method, path) for method, path in pairs}


def try_out_search(page: Page, query: str) -> str:
    """Expand GET /articles, fill q, execute; return the response body the page shows."""
    block = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/articles"]')
    )
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.locator('tr[data-param-name="q"] input').fill(query)
    block.get_by_role("button", name="Execute").click()
    response = block.locator(".live-responses-table .response")
    response.wait_for(timeout=30_000)
    assert response.locator(".response-col_status").inner_text().strip() == "200"
    body = response.locator(".response-col_description pre")
    body.first.scroll_into_view_if_needed()
    return str(body.first.inner_text())
