"""Named days a marketing team plans around (Black Friday, Mother's Day, Easter, Labor Day…), per country
where they differ, and any other public holiday of the user's country by its English name.

The days below are rules written here (a fixed date, the nth weekday of a month, a distance from Easter or
from another day), because the well-kept `holidays` package lists public holidays only, not Black Friday
or Mothering Sunday. Any other public holiday of the user's own country (Victoria Day, Anzac Day,
Juneteenth, Diwali in India…) comes from that package, loaded only when such a name is asked for.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from dateutil.easter import EASTER_ORTHODOX, EASTER_WESTERN, easter


@dataclass(frozen=True)
class Rule:
    """fixed (month, day); nth (n-th `weekday` of `month`, -1 = last); easter (+`offset` days);
    after (`offset` days after the day `base`); on_or_before (the `weekday` on or before month/day)."""

    kind: str
    month: int = 0
    day: int = 0
    weekday: int = 0
    n: int = 0
    offset: int = 0
    base: str = ""


def fixed(month: int, day: int) -> Rule:
    return Rule("fixed", month=month, day=day)


def nth(n: int, weekday: int, month: int) -> Rule:
    return Rule("nth", month=month, weekday=weekday, n=n)


def from_easter(offset: int) -> Rule:
    return Rule("easter", offset=offset)


def after(base: str, offset: int) -> Rule:
    return Rule("after", base=base, offset=offset)


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@dataclass(frozen=True)
class Day:
    """A named day: its display name, the words that name it, and its rule per country ("*": elsewhere).
    Without a "*" rule, a user outside the listed countries is asked for the date."""

    title: str
    names: tuple[str, ...]
    rules: dict[str, Rule]
    # A country's own day by this name (Korea's Memorial Day is 6 June) wins over the "*" rule for any
    # country without a rule here; it comes from the `holidays` package, loaded only then.
    national: bool = False


def _day(title: str, names: str, rule: Rule | None = None, *, national: bool = False, **by_country: Rule) -> Day:
    rules = dict(by_country)
    if rule is not None:
        rules["*"] = rule
    return Day(title, tuple(name.strip() for name in names.split("|")), _expand(rules), national)


def _expand(rules: dict[str, Rule]) -> dict[str, Rule]:
    """`US_CA=rule` → one entry per country."""
    expanded: dict[str, Rule] = {}
    for countries, rule in rules.items():
        for country in countries.split("_"):
            expanded[country] = rule
    return expanded


US_THANKSGIVING = nth(4, THU, 11)
# Easter by the Orthodox reckoning, and Christmas on 7 January (the Julian 25 December), where that is the
# public holiday. (Ukraine moved Christmas to 25 December in 2023; Moldova keeps both, so it is asked.)
ORTHODOX_EASTER = frozenset({"GR", "CY", "RO", "BG", "RU", "BY", "UA", "RS", "ME", "MK", "GE", "MD", "EG", "ET", "ER"})
JULIAN_CHRISTMAS = "RU_BY_RS_ME_MK_GE_KZ_EG_ET_ER"

DAYS: dict[str, Day] = {
    day.title: day
    for day in (
        _day("New Year's Day", "new year's day|new years day|new year's|new years|new year|ny day|nyd", fixed(1, 1)),
        _day("New Year's Eve", "new year's eve|new years eve|nye|hogmanay|silvester", fixed(12, 31)),
        _day(
            "Christmas Day",
            "christmas|christmas day|xmas|xmas day|x mas",
            fixed(12, 25),
            **{JULIAN_CHRISTMAS: fixed(1, 7), "MD": Rule("both")},
        ),
        _day(
            "Christmas Eve",
            "christmas eve|xmas eve|christmas eve day",
            fixed(12, 24),
            **{JULIAN_CHRISTMAS: fixed(1, 6), "MD": Rule("both")},
        ),
        _day("Boxing Day", "boxing day", fixed(12, 26)),
        _day(
            "Valentine's Day",
            "valentine's day|valentines day|valentine's|valentines|valentine day|"
            "st valentine's day|saint valentine's day",
            fixed(2, 14),
        ),
        _day(
            "St Patrick's Day",
            "st patrick's day|saint patrick's day|st patricks day|st paddy's day|"
            "paddy's day|st patrick's|patrick's day",
            fixed(3, 17),
        ),
        _day("April Fools' Day", "april fools' day|april fools day|april fool's day|april fools", fixed(4, 1)),
        _day("Earth Day", "earth day", fixed(4, 22)),
        _day("Cinco de Mayo", "cinco de mayo", fixed(5, 5)),
        _day("Halloween", "halloween|hallowe'en|all hallows eve", fixed(10, 31)),
        _day("Groundhog Day", "groundhog day", fixed(2, 2)),
        _day("Singles' Day", "singles' day|singles day|double eleven|double 11", fixed(11, 11)),
        _day(
            "Thanksgiving",
            "thanksgiving|thanksgiving day",
            US_THANKSGIVING,
            national=True,
            US=US_THANKSGIVING,
            CA=nth(2, MON, 10),
        ),
        _day("Black Friday", "black friday", after("us thanksgiving", 1)),
        _day("Small Business Saturday", "small business saturday", after("us thanksgiving", 2)),
        _day("Cyber Monday", "cyber monday", after("us thanksgiving", 4)),
        _day("Giving Tuesday", "giving tuesday|givingtuesday", after("us thanksgiving", 5)),
        _day("Easter Sunday", "easter|easter sunday|easter day", from_easter(0)),
        _day("Easter Monday", "easter monday", from_easter(1)),
        _day("Good Friday", "good friday", from_easter(-2)),
        _day("Maundy Thursday", "maundy thursday|holy thursday", from_easter(-3)),
        _day("Palm Sunday", "palm sunday", from_easter(-7)),
        _day("Shrove Tuesday", "shrove tuesday|pancake day|mardi gras|fat tuesday", from_easter(-47)),
        _day("Ash Wednesday", "ash wednesday", from_easter(-46)),
        _day("Ascension Day", "ascension day|ascension", from_easter(39)),
        _day("Pentecost", "pentecost|whit sunday|whitsunday", from_easter(49)),
        _day("Whit Monday", "whit monday|pentecost monday", from_easter(50)),
        _day(
            "Mother's Day",
            "mother's day|mothers day|mom's day|moms day|mum's day|mums day|mothering sunday",
            nth(2, SUN, 5),
            GB_IE_NG=from_easter(-21),
            MX_GT_SV=fixed(5, 10),
            ES_PT_LT_HU_RO=nth(1, SUN, 5),
            FR=Rule("french_mothers_day"),
        ),
        _day(
            "Father's Day",
            "father's day|fathers day|dad's day|dads day",
            nth(3, SUN, 6),
            AU_NZ_FJ_PG=nth(1, SUN, 9),
            DE=from_easter(39),
            IT_ES_PT=fixed(3, 19),
            BR=nth(2, SUN, 8),
        ),
        _day("Independence Day", "independence day|fourth of july|july fourth", national=True, US=fixed(7, 4)),
        _day("Memorial Day", "memorial day", nth(-1, MON, 5), national=True, US=nth(-1, MON, 5)),
        _day("Labor Day", "labor day|labour day", national=True, US_CA=nth(1, MON, 9), NZ=nth(4, MON, 10)),
        _day(
            "Presidents' Day",
            "presidents' day|presidents day|president's day|washington's birthday",
            nth(3, MON, 2),
            national=True,
            US=nth(3, MON, 2),
        ),
        _day(
            "Martin Luther King Jr. Day",
            "martin luther king day|martin luther king jr day|mlk day|mlk",
            nth(3, MON, 1),
            national=True,
            US=nth(3, MON, 1),
        ),
        _day(
            "Columbus Day",
            "columbus day|indigenous peoples' day|indigenous peoples day",
            nth(2, MON, 10),
            national=True,
            US=nth(2, MON, 10),
        ),
        _day("Juneteenth", "juneteenth", fixed(6, 19), national=True, US=fixed(6, 19)),
        _day(
            "Veterans Day", "veterans day|veteran's day|veterans' day", fixed(11, 11), national=True, US=fixed(11, 11)
        ),
        _day(
            "Remembrance Day",
            "remembrance day|armistice day|poppy day",
            fixed(11, 11),
            national=True,
            GB_CA_AU_NZ_IE=fixed(11, 11),
        ),
        _day("Canada Day", "canada day", fixed(7, 1)),
        _day("Victoria Day", "victoria day", Rule("on_or_before", month=5, day=24, weekday=MON)),
        _day("Australia Day", "australia day", fixed(1, 26)),
        _day("Anzac Day", "anzac day", fixed(4, 25)),
        _day("Bastille Day", "bastille day", fixed(7, 14)),
        _day("St Andrew's Day", "st andrew's day|saint andrew's day", fixed(11, 30)),
        _day("St George's Day", "st george's day|saint george's day", fixed(4, 23)),
        _day("St David's Day", "st david's day|saint david's day", fixed(3, 1)),
        _day("Burns Night", "burns night", fixed(1, 25)),
        _day("Bonfire Night", "bonfire night|guy fawkes night|guy fawkes day", fixed(11, 5)),
        _day("Early May bank holiday", "early may bank holiday|may bank holiday", nth(1, MON, 5)),
        _day("Spring bank holiday", "spring bank holiday|late may bank holiday|whitsun bank holiday", nth(-1, MON, 5)),
        _day(
            "Summer bank holiday", "summer bank holiday|august bank holiday|late summer bank holiday", nth(-1, MON, 8)
        ),
    )
}
# The day other days count from, whatever the user's country.
BASES: dict[str, Rule] = {"us thanksgiving": US_THANKSGIVING}


def _fold(name: str) -> tuple[str, ...]:
    """Words of a name as the tokenizer gives them, apostrophes dropped: "New Year's" → (new, years)."""
    return tuple(re.sub(r"['.]", "", name.lower()).replace("-", " ").split())


NAMES: dict[tuple[str, ...], str] = {}
for _title, _day_entry in DAYS.items():
    for _name in _day_entry.names:
        NAMES[_fold(_name)] = _title
LONGEST_NAME = max(len(name) for name in NAMES)


def fold_words(words: list[str]) -> tuple[str, ...]:
    return tuple(word.replace("'", "").replace(".", "") for word in words)


def date_of(title: str, year: int, country: str | None) -> date | list[tuple[str, date]] | None:
    """The day `title` falls on in `year` for someone in `country`: the rule written for that country; for
    a national day, else the country's own public holiday of that name; else the rule for everywhere.
    None when there is none; a list of (where, date) when it could be several days: the day differs by
    country and the user's country is not known, or the country keeps two (Christmas in Moldova)."""
    day = DAYS[title]
    rule = day.rules.get(country or "")
    if rule is not None and rule.kind == "both":
        return [
            (kind, on(other, year, country))
            for kind, other in (("Western", day.rules["*"]), ("Orthodox", day.rules[JULIAN_CHRISTMAS.split("_")[0]]))
        ]
    if rule is not None:
        return on(rule, year, country)
    if country and day.national:
        for name in (title, *day.names):
            found = public_holiday(_fold(name), year, country)
            if found is not None:
                return found
    rule = day.rules.get("*")
    if rule is not None:
        return on(rule, year, country)
    if country is None:
        return [(where, on(rule, year, where)) for where, rule in day.rules.items()]
    return None


