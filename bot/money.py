"""Money as people type it ("$1,234.50", "45", "12,50 €", "3 990 Ft", "RM50") to exact integer minor
units, and back.

Only integer arithmetic on the digits: no float ever touches an amount.

Minor units are ISO 4217's (cents for USD, none for JPY, 1/100 for HUF), from the `iso4217` package,
which follows the ISO table: CLDR's own "digits" drop the minor unit of some currencies (HUF, COP, IDR)
that SegMetrics and payment processors still count in.

The configured currency may be written with any of its signs, codes or names in the languages of the
countries that use it and in English (`zł`, `Kč`, `₽`, `円`, `원`, `lei`, `dollars`), as CLDR has them
(`currency_habits.py`), plus a short table of common abbreviations CLDR lacks (`руб.`, `грн.`, `Rs.`).

The one rule for separators (documented in the README):
- a space, an apostrophe or a thin space only ever groups thousands;
- when both `.` and `,` appear, the last one is the decimal mark;
- a separator that appears more than once groups thousands (`1,234,567`; `1,00,000` for currencies
  grouped the Indian way);
- a single separator not followed by exactly three digits is the decimal mark (`45.5`, `12,50`);
- a single separator followed by exactly three digits (`1,234` / `1.234`) is read with the decimal mark:
  `DECIMAL_MARK` when set; otherwise the one the currency's own countries use, and when they disagree
  (the euro, Swiss francs, Canadian dollars) such an amount is refused as ambiguous.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property

from babel.numbers import format_currency, get_currency_precision, list_currencies

from bot.currency_habits import INVISIBLE, fold, habits
from bot.problems import InvalidValue

MAX_INPUT_LENGTH = 64
MAX_MAJOR_UNITS = 1_000_000_000

_GROUP_ONLY = " '’\u00a0\u202f\u2009"
_SEPARATORS = ".,'’ \u00a0\u202f\u2009"
_NUMBER = re.compile(
    r"[0-9](?:[.,'’\u00a0\u202f\u2009]?[0-9]|[ ](?=[0-9]{3}(?![0-9])))*(?:[.,][0-9]+)?|(?<![^\W\d_]|[/.,])[.,][0-9]+"
)
# Marks that say "a whole amount": "45,-" "12.–" "CHF 12.-" "Rs. 499/-" "1,500/=" "99:-".
_WHOLE_MARK = re.compile(r"(?<=[0-9])\s?(?:[.,:]\s?[-–—]+|/[-=])")
_MINUS = "-−–—‐‑‒﹣－"
# Abbreviations in common use that CLDR does not list (it moved on to the new signs).
COMMON_SIGNS: dict[str, tuple[str, ...]] = {
    "RUB": ("руб", "руб.", "р.", "rub", "rubles", "roubles"),
    "UAH": ("грн", "грн.", "uah"),
    "BYN": ("руб.", "br"),
    "KZT": ("тг", "тенге"),
    "KRW": ("원",),
    "CNY": ("元", "rmb", "yuan"),
    "JPY": ("円", "yen"),
    "INR": ("rs", "rs.", "rupees", "₨"),
    "PKR": ("rs", "rs.", "₨"),
    "LKR": ("rs", "rs."),
    "NPR": ("rs", "rs."),
    "KES": ("kshs", "kshs.", "ksh.", "/="),
    "BHD": ("bd",),
    "KWD": ("kd",),
    "JOD": ("jd",),
    "OMR": ("ro",),
    "TND": ("dt",),
    "CLP": ("clp$",),
    "TZS": ("tsh",),
    "UGX": ("ush",),
    "MXN": ("mx$", "mex$"),
    "PEN": ("s/.",),
    "VND": ("đ", "vnđ", "vnd"),
    "IDR": ("rp.",),
    "SGD": ("s$", "sg$"),
    "TWD": ("nt$", "ntd", "元", "新台幣", "新台币"),
    "HKD": ("hk$", "元", "港幣"),
    "AUD": ("a$", "au$"),
    "NZD": ("nz$",),
    "CAD": ("c$",),
    "CHF": ("fr.", "sfr.", "fr"),
    "SEK": ("kr.", ":-"),
    "NOK": ("kr.",),
    "DKK": ("kr", "kr."),
    "ISK": ("kr", "kr."),
    "CZK": ("kc",),
    "PLN": ("zl",),
    "RON": ("lei",),
    "BGN": ("лв",),
    "TRY": ("tl",),
    "ILS": ("nis", 'ש"ח', "ש״ח"),
    "AED": ("dhs", "dh", "د.إ"),
    "SAR": ("sr", "ر.س"),
    "EGP": ("e£", "le", "l.e.", "l.e", "ج.م"),
    "EUR": ("eur", "euro", "euros", "€"),
    "USD": ("dollars", "dollar", "us$", "us $"),
    "GBP": ("pounds", "pound", "gbp"),
    "THB": ("บาท",),
    "MYR": ("ringgit",),
    "PHP": ("php", "₱"),
    "NGN": ("₦",),
    "BRL": ("reais", "real"),
    "ARS": ("ar$",),
}
# The minor unit by name: "99p", "50 cents", "500 fils".
_CENTS = ("¢", "cent", "cents")
MINOR_WORDS: dict[str, tuple[str, ...]] = {
    **{code: _CENTS for code in ("USD", "EUR", "CAD", "AUD", "NZD", "SGD", "HKD", "ZAR", "TWD")},
    "GBP": ("p", "pence", "penny"),
    **{code: ("fils",) for code in ("BHD", "KWD", "JOD", "IQD", "AED")},
    "OMR": ("baisa", "baiza"),
    "TND": ("millimes",),
}
_SCALE_WORDS = re.compile(r"[0-9]\s?(k|m|mm|mn|bn|b|mil|million|millions|thousand|grand|lakh|lakhs|crore)\b", re.I)
# Currencies whose everyday amounts run into billions: no amount of theirs "looks like a typo" below 10^12.
_LARGE_UNITS = frozenset(
    {
        "IDR",
        "VND",
        "KRW",
        "COP",
        "IRR",
        "LBP",
        "UZS",
        "LAK",
        "GNF",
        "SLL",
        "SLE",
        "MGA",
        "PYG",
        "UGX",
        "TZS",
        "KHR",
        "MMK",
        "IQD",
        "SYP",
        "KPW",
        "BIF",
        "STN",
        "VES",
    }
)
_RANGE = re.compile(r"[0-9]\s*[^0-9]{0,6}?\s*(?:[-–—~]|\b(?:to|bis|à|a|до)\b)\s*[^0-9]{0,6}?[0-9]", re.I)


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
        """Every way to write this currency next to an amount, lower case: its code, its signs and its names
        in the countries that use it and in English (`currency_habits.json`), and the common abbreviations."""
        return frozenset({self.code.lower(), *COMMON_SIGNS.get(self.code, ()), *habits(self.code).markers})

    # The JSON holds folded forms (`currency_habits.fold`); the common signs are written folded.

    @cached_property
    def minor_markers(self) -> frozenset[str]:
        return frozenset(MINOR_WORDS.get(self.code, ()))

    @cached_property
    def decimal_marks(self) -> frozenset[str]:
        """The decimal marks of the countries that use this currency (`,` for PLN; both for EUR)."""
        return habits(self.code).decimal_marks

    @cached_property
    def groups_by_lakh(self) -> bool:
        """Whether the currency's own countries group digits the Indian way (`1,00,000`)."""
        return habits(self.code).lakh

    def format(self, minor_units: int) -> str:
        """`123456` → `$1,234.56` (for USD): for display."""
        amount = Decimal(minor_units).scaleb(-self.exponent)
        if get_currency_precision(self.code) == self.exponent:
            return format_currency(amount, self.code, locale="en_US")
        # CLDR would round HUF to whole forints: show the minor unit ISO gives it.
        pattern = "¤#,##0" + ("." + "0" * self.exponent if self.exponent else "")
        return format_currency(amount, self.code, locale="en_US", format=pattern, currency_digits=False)


