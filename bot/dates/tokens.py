"""Chat text → tokens: numbers, clock times, numeric dates, words and signs, each kept with its text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

_TRANSLATE = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "−": "-",
        "‒": "-",
        "―": "-",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
    }
)

_MERIDIEM_DOTS = re.compile(r"(?<![a-z])([ap])\.\s?m\b\.?")
_OCLOCK = re.compile(r"\bo\s?'?\s?clock\b")
_WORD_HYPHEN = re.compile(r"([a-z]+)-(?=([a-z]+))")
_ABBREVIATION_DOT = re.compile(r"(?<=[a-z])\.(?=\s|,|$)")
# Chat spellings of day words that the tokenizer would split at the digit.
_CHAT = re.compile(r"\b2(moro+w?|morrow|mrw|mrow|day|nite|night)\b")
_CHAT_WORDS = {"day": "today", "nite": "tonight", "night": "tonight"}
# Shorthands: "nxt fri", "lst mon", "mid-day", "9ish", "noonish".
_SHORTHANDS = [
    (re.compile(r"\bnxt\b"), "next"),
    (re.compile(r"\blst\b"), "last"),
    (re.compile(r"\bmid[- ]?day\b"), "midday"),
    (re.compile(r"(?<=[0-9a-z])-?ish\b"), " ish"),
]

_TOKEN = re.compile(
    r"""
    (?P<date3>\d{1,4}(?P<sep>[./-])\d{1,2}(?P=sep)\d{1,4}(?![\d:]))   # 11/02/2026, 2026-11-02, 2.11.26
    | (?P<date3m>\d{1,2}-[a-z]{3,9}-\d{2,4}(?![\d:]))                 # 02-nov-2026
    | (?P<clock>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)                   # 3:30, 15:30:45
    | (?P<pair>\d{1,4}[./-]\d{1,2}(?![\d:]))                          # 11/2, 5.12, 3-4, 1.5
    | (?P<offset>(?:utc|gmt)\s?[+-]\s?\d{1,2}(?::?\d{2})?(?!\d)
        | (?<![\w:])[+-]\d{2}:?\d{2}(?!\d))                             # utc+2, gmt-05:30, +0100
    | (?P<ordinal>\d{1,2}(?:st|nd|rd|th)\b)                           # 2nd, 23rd
    | (?P<year>'\d{2}(?!\d))                                          # '26
    | (?P<number>\d+)
    | (?P<word>[a-z]+(?:'[a-z]+)?(?:/[a-z_+-]+)*'?)                   # o'clock, year's, america/new_york
    | (?P<sign>[,.()@+~&/?!;:-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # date3, clock, pair, offset, ordinal, year, number, word, sign
    text: str
    value: Any = None

    def __repr__(self) -> str:
        return f"{self.kind}:{self.text}"


def normalize(text: str) -> str:
    """Lower case, one kind of dash, quote and space; `a.m.` → `am`, `o'clock` → `oclock`."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).lower()
    text = _MERIDIEM_DOTS.sub(r"\1m", text)
    text = _OCLOCK.sub(" oclock", text)
    text = _WORD_HYPHEN.sub(_hyphen, text)
    text = _CHAT.sub(lambda match: _CHAT_WORDS.get(match.group(1), "tomorrow"), text)
    for pattern, replacement in _SHORTHANDS:
        text = pattern.sub(replacement, text)
    text = _ABBREVIATION_DOT.sub("", text)
    return " ".join(text.strip(" \"'").split())


def _hyphen(match: re.Match[str]) -> str:
    """ "twenty-one", "x-mas" are one word apart; "Mon-Fri", "Jan-Mar" are ranges."""
    from bot.dates.words import MONTHS, WEEKDAYS

    left, right = match.group(1), match.group(2)
    for names in (WEEKDAYS, MONTHS):
        if left in names and right in names:
            return f"{left} - "
    return f"{left} "


def tokenize(text: str) -> list[Token] | None:
    """Tokens of normalized text, or None when some character is none of ours (an emoji, another script)."""
    tokens: list[Token] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if text[position : match.start()].strip():
            return None
        position = match.end()
        kind = match.lastgroup
        raw = match.group()
        if match.group("date3"):  # checked by group: `lastgroup` names its inner `sep`
            separator = match.group("sep")
            tokens.append(Token("date3", raw, (tuple(raw.split(separator)), separator)))
        elif kind == "date3m":
            day, month, year = raw.split("-")
            tokens.append(Token("date3m", raw, (day, month, year)))
        elif kind == "clock":
            parts = raw.split(":")
            seconds = parts[2] if len(parts) > 2 else None
            tokens.append(Token("clock", raw, (parts[0], parts[1], seconds)))
        elif kind == "pair":
            separator = next(char for char in raw if char in "./-")
            first, second = raw.split(separator)
            tokens.append(Token("pair", raw, (first, second, separator)))
        elif kind == "offset":
            tokens.append(Token("offset", raw, _offset_minutes(raw)))
        elif kind == "ordinal":
            tokens.append(Token("ordinal", raw, int(raw[:-2])))
        elif kind == "year":
            tokens.append(Token("year", raw, raw[1:]))
        elif kind == "number":
            tokens.append(Token("number", raw, int(raw)))
        elif kind == "word":
            tokens.append(Token("word", raw.rstrip("'")))
        else:
            tokens.append(Token("sign", raw))
    if text[position:].strip():
        return None
    return tokens


def _offset_minutes(raw: str) -> int | None:
    match = re.search(r"([+-])\s?(\d{1,2})(?::?(\d{2}))?$", raw.replace(" ", ""))
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes or 0)
    if total > 14 * 60 or int(minutes or 0) >= 60:
        return None
    return -total if sign == "-" else total
