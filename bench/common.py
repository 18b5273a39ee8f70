"""What every benchmark shares: the fakes (Slack's Web API and SegMetrics) in a process of their own, the
bot started exactly as `segmetrics-bot serve` runs it, a light load generator, and the report.

Three processes on purpose: the bot, the fakes, and the load generator. Measured here, a load generator
on httpx saturated a core before the bot did; aiohttp's client, alone in its process, does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

# BENCH_RESULTS moves the JSON elsewhere (the smoke test uses a temporary directory).
RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
API_KEY = "bench-api-key"
STARTUP_LIMIT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Fakes:
    """The fakes' process: Slack's Web API and the SegMetrics sandbox, both on 127.0.0.1."""

    process: subprocess.Popen[str]
    slack_api_url: str
    response_url: str
    bot_token: str
    import_url: str
    reporting_url: str

    def ask(self, question: str) -> Any:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def posted(self) -> int:
        """How many confirmations the bot has posted so far."""
        return int(self.ask("posted"))

    def wait_posted(self, count: int, timeout: float) -> float | None:
        """Seconds until `count` confirmations were posted (polling, bounded), or None past `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.posted() >= count:
                return time.monotonic() - started
            time.sleep(0.05)
        return None


@contextmanager
def fakes(latency: float) -> Iterator[Fakes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fakes", str(latency)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout
        info = json.loads(process.stdout.readline())
        yield Fakes(process=process, **info)
    finally:
        process.kill()
        process.wait()


def bot_environment(fakes: Fakes, database: str, **extra: str) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "SEGMETRICS_"))}
    return {
        **clean,
        "SLACK_BOT_TOKEN": fakes.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fakes.slack_api_url,
        "SEGMETRICS_API_KEY": API_KEY,
        "SEGMETRICS_ACCOUNT_ID": "bench",
        "SEGMETRICS_INTEGRATION_ID": "bench",
        "SEGMETRICS_IMPORT_URL": fakes.import_url,
        "SEGMETRICS_REPORTING_URL": fakes.reporting_url,
        "SEGMETRICS_BOT_DATABASE_URL": database,
        **extra,
    }


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    started: float
    healthy_after: float


def start_server(command: Sequence[str], env: dict[str, str], port: int, cwd: Path) -> Server:
    """Launch a server and wait (polling, bounded) for its first successful /healthz."""
    started = time.monotonic()
    process = subprocess.Popen(list(command), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited with {process.returncode} before it was healthy")
        if time.monotonic() - started > STARTUP_LIMIT:
            process.kill()
            raise RuntimeError(f"{command} was not healthy after {STARTUP_LIMIT} s")
        if health(port, timeout=0.2) is not None:
            return Server(process, f"http://127.0.0.1:{port}", started, time.monotonic() - started)
        time.sleep(0.005)  # polling a starting process: bounded by STARTUP_LIMIT


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def serve_command(port: int) -> list[str]:
    """Exactly how a user runs the bot in HTTP mode: the installed `segmetrics-bot` script."""
    script = Path(sys.executable).with_name("segmetrics-bot")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    return [*launcher, "serve", "--host", "127.0.0.1", "--port", str(port)]


def health(port: int, timeout: float = 1.0) -> dict[str, Any] | None:
    """The bot's /healthz answer, or None when it does not answer 200."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(f"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
    except OSError:
        return None
    head, _, body = answer.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        return None
    return json.loads(body)


def wait_warm(port: int, timeout: float = 30.0) -> bool:
    """Wait (polling, bounded) until the bot reports its first-use costs paid."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        answer = health(port)
        if answer and answer.get("warm"):
            return True
        time.sleep(0.05)
    return False


MIX = (
    "tag add {email} VIP",
    'order add INV-{n} {email} amount=$49.99 item="Course | C-100 | $29.99" item="Coaching | C-200 | $20"',
    'contact add {email} first=Jane last=Doe created="2026-11-02 09:30" updated="yesterday 3pm"',
)


def slash_bodies(
    count: int,
    response_url: str,
    *,
    offset: int = 0,
    teams: Sequence[str] = ("T0BENCH",),
    mix: Sequence[str] = MIX,
) -> list[tuple[bytes, dict[str, str]]]:
    """`count` signed slash commands, a realistic mix, as Slack would send them (from `teams` in turn)."""
    verifier = SignatureVerifier(SECRET)
    bodies = []
    for index in range(offset, offset + count):
        email = f"person{index}@example.com"
        text = mix[index % len(mix)].format(email=f"<mailto:{email}|{email}>", n=index)
        body = urlencode(
            {
                "token": "legacy",
                "team_id": teams[index % len(teams)],
                "channel_id": "C0BENCH",
                "channel_name": "bench",
                "user_id": f"U{index % 8}",
                "command": "/segmetrics",
                "text": text,
                "response_url": response_url,
                "trigger_id": f"trigger-{index}",
            }
        )
        stamp = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        bodies.append((body.encode(), headers))
    return bodies


@dataclass
class Burst:
    latencies: list[float]
    wall: float
    failures: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def quantile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "acks_per_s": round(self.rate, 1),
            "p50_ms": round(self.quantile(0.50) * 1000, 2),
            "p99_ms": round(self.quantile(0.99) * 1000, 2),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 2),
            "over_3s": sum(1 for latency in self.latencies if latency >= 3.0),
            "failures": self.failures,
        }


async def _fire(url: str, bodies: Sequence[tuple[bytes, dict[str, str]]], concurrency: int, deadline: float) -> Burst:
    latencies: list[float] = []
    failures = 0
    queue = list(reversed(bodies))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal failures
            while queue and time.monotonic() < deadline:
                body, headers = queue.pop()
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                failures += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Burst(latencies, time.perf_counter() - started, failures)


def fire(
    url: str, bodies: Sequence[tuple[bytes, dict[str, str]]], concurrency: int, time_limit: float = 300.0
) -> Burst:
    """Send every body (bounded by `time_limit`) with `concurrency` requests in flight."""
    return asyncio.run(_fire(url, bodies, concurrency, time.monotonic() + time_limit))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    payload = {"benchmark": name, "at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (it goes into the README as is)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def parser(description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=description)
