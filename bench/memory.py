"""Memory: the bot's resident set size (RSS) after start, after 1,000 and after 10,000 commands.

The bot runs as `segmetrics-bot serve` does, against the fakes; commands are the realistic mix of
`bench/ack.py`, sent in rounds of 1,000 at concurrency 16, each round confirmed before the next, so what
is measured is what stays behind (a leak shows as growth from 1,000 to 10,000), not a burst's backlog.

    python -m bench.memory [--total 10000] [--round 1000]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    bot_environment,
    fakes,
    fire,
    free_port,
    parser,
    rss_mb,
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
    options.add_argument("--total", type=int, default=10_000, help="commands in all")
    options.add_argument("--round", type=int, default=1_000, help="commands per round (and the first checkpoint)")
    options.add_argument("--latency", type=float, default=0.01, help="seconds SegMetrics takes to answer")
    options.add_argument("--time-limit", type=float, default=900.0, help="longest the whole run may take")
    options.add_argument("--concurrency", type=int, default=16, help="commands in flight while sending")
    args = options.parse_args(argv)
    deadline = time.monotonic() + args.time_limit
    checkpoints: dict[str, float] = {}
    with fakes(args.latency) as fake, tempfile.TemporaryDirectory() as workdir:
        fake.ask(f"contacts {args.total}")
        port = free_port()
        server = start_server(
            serve_command(port), bot_environment(fake, f"sqlite:///{workdir}/bot.db"), port, Path(workdir)
        )
        try:
            wait_warm(port)
            pid = server.process.pid
            checkpoints["after start"] = rss_mb(pid)
            sent = 0
            while sent < args.total and time.monotonic() < deadline:
                count = min(args.round, args.total - sent)
                before = fake.posted()
                fire(
                    f"{server.url}/slack/events", slash_bodies(count, fake.response_url, offset=sent), args.concurrency
                )
                if fake.wait_posted(before + count, max(1.0, deadline - time.monotonic())) is None:
                    print(f"round from {sent}: not every confirmation was posted in time", file=sys.stderr)
                    return 1
                sent += count
                if sent == args.round or sent == args.total:
                    checkpoints[f"after {sent:,} commands"] = rss_mb(pid)
        finally:
            stop_server(server)
    values = list(checkpoints.values())
    growth = (values[-1] - values[1]) / values[1] * 100 if len(values) > 2 else 0.0
    rows = [[name, f"{mb:.1f} MB"] for name, mb in checkpoints.items()]
    rows.append([f"growth from {args.round:,} to {sent:,}", f"{growth:+.1f} %"])
    print(table(["RSS", "MB"], rows))
    result = {"rss_mb": checkpoints, "growth_percent": round(growth, 1), "commands": sent}
    print(f"\nwritten to {write_result('memory', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
