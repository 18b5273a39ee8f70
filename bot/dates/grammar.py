"""Tokens → every complete reading of a phrase, as `Spec`s.

The phrase is read as a sequence of pieces (a day, a clock time, a part of the day, a zone, a shift such as
"3 days before", a year or week qualifier) joined by filler words ("at", "on", ","). Every way of cutting
the tokens into pieces is tried; a reading counts only when it uses every token. So a word, number or
sign the grammar does not know can never be skipped: the phrase is refused, naming it. When several
readings remain, `resolve` places each on the calendar and refuses if they disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from fractions import Fraction
from functools import cache
from typing import Any

from bot.dates import holidays, zones
from bot.dates.spec import (
    CalendarDate,
    Clock,
    Conflict,
    DayOfMonth,
    Duration,
    Holiday,
    MonthEdge,
    MonthRef,
    NthWeekday,
    NumericDate,
    Spec,
    Today,
    Weekday,
    ZoneRef,
)
from bot.dates.tokens import Token
from bot.dates.words import (
    APPROXIMATE,
    FILLERS,
    MERIDIEMS,
    MONTHS,
    NOW_WORDS,
    NUMBERS,
    ORDINALS,
    PARTS,
    PLURAL_WEEKDAYS,
    RANGE_WORDS,
    SHORT_WEEKDAYS,
    TENS,
    UNITS,
    VAGUE,
    VAGUE_TIMES,
    WEEKDAYS,
)

Piece = tuple[dict[str, Any], int]

MAX_READINGS = 64
MAX_STEPS = 4000

_RELATIVE_DAYS = {
    "today": 0,
    "tomorrow": 1,
    "tomorow": 1,
    "tommorow": 1,
    "tommorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "tmw": 1,
    "tomo": 1,
    "yesterday": -1,
    "yday": -1,
    "yest": -1,
    "overmorrow": 2,
}
_ORDINAL_N = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1, "final": -1}
_WEEK_WORDS = {"this": 0, "next": 1, "last": -1, "coming": 1, "previous": -1, "past": -1, "following": 1}
_DAY_UNITS = {"day": 1, "week": 7, "fortnight": 14}
_TIME_UNITS = {"second": 1, "minute": 60, "hour": 3600}
_MONTH_UNITS = {"month": 1, "year": 12}


class Grammar:
    """All complete readings of one token list."""

    def __init__(self, tokens: list[Token], *, twenty_four: bool = False) -> None:
        # Text translated from another language: its clock times are 24-hour ones ("15h", "9 Uhr").
        self.twenty_four = twenty_four
        self.tokens = tokens
        self.n = len(tokens)
        self.words = [token.text if token.kind == "word" else None for token in tokens]
        self.readings: list[Spec] = []
        self.furthest = 0
        self.steps = 0
        self.conflicts: list[str] = []

    # --- the walk ----------------------------------------------------------------------------------------

    def read(self) -> list[Spec]:
        self._walk(0, Spec(), after_at=False)
        return self.readings

    def _walk(self, i: int, spec: Spec, *, after_at: bool) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS or len(self.readings) >= MAX_READINGS:
            return
        self.furthest = max(self.furthest, i)
        if i == self.n:
            # One reading reached two ways (a matcher skips "the" that the walk also skips) is one reading.
            if spec.pieces and spec not in self.readings:
                self.readings.append(spec)
            return
        word = self.words[i]
        token = self.tokens[i]
        # "3pm at": a connector with nothing after it joins nothing ("3pm sharp", "noon-ish" are fine)
        trailing = i == self.n - 1 and token.kind == "word" and word not in APPROXIMATE | {"sharp", "exactly"}
        if (word in FILLERS and not trailing) or (token.kind == "sign" and token.text in ",.@~()!?;:"):
            approximate = word in APPROXIMATE or token.text == "~"
            marked = replace(spec, notes=(*spec.notes, "approximate")) if approximate else spec
            self._walk(i + 1, marked, after_at=word == "at" or token.text == "@" or approximate)
        if word in RANGE_WORDS or (token.kind == "sign" and token.text in "-&/+"):
            marked = spec if "range" in spec.notes else replace(spec, notes=(*spec.notes, "range"))
            self._walk(i + 1, marked, after_at=True)
        for matcher in self._matchers():
            for piece, j in matcher(i, after_at):
                try:
                    merged = spec.merge(piece)
                except Conflict as conflict:
                    self.conflicts.append(str(conflict))
                    continue
                self._walk(j, merged, after_at=False)

    def _matchers(self) -> tuple[Callable[[int, bool], Iterator[Piece]], ...]:
        return (
            self._now,
            self._relative_day,
            self._part,
            self._weekday,
            self._week,
            self._calendar_date,
            self._day_of_month,
            self._nth_weekday,
            self._month_edge,
            self._holiday,
            self._year,
            self._period,
            self._time,
            self._zone,
            self._shift,
        )

    # --- small readers -----------------------------------------------------------------------------------

    def w(self, i: int) -> str | None:
        return self.words[i] if i < self.n else None

    def tok(self, i: int) -> Token | None:
        return self.tokens[i] if i < self.n else None

    def skip(self, i: int, *words: str) -> int:
        """Past any of `words` at i (optional words such as "the")."""
        while i < self.n and self.tokens[i].text in words:
            i += 1
        return i

    def number(self, i: int) -> Iterator[tuple[int, int, str]]:
        """(value, next, text): digits, or number words up to 59 ("twenty one", "forty-five")."""
        token = self.tok(i)
        if token is None:
            return
        if token.kind == "number":
            yield token.value, i + 1, token.text
            return
        word = self.words[i]
        if word in NUMBERS:
            value = NUMBERS[word]
            yield value, i + 1, word
            unit = self.w(i + 1)
            if word in TENS and unit in NUMBERS and 1 <= NUMBERS[unit] <= 9 and unit != "oh":
                yield value + NUMBERS[unit], i + 2, f"{word} {unit}"

    def ordinal(self, i: int) -> Iterator[tuple[int, int]]:
        """(value, next): "3rd", "third", "twenty first", "thirty-first"."""
        token = self.tok(i)
        if token is None:
            return
        if token.kind == "ordinal":
            yield token.value, i + 1
            return
        word = self.words[i]
        if word in ORDINALS:
            yield ORDINALS[word], i + 1
        if word in ("twenty", "thirty") and self.w(i + 1) in ORDINALS and ORDINALS[self.w(i + 1) or ""] <= 9:
            yield NUMBERS[word] + ORDINALS[self.w(i + 1) or ""], i + 2

    def day_number(self, i: int, *, plain: bool = True) -> Iterator[tuple[int, int]]:
        """A day of the month: an ordinal, or (when `plain`) a number 1–31."""
        yield from self.ordinal(i)
        token = self.tok(i)
        if plain and token is not None and token.kind == "number" and len(token.text) <= 2:
            yield token.value, i + 1

    def year_at(self, i: int) -> Iterator[tuple[int, int]]:
        token = self.tok(i)
        if token is None:
            return
        if token.kind == "number" and len(token.text) == 4 and 1000 <= token.value <= 2999:
            yield token.value, i + 1
        elif token.kind == "year":
            yield 2000 + int(token.value), i + 1

    def month_ref(self, i: int) -> Iterator[tuple[MonthRef, int]]:
        """ "October", "October 2026", "next month", "this month", "the month"."""
        i = self.skip(i, "the")
        word = self.w(i)
        if word in MONTHS:
            yield MonthRef(month=MONTHS[word]), i + 1
            for year, j in self.year_at(self.skip(i + 1, ",")):
                yield MonthRef(month=MONTHS[word], year=year), j
        elif word in _WEEK_WORDS and self.w(i + 1) == "month" and word not in ("past", "following"):
            yield MonthRef(relative=_WEEK_WORDS[word]), i + 2
        elif word == "month":
            yield MonthRef(relative=0), i + 1

    # --- pieces ------------------------------------------------------------------------------------------

    def _now(self, i: int, after_at: bool) -> Iterator[Piece]:
        word = self.w(i)
        if word in NOW_WORDS:
            yield {"now": True}, i + 1
        elif word in ("right", "just") and self.w(i + 1) == "now":
            yield {"now": True}, i + 2
        elif word in ("this", "same") and self.w(i + 1) == "time":
            yield {"same_time": True}, i + 2

    def _relative_day(self, i: int, after_at: bool) -> Iterator[Piece]:
        i = self.skip(i, "early", "late")
        word = self.w(i)
        j = self.skip(i, "the")
        if word in _RELATIVE_DAYS:
            yield {"day": Today(_RELATIVE_DAYS[word])}, i + 1
        elif word in ("tonight", "tonite"):
            yield {"day": Today(0), "part": "night"}, i + 1
        elif word == "last" and self.w(i + 1) == "night":
            yield {"day": Today(-1), "part": "night"}, i + 2
        elif word == "this" and self.w(i + 1) in PARTS:
            yield {"day": Today(0), "part": PARTS[self.w(i + 1) or ""]}, i + 2
        if self.w(j) == "night" and self.w(j + 1) == "before" and self.w(j + 2) == "last":
            yield {"day": Today(-2), "part": "night"}, j + 3
        if self.w(j) == "day" and self.w(j + 1) in ("after", "before"):
            k = j + 2
            target = self.w(k)
            if self.w(k) in ("tomorrow", "tmrw", "tomorow") and self.w(j + 1) == "after":
                yield {"day": Today(2)}, k + 1
            elif target in ("yesterday", "yday") and self.w(j + 1) == "before":
                yield {"day": Today(-2)}, k + 1

    def _part(self, i: int, after_at: bool) -> Iterator[Piece]:
        start = i
        i = self.skip(i, "early", "late")
        word = self.w(i)
        if i == start and word in VAGUE_TIMES:
            yield {"part": "some"}, i + 1
        elif i == start and (word, self.w(i + 1)) in (("first", "thing"), ("end", "of"), ("close", "of")):
            k = self.skip(i + 2, "the")
            if word == "first" or self.w(k) in ("day", "business"):
                yield {"part": "some"}, (i + 2 if word == "first" else k + 1)
        elif word in PARTS:
            yield {"part": PARTS[word]}, i + 1
        elif i == start and word in ("am", "pm") and i > 0 and self.words[i - 1] is not None:
            # "tomorrow am", "Friday pm": a half of the day
            yield {"part": "morning" if word == "am" else "pm"}, i + 1
        elif word == "in" and self.w(i + 1) == "the" and self.w(i + 2) in PARTS:
            yield {"part": PARTS[self.w(i + 2) or ""]}, i + 3
        elif word == "at" and self.w(i + 1) == "night":
            yield {"part": "night"}, i + 2
        elif word in ("mornings", "evenings", "nights", "afternoons", "weekdays", "weekends", "daily", "weekly"):
            yield {"notes": ("recurring",)}, i + 1

    def _weekday(self, i: int, after_at: bool) -> Iterator[Piece]:
        word = self.w(i)
        mode = "bare"
        j = i
        if word in ("this", "next", "last", "coming", "past", "previous") or (word == "the" and self.w(i + 1) in (
                "next", "last", "coming", "past", "previous", "following")):  # fmt: skip
            j = self.skip(i, "the")
            qualifier = self.w(j)
            j += 1
            if qualifier in ("this", "the") and self.w(j) in ("coming", "past"):
                qualifier = self.w(j)
                j += 1
            mode = {"this": "this", "next": "next", "last": "last", "coming": "coming", "following": "coming",
                    "past": "past", "previous": "past"}.get(qualifier or "", "bare")  # fmt: skip
        day = self.w(j)
        if day in PLURAL_WEEKDAYS:
            yield {"notes": ("recurring",)}, j + 1
            return
        if day not in WEEKDAYS:
            return
        if day in SHORT_WEEKDAYS and mode == "bare" and not self._next_is_date(j + 1):
            return
        weekday = WEEKDAYS[day]
        end = j + 1
        yield {"day": Weekday(weekday, mode, self._text(i, end))}, end
        if mode == "bare":
            if self.w(end) == "after" and self.w(end + 1) == "next":
                yield {"day": Weekday(weekday, "after-next", self._text(i, end + 2))}, end + 2
            elif self.w(end) == "before" and self.w(end + 1) == "last":
                yield {"day": Weekday(weekday, "before-last", self._text(i, end + 2))}, end + 2
            elif self.w(end) in ("week", "fortnight"):
                mode = "week-on" if self.w(end) == "week" else "fortnight-on"
                yield {"day": Weekday(weekday, mode, self._text(i, end + 1))}, end + 1
            elif self.w(end) in ("gone", "last") or (self.w(end) == "just" and self.w(end + 1) == "gone"):
                # "Friday just gone", "Friday gone", British "Friday last": the latest one before today
                length = 2 if self.w(end) == "just" else 1
                yield {"day": Weekday(weekday, "past", self._text(i, end + length))}, end + length
        if mode == "bare" and self.w(end) in ("after", "before") and self.w(end + 1) not in ("next", "last"):
            sign = 1 if self.w(end) == "after" else -1
            yield {"to_weekday": weekday, "shift_sign": sign, "anchored": True}, end + 1

    def _next_is_date(self, i: int) -> bool:
        token = self.tok(self.skip(i, ",", "the"))
        return token is not None and (token.kind in ("number", "ordinal", "date3", "pair", "date3m")
                                      or (token.kind == "word" and token.text in MONTHS))  # fmt: skip

    def _week(self, i: int, after_at: bool) -> Iterator[Piece]:
        """ "next week", "this week", "of last week", "the following week"."""
        j = self.skip(i, "of", "the")
        word = self.w(j)
        if word in _WEEK_WORDS and self.w(j + 1) == "week":
            yield {"week": _WEEK_WORDS[word]}, j + 2
        elif word == "week" and self.w(j + 1) == "after" and self.w(j + 2) == "next":
            yield {"notes": ("period",)}, j + 3

    def _calendar_date(self, i: int, after_at: bool) -> Iterator[Piece]:
        token = self.tok(i)
        if token is None:
            return
        word = self.words[i]
        if word in ("last", "next", "this") and self.w(i + 1) in MONTHS:
            for piece, j in self._calendar_date(i + 1, after_at):
                day = piece.get("day")
                if isinstance(day, CalendarDate) and day.year is None:
                    yield {"day": replace(day, mode=word)}, j
            return
        if token.kind == "date3":
            parts, separator = token.value
            if len(parts[0]) == 4:
                yield {"day": CalendarDate(int(parts[1]), int(parts[2]), int(parts[0]), token.text, iso=True)}, i + 1
            elif len(parts[2]) in (2, 4):
                yield {"day": NumericDate(parts[0], parts[1], parts[2], separator, token.text)}, i + 1
            return
        if token.kind == "date3m":
            day, month, year = token.value
            if month in MONTHS:
                full = int(year) if len(year) == 4 else 2000 + int(year)
                yield {"day": CalendarDate(MONTHS[month], int(day), full, token.text)}, i + 1
            return
        if token.kind == "pair":
            first, second, separator = token.value
            if separator == "-" and len(first) <= 2 and len(second) <= 2:
                yield {"notes": ("range",)}, i + (2 if self.w(i + 1) in MERIDIEMS else 1)
            if separator in "/." and len(first) <= 2:
                yield {"day": NumericDate(first, second, None, separator, token.text)}, i + 1
            if len(first) == 4:
                yield {"notes": ("period",)}, i + 1  # 2026-11, 2026/11: a month
            return
        if token.kind == "number" and len(token.text) == 8 and token.text[:2] in ("19", "20"):
            text = token.text
            yield {"day": CalendarDate(int(text[4:6]), int(text[6:]), int(text[:4]), text)}, i + 1
            return
        # Month first: "Nov 2", "November the 2nd, 2026", "nov 2 '26"
        if word in MONTHS:
            month = MONTHS[word]
            j = self.skip(i + 1, "the", "-", ".")
            for day, k in self.day_number(j):
                yield from self._with_year(month, day, k, i)
                after = self.tok(k)
                if after is not None and after.kind == "sign" and after.text == "-" and self.tok(k + 1) is not None:
                    yield {"notes": ("range",)}, k
            pair = self.tok(j)
            if pair is not None and pair.kind == "pair" and pair.value[2] == "-" and len(pair.value[0]) <= 2:
                yield {"notes": ("range",)}, j + 1
            return
        # Day first: "2 Nov", "the 2nd of November", "2nd Nov 2026", "second of March"
        start = self.skip(i, "the")
        for day, j in self.day_number(start):
            k = self.skip(j, "of", "-", ".")
            if self.w(k) in MONTHS:
                yield from self._with_year(MONTHS[self.w(k) or ""], day, k + 1, i)
        # Year first: "2026 Nov 2"
        for year, j in self.year_at(i):
            j = self.skip(j, ",", "-")
            if self.w(j) in MONTHS:
                for day, k in self.day_number(self.skip(j + 1, "-")):
                    yield {"day": CalendarDate(MONTHS[self.w(j) or ""], day, year, self._text(i, k))}, k

    def _with_year(self, month: int, day: int, j: int, start: int) -> Iterator[Piece]:
        yield {"day": CalendarDate(month, day, None, self._text(start, j))}, j
        for year, k in self.year_at(self.skip(j, ",", "-")):
            yield {"day": CalendarDate(month, day, year, self._text(start, k))}, k

    def _day_of_month(self, i: int, after_at: bool) -> Iterator[Piece]:
        """ "the 5th", "on the 23rd", "the 15th of next month"."""
        j = self.skip(i, "the")
        for day, k in self.day_number(j, plain=False):
            if not 1 <= day <= 31:
                continue
            yield {"day": DayOfMonth(day)}, k
            if self.w(k) in ("of", "this", "next", "last"):
                for month, m in self.month_ref(self.skip(k, "of")):
                    if month.relative is not None:
                        yield {"day": DayOfMonth(day, month)}, m

    def _nth_weekday(self, i: int, after_at: bool) -> Iterator[Piece]:
        """ "the last Friday of October", "first Monday of next month", "2nd Tuesday in March 2027"."""
        j = self.skip(i, "the")
        candidates = list(self.ordinal(j))
        if self.w(j) in ("last", "final"):
            candidates.append((-1, j + 1))
        for n, k in candidates:
            if not (n == -1 or 1 <= n <= 5) or self.w(k) not in WEEKDAYS:
                continue
            weekday = WEEKDAYS[self.w(k) or ""]
            if self.w(k + 1) not in ("of", "in"):
                continue
            for month, m in self.month_ref(k + 2):
                yield {"day": NthWeekday(n, weekday, month)}, m
            m = self.skip(k + 2, "the")
            relative = (
                0 if self.w(m) == "year" else _WEEK_WORDS.get(self.w(m) or "") if self.w(m + 1) == "year" else None
            )
            if relative is not None and self.w(m) in ("year", "this", "next", "last"):
                end = m + 1 if self.w(m) == "year" else m + 2
                yield (
                    {"day": NthWeekday(n, weekday, MonthRef(month=1 if n > 0 else 12)), "year_relative": relative},
                    end,
                )

    def _month_edge(self, i: int, after_at: bool) -> Iterator[Piece]:
        """ "end of the month", "first day of next month", "the last day of February", "end of year"."""
        j = self.skip(i, "the")
        word = self.w(j)
        edge = None
        k = j
        if word == "first" or (self.tok(j) is not None and self.tok(j).text == "1st"):  # type: ignore[union-attr]
            if self.w(j + 1) == "day" and self.w(j + 2) in ("of", "in"):
                edge, k = 1, j + 3
        elif word in ("last", "final") and self.w(j + 1) == "day" and self.w(j + 2) in ("of", "in"):
            edge, k = -1, j + 3
        elif word in ("end", "beginning", "start") and self.w(j + 1) == "of":
            edge, k = (-1 if word == "end" else 1), j + 2
        elif word in ("eom", "eoy", "eow") or (word in ("month", "year", "week") and self.w(j + 1) == "end"):
            yield {"notes": ("vague-edge",)}, j + (1 if word in ("eom", "eoy", "eow") else 2)
            return
        if edge is None:
            return
        if word in ("end", "beginning", "start"):
            # "end of the month" is a day to some and a deadline (its last minute) to others: refused.
            for _, m in self.month_ref(k):
                yield {"notes": ("vague-edge",)}, m
            m = self.skip(k, "the", "this", "next", "last")
            if self.w(m) in ("week", "year", "quarter", "weekend"):
                yield {"notes": ("vague-edge",)}, m + 1
            return
        for month, m in self.month_ref(k):
            yield {"day": MonthEdge(edge, month)}, m
        m = self.skip(k, "the")
        if self.w(m) == "year":
            yield {"day": MonthEdge(edge, MonthRef(relative=0), whole_year=True)}, m + 1
        elif self.w(m) in _WEEK_WORDS and self.w(m + 1) == "year":
            yield {"day": MonthEdge(edge, MonthRef(relative=_WEEK_WORDS[self.w(m) or ""] * 12), whole_year=True)}, m + 2
        for year, n in self.year_at(m):
            yield {"day": MonthEdge(edge, MonthRef(month=1, year=year), whole_year=True)}, n

    def _holiday(self, i: int, after_at: bool) -> Iterator[Piece]:
        mode = "bare"
        j = i
        if self.w(i) in ("this", "next", "last", "coming", "past"):
            mode = {"coming": "next", "past": "last"}.get(self.w(i) or "", self.w(i) or "")
            j = i + 1
        j = self.skip(j, "the") if mode == "bare" else j
        texts = [token.text for token in self.tokens[j : j + holidays.LONGEST_NAME]]
        for length in range(len(texts), 0, -1):
            title = holidays.NAMES.get(holidays.fold_words(texts[:length]))
            if title is not None:
                yield {"day": Holiday(title, mode, self._text(i, j + length))}, j + length
                return
        words = holidays.fold_words(texts)
        for length in range(len(words), 0, -1):
            if (
                holidays.could_be_public(words[:length])
                and all(self.words[j + k] for k in range(length))
                and not any(word in _grammar_only() for word in words[:length])
            ):
                yield (
                    {"day": Holiday("public:" + " ".join(words[:length]), mode, self._text(i, j + length))},
                    (j + length),
                )

    def _year(self, i: int, after_at: bool) -> Iterator[Piece]:
        for year, j in self.year_at(i):
            yield {"year": year}, j
        word = self.w(i)
        if word in ("this", "next", "last") and self.w(i + 1) == "year":
            yield {"year_relative": _WEEK_WORDS[word]}, i + 2
        elif word == "last" and self.w(i + 1) == "years":
            yield {"year_relative": -1}, i + 2

    def _period(self, i: int, after_at: bool) -> Iterator[Piece]:
        """Whole months, weeks and weekends: read so the refusal can name them."""
        word = self.w(i)
        j = self.skip(i, "the")
        if self.w(j) in ("weekend", "wknd"):
            yield {"notes": ("period",)}, j + 1
        if word in ("this", "next", "last", "coming", "past") and self.w(i + 1) in ("month", "weekend", "quarter"):
            yield {"notes": ("period",)}, i + 2
        if word in MONTHS and word != "may":
            yield {"notes": ("period",)}, i + 1
        if word in ("mid", "middle", "early", "late"):
            k = self.skip(i + 1, "of", "the", "this", "next", "last")
            if self.w(k) in MONTHS or self.w(k) in ("month", "year", "week") or any(True for _ in self.year_at(k)):
                yield {"notes": ("vague",)}, k + 1
        if word in ("business", "working", "work") and self.w(i + 1) in ("day", "days"):
            yield {"notes": ("business",)}, i + 2

    # --- clock times -------------------------------------------------------------------------------------

    def _time(self, i: int, after_at: bool) -> Iterator[Piece]:
        for clock, j in self._clock(i, after_at):
            yield {"clock": clock}, j

    def _clock(self, i: int, after_at: bool) -> Iterator[tuple[Clock, int]]:
        token = self.tok(i)
        if token is None:
            return
        word = self.words[i]
        if word in ("noon", "midday", "noontime"):
            yield Clock(12, special="noon", text=word), i + 1
        elif word == "midnight":
            yield Clock(0, special="midnight", text=word), i + 1
        elif (word == "twelve" or (token.kind == "number" and token.value == 12)) and self.w(i + 1) in (
                "noon", "midday", "midnight"):  # fmt: skip
            special = "midnight" if self.w(i + 1) == "midnight" else "noon"
            yield Clock(12 if special == "noon" else 0, special=special, text=self._text(i, i + 2)), i + 2
        if token.kind == "clock":
            hour, minute, second = token.value
            if len(minute) == 2:
                yield from self._finish(int(hour), int(minute), int(float(second or 0)), i, i + 1,
                                        fixed=(len(hour) == 2 and hour.startswith("0")) or int(hour) >= 13
                                        or int(hour) == 0)  # fmt: skip
            return
        if token.kind == "pair" and token.value[2] == "." and len(token.value[1]) == 2 and len(token.value[0]) <= 2:
            hour, minute = int(token.value[0]), int(token.value[1])
            fixed = hour >= 13 or token.value[0].startswith("0")
            yield from self._finish(hour, minute, 0, i, i + 1, fixed=fixed)
            return
        if token.kind == "number":
            yield from self._digits_time(token, i, after_at)
        if word in NUMBERS or word in ("half", "quarter", "a") or token.kind == "number":
            yield from self._spoken_time(i, after_at)

    def _digits_time(self, token: Token, i: int, after_at: bool) -> Iterator[tuple[Clock, int]]:
        text = token.text
        following = self.w(i + 1)
        if len(text) <= 2:
            hour = token.value
            if following == "h" and self.tok(i + 2) is not None and self.tok(i + 2).kind == "number":  # type: ignore[union-attr]
                minute = self.tok(i + 2)
                if len(minute.text) == 2:  # type: ignore[union-attr]
                    yield from self._finish(hour, minute.value, 0, i, i + 3, fixed=True)  # type: ignore[union-attr]
            elif following == "h" and hour <= 23:
                yield from self._finish(hour, 0, 0, i, i + 2, fixed=True)
            bare_ok = (after_at or self._part_follows(i + 1) or following in MERIDIEMS or following == "oclock"
                       or following in ("to", "till", "until", "-")
                       or (self.twenty_four and i + 1 == self.n))  # "gestern um 15 Uhr" → "1 day ago 15"  # fmt: skip
            if bare_ok:
                yield from self._finish(hour, 0, 0, i, i + 1, fixed=hour >= 13 or text.startswith("0"))
            minute_token = self.tok(i + 1)
            if (after_at or self._meridiem_at(i + 2)) and minute_token is not None and (
                    minute_token.kind == "number" and len(minute_token.text) == 2):  # fmt: skip
                yield from self._finish(hour, minute_token.value, 0, i, i + 2, fixed=hour >= 13 or text.startswith("0"))
        elif len(text) in (3, 4):
            hour, minute = divmod(token.value, 100)
            hours_word = following in ("h", "hrs", "hours", "hr")
            if self._meridiem_at(i + 1) or after_at or hours_word or (len(text) == 4 and text.startswith("0")):
                # "1530", "0930" can only be the 24-hour clock; "1030" is 10:30 a.m. or p.m. like "10:30"
                fixed = len(text) == 4 and not self._meridiem_at(i + 1) and (text.startswith("0") or hour >= 13)
                yield from self._finish(hour, minute, 0, i, i + 2 if hours_word else i + 1, fixed=fixed)

    def _spoken_time(self, i: int, after_at: bool) -> Iterator[tuple[Clock, int]]:
        """ "three pm", "ten thirty", "half past 3", "quarter to five", "20 past 4", "half three"."""
        word = self.words[i]
        # minutes past / to an hour
        minutes: list[tuple[int, int]] = []
        if word == "half":
            minutes.append((30, i + 1))
        elif word == "quarter":
            minutes.append((15, i + 1))
        elif word == "a" and self.w(i + 1) == "quarter":
            minutes.append((15, i + 2))
        else:
            for value, j, _ in self.number(i):
                if 1 <= value <= 59:
                    j2 = j + 1 if self.w(j) in ("minutes", "minute", "mins", "min") else j
                    minutes.append((value, j2))
        for amount, j in minutes:
            relation = self.w(j)
            if relation in ("past", "after", "to", "of", "till", "til", "before"):
                if self.w(j + 1) in ("noon", "midday", "midnight"):
                    noon = self.w(j + 1) != "midnight"
                    if relation in ("past", "after"):
                        yield Clock(12 if noon else 0, amount, fixed=True, text=self._text(i, j + 2)), j + 2
                    elif noon:
                        yield Clock(11, 60 - amount, fixed=True, text=self._text(i, j + 2)), j + 2
                    continue
                for hour, k in self._hour_word(j + 1):
                    if relation in ("past", "after"):
                        yield from self._finish(hour, amount, 0, i, k, spoken=True)
                    elif amount in (5, 10, 15, 20, 25) or (
                        amount < 60 and self.tokens[i].kind == "word" and word != "a"
                    ):
                        for target, end in self._finish(hour, 0, 0, i, k, spoken=True):
                            yield from _minutes_before(target, amount, end)
            elif word == "half" and amount == 30:
                # British "half three" = 3:30
                for hour, k in self._hour_word(j):
                    yield from self._finish(hour, 30, 0, i, k, spoken=True)
        if word in NUMBERS and 1 <= NUMBERS[word] <= 12:
            hour = NUMBERS[word]
            j = i + 1
            after = self.w(j)
            # "ten thirty", "seven fifteen", "ten oh five", "eleven forty five"
            if after == "oh" and self.w(j + 1) in NUMBERS and 1 <= NUMBERS[self.w(j + 1) or ""] <= 9:
                yield from self._finish(hour, NUMBERS[self.w(j + 1) or ""], 0, i, j + 2, spoken=True)
            elif after in NUMBERS and after not in ("oh", "one", "two", "three", "four", "five", "six", "seven",
                                                     "eight", "nine", "zero"):  # fmt: skip
                for minute, k, _ in self.number(j):
                    if 10 <= minute <= 59:
                        yield from self._finish(hour, minute, 0, i, k, spoken=True)
            if after_at or after in MERIDIEMS or after == "oclock" or self._part_follows(j):
                yield from self._finish(hour, 0, 0, i, j, spoken=True)

    def _hour_word(self, i: int) -> Iterator[tuple[int, int]]:
        for value, j, _ in self.number(i):
            if 1 <= value <= 12:
                yield value, j

    def _meridiem_at(self, i: int) -> bool:
        return self.w(i) in MERIDIEMS or (self.w(i) == "oclock" and self.w(i + 1) in MERIDIEMS)

    def _part_follows(self, i: int) -> bool:
        word = self.w(i)
        return (
            word in ("tonight", "tonite")
            or (word == "in" and self.w(i + 1) == "the" and self.w(i + 2) in PARTS)
            or (word == "at" and self.w(i + 1) == "night")
            or (word == "this" and self.w(i + 1) in PARTS)
            or (word in ("last", "tomorrow", "yesterday") and self.w(i + 1) in ("night", *PARTS))
            or word in PARTS
        )

    def _finish(self, hour: int, minute: int, second: int, start: int, j: int, *, fixed: bool = False,
                spoken: bool = False) -> Iterator[tuple[Clock, int]]:  # fmt: skip
        """A time with what follows it: "oclock", am/pm, "sharp"."""
        if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
            return
        if self.w(j) == "oclock":
            j += 1
        meridiem = MERIDIEMS.get(self.w(j) or "")
        if meridiem is not None and not (self.w(j) in ("a",) and self.w(j + 1) is not None and self.w(j + 1) != "m"):
            if 1 <= hour <= 12:
                yield Clock(hour, minute, second, meridiem, text=self._text(start, j + 1)), j + 1
            return
        yield Clock(hour, minute, second, None, fixed=fixed or self.twenty_four, text=self._text(start, j)), j

    # --- zones -------------------------------------------------------------------------------------------

    def _zone(self, i: int, after_at: bool) -> Iterator[Piece]:
        token = self.tok(i)
        if token is None:
            return
        if token.kind == "offset" and token.value is not None:
            yield {"zone": ZoneRef(token.text, offset=token.value)}, i + 1
            return
        word = self.words[i]
        if word is None:
            return
        if (word in zones.ABBREVIATIONS and word not in ("z",)) or (word == "z" and i > 0):
            j = i + 1
            yield {"zone": ZoneRef(word, name=word)}, (j + 1 if self.w(j) == "time" else j)
        if word == "local" or (word == "my" and self.w(i + 1) == "time"):
            # "local", "local time", "my time": the user's own zone
            j = i + 1 if word == "local" else i + 2
            if word == "local" and self.w(j) == "time":
                j += 1
            yield {"zone": ZoneRef(word, name="local")}, j
        iana = zones.iana_zone(word)
        if iana is not None:
            yield {"zone": ZoneRef(word, name=iana)}, i + 1
        yield from self._place_zone(i, i)
        if word == "in":  # "3pm in London"
            yield from self._place_zone(i + 1, i, bare=True)

    def _place_zone(self, i: int, start: int, *, bare: bool = False) -> Iterator[Piece]:
        """A place or region: "Pacific Standard Time", "Pacific time", "ET", "London time", "India time";
        after "in", a city or country alone ("in London")."""
        for length in (3, 2, 1):
            words = tuple(self.words[i : i + length])
            if len(words) < length or None in words:
                continue
            end = i + length
            text = " ".join(words)  # type: ignore[arg-type]
            full = zones.FULL_NAMES.get(words)  # type: ignore[arg-type]
            if full is not None:
                yield {"zone": ZoneRef(text, name=full)}, end
                continue
            region = zones.REGIONS.get(words)  # type: ignore[arg-type]
            if region is not None:
                if self.w(end) in ("standard", "daylight"):
                    continue
                said = self.w(end) == "time"
                alone = words in (("et",), ("ct",), ("mt",), ("pt",), ("uk",)) or words[0] in (
                    "eastern", "central", "mountain", "pacific", "hawaii", "alaska", "atlantic")  # fmt: skip
                if said or alone or bare:
                    yield {"zone": ZoneRef(text, name=region)}, end + said
                continue
            place = zones.city_zone(words) or zones.country_zone(words)  # type: ignore[arg-type]
            if place is not None and (self.w(end) == "time" or bare):
                yield {"zone": ZoneRef(text, name=place)}, end + (self.w(end) == "time")

    # --- shifts ------------------------------------------------------------------------------------------

    def _shift(self, i: int, after_at: bool) -> Iterator[Piece]:
        word = self.w(i)
        if word == "within":
            for _, j in self.duration(i + 1):
                yield {"notes": ("range",)}, j
        if word == "in" and not (self.w(i + 1) == "the" and self.w(i + 2) in PARTS):
            for duration, j in self.duration(i + 1):
                j = self._skip_time_word(j)
                yield {"shift": duration, "shift_sign": 1}, j
        for duration, j in self.duration(i):
            after = self.w(j)
            if after == "ago" or (after == "back" and self.w(j + 1) != "from"):
                yield {"shift": duration, "shift_sign": -1}, j + 1
            elif after in ("later", "hence") or (after == "from" and self.w(j + 1) == "now"):
                yield {"shift": duration, "shift_sign": 1}, j + (2 if after == "from" else 1)
            elif after in ("before", "after", "from", "prior", "until", "past") and not (
                    after == "past" and duration.seconds):  # fmt: skip
                k = j + 2 if after == "prior" and self.w(j + 1) == "to" else j + 1
                sign = -1 if after in ("before", "prior") else 1
                if after in ("from", "after", "before", "prior", "past"):
                    yield {"shift": duration, "shift_sign": sign, "anchored": True}, k
            elif after in ("today", "tomorrow", "tmrw") and duration.days and not duration.seconds and (
                    (j > i and self.words[i] in ("a", "an", "one", "two", "three")) or self.tok(i).kind == "number"):  # type: ignore[union-attr]  # fmt: skip
                # British "a week today", "two weeks tomorrow"
                yield {"shift": duration, "shift_sign": 1, "anchored": True}, j
            elif after == "on" and duration.days == 7 and self.w(j + 1) in WEEKDAYS:
                # "a week on Friday"
                yield {"shift": duration, "shift_sign": 1, "anchored": True}, j + 1
        # "the day after", "the day before"
        j = self.skip(i, "the")
        if self.w(j) == "day" and self.w(j + 1) in ("after", "before"):
            yield {"shift": Duration(days=1, text="a day"), "shift_sign": 1 if self.w(j + 1) == "after" else -1,
                   "anchored": True}, j + 2  # fmt: skip
        elif self.w(j) in ("week", "month", "weekend") and self.w(j + 1) in ("after", "before", "of"):
            yield {"notes": ("period",), "shift": Duration(days=7, text="a week"), "shift_sign": 1,
                   "anchored": True}, j + 2  # fmt: skip
        # "tomorrow week", "today week", "today fortnight" (British: a week or two from that day)
        if word in ("tomorrow", "tmrw", "today") and self.w(i + 1) in ("week", "fortnight"):
            yield {"day": Today((word != "today") + (7 if self.w(i + 1) == "week" else 14))}, i + 2
        if word == "fortnight" and self.w(i + 1) in ("today", "tomorrow"):
            yield {"shift": Duration(days=14, text="a fortnight"), "shift_sign": 1, "anchored": True}, i + 1

    def _skip_time_word(self, j: int) -> int:
        # "in 3 days' time", "in 3 days time"
        return j + 1 if self.w(j) == "time" else j

    def duration(self, i: int) -> Iterator[tuple[Duration, int]]:
        """ "3 days", "an hour and a half", "2.5 hours", "1h30", "a couple of weeks", "90 min"; joined
        pieces ("1 hour and 30 minutes", "2 hours 15 minutes") are one duration."""
        for first, j in self._one_duration(i):
            yield first, j
            k = self.skip(j, "and", ",")
            for second, m in self._one_duration(k):
                if _finer(first, second):
                    yield first + second, m
            if self.w(j) == "and" and self.w(j + 1) == "a" and self.w(j + 2) == "half":
                half = _scale(_unit_of(first), Fraction(1, 2))
                if half is not None and first.text:
                    yield first + half, j + 3

    def _one_duration(self, i: int) -> Iterator[tuple[Duration, int]]:
        amounts: list[tuple[Fraction, int]] = []
        token = self.tok(i)
        word = self.w(i)
        if token is None:
            return
        if word in VAGUE or (word == "a" and self.w(i + 1) in VAGUE):
            k = self.skip(i + (2 if word == "a" else 1), "of", "more")
            if self.w(k) in UNITS:
                yield Duration(text="vague"), k + 1
            return
        if token.kind == "number":
            amounts.append((Fraction(token.value), i + 1))
            if self.w(i + 1) == "and" and self.w(i + 2) == "a" and self.w(i + 3) == "half":
                amounts.append((Fraction(token.value) + Fraction(1, 2), i + 4))
        elif token.kind == "pair" and token.value[2] == ".":
            amounts.append((Fraction(f"{token.value[0]}.{token.value[1]}"), i + 1))
        elif word in ("a", "an", "one"):
            amounts.append((Fraction(1), i + 1))
            if self.w(i + 1) == "couple":
                amounts.append((Fraction(2), self.skip(i + 2, "of")))
            if self.w(i + 1) == "half":
                amounts.append((Fraction(1, 2), i + 2))
            if self.w(i + 1) == "quarter" and self.w(i + 2) == "of" and self.w(i + 3) in ("an", "a"):
                amounts.append((Fraction(1, 4), i + 4))
            if word == "one" and self.w(i + 1) == "and" and self.w(i + 2) == "a" and self.w(i + 3) == "half":
                amounts.append((Fraction(3, 2), i + 4))
        elif word == "couple":
            amounts.append((Fraction(2), self.skip(i + 1, "of")))
        elif word == "half":
            j = i + 1 if self.w(i + 1) not in ("a", "an") else i + 2
            amounts.append((Fraction(1, 2), j))
        elif word == "quarter" and self.w(i + 1) in ("hour",):
            amounts.append((Fraction(1, 4), i + 1))
        else:
            for value, j, _ in self.number(i):
                amounts.append((Fraction(value), j))
                if self.w(j) == "and" and self.w(j + 1) == "a" and self.w(j + 2) == "half":
                    amounts.append((Fraction(value) + Fraction(1, 2), j + 3))
        for amount, j in amounts:
            if self.w(j) in ("business", "working", "work", "weekdays") and self.w(j + 1) in ("day", "days"):
                yield Duration(text="business"), j + 2
                continue
            unit = UNITS.get(self.w(j) or "")
            if unit is None:
                continue
            duration = _scale(unit, amount)
            if duration is not None:
                yield replace(duration, text=self._text(i, j + 1)), j + 1
                # "1h30": minutes after hours without a unit
                after = self.tok(j + 1)
                if unit == "hour" and after is not None and after.kind == "number" and len(after.text) == 2 and (
                        self.tok(j) is not None and self.tok(j).text == "h"):  # type: ignore[union-attr]  # fmt: skip
                    end = j + 3 if self.w(j + 2) in ("m", "min", "mins") else j + 2
                    yield duration + Duration(seconds=60 * after.value, text=after.text), end
            elif unit == "minute" or unit == "second":
                continue

    def _text(self, start: int, end: int) -> str:
        return " ".join(token.text for token in self.tokens[start:end])


@cache
def _grammar_only() -> frozenset[str]:
    """Words the grammar reads that no holiday's name has ("after", "noon", "at"): a phrase with one of them
    is not a public holiday's name, and the 17 MB holiday package need not load to say so."""
    from bot.dates.spelling import known

    in_names = {word for name in holidays.NAMES for word in name}
    return frozenset(known() - in_names)


