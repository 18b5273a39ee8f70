"""The English words of dates and times, each mapped to what it means.

Every word a phrase may contain is here: a word the reader does not know makes it refuse, so an unknown
word can never be silently dropped.
"""

from __future__ import annotations

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("january", "jan"),
        ("february", "feb", "febr"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _number

MONTH_NAMES = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Monday is 0, as in `date.weekday()`.
WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("monday", "mon", "mo"),
        ("tuesday", "tue", "tues", "tu"),
        ("wednesday", "wed", "weds"),
        ("thursday", "thu", "thur", "thurs", "th"),
        ("friday", "fri", "fr"),
        ("saturday", "sat", "sa"),
        ("sunday", "sun", "su"),
    )
):
    for _name in _names:
        WEEKDAYS[_name] = _number
# Two-letter forms only count next to a date ("Mo 2 Nov"); alone they are too easily something else.
SHORT_WEEKDAYS = frozenset({"mo", "tu", "th", "fr", "sa", "su"})
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# "Mondays", "on Fridays": a recurring day, not one day.
PLURAL_WEEKDAYS = frozenset(f"{name}s" for name in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                                    "saturday", "sunday"))  # fmt: skip

NUMBERS: dict[str, int] = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
}
TENS = frozenset({"twenty", "thirty", "forty", "fourty", "fifty"})

ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}

# Units of a duration, by their canonical name.
UNITS: dict[str, str] = {}
for _unit, _names in {
    "second": ("second", "seconds", "sec", "secs", "s"),
    # "m" is minutes as chat apps write it ("5m ago"); months are "mo".
    "minute": ("minute", "minutes", "min", "mins", "mn", "m"),
    "hour": ("hour", "hours", "hr", "hrs", "h"),
    "day": ("day", "days", "d", "day's"),
    "week": ("week", "weeks", "wk", "wks", "w", "week's"),
    "fortnight": ("fortnight", "fortnights", "fortnight's"),
    "month": ("month", "months", "mo", "mos", "mth", "mths", "month's"),
    "year": ("year", "years", "yr", "yrs", "y", "year's"),
}.items():
    for _name in _names:
        UNITS[_name] = _unit

# Parts of the day, with the hours (24-hour clock) a time said with them may fall in.
PARTS: dict[str, str] = {
    "morning": "morning",
    "mornin": "morning",
    "afternoon": "afternoon",
    "arvo": "afternoon",
    "evening": "evening",
    "night": "night",
}
PART_HOURS: dict[str, range] = {
    "morning": range(1, 12),
    "afternoon": range(12, 19),
    "evening": range(16, 24),
    "night": range(18, 24),
    "pm": range(12, 24),
    "some": range(0, 24),  # a time of day not said exactly ("sometime", "lunchtime", "EOD")
}
# Words that put a moment on a day without saying when: only a whole-day field takes them.
VAGUE_TIMES = frozenset({"sometime", "lunchtime", "lunch", "eod", "cob", "earlier", "later", "anytime"})

MERIDIEMS: dict[str, str] = {"am": "am", "a": "am", "pm": "pm", "p": "pm"}

# Words that only join the parts of a phrase ("on Friday at 3pm", "Nov 2, 2026").
FILLERS = frozenset({"at", "on", "the", "of", "for", "around", "about", "approx", "approximately", "circa", "sharp",
                     "exactly", "precisely", "starting", "dated", "date", "time", "ish", "roughly"})  # fmt: skip
# Of those, the ones that say the moment is approximate; kept for the safeguard, meaning nothing else.
APPROXIMATE = frozenset({"around", "about", "approx", "approximately", "circa", "ish", "roughly"})

# Words that make a range of a phrase ("July 13-15", "9 to 5", "between 3 and 4").
RANGE_WORDS = frozenset({"-", "to", "till", "til", "until", "through", "thru", "between", "from", "and"})

# Vague amounts: "a few days ago" has no single answer.
VAGUE = frozenset({"few", "several", "some", "many", "lots", "bunch", "while"})

NOW_WORDS = frozenset({"now", "rn"})
