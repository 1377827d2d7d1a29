"""Reading files ingest did not write: regular files only, within size limits, opened
without following a link swapped in after the check, and named as the operator named them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_SKIP_CHUNK = 1 << 20  # an oversized JSONL line is skipped this many bytes at a time


class ArticleFileError(ValueError):
    """A file that cannot be read as an article at all (missing, empty, too big, unreadable)."""


def origin_of(path: Path) -> str:
    """How an article records where it came from: the path as the operator named it.

    Discovery joins the root exactly as given on the command line (not resolved, not made
    absolute, no link followed) with the path below it, so `ingest articles` records
    `articles/sport/001.txt` (no server folder reaches the API) and `ingest /srv/pages`
    records `/srv/pages/set/x.html`; a file named directly is its path as given.
    """
    return path.as_posix()


def bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | int]:
    """Each line's bytes (without its line end), or the size of a line over `max_bytes`,
    which is skipped without ever being held whole."""
    while line := stream.readline(max_bytes + 1):
        if len(line) > max_bytes and not line.endswith(b"\n"):
            size = len(line)
            while line and not line.endswith(b"\n"):
                line = stream.readline(_SKIP_CHUNK)
                size += len(line)
            yield size - (1 if line.endswith(b"\n") else 0)
            continue
        yield line.rstrip(b"\r\n")


def open_regular(path: Path, max_bytes: int) -> BinaryIO:
    """`path` opened for reading once it is a non-empty regular file within the size limit.

    Opens the link's target itself (O_NOFOLLOW on it) and checks the open file, so what is
    read is what was checked; O_NONBLOCK keeps a FIFO from blocking the open.
    """
    try:
        if path.is_dir():
            raise ArticleFileError("not a file: it is a directory")
        descriptor = os.open(path.resolve(), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ArticleFileError(os_reason(exc)) from exc
    stream = os.fdopen(descriptor, "rb")
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ArticleFileError("not a regular file")
        if status.st_size == 0:
            raise ArticleFileError("empty file (0 bytes)")
        if status.st_size > max_bytes:
            raise ArticleFileError(
                f"file is {status.st_size:,} bytes, over the {max_bytes:,}-byte limit"
            )
    except BaseException:
        stream.close()
        raise
    os.set_blocking(descriptor, True)
    return stream


def os_reason(exc: OSError) -> str:
    """A short human reason for an operating-system error while reading a file."""
    return f"cannot read file: {(exc.strerror or str(exc)).lower()}"
