"""Defaults given on the command line (`ingest --publisher/--language/--tag`) for files that
don't say: below what a file states (sidecar, page tags, JSON fields), above what a rule
guessed from the text (a copyright line, the detected language)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.ingest.document import NONE, ArticleDraft, from_text
from app.ingest.read.sidecar import add_tags

CLI = "cli"
# Text rules whose values are the file's own statement, not a guess: a JSON export's fields.
_STATED_IN_TEXT = from_text("json-")


@dataclass(frozen=True)
class IngestDefaults:
    """What to assume for articles whose files don't state it."""

    publisher: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)

    def apply(self, draft: ArticleDraft) -> None:
        """Fill the draft's unstated or guessed publisher and language; add the tags."""
        for name, value in (("publisher", self.publisher), ("language", self.language)):
            if value is not None and _guessed_or_missing(draft.provenance.get(name, NONE)):
                setattr(draft, name, value)
                draft.provenance[name] = CLI
        draft.tags = add_tags(draft.tags, self.tags)


def _guessed_or_missing(provenance: str) -> bool:
    """True when the field is empty or came from a rule reading the text (not a stated field)."""
    if provenance == NONE:
        return True
    return provenance.startswith(from_text("")) and not provenance.startswith(_STATED_IN_TEXT)
