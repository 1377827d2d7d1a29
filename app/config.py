"""All settings in one place, read from the environment (prefix NEWSDESK_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Newsdesk configuration: each field from NEWSDESK_<NAME> (URL and data dir also bare)."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'data' / 'newsdesk.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "NEWSDESK_DATABASE_URL"),
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://...",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        validation_alias=AliasChoices("DATA_DIR", "NEWSDESK_DATA_DIR"),
        description="Folder holding articles/ (ingested on start) and aliases.csv.",
    )
    max_file_bytes: int = Field(
        default=5_000_000, ge=1, description="Files larger than this are rejected by ingest."
    )
    ingest_batch_size: int = Field(
        default=64, ge=1, le=10_000, description="Articles per NER batch and per commit."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, description="How long a SQLite connection waits for a lock."
    )
    default_page_size: int = Field(default=20, ge=1, le=100)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    max_query_length: int = Field(
        default=1_000, ge=10, description="Longest accepted q, in characters."
    )
    snippet_tokens: int = Field(
        default=24, ge=4, le=64, description="Approximate length of a search snippet, in words."
    )

    @property
    def articles_dir(self) -> Path:
        return self.data_dir / "articles"

    @property
    def aliases_file(self) -> Path:
        return self.data_dir / "aliases.csv"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