@cache
def _currency(code: str) -> Currency:
    if code not in list_currencies():
        raise ValueError(f"unknown currency {code!r}")
    return Currency(code=code, exponent=_iso_exponent(code))


def _iso_exponent(code: str) -> int:
    """ISO 4217's minor unit (HUF: 2), or CLDR's digits for a code ISO gives none (a precious metal)."""
    try:
        from iso4217 import Currency as Iso

        exponent = Iso(code).exponent
    except (ImportError, ValueError):
        exponent = None
    return exponent if exponent is not None else get_currency_precision(code)


@cache
def known_markers() -> dict[str, tuple[str, ...]]:
    """Every currency sign, code or name we can name in an error, mapped to the currencies it names
    (`€` → EUR; `kr` → DKK, ISK, NOK, SEK)."""
    from bot.currency_habits import all_markers

    known: dict[str, set[str]] = {}
    for code, markers in all_markers().items():
        for marker in {code.lower(), *markers, *COMMON_SIGNS.get(code, ())}:
            known.setdefault(marker, set()).add(code)
    return {marker: tuple(sorted(codes)) for marker, codes in known.items()}


class MoneyReader:
    """Reads amounts in one configured currency. `decimal_mark` is "." or "," (DECIMAL_MARK), or None to use
    the one of the countries that use the currency."""

    def __init__(self, currency: Currency, decimal_mark: str | None = ".") -> None:
        if decimal_mark not in (".", ",", None):
            raise ValueError("decimal_mark must be '.' or ','")
        self.currency = currency
        self.decimal_mark = decimal_mark

    def warm_up(self) -> None:
        """Load the currency's markers and its countries' habits (CLDR data, ~50 ms) before a user needs them."""
        _ = self.example, self.currency.markers, self.currency.decimal_marks, self.currency.groups_by_lakh
        known_markers()

    @cached_property
    def example(self) -> str:
        """49.99 in this currency, written so that this reader reads it back: the display form (`$49.99`),
        except where its three decimals after a dot would be a thousands group here (`KWD49.990` to a
        reader whose decimal mark is a comma: `49,990`)."""
        amount = 4999 * 10**self.currency.exponent // 100
        if self.currency.exponent == 3 and self._mark() != ".":
            return self.plain(amount)
        return self.currency.format(amount)

    def _mark(self) -> str | None:
        """The decimal mark in force: DECIMAL_MARK, else the currency's countries' one if they agree."""
        home = self.currency.decimal_marks
        return self.decimal_mark or (next(iter(home)) if len(home) == 1 else None)

    def plain(self, minor_units: int) -> str:
        """`123456` → `1234.56` (or `1234,56` with DECIMAL_MARK=,): text that reads back exactly."""
        exponent = self.currency.exponent
        if exponent == 0:
            return str(minor_units)
        major, minor = divmod(minor_units, 10**exponent)
        return f"{major}{self._mark() or '.'}{minor:0{exponent}d}"

    def parse(self, text: str) -> int:
        """Return the amount in minor units (cents for USD); raise `InvalidValue` saying what to fix."""
        raw = text.strip()
        if not raw:
            raise InvalidValue("is empty", example=self.example)
        if len(raw) > MAX_INPUT_LENGTH:
            raise InvalidValue(f"is too long to be an amount ({len(raw)} characters)", example=self.example)
        footnote = next((char for char in raw if unicodedata.category(char) == "No"), None)
        if footnote is not None:
            # "$999¹", "5½": NFKC would make a footnote mark or a fraction into more digits.
            raise InvalidValue(f"`{raw}` has a footnote mark or fraction (`{footnote}`); give only the amount",
                               example=self.example)  # fmt: skip
        clean, hint = _arabic(_ascii_digits(unicodedata.normalize("NFKC", raw).translate(INVISIBLE)).strip())
        whole_marks = list(_WHOLE_MARK.finditer(clean))
        if len(whole_marks) > 1:
            joined = clean[whole_marks[0].end() : whole_marks[1].start()]
            why = "is a range; give one amount" if _RANGE.search(f"0{joined}") else "holds more than one number"
            raise InvalidValue(f"`{raw}` {why}", example=self.example)
        whole_mark = whole_marks[0] if whole_marks else None
        if whole_mark is not None:
            # "1.299,-": the sign before the dash is where the decimals would go; "1,500/=": there are none.
            mark = whole_mark.group().strip()[0]
            hint = mark if mark in ".," else "none"
            clean = f"{clean[: whole_mark.start()]} {clean[whole_mark.end() :]}".strip()
        if re.search(r"[0-9][eE][+-]?[0-9]", clean):
            raise InvalidValue(f"`{raw}` is not an amount (no exponents)", example=self.example)
        scaled = _SCALE_WORDS.search(clean)
        if scaled:
            # "50K", "5m": thousands and millions to most, even where K or M is the currency's own sign.
            raise InvalidValue(f"`{raw}`: write the amount in full, without `{scaled.group(1)}`", example=self.example)
        numbers = list(_NUMBER.finditer(clean))
        if not numbers:
            raise InvalidValue(f"`{raw}` is not an amount", example=self.example)
        if len(numbers) > 1:
            if _RANGE.search(clean[numbers[0].start() : numbers[1].end()]):
                raise InvalidValue(f"`{raw}` is a range; give one amount", example=self.example)
            if all(char in _SEPARATORS for char in clean[numbers[0].end() : numbers[1].start()]):
                raise InvalidValue(
                    f"`{raw}` has digits grouped oddly; group thousands by three or leave them out",
                    example=self.example,
                )
            raise InvalidValue(f"`{raw}` holds more than one number", example=self.example)
        match = numbers[0]
        before, after = clean[: match.start()].strip(), clean[match.end() :].strip()
        if after in (".", ","):
            raise InvalidValue(f"`{raw}` ends with a separator", example=self.example)
        self._check_sign(raw, before, after)
        touching = match.start() > 0 and not clean[match.start() - 1].isspace()
        minor = self._check_markers(raw, before, after, touching)
        number = match.group().strip(_GROUP_ONLY)
        whole, fraction = self._split(raw, number, hint)
        if whole_mark and fraction:
            raise InvalidValue(f"`{raw}` has decimals and a mark saying it has none", example=self.example)
        if minor:
            if fraction:
                raise InvalidValue(f"`{raw}` gives a fraction of the smallest unit", example=self.example)
            whole, fraction = str(int(whole or "0") // 10**self.currency.exponent), "minor"
        if fraction != "minor" and len(fraction) > self.currency.exponent:
            raise InvalidValue(self._too_many_decimals(raw, fraction), example=self.example)
        major = int(whole) if whole else 0
        limit = MAX_MAJOR_UNITS * (1000 if self.currency.code in _LARGE_UNITS else 1)
        if major >= limit:
            raise InvalidValue(
                f"`{raw}` is {limit:,} {self.currency.code} or more, which looks like a typo",
                example=self.example,
            )
        if fraction == "minor":
            return int(number.translate(str.maketrans("", "", _SEPARATORS)))
        scale = 10**self.currency.exponent
        return major * scale + (int(fraction.ljust(self.currency.exponent, "0")) if fraction else 0)

    def _check_sign(self, raw: str, before: str, after: str) -> None:
        """A minus before the amount, or the whole amount in parentheses, is negative; a plus is refused."""
        leading = before.replace(" ", "")
        if (leading.startswith("(") and after.endswith(")")) or any(sign in leading for sign in _MINUS):
            raise InvalidValue(f"`{raw}` is negative; amounts must be zero or more", example=self.example)
        if after.startswith(tuple(_MINUS)):
            raise InvalidValue(f"`{raw}` ends with a minus: is it negative? Amounts must be zero or more",
                               example=self.example)  # fmt: skip
        if "+" in leading:
            raise InvalidValue(f"`{raw}`: leave out the `+` sign", example=self.example)

    def _check_markers(self, raw: str, before: str, after: str, touching: bool = False) -> bool:
        """Check the text around the number; True when it names the minor unit ("99p", "50 cents")."""
        sides = [side for side in (before, after) if side]
        kinds = [self._marker_side(side, touching=side is before and touching) for side in sides]
        if kinds == ["minor", "minor"] or (len(kinds) == 2 and "minor" in kinds and "major" in kinds):
            raise InvalidValue(f"`{raw}` names two units", example=self.example)
        for side, kind in zip(sides, kinds, strict=True):
            if kind is not None:
                continue
            folded = fold(side)
            others = known_markers().get(folded) or known_markers().get(folded.rstrip("."))
            if others and self.currency.code not in others:
                listed = ", ".join(others[:4]) + ("…" if len(others) > 4 else "")
                named = others[0] if len(others) == 1 else f"another currency (`{side}` is {listed})"
                raise InvalidValue(
                    f"`{raw}` is in {named}, but this workspace records amounts in {self.currency.code}",
                    example=self.example,
                )
            if re.search(r"[^\W\d_]", side):
                raise InvalidValue(f"`{raw}` has extra words (`{side}`); give only the amount", example=self.example)
            raise InvalidValue(f"`{raw}` is not an amount", example=self.example)
        return "minor" in kinds

    def _marker_side(self, side: str, *, touching: bool = False) -> str | None:
        """ "major" when `side` names this currency, "minor" when it names its minor unit, else None. A sign
        whose dot touches the digits counts only when it is written with that dot (`Rs.99`; `R.50` may be
        50 cents, `USD.99` is no amount); elsewhere a dot may end an abbreviation or a sentence (`10 USD.`)."""
        folded = fold(side)
        markers = self.currency.markers
        loose = folded if touching else folded.rstrip(".")
        if folded in markers or loose in markers or folded.replace(" ", "") in markers:
            return "major"
        if folded in self.currency.minor_markers:
            return "minor"
        # "USD $", "人民币 … 元" written as two signs of the same currency
        words = folded.split()
        if len(words) > 1 and all(word in markers or word.rstrip(".") in markers for word in words):
            return "major"
        return None

    def _split(self, raw: str, number: str, hint: str | None = None) -> tuple[str, str]:
        """Split the digits into the whole part and the fraction, checking the grouping. `hint` is the
        decimal mark when the text itself says it (`1.299,-`, Arabic's `٫`), or "none" when it says there
        are no decimals (`1,500/=`)."""
        marks = [(index, char) for index, char in enumerate(number) if char in ".,"]
        kinds = {char for _, char in marks}
        decimal_at: int | None = None
        if hint is not None:
            decimals = [index for index, char in marks if char == hint]
            if len(decimals) > 1:
                raise InvalidValue(f"`{raw}` has more than one decimal mark", example=self.example)
            decimal_at = decimals[0] if decimals else None
        elif len(kinds) == 2:
            decimal_at, decimal_char = marks[-1]
            if sum(1 for _, char in marks if char == decimal_char) > 1:
                raise InvalidValue(f"`{raw}` mixes `.` and `,` in a way that is not a number", example=self.example)
        elif len(marks) == 1:
            index, char = marks[0]
            digits_after = len(number) - index - 1
            if digits_after != 3:
                decimal_at = index
            elif any(group in number for group in _GROUP_ONLY) or number.startswith("0"):
                # "1 234,567", "0,500": grouped another way already, or no thousand: decimals
                decimal_at = index
            elif self._is_decimal_mark(raw, number, char):
                decimal_at = index
        whole, fraction = (number, "") if decimal_at is None else (number[:decimal_at], number[decimal_at + 1 :])
        if not fraction.isdigit() and fraction:
            raise InvalidValue(f"`{raw}` has a malformed decimal part", example=self.example)
        if decimal_at is not None and not fraction:
            raise InvalidValue(f"`{raw}` ends with a separator", example=self.example)
        return self._ungroup(raw, whole), fraction

    def _is_decimal_mark(self, raw: str, number: str, char: str) -> bool:
        """For `1,234` / `1.234`: the decimal mark decides (DECIMAL_MARK, or when unset the one of the
        currency's own countries). A group it would make is ambiguous when those countries write their
        decimals with that very sign (`1,299 zł` with DECIMAL_MARK "." is 1.299 to a Pole), when the
        currency has three decimals (`1,250` dinars), or when DECIMAL_MARK is unset and the countries
        disagree (the euro)."""
        home = self.currency.decimal_marks
        mark = self._mark()
        if self.currency.exponent == 0:
            return char == mark  # no decimals to write: only the decimal mark itself can be one
        if char == mark:
            return True
        if mark is None or (home and mark not in home) or self.currency.exponent == 3:
            digits = number.replace(char, "")
            whole, fraction = number.split(char)
            if self.currency.exponent == 3:
                # both readings are amounts: say how to write each
                other = f"`{whole}{mark}{fraction}`" if mark else "set `DECIMAL_MARK` and write it with that mark"
                advice = f"write `{digits}` for {int(digits):,} {self.currency.code}, or {other} for {whole}.{fraction}"
            else:
                advice = f"write `{digits}` if you mean {int(digits):,} ({whole}.{fraction} has three decimals)"
            raise InvalidValue(
                f"`{raw}` could be read two ways where {self.currency.code} is used: {advice}", example=self.example
            )
        return False

    def _ungroup(self, raw: str, whole: str) -> str:
        if not whole:
            return ""
        groups = re.split(r"[.,'’ \u00a0\u202f\u2009]", whole)
        separators = set(re.findall(r"[.,'’ \u00a0\u202f\u2009]", whole))
        if len(groups) > 1:
            # "0,500" is no thousand: a first group never starts with 0.
            first_ok = 1 <= len(groups[0]) <= 3 and not groups[0].startswith("0")
            thousands = all(len(group) == 3 for group in groups[1:])
            lakhs = (
                self.currency.groups_by_lakh
                and len(groups[-1]) == 3
                and all(len(group) == 2 for group in groups[1:-1])
                and len(groups[0]) <= 2
            )
            if len(separators) > 1 or not first_ok or not (thousands or lakhs):
                raise InvalidValue(
                    f"`{raw}` has digits grouped oddly; group thousands by three or leave them out",
                    example=self.example,
                )
        return "".join(groups)

    def _too_many_decimals(self, raw: str, fraction: str) -> str:
        code, places = self.currency.code, self.currency.exponent
        allowed = "no decimals" if places == 0 else f"at most {places} decimal{'s' if places > 1 else ''}"
        count = f"{len(fraction)} decimal{'s' if len(fraction) > 1 else ''}"
        message = f"`{raw}` has {count}, but {code} amounts have {allowed}"
        digits = re.sub(r"[^0-9]", "", _ascii_digits(raw))
        if len(fraction) == 3 and raw.count(".") + raw.count(",") == 1 and not digits.startswith("0"):
            message += f" (if you meant {digits} in whole units, write `{digits}`)"
        return message


def _arabic(text: str) -> tuple[str, str | None]:
    """Arabic's own marks say which is which: `٫` is the decimal mark and `٬` groups. As `.` and `,`, with
    the decimal mark returned so the separator rule need not guess."""
    if "٫" in text or "٬" in text:
        return text.replace("٫", ".").replace("٬", ","), "."
    return text, None


def _ascii_digits(text: str) -> str:
    """Any script's digits as ASCII ("١٢٣" → "123"), Arabic's own separators as `.` and `,`."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)
