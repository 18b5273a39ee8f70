"""The benchmarks cannot rot: each runs here with a tiny load and must finish, print its table and write
its JSON. (The real runs are too long for CI; the README has their figures.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("script", "arguments", "keys"),
    [
        ("ack", ["--n", "6", "--concurrency", "1,3", "--latency", "0.01"], {"bot", "bare_bolt"}),
        ("cold_start", ["--runs", "1"], {"healthy_s", "import_ms"}),
        ("memory", ["--total", "20", "--round", "10", "--latency", "0"], {"rss_mb", "growth_percent"}),
        ("parsing", ["--repeat", "2"], {"kinds"}),
        (
            "import",
            ["--rows", "30", "--latency", "0.01", "--commands", "4", "--big", "300", "--single", "2"],
            {"rows_per_s", "acks_during_import", "rss_mb", "single_command"},
        ),
        (
            "workspaces",
            ["--workspaces", "2", "--commands", "6"],
            {"per_workspace_mb", "install_s", "restart_healthy_s"},
        ),
    ],
)
def test_the_benchmark_runs_with_a_tiny_load(tmp_path: Path, script: str, arguments: list[str], keys: set[str]) -> None:
    env = {**os.environ, "BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{script}", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "|---|" in done.stdout  # the table
    written = list(tmp_path.glob(f"{script}-*.json"))
    assert len(written) == 1
    result = json.loads(written[0].read_text())
    assert keys <= set(result) and result["machine"]["cpus"]
