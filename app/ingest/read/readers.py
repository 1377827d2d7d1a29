"""Find article files and read each into drafts, or failures that say what is wrong with it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import Settings
from app.ingest.document import FETCHED, URL, ArticleDraft, ReadFailure, drop_unsafe_url
from app.ingest.extract.dates import date_from_url
from app.ingest.extract.html import extract_html_article
from app.ingest.extract.plaintext import extract_text_article
from app.ingest.extract.textclean import UndecodableText, decode_article_bytes
from app.ingest.read.discovery import ARTICLE_SUFFIXES, Discovery, discover, find_articles
from app.ingest.read.files import (
    ArticleFileError,
    bounded_lines,
    open_regular,
    origin_of,
    os_reason,
)
from app.ingest.read.jsonarticle import InvalidArticleJson, extract_json_article
from app.ingest.read.sidecar import (
    SidecarError,
    add_tags,
    apply_sidecar,
    load_sidecar,
    sidecar_path,
)
from app.limits_json import too_deep

_NO_TEXT_LEFT = "no article text left after removing page furniture"

Result = ArticleDraft | ReadFailure
# Discovery lives in its own module; these names are what callers import from here.
__all__ = [
    "ArticleFileError",
    "Discovery",
    "ReadLimits",
    "discover",
    "find_articles",
    "read_page",
    "read_path",
]


@dataclass(frozen=True)
class ReadLimits:
    """What ingest will read: sizes, JSON nesting, and whether symlinks may leave a root."""

    max_bytes: int = 5_000_000  # one file, or one line of a JSONL file
    max_jsonl_bytes: int = 2_000_000_000  # one JSONL file (read line by line)
    max_json_depth: int = 32
    follow_symlinks: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, follow_symlinks: bool = False) -> ReadLimits:
        return cls(
            max_bytes=settings.max_file_bytes,
            max_jsonl_bytes=settings.max_jsonl_bytes,
            max_json_depth=settings.max_json_depth,
            follow_symlinks=follow_symlinks,
        )


def _inside_root(path: Path, root: Path | None, limits: ReadLimits) -> bool:
    """Whether reading `path` stays within `root` (always, when symlinks may be followed).

    A file named directly is read wherever it leads; what is read beside it (its sidecar)
    must stay in its folder.
    """
    if root is None or limits.follow_symlinks or path == root:
        return True
    real_root = (root if root.is_dir() else root.parent).resolve()
    return path.resolve().is_relative_to(real_root)


def read_path(
    path: Path,
    *,
    max_bytes: int = 5_000_000,
    root: Path | None = None,
    limits: ReadLimits | None = None,
) -> Iterator[Result]:
    """Read one file into drafts (one per JSONL line) or failures; never raises for bad input.

    The origin is the path as given (see origin_of). With `root`, nothing outside it is read
    unless the limits follow symlinks, and a file in a subfolder of root is tagged with that
    first-level folder's name (the BBC corpus keeps its category that way).
    """
    limits = limits or ReadLimits(max_bytes=max_bytes)
    origin = origin_of(path)
    suffix = path.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        expected = ", ".join(sorted(ARTICLE_SUFFIXES))
        yield ReadFailure(
            origin, f"unsupported file type {suffix or '(none)'}: expected {expected}"
        )
        return
    if not _inside_root(path, root, limits):
        yield ReadFailure(origin, "symlink out of the ingest root: not read")
        return
    folder_tag = _folder_tag(path, root)
    if suffix == ".jsonl":
        for result in _read_jsonl(path, origin, limits):
            yield _finish(result, folder_tag, path)
        return
    try:
        data = _read_bytes(path, limits.max_bytes)
        results = _read_single(path, suffix, data, origin, limits, root)
    except (ArticleFileError, UndecodableText, InvalidArticleJson, SidecarError) as exc:
        yield ReadFailure(origin, str(exc))
        return
    except Exception as exc:  # a library choking on strange input must not stop a batch
        yield ReadFailure(origin, f"could not extract an article: {type(exc).__name__}: {exc}")
        return
    for result in results:
        yield _finish(result, folder_tag, path)


def read_page(html: str, url: str) -> Result:
    """A page fetched from `url` (the collector): read as a saved .html file with its address
    known; its origin is the URL. Never raises for bad input."""
    try:
        draft = extract_html_article(html, url, url=url)
    except Exception as exc:  # as in read_path: a library choking on a page must not stop a run
        return ReadFailure(url, f"could not extract an article: {type(exc).__name__}: {exc}")
    # The address it was fetched from is its URL: how the collector knows it has it.
    draft.url, draft.provenance["url"] = url, FETCHED
    return _finish(draft, None, None)


def _read_single(
    path: Path, suffix: str, data: bytes, origin: str, limits: ReadLimits, root: Path | None
) -> list[Result]:
    """The article of a .txt or .html file (its sidecar applied), or a .json file's articles."""
    text = decode_article_bytes(data)
    if not text.strip():
        raise ArticleFileError("empty file (only whitespace)")
    if suffix == ".json":
        return _json_articles(_parse_json(text, limits.max_json_depth), origin)
    sidecar = None
    if (sidecar_file := sidecar_path(path)) is not None:
        if not _inside_root(sidecar_file, root, limits):
            raise SidecarError(f"sidecar {sidecar_file.name} is a symlink out of the ingest root")
        sidecar = load_sidecar(sidecar_file, max_depth=limits.max_json_depth)
    if suffix == ".txt":
        draft = extract_text_article(text, origin)
    else:
        # The address helps the page's reading (dates in it, the site it names).
        url = sidecar.values.get("url") if sidecar is not None else None
        draft = extract_html_article(text, origin, url=url)
    if sidecar is not None:
        apply_sidecar(draft, sidecar)
    return [draft]


