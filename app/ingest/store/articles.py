"""Writes extracted articles and their entities to the database, idempotently.

An article is found again by its content hash (the same text under another name is
stored once, with both origins), then by URL, then by origin path (a changed file
updates its article instead of adding a copy). Inserts of shared rows (sources,
entities, aliases) use INSERT ... ON CONFLICT DO NOTHING, so two ingest processes
writing the same names at once never fail or create duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Table, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.ingest.document import ArticleDraft, drop_unsafe_url
from app.ingest.entities.linking import find_match
from app.ingest.store.duplicates import DuplicateIndex
from app.keys import name_key
from app.models import Article, ArticleEntity, ArticleTag, Entity, EntityAlias, Source, utc_now

if TYPE_CHECKING:
    from app.ingest.entities.recognition import FoundEntity

# Fields copied from a draft onto an Article; a difference in any of them is an update.
ARTICLE_FIELDS = (
    "title",
    "subtitle",
    "author",
    "dateline",
    "published_at",
    "language",
    "lede",
    "body",
    "url",
    "cites",
    "extra",
    "provenance",
)


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def content_hash(draft: ArticleDraft) -> str:
    """Identity of an article's content: its title and body, whitespace-normalised."""
    return content_hash_of_words((draft.title or "").split(), draft.body.split())


def content_hash_of_words(title_words: list[str], body_words: list[str]) -> str:
    """content_hash of a title and body already split into words (the bulk path counts the
    body's words too: one split of a long text, not two)."""
    return hashlib.sha256(" ".join(title_words + body_words).encode()).hexdigest()


def without_nul(value: Any) -> Any:
    """Text without NUL characters, which PostgreSQL's text type cannot hold."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def domain_of(url: str | None) -> str | None:
    """The host of a URL without a leading www., or None."""
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def insert_ignoring_conflicts(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, skipping any that hit a unique constraint (both dialects).

    The rows go as parameters of one statement per table (executemany), not as its VALUES:
    the statement is then the same every time and compiled once, where a VALUES list of
    each length and content was compiled again at every call (most of an ingest's linking).
    """
    if not rows:
        return
    target: Table = table.__table__
    dialect_insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else (sqlite.insert)
    )
    session.execute(dialect_insert(target).on_conflict_do_nothing(), rows)


@dataclass
class EntityResolver:
    """Maps a recognised entity to a stored entity id: alias, exact name, fuzzy match, or new."""

    session: Session
    _candidates: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)

    def resolve(self, found: FoundEntity) -> dict[int, dict[str, int]]:
        """The stored entities the found one names, each with the forms that name it.

        Usually one; a form a person split off into an entity of its own (`newsdesk entities
        split`) goes to that entity even where this article linked it to the full name.
        """
        name = name_key(found.name)
        keys = {name_key(form) for form in (found.name, *found.forms, *found.aliases)}
        # Every form a person tied to an entity, looked up once for both uses below.
        curated = self._curated_owners(keys, found.type)
        entity_id = self._by_curated_alias(curated, name)
        if entity_id is None:
            entity_id = self._by_alias(name, found.type)
        if entity_id is None:
            entity_id = find_match(found.name, found.type, self._entities_of(found.type))
        if entity_id is None:
            entity_id = self._create(found.name, found.type)
        self._add_aliases(entity_id, found)
        placed: dict[int, dict[str, int]] = {entity_id: {}}
        for form, count in found.forms.items():
            placed.setdefault(curated.get(name_key(form), entity_id), {})[form] = count
        return placed

    def _curated_owners(self, keys: set[str], entity_type: str) -> dict[str, int]:
        """The entity each of these forms is curated to, for those that are."""
        rows = self.session.exec(
            select(col(EntityAlias.key), col(EntityAlias.entity_id)).where(
                col(EntityAlias.key).in_(keys),
                col(EntityAlias.entity_type) == entity_type,
                col(EntityAlias.curated).is_(True),
            )
        ).all()
        return dict(rows)

    def _by_alias(self, key: str, entity_type: str) -> int | None:
        return self.session.exec(
            select(col(EntityAlias.entity_id)).where(
                col(EntityAlias.key) == key, col(EntityAlias.entity_type) == entity_type
            )
        ).one_or_none()

    @staticmethod
    def _by_curated_alias(curated: dict[str, int], name: str) -> int | None:
        """A form a person has tied to an entity (aliases.csv, merge, split) decides the
        entity; when forms are tied to different entities, the one for the name wins, then
        the first form in key order."""
        if name in curated:
            return curated[name]
        return curated[min(curated)] if curated else None

    def _entities_of(self, entity_type: str) -> list[tuple[int, str, str]]:
        if entity_type not in self._candidates:
            rows = self.session.exec(
                select(col(Entity.id), col(Entity.name), col(Entity.type)).where(
                    col(Entity.type) == entity_type
                )
            ).all()
            # Every stored entity has an id; the test only narrows the model's `int | None`.
            self._candidates[entity_type] = [
                (entity_id, name, kind) for entity_id, name, kind in rows if entity_id is not None
            ]
        return self._candidates[entity_type]

    def _create(self, name: str, entity_type: str) -> int:
        insert_ignoring_conflicts(self.session, Entity, [{"name": name, "type": entity_type}])
        entity_id = self.session.exec(
            select(col(Entity.id)).where(col(Entity.name) == name, col(Entity.type) == entity_type)
        ).one()
        assert entity_id is not None  # a stored row's primary key
        self._entities_of(entity_type).append((entity_id, name, entity_type))
        return entity_id

    def _add_aliases(self, entity_id: int, found: FoundEntity) -> None:
        forms = {name_key(form): form for form in (found.name, *found.forms, *found.aliases)}
        rows = [
            {"alias": form, "key": key, "entity_type": found.type, "entity_id": entity_id}
            for key, form in forms.items()
            if key
        ]
        insert_ignoring_conflicts(self.session, EntityAlias, rows)


