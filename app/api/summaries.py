"""Search hits as API items (ArticleSummary): shared by pages, exports and feeds."""

from __future__ import annotations

from sqlmodel import Session

from app.models import Source
from app.schemas import ArticleSummary, EntityRef, SourceRef
from app.search.articles import top_entities as load_top_entities
from app.search.filter import ArticleFilter, Hit, HitSource
from app.search.text import Highlight, lede_snippet, snippets


def source_ref(source: Source | HitSource | None) -> SourceRef | None:
    if source is None or source.id is None:
        return None
    return SourceRef(id=source.id, name=source.name)


def summarize(
    session: Session,
    snippet_tokens: int,
    flt: ArticleFilter,
    hits: list[Hit],
    marks: Highlight | None,
    entities_per_article: int = 5,
    window: int = 1_500,
) -> list[ArticleSummary]:
    """Search hits as API items: snippets and top entities loaded for the whole page at once;
    each snippet is chosen from `window` characters of its article."""
    ids = [hit.article.id for hit in hits if hit.article.id is not None]
    texts = {i: (hit.article.title, hit.article.body) for hit, i in zip(hits, ids, strict=True)}
    passages = (
        snippets(session, flt.query, flt.search_in, texts, snippet_tokens, marks, window)
        if flt.query is not None
        else {}
    )
    entities = load_top_entities(session, ids, per_article=entities_per_article)
    return [
        ArticleSummary(
            id=article_id,
            title=hit.article.title,
            url=hit.article.url,
            source=source_ref(hit.source),
            author=hit.article.author,
            published_at=hit.article.published_at,
            language=hit.article.language,
            snippet=passages.get(article_id)
            or lede_snippet(hit.article.lede or hit.article.body, snippet_tokens, window),
            score=hit.score,
            entities=[
                EntityRef(id=e.id, name=e.name, type=e.type, mentions=e.mentions)
                for e in entities.get(article_id, [])
            ],
        )
        for hit, article_id in zip(hits, ids, strict=True)
    ]
