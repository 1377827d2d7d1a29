"""Saved web pages: the patterns real pages showed (issue 15), each on a small page of our own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.ingest.document import ArticleDraft
from app.ingest.extract.dates import parse_date
from app.ingest.extract.html import extract_html_article
from app.ingest.extract.plaintext import extract_text_article
from app.ingest.read.readers import read_path

HTML_CORPUS = Path(__file__).resolve().parents[3] / "shared/corpus/html/pages"

STORY = [
    "The town council approved the new budget on Monday after a long debate among its members,"
    " who met for six hours in the old hall by the river.",
    "Residents will see lower fees from April, the mayor said at a meeting in the town hall,"
    " where more than two hundred people came to hear the plan.",
    "Opposition members said the cuts would hurt libraries and parks across the valley, and"
    " promised to bring the question back before the summer recess.",
]


def page(
    *paragraphs: str,
    head: str = "",
    h1: str | None = "Council passes budget",
    before: str = "",
    lang: str = "en",
) -> str:
    """A small article page: a head, an optional h1, then paragraphs in an <article>."""
    heading = f"<h1>{h1}</h1>" if h1 else ""
    body = "".join(f"<p>{text}</p>" for text in paragraphs or STORY)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
        f"<body>{before}<article>{heading}{body}</article></body></html>"
    )


def extract(html: str, url: str | None = None) -> ArticleDraft:
    return extract_html_article(html, "page.html", url=url)


# the opening paragraph stays in the body


def test_japanese_opening_paragraph_is_not_cut_as_a_standfirst() -> None:
    opening = "ネット社会の現代でも、多くの人に読まれている新聞。そんな新聞を記録したい人もいる。"
    draft = extract(page(opening, *STORY, lang="ja"))
    assert draft.body.startswith(opening)
    assert draft.subtitle is None


def test_opening_paragraph_with_a_line_break_inside_stays_whole() -> None:
    opening = (
        "Few young actors have grown up in public as Daniel Radcliffe and Emma<br>"
        "Watson grew up, on sets in England over ten years of filming"
    )
    draft = extract(page(opening, *STORY))
    assert draft.body.startswith("Few young actors have grown up in public")
    assert "Watson grew up" in draft.body.split("\n\n")[0] + draft.body.split("\n\n")[1]
    assert draft.subtitle is None


def test_a_short_label_above_the_story_is_dropped() -> None:
    draft = extract(page("Highlights", *STORY))
    assert draft.body.startswith("The town council approved")


def test_lines_in_one_paragraph_with_the_story_open_it() -> None:
    # A post's paragraph opens with the topic's name and the headline again, broken by <br>
    # from its first sentences. The headline, date and label above stand in elements of
    # their own and go; the lines inside the story's paragraph are the story's.
    entry = "<br>".join(["<a href='/budget'>Budget 2019</a><br>", "Council passes budget", *STORY])
    head = '<div class="date">March 18, 2019</div><div><span>Sponsored link</span></div>'
    draft = extract(page(entry).replace("</h1>", f"</h1>{head}"))
    assert draft.body.startswith("Budget 2019\n\nCouncil passes budget\n\nThe town council")
    assert "Sponsored link" not in draft.body


def test_byline_in_one_paragraph_with_the_story_is_still_taken_out() -> None:
    html = page(f"By Ann Lee<br>{STORY[0]}", *STORY[1:])
    draft = extract(html)
    assert draft.body.startswith("The town council approved")
    assert draft.author == "Ann Lee"


CAPTION = "The old hall by the river, where the council met for six hours on Monday."


def figure(caption: str = CAPTION) -> str:
    return f'<figure><img src="hall.jpg" alt=""><figcaption>{caption}</figcaption></figure>'


def test_caption_of_a_figure_just_above_the_first_paragraph_opens_the_body() -> None:
    html = page(*STORY).replace("</h1>", f"</h1>{figure()}<p></p>")
    draft = extract(html)
    assert draft.body.startswith(CAPTION)
    assert draft.body.split("\n\n")[1].startswith("The town council approved")


def test_caption_of_a_figure_outside_the_article_is_left_out() -> None:
    draft = extract(page(*STORY, before=figure()))
    assert draft.body.startswith("The town council approved")
    assert CAPTION not in draft.body


STANDFIRST = "Six hours of debate ended with a vote that cuts fees and closes two libraries."


def test_standfirst_in_the_article_header_opens_the_body_but_not_a_byline() -> None:
    header = (
        f"<header><h1>Council passes budget</h1><div>{STANDFIRST}</div><div>Ann Lee</div></header>"
    )
    html = page(*STORY, h1=None).replace("<article>", f"<article>{header}")
    assert extract(html).body.startswith(STANDFIRST)
    byline = "By Ann Lee and Bo Chan on Monday, November 18th, 2019 at 11:08 a.m."
    assert byline not in extract(html.replace(STANDFIRST, byline)).body


def test_standfirst_under_the_headline_opens_the_body_without_a_header_element() -> None:
    # No <header>: the block holding the <h1> is the article's header (a "teaser" block,
    # which trafilatura leaves out). The standfirst has line breaks inside it and a list of
    # tag links below it; a photo stands between it and the body's container.
    tags = " | ".join(f'<a href="/tag/{tag}">{tag}</a>' for tag in ("budget", "council", "parks"))
    head = (
        '<div class="teaser"><div class="meta">18/03/2019 | Ann Lee</div>'
        "<h1>Council passes budget</h1>"
        "<div><p>Six hours of debate ended<br> with a vote that cuts fees<br>"
        " and closes two libraries.</p></div>"
        f'<div class="tags">{tags} | <a href="/tag/libraries">town libraries</a></div></div>'
        '<div class="pic"><img src="hall.jpg" alt=""></div>'
    )
    html = page(*STORY, h1=None).replace("<article>", f"<article>{head}<div><section>")
    html = html.replace("</article>", "</section></div></article>")
    assert extract(html).body.startswith(STANDFIRST)


def test_a_paragraph_beside_the_headline_is_not_taken_for_a_standfirst() -> None:
    # The <h1> shares its block with the body: that block is no header, and its last
    # paragraph stays where it is.
    closing = "The next budget debate is set for the spring, when the council meets again."
    h1 = "Council passes the new budget after six hours of debate"
    html = page(*STORY, closing, h1=None).replace("<article>", f"<article><div><h1>{h1}</h1>")
    html = html.replace("</article>", "</div></article>")
    draft = extract(html)
    assert draft.body.startswith(STORY[0])
    assert draft.body.endswith(closing)


def test_short_linked_paragraph_opening_the_text_is_kept_but_not_a_byline() -> None:
    # Precision drops a short paragraph that is all link (a link to the original story);
    # directly above the first paragraph it is the article's. A byline there, in a language
    # the text rules do not read, stays out.
    link = '<p><a href="/original"><em>The original story, in English</em></a></p>'
    html = page(*STORY).replace("</h1>", f"</h1>{link}")
    draft = extract(html)
    assert draft.body.startswith("The original story, in English\n\nThe town council approved")
    for line in ("By Ann Lee", "Von Ann-Kathrin Lee-Schmidt"):
        byline = extract(page(*STORY).replace("</h1>", f'</h1><p class="byline">{line}</p>'))
        assert byline.body.startswith("The town council approved")


def test_text_standfirst_rule_counts_other_sentence_ends() -> None:
    text = "Council passes budget\n\n新しい予算が承認された。\n\nThe council met on Monday.\n"
    draft = extract_text_article(text, "a.txt")
    assert draft.subtitle is None
    assert draft.body.startswith("新しい予算が承認された。")


# a reading of the page's interface is not its text

PLAYER = [
    "If playback doesn't begin shortly, try restarting your device.",
    "You're signed out",
    "Videos you watch may be added to the TV's watch history and influence TV"
    " recommendations. To avoid this, cancel and sign in to the site on your computer.",
    "Switch camera",
    "Watch ads now so you can enjoy fewer interruptions",
    "Got it",
]


def video_page(*texts: str) -> str:
    head = (
        '<meta property="og:title" content="Town Forum 2016 - Keynote by Ann Lee">'
        '<meta property="og:description" content="Keynote by Ann Lee">'
    )
    return page(*texts, h1=None, head=head)


def test_video_page_whose_text_is_its_player_has_its_description_for_body() -> None:
    # trafilatura reads only the player's interface: nothing in it names what the headline
    # and description name, so the page's own description is the text.
    draft = extract(video_page(*PLAYER))
    assert draft.body == "Keynote by Ann Lee"
    assert draft.title == "Town Forum 2016 - Keynote by Ann Lee"


def test_short_text_that_names_the_topic_is_kept_over_the_description() -> None:
    text = "Ann Lee opened the town forum with a keynote on the new budget and its cuts."
    draft = extract(video_page(*PLAYER, text))
    assert text in draft.body
    assert draft.body != "Keynote by Ann Lee"


# pages the precise reading empties are read again before being refused


@pytest.mark.skipif(not HTML_CORPUS.is_dir(), reason=f"real saved pages not found at {HTML_CORPUS}")
def test_page_whose_precise_reading_is_empty_is_read_with_defaults() -> None:
    # A short blog post (a link, two lines and a picture in one <p>): trafilatura's precise
    # reading keeps nothing of it, its default reading finds it. Ingest refused it before.
    [draft] = list(read_path(HTML_CORPUS / "postlight/phpspot.org.html"))
    assert isinstance(draft, ArticleDraft), draft
    assert "codepen" in draft.body


@pytest.mark.skipif(not HTML_CORPUS.is_dir(), reason=f"real saved pages not found at {HTML_CORPUS}")
def test_opening_paragraph_dropped_inside_the_article_is_given_back() -> None:
    # Precision drops the first paragraph between the headline and the second paragraph;
    # the default reading has it there. A standfirst above the article's own container (the
    # second page) stays out, as precision meant.
    [news] = list(read_path(HTML_CORPUS / "postlight/www.phoronix.com.html"))
    assert isinstance(news, ArticleDraft)
    assert news.body.startswith("With the start of a new month, Valve has published")
    [feature] = list(read_path(HTML_CORPUS / "scrapinghub/042bb7b5fedab6ea.html"))
    assert isinstance(feature, ArticleDraft)
    assert feature.body.startswith("Gaming used to be so simple.")


# dates


def test_page_with_a_first_and_a_later_date_is_dated_by_the_first() -> None:
    # No published-date tag: htmldate decides, and it must look for the original date,
    # not the latest (an update) the page shows.
    times = '<time datetime="2019-03-05">5 March</time> <time datetime="2020-06-01">1 June</time>'
    draft = extract(page(*STORY).replace("</h1>", f"</h1>{times}"))
    assert draft.published_at == datetime(2019, 3, 5, tzinfo=UTC)
    assert draft.provenance["published_at"] == "html-meta:htmldate"


def test_date_printed_in_the_page_is_found_when_the_markup_has_none() -> None:
    draft = extract(
        page(*STORY, before="<aside><p>Last year, on April 17, 2019, we met.</p></aside>")
    )
    assert draft.published_at is not None
    assert draft.published_at.date() == datetime(2019, 4, 17).date()
    assert draft.provenance["published_at"] == "html-meta:htmldate"


def test_date_in_the_sidecar_url_is_used_by_the_page_reading(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text(page(*STORY), encoding="utf-8")
    url = "https://news.example.org/2019/04/03/council-passes-budget"
    (tmp_path / "p.json").write_text(json.dumps({"url": url}), encoding="utf-8")
    [draft] = list(read_path(tmp_path / "p.html"))
    assert isinstance(draft, ArticleDraft)
    assert draft.published_at == datetime(2019, 4, 3, tzinfo=UTC)


def test_numeric_dates_follow_the_pages_language() -> None:
    assert parse_date("06.05.2018", languages=["de", "en"]) == datetime(2018, 5, 6, tzinfo=UTC)
    assert parse_date("06.05.2018", languages=["en"]) == datetime(2018, 6, 5, tzinfo=UTC)
    head = '<meta name="vr:published-time" content="06.05.2018 18:50">'
    draft = extract(page(*STORY, head=head, lang="de"))
    assert draft.published_at == datetime(2018, 5, 6, 18, 50, tzinfo=UTC)


def test_stated_published_date_beats_other_dates_and_the_disagreement_is_recorded() -> None:
    head = (
        '<meta property="article:published_time" content="2016-10-13T15:35:00+00:00">'
        '<meta property="article:modified_time" content="2022-08-09T10:00:00+00:00">'
        '<meta property="og:updated_time" content="2022-08-09T10:00:00+00:00">'
    )
    draft = extract(page(*STORY, head=head, before="<p>Updated August 9, 2022</p>"))
    assert draft.published_at == datetime(2016, 10, 13, 15, 35, tzinfo=UTC)
    assert draft.provenance["published_at"].startswith("html-meta:article:published_time")


def test_json_ld_date_published_is_the_date() -> None:
    data = {"@type": "NewsArticle", "datePublished": "2020-01-20T10:00:08+08:00"}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    draft = extract(page(*STORY, head=head))
    assert draft.published_at == datetime(2020, 1, 20, 2, 0, 8, tzinfo=UTC)
    assert draft.provenance["published_at"].startswith("html-meta:jsonld")


def test_disagreeing_published_statements_take_the_one_htmldate_agrees_with() -> None:
    """A JSON-LD block for the web page beside the article's own published_time: the
    statement that htmldate's independent reading confirms wins, not simply the first."""
    data = {"@type": "WebPage", "datePublished": "2023-11-03T10:25:56+00:00"}
    head = (
        f'<script type="application/ld+json">{json.dumps(data)}</script>'
        '<meta property="article:published_time" content="2023-11-06T14:25:00+00:00">'
    )
    draft = extract(page(*STORY, head=head, before="<p>6 November 2023</p>"))
    assert draft.published_at == datetime(2023, 11, 6, 14, 25, tzinfo=UTC)
    assert draft.provenance["published_at"] == "html-meta:article:published_time"