def _minutes_before(target: Clock, minutes: int, end: int) -> Iterator[tuple[Clock, int]]:
    """ "quarter to 12 pm" is 11:45 am: the minutes come off the hour as the am/pm makes it; before midnight
    ("five to 12 am") is the day before, which is not what the words say of the day: not read."""
    if target.meridiem is None and not target.fixed:
        yield Clock((target.hour - 1) % 12 or 12, 60 - minutes, text=target.text), end
        return
    hour = target.hour % 12 + (12 if target.meridiem == "pm" else 0) if target.meridiem else target.hour
    total = hour * 60 - minutes
    if total >= 0:
        yield Clock(total // 60, total % 60, fixed=True, text=target.text), end


def _scale(unit: str, amount: Fraction) -> Duration | None:
    """`amount` of `unit` as a Duration, or None when it is not a whole number of what the unit counts in
    (1.5 months is no whole number of months)."""
    if unit in _MONTH_UNITS:
        months = amount * _MONTH_UNITS[unit]
        return Duration(months=int(months)) if months.denominator == 1 else None
    if unit in _DAY_UNITS:
        days = amount * _DAY_UNITS[unit]
        whole = int(days)
        seconds = (days - whole) * 86400
        return Duration(days=whole, seconds=int(seconds)) if seconds.denominator == 1 else None
    seconds = amount * _TIME_UNITS[unit]
    return Duration(seconds=int(seconds)) if seconds.denominator == 1 else None


def _unit_of(duration: Duration) -> str:
    if duration.months:
        return "year" if duration.months % 12 == 0 else "month"
    if duration.days:
        return "week" if duration.days % 7 == 0 and not duration.seconds else "day"
    if duration.seconds % 3600 == 0:
        return "hour"
    return "minute" if duration.seconds % 60 == 0 else "second"


def _finer(first: Duration, second: Duration) -> bool:
    """ "1 hour and 30 minutes" joins; "30 minutes and 1 hour" or "1 day and 1 day" does not."""
    order = ["year", "month", "week", "day", "hour", "minute", "second"]
    return order.index(_unit_of(second)) > order.index(_unit_of(first))
