"""PostgreSQL's archive generation (app/search/tantivy/changes.py, FinalChanges): it moves
with every change this database's snapshot sees, a transaction that commits a lower number
after a higher one was seen included, and with nothing else: not with another database's
transactions, which share the server's transaction numbers. A process that kept counts
gets the generation a fresh one counts from the whole log.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from app.db import create_db_engine
from app.search.tantivy.changes import FINAL_CHANGES, FinalChanges, prune_older_than
from tests.backends import PostgresServer
from tests.helpers import seed_database, settings_for, wait_for_boundary_past_the_log

pytestmark = pytest.mark.postgres

RETITLE = text("UPDATE article SET title = title || :mark WHERE id = (SELECT min(id) FROM article)")
RETITLE_LAST = text(
    "UPDATE article SET title = title || :mark WHERE id = (SELECT max(id) FROM article)"
)


@pytest.fixture
def writer(postgres_server: PostgresServer) -> Iterator[Engine]:
    url = postgres_server.clone(postgres_server.template("seeded", seed_database))
    engine = create_db_engine(settings_for(url), writer=True)
    yield engine
    engine.dispose()
    postgres_server.release(url)


def generation(engine: Engine) -> tuple[int, ...]:
    """The generation a request sees, checked against a process that kept no counts."""
    with engine.connect() as connection:
        kept = FINAL_CHANGES.generation(connection)
    with engine.connect() as connection:
        assert FinalChanges().generation(connection) == kept
    return kept


def retitle(engine: Engine, mark: str) -> None:
    with engine.begin() as connection:
        connection.execute(RETITLE, {"mark": mark})


def test_another_databases_transaction_moves_nothing(
    writer: Engine, postgres_server: PostgresServer
) -> None:
    elsewhere = create_engine(postgres_server.admin_url)
    try:
        with elsewhere.connect() as other:
            other.execute(text("SELECT pg_current_xact_id()"))  # older than the change below
            retitle(writer, " again")
            before = generation(writer)
            other.commit()
            wait_for_boundary_past_the_log(writer)  # the server's oldest is past the change
            assert generation(writer) == before
            other.execute(text("SELECT pg_current_xact_id()"))
            assert generation(writer) == before
            other.rollback()
    finally:
        elsewhere.dispose()
    assert generation(writer) == before


def test_a_lower_transaction_committing_after_a_higher_one_was_seen_moves_it(
    writer: Engine,
) -> None:
    with writer.connect() as lower:
        lower.execute(RETITLE, {"mark": " first"})  # its number is below the next one's
        with writer.begin() as connection:  # logged with a higher number, committed first
            connection.execute(RETITLE_LAST, {"mark": " second"})
        seen = generation(writer)
        assert generation(writer) == seen
        lower.commit()
    assert generation(writer) != seen


def test_each_change_moves_it_and_a_prune_moves_it_once(writer: Engine) -> None:
    generations = [generation(writer)]
    for mark in ("a", "b"):
        retitle(writer, mark)
        generations.append(generation(writer))
    assert len(set(generations)) == 3
    with writer.begin() as connection:
        connection.execute(text("UPDATE search_change SET changed_at = now() - interval '2 h'"))
    wait_for_boundary_past_the_log(writer)  # a prune stops at the oldest one running
    assert prune_older_than(writer, 3600) > 0
    pruned = generation(writer)
    assert pruned not in generations
    assert generation(writer) == pruned
    retitle(writer, "c")
    assert generation(writer) != pruned
