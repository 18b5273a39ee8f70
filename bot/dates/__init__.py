"""Free-form dates ("yesterday 3pm", "half past 3 on Black Friday", "2026-11-02 14:30") read in the user's
own zone, locale and country, or refused with what was unclear.

English phrases are read by a grammar (`grammar.py`) that accounts for every word, number and sign: a
phrase is read only when all of it is, so nothing typed can be silently dropped, and a phrase with more
than one reading is refused with the readings offered. Other languages (DATE_LANGUAGES) go through
dateparser's language data, which turns them into the same English words, and then the same grammar.
ISO dates skip all of that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from bot.dates.unreadable import Unreadable
from bot.problems import InvalidValue

if TYPE_CHECKING:
    from bot.dates.resolve import Situation

Prefer = Literal["past", "future", "current_period"]

MAX_INPUT_LENGTH = 80
MAX_TOKENS = 24
EXAMPLES = ("yesterday 3pm", "Nov 2 9am", "2026-11-02 14:30")
API_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
API_DATE_FORMAT = "%Y-%m-%d"

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")
_BARE_NUMBER = re.compile(r"(on\s+)?(the\s+)?[0-9]{1,4}", re.IGNORECASE)


class DateReader:
    """Reads dates in a fixed set of languages with one default day/month order. Build once; thread-safe."""

    def __init__(self, languages: tuple[str, ...] | list[str] = ("en",), date_order: str = "MDY") -> None:
        self.languages = list(languages)
        self.date_order = date_order

    def warm_up(self) -> None:
        """Load what the first phrase would otherwise pay for (the grammar's modules, dateparser's language
        data when other languages are on, the zone table): at start-up, in the background."""
        from bot.dates import zones

        utc, new_york = ZoneInfo("UTC"), ZoneInfo("America/New_York")
        moment = datetime(2026, 1, 10, tzinfo=utc)
        # One phrase per part of the grammar. The `holidays` package (17 MB) is left to the first phrase that
        # names a holiday of the user's country the reader's own table does not have.
        for text in ("yesterday 3pm", "the day after Thanksgiving at noon EST", "Fri Jan 2, 2026", "2pm India time"):
            self.read(text, zone=new_york, now=moment, prefer="past", locale="en-US")
        zones.country_of(utc)
        zones.country_zone(("india",))
        if any(language != "en" for language in self.languages):
            from dateparser.conf import Settings
            from dateparser.languages.loader import default_loader

            for language in self.languages:  # each language's data, not only the first that knows "hier"
                default_loader.get_locale(language).translate("1", keep_formatting=False, settings=Settings())
            self._other_languages("hier", self._situation(utc, moment, "past", None, False))

    def read(
        self,
        text: str,
        *,
        zone: ZoneInfo,
        now: datetime,
        prefer: Prefer = "current_period",
        locale: str | None = None,
        whole_day: bool = False,
    ) -> datetime:
        """The moment `text` means, as an aware datetime in `zone`; raises `InvalidValue` saying what was
        unclear (and what it could mean) when it cannot be read as exactly one moment.

        `prefer` is the kind of field: "past" (a moment later than now is refused), "future", or
        "current_period". `locale` is the user's Slack locale (`en-GB`): it decides whether 02/03 is
        2 March or 3 February, and with `zone` which country's holidays apply. `whole_day`: only the
        calendar day matters (a day with a part of the day but no clock time is fine)."""
        raw = " ".join(unicodedata.normalize("NFKC", text).split())  # full-width digits are digits
        if not raw:
            raise InvalidValue("is empty", example=EXAMPLES)
        if len(raw) > MAX_INPUT_LENGTH:
            raise InvalidValue(f"is too long to be a date ({len(raw)} characters)", example=EXAMPLES)
        local_now = now.astimezone(zone)
        where = self._situation(zone, local_now, prefer, locale, whole_day)
        if _ISO.fullmatch(raw):
            result = _read_iso(raw, zone)
            if result is None:
                raise InvalidValue(f"`{raw}` is not a real date", example=EXAMPLES)
        else:
            result = self._read_words(raw, where)
        return self._checked(raw, result, where)

    def _situation(self, zone: ZoneInfo, now: datetime, prefer: str, locale: str | None, whole_day: bool) -> Situation:
        from bot.dates import zones
        from bot.dates.resolve import Situation
        from bot.locales import country_of_locale, date_order_of

        country = zones.country_of(zone) or country_of_locale(locale)
        return Situation(now, zone, prefer, date_order_of(locale), self.date_order, country, whole_day)

    def _read_words(self, raw: str, where: Situation) -> datetime:
        from bot.dates.tokens import normalize

        normalized = normalize(raw)
        if not normalized:
            raise InvalidValue(f"`{raw}` has no date in it", example=EXAMPLES)
        if normalized in ("now", "right now", "just now"):
            return where.now
        if _BARE_NUMBER.fullmatch(normalized):
            raise InvalidValue(
                f"`{raw}` is not a full date: add the month (`Nov 5`) or am/pm (`5pm`)", example=("Nov 5", "5pm")
            )
        try:
            return self._english(normalized, raw, where)
        except Unreadable as problem:
            if problem.rank == 0 and any(language != "en" for language in self.languages):
                result = self._other_languages(raw, where)
                if result is not None:
                    return result
            raise InvalidValue(problem.message, example=problem.options or EXAMPLES) from None

    def _english(self, normalized: str, raw: str, where: Situation, *, translated: bool = False) -> datetime:
        from bot.dates.grammar import Grammar
        from bot.dates.resolve import resolve
        from bot.dates.tokens import tokenize

        tokens = tokenize(normalized)
        if not tokens:
            raise Unreadable(f"could not read `{raw}` as a date", rank=0)
        tokens = [_spelled(token) for token in tokens]
        if len(tokens) > MAX_TOKENS:
            raise Unreadable(f"`{raw}` has too many words to be a date", rank=1)
        grammar = Grammar(tokens, twenty_four=translated)
        readings = grammar.read()
        if not readings:
            raise Unreadable(f"could not read `{raw}` as a date (not understood: `{_stuck(tokens, grammar)}`)", rank=0)
        moments: dict[datetime, None] = {}
        problems: list[Unreadable] = []
        for spec in readings:
            try:
                for moment in resolve(spec, where, raw):
                    moments[moment] = None
            except Unreadable as problem:
                problems.append(problem)
        if moments and all(_not_yet(moment, where) for moment in moments):
            # Every reading is still to come ("next Friday" in a field about the past): say that, not which.
            raise _not_yet_refusal(raw, min(moments), where)
        return _one(raw, list(moments), problems)

    def _other_languages(self, raw: str, where: Situation) -> datetime | None:
        """dateparser's language data turns "hier à 15h" into "1 day ago 15:00"; the grammar reads that."""
        from dateparser.conf import Settings
        from dateparser.languages.loader import default_loader

        from bot.dates.tokens import normalize

        settings = Settings()
        for language in self.languages:
            if language == "en":
                continue
            locale = default_loader.get_locale(language)
            if not locale.is_applicable(raw, strip_timezone=False, settings=settings):
                continue
            translated = locale.translate(raw, keep_formatting=False, settings=settings)
            if not normalize(translated):
                continue
            try:
                return self._english(normalize(translated), raw, where, translated=True)
            except Unreadable:
                continue
        return None

    def _checked(self, raw: str, result: datetime, where: Situation) -> datetime:
        from bot.dates.resolve import EARLIEST_YEAR, YEARS_AHEAD

        if not EARLIEST_YEAR <= result.year <= where.now.year + YEARS_AHEAD:
            raise InvalidValue(f"`{raw}` was read as {result:%Y-%m-%d}, which looks like a typo", example=EXAMPLES)
        if _not_yet(result, where):
            problem = _not_yet_refusal(raw, result, where)
            raise InvalidValue(problem.message, example=problem.options)
        return result