def test_microdata_date_published_on_a_visible_element_is_stated() -> None:
    listing = (
        '<dl><dt>Published</dt><dd itemprop="datePublished" content="2019-04-26">'
        "April 2019</dd></dl>"
    )
    html = page(*STORY, before=listing).replace(
        "</article>", "</article><footer>© 2022 Example</footer>"
    )
    draft = extract(html)
    assert draft.published_at == datetime(2019, 4, 26, tzinfo=UTC)
    assert draft.provenance["published_at"].startswith("html-meta:datepublished")


@pytest.mark.parametrize(
    ("shown", "lang", "day"),
    [
        ("2019年04月21日 12時00分更新", "ja", datetime(2019, 4, 21, tzinfo=UTC)),
        ("2019年4月4日", "ja", datetime(2019, 4, 4, tzinfo=UTC)),
    ],
)
def test_the_pages_date_element_beats_a_bare_copyright_year(
    shown: str, lang: str, day: datetime
) -> None:
    """htmldate reads "© 2022" as 1 January 2022 when it cannot read the page's own date
    (written the Japanese way): the element the page names as its date is read instead."""
    html = page(*STORY, before=f'<div class="pubdate">{shown}</div>', lang=lang)
    html = html.replace("</article>", "</article><footer>Copyright © 2022 Example</footer>")
    draft = extract(html)
    assert draft.published_at == day
    assert draft.provenance["published_at"] == "html-meta:date-element"


