"""Time zones typed in a phrase: abbreviations (EST, IST), names (Pacific time, London time, Europe/Paris)
and offsets (UTC+2, +05:30), and which country a user's own zone is in.

An abbreviation that names several zones (IST: India, Ireland, Israel) is read as the one of the user's
own country or zone, and refused otherwise. An abbreviation whose offset its region does not keep on that
date (EST in July, Irish IST in winter) is refused too: people often mean the region's clock, the letters
say otherwise, and an hour's difference is not ours to guess.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.dates.spec import Unreadable


@dataclass(frozen=True)
class Meaning:
    """One zone an abbreviation can name: a fixed offset in minutes (and the region that keeps it, to tell
    standard from daylight time), or a region's own clock when `offset` is None."""

    label: str
    offset: int | None
    region: str | None = None
    countries: frozenset[str] = frozenset()


def _m(label: str, offset: int | None, region: str | None = None, countries: str = "") -> Meaning:
    return Meaning(label, offset, region, frozenset(countries.split()))


_NY, _CHI, _DEN, _LA = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
_NORTH_AMERICA = "US CA MX"

ABBREVIATIONS: dict[str, tuple[Meaning, ...]] = {
    "utc": (_m("UTC", 0),),
    "gmt": (_m("GMT", 0),),
    "z": (_m("UTC", 0),),
    "zulu": (_m("UTC", 0),),
    # Australians write EST and CST for their own eastern and central clocks too.
    "est": (
        _m("Eastern Standard Time (North America)", -300, _NY, _NORTH_AMERICA),
        _m("Australian Eastern Standard Time", 600, "Australia/Sydney", "AU"),
    ),
    "edt": (
        _m("Eastern Daylight Time (North America)", -240, _NY, _NORTH_AMERICA),
        _m("Australian Eastern Daylight Time", 660, "Australia/Sydney", "AU"),
    ),
    "cst": (
        _m("Central Standard Time (North America)", -360, _CHI, _NORTH_AMERICA),
        _m("China Standard Time", 480, "Asia/Shanghai", "CN TW"),
        _m("Australian Central Standard Time", 570, "Australia/Adelaide", "AU"),
    ),
    "cdt": (
        _m("Central Daylight Time (North America)", -300, _CHI, _NORTH_AMERICA),
        _m("Australian Central Daylight Time", 630, "Australia/Adelaide", "AU"),
    ),
    "mst": (_m("Mountain Standard Time", -420, _DEN, _NORTH_AMERICA),),
    "mdt": (_m("Mountain Daylight Time", -360, _DEN, _NORTH_AMERICA),),
    "pst": (_m("Pacific Standard Time", -480, _LA, _NORTH_AMERICA),),
    "pdt": (_m("Pacific Daylight Time", -420, _LA, _NORTH_AMERICA),),
    "akst": (_m("Alaska Standard Time", -540, "America/Anchorage", "US"),),
    "akdt": (_m("Alaska Daylight Time", -480, "America/Anchorage", "US"),),
    "hst": (_m("Hawaii Standard Time", -600, "Pacific/Honolulu", "US"),),
    "ast": (
        _m("Atlantic Standard Time", -240, "America/Halifax", "CA PR BM"),
        _m("Arabia Standard Time", 180, "Asia/Riyadh", "SA KW QA BH IQ YE"),
    ),
    "adt": (_m("Atlantic Daylight Time", -180, "America/Halifax", "CA BM"),),
    "nst": (_m("Newfoundland Standard Time", -210, "America/St_Johns", "CA"),),
    "ndt": (_m("Newfoundland Daylight Time", -150, "America/St_Johns", "CA"),),
    "bst": (
        _m("British Summer Time", 60, "Europe/London", "GB"),
        _m("Bangladesh Standard Time", 360, "Asia/Dhaka", "BD"),
    ),
    "ist": (
        _m("India Standard Time", 330, "Asia/Kolkata", "IN"),
        _m("Irish Standard Time", 60, "Europe/Dublin", "IE"),
        _m("Israel Standard Time", 120, "Asia/Jerusalem", "IL"),
    ),
    "wet": (_m("Western European Time", 0, "Europe/Lisbon", "PT"),),
    "west": (_m("Western European Summer Time", 60, "Europe/Lisbon", "PT"),),
    "cet": (_m("Central European Time", 60, "Europe/Paris", "FR DE IT ES NL BE AT CH PL CZ SE NO DK"),),
    "cest": (_m("Central European Summer Time", 120, "Europe/Paris", "FR DE IT ES NL BE AT CH PL CZ SE"),),
    "eet": (_m("Eastern European Time", 120, "Europe/Athens", "GR FI RO BG UA EE LV LT CY"),),
    "eest": (_m("Eastern European Summer Time", 180, "Europe/Athens", "GR FI RO BG UA EE LV LT CY"),),
    "msk": (_m("Moscow Time", 180, "Europe/Moscow", "RU"),),
    "gst": (_m("Gulf Standard Time", 240, "Asia/Dubai", "AE OM"),),
    "pkt": (_m("Pakistan Standard Time", 300, "Asia/Karachi", "PK"),),
    "npt": (_m("Nepal Time", 345, "Asia/Kathmandu", "NP"),),
    "ict": (_m("Indochina Time", 420, "Asia/Bangkok", "TH VN KH LA"),),
    "wib": (_m("Western Indonesia Time", 420, "Asia/Jakarta", "ID"),),
    "hkt": (_m("Hong Kong Time", 480, "Asia/Hong_Kong", "HK"),),
    "sgt": (_m("Singapore Time", 480, "Asia/Singapore", "SG"),),
    "pht": (_m("Philippine Time", 480, "Asia/Manila", "PH"),),
    "awst": (_m("Australian Western Standard Time", 480, "Australia/Perth", "AU"),),
    "jst": (_m("Japan Standard Time", 540, "Asia/Tokyo", "JP"),),
    "kst": (_m("Korea Standard Time", 540, "Asia/Seoul", "KR"),),
    "acst": (_m("Australian Central Standard Time", 570, "Australia/Adelaide", "AU"),),
    "acdt": (_m("Australian Central Daylight Time", 630, "Australia/Adelaide", "AU"),),
    "aest": (_m("Australian Eastern Standard Time", 600, "Australia/Sydney", "AU"),),
    "aedt": (_m("Australian Eastern Daylight Time", 660, "Australia/Sydney", "AU"),),
    "nzst": (_m("New Zealand Standard Time", 720, "Pacific/Auckland", "NZ"),),
    "nzdt": (_m("New Zealand Daylight Time", 780, "Pacific/Auckland", "NZ"),),
    "sast": (_m("South Africa Standard Time", 120, "Africa/Johannesburg", "ZA"),),
    "cat": (_m("Central Africa Time", 120, "Africa/Maputo", "MZ ZM ZW BW MW RW"),),
    "eat": (_m("East Africa Time", 180, "Africa/Nairobi", "KE TZ UG ET SO"),),
    "wat": (_m("West Africa Time", 60, "Africa/Lagos", "NG CM AO"),),
    "brt": (_m("Brasília Time", -180, "America/Sao_Paulo", "BR"),),
    "art": (_m("Argentina Time", -180, "America/Argentina/Buenos_Aires", "AR"),),
}

