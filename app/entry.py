"""The `newsdesk` command's entry point: the command line is imported with the collector off.

Importing the command line and its libraries (SQLAlchemy, pydantic, typer, rich) makes some
hundreds of thousands of objects that live as long as the process. The garbage collector
would examine them again and again as they pile up (a young collection every 700 new
objects, older ones every tenth of those), freeing nothing: with the supervisor's own full
collection, about a fifth of `newsdesk serve`'s start-up (BENCHMARKS.md, "Start-up").
Mercurial starts the same way. The collector is on again before any command runs; `serve`
turns it off once more to load the app (app.serving).
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from app.cli import main as run_command

    gc.enable()
    run_command()
