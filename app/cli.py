"""The `newsdesk` command: ingest articles, serve the API, manage the database and entities."""

from __future__ import annotations

import gc
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from app.collect.commands import collect, reextract, sources_app
from app.commandline import DatabaseOption, settings_for
from app.config import Settings, get_settings
from app.db import create_db_engine, current_revision, downgrade_database, upgrade_database
from app.ingest.document import ReadFailure
from app.monitor.commands import deliver, searches_app
from app.search.tantivy.sync import sync_search_index

if TYPE_CHECKING:  # imported where used: `serve` should not load the ingest libraries
    from rich.progress import Progress

    from app.ingest.extract.defaults import IngestDefaults

app = typer.Typer(help="Newsdesk: a self-hosted news-article metadata API.", no_args_is_help=True)
db_app = typer.Typer(help="Create, upgrade or inspect the database schema.", no_args_is_help=True)
entities_app = typer.Typer(help="Curate entities by hand.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(entities_app, name="entities")
app.add_typer(sources_app, name="sources")
app.add_typer(searches_app, name="searches")
app.command()(collect)
app.command()(deliver)
app.command()(reextract)

console = Console(stderr=True)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Article files or folders (recursive).")],
    nlp: Annotated[
        bool, typer.Option("--nlp/--no-nlp", help="Recognise named entities with spaCy.")
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be extracted; write nothing.")
    ] = False,
    database_url: DatabaseOption = None,
    follow_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-symlinks",
            help="Follow symlinked folders and links out of the given folders (default: "
            "skip them and say so; only links to files inside a given folder are read).",
        ),
    ] = False,
    publisher: Annotated[
        str | None,
        typer.Option(help="Publisher for articles whose files don't name one (provenance cli)."),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Two-letter language for articles whose files don't state one."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Tag added to every article read (repeatable).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes reading files and recognising entities (default: "
            "NEWSDESK_INGEST_WORKERS, else one per core; 1: all in this process).",
        ),
    ] = None,
) -> None:
    """Read articles, extract their metadata and entities, and store them (idempotent).

    --publisher and --language fill in what a file doesn't state (a sidecar, a page's tags
    or a JSON field win; a guess from the text loses), and each --tag is added to every article.
    """
    settings = settings_for(database_url)
    missing = [path for path in paths if not path.exists()]
    if missing:
        console.print(f"[red]No such file or folder:[/red] {', '.join(map(str, missing))}")
        raise typer.Exit(2)
    defaults = ingest_defaults(publisher, language, tag or [])
    if dry_run:
        raise typer.Exit(
            print_dry_run(paths, settings, follow_symlinks, nlp=nlp, defaults=defaults)
        )
    from app.ingest.pipeline import Ingest
    from app.ingest.workers import available_cores

    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    recognizer = None
    if nlp:
        from app.ingest.entities.recognition import EntityRecognizer

        recognizer = EntityRecognizer()
    run = Ingest(
        engine,
        settings,
        recognizer,
        follow_symlinks=follow_symlinks,
        defaults=defaults,
        workers=workers or settings.ingest_workers or available_cores(),
    )
    if settings.aliases_file.exists():
        run.apply_aliases(settings.aliases_file)
    with ingest_progress() as progress:
        task = progress.add_task("Ingesting", total=None)
        report = run.run(paths, on_file=lambda _path: progress.advance(task))
    print_skipped(report.skipped, report.unsupported)
    for failure in report.failures:
        console.print(f"[red]failed[/red] {failure.origin}: {failure.reason}", highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note[/yellow] {note}", highlight=False)
    print(report.summary())
    engine.dispose()
    raise typer.Exit(1 if report.failures else 0)


@app.command()
def reindex(
    incremental: Annotated[
        bool, typer.Option(help="Apply only the changes the index lacks, instead of rebuilding.")
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Rebuild the search index from the database (NEWSDESK_SEARCH_ENGINE=tantivy: on SQLite,
    or on PostgreSQL with NEWSDESK_SEARCH_INDEX_DIR, read over NEWSDESK_READ_DATABASE_URL)."""
    from app.search.tantivy.index import IndexBusy, search_index_for
    from app.search.tantivy.sync import sync_index

    settings = settings_for(database_url)
    index = search_index_for(settings)
    if index is None:
        console.print("No search index to build: search runs in the database for these settings.")
        raise typer.Exit(0)
    upgrade_database(settings.database_url)
    # The index follows the database the node reads (a replica, when one is configured).
    engine = create_db_engine(settings, writer=settings.read_database_url is None, reader=True)
    try:
        report = sync_index(index, engine, wait_seconds=60, rebuild=not incremental)
    except IndexBusy:
        console.print("[red]Another process is writing the search index; try again.[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    print(f"{report.summary()} ({index.directory})")


def ingest_progress() -> Progress:
    """A progress bar on a terminal; silent when output is piped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not sys.stderr.isatty(),
        transient=True,
    )


def print_skipped(skipped: list[ReadFailure], unsupported: Counter[str]) -> None:
    """Say which symlinks and folders ingest passed over and why, and how many files of
    types it doesn't read (stderr)."""
    for skip in skipped:
        console.print(f"[yellow]skipped[/yellow] {skip.origin}: {skip.reason}", highlight=False)
    from app.ingest.read.discovery import unsupported_note

    note = unsupported_note(unsupported)
    if note:
        console.print(f"[yellow]skipped[/yellow] {note}", highlight=False)


def ingest_defaults(publisher: str | None, language: str | None, tags: list[str]) -> IngestDefaults:
    """The command line's defaults, checked; a language that is not a two-letter code exits 2."""
    from app.ingest.extract.defaults import IngestDefaults
    from app.ingest.extract.metafields import MetadataError, optional_language

    code = None
    if language is not None:
        try:
            code = optional_language({"language": language}, "language")
        except MetadataError as exc:
            console.print(f"[red]--language:[/red] {exc}")
            raise typer.Exit(2) from None
    tags = [stripped for tag in tags if (stripped := tag.strip())]
    return IngestDefaults((publisher or "").strip() or None, code, tags)


def print_dry_run(
    paths: list[Path],
    settings: Settings,
    follow_symlinks: bool = False,
    *,
    nlp: bool = True,
    defaults: IngestDefaults | None = None,
) -> int:
    """Show, per article, the fields ingest would store, and with `nlp` the entities it
    would recognise (before linking to those already stored). Returns the exit code."""
    from app.ingest.pipeline import find_all, read_found
    from app.ingest.read.readers import ReadLimits

    recognizer = None
    if nlp:
        from app.ingest.entities.recognition import EntityRecognizer

        recognizer = EntityRecognizer()
    out = Console()
    failed = 0
    found = find_all(paths, follow_symlinks=follow_symlinks)
    unsupported: Counter[str] = Counter()
    for _, discovery in found:
        unsupported.update(discovery.unsupported)
    print_skipped([skip for _, discovery in found for skip in discovery.skipped], unsupported)
    limits = ReadLimits.from_settings(settings, follow_symlinks=follow_symlinks)
    for item in read_found(found, limits, defaults=defaults):
        if isinstance(item, ReadFailure):
            failed += 1
            out.print(f"[red]failed[/red] {item.origin}: {item.reason}", highlight=False)
            continue
        table = Table(title=item.origin, show_header=True, title_justify="left")
        table.add_column("field")
        table.add_column("value", overflow="fold")
        table.add_column("from")
        for name in ("title", "subtitle", "dateline", "author", "publisher", "published_at"):
            value = getattr(item, name)
            table.add_row(name, "" if value is None else str(value), item.provenance.get(name, ""))
        table.add_row("language", item.language or "", item.provenance.get("language", ""))
        table.add_row("url", item.url or "", item.provenance.get("url", ""))
        table.add_row("cites", ", ".join(item.cites), item.provenance.get("cites", ""))
        table.add_row("tags", ", ".join(item.tags), "")
        table.add_row("words", str(item.word_count), "")
        table.add_row("lede", (item.lede or "")[:300], "")
        if recognizer is not None:
            [analysis] = recognizer.analyse([(item.title, item.body, item.language)], 1)
            entities = sorted(analysis.entities, key=lambda entity: (-entity.mentions, entity.name))
            names = ", ".join(f"{e.name} ({e.type}, {e.mentions})" for e in entities)
            if analysis.model is None:
                names = f"not analysed: no entity model for language {item.language!r}"
            table.add_row("entities", names, analysis.model or "")
        out.print(table)
    return 1 if failed else 0


@app.command("load-jsonl")
def load_jsonl(
    files: Annotated[list[Path], typer.Argument(help="JSONL files, one article per line.")],
    fts: Annotated[
        str,
        typer.Option(
            help="triggers: index row by row, commit per batch; deferred: one transaction, "
            "index all new rows at the end (faster for big loads)."
        ),
    ] = "deferred",
    batch_size: Annotated[int, typer.Option(min=1, help="Articles per executemany.")] = 5_000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes parsing lines (default 1: on two cores more did not load "
            "faster), and building index documents when the index is rebuilt after the load; "
            "this one writes, in file order, so any number gives the same database.",
        ),
    ] = 1,
    database_url: DatabaseOption = None,
) -> None:
    """Bulk-load articles whose entities are given (no NER, no extraction): the fast path."""
    from app.ingest.store.bulk import BulkLoader
    from app.monitor.matching import match_added_since
    from app.parallel import worker_pool
    from app.search.articles import newest_id
    from app.search.tantivy.feed import index_feed

    if fts not in ("triggers", "deferred"):
        console.print("[red]--fts must be triggers or deferred[/red]")
        raise typer.Exit(2)
    missing = [path for path in files if not path.is_file()]
    if missing:
        console.print(f"[red]No such file:[/red] {', '.join(map(str, missing))}")
        raise typer.Exit(2)
    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    with Session(engine) as session:
        newest_before = newest_id(session)
    with worker_pool(workers) as pool:
        # Only a deferred load can feed the index (a load in batches commits each).
        feeding = index_feed(settings, engine) if fts == "deferred" else nullcontext(None)
        with feeding as feed:
            loader = BulkLoader(
                engine,
                batch_size,
                fts=fts,  # type: ignore[arg-type]  # a str checked against both choices above
                max_line_bytes=settings.max_file_bytes,
                max_file_bytes=settings.max_jsonl_bytes,
                pool=pool,
                feed=feed,
            )
            report = loader.load(files)
        # Whatever the feed did not index (a load in batches, another writer first).
        indexed = sync_search_index(settings, engine, wait_seconds=60, pool=pool)
    # The loaded articles alert as ingested ones do: matched against every saved search.
    matched = match_added_since(engine, settings, newest_before, chunk=batch_size)
    engine.dispose()
    for failure in report.failures[:20]:
        console.print(f"[red]failed[/red] {failure.origin}: {failure.reason}", highlight=False)
    print(
        report.summary()
        + (f"; {feed.summary()}" if feed and feed.committed else "")
        + (f"; {indexed.summary()}" if indexed and indexed.applied else "")
        + (f"; {matched.summary()}" if matched.searches else "")
    )
    raise typer.Exit(1 if report.failures else 0)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the HTTP API (interactive docs at /docs)."""
    settings = get_settings()
    if settings.is_sqlite:
        # Bring the search index up to date (built on the first start, or after an ingest
        # that crashed); until it is, searches run in the database.
        engine = create_db_engine(settings, writer=True)
        try:
            sync_search_index(settings, engine, wait_seconds=5)
        finally:
            engine.dispose()

    gc.disable()  # until the app is loaded: see app.serving
    from app.serving import serve_app

    serve_app(host, port, workers, settings.shutdown_grace_seconds, reload=reload)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    nlp: Annotated[bool, typer.Option("--nlp/--no-nlp", help="Recognise entities.")] = True,
) -> None:
    """Migrate, ingest DATA_DIR/articles (skipping what is stored), then serve: one command."""
    settings = get_settings()
    if settings.articles_dir.is_dir():
        try:
            ingest(
                [settings.articles_dir],
                nlp=nlp,
                dry_run=False,
                database_url=None,
                follow_symlinks=False,
            )
        except typer.Exit as done:
            if done.exit_code:
                console.print("[yellow]Some articles failed to load; serving the rest.[/yellow]")
    else:
        upgrade_database(settings.database_url)
    serve(host=host, port=port, workers=workers, reload=False)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseOption = None,
) -> None:
    """Create the schema or bring it up to date."""
    settings = settings_for(database_url)
    upgrade_database(settings.database_url, revision)
    console.print(f"Database at revision {revision}.")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' drops all).")],
    database_url: DatabaseOption = None,
) -> None:
    """Take the schema back to an earlier revision."""
    settings = settings_for(database_url)
    downgrade_database(settings.database_url, revision)
    console.print(f"Database at revision {revision}.")


@db_app.command("current")
def db_current(database_url: DatabaseOption = None) -> None:
    """Print the schema revision the database is at."""
    engine = create_db_engine(settings_for(database_url))
    print(current_revision(engine) or "none")


def postgres_backup_advice(settings: Settings, path: Path) -> None:
    """PostgreSQL is backed up with its own tools: show the commands, exit 2."""
    from app.backup import postgres_commands

    dump, restore = postgres_commands(settings.database_url, path)
    console.print(
        "This database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
        f"(add the password with PGPASSWORD or ~/.pgpass):\n  {dump}\n  {restore}",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(2)


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="Where to write the backup (a SQLite file).")],
    database_url: DatabaseOption = None,
) -> None:
    """Copy the database to PATH while the server and ingests keep running (consistent)."""
    from app.backup import BackupError, backup_sqlite, sqlite_path

    settings = settings_for(database_url)
    if not settings.is_sqlite:
        postgres_backup_advice(settings, path)
    try:
        report = backup_sqlite(sqlite_path(settings.database_url), path)
    except BackupError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    print(f"Backed up {report.summary()}")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A backup made by `newsdesk db backup`.")],
    database_url: DatabaseOption = None,
) -> None:
    """Replace the database with the backup at PATH and rebuild the search index.

    Stop the server first: a running server keeps reading the file it opened.
    """
    from app.backup import BackupError, restore_sqlite, sqlite_path

    settings = settings_for(database_url)
    if not settings.is_sqlite:
        postgres_backup_advice(settings, path)
    try:
        report = restore_sqlite(path, sqlite_path(settings.database_url))
    except BackupError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    upgrade_database(settings.database_url)  # a backup from an older version catches up
    engine = create_db_engine(settings, writer=True)
    try:
        indexed = sync_search_index(settings, engine, wait_seconds=60, rebuild=True)
    finally:
        engine.dispose()
    print(f"Restored {report.summary()}" + (f"; {indexed.summary()}" if indexed else ""))


EntityTypeOption = Annotated[
    str | None,
    typer.Option("--type", help="person, organization, location or other."),
]


def curate(database_url: str | None, change: Callable[[Session], str]) -> None:
    """Run one curation in a transaction; print what it did, or why it could not."""
    from app.ingest.entities.curation import CurationError

    engine = create_db_engine(settings_for(database_url), writer=True)
    try:
        with Session(engine) as session:
            message = change(session)
            session.commit()
        sync_search_index(settings_for(database_url), engine, wait_seconds=60)
    except CurationError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    print(message)


@entities_app.command("merge")
def entities_merge(
    keep: Annotated[str, typer.Argument(help="Entity to keep: id, canonical name or alias.")],
    drop: Annotated[str, typer.Argument(help="Entity merged into it and then deleted.")],
    database_url: DatabaseOption = None,
) -> None:
    """Merge entity DROP into KEEP: links, mentions, forms and aliases; re-ingest keeps it."""
    from app.ingest.entities.curation import find_entity, merge_entities

    def change(session: Session) -> str:
        kept, dropped = find_entity(session, keep), find_entity(session, drop)
        name = dropped.name
        result = merge_entities(session, kept, dropped)
        return (
            f"Merged {name!r} into {kept.name!r} (id {kept.id}, {kept.type}): "
            f"{result.articles_moved} article links moved."
        )

    curate(database_url, change)


@entities_app.command("split")
def entities_split(
    entity: Annotated[str, typer.Argument(help="Entity holding the alias: id, name or alias.")],
    alias: Annotated[str, typer.Argument(help="The form to detach into an entity of its own.")],
    entity_type: EntityTypeOption = None,
    name: Annotated[
        str | None, typer.Option(help="Canonical name of the new entity (default: the alias).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Detach ALIAS from ENTITY, with the articles that wrote it; re-ingest keeps it apart."""
    from app.ingest.entities.curation import find_entity, split_alias

    if entity_type not in (None, "person", "organization", "location", "other"):
        console.print(f"[red]Unknown type {entity_type!r}.[/red]", highlight=False)
        raise typer.Exit(2)

    def change(session: Session) -> str:
        source = find_entity(session, entity)
        result = split_alias(session, source, alias, entity_type, name)
        new = result.entity
        return (
            f"Split {alias!r} from {source.name!r} into {new.name!r} (id {new.id}, {new.type}): "
            f"{result.articles_moved} article links moved."
        )

    curate(database_url, change)


@entities_app.command("rename")
def entities_rename(
    entity: Annotated[str, typer.Argument(help="Entity to rename: id, canonical name or alias.")],
    name: Annotated[str, typer.Argument(help="Its new canonical name.")],
    database_url: DatabaseOption = None,
) -> None:
    """Give ENTITY the canonical name NAME; the old name stays an alias; re-ingest keeps it."""
    from app.ingest.entities.curation import find_entity, rename_entity

    def change(session: Session) -> str:
        found = find_entity(session, entity)
        old = found.name
        renamed = rename_entity(session, found, name)
        return f"Renamed {old!r} to {renamed.name!r} (id {renamed.id}, {renamed.type})."

    curate(database_url, change)


@entities_app.command("retype")
def entities_retype(
    entity: Annotated[str, typer.Argument(help="Entity to change: id, canonical name or alias.")],
    entity_type: Annotated[str, typer.Argument(help="person, organization, location or other.")],
    database_url: DatabaseOption = None,
) -> None:
    """Change the type of ENTITY; its forms keep linking to it at re-ingest."""
    from app.ingest.entities.curation import find_entity, retype_entity

    if entity_type not in ("person", "organization", "location", "other"):
        console.print(f"[red]Unknown type {entity_type!r}.[/red]", highlight=False)
        raise typer.Exit(2)

    def change(session: Session) -> str:
        found = find_entity(session, entity)
        old = found.type
        retyped = retype_entity(session, found, entity_type)
        return f"Changed {retyped.name!r} (id {retyped.id}) from {old} to {retyped.type}."

    curate(database_url, change)


@entities_app.command("list")
def entities_list(
    query: Annotated[str | None, typer.Argument(help="Part of a name or alias.")] = None,
    entity_type: EntityTypeOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many to show.")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """Show entities with their ids and counts (most articles first), to pick for curation."""
    from app.search.catalog import entity_listing, entity_page

    engine = create_db_engine(settings_for(database_url))
    with Session(engine) as session:
        statement = entity_listing(query, entity_type, 1)
        rows, total = entity_page(session, statement, "articles", limit, None)
    engine.dispose()
    table = Table(title=f"{total} entities", title_justify="left")
    for column in ("id", "name", "type", "articles", "mentions"):
        table.add_column(column)
    for row in rows:
        entity = row.entity
        table.add_row(
            str(entity.id), entity.name, entity.type, str(row.articles), str(row.mentions)
        )
    Console().print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
