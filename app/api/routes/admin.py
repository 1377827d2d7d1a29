"""Write endpoints (add, update or delete an article; merge entities), behind the API key.

The app includes this router only when an API key is configured. Ingest code (extraction,
storage, and spaCy when it is installed) is imported inside the handlers, so a read-only
server never loads it.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from app.api.deps import (
    ArticleId,
    PlainSessionDep,
    SettingsDep,
    database_unavailable,
    is_unavailable,
)
from app.api.errors import ApiError
from app.api.routing import ApiRoute
from app.api.security import ApiKeyDep
from app.db import create_db_engine, session_engine
from app.models import Entity
from app.schemas import ArticleIn, ArticleWritten, EntityMerged, EntityMergeIn, ErrorResponse
from app.search.service import index_after_write

if TYPE_CHECKING:
    from app.config import Settings
    from app.ingest.document import ArticleDraft
    from app.ingest.entities.recognition import EntityAnalysis, EntityRecognizer
    from app.ingest.store.known_forms import ArchiveGazetteer

KEY_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No API key sent."},
    403: {"model": ErrorResponse, "description": "The API key is not valid."},
    422: {"model": ErrorResponse, "description": "The request body or a parameter is invalid."},
}

router = APIRouter(
    route_class=ApiRoute, tags=["admin"], dependencies=[ApiKeyDep], responses=KEY_ERRORS
)
_recognizer_lock = threading.Lock()
logger = logging.getLogger("newsdesk.monitor")


def writer_session(settings: SettingsDep) -> Iterator[Session]:
    """A session whose transactions take SQLite's write lock up front, so a write waits for a
    concurrent ingest (busy timeout) instead of failing with "database is locked". A write
    database that can't answer (the primary down) answers 503 database_unavailable."""
    engine = create_db_engine(settings, writer=True)
    try:
        with Session(engine) as session:
            yield session
    except DBAPIError as error:
        if not is_unavailable(error):
            raise
        logger.exception("write database error")
        raise database_unavailable() from None
    finally:
        engine.dispose()


WriterSessionDep = Annotated[Session, Depends(writer_session)]


@lru_cache(maxsize=1)
def shared_recognizer() -> EntityRecognizer | None:
    """The entity recognizer when spaCy and its model are installed, else None."""
    try:
        from app.ingest.entities.recognition import MODEL_PACKAGE, EntityRecognizer

        importlib.import_module("spacy")
        importlib.import_module(MODEL_PACKAGE)
    except ImportError:
        return None
    return EntityRecognizer()


# The gazetteer of each database this process writes to (one, outside the tests).
_gazetteers: dict[str, ArchiveGazetteer] = {}


def recognize(
    draft: ArticleDraft, reader: Session, settings: Settings
) -> tuple[EntityAnalysis | None, str | None]:
    """The article's entities, or None and the reason recognition was skipped. As in an
    ingest, the forms the archive knows (the gazetteer, read through `reader`) are found
    where the model misses them."""
    from app.ingest.store.known_forms import ArchiveGazetteer

    recognizer = shared_recognizer()
    if recognizer is None:
        return None, "spaCy or its English model is not installed on this server"
    with _recognizer_lock:  # one spaCy pipeline, not safe to share between threads at once
        known = _gazetteers.setdefault(
            settings.database_url, ArchiveGazetteer(settings.gazetteer_min_articles)
        )
        known.min_articles = settings.gazetteer_min_articles
        article = (draft.title, draft.body, draft.language)
        try:
            gazetteer = known.current(reader)
            return recognizer.analyse([article], batch_size=1, gazetteer=gazetteer)[0], None
        except (ImportError, OSError) as error:
            return None, f"entity recognition failed to load: {type(error).__name__}"


