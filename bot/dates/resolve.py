"""A reading (`Spec`) → the moments it can mean, for one user at one moment.

Each kind of day yields every date a careful reader could take it for ("next Friday" on a Monday: this
Friday, or the one in next week under either week start); the field's `prefer` (past or future) keeps
those on its side of today. More than one left is an ambiguity the user is asked to settle, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.dates import Prefer, holidays, zones
from bot.dates.spec import (
    CalendarDate,
    Clock,
    DayOfMonth,
    Duration,
    Holiday,
    MonthEdge,
    MonthRef,
    NthWeekday,
    NumericDate,
    Spec,
    Today,
    Unreadable,
    Weekday,
)
from bot.dates.words import MONTH_NAMES, PART_HOURS, WEEKDAY_NAMES

# A moment up to this far after now still counts as now in a field about the past (clocks disagree).
CLOCK_SKEW = timedelta(minutes=2)
EARLIEST_YEAR = 1970
YEARS_AHEAD = 30


@dataclass(frozen=True)
class Situation:
    """Who reads, when, and for what kind of field."""

    now: datetime  # aware, in `zone`
    zone: ZoneInfo
    prefer: Prefer
    date_order: str | None  # MDY | DMY | YMD from the user's locale, or None
    default_order: str  # DATE_ORDER
    country: str | None
    whole_day: bool = False

    @property
    def today(self) -> date:
        return self.now.date()


class NotThisReading(Unreadable):
    """This way of cutting the phrase leads nowhere (Feb 30, an unknown holiday); another may."""

    def __init__(self, message: str) -> None:
        super().__init__(message, rank=0)


@dataclass(frozen=True)
class DayChoice:
    day: date
    keeps_clock: bool = False  # "yesterday", "in 3 days": the time of day is now's unless one is said


def resolve(spec: Spec, where: Situation, text: str) -> list[datetime]:
    """Every moment this reading can mean (usually one); raises `Unreadable` when it cannot be one moment."""
    spec = _refuse_notes(spec, text)
    if spec.now:
        if spec.day or spec.clock or spec.shift or spec.part or spec.same_time:
            raise Unreadable(f"`{text}` says both now and another time", rank=2)
        return [where.now]
    if spec.shift is not None and spec.shift.text == "vague":
        raise Unreadable(f"`{text}` is vague: say how many, e.g. `3 days ago`", ("3 days ago",), rank=4)
    if spec.shift is not None and not spec.anchored:
        return _from_now(spec, where, text)
    if spec.anchored and spec.day is None and spec.clock is None and not spec.same_time:
        raise NotThisReading(f"`{text}`: a distance needs something to count from")
    if spec.anchored and _year_open(spec):
        # "the day after Thanksgiving", "3 days before Christmas": the field's side of today decides the
        # year of the day that results, not of the day counted from.
        moments = [moment for year in _years(where) for moment in _counted(replace(spec, year=year), where, text)]
        return _pick_moment(moments, where)
    return _counted(spec, where, text)


def _counted(spec: Spec, where: Situation, text: str) -> list[datetime]:
    moments = _place(spec, where, text)
    if spec.shift is not None:
        moments = [shifted(moment, spec.shift, spec.shift_sign, where.zone) for moment in moments]
    if spec.to_weekday is not None:
        moments = [_to_weekday(moment, spec.to_weekday, spec.shift_sign) for moment in moments]
    return moments


def _year_open(spec: Spec) -> bool:
    """A day that recurs each year with no year said or implied ("Christmas", "Nov 2"; not "last Christmas")."""
    day = spec.day
    if spec.year is not None or spec.year_relative is not None:
        return False
    if isinstance(day, Holiday | CalendarDate):
        return day.mode == "bare" and getattr(day, "year", None) is None
    if isinstance(day, NthWeekday | MonthEdge):
        return day.month.month is not None and day.month.year is None and day.month.relative is None
    return False


def _years(where: Situation) -> list[int]:
    return [where.today.year + offset for offset in (-1, 0, 1)]


def _pick_moment(moments: list[datetime], where: Situation) -> list[datetime]:
    """Of one day in consecutive years, as `_pick_year` does for days: the field's side of now."""
    if not moments:
        return []
    if where.prefer == "past":
        kept = [moment for moment in moments if moment <= where.now + CLOCK_SKEW]
        return [max(kept)] if kept else [min(moments)]
    if where.prefer == "future":
        kept = [moment for moment in moments if moment >= where.now - CLOCK_SKEW]
        return [min(kept)] if kept else [max(moments)]
    return [moment for moment in moments if moment.year == where.today.year] or moments[len(moments) // 2 :][:1]


def _to_weekday(moment: datetime, weekday: int, sign: int) -> datetime:
    """ "the Monday after Thanksgiving": the first such weekday strictly after (or before) the day."""
    after = (weekday - moment.weekday()) % 7 or 7
    before = (moment.weekday() - weekday) % 7 or 7
    days = after if sign > 0 else -before
    return shifted(moment, Duration(days=abs(days)), 1 if days > 0 else -1, moment.tzinfo)  # type: ignore[arg-type]


def _refuse_notes(spec: Spec, text: str) -> Spec:
    if "range" in spec.notes:
        raise Unreadable(f"`{text}` is a range, not one moment: give its start or its end", rank=5)
    if "approximate" in spec.notes:
        if spec.clock is None:
            raise Unreadable(f"`{text}` is approximate: give the day and time", rank=4)
        spec = replace(spec, notes=tuple(note for note in spec.notes if note != "approximate"))
    if spec.shift is not None and spec.shift.text == "business":
        raise Unreadable(f"`{text}`: business days depend on which days are holidays; give the date", rank=4)
    if not spec.notes:
        return spec
    if spec.day is not None:
        # A month or "next month" read alone, beside a day read from other words: not this reading.
        raise NotThisReading(f"`{text}` is a whole period")
    if "recurring" in spec.notes:
        raise Unreadable(f"`{text}` repeats; give one day", rank=4)
    if "business" in spec.notes:
        raise Unreadable(f"`{text}`: business days depend on which days are holidays; give the date", rank=4)
    if "vague-edge" in spec.notes:
        raise Unreadable(f"`{text}` could be the last day or its last minute: give the day, e.g. "
                         "`the last day of the month`", ("the last day of the month",), rank=4)  # fmt: skip
    if "period" in spec.notes:
        raise Unreadable(f"`{text}` is a whole period, not one moment: give a day, e.g. `Monday next week`",
                         ("Monday next week",), rank=4)  # fmt: skip
    if "vague" in spec.notes:
        raise Unreadable(f"`{text}` is vague: give a day and time", rank=4)
    return spec


# --- distances from now ------------------------------------------------------------------------------------


def shifted(moment: datetime, shift: Duration, sign: int, zone: ZoneInfo) -> datetime:
    """`moment` moved by a duration: months and days on the wall clock (so "yesterday" is the calendar day
    before even across a DST change), hours and minutes as time that passes."""
    result = moment
    try:
        if shift.months or shift.days:
            wall = moment.astimezone(zone).replace(tzinfo=None)
            wall += relativedelta(months=sign * shift.months, days=sign * shift.days)
            result = _localize(wall, zone)
        if shift.seconds:
            result = (result.astimezone(UTC) + timedelta(seconds=sign * shift.seconds)).astimezone(zone)
    except (OverflowError, ValueError):  # "in 9999 years": past the end of the calendar
        raise Unreadable(f"`{shift.text}` is too far from then to be a date", rank=2) from None
    return result


def _from_now(spec: Spec, where: Situation, text: str) -> list[datetime]:
    assert spec.shift is not None
    if spec.day == Today(0) and spec.shift_sign < 0 and not spec.shift.seconds:
        spec = replace(spec, day=None)  # "a year ago today"
    if spec.day is not None or spec.year is not None or spec.week is not None:
        raise Unreadable(f"`{text}` gives both a day and a distance from now", rank=2)
    if spec.shift_sign > 0 and where.prefer == "past":
        raise Unreadable(f"`{text}` is in the future; this is about something that already happened", rank=4)
    base = shifted(where.now, spec.shift, spec.shift_sign, where.zone)
    if spec.clock is None and spec.part is None and not spec.same_time:
        if spec.zone is not None:
            raise Unreadable(f"`{text}`: a zone goes with a clock time, e.g. `3pm EST`", rank=2)
        return [base]
    if spec.shift.seconds:
        raise Unreadable(f"`{text}` gives both a time of day and a number of hours from now", rank=2)
    day = DayChoice(base.date(), keeps_clock=True)
    return _with_times([day], spec, where, text)


# --- which day -----------------------------------------------------------------------------------------------


def _place(spec: Spec, where: Situation, text: str) -> list[datetime]:
    if spec.same_time and spec.day is None and (spec.week is not None or spec.year_relative is not None):
        # "this time last week", "same time next year"
        moved = where.today + relativedelta(weeks=spec.week or 0, years=spec.year_relative or 0)
        spec = replace(spec, day=Today((moved - where.today).days), week=None, year_relative=None)
    if spec.day is None:
        if spec.week is not None:
            raise Unreadable(f"`{text}` is a whole week: which day? e.g. `Monday next week`",
                             ("Monday next week",), rank=4)  # fmt: skip
        if spec.year is not None or spec.year_relative is not None:
            raise Unreadable(f"`{text}` is a whole year: give a day, e.g. `Nov 2, 2026`", rank=4)
        if spec.clock is None and not spec.same_time:
            if spec.part is not None:
                raise Unreadable(f"`{text}`: which day?", rank=2)
            raise NotThisReading(f"`{text}` has no day or time")
        return _with_times(None, spec, where, text)
    days = day_choices(spec, where, text)
    if spec.also is not None:
        others = {choice.day for choice in day_choices(replace(spec, day=spec.also, also=None), where, text)}
        agreed = [choice for choice in days if choice.day in others]
        if not agreed:
            shown = sorted({choice.day for choice in days} | others)
            raise Unreadable(f"`{text}` names two different days: {say_or([describe_day(d) for d in shown])}",
                             tuple(describe_day(d) for d in shown), rank=3)  # fmt: skip
        days = agreed
    if spec.weekday_check is not None:
        _check_weekday(spec.weekday_check, [choice.day for choice in days], text)
    return _with_times(days, spec, where, text)


def day_choices(spec: Spec, where: Situation, text: str) -> list[DayChoice]:
    day = spec.day
    assert day is not None
    takes_year = isinstance(day, CalendarDate | NumericDate | Holiday) or (
        isinstance(day, NthWeekday | MonthEdge) and day.month.month is not None and day.month.year is None
    )
    if (spec.year is not None or spec.year_relative is not None) and not takes_year:
        raise NotThisReading(f"`{text}`: a year does not go with that")
    if spec.week is not None and not (isinstance(day, Weekday) and day.mode in ("bare", "this")):
        raise NotThisReading(f"`{text}`: a week does not go with that")
    year = spec.year
    if spec.year_relative is not None:
        year = where.today.year + spec.year_relative
    if isinstance(day, Today):
        return [DayChoice(where.today + timedelta(days=day.offset), keeps_clock=True)]
    if isinstance(day, CalendarDate):
        if day.year is not None and year is not None and day.year != year:
            raise NotThisReading(f"`{text}` gives two years")
        given = day.year if day.year is not None else year
        if given is None and day.mode != "bare":
            return [DayChoice(_month_day_said(day, where, text))]
        return [DayChoice(d) for d in _month_day(day.month, day.day, given, where, text)]
    if isinstance(day, NumericDate):
        return [DayChoice(d) for d in _numeric(day, year, where, text)]
    if isinstance(day, DayOfMonth):
        return [DayChoice(_day_of_month(day, where, text))]
    if isinstance(day, Weekday):
        return [DayChoice(d) for d in _weekday(day, spec.week, where, text)]
    if isinstance(day, NthWeekday):
        return [DayChoice(d) for d in _in_month(day.month, year, where, text, lambda y, m: _nth(day, y, m, text))]
    if isinstance(day, MonthEdge):
        return [DayChoice(_month_edge(day, year, where, text))]
    if isinstance(day, Holiday):
        return [DayChoice(_holiday(day, year, where, text))]
    raise AssertionError(day)


def _pick_year(dates: list[date], where: Situation, *, mode: str = "bare") -> date:
    """Of one day in consecutive years (last, this, next), the one the field means: past → the latest not
    after today, future → the earliest not before today, otherwise this year's."""
    today = where.today
    if mode == "last":
        return max(d for d in dates if d < today)
    if mode == "next":
        return min(d for d in dates if d > today)
    if mode == "this" or where.prefer == "current_period":
        return next((d for d in dates if d.year == today.year), dates[len(dates) // 2])
    if where.prefer == "past":
        return max(d for d in dates if d <= today)
    return min(d for d in dates if d >= today)


def _month_day(month: int, day: int, year: int | None, where: Situation, text: str) -> list[date]:
    if year is not None:
        return [_date(year, month, day, text)]
    _date(2024, month, day, text)  # exists in some year (Feb 29 in a leap year)
    today = where.today
    if where.prefer == "current_period":
        return [_date(today.year, month, day, text)]
    step = -1 if where.prefer == "past" else 1
    for years in range(0, 9):
        try:
            found = date(today.year + step * years, month, day)
        except ValueError:
            continue
        if (step < 0 and found <= today) or (step > 0 and found >= today):
            return [found]
    raise NotThisReading(f"`{text}`: no such day")


def _month_day_said(day: CalendarDate, where: Situation, text: str) -> date:
    """ "last July 4th", "next Jan 1", "this March 3rd": the one before today, after today, or this year's."""
    today = where.today
    if day.mode == "this":
        return _date(today.year, day.month, day.day, text)
    step = -1 if day.mode == "last" else 1
    for years in range(0, 9):
        try:
            found = date(today.year + step * years, day.month, day.day)
        except ValueError:
            continue
        if (step < 0 and found < today) or (step > 0 and found > today):
            return found
    raise NotThisReading(f"`{text}`: no such day")


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if 1 <= month <= 12:
            raise NotThisReading(f"`{text}`: {MONTH_NAMES[month]} has no day {day}") from None
        raise NotThisReading(f"`{text}`: there is no month {month}") from None


def _numeric(day: NumericDate, year: int | None, where: Situation, text: str) -> list[date]:
    """ "02/03/2026": month first or day first by the user's locale; where it says nothing (or writes the
    year first), DATE_ORDER, except that a dotted date (a day-first habit) against DATE_ORDER=MDY is unclear.
    When only one order gives a real date, that one; with DATE_ORDER=YMD, `26/03/02` is 2026-03-02."""
    first, second = int(day.first), int(day.second)
    if day.third is not None:
        year = _full_year(day.third, where)
    if where.date_order in ("MDY", "DMY"):
        order = where.date_order
    elif day.separator == "." and where.default_order != "DMY":
        order = None  # dots are the day-first habit, DATE_ORDER says month first, nothing else says: unclear
    else:
        order = where.default_order
    if order == "YMD":
        if day.third is None:
            order = "MDY"  # "03/02": month and day, as YMD writes them
        elif len(day.third) == 2:
            year, first, second = _full_year(day.first, where), int(day.second), int(day.third)
            order = "MDY"
        else:
            order = None  # "02/03/2026" with nothing saying which comes first
    readings = [(first, second), (second, first)] if order != "DMY" else [(second, first), (first, second)]
    valid = []
    for month, dom in readings:
        if 1 <= month <= 12 and 1 <= dom <= 31:
            try:
                valid.append(_month_day(month, dom, year, where, text)[0])
            except NotThisReading:
                continue
    if not valid:
        raise NotThisReading(f"`{text}` is not a date")
    return valid[:1] if order is not None else list(dict.fromkeys(valid))


def _full_year(text: str, where: Situation) -> int:
    value = int(text)
    if len(text) == 4:
        return value
    if len(text) != 2:
        raise NotThisReading(f"`{text}` is not a year")
    return 2000 + value if 2000 + value <= where.today.year + YEARS_AHEAD else 1900 + value


def _day_of_month(day: DayOfMonth, where: Situation, text: str) -> date:
    today = where.today
    if day.month is not None and day.month.relative is not None:
        first = today.replace(day=1) + relativedelta(months=day.month.relative)
        return _date(first.year, first.month, day.day, text)
    options = []
    for months in (-2, -1, 0, 1, 2):
        first = today.replace(day=1) + relativedelta(months=months)
        try:
            options.append(date(first.year, first.month, day.day))
        except ValueError:
            continue
    if where.prefer == "current_period":
        return _date(today.year, today.month, day.day, text)
    if where.prefer == "past":
        return max(d for d in options if d <= today)
    return min(d for d in options if d >= today)


def _week_start(day: date, first_weekday: int) -> date:
    return day - timedelta(days=(day.weekday() - first_weekday) % 7)


_SUNDAY = 6


def _weekday(day: Weekday, week: int | None, where: Situation, text: str) -> list[date]:
    today = where.today
    coming = today + timedelta(days=(day.weekday - today.weekday() - 1) % 7 + 1)
    previous = today - timedelta(days=(today.weekday() - day.weekday - 1) % 7 + 1)

    def in_week(offset: int) -> set[date]:
        return {
            _week_start(today, start) + timedelta(days=7 * offset + (day.weekday - start) % 7) for start in (0, _SUNDAY)
        }

    if week is not None:
        options = in_week(week)
        if day.mode == "this" and week != 0:
            raise NotThisReading(f"`{text}`: two weeks")
    elif day.mode == "bare":
        options = {previous, coming} | ({today} if today.weekday() == day.weekday else set())
    elif day.mode == "this":
        options = in_week(0) | {today if today.weekday() == day.weekday else coming}
    elif day.mode == "next":
        options = {coming} | in_week(1)
    elif day.mode == "last":
        options = {previous} | in_week(-1)
    elif day.mode == "coming":
        options = {coming}
    elif day.mode == "past":
        options = {previous}
    elif day.mode == "after-next":
        # the one after "next Friday": as unclear as that is
        options = {option + timedelta(days=7) for option in {coming} | in_week(1)}
    elif day.mode == "before-last":
        options = {option - timedelta(days=7) for option in {previous} | in_week(-1)}
    elif day.mode in ("week-on", "fortnight-on"):
        # "Friday week": a week after the coming Friday; said on a Friday, perhaps a week after today
        weeks = 1 if day.mode == "week-on" else 2
        options = {coming + timedelta(weeks=weeks)} | (
            {today + timedelta(weeks=weeks)} if today.weekday() == day.weekday else set()
        )
    else:
        raise AssertionError(day.mode)
    return _prefer(sorted(options), where)


def _prefer(options: list[date], where: Situation) -> list[date]:
    """Of several readings, those on the field's side of today (all of them when none is)."""
    if len(options) <= 1 or where.prefer == "current_period":
        return options
    today = where.today
    kept = [d for d in options if (d <= today if where.prefer == "past" else d >= today)]
    return kept or options


def _in_month(month: MonthRef, year: int | None, where: Situation, text: str, make) -> list[date]:  # type: ignore[no-untyped-def]
    today = where.today
    if month.relative is not None:
        first = today.replace(day=1) + relativedelta(months=month.relative)
        return [make(first.year, first.month)]
    assert month.month is not None
    if month.year is not None or year is not None:
        return [make(month.year or year, month.month)]
    return [_pick_year([make(today.year + k, month.month) for k in (-1, 0, 1)], where)]


def _nth(day: NthWeekday, year: int, month: int, text: str) -> date:
    try:
        return holidays.nth_weekday(year, month, day.weekday, day.n)
    except ValueError:
        raise Unreadable(
            f"`{text}`: {MONTH_NAMES[month]} {year} has no {_ordinal(day.n)} {WEEKDAY_NAMES[day.weekday]}", rank=2
        ) from None


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}[n]


def _month_edge(day: MonthEdge, year: int | None, where: Situation, text: str) -> date:
    today = where.today
    if day.whole_year:
        target = day.month.year if day.month.year is not None else today.year + (day.month.relative or 0) // 12
        return date(target, 1, 1) if day.edge == 1 else date(target, 12, 31)

    def edge(y: int, m: int) -> date:
        first = date(y, m, 1)
        return first if day.edge == 1 else first + relativedelta(months=1) - timedelta(days=1)

    return _in_month(day.month, year, where, text, edge)[0]


def _holiday(day: Holiday, year: int | None, where: Situation, text: str) -> date:
    title = day.key
    if title.startswith("public:"):
        words = tuple(title.removeprefix("public:").split())
        found = [
            holidays.public_holiday(words, y, where.country)
            for y in ([year] if year is not None else [where.today.year + k for k in (-1, 0, 1)])
        ]
        dates = [d for d in found if d is not None]
        if not dates:
            raise NotThisReading(f"`{text}`: not a holiday known in your country")
        if year is not None:
            return dates[0]
        if len(dates) < 3:
            raise NotThisReading(f"`{text}`: not a yearly holiday")
        return _pick_year(dates, where, mode=day.mode)
    years = [year] if year is not None else [where.today.year + k for k in (-1, 0, 1)]
    if year is not None and day.mode != "bare":
        raise NotThisReading(f"`{text}`: two years")
    found = [holidays.date_of(title, y, where.country) for y in years]
    if any(isinstance(entry, list) for entry in found):
        # Several days by this name: one per country (the user's is not known), or two kept where they are.
        readings: dict[str, list[date]] = {}
        for entry in found:
            for label, on in entry if isinstance(entry, list) else ():
                readings.setdefault(label, []).append(on)
        picked = {label: on[0] if year is not None else _pick_year(on, where, mode=day.mode)
                  for label, on in readings.items()}  # fmt: skip
        shown = "; ".join(f"{label}: {describe_day(on)}" for label, on in picked.items())
        if where.country:
            why = "is kept on two days where you are"
        elif len(picked) == 1:
            why = "is a holiday of one country only, and yours is not known"
        else:
            why = "falls on different days by country"
        raise Unreadable(f"`{text}` {why} ({shown}): write the date",
                         tuple(dict.fromkeys(describe_day(on) for on in picked.values())), rank=3)  # fmt: skip
    if any(entry is None for entry in found):
        raise Unreadable(f"`{text}`: {title} is not kept where you are ({where.country}); write the date", rank=3)
    dates = [entry for entry in found if isinstance(entry, date)]
    if year is not None:
        return dates[0]
    return _pick_year(dates, where, mode=day.mode)


def _check_weekday(check: Weekday, days: list[date], text: str) -> None:
    for day in days:
        if day.weekday() != check.weekday:
            nearest = min(
                (day + timedelta(days=k) for k in range(-3, 4) if (day + timedelta(days=k)).weekday() == check.weekday),
                key=lambda d: abs((d - day).days),
            )
            raise Unreadable(
                f"`{text}`: {describe_day(day, weekday=False)} is a {WEEKDAY_NAMES[day.weekday()]}, not a "
                f"{WEEKDAY_NAMES[check.weekday]}: did you mean {describe_day(day)} or {describe_day(nearest)}?",
                (describe_day(day), describe_day(nearest)),
                rank=3,
            )


# --- which time --------------------------------------------------------------------------------------------


def _clock_choices(spec: Spec, where: Situation, text: str) -> list[tuple[time, int]]:
    """(time, day offset) pairs for the clock and part of day; midnight may be the start of the next day."""
    clock = spec.clock
    part = spec.part
    if spec.same_time:
        if clock is not None:
            raise Unreadable(f"`{text}` gives two times", rank=2)
        current = where.now
        return [(time(current.hour, current.minute, current.second), 0)]
    if part == "some":
        part = None  # "lunchtime at 12:30": the clock says it all
    assert clock is not None
    if clock.special == "noon":
        if part in ("morning", "evening", "night"):
            raise Unreadable(f"`{text}`: noon is not in the {part}", rank=2)
        return [(time(12, 0), 0)]
    if clock.special == "midnight":
        if part == "night" and spec.day == Today(0):
            return [(time(0), 1)]  # tonight at midnight: when today ends
        if part == "night" and spec.day == Today(-1):
            return [(time(0), 1)]  # last night at midnight: when yesterday ended
        return [(time(0), 0), (time(0), 1)]
    # Beside an ISO date, a clock written as one ("10:30") is on the 24-hour clock; "at 3" is still unclear.
    iso = isinstance(spec.day, CalendarDate) and spec.day.iso and ":" in clock.text
    hours = _hours(replace(clock, fixed=True) if iso else clock, part, text)
    # "last night at 1am", "tonight at 2": after midnight, so the next calendar day.
    return [(time(hour, clock.minute, clock.second), 1 if part == "night" and hour < 5 else 0) for hour in hours]


def _hours(clock: Clock, part: str | None, text: str) -> list[int]:
    hour = clock.hour
    if clock.meridiem is not None:
        hour = hour % 12 + (12 if clock.meridiem == "pm" else 0)
        if part is not None and hour not in PART_HOURS[part] and not (part == "night" and hour < 5):
            raise Unreadable(f"`{text}`: {clock.text} is not in the {part}", rank=2)
        return [hour]
    if clock.fixed or hour >= 13 or hour == 0:
        if part is not None and hour not in PART_HOURS[part] and not (part == "night" and hour < 5):
            raise Unreadable(f"`{text}`: {clock.text} is not in the {part}", rank=2)
        return [hour]
    if part is not None:
        for candidate in (hour, hour + 12):
            if candidate in PART_HOURS[part] or (part == "night" and candidate < 5):
                return [candidate]
        raise Unreadable(f"`{text}`: {clock.text} is not in the {part}", rank=2)
    if hour == 12:
        return [12]
    return [hour, hour + 12]


def _with_times(days: list[DayChoice] | None, spec: Spec, where: Situation, text: str) -> list[datetime]:
    if spec.clock is None and not spec.same_time:
        assert days is not None
        if spec.zone is not None:
            raise Unreadable(f"`{text}`: a zone goes with a clock time, e.g. `3pm EST`", rank=2)
        if spec.part is not None and not where.whole_day:
            example = f"{text} 9am" if spec.part == "morning" else f"{text} 7pm"
            raise Unreadable(f"`{text}`: at what time?", (example,), rank=2)
        now_clock = where.now.time().replace(tzinfo=None)
        return [
            _localize(datetime.combine(choice.day, now_clock if choice.keeps_clock else time()), where.zone)
            for choice in days
        ]
    clocks = _clock_choices(spec, where, text)
    moments: list[datetime] = []
    if days is None:
        for clock, extra in clocks:
            moments += _nearest_day(clock, extra, spec, where, text)
        return moments
    for choice in days:
        for clock, extra in clocks:
            wall = datetime.combine(choice.day + timedelta(days=extra), clock)
            moments += _in_zone(wall, spec, where, text)
    return moments


def _nearest_day(clock: time, extra: int, spec: Spec, where: Situation, text: str) -> list[datetime]:
    """A time with no day: today's, or the nearest one on the field's side of now. Only the day it picks
    is checked against DST gaps and zone letters: a problem on a day it would not pick is no problem."""
    today = where.today
    order = {"past": (0, -1), "future": (0, 1)}.get(where.prefer, (0,))
    for offset in order:
        wall = datetime.combine(today + timedelta(days=offset + extra), clock)
        try:
            moments = _in_zone(wall, spec, where, text)
        except Unreadable:
            # Unreadable on this day: it matters only if this is the day the field's side would take.
            if _on_side(wall.replace(tzinfo=where.zone), where):
                raise
            continue
        kept = [moment for moment in moments if _on_side(moment, where)]
        if kept:
            return kept
    return []


def _on_side(moment: datetime, where: Situation) -> bool:
    if where.prefer == "past":
        return moment <= where.now + CLOCK_SKEW
    if where.prefer == "future":
        return moment >= where.now - CLOCK_SKEW
    return True


def _in_zone(wall: datetime, spec: Spec, where: Situation, text: str) -> list[datetime]:
    """A typed wall-clock time in the typed zone (or the user's), checked against DST gaps and repeats."""
    zone: tzinfo = where.zone
    ref = spec.zone
    if ref is not None:
        if ref.offset is not None:
            zone = zones.fixed(ref.offset)
        elif ref.name == "local":
            zone = where.zone
        elif ref.name in zones.ABBREVIATIONS:
            try:
                choices = zones.resolve_abbreviation(ref.name, ref.text, wall, where.zone, where.country)
            except Unreadable as problem:
                # Offered as the whole phrase with the zone replaced, so each can be typed back as it is.
                phrases = tuple(re.sub(re.escape(ref.text), option, text, count=1, flags=re.IGNORECASE)
                                for option in problem.options)  # fmt: skip
                raise Unreadable(problem.message, phrases, rank=problem.rank) from None
            return [wall.replace(tzinfo=tz).astimezone(where.zone) for tz, _ in choices]
        else:
            if where.country == "AU" and ref.text in ("eastern", "eastern time", "central", "central time"):
                # Australia has an eastern and a central clock of its own
                raise Unreadable(f"`{text}`: Australian or North American {ref.text}? Write AEST or ACST, or an "
                                 "offset such as UTC-5", rank=3)  # fmt: skip
            zone = ZoneInfo(ref.name or "UTC")
    if isinstance(zone, ZoneInfo):
        check_wall_clock(wall, zone, text)
    return [wall.replace(tzinfo=zone).astimezone(where.zone)]


def check_wall_clock(wall: datetime, zone: ZoneInfo, text: str) -> None:
    """Refuse a typed wall-clock time the zone's clocks skip, or pass twice (offering both offsets)."""
    early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return
    back = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != wall:
        raise Unreadable(
            f"`{text}`: {clock_of(wall)} does not exist on {describe_day(wall.date())} in {zone.key} "
            "(the clocks skip that hour)",
            rank=3,
        )
    raise Unreadable(
        f"`{text}`: {clock_of(wall)} happens twice on {describe_day(wall.date())} in {zone.key}: "
        f"{early.tzname()} or {late.tzname()}?",
        (f"{wall:%Y-%m-%d %H:%M}{_iso_offset(early)}", f"{wall:%Y-%m-%d %H:%M}{_iso_offset(late)}"),
        rank=3,
    )


def _iso_offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time the user did not type (now's clock on another day): a time the clocks skip moves
    forward past the gap; a repeated one takes its first occurrence."""
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone)


def describe_day(day: date, *, weekday: bool = True) -> str:
    """`Fri Jul 17, 2026`: a day as a person reads it, and as the reader reads it back."""
    text = f"{MONTH_NAMES[day.month][:3]} {day.day}, {day.year}"
    return f"{WEEKDAY_NAMES[day.weekday()][:3]} {text}" if weekday else text


def say_or(items: list[str]) -> str:
    """`A, B or C`."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def clock_of(moment: datetime) -> str:
    """`2:30 AM`, without the platform-dependent `%-I`."""
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
