"""Feeds, sitemaps and article pages made from the BBC corpus, with realistic markup:
navigation, a byline, dates in meta tags and in the text, related links, comments. The
collector's tests serve them (tests/collect/corpus.py) and so does its benchmark (collect.py)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass
class Story:
    """One corpus article as a site publishes it."""

    slug: str  # e.g. politics-001
    category: str
    title: str
    paragraphs: list[str]
    published: datetime
    author: str = "Staff reporter"

    @property
    def path(self) -> str:
        return f"/news/{self.slug}"


def load_stories(corpus: Path, category: str, count: int, start: int = 1) -> list[Story]:
    """`count` articles of a category, from file `start` on, dated a day apart in 2005."""
    stories = []
    for number in range(start, start + count):
        text = (corpus / category / f"{number:03d}.txt").read_text(encoding="latin-1")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        stories.append(
            Story(
                slug=f"{category}-{number:03d}",
                category=category,
                title=lines[0],
                paragraphs=lines[1:],
                published=datetime(2005, 2, 1, 9, 30, tzinfo=UTC) + timedelta(days=number),
            )
        )
    return stories


def article_page(story: Story, *, charset: str = "utf-8", extra_head: str = "") -> str:
    """The story as a news site's page."""
    day = story.published
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}">
<title>{html.escape(story.title)} - Test News</title>
<meta property="og:title" content="{html.escape(story.title)}">
<meta property="og:site_name" content="Test News">
<meta name="author" content="{html.escape(story.author)}">
<meta property="article:published_time" content="{day.isoformat()}">
<link rel="canonical" href="{story.path}">
{extra_head}
</head><body>
<header><nav><a href="/">Home</a> <a href="/{story.category}/">{story.category.title()}</a>
<a href="/about">About us</a></nav></header>
<main><article>
<h1>{html.escape(story.title)}</h1>
<p class="byline">By {html.escape(story.author)}</p>
<time datetime="{day.isoformat()}">{day:%d %B %Y}</time>
{body}
</article>
<aside><h2>Related stories</h2>
<ul><li><a href="/news/related-999">Another story</a></li></ul></aside>
<section class="comments"><h2>Comments</h2><p>Great article, thanks!</p></section>
</main><footer>Copyright Test News</footer></body></html>"""


def rss2(
    stories: list[Story], *, dated: bool = True, relative: bool = False, base: str = ""
) -> str:
    items = []
    for story in stories:
        link = story.path if relative else base + story.path
        date = f"<pubDate>{story.published:%a, %d %b %Y %H:%M:%S} GMT</pubDate>" if dated else ""
        items.append(
            f"<item><title>{escape(story.title)}</title><link>{escape(link)}</link>"
            f"<description>{escape(story.paragraphs[0])}</description>{date}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Test News</title><link>{base}/</link>{''.join(items)}</channel></rss>"
    )


def rss1(stories: list[Story], base: str) -> str:
    items = "".join(
        f'<item rdf:about="{base}{s.path}"><title>{escape(s.title)}</title>'
        f"<link>{base}{s.path}</link><dc:date>{s.published.isoformat()}</dc:date></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="{base}/"><title>Test News RDF</title><link>{base}/</link>'
        f"</channel>{items}</rdf:RDF>"
    )


def atom(stories: list[Story], base: str) -> str:
    entries = "".join(
        f'<entry><title>{escape(s.title)}</title><link href="{base}{s.path}"/>'
        f"<id>{base}{s.path}</id><updated>{s.published.isoformat()}</updated>"
        f"<author><name>{escape(s.author)}</name></author></entry>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Test News Atom</title><id>{base}/</id>"
        f"<updated>2005-03-01T00:00:00Z</updated>{entries}</feed>"
    )


def json_feed(stories: list[Story], base: str) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Test News JSON",
            "items": [
                {
                    "id": s.slug,
                    "url": base + s.path,
                    "title": s.title,
                    "date_published": s.published.isoformat(),
                }
                for s in stories
            ],
        }
    )


def news_sitemap(stories: list[Story], base: str) -> str:
    urls = "".join(
        f"<url><loc>{base}{s.path}</loc><news:news><news:publication>"
        "<news:name>Test News</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{s.published.isoformat()}</news:publication_date>"
        f"<news:title>{escape(s.title)}</news:title></news:news></url>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{urls}</urlset>"
    )


def plain_sitemap(stories: list[Story], base: str) -> str:
    """A sitemap without news tags: each URL dated by its `<lastmod>`."""
    urls = "".join(
        f"<url><loc>{base}{s.path}</loc><lastmod>{s.published.isoformat()}</lastmod></url>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    )


def sitemap_index(paths: list[str], base: str, lastmods: list[str] | None = None) -> str:
    """An index of the sitemaps at `paths`, each last modified on 2005-03-01 unless given."""
    days = lastmods or ["2005-03-01"] * len(paths)
    maps = "".join(
        f"<sitemap><loc>{base}{path}</loc><lastmod>{day}</lastmod></sitemap>"
        for path, day in zip(paths, days, strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>'
    )


def home_page(stories: list[Story], feed_path: str | None) -> str:
    link = (
        f'<link rel="alternate" type="application/rss+xml" title="RSS" href="{feed_path}">'
        if feed_path
        else ""
    )
    items = "".join(f'<li><a href="{s.path}">{html.escape(s.title)}</a></li>' for s in stories)
    return (
        f"<!DOCTYPE html><html><head><title>Test News</title>{link}"
        '<meta property="og:site_name" content="Test News"></head><body>'
        '<nav><a href="/">Home</a><a href="/politics/">Politics</a><a href="/about">About</a></nav>'
        f"<ul>{items}</ul></body></html>"
    )