# A region's own clock, standard or daylight as the date has it.
REGIONS: dict[tuple[str, ...], str] = {
    ("et",): _NY,
    ("eastern",): _NY,
    ("ct",): _CHI,
    ("central",): _CHI,
    ("mt",): _DEN,
    ("mountain",): _DEN,
    ("pt",): _LA,
    ("pacific",): _LA,
    ("hawaii",): "Pacific/Honolulu",
    ("alaska",): "America/Anchorage",
    ("atlantic",): "America/Halifax",
    ("uk",): "Europe/London",
    ("british",): "Europe/London",
    ("nyc",): _NY,
    ("san", "francisco"): _LA,
    ("sf",): _LA,
    ("seattle",): _LA,
    ("las", "vegas"): _LA,
    ("boston",): _NY,
    ("washington",): _NY,
    ("dc",): _NY,
    ("miami",): _NY,
    ("atlanta",): _NY,
    ("philadelphia",): _NY,
    ("dallas",): _CHI,
    ("houston",): _CHI,
    ("austin",): _CHI,
    ("mumbai",): "Asia/Kolkata",
    ("delhi",): "Asia/Kolkata",
    ("new", "delhi"): "Asia/Kolkata",
    ("bangalore",): "Asia/Kolkata",
    ("beijing",): "Asia/Shanghai",
    ("ny",): _NY,
    ("la",): _LA,
    ("california",): _LA,
    ("vegas",): _LA,
    ("calcutta",): "Asia/Kolkata",
    ("kiev",): "Europe/Kyiv",
}
# Full names of North American clocks: "Pacific Standard Time" is PST, with its checks.
FULL_NAMES: dict[tuple[str, ...], str] = {
    (region, kind, "time"): f"{region[0]}{kind[0]}t"
    for region in ("eastern", "central", "mountain", "pacific", "atlantic")
    for kind in ("standard", "daylight")
}
# "central European time": the European sense wins over the American one.
REGIONS[("central", "european")] = "Europe/Paris"
REGIONS[("eastern", "european")] = "Europe/Athens"
REGIONS[("western", "european")] = "Europe/Lisbon"


# Zone names that are something else to most users: a holiday, a US state.
_NOT_PLACES = frozenset({("easter",), ("jersey",), ("georgia",), ("guernsey",)})


@cache
def _zone_table() -> tuple[dict[str, str], dict[tuple[str, ...], str]]:
    """(zone → country, city words → zone) from the tz database's zone.tab."""
    try:
        text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError):  # the OS's own tz database instead
        try:
            text = Path("/usr/share/zoneinfo/zone.tab").read_text()
        except OSError:
            text = ""
    countries: dict[str, str] = {}
    cities: dict[tuple[str, ...], str] = {}
    seen: set[tuple[str, ...]] = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        country, _, name = line.split("\t")[:3]
        countries[name] = country
        words = tuple(name.rsplit("/", 1)[-1].lower().replace("_", " ").split())
        if words in _NOT_PLACES or words in seen:
            cities.pop(words, None)  # two zones, one city name: neither
        else:
            cities[words] = name
            seen.add(words)
    return countries, cities


