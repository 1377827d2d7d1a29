"""Find article files and read each into drafts, or failures that say what is wrong with it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.ingest.dates import date_from_url
from app.ingest.document import URL, ArticleDraft, ReadFailure
from app.ingest.extract import extract_text_article
from app.ingest.html import extract_html_article
from app.ingest.jsonarticle import InvalidArticleJson, extract_json_article
from app.ingest.sidecar import (
    SIDECAR_OWNER_SUFFIXES,
    SidecarError,
    add_tags,
    apply_sidecar,
    load_sidecar,
    sidecar_path,
)
from app.ingest.textclean import UndecodableText, decode_article_bytes

ARTICLE_SUFFIXES = frozenset({".txt", ".html", ".htm", ".json", ".jsonl"})
# Notices that datasets ship beside their articles (BBC's README.TXT).
_NOTICE_STEMS = ("readme", "license", "licence", "copying", "notice", "changelog", "authors")
_NO_TEXT_LEFT = "no article text left after removing page furniture"

Result = ArticleDraft | ReadFailure


class ArticleFileError(ValueError):
    """A file that cannot be read as an article at all (missing, empty, too big, unreadable)."""


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Article files named by `paths` or found below them, sorted, without sidecars or notices.

    A file named directly is always yielded, so that read_path can say what is wrong with it.
    """
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(_articles_below(path))
        else:
            found.add(path)
    yield from sorted(found)


def _articles_below(folder: Path) -> Iterator[Path]:
    """Article files anywhere below a folder, skipping hidden ones, notices and sidecars."""
    candidates = [
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in ARTICLE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and not path.stem.lower().startswith(_NOTICE_STEMS)
        and path.is_file()
    ]
    owners = {
        (path.parent, path.stem)
        for path in candidates
        if path.suffix.lower() in SIDECAR_OWNER_SUFFIXES
    }
    for path in candidates:
        if path.suffix.lower() == ".json" and (path.parent, path.stem) in owners:
            continue
        yield path


def read_path(
    path: Path, *, max_bytes: int = 5_000_000, root: Path | None = None
) -> Iterator[Result]:
    """Read one file into drafts (one per JSONL line) or failures; never raises for bad input.

    With `root`, a file in a subfolder of root is tagged with that first-level folder's name
    (the BBC corpus keeps its category that way).
    """
    origin = str(path)
    suffix = path.suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        expected = ", ".join(sorted(ARTICLE_SUFFIXES))
        yield ReadFailure(
            origin, f"unsupported file type {suffix or '(none)'}: expected {expected}"
        )
        return
    folder_tag = _folder_tag(path, root)
    if suffix == ".jsonl":
        for result in _read_jsonl(path, max_bytes):
            yield _finish(result, folder_tag)
        return
    try:
        draft = _read_single(path, suffix, _read_bytes(path, max_bytes))
    except (ArticleFileError, UndecodableText, InvalidArticleJson, SidecarError) as exc:
        yield ReadFailure(origin, str(exc))
        return
    except Exception as exc:  # a library choking on strange input must not stop a batch
        yield ReadFailure(origin, f"could not extract an article: {type(exc).__name__}: {exc}")
        return
    yield _finish(draft, folder_tag)


def _read_single(path: Path, suffix: str, data: bytes) -> ArticleDraft:
    """One article from a .txt, .html or .json file, with its sidecar applied."""
    text = decode_article_bytes(data)
    if not text.strip():
        raise ArticleFileError("empty file (only whitespace)")
    origin = str(path)
    if suffix == ".json":
        try:
            return extract_json_article(json.loads(text), origin)
        except json.JSONDecodeError as exc:
            raise InvalidArticleJson(f"not valid JSON: {exc}") from exc
    if suffix == ".txt":
        draft = extract_text_article(text, origin)
    else:
        draft = extract_html_article(text, origin)
    if (sidecar := sidecar_path(path)) is not None:
        apply_sidecar(draft, load_sidecar(sidecar))
    return draft


def _read_jsonl(path: Path, max_bytes: int) -> Iterator[Result]:
    """One draft per non-blank line; a bad line fails with its number, the rest still load."""
    try:
        _check_file(path, max_bytes=None)
        lines = path.read_bytes().splitlines()
    except (ArticleFileError, OSError) as exc:
        yield ReadFailure(
            str(path), str(exc) if isinstance(exc, ArticleFileError) else _os_reason(exc)
        )
        return
    for number, raw in enumerate(lines, start=1):
        origin = f"{path}:{number}"
        if not raw.strip():
            continue
        if len(raw) > max_bytes:
            yield ReadFailure(
                origin, f"line {number} is {len(raw):,} bytes, over the {max_bytes:,}-byte limit"
            )
            continue
        try:
            yield extract_json_article(json.loads(decode_article_bytes(raw)), origin)
        except json.JSONDecodeError as exc:
            yield ReadFailure(
                origin, f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})"
            )
        except (InvalidArticleJson, UndecodableText) as exc:
            yield ReadFailure(origin, f"line {number}: {exc}")
        except Exception as exc:  # as in read_path: one bad line must not stop the file
            yield ReadFailure(origin, f"line {number}: {type(exc).__name__}: {exc}")


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, once it is known to be a non-empty regular file within the limit."""
    _check_file(path, max_bytes)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ArticleFileError(_os_reason(exc)) from exc


def _check_file(path: Path, max_bytes: int | None) -> None:
    """Raise ArticleFileError unless `path` is a readable, non-empty file within the size limit."""
    try:
        status = path.stat()
    except OSError as exc:
        raise ArticleFileError(_os_reason(exc)) from exc
    if path.is_dir():
        raise ArticleFileError("not a file: it is a directory")
    if status.st_size == 0:
        raise ArticleFileError("empty file (0 bytes)")
    if max_bytes is not None and status.st_size > max_bytes:
        raise ArticleFileError(
            f"file is {status.st_size:,} bytes, over the {max_bytes:,}-byte limit"
        )


def _os_reason(exc: OSError) -> str:
    """A short human reason for an operating-system error while reading a file."""
    return f"cannot read file: {(exc.strerror or str(exc)).lower()}"


def _folder_tag(path: Path, root: Path | None) -> str | None:
    """The first-level subfolder of `root` that holds `path`, if any."""
    if root is None:
        return None
    try:
        parts = path.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None


def _finish(result: Result, folder_tag: str | None) -> Result:
    """Final touches shared by every kind: folder tag, a date from the address, the body check."""
    if isinstance(result, ReadFailure):
        return result
    if not result.body.strip():
        return ReadFailure(result.origin, _NO_TEXT_LEFT)
    if folder_tag is not None:
        result.tags = add_tags(result.tags, [folder_tag])
    if result.published_at is None and result.url and (day := date_from_url(result.url)):
        result.published_at = day
        result.provenance["published_at"] = URL
    return result
