"""Misspelt date words ("Febuary", "wendesday", "yesterdday") read as the one word they can only be.

A word is corrected only when it is no word the reader knows, starts with the same letter as the date word
(typos rarely hit the first one, and "tours" is not "hours"), is six letters or more and one edit away
(eight or more and two edits), and no other date word is as close. Anything less certain stays unknown,
and the phrase is refused naming it.
"""

from __future__ import annotations

from functools import cache

from bot.dates import holidays, words, zones
from bot.distance import edit_distance

TARGETS = (
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "yesterday", "tomorrow", "today", "tonight", "morning", "afternoon", "evening",
    "midnight", "christmas", "thanksgiving", "halloween", "valentines", "easter", "minutes", "hours",
    "seconds", "weeks", "months", "years", "fortnight", "eastern", "pacific", "central", "mountain",
)  # fmt: skip

# Words the grammar reads that appear in no table of `words` (it matches them by name).
GRAMMAR_WORDS = frozenset(
    {
        "in",
        "within",
        "ago",
        "back",
        "later",
        "hence",
        "before",
        "after",
        "prior",
        "past",
        "next",
        "last",
        "this",
        "coming",
        "previous",
        "following",
        "week",
        "weekend",
        "weekends",
        "wknd",
        "year",
        "years",
        "month",
        "day",
        "days",
        "right",
        "just",
        "same",
        "time",
        "night",
        "tonight",
        "tonite",
        "today",
        "tomorrow",
        "yesterday",
        "overmorrow",
        "yday",
        "yest",
        "tmrw",
        "tmr",
        "tmw",
        "tomo",
        "tomorow",
        "tommorow",
        "tommorrow",
        "early",
        "late",
        "mid",
        "middle",
        "end",
        "beginning",
        "start",
        "eom",
        "eoy",
        "eow",
        "final",
        "business",
        "working",
        "work",
        "weekdays",
        "noon",
        "midday",
        "noontime",
        "midnight",
        "oclock",
        "half",
        "quarter",
        "to",
        "of",
        "till",
        "til",
        "a",
        "an",
        "h",
        "hrs",
        "hours",
        "hr",
        "local",
        "my",
        "standard",
        "daylight",
        "first",
        "thing",
        "close",
        "mornings",
        "evenings",
        "nights",
        "afternoons",
        "daily",
        "weekly",
        "am",
        "pm",
        "minutes",
        "minute",
        "mins",
        "min",
    }
)


@cache
def known() -> frozenset[str]:
    """Every word some part of the reader understands: never corrected into another."""
    vocabulary: set[str] = set(GRAMMAR_WORDS)
    for table in (words.MONTHS, words.WEEKDAYS, words.NUMBERS, words.ORDINALS, words.UNITS, words.PARTS,
                  words.MERIDIEMS):  # fmt: skip
        vocabulary.update(table)
    for group in (words.FILLERS, words.RANGE_WORDS, words.VAGUE, words.VAGUE_TIMES, words.NOW_WORDS,
                  words.PLURAL_WEEKDAYS):  # fmt: skip
        vocabulary.update(group)
    for name in holidays.NAMES:
        vocabulary.update(name)
    vocabulary.update(zones.ABBREVIATIONS)
    for region in zones.REGIONS:
        vocabulary.update(region)
    return frozenset(vocabulary)


def correct(word: str) -> str | None:
    """The one date word `word` is a misspelling of, or None."""
    if len(word) < 6 or not word.isalpha() or word in known():
        return None
    limit = 1 if len(word) < 8 else 2
    best: list[str] = []
    best_distance = limit + 1
    for target in TARGETS:
        if abs(len(target) - len(word)) > limit or target[0] != word[0]:
            continue
        distance = edit_distance(word, target, limit)
        if distance < best_distance:
            best, best_distance = [target], distance
        elif distance == best_distance:
            best.append(target)
    return best[0] if len(best) == 1 and best_distance <= limit else None