def linked_hashes(session: Session, digests: list[str]) -> set[str]:
    """Those of these content hashes whose article is stored with entity links: a re-ingest
    stores such a text unchanged, without recognising it again."""
    linked = select(ArticleEntity.article_id).where(
        col(ArticleEntity.article_id) == col(Article.id)
    )
    rows = session.exec(
        select(col(Article.content_hash)).where(
            col(Article.content_hash).in_(digests), linked.exists()
        )
    ).all()
    return {digest for digest in rows if digest is not None}


def add_curated_alias(session: Session, alias: str, canonical: str, entity_type: str) -> int:
    """Tie `alias` to the entity (canonical, type), creating it; a person's word wins.

    A canonical name merged into another entity (`newsdesk entities merge`) is a curated
    alias of that entity, so the alias follows it there instead of re-creating it.
    """
    entity_id = session.exec(
        select(col(EntityAlias.entity_id)).where(
            col(EntityAlias.key) == name_key(canonical),
            col(EntityAlias.entity_type) == entity_type,
            col(EntityAlias.curated).is_(True),
        )
    ).one_or_none()
    if entity_id is not None:
        canonical = session.exec(select(col(Entity.name)).where(col(Entity.id) == entity_id)).one()
    else:
        insert_ignoring_conflicts(session, Entity, [{"name": canonical, "type": entity_type}])
        entity_id = session.exec(
            select(col(Entity.id)).where(
                col(Entity.name) == canonical, col(Entity.type) == entity_type
            )
        ).one()
        assert entity_id is not None  # a stored row's primary key
    for form in dict.fromkeys((alias, canonical)):  # in order, so alias ids are the same every run
        key = name_key(form)
        session.execute(
            delete(EntityAlias).where(
                col(EntityAlias.key) == key,
                col(EntityAlias.entity_type) == entity_type,
            )
        )
        insert_ignoring_conflicts(
            session,
            EntityAlias,
            [
                {
                    "alias": form,
                    "key": key,
                    "entity_type": entity_type,
                    "entity_id": entity_id,
                    "curated": True,
                    "curated_by": "alias file",
                }
            ],
        )
    return entity_id


