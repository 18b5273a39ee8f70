"""How each currency is written where it is used, from CLDR (through babel): its signs and names in the
official languages of its countries and in English, the decimal mark those countries use, and whether they
group digits the Indian way (`1,00,000`).

Working this out loads every such locale's data (about 30 MB for the euro's twenty countries), so it is done
once, here, into `currency_habits.json`, which the bot reads (a few kB per process). After upgrading babel:

    python -m bot.currency_habits
"""

from __future__ import annotations

import json
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("currency_habits.json")

# The euro has no country of its own.
EUROZONE = ("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT", "NL",
            "PT", "SI", "SK")  # fmt: skip
ENGLISH = ("en", "en_US", "en_CA", "en_GB", "en_AU")
# Marks that change how text runs, not what it says (right-to-left marks, zero-width spaces, a BOM).
INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u200b\u2066\u2067\u2068\u2069\u061c\ufeff"), None)


@dataclass(frozen=True)
class Habits:
    markers: frozenset[str]  # lower case: signs, codes, names and the words of names
    decimal_marks: frozenset[str]  # "." and/or "," as the currency's countries write decimals
    lakh: bool  # grouped 1,00,000


@cache
def _table() -> dict[str, dict[str, object]]:
    return json.loads(DATA.read_text(encoding="utf-8"))["currencies"]


def all_markers() -> dict[str, list[str]]:
    """Every currency's markers (for naming the currency of an amount in another one)."""
    return {code: entry.get("markers", []) for code, entry in _table().items()}  # type: ignore[misc]


def habits(code: str) -> Habits:
    """The shipped habits of `code`; a currency CLDR says nothing about has none."""
    entry = _table().get(code, {})
    return Habits(
        markers=frozenset(entry.get("markers", ())),  # type: ignore[arg-type]
        decimal_marks=frozenset(entry.get("decimal_marks", ())),  # type: ignore[arg-type]
        lakh=bool(entry.get("lakh", False)),
    )


# --- working it out from CLDR ---------------------------------------------------------------------------------


def home_locales(code: str) -> list:  # type: ignore[type-arg]
    """The locales of the currency's countries in their first three official languages (pl_PL for PLN;
    de_CH, fr_CH and it_CH for CHF; every eurozone country's for EUR)."""
    from babel import Locale, UnknownLocaleError
    from babel.languages import get_official_languages

    locales = []
    for territory in EUROZONE if code == "EUR" else (code[:2],):
        for language in get_official_languages(territory, de_facto=True)[:3]:
            try:
                locales.append(Locale.parse(f"{language}_{territory}"))
            except (UnknownLocaleError, ValueError):
                continue
    return locales


def from_cldr(code: str) -> dict[str, object]:
    from babel import Locale

    home = home_locales(code)
    markers: set[str] = set()
    for locale in [*home, *(Locale.parse(name) for name in ENGLISH)]:
        symbol = locale.currency_symbols.get(code)
        if symbol:
            markers |= sign_forms(symbol, code)
        names = [locale.currencies.get(code), *(locale._data["currency_names_plural"].get(code) or {}).values()]
        for name in filter(None, names):
            markers |= name_forms(name)
    marks = {(locale.number_symbols.get("latn") or {}).get("decimal") for locale in home}
    return {
        "markers": sorted(marker for marker in markers if marker),
        "decimal_marks": sorted(mark for mark in marks if mark in (".", ",")),
        "lakh": any("#,##,##0" in locale.decimal_formats[None].pattern for locale in home),
    }


def sign_forms(symbol: str, code: str) -> set[str]:
    """A sign as written, lower case and without invisible marks; "CA$", "US$", "MX$" also bare ("$") where
    the letters are the country's own (so "R$" is never a bare "$")."""
    sign = symbol.translate(INVISIBLE).strip()
    forms = {fold(sign), fold(sign).rstrip(".")}
    bare = sign.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if bare and sign[: len(sign) - len(bare)] == code[:2] and not any(char.isalpha() for char in bare):
        forms.add(bare)
    return forms


def name_forms(name: str) -> set[str]:
    """A currency's name ("Polish zlotys", "lei românești", "대한민국 원") and its words of three letters or
    more ("zlotys", "lei", …) or of one CJK character ("원"), but not the joining words of names ("Trinidad
    and Tobago dollars": "and" names no currency)."""
    name = fold(name)
    forms = {name}
    words = name.split()
    if len(words) > 1:
        forms |= {
            word
            for word in words
            if word not in JOINING_WORDS and (len(word) >= 3 or all(ord(char) >= 0x2E80 for char in word))
        }
    return forms


JOINING_WORDS = frozenset(
    {
        "and",
        "the",
        "of",
        "de",
        "des",
        "del",
        "della",
        "der",
        "die",
        "das",
        "und",
        "von",
        "et",
        "och",
        "og",
        "dos",
        "les",
        "los",
        "las",
        "y",
        "e",
        "i",
        "u",
        "и",
        "ja",
        "és",
    }
)


def fold(text: str) -> str:
    """As the money reader compares text: NFKC, lower case, one plain space, no invisible marks (so CFA's
    "F\u202fCFA" is "f cfa", as typed)."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(INVISIBLE).lower().split())


def generate() -> dict[str, object]:
    import babel
    from babel.numbers import list_currencies

    return {"babel": babel.__version__, "currencies": {code: from_cldr(code) for code in sorted(list_currencies())}}


def main() -> int:
    DATA.write_text(json.dumps(generate(), ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
