"""Money as people type it ("$1,234.50", "45", "12,50 €") to exact integer minor units, and back.

Only integer arithmetic on the digits: no float ever touches an amount.

The one rule for separators (documented in the README):
- a space, an apostrophe or a thin space only ever groups thousands;
- when both `.` and `,` appear, the last one is the decimal mark;
- a separator that appears more than once groups thousands (`1,234,567`);
- a single separator not followed by exactly three digits is the decimal mark (`45.5`, `12,50`);
- a single separator followed by exactly three digits (`1,234` / `1.234`) is read with the
  `DECIMAL_MARK` setting: with `.` (the default) `1,234` is 1234 and `1.234` has three decimals, which
  a two-decimal currency refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property

from babel.numbers import format_currency, get_currency_precision, get_currency_symbol, list_currencies

from bot.problems import InvalidValue

MAX_INPUT_LENGTH = 64
MAX_MAJOR_UNITS = 1_000_000_000

_GROUP_ONLY = " '’\u00a0\u202f\u2009"
_NUMBER = re.compile(r"[0-9][0-9.,'’ \u00a0\u202f\u2009]*|[.,][0-9]+")
_SIGNS = "-−–+("
# Where people write a currency's sign differently ("$" in the US is "US$" in Canada).
_MARKER_LOCALES = ("en_US", "en_CA", "en_GB", "en_AU")


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency: its code, how many minor digits it has, and the markers people type for it."""

    code: str
    exponent: int

    @classmethod
    def of(cls, code: str) -> Currency:
        return _currency(code.upper())

    @cached_property
    def markers(self) -> frozenset[str]:
        # On first use: the signs come from four locales' data, which start-up need not wait for.
        markers = {self.code.lower()}
        for locale in _MARKER_LOCALES:
            symbol = get_currency_symbol(self.code, locale=locale)
            markers.add(symbol.lower())
            # "CA$", "US$", "CN¥" are also typed as the bare sign.
            bare = symbol.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            if bare and bare != symbol:
                markers.add(bare.lower())
        return frozenset(markers)

    def format(self, minor_units: int) -> str:
        """`123456` → `$1,234.56` (for USD): for display."""
        return format_currency(Decimal(minor_units).scaleb(-self.exponent), self.code, locale="en_US")


@cache
def _currency(code: str) -> Currency:
    if code not in list_currencies():
        raise ValueError(f"unknown currency {code!r}")
    return Currency(code=code, exponent=get_currency_precision(code))


@cache
def known_markers() -> dict[str, str]:
    """Every currency sign or code we can name in an error, mapped to its code (`€` → EUR)."""
    known: dict[str, str] = {}
    for code in sorted(list_currencies()):
        known.setdefault(code.lower(), code)
        for locale in _MARKER_LOCALES:
            symbol = get_currency_symbol(code, locale=locale).lower()
            if symbol != code.lower():
                known.setdefault(symbol, code)
    known["$"] = "USD"
    known["€"] = "EUR"
    known["£"] = "GBP"
    known["¥"] = "JPY"
    return known


