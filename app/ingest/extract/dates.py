"""Turn the date strings found in articles (lines, ids, addresses) into aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import dateparser
import dateparser.data
from dateparser.languages.loader import default_loader

# Past dates only, absolute forms only: a weekday name ("said on Thursday") or
# "yesterday" must never become a publication date, and a date without a year
# is too vague to store.
_SETTINGS: dict[str, Any] = {
    "PREFER_DATES_FROM": "past",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
}

# dateparser is slow to reject text that holds no date; a year is required anyway.
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_MAX_DATE_CHARS = 60

_URL_DATE = re.compile(
    r"/(?P<y>(?:19|20)\d{2})[/_-](?P<m>\d{1,2})[/_-](?P<d>\d{1,2})(?:[/_.-]|$)"
    r"|/(?P<cy>(?:19|20)\d{2})(?P<cm>\d{2})(?P<cd>\d{2})\d*(?:[/_.-]|$)"
)


_DATEPARSER_LANGUAGES = frozenset(dateparser.data.language_order)


def date_languages(language: str | None) -> list[str]:
    """Languages to read an article's dates in: its own and English, as dateparser knows them.

    Naming them spares dateparser from trying all of its 200 locales on every line.
    """
    wanted = [language, "en"] if language else ["en"]
    return [code for code in dict.fromkeys(wanted) if code in _DATEPARSER_LANGUAGES]


def parse_date(
    text: str, *, languages: list[str] | None = None, date_formats: list[str] | None = None
) -> datetime | None:
    """Parse an absolute date (day, month and year) into aware UTC, or None when there is none."""
    candidate = text.strip()
    if not candidate or len(candidate) > _MAX_DATE_CHARS:
        return None
    if date_formats is None and not _YEAR.search(candidate):
        return None
    settings = _SETTINGS
    if languages and (order := _date_order(languages[0])):
        # "06.05.2018" on a German page is 6 May: numbers follow the article's language, not
        # the order of the first language dateparser happens to try (English, month first).
        settings = {**_SETTINGS, "DATE_ORDER": order}
    parsed = dateparser.parse(
        candidate, languages=languages, date_formats=date_formats, settings=settings
    )
    if parsed is None:
        return None
    return to_utc(parsed)


@cache
def _date_order(language: str) -> str | None:
    """The order a language writes numeric dates in ("DMY" for German), as dateparser knows it."""
    try:
        order = default_loader.get_locale(language).info.get("date_order")
    except (KeyError, ValueError):
        return None
    return order if isinstance(order, str) else None


def parse_iso_date(text: str) -> datetime | None:
    """Parse an ISO 8601 date or datetime (as metadata holds them), else fall back to dateparser."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return parse_date(text)
    return to_utc(parsed)


def to_utc(moment: datetime) -> datetime:
    """Make a datetime aware UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def date_from_url(url: str) -> datetime | None:
    """The publication day a news address carries in its path (/2024/05/29/ or /20241128...)."""
    match = _URL_DATE.search(url)
    if match is None:
        return None
    year, month, day = (
        (match["y"], match["m"], match["d"])
        if match["y"]
        else (match["cy"], match["cm"], match["cd"])
    )
    try:
        day_in_url = datetime(int(year), int(month), int(day), tzinfo=UTC)
    except ValueError:
        return None
    # A long numeric id can look like a date; one in the future certainly is not.
    return day_in_url if day_in_url <= datetime.now(UTC) else None
