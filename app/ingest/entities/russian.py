"""Russian entities: natasha's news NER (its model ships inside the package, nothing is
downloaded), each name normalised to the nominative ("Путина" → "Путин") and written in Latin
letters ("Путин" → "Putin"), so Russian mentions link to the entities English articles name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unidecode import unidecode

from app.ingest.entities.linking import FoundEntity, Mention, link_mentions
from app.ingest.entities.names import AliasTable, name_key

if TYPE_CHECKING:
    from collections.abc import Iterator

MODEL_NAME = "natasha"
# natasha's labels -> our entity types.
_TYPES = {"PER": "person", "ORG": "organization", "LOC": "location"}


@dataclass(frozen=True)
class _Tools:
    segmenter: Any
    ner: Any
    morph: Any
    vocab: Any


class RussianRecognizer:
    """Finds and links the people, organisations and places of Russian articles; loads natasha
    on first use, so English-only ingests never pay for it."""

    def __init__(self, curated: AliasTable) -> None:
        self.curated = curated
        self._tools: _Tools | None = None

    @property
    def tools(self) -> _Tools:
        if self._tools is None:
            import natasha

            embedding = natasha.NewsEmbedding()
            self._tools = _Tools(
                natasha.Segmenter(),
                natasha.NewsNERTagger(embedding),
                natasha.NewsMorphTagger(embedding),
                natasha.MorphVocab(),
            )
        return self._tools

    def recognize(self, title: str | None, body: str) -> list[FoundEntity]:
        """The article's entities; title entities only confirm ones in the body."""
        normals: dict[str, set[str]] = {}
        mentions = []
        for text, normal, entity_type, in_title in self._spans(title, body):
            normals.setdefault(text, set()).add(normal)
            mentions.append(Mention(text, entity_type, in_title, name=self._name(normal)))
        entities = link_mentions(mentions, self.curated)
        for entity in entities:
            # The nominative is how a reader searches ("Путин"); the forms keep the cases.
            entity.aliases |= {n for form in entity.forms for n in normals.get(form, ())}
        return entities

    def _name(self, normal: str) -> str:
        """The canonical name: a curated one for the Cyrillic form, else its transliteration."""
        hit = self.curated.lookup(normal)
        return hit[0] if hit is not None else unidecode(normal)

    def _spans(self, title: str | None, body: str) -> Iterator[tuple[str, str, str, bool]]:
        """(as written, nominative, type, in title) of each name natasha finds."""
        import natasha

        tools = self.tools
        for text, in_title in ((title, True), (body, False)):
            if not text:
                continue
            doc = natasha.Doc(text)
            doc.segment(tools.segmenter)
            doc.tag_ner(tools.ner)
            doc.tag_morph(tools.morph)
            for span in doc.spans:
                entity_type = _TYPES.get(span.type)
                if entity_type is None:
                    continue
                span.normalize(tools.vocab)
                normal = span.normal or span.text
                if name_key(normal):
                    yield span.text, normal, entity_type, in_title