def test_the_pages_date_element_beats_htmldate_finding_only_the_modified_time() -> None:
    """Asked for the original date, htmldate can answer with og:updated_time; the date the
    page prints in its own date element is the publication."""
    head = '<meta property="og:updated_time" content="2020-06-02T11:57:06+02:00">'
    shown = '<time class="field-node-create-date">31.03.2020</time>'
    draft = extract(page(*STORY, head=head, before=shown, lang="de"))
    assert draft.published_at == datetime(2020, 3, 31, tzinfo=UTC)
    assert draft.provenance["published_at"] == "html-meta:date-element"


# titles


def test_site_logo_h1_is_not_the_headline() -> None:
    head = "<title>Council passes budget - GAZETTE</title>"
    html = page(*STORY, head=head, h1="GAZETTE Gazette Logo")
    draft = extract(html, url="https://www.gazette.example/news/budget")
    assert draft.title == "Council passes budget"


def test_widget_heading_loses_to_the_headline_the_page_agrees_on() -> None:
    head = '<title>Council passes budget | The Gazette</title><meta name="og:title" value="x">'
    html = page(*STORY, head=head, h1="Council passes budget")
    html = html.replace("</article>", "</article><h1>Follow us on Twitter</h1>")
    assert extract(html).title == "Council passes budget"