class ArticleStore:
    """Saves drafts (with their entities) in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.entities = EntityResolver(session)
        self.duplicates = DuplicateIndex(session)
        self._sources: dict[str, int] = {}
        # The entities linked by this store: what a gazetteer learns from after the commit.
        self.linked: set[int] = set()

    def save(self, draft: ArticleDraft) -> tuple[int, Outcome, bool]:
        """Insert or update one article: its id, what happened, and whether it needs entities."""
        drop_unsafe_url(draft)  # every way in (files, the API) stores only an http(s) URL
        digest = content_hash(draft)
        # A file is known by its absolute path (two folders may share a name below it);
        # `origins` show it as the ingest command named it.
        identity = draft.identity or draft.origin
        article = self._find(digest, draft, identity)
        values = self._values(draft, digest)
        text_changed = False
        if article is None:
            article = Article(**values, origin=identity, origins=[draft.origin])
            self.session.add(article)
            self.session.flush()
            outcome = Outcome.ADDED
        else:
            self._rename_own_origin(article, identity, draft.origin)
            former_hash = article.content_hash
            copy = identity != article.origin and former_hash == digest
            outcome = self._update(article, values, identity, draft.origin)
            text_changed = article.content_hash != former_hash
            if copy:
                # The same text filed elsewhere keeps that file's tags too (its category).
                assert article.id is not None
                self._add_tags(article.id, draft.tags)
        assert article.id is not None
        if text_changed:
            # Links found in the old text are wrong for the new one. Dropped in the text's
            # own commit, a crash before relinking leaves the article unlinked, which the
            # next run relinks, instead of stale links that it would keep.
            self._unlink(article.id)
        if outcome is not Outcome.UNCHANGED:
            self._replace_tags(article.id, draft.tags)
        if outcome is not Outcome.UNCHANGED or article.fingerprint is None:
            self.duplicates.update(article)
        needs_entities = outcome is not Outcome.UNCHANGED or not self._has_links(article.id)
        return article.id, outcome, needs_entities

    def link_entities(self, article_id: int, found: list[FoundEntity], model: str | None) -> None:
        """Replace the article's entity links with what recognition found, noting the model
        that read it (None: not analysed)."""
        self._unlink(article_id)
        self.session.execute(
            update(Article)
            .where(col(Article.id) == article_id, col(Article.entity_model).is_distinct_from(model))
            .values(entity_model=model)
        )
        links: dict[int, dict[str, Any]] = {}
        for entity in found:
            placed = self.entities.resolve(entity)
            for entity_id, forms in placed.items():
                if not forms and len(placed) > 1:
                    continue  # every form went to entities a person split off
                link = links.setdefault(
                    entity_id,
                    {
                        "article_id": article_id,
                        "entity_id": entity_id,
                        "mentions": 0,
                        "forms": [],
                        "found_by": {},
                    },
                )
                link["mentions"] += sum(forms.values()) if len(placed) > 1 else entity.mentions
                link["forms"] = sorted({*link["forms"], *forms})
                for form in forms:
                    ways = {*link["found_by"].get(form, ()), *entity.found_by.get(form, ())}
                    link["found_by"][form] = sorted(ways)
        insert_ignoring_conflicts(self.session, ArticleEntity, list(links.values()))
        self.linked.update(links)

    def _find(self, digest: str, draft: ArticleDraft, identity: str) -> Article | None:
        by_hash = self.session.exec(
            select(Article).where(col(Article.content_hash) == digest)
        ).one_or_none()
        if by_hash is not None:
            return by_hash
        conditions = [col(Article.origin) == identity]
        if draft.url:
            conditions.append(col(Article.url) == draft.url)
        return self.session.exec(
            select(Article).where(or_(*conditions)).order_by(col(Article.id)).limit(1)
        ).one_or_none()

    def _values(self, draft: ArticleDraft, digest: str) -> dict[str, Any]:
        values = {name: without_nul(getattr(draft, name)) for name in ARTICLE_FIELDS}
        values["source_id"] = self._source_id(without_nul(draft.publisher), draft.url)
        values["word_count"] = draft.word_count
        values["content_hash"] = digest
        return values

    def _rename_own_origin(self, article: Article, identity: str, origin: str) -> None:
        """Show the article's own file (the first of its origins) as this run named it.

        Databases from before origins were shown as named hold another form of that path
        (the root folder's name and the path below it); a re-ingest of the file replaces it.
        """
        if article.origin != identity or not article.origins or article.origins[0] == origin:
            return
        article.origins = list(dict.fromkeys([origin, *article.origins[1:]]))
        self.session.add(article)

    def _update(
        self, article: Article, values: dict[str, Any], identity: str, origin: str
    ) -> Outcome:
        if identity != article.origin and article.content_hash == values["content_hash"]:
            # The same text under another name: recorded as a second origin, and never
            # allowed to overwrite what the first origin stored (two copies that differ
            # only in whitespace would otherwise flip the article back and forth).
            if origin not in article.origins:
                article.origins = [*article.origins, origin]
                self.session.add(article)
            return Outcome.UNCHANGED
        changed = {name: value for name, value in values.items() if getattr(article, name) != value}
        if not changed:
            return Outcome.UNCHANGED
        for name, value in changed.items():
            setattr(article, name, value)
        article.updated_at = utc_now()
        self.session.add(article)
        self.session.flush()
        return Outcome.UPDATED

    def _unlink(self, article_id: int) -> None:
        self.session.execute(
            delete(ArticleEntity).where(col(ArticleEntity.article_id) == article_id)
        )

    def _has_links(self, article_id: int) -> bool:
        return (
            self.session.exec(
                select(func.count())
                .select_from(ArticleEntity)
                .where(col(ArticleEntity.article_id) == article_id)
            ).one()
            > 0
        )

    def _source_id(self, publisher: str | None, url: str | None) -> int | None:
        if not publisher:
            return None
        if publisher not in self._sources:
            insert_ignoring_conflicts(
                self.session, Source, [{"name": publisher, "domain": domain_of(url)}]
            )
            source_id = self.session.exec(
                select(col(Source.id)).where(col(Source.name) == publisher)
            ).one()
            assert source_id is not None  # a stored row's primary key
            self._sources[publisher] = source_id
        return self._sources[publisher]

    def _replace_tags(self, article_id: int, tags: Iterable[str]) -> None:
        self.session.execute(delete(ArticleTag).where(col(ArticleTag.article_id) == article_id))
        self._add_tags(article_id, tags)

    def _add_tags(self, article_id: int, tags: Iterable[str]) -> None:
        rows = [
            {"article_id": article_id, "tag": without_nul(tag)}
            for tag in dict.fromkeys(tags)
            if tag
        ]
        insert_ignoring_conflicts(self.session, ArticleTag, rows)
