"""Parsing: money and dates, per call, over tables of what people type (and junk, long and ambiguous input),
and what the libraries the readers load add to a process's memory.

Each input is parsed `--repeat` times after the bot's own warm-up (errors count: refusing is part of the
work); the table gives per kind the median and 99th percentile over every call, the worst input (the median
of its own calls, so one scheduler hiccup does not decide it) and the slowest single call. Dates are read as
the bot reads them: in a user's zone and locale, relative to now, for a field about the past.

    python -m bench.parsing [--repeat 200]
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench.common import parser, table, write_result
from bot.money import Currency, MoneyReader
from bot.problems import InvalidValue
from bot.runner import Runner
from bot.settings import load_settings

# (currency, text): each read in its own currency, DECIMAL_MARK unset.
MONEY = {
    "valid": [
        ("USD", "45"),
        ("USD", "$1,234.50"),
        ("EUR", "12,50 €"),
        ("USD", "USD 99.99"),
        ("USD", "1 000"),
        ("USD", "0.5"),
        ("USD", "$0"),
        ("USD", "1,234,567.89"),
        ("EUR", "45,-"),
        ("PLN", "45,00 zł"),
        ("CZK", "50,- Kč"),
        ("RUB", "419 руб."),
        ("UAH", "950 грн."),
        ("HUF", "3 990 Ft"),
        ("MYR", "RM50"),
        ("JPY", "3,500円"),
        ("KRW", "12,000원"),
        ("INR", "₹1,00,000"),
        ("CHF", "CHF 12.-"),
        ("USD", "10 dollars"),
    ],
    "refused": [
        ("GBP", "£6.95 - £9.95"),
        ("GBP", "£25.00 (tax incl.)"),
        ("USD", "(12.00)"),
        ("EUR", "1.234"),
        ("USD", "€12"),
        ("GBP", "£1.2k"),
        ("USD", "1e5"),
        ("USD", "45.999"),
    ],
    "junk": [("USD", text) for text in ("abc", "$$$", "1.2.3", "--5", "¥", "12..5", "€€12", "1,2,3,4", "💸")],
    "long": [("USD", text) for text in ("9" * 60, "1," * 40 + "000", "$" + " " * 70 + "1", "x" * 2000)],
}
DATES = {
    "ISO": ["2026-11-02", "2026-11-02 14:30", "2026-11-02T14:30:00Z", "2026-11-02 14:30:00+01:00"],
    "clock": ["yesterday 3pm", "3pm yesterday", "yesterday at 3:45 pm", "half past 3 pm yesterday",
              "quarter to 5 yesterday afternoon", "ten thirty am", "noon", "midnight", "9.15am", "today 0800"],
    "part of day": ["last night at 8", "this morning at 9:15", "8 tonight", "Saturday morning at 9",
                    "7 in the evening yesterday", "last night at 1am"],
    "relative": ["3 days ago", "2 weeks ago", "a fortnight ago", "90 minutes ago", "an hour and a half ago",
                 "two days before yesterday", "a year ago today", "3 days ago at 4pm", "same time last week",
                 "the day before yesterday at 6pm"],
    "weekday": ["last Friday", "Friday", "last Tuesday at 2pm", "this past Saturday", "Friday before last",
                "Friday of last week", "Monday the 2nd", "Mon, Nov 2, 2026"],
    "calendar": ["Nov 2", "November 2nd at 3pm", "the 3rd of March", "2 Nov '25", "02/11/2026", "11/2",
                 "2026/11/02", "last Friday of October", "the 15th of last month", "last day of last month"],
    "holiday": ["Black Friday 2025", "Christmas 2025 at 6pm", "last Christmas", "Easter", "Labor Day",
                "Mother's Day", "the day after Thanksgiving 2025", "Halloween"],
    "zone": ["3pm EST", "noon GMT", "15:00 CET", "10am +0100", "2pm London time", "14:00 Europe/Paris",
             "9am Tokyo time", "3pm UTC+2"],
    "refused": ["tomorrow at 9", "next Wednesday", "3:30", "5.12", "Fri, Jul 18", "July 13-15", "3pm IST",
                "next week", "a few days ago", "tomorrow"],
    "junk": ["asdf qwer zxcv", "the day after the party", "5", "2025", "31/31/2026", "??", "🍕 o'clock"],
    "long": ["next " * 16, "a" * 80, "yesterday " + "very " * 14 + "late", "x" * 2000],
}  # fmt: skip

TARGET_MEDIAN_MS, TARGET_P99_MS, TARGET_LIBRARY_MB = 1.0, 5.0, 30.0

# What each library the readers added costs a process: imported and used as the bot uses it.
LIBRARIES = {
    "holidays (+ the US and GB tables)": "import holidays; holidays.country_holidays('US', years=2026);"
    " holidays.country_holidays('GB', years=2026)",
    "iso4217": "from iso4217 import Currency; Currency('HUF').exponent",
    "python-dateutil": "from dateutil.easter import easter; from dateutil.relativedelta import relativedelta",
    "the date reader, warmed": "from bot.dates import DateReader; DateReader().warm_up()",
    "currency markers (USD, EUR, PLN)": "from bot.money import Currency; "
    "[Currency.of(c).markers for c in ('USD', 'EUR', 'PLN')]",
}
# Resident memory now (kB), not the high-water mark: a child's ru_maxrss starts at its parent's.
_RSS = "import re; print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"


def measure(parse: Callable[[str], object], inputs: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Every call's time, and each input's median (seconds)."""
    calls, medians = [], []
    for text in inputs:
        own = []
        for _ in range(repeat):
            started = time.perf_counter()
            with contextlib.suppress(InvalidValue):
                parse(text)
            own.append(time.perf_counter() - started)
        calls += own
        medians.append(statistics.median(own))
    return calls, medians


