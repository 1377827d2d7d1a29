"""Finding and reading article files: sidecars, encodings, JSON, HTML, bad input, the BBC corpus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.ingest.document import HTML_META, SIDECAR, URL, ArticleDraft, ReadFailure, from_text
from app.ingest.read.readers import discover, read_path

REPO = Path(__file__).resolve().parents[2]
ARTICLE = (
    "Council passes budget\n\nPublished: 10 January 2023\n\n"
    "The council approved the new budget on Monday after a long debate among its members.\n\n"
    "Residents will see lower fees from April, the mayor said.\n"
)
PNG_HEADER = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def read_one(
    path: Path, *, max_bytes: int = 5_000_000, root: Path | None = None
) -> ArticleDraft | ReadFailure:
    """The single result of reading a file that holds one article."""
    [result] = list(read_path(path, max_bytes=max_bytes, root=root))
    return result


def read_draft(path: Path, *, root: Path | None = None) -> ArticleDraft:
    """Read a file that must give one draft."""
    result = read_one(path, root=root)
    assert isinstance(result, ArticleDraft), result
    return result


def read_failure(path: Path, *, max_bytes: int = 5_000_000) -> ReadFailure:
    """Read a file that must give one failure."""
    result = read_one(path, max_bytes=max_bytes)
    assert isinstance(result, ReadFailure), result
    return result


def write(path: Path, text: str) -> Path:
    """Write UTF-8 text, creating folders; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# discover


def test_discover_finds_articles_and_skips_sidecars_notices_and_hidden_files(
    tmp_path: Path,
) -> None:
    for name in ["a.txt", "a.json", "b.json", "c.jsonl", "sub/d.HTML", "sub/e.htm", "sub/e.json"]:
        write(tmp_path / name, "x")
    for name in ["README.TXT", "LICENSE.txt", ".hidden.txt", ".git/f.txt", "notes.md", "g.csv"]:
        write(tmp_path / name, "x")
    found = [path.relative_to(tmp_path).as_posix() for path in discover([tmp_path])]
    assert found == ["a.txt", "b.json", "c.jsonl", "sub/d.HTML", "sub/e.htm"]


def test_discover_yields_named_files_once_in_order(tmp_path: Path) -> None:
    second, first = write(tmp_path / "z.txt", "x"), write(tmp_path / "a.txt", "x")
    assert list(discover([second, first, tmp_path])) == [first, second]


# sidecars


def test_sidecar_values_win_and_are_labelled(tmp_path: Path) -> None:
    article = write(tmp_path / "story.txt", ARTICLE)
    sidecar = {
        "published": "2023-01-09",
        "publisher": "Valley Gazette",
        "url": "https://gazette.example/budget",
        "tags": ["local", "money"],
        "desk": "city",
    }
    write(tmp_path / "story.json", json.dumps(sidecar))
    draft = read_draft(article)
    assert draft.published_at == datetime(2023, 1, 9, tzinfo=UTC)
    assert draft.publisher == "Valley Gazette"
    assert draft.url == "https://gazette.example/budget"
    assert draft.tags == ["local", "money"]
    assert draft.extra == {"desk": "city"}
    for field in ("published_at", "publisher", "url"):
        assert draft.provenance[field] == SIDECAR
    assert draft.title == "Council passes budget"
    assert draft.provenance["title"] == from_text("first-line")


def test_without_sidecar_the_text_date_is_used(tmp_path: Path) -> None:
    draft = read_draft(write(tmp_path / "story.txt", ARTICLE))
    assert draft.published_at == datetime(2023, 1, 10, tzinfo=UTC)
    assert draft.provenance["published_at"] == from_text("published-line")


def test_date_in_sidecar_url_is_used_when_nothing_else_dates_the_article(tmp_path: Path) -> None:
    article = write(tmp_path / "story.txt", ARTICLE.replace("Published: 10 January 2023\n\n", ""))
    write(tmp_path / "story.json", json.dumps({"url": "https://x.example/2021/06/30/budget"}))
    draft = read_draft(article)
    assert draft.published_at == datetime(2021, 6, 30, tzinfo=UTC)
    assert draft.provenance["published_at"] == URL


@pytest.mark.parametrize(
    ("sidecar_text", "named"),
    [
        ("{not json", "not readable JSON"),
        ('["a list"]', "must be a JSON object"),
        ('{"published": "sometime soon"}', '"published"'),
        ('{"published": 20230109}', '"published"'),
        ('{"tags": ["ok", 3]}', '"tags"'),
        ('{"tags": "local"}', '"tags"'),
        ('{"title": {"text": "x"}}', '"title"'),
        ('{"language": "English"}', '"language"'),
    ],
)
def test_bad_sidecar_fails_the_article_naming_file_and_field(
    tmp_path: Path, sidecar_text: str, named: str
) -> None:
    article = write(tmp_path / "story.txt", ARTICLE)
    write(tmp_path / "story.json", sidecar_text)
    failure = read_failure(article)
    assert "story.json" in failure.reason
    assert named in failure.reason


# bad input


