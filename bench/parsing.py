"""Parsing: money and dates, per call, over a corpus that includes junk, long and ambiguous input.

Each input is parsed `--repeat` times (errors count: refusing junk is part of the work); the table gives the
median over every call of a kind, the worst input (the median of its own calls, so one scheduler hiccup
does not decide it) and the slowest single call. Dates are read as the bot reads them: in a user's zone,
relative to now, dateparser for what is not ISO.

    python -m bench.parsing [--repeat 200]
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench.common import parser, table, write_result
from bot.problems import InvalidValue
from bot.runner import Runner
from bot.settings import load_settings

MONEY = {
    "valid": ["45", "$1,234.50", "12,50 €", "USD 99.99", "1 000", "0.5", "$0", "1,234,567.89", "45,-", "(12.00)"],
    "junk": ["abc", "$$$", "1.2.3", "--5", "1e5", "¥", "12..5", "€€12", "1,2,3,4", "💸"],
    "long": ["9" * 60, "1," * 40 + "000", "$" + " " * 70 + "1", "x" * 2000],
}
DATES = {
    "ISO": ["2026-11-02", "2026-11-02 14:30", "2026-11-02T14:30:00Z", "2026-11-02 14:30:00+01:00"],
    "relative": ["yesterday 3pm", "next Friday", "3 days ago", "tomorrow 9am", "in 2 weeks", "last monday at noon"],
    "ambiguous": ["02/11/2026", "11/02/26", "Nov 5", "5 November 2026", "Friday", "noon"],
    "junk": ["asdf qwer zxcv", "the day after the party", "5", "2025", "31/31/2026", "??", "🍕 o'clock"],
    "long": ["next " * 16, "a" * 80, "yesterday " + "very " * 14 + "late", "x" * 2000],
}


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
    return {
        "median_us": round(statistics.median(calls) * 1e6, 1),
        "worst_input_us": round(max(medians) * 1e6, 1),
        "slowest_call_us": round(max(calls) * 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__ or "")
    options.add_argument("--repeat", type=int, default=200, help="calls per input")
    args = options.parse_args(argv)
    runner = Runner.from_settings(load_settings(None))
    runner.warm_up()  # as the bot does right after it starts
    money, dates = runner.money, runner.dates
    zone, now = ZoneInfo("America/New_York"), datetime.now(UTC)
    kinds: dict[str, dict[str, float]] = {}
    everything: dict[str, tuple[list[float], list[float]]] = {"money": ([], []), "dates": ([], [])}
    for family, corpus, parse in (
        ("money", MONEY, money.parse),
        ("dates", DATES, lambda text: dates.read(text, zone=zone, now=now)),
    ):
        for kind, inputs in corpus.items():
            calls, medians = measure(parse, inputs, args.repeat)
            kinds[f"{family}: {kind}"] = summarize(calls, medians)
            everything[family][0].extend(calls)
            everything[family][1].extend(medians)
        kinds[f"{family}: all"] = summarize(*everything[family])
    rows = [[name, f"{v['median_us']:,.1f}", f"{v['worst_input_us']:,.1f}", f"{v['slowest_call_us']:,.1f}"]
            for name, v in kinds.items()]  # fmt: skip
    print(f"{args.repeat} calls per input\n")
    print(table(["corpus", "median µs", "worst input µs", "slowest call µs"], rows))
    print(f"\nwritten to {write_result('parsing', {'repeat': args.repeat, 'kinds': kinds})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
