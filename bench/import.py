"""Bulk import: rows per second through the bot as Slack drives it, the acknowledgements of other users'
commands meanwhile, the memory a 100,000-row file costs, and the overhead of a single command.

The bot runs as `segmetrics-bot serve` does, SEGMETRICS_MAX_CONNECTIONS=20; SegMetrics is faked answering after
`--latency` seconds (200 ms: a ceiling of 100 rows/s). A CSV of `--rows` contacts is shared in the fake Slack,
then `/segmetrics import contact add`, the form with that file, its preview and Run, exactly as a user clicks
them; while it runs, `--commands` slash commands from other users are fired and their acknowledgements timed,
then the same commands again with no import running, for comparison.

Memory: `segmetrics-bot import --dry-run` (which reads and checks every row) on `--big` rows, its peak RSS
against the same on 100 rows. Single command: `--single` commands one at a time, from the request to its
confirmation reaching Slack, minus SegMetrics' own `--latency`.

    python -m bench.import [--rows 5000] [--latency 0.2] [--commands 200] [--big 100000] [--single 50]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bench.common import (
    ROOT,
    SECRET,
    Fakes,
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

CONNECTIONS = 20


def signed(body: str) -> tuple[bytes, dict[str, str]]:
    stamp = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return body.encode(), headers


def post(url: str, body: str) -> dict[str, Any]:
    import asyncio

    async def send() -> dict[str, Any]:
        data, headers = signed(body)
        async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=headers) as answer:
            text = await answer.text()
            return json.loads(text) if text else {}

    return asyncio.run(send())


def wait_view(fake: Fakes, seen: int, callback: str, timeout: float = 120.0) -> tuple[dict[str, Any], str, int]:
    """The next view with `callback_id` the bot opened or updated (polling the fakes, bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        views = fake.ask(f"views {seen}")
        for index, args in enumerate(views):
            if args["view"].get("callback_id") == callback:
                return args["view"], str(args.get("view_id") or f"V{seen + index}"), seen + index + 1
        time.sleep(0.05)
    raise RuntimeError(f"no {callback} view within {timeout} s")


def submission(view: dict[str, Any], view_id: str, values: dict[str, Any]) -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0BENCH"},
        "user": {"id": "U0IMPORT", "team_id": "T0BENCH"},
        "view": {**view, "id": view_id, "state": {"values": values}},
    }
    return urlencode({"payload": json.dumps(payload)})


def contacts_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("Email,First Name,Last Name,Tags\n")
        for index in range(rows):
            out.write(f"row{index}@example.com,Row,{index},Imported\n")


def run_import(fake: Fakes, url: str, csv_path: Path) -> dict[str, Any]:
    """Drive the import as a user would; returns the timings of the run (from Run to the final message)."""
    file_id = fake.ask(f"file {csv_path}")
    seen = len(fake.ask("views 0"))
    command = {
        "team_id": "T0BENCH",
        "channel_id": "C0BENCH",
        "channel_name": "bench",
        "user_id": "U0IMPORT",
        "command": "/segmetrics",
        "text": "import contact add",
        "response_url": fake.response_url,
        "trigger_id": "trigger-import",
    }
    post(url, urlencode(command))
    form, view_id, seen = wait_view(fake, seen, "import_form")
    values = {
        "operation": {"value": {"type": "static_select", "selected_option": {"value": "contact add"}}},
        "file": {"value": {"type": "file_input", "files": [{"id": file_id, "name": csv_path.name}]}},
    }
    read_started = time.monotonic()
    post(url, submission(form, view_id, values))
    preview, view_id, seen = wait_view(fake, seen, "import_preview", timeout=600)
    read_s = time.monotonic() - read_started
    before = fake.ask("segmetrics")
    started = time.monotonic()
    post(url, submission(preview, view_id, {}))
    return {"preview_s": round(read_s, 2), "started": started, "sent_before": before}


