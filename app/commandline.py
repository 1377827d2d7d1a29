"""What every `newsdesk` command shares: the --database-url option and the settings it makes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from app.config import Settings, get_settings

console = Console(stderr=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", envvar="DATABASE_URL", help="Overrides DATABASE_URL."),
]


def settings_for(database_url: str | None) -> Settings:
    """The settings from the environment, with the command's --database-url if given."""
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the message in red on stderr; the exit to raise with `code`."""
    console.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(code)
