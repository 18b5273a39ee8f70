"""Free-form dates, as a team types them in chat. Fixed now: Monday 2026-11-23 10:30 in New York.

Around it: last week is Mon Nov 16 – Sun Nov 22; Thanksgiving is Thu Nov 26, Black Friday Nov 27,
Cyber Monday Nov 30; Christmas is a Friday.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates import DateReader, describe_datetime, to_api_datetime
from bot.problems import InvalidValue
from tests.conftest import NEW_YORK, NOW

READER = DateReader()
DMY = DateReader(date_order="DMY")


def local(*parts: int, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def read(text: str, prefer: str = "past", *, locale: str | None = "en-US", zone: ZoneInfo = NEW_YORK,
         now: datetime = NOW, reader: DateReader = READER, whole_day: bool = False) -> datetime:  # fmt: skip
    return reader.read(text, zone=zone, now=now, prefer=prefer, locale=locale, whole_day=whole_day)  # type: ignore[arg-type]


def refusal(text: str, prefer: str = "past", **options: object) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        read(text, prefer, **options)  # type: ignore[arg-type]
    return caught.value


# --- read right ------------------------------------------------------------------------------------------

CLOCKS = [
    ("yesterday at 3:45 pm", "past", local(2026, 11, 22, 15, 45)),
    ("3pm yesterday", "past", local(2026, 11, 22, 15, 0)),
    ("yesterday @ 15:45", "past", local(2026, 11, 22, 15, 45)),
    ("Yesterday 0800", "past", local(2026, 11, 22, 8, 0)),
    ("3pm", "past", local(2026, 11, 22, 15, 0)),  # the latest 3pm: yesterday's
    ("3pm", "future", local(2026, 11, 23, 15, 0)),
    ("9.15am", "past", local(2026, 11, 23, 9, 15)),
    ("3p", "future", local(2026, 11, 23, 15, 0)),
    ("3 p.m. today", "future", local(2026, 11, 23, 15, 0)),
    ("noon", "future", local(2026, 11, 23, 12, 0)),
    ("midday tomorrow", "future", local(2026, 11, 24, 12, 0)),
    ("12 noon tomorrow", "future", local(2026, 11, 24, 12, 0)),
    ("midnight", "past", local(2026, 11, 23, 0, 0)),
    ("midnight", "future", local(2026, 11, 24, 0, 0)),
    ("half past 3 pm", "future", local(2026, 11, 23, 15, 30)),
    ("quarter to 5 tomorrow afternoon", "future", local(2026, 11, 24, 16, 45)),
    ("a quarter to noon tomorrow", "future", local(2026, 11, 24, 11, 45)),
    ("ten thirty am", "past", local(2026, 11, 23, 10, 30)),
    ("ten to ten this morning", "past", local(2026, 11, 23, 9, 50)),
    ("20 past 8 this morning", "past", local(2026, 11, 23, 8, 20)),
    ("seven fifteen tonight", "future", local(2026, 11, 23, 19, 15)),
    ("five o'clock tomorrow evening", "future", local(2026, 11, 24, 17, 0)),
    ("tomorrow at 1530 hrs", "future", local(2026, 11, 24, 15, 30)),
    ("15h30 tomorrow", "future", local(2026, 11, 24, 15, 30)),
    ("around 4pm yesterday", "past", local(2026, 11, 22, 16, 0)),
    ("tomorrow at quarter to 12 pm", "future", local(2026, 11, 24, 11, 45)),  # before noon, not midnight
    ("twenty to twelve pm tomorrow", "future", local(2026, 11, 24, 11, 40)),
    ("tomorrow noonish", "future", local(2026, 11, 24, 12, 0)),
    ("mid-day tomorrow", "future", local(2026, 11, 24, 12, 0)),
]

PARTS_OF_DAY = [
    ("tomorrow at 9am", "future", local(2026, 11, 24, 9, 0)),
    ("this afternoon at 3:20", "future", local(2026, 11, 23, 15, 20)),
    ("8 tonight", "future", local(2026, 11, 23, 20, 0)),
    ("tonight at 11", "future", local(2026, 11, 23, 23, 0)),
    ("today at 8.30pm", "future", local(2026, 11, 23, 20, 30)),
    ("last night at 8", "past", local(2026, 11, 22, 20, 0)),
    ("last night at 1am", "past", local(2026, 11, 23, 1, 0)),  # after midnight: this morning
    ("tomorrow morning at 7", "future", local(2026, 11, 24, 7, 0)),
    ("Saturday morning at 9", "future", local(2026, 11, 28, 9, 0)),
    ("7 in the evening yesterday", "past", local(2026, 11, 22, 19, 0)),
    ("Sunday night at 10", "past", local(2026, 11, 22, 22, 0)),
    ("tonight at midnight", "future", local(2026, 11, 24, 0, 0)),
    ("early this morning at 5", "past", local(2026, 11, 23, 5, 0)),
    ("tomorrow pm at 4", "future", local(2026, 11, 24, 16, 0)),
]

RELATIVE = [
    ("now", "past", local(2026, 11, 23, 10, 30)),
    ("right now", "past", local(2026, 11, 23, 10, 30)),
    ("today", "past", local(2026, 11, 23, 10, 30)),
    ("yesterday", "past", local(2026, 11, 22, 10, 30)),
    ("tmrw", "future", local(2026, 11, 24, 10, 30)),
    ("2moro", "future", local(2026, 11, 24, 10, 30)),
    ("the day after tomorrow", "future", local(2026, 11, 25, 10, 30)),
    ("day before yesterday", "past", local(2026, 11, 21, 10, 30)),
    ("3 days from today", "future", local(2026, 11, 26, 10, 30)),
    ("two days before yesterday", "past", local(2026, 11, 20, 10, 30)),
    ("3 years from today", "future", local(2029, 11, 23, 10, 30)),
    ("in 14 days", "future", local(2026, 12, 7, 10, 30)),
    ("in half an hour", "future", local(2026, 11, 23, 11, 0)),
    ("in a couple of hours", "future", local(2026, 11, 23, 12, 30)),
    ("in an hour and a half", "future", local(2026, 11, 23, 12, 0)),
    ("in 1 hour and 15 minutes", "future", local(2026, 11, 23, 11, 45)),
    ("in 3 days' time", "future", local(2026, 11, 26, 10, 30)),
    ("2 days ago", "past", local(2026, 11, 21, 10, 30)),
    ("90 minutes ago", "past", local(2026, 11, 23, 9, 0)),
    ("2.5 hours ago", "past", local(2026, 11, 23, 8, 0)),
    ("1h30 ago", "past", local(2026, 11, 23, 9, 0)),
    ("5m ago", "past", local(2026, 11, 23, 10, 25)),
    ("a fortnight ago", "past", local(2026, 11, 9, 10, 30)),
    ("a month ago", "past", local(2026, 10, 23, 10, 30)),
    ("a year ago today", "past", local(2025, 11, 23, 10, 30)),
    ("3 days ago at 4pm", "past", local(2026, 11, 20, 16, 0)),
    ("a week from tomorrow", "future", local(2026, 12, 1, 10, 30)),
    ("this time yesterday", "past", local(2026, 11, 22, 10, 30)),
    ("same time last week", "past", local(2026, 11, 16, 10, 30)),
]

WEEKDAYS = [
    ("Friday", "past", local(2026, 11, 20)),
    ("Friday", "future", local(2026, 11, 27)),
    ("on Tuesday at 2pm", "future", local(2026, 11, 24, 14, 0)),
    ("last Friday", "past", local(2026, 11, 20)),  # last week's and the latest: both Nov 20
    ("last Tuesday", "past", local(2026, 11, 17)),
    ("this Friday", "future", local(2026, 11, 27)),
    ("this coming Friday", "future", local(2026, 11, 27)),
    ("this past Saturday", "past", local(2026, 11, 21)),
    ("Wednesday next week", "future", local(2026, 12, 2)),
    ("next week on Thursday at 10am", "future", local(2026, 12, 3, 10, 0)),
    ("Friday of last week", "past", local(2026, 11, 20)),
    ("Friday before last", "past", local(2026, 11, 13)),  # "last Friday" is clear on a Monday, so is this
    ("Friday week", "future", local(2026, 12, 4)),
    ("Friday fortnight", "future", local(2026, 12, 11)),
    ("a week from Friday", "future", local(2026, 12, 4)),
    ("Friday just gone", "past", local(2026, 11, 20)),
    ("lst Fri", "past", local(2026, 11, 20)),
    ("the Monday after Thanksgiving", "future", local(2026, 11, 30)),
    ("the Friday before Christmas", "future", local(2026, 12, 18)),
]

CALENDAR = [
    ("Nov 2", "past", local(2026, 11, 2)),
    ("Nov 2", "future", local(2027, 11, 2)),
    ("Nov 2", "current_period", local(2026, 11, 2)),
    ("November 2nd at 3pm", "past", local(2026, 11, 2, 15, 0)),
    ("the 2nd of November 2025", "past", local(2025, 11, 2)),
    ("Nov. 2, 2026 @ 3:30pm", "past", local(2026, 11, 2, 15, 30)),
    ("first of March", "future", local(2027, 3, 1)),
    ("March 1st", "future", local(2027, 3, 1)),
    ("the 3rd of March", "past", local(2026, 3, 3)),
    ("March the third", "past", local(2026, 3, 3)),
    ("twenty-first of October", "past", local(2026, 10, 21)),
    ("next Jan 1", "current_period", local(2027, 1, 1)),
    ("last Dec 25", "current_period", local(2025, 12, 25)),
    ("2 Nov '25", "past", local(2025, 11, 2)),
    ("02-nov-2026", "past", local(2026, 11, 2)),
    ("2026 Nov 2", "past", local(2026, 11, 2)),
    ("20261102", "past", local(2026, 11, 2)),
    ("Mon, Nov 2, 2026", "past", local(2026, 11, 2)),
    ("Monday the 2nd", "past", local(2026, 11, 2)),
    ("Fri Jul 17", "past", local(2026, 7, 17)),
    ("yesterday, 11/22", "past", local(2026, 11, 22)),
    ("the 5th", "past", local(2026, 11, 5)),
    ("on the 23rd", "past", local(2026, 11, 23)),
    ("the 15th of last month", "past", local(2026, 10, 15)),
    ("11/02/2026", "past", local(2026, 11, 2)),
    ("11/2", "past", local(2026, 11, 2)),
    ("2026/11/02", "past", local(2026, 11, 2)),
    ("13/02/2026", "past", local(2026, 2, 13)),  # no month 13: only one reading
    ("last July 4th", "past", local(2026, 7, 4)),
    ("Nov 2 last year", "past", local(2025, 11, 2)),
    ("last Friday of October", "past", local(2026, 10, 30)),
    ("last Friday of October", "future", local(2027, 10, 29)),
    ("first Monday of next month", "future", local(2026, 12, 7)),
    ("the second Tuesday in March 2027", "future", local(2027, 3, 9)),
    ("first day of next month", "future", local(2026, 12, 1)),
    ("the last day of February", "future", local(2027, 2, 28)),
    ("last day of last month", "past", local(2026, 10, 31)),
    ("Febuary 3rd", "past", local(2026, 2, 3)),  # misspelt, but only one word it can be
    ("wendesday at 9am", "past", local(2026, 11, 18, 9, 0)),
]

HOLIDAYS = [
    ("Black Friday", "future", local(2026, 11, 27)),
    ("Cyber Monday at 9am", "future", local(2026, 11, 30, 9, 0)),
    ("Christmas", "future", local(2026, 12, 25)),
    ("Xmas eve", "future", local(2026, 12, 24)),
    ("New Year's Eve at 11:59pm", "future", local(2026, 12, 31, 23, 59)),
    ("new years day", "future", local(2027, 1, 1)),
    ("Thanksgiving", "future", local(2026, 11, 26)),
    ("the day after Thanksgiving", "future", local(2026, 11, 27)),
    ("2 days before Christmas", "future", local(2026, 12, 23)),
    ("2 weeks after Easter", "future", local(2027, 4, 11)),
    ("Easter", "past", local(2026, 4, 5)),
    ("Good Friday", "past", local(2026, 4, 3)),
    ("Labor Day", "past", local(2026, 9, 7)),
    ("Memorial Day", "past", local(2026, 5, 25)),
    ("Valentine's Day", "future", local(2027, 2, 14)),
    ("Mother's Day", "past", local(2026, 5, 10)),
    ("Father's Day", "past", local(2026, 6, 21)),
    ("Boxing Day", "future", local(2026, 12, 26)),
    ("Halloween", "past", local(2026, 10, 31)),
    ("last Christmas", "past", local(2025, 12, 25)),
    ("Christmas 2025 at 6pm", "past", local(2025, 12, 25, 18, 0)),
    ("Black Friday 2025", "past", local(2025, 11, 28)),
    ("Juneteenth", "past", local(2026, 6, 19)),
]

ZONES = [
    ("3pm EST", "past", local(2026, 11, 22, 15, 0)),
    ("3pm ET tomorrow", "future", local(2026, 11, 24, 15, 0)),
    ("9am PST tomorrow", "future", local(2026, 11, 24, 12, 0)),
    ("2:30pm pacific time tomorrow", "future", local(2026, 11, 24, 17, 30)),
    ("noon GMT", "past", local(2026, 11, 23, 7, 0)),
    ("15:00 CET", "past", local(2026, 11, 23, 9, 0)),
    ("10am +0100", "past", local(2026, 11, 23, 4, 0)),
    ("3pm UTC+2", "past", local(2026, 11, 23, 8, 0)),
    ("14:00 Europe/Paris", "past", local(2026, 11, 23, 8, 0)),
    ("2pm London time", "past", local(2026, 11, 23, 9, 0)),
    ("9am Tokyo time", "past", local(2026, 11, 22, 19, 0)),
    ("2pm India time", "past", local(2026, 11, 23, 3, 30)),
    ("July 15 3pm ET", "future", local(2027, 7, 15, 15, 0)),
    ("2026-11-02 10:30 UTC", "past", local(2026, 11, 2, 5, 30)),  # ISO date: a 24-hour clock
    ("tomorrow 3pm Pacific Standard Time", "future", local(2026, 11, 24, 18, 0)),
    ("tomorrow 3pm in London", "future", local(2026, 11, 24, 10, 0)),
    ("tomorrow 3pm UK", "future", local(2026, 11, 24, 10, 0)),
]


@pytest.mark.parametrize(("text", "prefer", "expected"),
                         CLOCKS + PARTS_OF_DAY + RELATIVE + WEEKDAYS + CALENDAR + HOLIDAYS + ZONES)  # fmt: skip
def test_reads_what_was_meant(text: str, prefer: str, expected: datetime) -> None:
    result = read(text, prefer)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()


# --- refused, saying what was unclear --------------------------------------------------------------------

REFUSED = [
    # a time of day that would be dropped, or could be a.m. or p.m.
    ("tomorrow at 9", "future", "9:00 AM", ("Tue Nov 24, 2026 9:00 AM", "Tue Nov 24, 2026 9:00 PM")),
    ("3:30", "future", "could mean", ("Mon Nov 23, 2026 3:30 PM",)),
    ("at 3 15", "future", "could mean", ()),
    ("Tuesday around 9", "past", "could mean", ()),
    ("tomorrow morning", "future", "at what time", ("tomorrow morning 9am",)),
    ("tonight", "future", "at what time", ()),
    # numbers that are no date
    ("5", "past", "not a full date", ("Nov 5", "5pm")),
    ("2025", "past", "not a full date", ()),
    ("seven", "past", "could not read", ()),
    ("ten ten", "future", "could mean", ()),
    ("5.12", "past", "could mean", ("Tue May 12, 2026",)),
    # a weekday against its date
    ("Fri, Jul 18", "past", "is a Saturday, not a Friday", ("Sat Jul 18, 2026", "Fri Jul 17, 2026")),
    ("Mon 13th", "past", "is a Friday, not a Monday", ("Fri Nov 13, 2026", "Mon Nov 16, 2026")),
    ("tomorrow (Fri Nov 27)", "future", "two different days", ()),
    # ranges
    ("July 13-15", "past", "is a range", ()),
    ("3-4pm", "past", "is a range", ()),
    ("1pm-2pm tomorrow", "future", "is a range", ()),
    ("Mon-Fri", "future", "is a range", ()),
    ("from 9 to 5", "future", "is a range", ()),
    ("between 3 and 4pm", "future", "is a range", ()),
    # a silent choice the reader must not make
    ("next Wednesday", "future", "could mean", ("Wed Nov 25, 2026", "Wed Dec 2, 2026")),
    ("Monday", "past", "could mean", ("Mon Nov 16, 2026", "Mon Nov 23, 2026")),
    ("Friday", "current_period", "could mean", ("Fri Nov 20, 2026", "Fri Nov 27, 2026")),
    ("3pm IST", "past", "names several zones", ("3pm UTC+5:30", "3pm UTC+1", "3pm UTC+2")),
    ("3pm CST", "past", None, ()),  # in New York: Central (North America), the only one of its country
    ("July 15 3pm EST", "future", "keeps EDT", ("July 15 3pm EDT", "July 15 3pm UTC-5")),
    ("tomorrow at midnight", "future", "could mean", ("Wed Nov 25, 2026",)),
    ("Friday after next", "future", "could mean", ("Fri Dec 4, 2026", "Fri Dec 11, 2026")),  # as "next Friday"
    ("tomorrow at 1030", "future", "could mean", ("Tue Nov 24, 2026 10:30 AM", "Tue Nov 24, 2026 10:30 PM")),
    ("2026-11-02 at 3", "past", "could mean", ()),
    ("five to 12 am tomorrow", "future", "could not read", ()),
    ("July 15 3pm Pacific Standard Time", "future", "keeps PDT", ()),
    ("tomorrow 3pm Georgia time", "future", "not understood: `georgia`", ()),  # the state, or the country?
    ("tomorrow 3pm easten time", "future", "not understood: `easten`", ()),  # not Easter Island
    ("tomorrow 5pm CA time", "future", "not understood: `ca`", ()),
    ("tomorrow and the day after", "future", "is a range", ()),
    ("within 3 days", "future", "is a range", ()),
    ("3pm at", "past", "not understood: `at`", ()),
    ("'\"", "past", "no date in it", ()),
    ("2026-03-08 02:30", "past", "does not exist", ()),
    ("2026-11-01 01:30", "past", "happens twice", ("2026-11-01 01:30-04:00", "2026-11-01 01:30-05:00")),
    ("Labor Day", "past", None, ()),
    # the future in a field about the past
    ("tomorrow", "past", "has not happened yet", ()),
    ("in 3 days", "past", "in the future", ()),
    ("next Friday", "past", "has not happened yet", ()),
    ("today at 5pm", "past", "has not happened yet", ()),
    # periods and vague amounts
    ("next week", "past", "whole week", ()),
    ("next month", "future", "whole period", ()),
    ("this weekend", "future", "whole period", ()),
    ("November", "past", "whole period", ()),
    ("November 2026", "past", "whole period", ()),
    ("a few days ago", "past", "vague", ()),
    ("around Christmas", "past", "approximate", ()),
    ("end of the month", "future", "last day or its last minute", ("the last day of the month",)),
    ("mid March", "past", "vague", ()),
    ("Mondays at 9am", "future", "repeats", ()),
    ("3 business days ago", "past", "business days", ()),
    # words it does not know are named, not skipped
    ("tomorrow-ish xyzzy", "future", "not understood: `xyzzy`", ()),
    ("junk words here", "past", "could not read", ()),
    ("", "past", "is empty", ()),
    ("x" * 200, "past", "too long", ()),
    ("2026-13-45", "past", "not a real date", ()),
    ("Feb 30", "past", "February has no day 30", ()),
    ("the 5th Friday of February 2027", "past", "has no fifth Friday", ()),
]


@pytest.mark.parametrize(("text", "prefer", "says", "offers"), REFUSED)
def test_refuses_saying_what_was_unclear(text: str, prefer: str, says: str | None, offers: tuple[str, ...]) -> None:
    if says is None:  # read right after all, by a documented rule (asserted elsewhere)
        read(text, prefer)
        return
    problem = refusal(text, prefer)
    assert says in problem.message
    assert set(offers) <= set(problem.examples)


def test_zone_letters_follow_the_users_country_and_the_date() -> None:
    dublin, sydney = ZoneInfo("Europe/Dublin"), ZoneInfo("Australia/Sydney")
    # Irish Standard Time is Ireland's summer clock: in winter "IST" is not Dublin's time
    assert "keeps GMT" in refusal("tomorrow 3pm IST", "future", zone=dublin, locale="en-IE").message
    july = datetime(2026, 7, 10, 12, 0, tzinfo=dublin)
    assert read("tomorrow 3pm IST", "future", zone=dublin, locale="en-IE", now=july) == datetime(
        2026, 7, 11, 15, 0, tzinfo=dublin
    )
    # An Australian's EST is their own eastern clock (in November it keeps AEDT, so it is asked)
    assert "keeps AEDT" in refusal("tomorrow 3pm EST", "future", zone=sydney, locale="en-AU").message
    assert "Australian or North American" in refusal("tomorrow 3pm eastern time", "future", zone=sydney).message
    june = datetime(2026, 6, 10, 12, 0, tzinfo=sydney)
    assert read("tomorrow 3pm EST", "future", zone=sydney, locale="en-AU", now=june) == datetime(
        2026, 6, 11, 15, 0, tzinfo=sydney
    )


def test_cst_and_labor_day_follow_the_users_country() -> None:
    assert read("3pm CST", "past") == local(2026, 11, 22, 16, 0)  # US Central from New York
    china = ZoneInfo("Asia/Shanghai")
    assert read("3pm CST", "past", zone=china, locale=None) == datetime(2026, 11, 23, 15, 0, tzinfo=china)
    london = ZoneInfo("Europe/London")
    assert "names several zones" in refusal("3pm CST", zone=london, locale="en-GB").message
    assert read("Labor Day", "past") == local(2026, 9, 7)
    assert "not kept where you are" in refusal("Labor Day", zone=london, locale="en-GB").message


OFFERED = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{1,2}, \d{4}( \d{1,2}:\d{2} [AP]M)?")


def test_every_offered_reading_reads_back_as_itself() -> None:
    """What a refusal offers can be typed back as is, and means exactly that."""
    checked = 0
    for text, prefer, _, _ in REFUSED:
        try:
            read(text, prefer)
            continue
        except InvalidValue as problem:
            offers = [example for example in problem.examples if OFFERED.fullmatch(example)]
        for offer in offers:
            again = read(offer, "current_period")
            assert offer.startswith(f"{again:%a %b} {again.day}, {again.year}")
            checked += 1
    assert checked >= 15
    for offer in ("3pm UTC+5:30", "July 15 3pm EDT", "July 15 3pm UTC-5", *READER_EXAMPLES):
        read(offer, "future")


READER_EXAMPLES = ("Nov 2 9am", "2026-11-02 14:30")


# --- whose calendar ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", date(2026, 2, 3)),
        ("en-GB", date(2026, 3, 2)),
        ("fr-FR", date(2026, 3, 2)),
        ("de-DE", date(2026, 3, 2)),
    ],
)
def test_day_and_month_follow_the_users_locale(locale: str, expected: date) -> None:
    assert read("02/03/2026", locale=locale).date() == expected


def test_date_order_setting_decides_when_the_locale_says_nothing() -> None:
    assert read("02/11/2026", locale=None).date() == date(2026, 2, 11)
    assert read("02/11/2026", locale=None, reader=DMY).date() == date(2026, 11, 2)
    # a locale that writes year first (en-CA: 2026-11-02) says nothing about 02/11: DATE_ORDER decides
    assert read("02/11/2026", locale="en-CA").date() == date(2026, 2, 11)


def test_dotted_dates_follow_the_locale_and_are_unclear_against_a_month_first_default() -> None:
    assert "could mean" in refusal("02.03.2026", locale=None).message
    assert read("02.03.2026", locale=None, reader=DMY).date() == date(2026, 3, 2)
    ymd = DateReader(date_order="YMD")
    assert read("26/03/02", locale=None, reader=ymd).date() == date(2026, 3, 2)
    assert "could mean" in refusal("02/03/2026", locale=None, reader=ymd).message
    assert read("02.03.2026", locale="de-DE").date() == date(2026, 3, 2)
    assert read("02.03.2026", locale="en-US").date() == date(2026, 2, 3)


def test_holidays_follow_the_users_country() -> None:
    london, toronto, moscow = ZoneInfo("Europe/London"), ZoneInfo("America/Toronto"), ZoneInfo("Europe/Moscow")
    assert read("Mother's Day", zone=london, locale="en-GB").date() == date(2026, 3, 15)  # Mothering Sunday
    assert read("Thanksgiving", zone=toronto).date() == date(2026, 10, 12)
    assert read("Christmas", zone=moscow, locale="ru-RU").date() == date(2026, 1, 7)
    assert read("Victoria Day", zone=toronto).date() == date(2026, 5, 18)
    assert read("Diwali", zone=ZoneInfo("Asia/Kolkata"), locale="en-IN").date() == date(2026, 11, 8)
    assert read("Black Friday", zone=london, locale="en-GB").date() == date(2025, 11, 28)  # the US one
    assert read("Easter", zone=ZoneInfo("Europe/Athens"), locale=None).date() == date(2026, 4, 12)  # Orthodox
    assert read("Memorial Day", zone=ZoneInfo("Asia/Seoul"), locale="ko-KR").date() == date(2026, 6, 6)
    assert "two days where you are" in refusal("Christmas", "future", zone=ZoneInfo("Europe/Chisinau")).message


def test_the_holiday_package_loads_only_for_a_holiday_of_the_users_own() -> None:
    import subprocess
    import sys

    probe = (
        "import sys; from datetime import datetime; from zoneinfo import ZoneInfo; from bot.dates import DateReader\n"
        "r = DateReader(); ny = ZoneInfo('America/New_York'); now = datetime(2026, 11, 23, tzinfo=ny)\n"
        "for text in ('Christmas', 'Black Friday', 'the day after Thanksgiving at noon', 'Memorial Day'):\n"
        "    r.read(text, zone=ny, now=now, prefer='past', locale='en-US')\n"
        "print('holidays' in sys.modules)\n"
        "r.read('Diwali', zone=ZoneInfo('Asia/Kolkata'), now=now, prefer='past')\n"
        "print('holidays' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert shown == ["False", "True"]


# --- fields about the past and the future --------------------------------------------------------------------


def test_a_few_minutes_ahead_is_clock_skew_not_the_future() -> None:
    assert read("10:31am", "past") == local(2026, 11, 23, 10, 31)
    assert "has not happened yet" in refusal("10:45am today", "past").message


def test_a_whole_day_field_compares_days_and_takes_a_part_of_the_day() -> None:
    assert read("today 5pm", "past", whole_day=True).date() == date(2026, 11, 23)
    assert read("yesterday morning", "past", whole_day=True).date() == date(2026, 11, 22)
    assert read("lunchtime yesterday", "past", whole_day=True).date() == date(2026, 11, 22)
    with pytest.raises(InvalidValue, match="has not happened yet"):
        read("tomorrow", "past", whole_day=True)


def test_a_future_field_takes_a_past_moment() -> None:
    assert read("yesterday 3pm", "future") == local(2026, 11, 22, 15, 0)


# --- zones, DST ----------------------------------------------------------------------------------------------


def test_same_words_mean_a_different_instant_in_another_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    result = read("yesterday 3pm", zone=tokyo, locale=None)
    assert result == datetime(2026, 11, 23, 15, 0, tzinfo=tokyo)  # it is already Nov 24 in Tokyo
    assert to_api_datetime(result, ZoneInfo("UTC")) == "2026-11-23 06:00:00"


def test_dst_change_is_handled_by_the_zone() -> None:
    summer = read("2026-07-01 12:00", "current_period")
    assert to_api_datetime(summer, ZoneInfo("UTC")) == "2026-07-01 16:00:00"
    winter = read("2026-12-01 12:00", "current_period")
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
        # Hours are time that passes: 12 hours before noon on the day clocks spring forward is 11pm.
        (datetime(2026, 3, 8, 16, 0, tzinfo=UTC), "America/New_York", "12 hours ago", datetime(2026, 3, 7, 23, 0)),
    ],
)
def test_relative_dates_keep_the_wall_clock_across_dst(now: datetime, zone: str, text: str, expected: datetime) -> None:
    result = read(text, zone=ZoneInfo(zone), now=now)
    assert result.replace(tzinfo=None) == expected
    assert result.utcoffset() == expected.replace(tzinfo=ZoneInfo(zone)).utcoffset()


def test_a_clock_time_the_dst_change_skips_or_repeats_is_refused() -> None:
    assert "does not exist" in refusal("March 8 2026 at 2:30am").message
    repeated = refusal("Nov 1 2026 at 1:30am")
    assert "happens twice" in repeated.message
    assert repeated.examples == ("2026-11-01 01:30-04:00", "2026-11-01 01:30-05:00")
    assert read(repeated.examples[1]).astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_api_strings_are_written_in_the_api_zone() -> None:
    moment = local(2026, 11, 22, 15, 0)
    assert to_api_datetime(moment, ZoneInfo("UTC")) == "2026-11-22 20:00:00"
    assert to_api_datetime(moment, ZoneInfo("Europe/Paris")) == "2026-11-22 21:00:00"
    assert describe_datetime(moment, NEW_YORK) == "Sun Nov 22, 2026 3:00 PM EST"
    assert (
        describe_datetime(datetime(2026, 11, 22, 4, 5, tzinfo=UTC), ZoneInfo("UTC")) == "Sun Nov 22, 2026 4:05 AM UTC"
    )


def test_iso_and_now_are_exact() -> None:
    assert read("2026-11-02T15:00:00Z") == local(2026, 11, 2, 10, 0)
    assert read("2026-11-02 15:00:00+01:00") == local(2026, 11, 2, 9, 0)
    assert READER.read("now", zone=ZoneInfo("UTC"), now=NOW) == NOW
    with pytest.raises(InvalidValue, match="looks like a typo"):
        read("2099-01-01")


def test_other_languages_only_when_configured() -> None:
    with pytest.raises(InvalidValue):
        read("hier")
    several = DateReader(languages=["en", "fr", "de"])
    assert read("hier", reader=several).date() == date(2026, 11, 22)
    assert read("hier à 15h", reader=several) == local(2026, 11, 22, 15, 0)
    assert read("gestern um 15 Uhr", reader=several) == local(2026, 11, 22, 15, 0)
    assert read("vor 3 Tagen", reader=several).date() == date(2026, 11, 20)
    assert read("3. März 2026", reader=several).date() == date(2026, 3, 3)


def test_the_warm_up_reads_its_own_phrases() -> None:
    DateReader(languages=["en", "fr"]).warm_up()  # raises if one of its phrases stopped being read


def test_the_shipped_holiday_names_are_the_packages() -> None:
    """`holiday_names.json` is what `python -m bot.dates.holidays` lists from the installed package."""
    import json

    import holidays as package

    from bot.dates import holidays

    shipped = json.loads(holidays.NAMES_FILE.read_text(encoding="utf-8"))
    assert {"diwali", "anzac day", "independence day"} <= set(shipped["names"])
    assert "pay day" not in shipped["names"]
    if (shipped["holidays"], shipped["year"]) == (package.__version__, date.today().year):
        assert holidays.generate_names()["names"] == shipped["names"]  # else: regenerate the file


WORDS = [
    "at", "on", "the", "my", "local", "time", "in", "ago", "next", "last", "this", "before", "after", "and", "to",
    "-", "/", ".", ",", "'", '"', "(", ")", "3", "15", "2026", "9999", "0", "3pm", "12am", "quarter", "half",
    "past", "tomorrow", "yesterday", "Friday", "Nov", "March", "Christmas", "Easter", "day", "days", "hours",
    "years", "IST", "EST", "ET", "UTC+2", "america/argentina", "europe/paris", "morning", "tonight", "noon",
    "midnight", "2026-11-02", "02/03", "5.12", "1st", "fortnight", "week", "ish", "around", "le", "à", "😀",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join), st.text(max_size=40)),
    st.sampled_from(["past", "future", "current_period"]),
)
def test_anything_typed_is_read_or_refused_never_a_crash(text: str, prefer: str) -> None:
    for reader in (READER, FRENCH):
        with contextlib.suppress(InvalidValue):
            reader.read(text, zone=NEW_YORK, now=NOW, prefer=prefer, locale="en-US")  # type: ignore[arg-type]


FRENCH = DateReader(languages=["en", "fr"])
