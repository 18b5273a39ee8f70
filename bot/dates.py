"""Free-form dates ("yesterday 3pm", "next Friday", "2026-11-02 14:30") read in the user's own zone.

dateparser does the reading, with a fixed language list: with all languages, one unparseable word
costs over a second and tens of MB on first use. ISO dates skip dateparser altogether.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.problems import InvalidValue

Prefer = Literal["past", "future", "current_period"]

MAX_INPUT_LENGTH = 80
EXAMPLES = ("yesterday 3pm", "next Friday", "2026-11-02 14:30")
API_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
API_DATE_FORMAT = "%Y-%m-%d"

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")
_NOW = frozenset({"now", "right now", "just now"})
# dateparser reads "5" or "the 5th" as a month, and "2025" as today's date in 2025: refuse them.
_BARE_NUMBER = re.compile(r"(on\s+)?(the\s+)?[0-9]{1,4}(st|nd|rd|th)?", re.IGNORECASE)
# Beyond these a date is almost surely a typo ("20226-01-01", "5" read as a day in year 5).
_EARLIEST_YEAR = 1970
_YEARS_AHEAD = 30


class DateReader:
    """Reads dates in a fixed set of languages with one day/month order. Build once; thread-safe."""

    def __init__(self, languages: tuple[str, ...] | list[str] = ("en",), date_order: str = "MDY") -> None:
        self.languages = list(languages)
        self.date_order = date_order

    def warm_up(self) -> None:
        """The first parse loads dateparser's language data (~100 ms): pay it at start-up, not on a user."""
        self.read("yesterday 3pm", zone=ZoneInfo("UTC"), now=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))

    def read(self, text: str, *, zone: ZoneInfo, now: datetime, prefer: Prefer = "current_period") -> datetime:
        """Return an aware datetime in `zone`; raise `InvalidValue` with examples when it cannot be read."""
        raw = " ".join(text.split())
        if not raw:
            raise InvalidValue("is empty", example=EXAMPLES)
        if len(raw) > MAX_INPUT_LENGTH:
            raise InvalidValue(f"is too long to be a date ({len(raw)} characters)", example=EXAMPLES)
        local_now = now.astimezone(zone)
        if raw.lower() in _NOW:
            return local_now
        if _BARE_NUMBER.fullmatch(raw):
            raise InvalidValue(f"`{raw}` is not a full date; add the month, e.g. `Nov 5`", example=EXAMPLES)
        result = _read_iso(raw, zone) if _ISO.fullmatch(raw) else None
        if result is None:
            # Imported on first use (~70 ms, and ~100 ms more for its language data): start-up does not
            # wait for it, `warm_up` loads it in the background.
            import dateparser

            # Relative to the user's wall clock, with no zone: dateparser applies a zone's *current*
            # offset to every date, which puts "yesterday" on the wrong day across a DST change.
            parsed = dateparser.parse(
                raw,
                languages=self.languages,
                settings={
                    "RELATIVE_BASE": local_now.replace(tzinfo=None),
                    "PREFER_DATES_FROM": prefer,
                    "DATE_ORDER": self.date_order,
                },
            )
            if parsed is None:
                raise InvalidValue(f"could not read `{raw}` as a date", example=EXAMPLES)
            # A zone typed by the user ("3pm PST") wins; otherwise the wall clock is the user's.
            result = parsed.astimezone(zone) if parsed.tzinfo else parsed.replace(tzinfo=zone)
        if not _EARLIEST_YEAR <= result.year <= local_now.year + _YEARS_AHEAD:
            raise InvalidValue(f"`{raw}` was read as {result:%Y-%m-%d}, which looks like a typo", example=EXAMPLES)
        return result


def _read_iso(raw: str, zone: ZoneInfo) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def to_api_datetime(value: datetime, api_zone: ZoneInfo) -> str:
    """The API's date string: `YYYY-MM-DD HH:MM:SS` in the configured SEGMETRICS_TIMEZONE."""
    return value.astimezone(api_zone).strftime(API_DATETIME_FORMAT)


def to_api_date(value: date) -> str:
    return value.strftime(API_DATE_FORMAT)


def describe_datetime(value: datetime, zone: ZoneInfo) -> str:
    """`Sun Nov 22, 2026 3:00 PM EST`: unambiguous for the reader, in their zone."""
    local = value.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{local:%a %b} {local.day}, {local:%Y} {hour}:{local:%M %p %Z}"


def describe_date(value: date) -> str:
    return f"{value:%a %b} {value.day}, {value:%Y}"
