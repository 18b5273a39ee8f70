"""Free-form dates read in the user's zone (fixed now: Monday 2026-11-23 10:30 in New York)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.dates import DateReader, describe_datetime, to_api_datetime
from bot.problems import InvalidValue
from tests.conftest import NEW_YORK, NOW

READER = DateReader()
DMY = DateReader(date_order="DMY")


def local(*parts: int, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "prefer", "expected"),
    [
        ("now", "past", local(2026, 11, 23, 10, 30)),
        ("today", "past", local(2026, 11, 23, 10, 30)),
        ("yesterday", "past", local(2026, 11, 22, 10, 30)),
        ("yesterday 3pm", "past", local(2026, 11, 22, 15, 0)),
        ("yesterday at 3pm", "past", local(2026, 11, 22, 15, 0)),
        ("3pm", "past", local(2026, 11, 22, 15, 0)),
        ("next Friday", "future", local(2026, 11, 27)),
        ("last friday", "past", local(2026, 11, 20)),
        ("Friday", "past", local(2026, 11, 20)),
        ("Friday", "future", local(2026, 11, 27)),
        ("Nov 2", "past", local(2026, 11, 2)),
        ("Nov 2", "future", local(2027, 11, 2)),
        ("in 14 days", "future", local(2026, 12, 7, 10, 30)),
        ("2 days ago", "past", local(2026, 11, 21, 10, 30)),
        ("2026-11-02", "past", local(2026, 11, 2)),
        ("2026-11-02 15:00", "past", local(2026, 11, 2, 15, 0)),
        ("2026-11-02T15:00:00Z", "past", local(2026, 11, 2, 10, 0)),
        ("2026-11-02 15:00:00+01:00", "past", local(2026, 11, 2, 9, 0)),
        ("02/11/2026", "past", local(2026, 2, 11)),  # DATE_ORDER MDY (the default)
        ("3pm EST", "past", local(2026, 11, 22, 15, 0)),
        ("  yesterday   3pm ", "past", local(2026, 11, 22, 15, 0)),
    ],
)
def test_reads_in_the_users_zone(text: str, prefer: str, expected: datetime) -> None:
    result = READER.read(text, zone=NEW_YORK, now=NOW, prefer=prefer)  # type: ignore[arg-type]
    assert result == expected
    assert result.tzinfo is not None and result.utcoffset() == expected.utcoffset()


def test_date_order_setting_resolves_ambiguous_days() -> None:
    assert DMY.read("02/11/2026", zone=NEW_YORK, now=NOW) == local(2026, 11, 2)


def test_same_words_mean_a_different_instant_in_another_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    result = READER.read("yesterday 3pm", zone=tokyo, now=NOW, prefer="past")
    assert result == datetime(2026, 11, 23, 15, 0, tzinfo=tokyo)  # it is already Nov 24 in Tokyo
    assert to_api_datetime(result, ZoneInfo("UTC")) == "2026-11-23 06:00:00"


def test_dst_change_is_handled_by_the_zone() -> None:
    summer = READER.read("2026-07-01 12:00", zone=NEW_YORK, now=NOW)
    assert to_api_datetime(summer, ZoneInfo("UTC")) == "2026-07-01 16:00:00"
    winter = READER.read("2026-12-01 12:00", zone=NEW_YORK, now=NOW)
    assert to_api_datetime(winter, ZoneInfo("UTC")) == "2026-12-01 17:00:00"


@pytest.mark.parametrize(
    ("now", "zone", "text", "expected"),
    [
        # The night after clocks spring forward: yesterday is still the calendar day before.
        (datetime(2026, 3, 9, 4, 30, tzinfo=UTC), "America/New_York", "yesterday", datetime(2026, 3, 8, 0, 30)),
        (datetime(2026, 3, 9, 4, 30, tzinfo=UTC), "America/New_York", "a week ago", datetime(2026, 3, 2, 0, 30)),
        # The evening after clocks fall back.
        (datetime(2026, 11, 2, 4, 30, tzinfo=UTC), "America/New_York", "yesterday", datetime(2026, 10, 31, 23, 30)),
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "Europe/Berlin", "yesterday 00:15", datetime(2026, 3, 29, 0, 15)),
        (datetime(2026, 11, 2, 14, 0, tzinfo=UTC), "America/New_York", "a week ago", datetime(2026, 10, 26, 9, 0)),
    ],
)
def test_relative_dates_keep_the_wall_clock_across_dst(now: datetime, zone: str, text: str, expected: datetime) -> None:
    result = READER.read(text, zone=ZoneInfo(zone), now=now, prefer="past")
    assert result.replace(tzinfo=None) == expected
    assert result.utcoffset() == expected.replace(tzinfo=ZoneInfo(zone)).utcoffset()


def test_a_zone_in_the_text_wins() -> None:
    result = READER.read("yesterday 3pm PST", zone=NEW_YORK, now=NOW, prefer="past")
    assert result == datetime(2026, 11, 22, 18, 0, tzinfo=NEW_YORK)


def test_api_strings_are_written_in_the_api_zone() -> None:
    moment = local(2026, 11, 22, 15, 0)
    assert to_api_datetime(moment, ZoneInfo("UTC")) == "2026-11-22 20:00:00"
    assert to_api_datetime(moment, ZoneInfo("Europe/Paris")) == "2026-11-22 21:00:00"
    assert describe_datetime(moment, NEW_YORK) == "Sun Nov 22, 2026 3:00 PM EST"
    assert (
        describe_datetime(datetime(2026, 11, 22, 4, 5, tzinfo=UTC), ZoneInfo("UTC")) == "Sun Nov 22, 2026 4:05 AM UTC"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("junk words here", "could not read `junk words here` as a date"),
        ("2026-13-45", "could not read"),
        ("end of month", "could not read"),
        ("x" * 200, "too long"),
        ("year 3000", "looks like a typo"),
        ("5", "is not a full date"),
        ("the 5th", "is not a full date"),
        ("on the 23rd", "is not a full date"),
        ("2025", "is not a full date"),
    ],
)
def test_refuses_with_examples(text: str, says: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        READER.read(text, zone=NEW_YORK, now=NOW, prefer="past")
    assert says in caught.value.message
    assert "yesterday 3pm" in caught.value.examples


def test_now_is_the_given_instant_not_the_clock() -> None:
    assert READER.read("now", zone=ZoneInfo("UTC"), now=NOW) == NOW
    assert READER.read("now", zone=ZoneInfo("UTC"), now=NOW).tzinfo is not None


def test_other_languages_only_when_configured() -> None:
    assert READER.read("2026-11-02", zone=NEW_YORK, now=NOW) == local(2026, 11, 2)
    with pytest.raises(InvalidValue):
        READER.read("hier", zone=NEW_YORK, now=NOW, prefer="past")
    french = DateReader(languages=["en", "fr"])
    assert french.read("hier", zone=NEW_YORK, now=NOW, prefer="past").date() == local(2026, 11, 22).date()
