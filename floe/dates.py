"""Dates as the sites write them, in each tenant's locale (Babel's CLDR formats)."""

from __future__ import annotations

import datetime as dt
import functools


@functools.lru_cache(maxsize=4096)
def long_date(day: dt.date, locale: str) -> str:
    """``day`` in the locale's long format: "March 14, 2026" in en_US, "14 March 2026" in en_GB."""
    from babel.dates import format_date  # imported when a page shows a date

    return format_date(day, "long", locale=locale)


def known_locale(locale: str) -> bool:
    """Whether Babel has the data of ``locale`` (``en_US``), so dates can be written in it."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return False
    return True
