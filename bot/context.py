"""Everything reading and building a request depends on besides the input: who, when, where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dates import DateReader
from bot.money import MoneyReader


@dataclass(frozen=True)
class Context:
    """One user's view of the world at one moment.

    `zone` is the user's own time zone (relative dates are read in it and shown in it); `api_zone`
    is SEGMETRICS_TIMEZONE, the zone date strings are sent in.
    """

    now: datetime
    zone: ZoneInfo
    api_zone: ZoneInfo
    money: MoneyReader
    dates: DateReader
    account_id: str
    integration_id: str
