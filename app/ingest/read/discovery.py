"""Finding article files below the folders ingest was given, without leaving them.

Below a folder, a symlink is followed only when it points to a file inside that folder
(its text is already the folder's to give). Symlinked folders, links out of the folder and
dangling links are skipped, each reported with the reason. With `follow_symlinks` every
link is followed, and each real folder is entered once, so a loop of links ends.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.ingest.document import ReadFailure
from app.ingest.read.files import origin_of, os_reason
from app.ingest.read.sidecar import SIDECAR_OWNER_SUFFIXES

ARTICLE_SUFFIXES = frozenset({".txt", ".html", ".htm", ".json", ".jsonl"})
# Notices that datasets ship beside their articles (BBC's README.TXT).
_NOTICE_STEMS = ("readme", "license", "licence", "copying", "notice", "changelog", "authors")
_NOT_AN_ARTICLE = "not an article file"  # a link ingest would pass over anyway: not reported


@dataclass
class Discovery:
    """The article files below the roots, every symlink or folder passed over with why, and
    how many files of each type ingest doesn't read (counted, not listed: a saved page's
    folder can hold hundreds of images and scripts)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[ReadFailure] = field(default_factory=list)
    unsupported: Counter[str] = field(default_factory=Counter)

    def unsupported_note(self) -> str | None:
        """One line naming the unsupported files by type, or None when there were none."""
        return unsupported_note(self.unsupported)


def unsupported_note(counts: Counter[str]) -> str | None:
    if not counts:
        return None
    kinds = ", ".join(f"{count} {suffix}" for suffix, count in counts.most_common())
    readable = ", ".join(sorted(ARTICLE_SUFFIXES))
    total = sum(counts.values())
    return f"{total} files of types ingest does not read ({kinds}); it reads {readable}"


def discover(paths: Iterable[Path], *, follow_symlinks: bool = False) -> Iterator[Path]:
    """Article files named by `paths` or found below them (see find_articles)."""
    yield from find_articles(paths, follow_symlinks=follow_symlinks).files


def find_articles(paths: Iterable[Path], *, follow_symlinks: bool = False) -> Discovery:
    """Article files named by `paths` or found below them, sorted, without sidecars or notices.

    A file named directly is always listed, so that read_path can say what is wrong with it.
    Below a folder, a symlink is followed only when its target is a file inside that folder;
    symlinked folders and links out of the folder are skipped and reported, as are dangling
    links. `follow_symlinks` follows every link, each real folder entered once (no loops).
    """
    found: set[Path] = set()
    discovery = Discovery()
    for path in paths:
        if path.is_dir():
            found.update(_articles_below(path, follow_symlinks, discovery))
        else:
            found.add(path)
    discovery.files = sorted(found)
    return discovery


def _articles_below(folder: Path, follow: bool, discovery: Discovery) -> list[Path]:
    """Article files anywhere below a folder, skipping hidden ones, notices and sidecars;
    other files are counted by type in `discovery.unsupported`."""
    skipped = discovery.skipped
    real_root = folder.resolve()
    entered = {_folder_key(folder)}
    pending, candidates = [folder], []
    while pending:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError as exc:
            skipped.append(ReadFailure(origin_of(current), os_reason(exc)))
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                why = _symlink_refusal(path, real_root, follow)
                if why is not None:
                    if why != _NOT_AN_ARTICLE:
                        skipped.append(ReadFailure(origin_of(path), why))
                    continue
            if entry.is_dir():
                key = _folder_key(path)
                if key in entered:  # a link back up, or to a folder already read
                    if entry.is_symlink():
                        skipped.append(
                            ReadFailure(origin_of(path), "symlink to a folder already read")
                        )
                    continue
                entered.add(key)
                pending.append(path)
            elif _is_article_name(path) and entry.is_file():
                candidates.append(path)
            elif entry.is_file() and path.suffix.lower() not in ARTICLE_SUFFIXES:
                discovery.unsupported[path.suffix.lower() or "(no extension)"] += 1
    owners = {
        (path.parent, path.stem)
        for path in candidates
        if path.suffix.lower() in SIDECAR_OWNER_SUFFIXES
    }
    return [
        path
        for path in candidates
        if not (path.suffix.lower() == ".json" and (path.parent, path.stem) in owners)
    ]


def _is_article_name(path: Path) -> bool:
    return path.suffix.lower() in ARTICLE_SUFFIXES and not path.stem.lower().startswith(
        _NOTICE_STEMS
    )


def _folder_key(path: Path) -> tuple[int, int]:
    """A folder's identity (device, inode), whichever path leads to it."""
    status = path.stat()
    return status.st_dev, status.st_ino


def _symlink_refusal(link: Path, real_root: Path, follow: bool) -> str | None:
    """Why the symlink `link` below `real_root` is not followed, or None when it is."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop of links
        return "dangling symlink: its target does not exist"
    if follow:
        return None
    if target.is_dir():
        return "symlink to a folder: not followed (--follow-symlinks follows it)"
    if not _is_article_name(link):
        return _NOT_AN_ARTICLE
    if not target.is_relative_to(real_root):
        return f"symlink out of the ingest root to {target}: not read (--follow-symlinks reads it)"
    return None