def _not_yet(moment: datetime, where: Situation) -> bool:
    """In a field about the past, a moment still to come (beyond a little clock skew); in a whole-day field,
    a day still to come."""
    from bot.dates.resolve import CLOCK_SKEW

    if where.prefer != "past":
        return False
    return moment.date() > where.today if where.whole_day else moment > where.now + CLOCK_SKEW


def _not_yet_refusal(raw: str, moment: datetime, where: Situation) -> Unreadable:
    from bot.dates.resolve import describe_day

    shown = describe_day(moment.date()) if where.whole_day else describe_datetime(moment, where.zone)
    return Unreadable(
        f"`{raw}` is {shown}, which has not happened yet; this is about something that already happened",
        ("yesterday 3pm", "today"),
        rank=4,
    )


def _stuck(tokens, grammar) -> str:  # type: ignore[no-untyped-def]
    """The word to blame: the first one no part of the reader knows, else where every reading stopped."""
    from bot.dates.spelling import known

    for token in tokens:
        if token.kind == "word" and token.value is None and token.text not in known():
            return token.text
    token = tokens[min(grammar.furthest, len(tokens) - 1)]
    return token.value if token.kind == "word" and token.value else token.text


def _spelled(token):  # type: ignore[no-untyped-def]
    from bot.dates.spelling import correct
    from bot.dates.tokens import Token

    if token.kind != "word":
        return token
    corrected = correct(token.text)
    # The word as typed rides along as the value, for a refusal to quote.
    return token if corrected is None else Token("word", corrected, token.text)


