"""How the lines of an article are read: prose, headings in capitals, results tables and
team line-ups, each a `Segment` that NER (or, for a line-up, a plain reading) turns into names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# A number standing alone in a line: a score, a position, a count ("3", "2-1", "(4)").
_NUMBER_TOKEN = re.compile(r"(?<!\S)\(?\d+(?:[-–:]\d+)?\)?[,;.]?(?!\S)")
_PROSE_WORD = re.compile(r"(?<![\w'])[a-z]{3,}\b")
_TABLE_WORDS = frozenset({"and", "aet", "pen", "pens", "agg", "og"})
# One player of a line-up, maybe with the substitute who replaced him: "Traore (Biscan 67)".
_NAME = r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,2}"
_LINEUP_ITEM = re.compile(rf"\s*({_NAME})(?:\s*\(({_NAME})\s+\d+\))?\s*[.,]?\s*")
_MIN_LINEUP = 5


@dataclass(frozen=True)
class Segment:
    """One line of an article (or its title): NER never sees across a line break.

    `ner_text` is what the model reads: the same length as `text`, with the numbers of a
    table row blanked out ("Karlsruhe 3 Bayern Munich 1" is two clubs, not "Karlsruhe 3") and
    a line in capitals re-cased. A heading in capitals, like the title, only confirms names
    the body states. A line-up ("Dudek, Finnan, Carragher, ...") is read without NER.
    """

    text: str
    in_title: bool
    ner_text: str = ""
    table_row: bool = False
    lineup: bool = False

    @property
    def model_text(self) -> str:
        return self.ner_text or self.text


def article_segments(title: str | None, body: str) -> list[Segment]:
    """The title, then every non-blank line of the body."""
    lines = [line.strip() for line in body.splitlines()]
    segments = [_body_segment(line) for line in lines if line]
    if title and title.strip():
        line = " ".join(title.split())
        # A headline that is a result ("Newcastle 2-1 Bolton") names the clubs that played.
        table = _as_table_row(line)
        segments.insert(0, Segment(line, True, table.ner_text, table.table_row))
    return segments


def _body_segment(line: str) -> Segment:
    """A body line as NER should read it: headings in capitals, tables, line-ups or prose."""
    letters = [char for char in line if char.isalpha()]
    if len(letters) >= 4 and not any(char.islower() for char in letters):
        return Segment(line, True, ner_text=_recased(line))
    if len(list(lineup_names(line))) >= _MIN_LINEUP:
        return Segment(line, False, lineup=True)
    return _as_table_row(line)


def _as_table_row(line: str) -> Segment:
    """The line with its numbers blanked when it is a row of names and numbers."""
    numbers = list(_NUMBER_TOKEN.finditer(line))
    words = _PROSE_WORD.findall(_NUMBER_TOKEN.sub(" ", line))
    if not numbers or any(word not in _TABLE_WORDS for word in words):
        return Segment(line, False)
    masked = line
    for match in numbers:
        blank = "," + " " * (match.end() - match.start() - 1)
        masked = masked[: match.start()] + blank + masked[match.end() :]
    return Segment(line, False, ner_text=masked, table_row=True)


def lineup_names(line: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each player in a line that is wholly a comma-separated line-up."""
    position, found = 0, list[tuple[int, int]]()
    while position < len(line):
        match = _LINEUP_ITEM.match(line, position)
        if match is None or match.end() == position:
            return
        found.extend(match.span(group) for group in (1, 2) if match.group(group))
        position = match.end()
    yield from found


def _recased(line: str) -> str:
    """A line in capitals in title case, the same length: "EASTERN CONFERENCE"."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group().capitalize(), line)
