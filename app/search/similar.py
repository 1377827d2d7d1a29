"""Articles about the same story: shared rare entities and shared distinctive terms.

An article's entities are weighted by rarity (inverse document frequency over
article_entity, times 1 + ln(mentions)): an entity every article mentions weighs nothing.
Its terms are weighted by tf-idf, with document frequencies from the full-text index
(SQLite's fts5vocab, PostgreSQL a capped count), and only the most distinctive few are used.

Candidates come from two index lookups, so the cost does not grow with the archive: the
articles sharing the most weight of the rarest entities, and the best BM25 matches of an
OR query of the distinctive terms. Each candidate's score is the share of the article's
entity weight it shares, averaged with the share of its term weight it shares (0 to 1).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, case, desc, func, select, text
from sqlmodel import Session, col

from app.models import Article, ArticleEntity, Entity, Source
from app.search.letters import fold_letters
from app.search.query import Or, Term
from app.search.text import matches

ENTITY_SHARE = 0.5  # of the score; the rest comes from terms
MAX_TERMS = 15  # distinctive terms of the article used for candidates and scoring
TERM_POOL = 40  # most frequent words whose document frequency is looked up
# Words too common to be distinctive in English news, skipped before the index is asked
# for their document frequency (fts5vocab counts a term's whole posting list).
_STOPWORD_TEXT = """about after again against all also and any are around because been before being
    between both but can could did does doing down during each few for from further had has
    have having her here hers him his how into its just last like made make many may more
    most much new not now off once one only other our out over own said same says she should
    since some still such than that the their them then there these they this those through
    told too two under until very was way were what when where which while who whom why will
    with would year years you your"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
TITLE_BOOST = 3  # a title word counts this many times a body word
MAX_ENTITIES = 20  # rarest entities used to find candidates (all count in the score)
CANDIDATES = 100  # per signal
PG_DF_CAP = 10_000  # PostgreSQL counts documents per term up to this many

_WORD = re.compile(r"[^\W\d_][^\W_]*")


def folded_words(text_: str) -> list[str]:
    """Lower-cased, accent-free words (digits-only tokens dropped), as the index folds them."""
    words = _WORD.findall(fold_letters(text_).lower())
    return [word if word.isascii() else strip_accents(word) for word in words]


def strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class Weighted:
    """An entity (key = its id) or a term (key = the word) and its weight for this article."""

    key: int | str
    label: str
    weight: float


@dataclass
class SimilarHit:
    article: Article
    source: Source | None
    score: float
    shared_entities: list[str] = field(default_factory=list)
    shared_terms: list[str] = field(default_factory=list)


def idf(total: int, df: int) -> float:
    """Inverse document frequency; 0 for a term or entity in every article."""
    return math.log(max(total, 1) / max(df, 1)) if df < total else 0.0


def article_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Article)).scalar_one())


def entity_weights(session: Session, article_id: int, total: int) -> list[Weighted]:
    """The article's entities, heaviest (rarest, most mentioned) first; weightless ones left out."""
    df = (
        select(col(ArticleEntity.entity_id), func.count().label("df"))
        .where(
            col(ArticleEntity.entity_id).in_(
                select(col(ArticleEntity.entity_id)).where(
                    col(ArticleEntity.article_id) == article_id
                )
            )
        )
        .group_by(col(ArticleEntity.entity_id))
        .subquery()
    )
    rows = session.execute(
        select(col(Entity.id), col(Entity.name), col(ArticleEntity.mentions), df.c.df)
        .join(ArticleEntity, col(ArticleEntity.entity_id) == col(Entity.id))
        .join(df, df.c.entity_id == col(Entity.id))
        .where(col(ArticleEntity.article_id) == article_id)
    ).all()
    weights = [
        Weighted(entity_id, name, idf(total, count) * (1 + math.log(max(mentions, 1))))
        for entity_id, name, mentions, count in rows
    ]
    return sorted((w for w in weights if w.weight > 0), key=lambda w: (-w.weight, w.label))


def term_frequencies(session: Session, terms: list[str]) -> dict[str, int]:
    """How many articles contain each term, from the full-text index."""
    if not terms:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        vocab = text("SELECT term, doc FROM article_fts_vocab WHERE term IN :terms")
        rows = session.execute(
            vocab.bindparams(bindparam("terms", expanding=True)), {"terms": terms}
        )
        return {term: int(doc) for term, doc in rows}
    counts: dict[str, int] = {}
    for term in terms:
        matching = matches("postgresql", Term(term), "all").limit(PG_DF_CAP).subquery()
        counts[term] = int(session.execute(select(func.count()).select_from(matching)).scalar_one())
    return counts


def is_content_word(word: str) -> bool:
    return len(word) > 2 and word not in STOPWORDS


