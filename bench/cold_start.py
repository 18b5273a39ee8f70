"""Cold start: wall time from launching `segmetrics-bot serve` to its first successful `GET /healthz`, and
the import time (`python -X importtime`), each the median of several runs.

The project's own modules are byte-compiled first, as `pip install` does (an editable checkout run with
PYTHONDONTWRITEBYTECODE=1 would otherwise recompile them at every start, ~150 ms more).

    python -m bench.cold_start [--runs 7]
"""

from __future__ import annotations

import compileall
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import (
    ROOT,
    bot_environment,
    fakes,
    free_port,
    parser,
    serve_command,
    start_server,
    stop_server,
    table,
    write_result,
)

# What `serve` imports before it can answer (its listeners, server and store included).
IMPORTS = "import bot.__main__, bot.slack.app, bot.slack.server"
_ROW = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times() -> tuple[float, dict[str, float]]:
    """Total import time (ms) of what `serve` imports, and the packages costing most (self time, ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORTS], cwd=ROOT, capture_output=True, text=True, check=True
    )
    total, packages = 0.0, {}
    for line in done.stderr.splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        own, name = int(match[1]) / 1000, match[4]
        total += own
        root = name.split(".")[0]
        packages[root] = packages.get(root, 0.0) + own
    return total, packages


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__ or "")
    options.add_argument("--runs", type=int, default=7, help="starts to time (the median is reported)")
    args = options.parse_args(argv)
    for package in ("bot", "commands"):
        compileall.compile_dir(ROOT / package, quiet=1)
    starts = []
    with fakes(0.0) as fake, tempfile.TemporaryDirectory() as workdir:
        for run in range(args.runs):
            port = free_port()
            env = bot_environment(fake, f"sqlite:///{workdir}/bot-{run}.db")
            server = start_server(serve_command(port), env, port, Path(workdir))
            starts.append(server.healthy_after)
            stop_server(server)
    imports = [import_times() for _ in range(args.runs)]
    totals = [total for total, _ in imports]
    heaviest = sorted(imports[len(imports) // 2][1].items(), key=lambda item: -item[1])[:8]
    result = {
        "runs": args.runs,
        "healthy_s": {"median": statistics.median(starts), "min": min(starts), "max": max(starts)},
        "import_ms": {"median": statistics.median(totals), "min": min(totals), "max": max(totals)},
        "heaviest_imports_ms": {name: round(ms, 1) for name, ms in heaviest},
    }
    rows = [
        ["launch → first 200 from /healthz", f"{statistics.median(starts) * 1000:.0f} ms",
         f"{min(starts) * 1000:.0f}–{max(starts) * 1000:.0f} ms"],
        ["imports (`-X importtime`)", f"{statistics.median(totals):.0f} ms", f"{min(totals):.0f}–{max(totals):.0f} ms"],
    ]  # fmt: skip
    print(f"{args.runs} runs\n")
    print(table(["", "median", "range"], rows))
    print("\nheaviest imports: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in heaviest))
    print(f"\nwritten to {write_result('cold_start', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
