"""Full-text index over title and body, kept in step with the article table.

SQLite: an FTS5 external-content table (unicode61, diacritics removed) with triggers.
PostgreSQL: a `newsdesk` text search configuration (simple + unaccent), a generated
tsvector column (title weighted A, body B) and a GIN index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UPGRADE = [
    """
    CREATE VIRTUAL TABLE article_fts USING fts5(
        title, body,
        content='article', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN
        INSERT INTO article_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN
        INSERT INTO article_fts(article_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    """
    CREATE TRIGGER article_fts_update AFTER UPDATE OF title, body ON article BEGIN
        INSERT INTO article_fts(article_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO article_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    # Index any rows that existed before this migration (upgrade on a populated DB).
    "INSERT INTO article_fts(article_fts) VALUES ('rebuild')",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS article_fts_update",
    "DROP TRIGGER IF EXISTS article_fts_delete",
    "DROP TRIGGER IF EXISTS article_fts_insert",
    "DROP TABLE IF EXISTS article_fts",
]

# PostgreSQL's default parser keeps "U.S." as one token 'u.s' and "e-mail" as 'e-mail', but
# the query parser (app/search/query.py) splits words as FTS5's unicode61 does: at every
# character that is not a letter or digit ("U.S." is the phrase 'u' <-> 's'). So the indexed
# text is NFC-normalised and its punctuation, symbols and spaces are turned into spaces first.
# [:punct:] covers every non-alphanumeric symbol in a UTF-8 locale; the explicit ranges
# (Latin-1 punctuation, general punctuation, arrows to dingbats, CJK punctuation) cover the
# common ones in a database created with the C locale too.
PG_WORD_BREAKS = (
    "[[:punct:][:space:][:cntrl:]"
    "\\u00a0-\\u00bf\\u00d7\\u00f7\\u2000-\\u206f\\u2190-\\u2bff\\u3000-\\u303f]+"
)


def _pg_words(column: str) -> str:
    """SQL: the column's text with every word break made a space, as the query parser splits."""
    return f"regexp_replace(normalize(coalesce({column}, ''), NFC), '{PG_WORD_BREAKS}', ' ', 'g')"


POSTGRES_UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # Every token type that can hold a letter is unaccented, then kept as it is (no stemming,
    # no stop words: the same matching as FTS5's unicode61 with remove_diacritics).
    """
    DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'newsdesk') THEN
            CREATE TEXT SEARCH CONFIGURATION newsdesk (COPY = simple);
            ALTER TEXT SEARCH CONFIGURATION newsdesk
                ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword,
                    hword_asciipart, hword_part, hword_numpart
                WITH unaccent, simple;
        END IF;
    END $$
    """,
    f"""
    ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('newsdesk'::regconfig, {_pg_words("title")}), 'A') ||
        setweight(to_tsvector('newsdesk'::regconfig, {_pg_words("body")}), 'B')
    ) STORED
    """,
    "CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)",
]

POSTGRES_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_article_search_vector",
    "ALTER TABLE article DROP COLUMN IF EXISTS search_vector",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS newsdesk",
]


def _run(statements: list[str]) -> None:
    # Straight to the driver: text() would take the ':punct:' in a regex for a bind parameter.
    for statement in statements:
        op.get_bind().exec_driver_sql(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_UPGRADE)
    else:
        _run(POSTGRES_UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_DOWNGRADE)
    else:
        _run(POSTGRES_DOWNGRADE)