def _json_articles(obj: Any, origin: str) -> list[Result]:
    """One article object, or an array of them (an export): `origin:N` for the Nth, as in
    JSONL, and a bad item fails alone with its number."""
    if not isinstance(obj, list):
        return [extract_json_article(obj, origin)]
    results: list[Result] = []
    for number, item in enumerate(obj, start=1):
        item_origin = f"{origin}:{number}"
        try:
            draft = extract_json_article(item, item_origin)
        except InvalidArticleJson as exc:
            results.append(ReadFailure(item_origin, f"item {number}: {exc}"))
            continue
        results.append(draft)
    return results


def _parse_json(text: str | bytes, max_depth: int) -> Any:
    """A JSON value nested at most `max_depth` deep; InvalidArticleJson says what is wrong."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArticleJson(f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError:
        raise InvalidArticleJson(f"JSON nested more than {max_depth} levels deep") from None
    if (why := too_deep(value, max_depth)) is not None:
        raise InvalidArticleJson(why)
    return value


def _read_jsonl(path: Path, origin: str, limits: ReadLimits) -> Iterator[Result]:
    """One draft per non-blank line, read line by line; a bad line fails with its number.

    Memory stays within one line (`max_bytes`) whatever the file's size; a file over
    `max_jsonl_bytes` is refused before its first line.
    """
    try:
        stream = open_regular(path, limits.max_jsonl_bytes)
    except ArticleFileError as exc:
        yield ReadFailure(origin, str(exc))
        return
    with stream:
        for number, raw in enumerate(bounded_lines(stream, limits.max_bytes), start=1):
            line_origin = f"{origin}:{number}"
            if isinstance(raw, int):
                yield ReadFailure(
                    line_origin,
                    f"line {number} is {raw:,} bytes, over the {limits.max_bytes:,}-byte limit",
                )
                continue
            if not raw.strip():
                continue
            try:
                obj = _parse_json(decode_article_bytes(raw), limits.max_json_depth)
                draft = extract_json_article(obj, line_origin)
                yield draft
            except (InvalidArticleJson, UndecodableText) as exc:
                yield ReadFailure(line_origin, f"line {number}: {exc}")
            except Exception as exc:  # as in read_path: one bad line must not stop the file
                yield ReadFailure(line_origin, f"line {number}: {type(exc).__name__}: {exc}")


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, once it is known to be a non-empty regular file within the limit."""
    with open_regular(path, max_bytes) as stream:
        try:
            return stream.read(max_bytes + 1)
        except OSError as exc:
            raise ArticleFileError(os_reason(exc)) from exc


def _folder_tag(path: Path, root: Path | None) -> str | None:
    """The first-level subfolder of `root` that holds `path`, if any."""
    if root is None:
        return None
    try:
        parts = path.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None


def _finish(result: Result, folder_tag: str | None, path: Path | None) -> Result:
    """Final touches shared by every kind: the file's identity (none for a fetched page,
    which its URL identifies), folder tag, a web URL only, a date from the address, and the
    body check."""
    if isinstance(result, ReadFailure):
        return result
    if not result.body.strip():
        return ReadFailure(result.origin, _NO_TEXT_LEFT)
    if path is not None:
        line = result.origin.removeprefix(origin_of(path))  # ":N" for a line or an item
        result.identity = os.path.abspath(path) + line
    drop_unsafe_url(result)
    if folder_tag is not None:
        result.tags = add_tags(result.tags, [folder_tag])
    if result.published_at is None and result.url and (day := date_from_url(result.url)):
        result.published_at = day
        result.provenance["published_at"] = URL
    return result
