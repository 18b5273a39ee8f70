"""Acknowledgement latency under load, side by side with a bare Bolt app.

The bot runs exactly as `segmetrics-bot serve` does; Slack's Web API and SegMetrics are fakes in their
own process, SegMetrics answering after `--latency` seconds. N signed slash commands (tag add, order add
with items, contact add with dates) are fired at each concurrency; then the same load at a Bolt app that
only acknowledges, served the same way.

    python -m bench.ack [--n 1000] [--concurrency 1,16,64] [--latency 0.2]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    SECRET,
    bot_environment,
    fakes,
    fire,
    free_port,
    parser,
    serve_command,
    slash_bodies,
    start_server,
    stop_server,
    table,
    wait_warm,
    write_result,
)


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__ or "")
    options.add_argument("--n", type=int, default=1000, help="commands per concurrency level")
    options.add_argument("--concurrency", default="1,16,64", help="comma-separated levels")
    options.add_argument("--latency", type=float, default=0.2, help="seconds SegMetrics takes to answer")
    options.add_argument("--confirm-timeout", type=float, default=300.0, help="longest wait for confirmations")
    args = options.parse_args(argv)
    levels = [int(level) for level in args.concurrency.split(",")]
    bot: dict[int, dict[str, float | None]] = {}
    bare: dict[int, dict[str, float | None]] = {}
    with fakes(args.latency) as fake, tempfile.TemporaryDirectory() as workdir:
        fake.ask(f"contacts {args.n * len(levels)}")
        port = free_port()
        env = bot_environment(fake, f"sqlite:///{workdir}/bot.db")
        server = start_server(serve_command(port), env, port, Path(workdir))
        try:
            # Steady state: the first-use costs paid in the background after start are cold start's business.
            wait_warm(port)
            offset = 0
            for level in levels:
                bodies = slash_bodies(args.n, fake.response_url, offset=offset)
                offset += args.n
                before = fake.posted()
                started = time.monotonic()
                burst = fire(f"{server.url}/slack/events", bodies, level)
                waited = fake.wait_posted(before + args.n, args.confirm_timeout)
                confirmed = round(time.monotonic() - started, 2) if waited is not None else None
                bot[level] = {**burst.summary(), "all_confirmed_s": confirmed}
            bot_peak = fake.ask("peak connections")
        finally:
            stop_server(server)
        port = free_port()
        floor = [sys.executable, "-m", "bench.bare_bolt", str(port), fake.slack_api_url, fake.bot_token, SECRET]
        server = start_server(floor, env, port, Path(__file__).resolve().parent.parent)
        try:
            for level in levels:
                burst = fire(f"{server.url}/slack/events", slash_bodies(args.n, fake.response_url), level)
                bare[level] = {**burst.summary()}
        finally:
            stop_server(server)
    rows = []
    for level in levels:
        ours, floor_ = bot[level], bare[level]
        ratio = round(float(ours["acks_per_s"] or 0) / float(floor_["acks_per_s"] or 1), 2)
        rows.append(
            [
                level,
                ours["acks_per_s"],
                ours["p50_ms"],
                ours["p99_ms"],
                ours["max_ms"],
                ours["over_3s"],
                ours["failures"],
                ours["all_confirmed_s"],
                floor_["acks_per_s"],
                floor_["p99_ms"],
                ratio,
            ]
        )
    headers = ["concurrency", "acks/s", "p50 ms", "p99 ms", "max ms", "≥ 3 s", "failed", "all confirmed (s)",
               "bare Bolt acks/s", "bare Bolt p99 ms", "bot ÷ bare"]  # fmt: skip
    print(f"{args.n} commands per level, SegMetrics answering in {args.latency * 1000:.0f} ms\n")
    print(table(headers, rows))
    print(f"SegMetrics: at most {bot_peak} connections open at once (SEGMETRICS_MAX_CONNECTIONS bounds them)")
    result = {"n": args.n, "latency_s": args.latency, "segmetrics_peak_connections": bot_peak, "bot": bot}
    path = write_result("ack", {**result, "bare_bolt": bare})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