def test_site_name_is_cut_from_the_title() -> None:
    head = (
        '<meta property="og:title" content="Your holiday outfit, illustrated - Giggles">'
        '<meta property="og:site_name" content="Giggles">'
        "<title>Your holiday outfit, illustrated - Giggles</title>"
    )
    draft = extract(page(*STORY, head=head, h1=None))
    assert draft.title == "Your holiday outfit, illustrated"
    assert draft.provenance["title"].startswith("html-meta:")


def test_site_name_repeated_by_an_h1_is_cut_from_an_unspaced_title() -> None:
    head = "<title>这个约会软件，想用你和对方的相似好恶来帮你找对象_智能_好奇心日报</title>"
    html = page(*STORY, head=head, h1="好奇心日报", lang="zh")
    assert extract(html).title == "这个约会软件，想用你和对方的相似好恶来帮你找对象"


def test_headline_with_a_separator_inside_it_is_kept_when_sources_agree() -> None:
    head = (
        '<meta property="og:title" content="ElixirConf 2016 - Keynote by José Valim">'
        "<title>ElixirConf 2016 - Keynote by José Valim</title>"
    )
    html = page(*STORY, head=head, h1="ElixirConf 2016 - Keynote by José Valim")
    assert extract(html).title == "ElixirConf 2016 - Keynote by José Valim"


