"""Calendar periods (day, ISO week, month) in SQL per dialect and in Python, keyed alike.

The SQL expression and `period_keys` produce the same strings ("2024-05-29" for a day,
the Monday "2024-05-27" for its week, "2024-05" for its month), so counts grouped in the
database can be laid over a gap-free list of periods built in Python. Periods are in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, literal_column
from sqlalchemy.sql import ColumnElement

Interval = Literal["day", "week", "month"]

_SQLITE_FORMAT = {"day": "%Y-%m-%d", "month": "%Y-%m"}
_PG_FORMAT = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM"}


def period_key_sql(dialect: str, interval: Interval, column: Any) -> ColumnElement[str]:
    """SQL for the key of the period holding `column` (a UTC timestamp), as text."""
    if dialect == "sqlite":
        if interval == "week":
            # 'weekday 0' moves forward to Sunday (or stays on one); six days back is Monday.
            return func.date(column, "weekday 0", "-6 days")
        return func.strftime(_SQLITE_FORMAT[interval], column)
    utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
    if interval == "week":
        # PostgreSQL weeks are ISO weeks: date_trunc('week') is the Monday.
        utc = func.date_trunc("week", utc)
    return func.to_char(utc, _PG_FORMAT[interval])


def period_start(moment: datetime | date, interval: Interval) -> date:
    """The first day of the period holding `moment` (UTC)."""
    if isinstance(moment, datetime):
        moment = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    if interval == "week":
        return moment - timedelta(days=moment.weekday())
    if interval == "month":
        return moment.replace(day=1)
    return moment


def period_count(first: date, last: date, interval: Interval) -> int:
    """How many periods there are from the one holding `first` to the one holding `last`."""
    start, end = period_start(first, interval), period_start(last, interval)
    if interval == "month":
        return (end.year - start.year) * 12 + end.month - start.month + 1
    step = 7 if interval == "week" else 1
    return (end - start).days // step + 1


def period_key(start: date, interval: Interval) -> str:
    return start.strftime("%Y-%m") if interval == "month" else start.isoformat()


def period_keys(first: date, last: date, interval: Interval) -> list[str]:
    """Every period's key from `first` to `last`, gaps included (call period_count first)."""
    start, count = period_start(first, interval), period_count(first, last, interval)
    if interval == "month":
        months = (start.year * 12 + start.month - 1 + i for i in range(count))
        return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    step = timedelta(days=7 if interval == "week" else 1)
    return [(start + step * i).isoformat() for i in range(count)]


def key_start(key: str) -> date:
    """The first day of the period a key names (the inverse of period_key)."""
    return date.fromisoformat(key if len(key) > 7 else f"{key}-01")


def period_last_day(start: date, interval: Interval) -> date:
    """The last day of the period starting on `start`."""
    if interval == "month":
        following = start.year * 12 + start.month  # the next month, counted from year 0
        return date(following // 12, following % 12 + 1, 1) - timedelta(days=1)
    return start + timedelta(days=6 if interval == "week" else 0)
