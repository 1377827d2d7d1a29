"""BENCHMARKS.md's separately measured sections: a script replaces its own, keeping the rest."""

from __future__ import annotations

from pathlib import Path


def put_section(path: Path, heading: str, lines: list[str], before: tuple[str, ...]) -> None:
    """Write lines (a section beginning with heading) into path: in place of that section,
    else before the first of the headings in `before` the file has, else at its end."""
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    block = "\n".join(lines).rstrip("\n") + "\n\n"  # a blank line before the next heading
    start = text.find(heading + "\n")
    if start >= 0:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + block + (text[end + 1 :] if end >= 0 else "")
    else:
        for following in before:
            if "\n" + following + "\n" in text:
                text = text.replace("\n" + following + "\n", "\n" + block + following + "\n", 1)
                break
        else:
            text = text.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    path.write_text(text)