def on(rule: Rule, year: int, country: str | None = None) -> date:
    if rule.kind == "fixed":
        return date(year, rule.month, rule.day)
    if rule.kind == "nth":
        return nth_weekday(year, rule.month, rule.weekday, rule.n)
    if rule.kind == "easter":
        method = EASTER_ORTHODOX if country in ORTHODOX_EASTER else EASTER_WESTERN
        return easter(year, method) + timedelta(days=rule.offset)
    if rule.kind == "after":
        return on(BASES[rule.base], year) + timedelta(days=rule.offset)
    if rule.kind == "on_or_before":
        limit = date(year, rule.month, rule.day)
        return limit - timedelta(days=(limit.weekday() - rule.weekday) % 7)
    if rule.kind == "french_mothers_day":
        # The last Sunday of May, or the first of June when that Sunday is Pentecost.
        last = nth_weekday(year, 5, SUN, -1)
        return last + timedelta(days=7) if last == easter(year) + timedelta(days=49) else last
    raise ValueError(rule.kind)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of a month (n = -1: the last). Raises ValueError when there is no such day."""
    if n > 0:
        first = date(year, month, 1)
        result = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
        if result.month != month:
            raise ValueError("no such day")
        return result
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


# --- other public holidays, from the `holidays` package ---------------------------------------------------


@cache
def _public(country: str, year: int) -> dict[tuple[str, ...], date]:
    """The English names of `country`'s public holidays in `year` (observed days left out)."""
    try:
        import holidays
    except ImportError:  # pragma: no cover - a declared dependency
        return {}
    try:
        cls = holidays.country_holidays(country).__class__
    except NotImplementedError:
        return {}
    languages = getattr(cls, "supported_languages", ()) or ()
    default = getattr(cls, "default_language", None) or "en_US"
    language = "en_US" if "en_US" in languages else default
    if not language.startswith("en"):
        return {}
    table: dict[tuple[str, ...], date] = {}
    with warnings.catch_warnings():  # "available only from 2001 to 2035": a limit, not the user's business
        warnings.simplefilter("ignore")
        found = holidays.country_holidays(country, years=year, language=language).items()
    for day, names in found:
        for name in names.split("; "):
            if "observed" in name.lower() or "estimated" in name.lower():
                continue
            folded = _fold(re.sub(r"\(.*?\)", "", name))
            table.setdefault(folded, day)
            if folded and folded[-1] == "day":
                table.setdefault(folded[:-1], day)
    return table


