"""The test sites' feeds, sitemaps and article pages: made by benchmarks/newspages.py, which
the collection benchmark serves too (a benchmark does not import the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from newspages import (
    Story,
    article_page,
    atom,
    home_page,
    json_feed,
    load_stories,
    news_sitemap,
    plain_sitemap,
    rss1,
    rss2,
    sitemap_index,
)

__all__ = [
    "Story",
    "article_page",
    "atom",
    "home_page",
    "json_feed",
    "load_stories",
    "news_sitemap",
    "plain_sitemap",
    "rss1",
    "rss2",
    "sitemap_index",
]
