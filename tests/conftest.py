"""Shared fixtures: a fixed "now" and zone, so dates in tests never depend on the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.context import Context
from bot.dates import DateReader
from bot.money import Currency, MoneyReader

# Monday 2026-11-23, 10:30 in New York.
NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")

_DATES = DateReader()


def make_context(
    *,
    zone: str = "America/New_York",
    api_zone: str = "UTC",
    currency: str = "USD",
    decimal_mark: str = ".",
    date_order: str = "MDY",
    now: datetime = NOW,
) -> Context:
    dates = _DATES if date_order == "MDY" else DateReader(date_order=date_order)
    return Context(
        now=now,
        zone=ZoneInfo(zone),
        api_zone=ZoneInfo(api_zone),
        money=MoneyReader(Currency.of(currency), decimal_mark),
        dates=dates,
        account_id="acct-1",
        integration_id="int-9",
    )


@pytest.fixture
def ctx() -> Context:
    return make_context()


@pytest.fixture(autouse=True)
def _own_state_directory(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own state directory (the shared sandbox's file, the terminal's history): through
    XDG_STATE_HOME, which the bots and terminals a test starts inherit too."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