def wait_done(fake: Fakes, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        text = fake.ask("last update") or ""
        if text.startswith("✅"):
            return time.monotonic()
        time.sleep(0.1)
    return None


# Runs the CLI in this process and reports its own peak RSS: a child's ru_maxrss would be the largest of all
# this benchmark's children (the bot server among them).
_MEASURED = (
    "import resource, sys\n"
    "from bot.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def dry_run_rss(rows: int, workdir: Path, env: dict[str, str]) -> float:
    """Peak RSS (MB) of `segmetrics-bot import --dry-run` on a file of `rows` contacts."""
    path = workdir / f"contacts-{rows}.csv"
    contacts_csv(path, rows)
    command = [sys.executable, "-c", _MEASURED, "import", str(path), "--operation", "contact add", "--dry-run"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    line = next(line for line in done.stderr.splitlines() if line.startswith("MAXRSS "))
    return int(line.split()[1]) / 1024


def single_overhead(fake: Fakes, url: str, count: int, latency: float, *, offset: int) -> dict[str, Any]:
    """One command at a time: from the request to its confirmation at Slack, minus SegMetrics' time."""
    overheads = []
    for body, headers in slash_bodies(count, fake.response_url, offset=offset):
        posted = len(fake.ask("posted at"))
        started = time.monotonic()
        fire_one(url, body, headers)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            times = fake.ask("posted at")
            if len(times) > posted:
                overheads.append((times[posted] - started - latency) * 1000)
                break
            time.sleep(0.002)
    ordered = sorted(overheads)
    return {
        "commands": len(overheads),
        "median_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1) if ordered else None,
    }


def fire_one(url: str, body: bytes, headers: dict[str, str]) -> None:
    import asyncio

    async def send() -> None:
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as answer:
            await answer.read()

    asyncio.run(send())


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__ or "")
    options.add_argument("--rows", type=int, default=5000, help="rows in the imported file")
    options.add_argument("--latency", type=float, default=0.2, help="seconds SegMetrics takes to answer")
    options.add_argument("--commands", type=int, default=200, help="other users' commands fired during the import")
    options.add_argument("--big", type=int, default=100_000, help="rows of the file whose memory is measured")
    options.add_argument("--single", type=int, default=50, help="commands timed one at a time")
    args = options.parse_args(argv)
    ceiling = CONNECTIONS / args.latency if args.latency else None
    with fakes(args.latency) as fake, tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        fake.ask(f"contacts {args.commands * 2 + args.single}")
        env = bot_environment(fake, f"sqlite:///{workdir}/bot.db", SEGMETRICS_MAX_CONNECTIONS=str(CONNECTIONS))
        port = free_port()
        server = start_server(serve_command(port), env, port, workdir)
        try:
            wait_warm(port)
            url = f"{server.url}/slack/events"
            single = single_overhead(fake, url, args.single, args.latency, offset=args.commands * 2)
            quiet = fire(url, slash_bodies(args.commands, fake.response_url, offset=0), 4).summary()
            csv_path = workdir / "contacts.csv"
            contacts_csv(csv_path, args.rows)
            run = run_import(fake, url, csv_path)
            during = fire(url, slash_bodies(args.commands, fake.response_url, offset=args.commands), 4).summary()
            finished = wait_done(fake, timeout=max(600.0, args.rows))
            sent = fake.ask("segmetrics") - run["sent_before"]
        finally:
            stop_server(server)
        elapsed = round(finished - run["started"], 2) if finished else None
        rate = round(args.rows / elapsed, 1) if elapsed else None
        small = dry_run_rss(100, workdir, env)
        big = dry_run_rss(args.big, workdir, env)
    of_ceiling = round(100 * rate / ceiling, 1) if rate and ceiling else None
    print(f"{args.rows:,} rows, SegMetrics answering in {args.latency * 1000:.0f} ms, {CONNECTIONS} connections\n")
    print(
        table(
            ["rows", "preview (s)", "import (s)", "rows/s", "% of ceiling", "SegMetrics calls"],
            [[args.rows, run["preview_s"], elapsed, rate, of_ceiling, sent]],
        )
    )
    print()
    keys = ("acks_per_s", "p50_ms", "p99_ms", "max_ms", "failures")
    rows = [["no import running", *(quiet[key] for key in keys)], ["during the import", *(during[key] for key in keys)]]
    print(table(["other users' commands", "acks/s", "p50 ms", "p99 ms", "max ms", "failed"], rows))
    print()
    growth = round(big - small, 1)
    print(
        table(["dry run of", "peak RSS (MB)"], [["100 rows", round(small, 1)], [f"{args.big:,} rows", round(big, 1)]])
    )
    print(f"RSS growth for {args.big:,} rows: {growth} MB")
    print()
    print(
        table(
            ["single command overhead", "commands", "median ms", "p90 ms"],
            [["request → confirmation − SegMetrics", single["commands"], single["median_ms"], single["p90_ms"]]],
        )
    )
    result = {
        "rows": args.rows,
        "latency_s": args.latency,
        "connections": CONNECTIONS,
        "preview_s": run["preview_s"],
        "import_s": elapsed,
        "rows_per_s": rate,
        "percent_of_ceiling": of_ceiling,
        "segmetrics_calls": sent,
        "acks_quiet": quiet,
        "acks_during_import": during,
        "rss_mb": {"small": round(small, 1), "big": round(big, 1), "big_rows": args.big, "growth": growth},
        "single_command": single,
    }
    path = write_result("import", result)
    print(f"\nwritten to {path}")
    return 0 if elapsed else 1


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