def _one(raw: str, moments: list[datetime], problems: Iterable[Unreadable]) -> datetime:
    """The one moment all readings agree on; otherwise a refusal naming what the phrase could mean."""
    from bot.dates.resolve import say_or

    problems = sorted(problems, key=lambda problem: -problem.rank)
    serious = [problem for problem in problems if problem.rank > 0]
    if len(moments) == 1 and not serious:
        return moments[0]
    if not moments:
        if problems:
            raise problems[0]
        raise Unreadable(f"could not read `{raw}` as a date", rank=0)
    shown = [_describe_for_options(moment) for moment in moments]
    if serious and serious[0].rank >= 4:
        raise serious[0]
    if serious:
        options = tuple(dict.fromkeys([*shown, *serious[0].options]))
        raise Unreadable(f"{serious[0].message}; it could also mean {say_or(shown)}", options[:6], rank=3)
    raise Unreadable(f"`{raw}` could mean {say_or(shown)}: which one?", tuple(shown[:6]), rank=3)


def _describe_for_options(moment: datetime) -> str:
    """A moment written so that typing it back reads exactly it."""
    day = f"{moment:%a %b} {moment.day}, {moment.year}"
    if moment.hour == 0 and moment.minute == 0 and moment.second == 0:
        return day
    seconds = f":{moment.second:02d}" if moment.second else ""
    return f"{day} {moment.hour % 12 or 12}:{moment.minute:02d}{seconds} {'AM' if moment.hour < 12 else 'PM'}"


def _read_iso(raw: str, zone: ZoneInfo) -> datetime | None:
    """An ISO date, in `zone` unless it carries an offset; a wall-clock time the zone skips or repeats is
    refused, as when written in words."""
    from bot.dates.resolve import check_wall_clock

    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is not None:
            return value.astimezone(zone)
    except (ValueError, OverflowError):  # not a date, or so far off that no zone can hold it
        return None
    try:
        check_wall_clock(value, zone, raw)
    except Unreadable as problem:
        raise InvalidValue(problem.message, example=problem.options or EXAMPLES) from None
    return value.replace(tzinfo=zone)


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
    """`Sun Nov 22, 2026`."""
    from bot.dates.resolve import describe_day

    return describe_day(value)


__all__ = [
    "API_DATETIME_FORMAT",
    "API_DATE_FORMAT",
    "EXAMPLES",
    "DateReader",
    "Prefer",
    "describe_date",
    "describe_datetime",
    "to_api_date",
    "to_api_datetime",
]
