"""Manual entity curation: merge two entities, split a wrongly linked name off, rename an
entity or change its type.

Each records what the person decided as curated aliases, which EntityResolver consults before
anything else, so a later ingest (even of changed articles that are recognised again) links
the same names the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from app.ingest.store.articles import insert_ignoring_conflicts
from app.keys import name_key
from app.models import ArticleEntity, Entity, EntityAlias
from app.search.lookup import NotFound, resolve_entity


class CurationError(ValueError):
    """The curation asked for cannot be done (unknown entity, alias not found, ...)."""


@dataclass
class CurationResult:
    """What a merge or split changed."""

    entity: Entity
    articles_moved: int


def find_entity(session: Session, name_or_id: str, entity_type: str | None = None) -> Entity:
    """An entity by id, canonical name or alias; CurationError when none or several match."""
    try:
        ids = resolve_entity(session, name_or_id)
    except NotFound as error:
        raise CurationError(str(error)) from None
    found = [e for i in ids if (e := session.get(Entity, i)) is not None]
    found = [e for e in found if entity_type in (None, e.type)]
    if not found:
        raise CurationError(f"no {entity_type} named {name_or_id!r}")
    if len(found) > 1:
        choices = ", ".join(f"{e.id} ({e.name}, {e.type})" for e in found)
        raise CurationError(f"{name_or_id!r} names several entities: {choices}; pass an id")
    return found[0]


def set_curated_alias(session: Session, form: str, entity_type: str, entity_id: int) -> None:
    """Make `form`, written for an entity of `entity_type`, always resolve to `entity_id`."""
    key = name_key(form)
    if not key:
        return
    session.execute(
        delete(EntityAlias).where(
            col(EntityAlias.key) == key, col(EntityAlias.entity_type) == entity_type
        )
    )
    row = {
        "alias": form,
        "key": key,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "curated": True,
        "curated_by": "curation",
    }
    insert_ignoring_conflicts(session, EntityAlias, [row])


def _move_link(session: Session, link: ArticleEntity, target_id: int, forms: list[str]) -> None:
    """Give `target_id` the article link (adding to a link it already has there), each form
    with how it was found."""
    found_by = {form: link.found_by[form] for form in forms if form in link.found_by}
    existing = session.get(ArticleEntity, (link.article_id, target_id))
    if existing is None:
        session.add(
            ArticleEntity(
                article_id=link.article_id,
                entity_id=target_id,
                mentions=link.mentions,
                forms=sorted(forms),
                found_by=found_by,
            )
        )
    else:
        existing.mentions += link.mentions
        existing.forms = sorted({*existing.forms, *forms})
        existing.found_by = {
            form: sorted({*existing.found_by.get(form, ()), *found_by.get(form, ())})
            for form in {*existing.found_by, *found_by}
        }
        session.add(existing)


def merge_entities(session: Session, keep: Entity, drop: Entity) -> CurationResult:
    """Merge `drop` into `keep`: its article links, mention counts, forms and aliases.

    The dropped entity's name becomes a curated alias of the kept one (under both types when
    they differ), so re-ingesting an article that names it links it to the kept entity.
    """
    if keep.id is None or drop.id is None or keep.id == drop.id:
        raise CurationError("merge needs two different entities")
    links = list(
        session.scalars(select(ArticleEntity).where(col(ArticleEntity.entity_id) == drop.id))
    )
    for link in links:
        _move_link(session, link, keep.id, link.forms)
        session.delete(link)
    session.flush()
    aliases = session.scalars(select(EntityAlias).where(col(EntityAlias.entity_id) == drop.id))
    for alias in list(aliases):
        taken = session.scalars(
            select(col(EntityAlias.id)).where(
                col(EntityAlias.key) == alias.key, col(EntityAlias.entity_type) == keep.type
            )
        ).first()
        if taken is None or taken == alias.id:
            alias.entity_type, alias.entity_id = keep.type, keep.id
            session.add(alias)
        else:
            session.delete(alias)
    session.flush()
    for entity_type in {keep.type, drop.type}:
        set_curated_alias(session, drop.name, entity_type, keep.id)
    set_curated_alias(session, keep.name, keep.type, keep.id)
    session.delete(drop)
    session.flush()
    return CurationResult(keep, len(links))


def split_alias(
    session: Session,
    source: Entity,
    alias: str,
    entity_type: str | None = None,
    name: str | None = None,
) -> CurationResult:
    """Detach `alias` from `source` into an entity of its own (named `name` or the alias).

    Articles whose recorded forms include the alias move to the new entity; an article that
    also wrote the source's canonical name keeps a link to both. The alias and both names are
    recorded as curated, so linking never puts the alias back.
    """
    key = name_key(alias)
    if source.id is None or not key:
        raise CurationError("split needs an entity and an alias")
    links = [
        link
        for link in session.scalars(
            select(ArticleEntity).where(col(ArticleEntity.entity_id) == source.id)
        )
        if any(name_key(form) == key for form in link.forms)
    ]
    known = session.scalars(
        select(col(EntityAlias.id)).where(
            col(EntityAlias.entity_id) == source.id, col(EntityAlias.key) == key
        )
    ).first()
    if known is None and not links:
        raise CurationError(
            f"{alias!r} is neither an alias of {source.name!r} nor one of its forms"
        )
    target = _entity_named(session, name or alias.strip(), entity_type or source.type)
    assert target.id is not None
    if target.id == source.id:
        raise CurationError(f"{alias!r} already is the name of {source.name!r}")
    moved = _split_links(session, links, source, target.id, key)
    session.execute(
        update(EntityAlias)
        .where(col(EntityAlias.entity_id) == source.id, col(EntityAlias.key) == key)
        .values(entity_id=target.id, entity_type=target.type, curated=True, curated_by="curation")
    )
    for form, form_type in ((alias, source.type), (alias, target.type), (target.name, target.type)):
        set_curated_alias(session, form, form_type, target.id)
    set_curated_alias(session, source.name, source.type, source.id)
    session.flush()
    return CurationResult(target, moved)


def rename_entity(session: Session, entity: Entity, name: str) -> Entity:
    """Give the entity a new canonical name; its old name stays one of its curated aliases."""
    name = " ".join(name.split())
    if entity.id is None or not name_key(name):
        raise CurationError("rename needs an entity and a name")
    if name == entity.name:
        raise CurationError(f"{entity.name!r} already has that name")
    _refuse_taken(session, entity, name, entity.type)
    old = entity.name
    entity.name = name
    session.add(entity)
    session.flush()
    for form in (old, name):
        set_curated_alias(session, form, entity.type, entity.id)
    session.flush()
    return entity


def retype_entity(session: Session, entity: Entity, entity_type: str) -> Entity:
    """Change the entity's type. Its forms stay curated under the old type too, so text that
    recognition still reads the old way links to it."""
    if entity.id is None:
        raise CurationError("retype needs an entity")
    if entity_type == entity.type:
        raise CurationError(f"{entity.name!r} already is of type {entity_type}")
    _refuse_taken(session, entity, entity.name, entity_type)
    old = entity.type
    own = select(col(EntityAlias.alias)).where(col(EntityAlias.entity_id) == entity.id)
    forms = set(session.scalars(own))
    entity.type = entity_type
    session.add(entity)
    session.flush()
    for form in {entity.name, *forms}:
        for form_type in (old, entity_type):
            set_curated_alias(session, form, form_type, entity.id)
    session.flush()
    return entity


def _refuse_taken(session: Session, entity: Entity, name: str, entity_type: str) -> None:
    """CurationError when another entity already is (name, type): that is a merge."""
    other = session.scalars(
        select(Entity).where(col(Entity.name) == name, col(Entity.type) == entity_type)
    ).first()
    if other is not None and other.id != entity.id:
        raise CurationError(
            f"entity {other.id} already is {name!r} ({entity_type}); "
            f"merge them instead: newsdesk entities merge {other.id} {entity.id}"
        )


def _entity_named(session: Session, name: str, entity_type: str) -> Entity:
    """The entity (name, type), created when there is none."""
    insert_ignoring_conflicts(session, Entity, [{"name": name, "type": entity_type}])
    return session.scalars(
        select(Entity).where(col(Entity.name) == name, col(Entity.type) == entity_type)
    ).one()


def _split_links(
    session: Session, links: list[ArticleEntity], source: Entity, target_id: int, key: str
) -> int:
    """Move the links to `target_id`; a link that also used the source's name is shared."""
    source_key = name_key(source.name)
    for link in links:
        split_forms = [form for form in link.forms if name_key(form) == key]
        kept_forms = [form for form in link.forms if name_key(form) != key]
        if source_key in {name_key(form) for form in kept_forms}:
            # The article names both: each keeps a link; the mentions are shared out evenly.
            share = max(1, link.mentions * len(split_forms) // len(link.forms))
            _move_link(session, _with(link, share), target_id, split_forms)
            link.mentions = max(1, link.mentions - share)
            link.forms = sorted(kept_forms)
            link.found_by = {f: w for f, w in link.found_by.items() if f in kept_forms}
            session.add(link)
        else:
            _move_link(session, link, target_id, link.forms)
            session.delete(link)
    session.flush()
    return len(links)


def _with(link: ArticleEntity, mentions: int) -> ArticleEntity:
    return ArticleEntity(
        article_id=link.article_id,
        entity_id=link.entity_id,
        mentions=mentions,
        forms=link.forms,
        found_by=link.found_by,
    )
