"""Alembic environment: the URL comes from the app settings, the schema from SQLModel.metadata."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from app.config import get_settings
from app.db import create_db_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata
LOCK_KEY = 0x6E657773  # "news": the advisory lock held while migrating a PostgreSQL database


def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
    """Leave the full-text index (created by hand in a migration) out of autogenerate."""
    if type_ == "table" and name is not None and name.startswith("article_fts"):
        return False
    return not (type_ == "column" and name == "search_vector")


def database_url() -> str:
    """An explicitly passed URL (tests, the CLI) wins over the settings."""
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    settings = get_settings().model_copy(update={"database_url": database_url()})
    engine = create_db_engine(settings)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Two processes upgrading at once (two `newsdesk ingest` runs) take turns:
                # the second waits here, then finds the schema already at head.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