# authors


def test_json_ld_author_list_is_kept_whole() -> None:
    names = ["Ana Lima", "Ben Ode", "Cy Park", "Di Ross"]
    data = {"@type": "NewsArticle", "author": [{"@type": "Person", "name": n} for n in names]}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    draft = extract(page(*STORY, head=head))
    assert draft.author == "Ana Lima, Ben Ode, Cy Park, Di Ross"
    assert draft.provenance["author"] == "html-meta:jsonld"


def test_meta_author_that_is_not_a_name_is_refused() -> None:
    for non_name in ("See full bio", "January", "Lesedauer", "https://example.org/staff/ana"):
        draft = extract(page(*STORY, head=f'<meta name="author" content="{non_name}">'))
        assert draft.author is None, non_name


def test_page_text_and_job_titles_after_a_name_are_cut() -> None:
    cases = {
        "Oli Coleman View author archive Get author RSS feed": "Oli Coleman",
        "Sam Stein, Senior Politics Editor; The Huffington Post": "Sam Stein",
    }
    for written, name in cases.items():
        draft = extract(page(*STORY, head=f'<meta name="author" content="{written}">'))
        assert draft.author == name


def test_meta_author_in_a_value_attribute_is_read() -> None:
    draft = extract(page(*STORY, head='<meta name="author" value="Lisa de Moraes">'))
    assert draft.author == "Lisa de Moraes"


# text files: headlines ending in a full stop, section labels


WIRE = (
    "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT .\n\n"
    "Japan began the defence of their Asian Cup title with a lucky 2-1 win against Syria in"
    " a Group C championship match on Friday .\n\n"
    "But China saw their luck desert them in the second match of the group .\n"
)


def test_section_label_over_a_capitals_headline_is_not_a_dateline() -> None:
    draft = extract_text_article(WIRE, "wire.txt")
    assert draft.title == "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT ."
    assert draft.dateline is None
    assert draft.body.startswith("Japan began the defence")


def test_title_case_headline_ending_in_a_full_stop_is_a_headline() -> None:
    lede = "The council approved the new budget on Monday after a long debate among its members."
    draft = extract_text_article(f"Ex-Minister Jailed For Fraud.\n\n{lede}\n", "a.txt")
    assert draft.title == "Ex-Minister Jailed For Fraud."
    assert draft.body == lede
    sentence = extract_text_article(f"The council met on Monday to vote.\n\n{lede}\n", "b.txt")
    assert sentence.title is None


# .json files holding an array of articles


def test_json_file_holding_an_array_is_read_as_many_articles(tmp_path: Path) -> None:
    items = [
        {"title": "Council passes budget", "body": STORY[0], "published": "2023-01-10"},
        {"title": "Library opens", "body": STORY[1]},
        ["not an article"],
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(items), encoding="utf-8")
    results = list(read_path(export, root=tmp_path))
    drafts = [result for result in results if isinstance(result, ArticleDraft)]
    assert [draft.title for draft in drafts] == ["Council passes budget", "Library opens"]
    assert [result.origin for result in results] == [f"{export}:{number}" for number in (1, 2, 3)]
    assert drafts[0].published_at == datetime(2023, 1, 10, tzinfo=UTC)
    [failure] = [result for result in results if not isinstance(result, ArticleDraft)]
    assert "item 3" in failure.reason