class MoneyReader:
    """Reads amounts in one configured currency."""

    def __init__(self, currency: Currency, decimal_mark: str = ".") -> None:
        if decimal_mark not in ".,":
            raise ValueError("decimal_mark must be '.' or ','")
        self.currency = currency
        self.decimal_mark = decimal_mark

    @cached_property
    def example(self) -> str:
        return self.currency.format(4999 * 10**self.currency.exponent // 100)

    def plain(self, minor_units: int) -> str:
        """`123456` → `1234.56` (or `1234,56` with DECIMAL_MARK=,): text that reads back exactly."""
        exponent = self.currency.exponent
        if exponent == 0:
            return str(minor_units)
        major, minor = divmod(minor_units, 10**exponent)
        return f"{major}{self.decimal_mark}{minor:0{exponent}d}"

    def parse(self, text: str) -> int:
        """Return the amount in minor units (cents for USD); raise `InvalidValue` saying what to fix."""
        raw = text.strip()
        if not raw:
            raise InvalidValue("is empty", example=self.example)
        # "45,-" and "45.–" are how some write a whole amount.
        raw = re.sub(r"(?<=[0-9])[.,][-–—]$", "", raw) or raw
        if len(raw) > MAX_INPUT_LENGTH:
            raise InvalidValue(f"is too long to be an amount ({len(raw)} characters)", example=self.example)
        if re.search(r"[0-9][eE][+-]?[0-9]", raw):
            raise InvalidValue(f"`{raw}` is not an amount (no exponents)", example=self.example)
        if any(sign in raw for sign in _SIGNS):
            if any(sign in raw for sign in "-−–("):
                raise InvalidValue(f"`{raw}` is negative; amounts must be zero or more", example=self.example)
            raise InvalidValue(f"`{raw}`: leave out the `+` sign", example=self.example)
        match = _NUMBER.search(raw)
        if match is None:
            raise InvalidValue(f"`{raw}` is not an amount", example=self.example)
        self._check_markers(raw, raw[: match.start()], raw[match.end() :])
        number = match.group().strip(_GROUP_ONLY)
        whole, fraction = self._split(raw, number)
        if len(fraction) > self.currency.exponent:
            raise InvalidValue(self._too_many_decimals(raw, fraction), example=self.example)
        major = int(whole) if whole else 0
        if major >= MAX_MAJOR_UNITS:
            raise InvalidValue(
                f"`{raw}` is over {MAX_MAJOR_UNITS:,} {self.currency.code}, which looks like a typo",
                example=self.example,
            )
        scale = 10**self.currency.exponent
        return major * scale + (int(fraction.ljust(self.currency.exponent, "0")) if fraction else 0)

    def _check_markers(self, raw: str, before: str, after: str) -> None:
        for marker in (before.strip(), after.strip()):
            if not marker:
                continue
            folded = marker.lower()
            if folded in self.currency.markers:
                continue
            if re.search(r"[0-9]", marker):
                raise InvalidValue(f"`{raw}` holds more than one number", example=self.example)
            other = known_markers().get(folded)
            if other is not None and other != self.currency.code:
                raise InvalidValue(
                    f"`{raw}` is in {other}, but this workspace records amounts in {self.currency.code}",
                    example=self.example,
                )
            raise InvalidValue(f"`{raw}` is not an amount", example=self.example)
        if before.strip() and after.strip():
            raise InvalidValue(f"`{raw}` names the currency twice", example=self.example)

    def _split(self, raw: str, number: str) -> tuple[str, str]:
        """Split the digits into the whole part and the fraction, checking the grouping."""
        marks = [(index, char) for index, char in enumerate(number) if char in ".,"]
        kinds = {char for _, char in marks}
        decimal_at: int | None = None
        if len(kinds) == 2:
            decimal_at, decimal_char = marks[-1]
            if sum(1 for _, char in marks if char == decimal_char) > 1:
                raise InvalidValue(f"`{raw}` mixes `.` and `,` in a way that is not a number", example=self.example)
        elif len(marks) == 1:
            index, char = marks[0]
            digits_after = len(number) - index - 1
            if digits_after != 3 or char == self.decimal_mark:
                decimal_at = index
        whole, fraction = (number, "") if decimal_at is None else (number[:decimal_at], number[decimal_at + 1 :])
        if not fraction.isdigit() and fraction:
            raise InvalidValue(f"`{raw}` has a malformed decimal part", example=self.example)
        if decimal_at is not None and not fraction:
            raise InvalidValue(f"`{raw}` ends with a separator", example=self.example)
        return self._ungroup(raw, whole), fraction

    def _ungroup(self, raw: str, whole: str) -> str:
        if not whole:
            return ""
        groups = re.split(r"[.,'’ \u00a0\u202f\u2009]", whole)
        separators = set(re.findall(r"[.,'’ \u00a0\u202f\u2009]", whole))
        if len(groups) > 1:
            # "0,500" is no thousand: a first group never starts with 0.
            first_ok = 1 <= len(groups[0]) <= 3 and not groups[0].startswith("0")
            if len(separators) > 1 or not first_ok or any(len(group) != 3 for group in groups[1:]):
                raise InvalidValue(
                    f"`{raw}` has digits grouped oddly; group thousands by three or leave them out",
                    example=self.example,
                )
        return "".join(groups)

    def _too_many_decimals(self, raw: str, fraction: str) -> str:
        code, places = self.currency.code, self.currency.exponent
        allowed = "no decimals" if places == 0 else f"at most {places} decimal{'s' if places > 1 else ''}"
        message = f"`{raw}` has {len(fraction)} decimals, but {code} amounts have {allowed}"
        if len(fraction) == 3 and raw.count(".") + raw.count(",") == 1:
            whole = int(re.sub(r"[^0-9]", "", raw))
            message += f" (if you meant {whole:,}, write `{whole}`)"
        return message
