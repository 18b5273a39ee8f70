"""When the client tries again, and how long it waits first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.segmetrics.retry import RetryPolicy, parse_retry_after


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("inf", None), ("nan", None), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_is_read_safely(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    assert parse_retry_after("Mon, 23 Nov 2026 15:30:45 GMT", now=now) == 45.0
    assert parse_retry_after("Mon, 23 Nov 2026 15:00:00 GMT", now=now) == 0.0


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(attempt, rand=0.0) for attempt in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [policy.backoff(attempt, rand=1.0) for attempt in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