def test_empty_file_fails(tmp_path: Path) -> None:
    assert "empty" in read_failure(write(tmp_path / "e.txt", "")).reason
    assert "empty" in read_failure(write(tmp_path / "w.txt", " \n\n\t")).reason


def test_binary_file_renamed_txt_fails(tmp_path: Path) -> None:
    image = tmp_path / "image.txt"
    image.write_bytes(PNG_HEADER + bytes(range(256)) * 8)
    assert "binary" in read_failure(image).reason


def test_file_over_size_limit_fails_naming_size_and_limit(tmp_path: Path) -> None:
    article = write(tmp_path / "big.txt", ARTICLE)
    reason = read_failure(article, max_bytes=100).reason
    assert f"{article.stat().st_size:,} bytes" in reason
    assert "100-byte limit" in reason


def test_directory_named_like_an_article_fails(tmp_path: Path) -> None:
    folder = tmp_path / "x.txt"
    folder.mkdir()
    assert "directory" in read_failure(folder).reason


def test_missing_and_unsupported_files_fail(tmp_path: Path) -> None:
    assert "no such file" in read_failure(tmp_path / "gone.txt").reason
    assert "unsupported file type .md" in read_failure(write(tmp_path / "n.md", "x")).reason


READ_ONE_FILE = """
import json, sys
from pathlib import Path
from app.ingest.read.readers import read_path
[result] = read_path(Path(sys.argv[1]))
print(json.dumps({"kind": type(result).__name__, "reason": getattr(result, "reason", None)}))
"""