def public_holiday(words: tuple[str, ...], year: int, country: str | None) -> date | None:
    if not country:
        return None
    return _public(country, year).get(words)


NAMES_FILE = Path(__file__).with_name("holiday_names.json")


@cache
def _known_public() -> frozenset[tuple[str, ...]]:
    """Every English public-holiday name any country has in the `holidays` package, as the reader folds
    them: checked before the package (17 MB, 0.2 s) is loaded for one country, so "pay day" costs nothing."""
    return frozenset(tuple(name.split()) for name in json.loads(NAMES_FILE.read_text(encoding="utf-8"))["names"])


def could_be_public(words: tuple[str, ...]) -> bool:
    return words in _known_public()


def generate_names() -> dict[str, object]:
    """The shipped list of names: every country's English names this year and next."""
    import holidays

    today = date.today()
    names: set[tuple[str, ...]] = set()
    for country in sorted(holidays.list_supported_countries()):
        for year in (today.year, today.year + 1):
            names |= set(_public(country, year))
    names_list = sorted(" ".join(name) for name in names if name)
    return {"holidays": holidays.__version__, "year": today.year, "names": names_list}


if __name__ == "__main__":
    NAMES_FILE.write_text(json.dumps(generate_names(), indent=0) + "\n", encoding="utf-8")
    print(f"written {NAMES_FILE}")
