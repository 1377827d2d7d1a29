"""The SQL of PostgreSQL's generated `article.search_vector`, as the migrations write it.

The indexed words of a column are its text NFC-normalised, its Arabic-script letters folded
(letters.py) and every run of word-break characters made a space, as the query parser splits
words; to_tsvector('newsdesk') then indexes them, the title weighted A, the body B.

Migration 0012 did each step on every text: 1.3 ms of server CPU per article, 93% of a
COPY load. `lean_words` (migration 0016) gives the same tsvector for every text and skips
what a text does not need: no normalisation when every character is below U+0300 (those are
all NFC already) or the text passes the normalisation's quick check, no folding without a
letter to fold, and spaces left where they are (to_tsvector counts words, not blanks), so the
regular expression replaces only the runs holding other break characters, a fraction of
the matches. tests/search/test_postgres_vector.py proves the two agree.
"""

from __future__ import annotations

from collections.abc import Callable

from app.search.letters import LETTER_VARIANTS, REMOVED, postgres_fold

# As in 0002: [:punct:] covers every non-alphanumeric symbol in a UTF-8 locale; the ranges
# (Latin-1 punctuation, general punctuation, arrows to dingbats, CJK punctuation) cover the
# common ones in a database created with the C locale too.
_BREAK_CLASS = (
    "[[:punct:][:space:][:cntrl:]"
    "\\u00a0-\\u00bf\\u00d7\\u00f7\\u2000-\\u206f\\u2190-\\u2bff\\u3000-\\u303f]"
)
PG_WORD_BREAKS = f"{_BREAK_CLASS}+"
# A run of break characters other than the space: a space stays, as good a break as any.
_BREAKS_BUT_SPACE = f"(?:(?! ){_BREAK_CLASS})+"
# A character from U+0300 on: the combining marks start there, and no character below it
# changes under NFC normalisation or combines with its neighbour.
_BEYOND_LATIN = "[^\\u0001-\\u02ff]"
_FOLDED = f"[{''.join(LETTER_VARIANTS)}{REMOVED}]"


def words_0012(column: str, fold: bool = True) -> str:
    """SQL: the column's indexed words as migration 0012 (fold) or 0002 wrote them."""
    normalized = f"normalize(coalesce({column}, ''), NFC)"
    folded = postgres_fold(normalized) if fold else normalized
    return f"regexp_replace({folded}, '{PG_WORD_BREAKS}', ' ', 'g')"


def lean_words(column: str) -> str:
    """SQL: words_0012(column) with a space for each break run, each step only when needed."""
    text = f"coalesce({column}, '')"
    normalized = (
        f"CASE WHEN {text} !~ '{_BEYOND_LATIN}' OR {text} IS NFC NORMALIZED "
        f"THEN {text} ELSE normalize({text}, NFC) END"
    )
    folded = (
        f"CASE WHEN {normalized} ~ '{_FOLDED}' "
        f"THEN {postgres_fold(normalized)} ELSE {normalized} END"
    )
    return f"regexp_replace({folded}, '{_BREAKS_BUT_SPACE}', ' ', 'g')"


def search_vector(words: Callable[[str], str]) -> str:
    """SQL: the article's tsvector, title (A) then body (B), over `words` of each column."""
    return (
        f"setweight(to_tsvector('newsdesk'::regconfig, {words('title')}), 'A') || "
        f"setweight(to_tsvector('newsdesk'::regconfig, {words('body')}), 'B')"
    )


def generated_column(words: Callable[[str], str]) -> list[str]:
    """Statements making `article.search_vector` the vector over `words`, with its GIN index.
    Run them with exec_driver_sql: text() would take the ':punct:' for a bind parameter."""
    return [
        "DROP INDEX IF EXISTS ix_article_search_vector",
        "ALTER TABLE article DROP COLUMN IF EXISTS search_vector",
        "ALTER TABLE article ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({search_vector(words)}) STORED",
        "CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)",
    ]
