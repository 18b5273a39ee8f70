"""What a phrase says, before it is placed on the calendar: which day, which clock time, which zone, and
how far from what. The grammar builds a `Spec`; `resolve` turns it into moments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.dates.unreadable import Unreadable

__all__ = ["Unreadable"]

# "pm" is the afternoon and evening ("tomorrow pm"); "some" a time of day said vaguely ("lunchtime", "EOD").
Part = Literal["morning", "afternoon", "evening", "night", "pm", "some"]


@dataclass(frozen=True)
class Clock:
    """A time of day as typed. `meridiem` is "am"/"pm" when typed; `fixed` when it can only be a 24-hour
    time ("15:30", "09:30", "0:45", "15h"); `special` for noon and midnight."""

    hour: int
    minute: int = 0
    second: int = 0
    meridiem: str | None = None
    fixed: bool = False
    special: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Duration:
    """An amount of time: calendar months, wall-clock days, and elapsed seconds, kept apart because each
    adds differently across month ends and DST changes."""

    months: int = 0
    days: int = 0
    seconds: int = 0
    text: str = ""

    def __add__(self, other: Duration) -> Duration:
        return Duration(self.months + other.months, self.days + other.days, self.seconds + other.seconds,
                        f"{self.text} and {other.text}")  # fmt: skip

    @property
    def empty(self) -> bool:
        return not (self.months or self.days or self.seconds)


# --- which day ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Today:
    """today (0), tomorrow (1), yesterday (-1), the day after tomorrow (2)…"""

    offset: int


@dataclass(frozen=True)
class CalendarDate:
    """A date with a month: from words ("Nov 2", "the 2nd of November 2026") or digits ("11/02/2026")."""

    month: int
    day: int
    year: int | None = None
    text: str = ""
    mode: str = "bare"  # "last July 4th", "next March 1st"
    iso: bool = False  # written year first (2026-03-08): a clock beside it is a 24-hour one


@dataclass(frozen=True)
class NumericDate:
    """Digits whose order depends on who typed them: `02/03/2026`, `2/3`, `02.03.2026`."""

    first: str
    second: str
    third: str | None
    separator: str
    text: str = ""


@dataclass(frozen=True)
class MonthRef:
    """A month: named (with or without a year) or relative to this one (-1, 0, +1)."""

    month: int | None = None
    year: int | None = None
    relative: int | None = None


@dataclass(frozen=True)
class DayOfMonth:
    """ "the 5th" (of some month, or of the month it most likely is)."""

    day: int
    month: MonthRef | None = None


@dataclass(frozen=True)
class Weekday:
    """A day of the week, and how it was qualified: bare, this, next, last, coming, past, after-next,
    before-last, week-on (British "Friday week")."""

    weekday: int
    mode: str = "bare"
    text: str = ""


@dataclass(frozen=True)
class NthWeekday:
    """ "the last Friday of October" (n = -1), "the first Monday of next month" (n = 1)."""

    n: int
    weekday: int
    month: MonthRef


@dataclass(frozen=True)
class MonthEdge:
    """The first (`edge` = 1) or last (-1) day of a month, or of a year when `whole_year`."""

    edge: int
    month: MonthRef
    whole_year: bool = False


@dataclass(frozen=True)
class Holiday:
    """A named day (Christmas, Black Friday) and which year's: `mode` is bare, this, next or last."""

    key: str
    mode: str = "bare"
    text: str = ""


DayRef = Today | CalendarDate | NumericDate | DayOfMonth | Weekday | NthWeekday | MonthEdge | Holiday


@dataclass(frozen=True)
class ZoneRef:
    """A zone typed in the phrase: an abbreviation, a name, or an offset in minutes."""

    text: str
    offset: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class Spec:
    """Everything one reading of a phrase says. Built piece by piece; a piece that says something already
    said makes the reading fail (see `merge`)."""

    day: DayRef | None = None
    weekday_check: Weekday | None = None
    also: DayRef | None = None  # the same day said another way ("yesterday, 3/11"): must agree
    clock: Clock | None = None
    part: Part | None = None
    zone: ZoneRef | None = None
    year: int | None = None  # an explicit year qualifier ("Christmas 2025")
    year_relative: int | None = None  # "last year" (-1), "this year" (0), "next year" (1)
    week: int | None = None  # "last week" (-1), "this week" (0), "next week" (1)
    now: bool = False
    same_time: bool = False  # "this time tomorrow"
    shift: Duration | None = None
    shift_sign: int = 0
    anchored: bool = False  # the shift counts from the rest of the phrase ("3 days before Christmas")
    to_weekday: int | None = None  # "the Monday after Thanksgiving": that weekday after (shift_sign) the rest
    pieces: int = 0
    notes: tuple[str, ...] = field(default=())

    def merge(self, piece: dict[str, Any]) -> Spec:
        """This reading with one more piece; raises `Conflict` when the piece says again what is said."""
        changes = dict(piece)
        if "notes" in changes:
            changes["notes"] = (*self.notes, *changes["notes"])
        if "range" in self.notes:
            # "1pm-2pm", "Mon to Fri": the end of a range says again what its start said; the reading
            # is refused as a range anyway, so the second value is only read, not kept.
            changes = {name: value for name, value in changes.items() if not _said(getattr(self, name, None))}
            if self.day is not None:
                changes.pop("day", None)
        elif changes.get("day") is not None and self.day is not None:
            changes.update(_two_days(self, changes["day"]))
        for name, value in changes.items():
            if name in ("day", "notes", "shift_sign", "anchored", "weekday_check", "also"):
                continue
            current = getattr(self, name)
            if _said(current) and _said(value):
                raise Conflict(name)
        return replace(self, **changes, pieces=self.pieces + 1)


def _said(value: Any) -> bool:
    return value is not None and value is not False


class Conflict(Exception):
    """Two pieces of one reading say the same thing (two times, two zones): this reading is not it."""


def _two_days(spec: Spec, second: DayRef) -> dict[str, Any]:
    """Two descriptions of one day: a weekday beside a date is a check on it ("Fri, Jul 17"); a relative day
    beside a date must be that date ("yesterday 3/11"). Any other pair is two days."""
    first = spec.day
    assert first is not None
    for one, other in ((first, second), (second, first)):
        if isinstance(one, Weekday) and one.mode == "bare" and not isinstance(other, Weekday):
            if spec.weekday_check is not None:
                raise Conflict("day")
            return {"day": other, "weekday_check": one}
    relative = (Today, Weekday, Holiday)
    absolute = (CalendarDate, NumericDate, DayOfMonth)
    for one, other in ((first, second), (second, first)):
        if isinstance(one, relative) and isinstance(other, absolute):
            if spec.also is not None:
                raise Conflict("day")
            return {"day": other, "also": one}
    raise Conflict("day")
