"""Everything reading and building a request depends on besides the input: who, when, where."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dates import DateReader
from bot.money import MoneyReader


@dataclass(frozen=True)
class Habits:
    """How one user writes dates: their IANA time zone and their Slack locale (`en-GB`), when known."""

    zone: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Context:
    """One user's view of the world at one moment.

    `zone` is the user's own time zone (relative dates are read in it and shown in it); `api_zone`
    is SEGMETRICS_TIMEZONE, the zone date strings are sent in; `locale` is the user's Slack locale
    (whether 02/03 is 2 March or 3 February; with the zone, whose holidays).
    """

    now: datetime
    zone: ZoneInfo
    api_zone: ZoneInfo
    money: MoneyReader
    dates: DateReader
    account_id: str
    integration_id: str
    locale: str | None = field(default=None)
    # The connection the work goes through (`default` unless routed elsewhere): its account, integration,
    # zone (`api_zone`) and currency (`money`) are the ones above.
    connection: str = "default"
    # That connection's `Connection.fingerprint` when the context was made.
    fingerprint: str = ""
