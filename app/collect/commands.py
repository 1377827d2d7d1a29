"""`newsdesk sources ...` and `newsdesk collect`: the collector on the command line."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session, select

from app.commandline import DatabaseOption, settings_for
from app.commandline import fail as _fail
from app.db import create_db_engine, upgrade_database

sources_app = typer.Typer(
    help="The feeds, sitemaps and pages Newsdesk collects.", no_args_is_help=True
)
console = Console(stderr=True)


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="A feed, a sitemap, or a site's page.")],
    name: Annotated[
        str | None, typer.Option(help="The outlet's name (default: the feed's or site's own).")
    ] = None,
    kind: Annotated[str, typer.Option(help="auto (read the URL), feed, sitemap or page.")] = "auto",
    interval: Annotated[str, typer.Option(help="How often to fetch it: 90s, 30m, 2h, 1d.")] = "30m",
    tag: Annotated[
        list[str] | None, typer.Option(help="Tag added to every article collected (repeatable).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add a source to collect; its kind is detected, a home page gives its advertised feeds."""
    from app.collect.fetch import Fetcher
    from app.collect.sources import SourceError, add_source, parse_interval

    settings = settings_for(database_url)
    try:
        seconds = parse_interval(interval)
    except SourceError as exc:
        raise _fail(f"--interval: {exc}", 2) from None
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    fetcher = Fetcher(settings)
    try:
        with Session(engine) as session:
            added = add_source(
                session,
                fetcher,
                url,
                name=name,
                kind=kind,
                interval_seconds=seconds,
                tags=tag or [],
            )
            session.commit()
            for source in added:
                print(f"added {source.kind} {source.url} (source {source.source_id})")
    except SourceError as exc:
        raise _fail(str(exc), 2 if kind not in ("auto", "feed", "sitemap", "page") else 1) from None
    finally:
        fetcher.close()
        engine.dispose()


@sources_app.command("list")
def sources_list(database_url: DatabaseOption = None) -> None:
    """Show every collection source with its schedule and health."""
    from app.collect.sources import collection_sources, format_interval, recent_counts
    from app.models import Source

    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings)
    with Session(engine) as session:
        rows = collection_sources(session)
        day, _ = recent_counts(session)
        names = {source.id: source.name for source in session.exec(select(Source))}
    engine.dispose()
    table = Table(title=f"{len(rows)} collection sources", title_justify="left")
    for column in ("source", "name", "kind", "URL", "interval", "last fetch", "status", "24 h"):
        table.add_column(column, overflow="fold")
    for row in rows:
        assert row.id is not None
        table.add_row(
            str(row.source_id),
            names.get(row.source_id, ""),
            row.kind,
            row.url,
            format_interval(row.interval_seconds),
            row.last_fetch_at.strftime("%Y-%m-%d %H:%M") if row.last_fetch_at else "never",
            status_text(row.last_status, row.consecutive_failures, row.retired_at is not None),
            str(day.get(row.id, 0)),
        )
    Console(width=200).print(table)


def status_text(status: int | None, failures: int, retired: bool) -> str:
    """`retired`, `ok (200)`, `304`, or `failing ×3 (503)`."""
    if retired:
        return f"retired ({status})"
    if status is None and not failures:
        return "-"
    if failures:
        return f"failing x{failures}" + (f" ({status})" if status else "")
    return f"ok ({status})"


@sources_app.command("remove")
def sources_remove(
    target: Annotated[str, typer.Argument(help="A source id (all its URLs) or one URL.")],
    database_url: DatabaseOption = None,
) -> None:
    """Stop collecting a source (its articles stay)."""
    from app.collect.sources import SourceError, remove_sources

    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    try:
        with Session(engine) as session:
            removed = remove_sources(session, target)
            session.commit()
    except SourceError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    for source in removed:
        print(f"removed {source.kind} {source.url}")


