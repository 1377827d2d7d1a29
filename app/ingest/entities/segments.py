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
# A label of a team sheet run into a paragraph after a match report: "Newcastle: Given, Carr,
# Bowyer, Robert (Jenas 77), Shearer. Subs Not Used: Butt, Harper. Booked: Dyer. Goals:
# Bowyer 35. Att: 50,430 Ref: S Dunn (Gloucestershire)." Each label starts a piece.
_SHEET_LABEL = re.compile(r"(?<![\w,])((?:[A-Z][\w'’-]*\s+){0,3}[A-Z][\w'’-]*):\s+")


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
    segments = [segment for line in lines if line for segment in _line_segments(line)]
    if title and title.strip():
        line = " ".join(title.split())
        # A headline that is a result ("Newcastle 2-1 Bolton") names the clubs that played.
        table = _as_table_row(line)
        segments.insert(0, Segment(line, True, table.ner_text, table.table_row))
    return segments


def _line_segments(line: str) -> list[Segment]:
    """A body line, or its prose and the pieces of the team sheet that ends it."""
    labels = list(_SHEET_LABEL.finditer(line)) if ":" in line else []
    if not labels:
        return [_body_segment(line)]
    ends = [label.start() for label in labels[1:]] + [len(line)]
    pieces = [
        (label, line[label.end() : end].rstrip(" ."))
        for label, end in zip(labels, ends, strict=True)
    ]
    first = next((n for n, (_, items) in enumerate(pieces) if _is_team(items)), None)
    if first is None:
        return [_body_segment(line)]
    prose = line[: pieces[first][0].start()].strip()
    segments = [_body_segment(prose)] if prose else []
    for label, items in pieces[first:]:
        if _is_team(items):
            # The team's name: a place in a table of results is the club (recognition).
            segments.append(Segment(label.group(1), False, table_row=True))
        if items:
            segments.append(_sheet_items(items))
    return segments


def _is_team(items: str) -> bool:
    return len(list(lineup_names(items))) >= _MIN_LINEUP


def _sheet_items(items: str) -> Segment:
    """The names after a team sheet's label, read as a line-up when they are names with
    minutes ("Bowyer 35, Dyer 69"), else as any line."""
    if list(lineup_names(items)):
        return Segment(items, False, lineup=True)
    masked = _NUMBER_TOKEN.sub(lambda m: re.sub(r"[^,;]", " ", m.group()), items)
    if list(lineup_names(masked)):
        return Segment(items, False, ner_text=masked, lineup=True)
    return _body_segment(items)


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