def summarize(calls: list[float], medians: list[float]) -> dict[str, float]:
    ordered = sorted(calls)
    return {
        "median_us": round(statistics.median(calls) * 1e6, 1),
        "p99_us": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6, 1),
        "worst_input_us": round(max(medians) * 1e6, 1),
        "slowest_call_us": round(max(calls) * 1e6, 1),
    }


def library_mb(statement: str) -> float:
    """RSS a fresh interpreter gains by running `statement` (MB)."""
    base = int(subprocess.run([sys.executable, "-c", _RSS], capture_output=True, text=True, check=True).stdout)
    used = subprocess.run([sys.executable, "-c", f"{statement}\n{_RSS}"], capture_output=True, text=True, check=True)
    return round((int(used.stdout.split()[-1]) - base) / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__ or "")
    options.add_argument("--repeat", type=int, default=200, help="calls per input")
    args = options.parse_args(argv)
    runner = Runner.from_settings(load_settings(None))
    runner.warm_up()  # as the bot does right after it starts
    dates = runner.dates
    zone, now = ZoneInfo("America/New_York"), datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    readers = {
        code: MoneyReader(Currency.of(code), None) for code in {code for rows in MONEY.values() for code, _ in rows}
    }
    for money in readers.values():  # the markers of each currency load on first use, as in the bot
        with contextlib.suppress(InvalidValue):
            money.parse("1")
    kinds: dict[str, dict[str, float]] = {}
    everything: dict[str, tuple[list[float], list[float]]] = {"money": ([], []), "dates": ([], [])}
    for kind, rows in MONEY.items():
        calls, medians = [], []
        for code, text in rows:
            own_calls, own_medians = measure(readers[code].parse, [text], args.repeat)
            calls += own_calls
            medians += own_medians
        kinds[f"money: {kind}"] = summarize(calls, medians)
        everything["money"][0].extend(calls)
        everything["money"][1].extend(medians)
    kinds["money: all"] = summarize(*everything["money"])
    for kind, inputs in DATES.items():
        calls, medians = measure(
            lambda text: dates.read(text, zone=zone, now=now, prefer="past", locale="en-US"), inputs, args.repeat
        )
        kinds[f"dates: {kind}"] = summarize(calls, medians)
        everything["dates"][0].extend(calls)
        everything["dates"][1].extend(medians)
    kinds["dates: all"] = summarize(*everything["dates"])
    rows = [[name, f"{v['median_us']:,.1f}", f"{v['p99_us']:,.1f}", f"{v['worst_input_us']:,.1f}",
             f"{v['slowest_call_us']:,.1f}"] for name, v in kinds.items()]  # fmt: skip
    print(f"{args.repeat} calls per input\n")
    print(table(["corpus", "median µs", "p99 µs", "worst input µs", "slowest call µs"], rows))
    memory = {name: library_mb(statement) for name, statement in LIBRARIES.items()}
    print()
    print(table(["loaded in a fresh process", "+ RSS MB"], [[name, f"{mb:.1f}"] for name, mb in memory.items()]))
    overall = kinds["dates: all"]
    verdict = {
        "date median ≤ 1 ms": overall["median_us"] <= TARGET_MEDIAN_MS * 1000,
        "date p99 ≤ 5 ms": overall["p99_us"] <= TARGET_P99_MS * 1000,
        "each added library ≤ +30 MB": all(
            mb <= TARGET_LIBRARY_MB for name, mb in memory.items() if not name.startswith(("the", "currency"))
        ),
    }
    print("\n" + "\n".join(f"{'held' if held else 'MISSED'}: {target}" for target, held in verdict.items()))
    print(f"\nwritten to {write_result('parsing', {'repeat': args.repeat, 'kinds': kinds, 'memory_mb': memory})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