def read_without_privileges(path: Path) -> tuple[str, str | None]:
    """Read a file as a process that file permissions apply to: (result kind, reason).

    Root reads any file (CAP_DAC_OVERRIDE), and CI runs as root while the container runs as
    uid 10001; so as root the read runs in a subprocess whose bounding set lacks the two
    capabilities that bypass file permissions (setpriv, util-linux). It stays uid 0, so the
    interpreter and the code stay reachable wherever they are installed.
    """
    if os.geteuid() != 0:
        result = read_one(path)
        return type(result).__name__, getattr(result, "reason", None)
    setpriv = shutil.which("setpriv")
    assert setpriv, "root needs setpriv (util-linux) to read without its file privileges"
    unprivileged = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    done = subprocess.run(
        [*unprivileged, sys.executable, "-c", READ_ONE_FILE, str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(done.stdout)
    return answer["kind"], answer["reason"]


def test_unreadable_file_fails(tmp_path: Path) -> None:
    article = write(tmp_path / "locked.txt", ARTICLE)
    assert read_without_privileges(article) == ("ArticleDraft", None)  # readable: read
    article.chmod(0)
    assert read_without_privileges(article) == (
        "ReadFailure",
        "cannot read file: permission denied",
    )


def test_file_of_only_furniture_fails(tmp_path: Path) -> None:
    article = write(tmp_path / "f.txt", "Logo\n\nAdvertisement\n\nLoad Next Story\n")
    assert read_failure(article).reason == "no article text left after removing page furniture"


# encodings


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_legacy_western_encodings_decode(tmp_path: Path, encoding: str) -> None:
    text = "Café prices rise\n\nA coffee at the café now costs £3, up from £2, owners said.\n"
    if encoding == "cp1252":
        text = text.replace("owners said", "“owners” said")
    article = tmp_path / "old.txt"
    article.write_bytes(text.encode(encoding))
    draft = read_draft(article)
    assert draft.title == "Café prices rise"
    assert draft.body == text.split("\n\n")[1].strip()


def test_utf16_with_bom_decodes(tmp_path: Path) -> None:
    article = tmp_path / "wide.txt"
    article.write_bytes(ARTICLE.encode("utf-16"))
    assert read_draft(article).title == "Council passes budget"


# JSON and JSONL

NEWSAPI_ARTICLE = {
    "source": {"id": "valley-gazette", "name": "Valley Gazette"},
    "author": "Jane Smith",
    "title": "Council passes budget",
    "description": "Fees fall from April",
    "url": "https://gazette.example/budget",
    "urlToImage": "https://gazette.example/budget.jpg",
    "publishedAt": "2023-01-10T09:30:00Z",
    "content": "The council approved the new budget on Monday after a debate… [+1520 chars]",
}


def test_json_article_maps_newsapi_fields(tmp_path: Path) -> None:
    draft = read_draft(write(tmp_path / "one.json", json.dumps(NEWSAPI_ARTICLE)))
    assert draft.publisher == "Valley Gazette"
    assert draft.author == "Jane Smith"
    assert draft.title == "Council passes budget"
    assert draft.subtitle == "Fees fall from April"
    assert draft.published_at == datetime(2023, 1, 10, 9, 30, tzinfo=UTC)
    assert draft.body == "The council approved the new budget on Monday after a debate…"
    assert draft.extra == {"urlToImage": "https://gazette.example/budget.jpg"}
    assert draft.provenance["published_at"] == from_text("json-publishedAt")
    assert draft.provenance["publisher"] == from_text("json-source")


def test_json_article_with_wrong_field_type_fails(tmp_path: Path) -> None:
    bad = {**NEWSAPI_ARTICLE, "publishedAt": ["2023"]}
    assert '"publishedAt"' in read_failure(write(tmp_path / "bad.json", json.dumps(bad))).reason


def test_jsonl_loads_good_lines_and_reports_bad_ones_by_number(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "First", "body": "The first story has a body of its own."}),
        '{"title": "Broken", "body": ',
        "",
        json.dumps(["not", "an", "object"]),
        json.dumps({"title": "No text"}),
        json.dumps({"title": "Fifth", "text": "The fifth story is here.", "lang": "en"}),
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    results = list(read_path(path))
    origins = {result.origin: result for result in results}
    assert sorted(origins) == [f"{path}:{number}" for number in (1, 2, 4, 5, 6)]
    first, sixth = origins[f"{path}:1"], origins[f"{path}:6"]
    assert isinstance(first, ArticleDraft) and first.title == "First"
    assert isinstance(sixth, ArticleDraft) and sixth.extra == {"lang": "en"}
    for number, expected in ((2, "not valid JSON"), (4, "JSON object"), (5, "no article text")):
        failure = origins[f"{path}:{number}"]
        assert isinstance(failure, ReadFailure)
        assert failure.reason.startswith(f"line {number}")
        assert expected in failure.reason


# HTML

PAGE = """<!doctype html>
<html lang="en"><head>
<title>Council passes budget | Valley Gazette</title>
<meta property="og:title" content="Council passes budget">
<meta property="og:site_name" content="Valley Gazette">
<meta property="article:published_time" content="2023-01-10T09:30:00+01:00">
<meta name="author" content="Jane Smith">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World news</a> <a href="/sub">Subscribe today</a></nav>
<article><h1>Council passes budget</h1>
<p>RIVERTON — The council approved the new budget on Monday after a long debate among its
members, according to the Reuters news agency, which spoke to two of them.</p>
<p>Residents will see lower fees from April, the mayor said at a meeting in the town hall.</p>
<p>Opposition members said the cuts would hurt libraries and parks across the valley.</p>
</article>
<footer>Copyright 2023 Valley Gazette. Cookie preferences. Terms of service.</footer>
</body></html>"""


def test_html_page_uses_its_metadata_and_main_text(tmp_path: Path) -> None:
    draft = read_draft(write(tmp_path / "page.html", PAGE))
    assert draft.title == "Council passes budget"
    assert draft.publisher == "Valley Gazette"
    assert draft.author == "Jane Smith"
    assert draft.published_at == datetime(2023, 1, 10, 8, 30, tzinfo=UTC)
    for field in ("title", "publisher", "author", "published_at"):
        assert draft.provenance[field].startswith(HTML_META)
    assert draft.dateline == "RIVERTON"
    assert draft.cites == ["Reuters"]
    assert draft.lede is not None and draft.lede.startswith("RIVERTON — The council approved")
    for chrome in ("Subscribe today", "World news", "Cookie preferences", "Terms of service"):
        assert chrome not in draft.body
    assert "Council passes budget" not in draft.body


# folders as tags


def test_first_level_folder_under_root_becomes_a_tag(tmp_path: Path) -> None:
    article = write(tmp_path / "sport" / "deep" / "story.txt", ARTICLE)
    assert read_draft(article, root=tmp_path).tags == ["sport"]
    assert read_draft(article).tags == []
    top = write(tmp_path / "top.txt", ARTICLE)
    assert read_draft(top, root=tmp_path).tags == []


# the BBC corpus


def bbc_corpus() -> Path:
    """The BBC corpus folder, or skip when this machine does not have it."""
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    corpus = Path(configured) if configured else REPO.parent / "shared" / "corpus" / "bbc"
    if not corpus.is_dir():
        pytest.skip(f"BBC corpus not found at {corpus} (set NEWSDESK_BBC_CORPUS)")
    return corpus


@pytest.mark.corpus
def test_whole_bbc_corpus_reads_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    corpus = bbc_corpus()
    started = time.perf_counter()
    paths = list(discover([corpus]))
    results = [result for path in paths for result in read_path(path, root=corpus)]
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nBBC corpus: {len(results)} articles read in {elapsed:.1f}s")

    failures = [result for result in results if isinstance(result, ReadFailure)]
    assert failures == []
    drafts = [result for result in results if isinstance(result, ArticleDraft)]
    assert len(drafts) == 2225
    assert not any(path.name.upper() == "README.TXT" for path in paths)
    categories = {"business", "entertainment", "politics", "sport", "tech"}
    for draft in drafts:
        path = Path(draft.origin)  # the path as named: the corpus folder, then below it
        first_line = path.read_bytes().decode("utf-8", errors="replace").split("\n")[0]
        # Extraction collapses runs of spaces, so compare word by word.
        assert draft.title is not None and draft.title.split() == first_line.split(), path
        assert draft.tags == [path.parent.name]
        assert path.parent.name in categories
        assert draft.body and draft.language == "en"
    pound = next(d for d in drafts if d.origin.endswith(os.path.join("sport", "199.txt")))
    assert "£15.8m" in pound.body