@cache
def _country_zones() -> dict[tuple[str, ...], str]:
    """English country names → the country's zone, for countries that keep one clock (all their zones
    agree in January and July); China keeps Beijing time officially."""
    from babel import Locale

    by_country: dict[str, list[str]] = {}
    for zone, country in _zone_table()[0].items():
        by_country.setdefault(country, []).append(zone)
    names: dict[tuple[str, ...], str] = {}
    for code, name in Locale("en").territories.items():
        members = by_country.get(code)
        if not members:
            continue
        if code == "CN":
            members = ["Asia/Shanghai"]
        offsets = {
            tuple(datetime(2026, month, 15, 12, tzinfo=ZoneInfo(zone)).utcoffset() for month in (1, 7))
            for zone in members
        }
        words = tuple(name.lower().replace("&", "and").split())
        if len(offsets) == 1 and words not in _NOT_PLACES:
            names[words] = sorted(members)[0]
    return names


def country_zone(words: tuple[str, ...]) -> str | None:
    """The zone of a country typed before "time" (`india` → `Asia/Kolkata`); None for several clocks."""
    return _country_zones().get(words)


def country_of(zone: ZoneInfo) -> str | None:
    """The ISO country code of an IANA zone (`America/Toronto` → `CA`), when the tz database says."""
    return _zone_table()[0].get(zone.key)


def city_zone(words: tuple[str, ...]) -> str | None:
    """The zone of a city typed before "time" (`london` → `Europe/London`)."""
    return REGIONS.get(words) or _zone_table()[1].get(words)


def iana_zone(word: str) -> str | None:
    """`america/new_york` typed as is → `America/New_York`."""
    if "/" not in word:
        return None
    name = "/".join(part.capitalize() if "_" not in part else "_".join(p.capitalize() for p in part.split("_"))
                    for part in word.split("/"))  # fmt: skip
    for candidate in (name, name.replace("_Of_", "_of_"), name.upper()):
        try:
            return ZoneInfo(candidate).key
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones (America/Argentina)
            continue
    return None


def fixed(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def offset_typed(minutes: int) -> str:
    """An offset as it can be typed back: `UTC+5:30`, `UTC-5`."""
    return offset_label(minutes).replace("−", "-")


def resolve_abbreviation(
    key: str, text: str, wall: datetime, user_zone: ZoneInfo, country: str | None = None
) -> list[tuple[tzinfo, str]]:
    """The zone(s) `key` (an abbreviation) can mean for a wall-clock time `wall` (naive) typed by someone in
    `user_zone` (and `country`, from their locale, when the zone says none): one when it is clear; raises
    `Unreadable` when it is not, or contradicts the date."""
    meanings = ABBREVIATIONS[key]
    own = wall.replace(tzinfo=user_zone)
    if (own.tzname() or "").lower() == key:
        # The user's own zone calls itself that right then (MST in Phoenix all year, IST in Kolkata).
        return [(user_zone, key.upper())]
    if len(meanings) > 1:
        country = country_of(user_zone) or country
        local = [meaning for meaning in meanings if country and country in meaning.countries]
        if len(local) != 1:
            names = "; ".join(f"{m.label} ({offset_label(m.offset or 0)})" for m in meanings)
            raise Unreadable(
                f"`{text.upper()}` names several zones: {names}; write the offset instead",
                tuple(f"{offset_typed(m.offset or 0)}" for m in meanings),
                rank=3,
            )
        meanings = tuple(local)
    meaning = meanings[0]
    assert meaning.offset is not None
    if country_of(user_zone) in meaning.countries and own.utcoffset() == timedelta(minutes=meaning.offset):
        # Said of the user's own clock, which keeps that offset then (EST in Brisbane, all year AEST)
        return [(user_zone, key.upper())]
    if meaning.region is not None:
        # The letters name a fixed offset; on this date the region's own clock may keep another (EST in
        # July, Irish "IST" in winter): which one was meant is not ours to guess.
        region = ZoneInfo(meaning.region)
        kept = wall.replace(tzinfo=region)
        kept_offset = int(kept.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        if kept_offset != meaning.offset:
            city = meaning.region.rsplit("/", 1)[-1].replace("_", " ")
            shown = text.upper() if len(text) <= 5 else text
            raise Unreadable(
                f"`{shown}` is {offset_label(meaning.offset)}, but on {wall:%b} {wall.day} {city} keeps "
                f"{kept.tzname()} ({offset_label(kept_offset)}): say which clock you mean",
                (f"{kept.tzname()}", offset_typed(meaning.offset)),
                rank=3,
            )
    return [(fixed(meaning.offset), key.upper())]