@sources_app.command("import")
def sources_import(
    file: Annotated[Path, typer.Argument(help="OPML (as feed readers export) or one URL a line.")],
    interval: Annotated[str, typer.Option(help="How often to fetch each.")] = "30m",
    tag: Annotated[list[str] | None, typer.Option(help="Tag for every article.")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add every URL of a file; those already collected or unreadable are reported."""
    from app.collect.fetch import Fetcher
    from app.collect.sources import SourceError, add_source, parse_interval, read_source_list

    if not file.is_file():
        raise _fail(f"No such file: {file}", 2)
    try:
        seconds = parse_interval(interval)
        urls = read_source_list(file)
    except SourceError as exc:
        raise _fail(str(exc), 2) from None
    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    fetcher = Fetcher(settings)
    failed = 0
    try:
        for url in urls:
            with Session(engine) as session:
                try:
                    added = add_source(
                        session, fetcher, url, interval_seconds=seconds, tags=tag or []
                    )
                except SourceError as exc:
                    failed += 1
                    console.print(f"[yellow]not added[/yellow] {exc}", highlight=False)
                    continue
                session.commit()
                for source in added:
                    print(f"added {source.kind} {source.url} (source {source.source_id})")
    finally:
        fetcher.close()
        engine.dispose()
    print(f"{len(urls) - failed} of {len(urls)} URLs added")
    raise typer.Exit(1 if failed else 0)


def collect(
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep collecting on each source's schedule.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="Backfill: walk each sitemap source's sitemaps back to this date "
            "(2024-05-01 or 2024-05-01T12:00:00Z); run again, it goes on where it stopped."
        ),
    ] = None,
    nlp: Annotated[bool, typer.Option("--nlp/--no-nlp", help="Recognise named entities.")] = True,
    database_url: DatabaseOption = None,
) -> None:
    """Fetch every due source once and store its new articles (exit 1 if any failed).

    With --since DATE, walk every sitemap source's sitemaps back to DATE instead.

    With --watch, keep going until SIGTERM or SIGINT: the round in flight finishes, what it
    fetched is stored, and the command exits (after NEWSDESK_SHUTDOWN_GRACE_SECONDS + 1 s
    at the latest). Saved searches' webhook deliveries are sent meanwhile, as they fall due.
    """
    from app.collect.rounds import Collector, RoundReport

    backfill_from = _since(since, watch) if since is not None else None
    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    recognizer = None
    if nlp:
        from app.ingest.entities.recognition import EntityRecognizer

        recognizer = EntityRecognizer()
    stop = threading.Event()
    collector = Collector(engine, settings, recognizer, stop=stop)
    failed = False

    def report_round(report: RoundReport) -> None:
        nonlocal failed
        failed = bool(report.failures)
        for url, reason in report.skipped:
            console.print(f"[yellow]skipped[/yellow] {url}: {reason}", highlight=False)
        if watch:
            print(json.dumps(report.as_json()), flush=True)
        else:
            print(report.summary(), flush=True)

    def stop_soon(*_: object) -> None:
        """Finish the round in flight (what it fetched is stored); past the grace period,
        exit anyway: a source's state only advances after its articles are committed."""
        stop.set()
        grace = settings.shutdown_grace_seconds + 1
        timer = threading.Timer(grace, _exit_late, args=(grace,))
        timer.daemon = True
        timer.start()

    try:
        if watch:
            if settings.collect_metrics_port is not None:
                collector.metrics.serve(
                    settings.collect_metrics_host, settings.collect_metrics_port
                )
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, stop_soon)
            from app.monitor.deliveries import deliver_until

            # Saved searches' webhooks go out beside the rounds, never holding them up.
            deliveries = threading.Thread(
                target=deliver_until, args=(engine, settings, stop), daemon=True
            )
            deliveries.start()
            collector.watch(report_round)
            # A delivery in flight records its answer (else it is sent again next time).
            deliveries.join(settings.shutdown_grace_seconds)
        else:
            with round_progress() as progress:
                task = progress.add_task("Collecting", total=None)
                if backfill_from is not None:
                    # Interrupted, a backfill stores the batch in flight; run again, it goes on.
                    for signum in (signal.SIGTERM, signal.SIGINT):
                        signal.signal(signum, stop_soon)
                    report = collector.backfill(backfill_from, lambda _done: progress.advance(task))
                else:
                    report = collector.run_round(lambda _done: progress.advance(task))
                report_round(report)
    finally:
        collector.close()
        engine.dispose()
    sys.stdout.flush()
    raise typer.Exit(1 if failed and not watch else 0)


def _since(value: str, watch: bool) -> datetime:
    """--since as an aware UTC datetime (an ISO date or date-time); exit 2 when it is none."""
    from app.ingest.extract.dates import parse_iso_date

    if watch:
        raise _fail("--since backfills once and exits: it can't be combined with --watch", 2)
    moment = parse_iso_date(value)
    if moment is None:
        raise _fail(
            f"--since: {value!r} is not a date (use an ISO date such as 2024-05-01 "
            "or a date-time such as 2024-05-01T12:00:00Z)",
            2,
        )
    return moment


def round_progress() -> Progress:
    """A progress bar (sources done) on a terminal; silent when output is piped."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not sys.stderr.isatty(),
        transient=True,
    )


def _exit_late(grace: float) -> None:
    """The round was still running `grace` seconds after the stop: end the process now."""
    console.print(f"[red]still collecting {grace:.0f} s after the stop; exiting[/red]")
    sys.stdout.flush()
    os._exit(1)
