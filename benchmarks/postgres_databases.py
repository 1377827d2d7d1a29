"""A PostgreSQL database of a benchmark's own, made afresh on the server of an admin URL."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL


def new_database(admin_url: URL, name: str) -> str:
    """Drop the database `name` if it exists, create it empty; its URL, password included."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)