def term_weights(session: Session, article: Article, total: int) -> list[Weighted]:
    """The article's most distinctive words by tf-idf, heaviest first."""
    counts = Counter(w for w in folded_words(article.body) if is_content_word(w))
    for word in folded_words(article.title or ""):
        if is_content_word(word):
            counts[word] += TITLE_BOOST
    pool = [word for word, _ in counts.most_common(TERM_POOL)]
    df = term_frequencies(session, pool)
    weights = [
        Weighted(word, word, (1 + math.log(counts[word])) * idf(total, df.get(word, 0)))
        for word in pool
        if df.get(word, 0) > 1  # a word no other article has can not be shared
    ]
    ranked = sorted((w for w in weights if w.weight > 0), key=lambda w: (-w.weight, w.label))
    return ranked[:MAX_TERMS]


def entity_candidates(session: Session, article_id: int, entities: list[Weighted]) -> list[int]:
    """Articles sharing the most weight of the article's rarest entities."""
    rarest = entities[:MAX_ENTITIES]
    if not rarest:
        return []
    weight = case({w.key: w.weight for w in rarest}, value=col(ArticleEntity.entity_id), else_=0.0)
    rows = session.execute(
        select(col(ArticleEntity.article_id))
        .where(
            col(ArticleEntity.entity_id).in_([w.key for w in rarest]),
            col(ArticleEntity.article_id) != article_id,
        )
        .group_by(col(ArticleEntity.article_id))
        .order_by(desc(func.sum(weight)), col(ArticleEntity.article_id))
        .limit(CANDIDATES)
    ).scalars()
    return list(rows)


def term_candidates(session: Session, article_id: int, terms: list[Weighted]) -> list[int]:
    """The best BM25 matches of any of the article's distinctive terms."""
    if not terms:
        return []
    query = Or(tuple(Term(str(w.key)) for w in terms))
    found = matches(session.get_bind().dialect.name, query, "all").subquery()
    rows = session.execute(
        select(found.c.id)
        .where(found.c.id != article_id)
        .order_by(found.c.score.desc(), found.c.id)
        .limit(CANDIDATES)
    ).scalars()
    return list(rows)


def shared_entity_ids(
    session: Session, ids: Iterable[int], entities: list[Weighted]
) -> dict[int, set[int]]:
    """Which of the article's entities each candidate mentions."""
    rows = session.execute(
        select(col(ArticleEntity.article_id), col(ArticleEntity.entity_id)).where(
            col(ArticleEntity.article_id).in_(list(ids)),
            col(ArticleEntity.entity_id).in_([w.key for w in entities]),
        )
    ).all()
    shared: dict[int, set[int]] = {}
    for article_id, entity_id in rows:
        shared.setdefault(article_id, set()).add(entity_id)
    return shared


def share(weights: list[Weighted], present: set[int] | set[str]) -> tuple[float, list[str]]:
    """The fraction of the total weight that is present, and the labels present, heaviest first."""
    total = sum(w.weight for w in weights)
    found = [w for w in weights if w.key in present]
    return (sum(w.weight for w in found) / total if total else 0.0), [w.label for w in found]


def term_presence(
    session: Session, ids: Iterable[int], terms: list[Weighted]
) -> dict[int, set[str]]:
    """Which of the article's distinctive terms each candidate contains (index lookups)."""
    dialect = session.get_bind().dialect.name
    present: dict[int, set[str]] = {}
    for term in terms:
        found = matches(dialect, Term(str(term.key)), "all").subquery()
        # `id + 0`: SQLite would otherwise look each id up in the full-text index in turn
        # (one posting-list walk per id) instead of walking the term's posting list once.
        for article_id in session.execute(
            select(found.c.id).where((found.c.id + 0).in_(list(ids)))
        ).scalars():
            present.setdefault(article_id, set()).add(str(term.key))
    return present


def similar_articles(
    session: Session, article: Article, limit: int, *, exclude_duplicates: bool = False
) -> list[SimilarHit]:
    """The `limit` articles most similar to `article`, best first (ties by id)."""
    assert article.id is not None
    total = article_count(session)
    entities = entity_weights(session, article.id, total)
    terms = term_weights(session, article, total)
    ids = set(entity_candidates(session, article.id, entities))
    ids |= set(term_candidates(session, article.id, terms))
    if exclude_duplicates and ids:
        ids = set(
            session.execute(
                select(col(Article.id)).where(
                    col(Article.id).in_(ids), col(Article.duplicate_of).is_(None)
                )
            ).scalars()
        )
    if not ids:
        return []
    entities_of = shared_entity_ids(session, ids, entities) if entities else {}
    terms_of = term_presence(session, ids, terms)
    entity_part = ENTITY_SHARE if entities and terms else (1.0 if entities else 0.0)
    scored = []
    for article_id in ids:
        entity_score, entity_names = share(entities, entities_of.get(article_id, set()))
        term_score, term_names = share(terms, terms_of.get(article_id, set()))
        score = round(entity_part * entity_score + (1 - entity_part) * term_score, 4)
        if score > 0:
            scored.append((score, article_id, entity_names, term_names))
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[:limit]
    rows = session.execute(
        select(Article, Source)
        .outerjoin(Source, col(Source.id) == col(Article.source_id))
        .where(col(Article.id).in_([item[1] for item in best]))
    ).all()
    loaded = {candidate.id: (candidate, source) for candidate, source in rows}
    return [
        SimilarHit(*loaded[article_id], score, entity_names, term_names)
        for score, article_id, entity_names, term_names in best
    ]
