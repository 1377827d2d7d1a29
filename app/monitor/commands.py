"""`newsdesk searches ...` and `newsdesk deliver`: saved searches on the command line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from app.commandline import DatabaseOption, settings_for
from app.commandline import fail as _fail
from app.db import create_db_engine, upgrade_database

if TYPE_CHECKING:  # imported where used, as the commands' other dependencies
    from app.schemas import SearchAlert

searches_app = typer.Typer(
    help="Saved searches: matched against every ingest, alerting by webhook.",
    no_args_is_help=True,
)


def parse_query_option(text: str) -> dict[str, Any]:
    """--query as JSON (`{"q": "Taliban", "tag": ["sport"]}`) or as an /articles query
    string (`q=Taliban&tag=sport`); exit 2 when it is neither."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise _fail(f"--query: not valid JSON ({error})", 2) from None
        if not isinstance(value, dict):
            raise _fail("--query: a JSON object of /articles parameters", 2)
        return value
    pairs = parse_qs(text, keep_blank_values=True)
    return {name: values[0] if len(values) == 1 else values for name, values in pairs.items()}


@searches_app.command("add")
def searches_add(
    name: Annotated[str, typer.Argument(help="What to call the search.")],
    query: Annotated[
        str,
        typer.Option(
            help="/articles parameters: a query string (q=Taliban&tag=sport) or JSON "
            '({"q": "Taliban", "tag": ["sport"]}).'
        ),
    ] = "",
    webhook_url: Annotated[
        str | None, typer.Option(help="Receives a signed POST of each batch of new matches.")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="A Standard Webhooks secret (whsec_...); default: new.")
    ] = None,
    alert_on: Annotated[
        str,
        typer.Option(help="Tell the webhook of new matches (match), spiking days (volume), both."),
    ] = "match",
    alert_threshold: Annotated[
        float, typer.Option(help="Volume: standard deviations above the trailing mean.")
    ] = 3.0,
    alert_min_count: Annotated[
        int, typer.Option(help="Volume: a day with fewer articles never spikes.")
    ] = 5,
    alert_window: Annotated[int, typer.Option(help="Volume: trailing days of the mean.")] = 28,
    database_url: DatabaseOption = None,
) -> None:
    """Save a search; prints it as JSON, with its webhook secret (shown this once)."""
    from pydantic import ValidationError

    from app.api.errors import ApiError
    from app.api.routes.searches import search_out
    from app.monitor.searches import add_search
    from app.schemas import SearchAlert
    from app.search.lookup import NotFound
    from app.search.query import QuerySyntaxError

    parameters = parse_query_option(query)
    try:
        alert = SearchAlert(
            on=alert_on,  # type: ignore[arg-type]  # checked by the model, as the API's body
            threshold=alert_threshold,
            min_count=alert_min_count,
            window=alert_window,
        )
    except ValidationError as error:
        problems = "; ".join(
            f"--alert-{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in error.errors()
        )
        raise _fail(problems, 2) from None
    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    try:
        with Session(engine) as session:
            search, secret = add_search(
                session, settings, name, parameters, webhook_url, webhook_secret, alert=alert
            )
            session.commit()
            session.refresh(search)
            print(search_out(search, secret).model_dump_json(indent=2))
    except QuerySyntaxError as error:
        raise _fail(f"q: {error}", 2) from None
    except (ApiError, NotFound) as error:
        raise _fail(str(error), 2) from None
    finally:
        engine.dispose()


@searches_app.command("list")
def searches_list(database_url: DatabaseOption = None) -> None:
    """Show every saved search with its query, webhook and what it alerts on."""
    from app.monitor.searches import saved_searches
    from app.monitor.volume import alert_of

    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings)
    with Session(engine) as session:
        rows = saved_searches(session)
    engine.dispose()
    table = Table(title=f"{len(rows)} saved searches", title_justify="left")
    for column in ("id", "name", "query", "webhook", "alert", "failing since"):
        table.add_column(column, overflow="fold")
    for row in rows:
        failing = row.webhook_failing_since
        table.add_row(
            str(row.id),
            row.name,
            json.dumps(row.query, ensure_ascii=False),
            row.webhook_url or "-",
            _alert_text(alert_of(row)),
            failing.strftime("%Y-%m-%d %H:%M") if failing else "-",
        )
    Console(width=200).print(table)


def _alert_text(alert: SearchAlert) -> str:
    if not alert.on_volume:
        return alert.on
    return f"{alert.on} (>{alert.threshold:g} sd over {alert.window} days, min {alert.min_count})"


@searches_app.command("remove")
def searches_remove(
    search_id: Annotated[int, typer.Argument(help="The saved search's id.")],
    database_url: DatabaseOption = None,
) -> None:
    """Delete a saved search with its matches and deliveries (the articles stay)."""
    from app.api.errors import ApiError
    from app.monitor.searches import remove_search

    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    try:
        with Session(engine) as session:
            removed = remove_search(session, search_id)
            session.commit()
            print(f"removed search {search_id} ({removed.name})")
    except ApiError as error:
        raise _fail(error.detail) from None
    finally:
        engine.dispose()


def deliver(
    wait: Annotated[
        float,
        typer.Option(
            min=0, help="Also wait for retries falling due within this many seconds of the start."
        ),
    ] = 60.0,
    database_url: DatabaseOption = None,
) -> None:
    """Send the saved searches' webhook deliveries that are due, then exit."""
    from app.monitor.deliveries import deliver_due

    settings = settings_for(database_url)
    upgrade_database(settings.database_url)
    engine = create_db_engine(settings, writer=True)
    try:
        report = deliver_due(engine, settings, wait_seconds=wait)
    finally:
        engine.dispose()
    print(report.summary(), flush=True)