@router.post(
    "/articles",
    response_model=ArticleWritten,
    responses={201: {"model": ArticleWritten, "description": "The article was added."}},
    summary="Add or update one article (API key)",
)
def put_article(
    payload: ArticleIn,
    session: WriterSessionDep,
    reader: PlainSessionDep,
    settings: SettingsDep,
    response: Response,
) -> ArticleWritten:
    """Extract and store one article exactly as `newsdesk ingest` does with a .json file,
    recognising its entities when spaCy is installed. 201 when added, 200 when updated or
    unchanged."""
    from app.ingest.read.jsonarticle import InvalidArticleJson, extract_json_article
    from app.ingest.store.articles import ArticleStore, content_hash

    fields = payload.model_dump(exclude_none=True)
    # The whole document counts, as a file's size does for ingest (not its strings alone).
    size = len(payload.model_dump_json(exclude_none=True).encode())
    if size > settings.max_file_bytes:
        raise ApiError(
            422, "article_too_large", f"the article is over {settings.max_file_bytes} bytes"
        )
    try:
        draft = extract_json_article(fields, origin="api")
    except InvalidArticleJson as error:
        raise ApiError(422, "invalid_article", str(error)) from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00: before year 1 once in UTC
        raise ApiError(
            422, "invalid_article", "a date in the article is outside years 1 to 9999 in UTC"
        ) from None
    # The origin names the article for later updates: its URL, else its content.
    draft.origin = f"api:{draft.url}" if draft.url else f"api:{content_hash(draft)[:16]}"
    found, note = recognize(draft, reader, settings)
    store = ArticleStore(session)
    try:
        article_id, outcome, needs_entities = store.save(draft)
        if found is not None and needs_entities:
            store.link_entities(article_id, found.entities, found.model)
        session.commit()
    except IntegrityError:
        raise ApiError(
            409, "conflict", "the article clashes with a stored one (same URL, other text?)"
        ) from None
    searchable(settings, session)
    if outcome.value != "unchanged":
        alert_saved_searches(settings, session, article_id)
    response.status_code = 201 if outcome.value == "added" else 200
    return ArticleWritten(
        id=article_id,
        outcome=outcome.value,
        entities="recognized" if found is not None else "skipped",
        note=note,
    )


@router.delete(
    "/articles/{article_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"model": ErrorResponse, "description": "No article with that id."}},
    summary="Delete one article (API key)",
)
def remove_article(
    session: WriterSessionDep,
    settings: SettingsDep,
    article_id: ArticleId,
) -> Response:
    """Delete the article, its tags and entity links; the index forgets it at once."""
    from app.ingest.store.removal import delete_article

    if not delete_article(session, article_id):
        raise ApiError(404, "not_found", f"no article with id {article_id}")
    session.commit()
    searchable(settings, session)
    return Response(status_code=204)


@router.post(
    "/entities/merge",
    response_model=EntityMerged,
    responses={
        404: {"model": ErrorResponse, "description": "No entity with one of the ids."},
        409: {"model": ErrorResponse, "description": "The two ids name the same entity."},
    },
    summary="Merge one entity into another (API key)",
)
def merge_entities(
    payload: EntityMergeIn, session: WriterSessionDep, settings: SettingsDep
) -> EntityMerged:
    """Fold `merge` into `into`: its article links, mention counts and aliases move to `into`,
    its name becomes a curated alias of `into` (so later ingests link it there too), and
    `merge` is deleted. The same as `newsdesk entities merge`."""
    from app.ingest.entities.curation import CurationError
    from app.ingest.entities.curation import merge_entities as merge

    keep, drop = session.get(Entity, payload.into), session.get(Entity, payload.merge)
    missing = [str(i) for i, e in ((payload.into, keep), (payload.merge, drop)) if e is None]
    if keep is None or drop is None:
        raise ApiError(404, "not_found", f"no entity with id {', '.join(missing)}")
    try:
        result = merge(session, keep, drop)
    except CurationError as error:
        raise ApiError(409, "cannot_merge", str(error)) from None
    session.commit()
    searchable(settings, session)
    return EntityMerged(
        id=payload.into,
        name=result.entity.name,
        type=result.entity.type,
        merged=payload.merge,
        articles_moved=result.articles_moved,
    )


def alert_saved_searches(settings: SettingsDep, session: Session, article_id: int) -> None:
    """Match a stored article against the saved searches, as ingest does after a batch; a
    failure is logged, never the answer (the article is stored)."""
    from app.monitor.matching import match_articles

    try:
        match_articles(session_engine(session), settings, [article_id])
    except Exception:  # any failure: the write succeeded, alerts must not undo its answer
        logger.exception("saved searches not matched for article %s", article_id)


def searchable(settings: SettingsDep, session: Session) -> None:
    """Apply a committed write to the search index (searches use the database until then)."""
    index_after_write(settings, session_engine(session), wait_seconds=10)
