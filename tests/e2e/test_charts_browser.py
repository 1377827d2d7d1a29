"""The timeline charts in a real headless Chromium: the SVG displays, one line per query,
spikes marked, and it loads as an <img> (a valid image for reports and embedding).

The same server and browser set-up as the docs test (tests/e2e/test_docs_browser.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app.config import PROJECT_ROOT
from tests.e2e.live import chromium
from tests.e2e.test_docs_browser import live_server

__all__ = ["live_server"]  # the fixture, shared with the docs test

pytestmark = pytest.mark.browser

SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "timeline-compare.png"


def test_the_compare_chart_displays_its_lines_and_spikes(live_server: str) -> None:
    # Monthly seed counts: all [1, 1, 0, 0, 0, 0, 0, 1]: November is a spike against the two
    # empty months before it; Asia Times [1, 0, ...] has none.
    params = [
        ("query", "all:"),
        ("query", "asia:source=Asia Times"),
        ("interval", "month"),
        ("spikes", "true"),
        ("spike_window", "2"),
        ("spike_min_count", "1"),
    ]
    url = f"{live_server}/timeline/compare.svg?{urlencode(params)}"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 500})
        response = page.goto(url)
        assert response is not None and response.status == 200
        chart = page.locator("svg").first.bounding_box()
        lines = page.locator("path.series")
        boxes = [lines.nth(i).bounding_box() for i in range(lines.count())]
        spikes = [
            page.locator("circle.spike").nth(i).bounding_box()
            for i in range(page.locator("circle.spike").count())
        ]
        labels = page.locator("text").evaluate_all("texts => texts.map(t => t.textContent)")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        embedding = browser.new_page()  # an HTML page showing the chart as an image
        embedding.set_content(f'<img id="chart" src="{url}">')
        embedding.wait_for_function("document.getElementById('chart').complete")
        natural = embedding.eval_on_selector(
            "#chart", "img => [img.naturalWidth, img.naturalHeight]"
        )
    assert chart is not None and (chart["width"], chart["height"]) == (860, 380)
    assert len(boxes) == 2
    for box in boxes:
        assert box is not None and box["width"] > 500 and box["height"] > 100
    assert len(spikes) == 1 and spikes[0] is not None and spikes[0]["width"] > 0
    assert {"all", "asia", "2024-04", "2024-11", "articles"} <= set(labels)
    assert natural == [860, 380]
