"""Installed by link: what each workspace costs a `serve` process, as a user runs it against the fakes.

N workspaces install the app one after another through the real flow (the install page, Slack's "Allow",
`oauth.v2.access`, the way back); then slash commands from all of them in turn; then a restart with every
workspace installed. Measured: resident memory per workspace, the time one install takes (the way back, which
starts that workspace's bot), acknowledgements across workspaces, and the time to healthy after a restart.

    python -m bench.workspaces [--workspaces 20] [--commands 1000]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from bench.common import (
    MIX,
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
from bot.testing import authorize_link

CLIENT_ID, CLIENT_SECRET = "1234567890.0987654321", "bench-client-secret"


def install(url: str, fake: object, team: str) -> float:
    """One workspace installs the app from a browser; seconds its way back took (its bot starts then)."""
    with urllib.request.urlopen(f"{url}/slack/install", timeout=10) as page:
        authorize = authorize_link(page.read().decode())
        cookie = page.headers["Set-Cookie"].split(";")[0]
    back = fake.ask(f"approve {authorize} {team} U{team} {url}/slack/oauth_redirect")  # type: ignore[attr-defined]
    started = time.perf_counter()
    request = urllib.request.Request(back, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as done:
        assert done.status == 200
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__ or "")
    options.add_argument("--workspaces", type=int, default=20, help="workspaces that install the app")
    options.add_argument("--commands", type=int, default=1000, help="slash commands, from every workspace in turn")
    options.add_argument("--concurrency", type=int, default=16, help="commands in flight while sending")
    options.add_argument("--latency", type=float, default=0.01, help="seconds SegMetrics takes to answer")
    args = options.parse_args(argv)
    teams = [f"T{index:06d}" for index in range(args.workspaces)]
    with fakes(args.latency) as fake, tempfile.TemporaryDirectory() as workdir:
        fake.ask(f"oauth {CLIENT_ID} {CLIENT_SECRET}")
        env = bot_environment(fake, f"sqlite:///{workdir}/bot.db")
        for name in ("SLACK_BOT_TOKEN", "SEGMETRICS_API_KEY", "SEGMETRICS_ACCOUNT_ID", "SEGMETRICS_INTEGRATION_ID"):
            env.pop(name)
        env.update(
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SEGMETRICS_BOT_SECRET_KEY=Fernet.generate_key().decode(),
            SEGMETRICS_BOT_STATE_DIR=f"{workdir}/state",
        )
        port = free_port()
        server = start_server(serve_command(port), env, port, Path(workdir))
        try:
            empty = rss_mb(server.process.pid)
            installs = [install(server.url, fake, team) for team in teams]
            wait_warm(port)
            installed = rss_mb(server.process.pid)
            before = fake.posted()
            # Every workspace is in its own sandbox (no connection added yet), where the contacts of `tag add` do
            # not exist: contact adds only, each confirmed in the channel.
            bodies = slash_bodies(args.commands, fake.response_url, teams=teams, mix=[MIX[2]])
            burst = fire(f"{server.url}/slack/events", bodies, args.concurrency)
            confirmed = fake.wait_posted(before + args.commands, 120.0)
            after_commands = rss_mb(server.process.pid)
        finally:
            stop_server(server)
        restarted = start_server(serve_command(port), env, port, Path(workdir))
        try:
            restart_healthy = restarted.healthy_after
            restart_rss = rss_mb(restarted.process.pid)
        finally:
            stop_server(restarted)
    if confirmed is None:
        print("not every command was confirmed in time", file=sys.stderr)
        return 1
    per_workspace = (installed - empty) / max(1, args.workspaces)
    ack = burst.summary()
    rows = [
        ["RSS with no workspace", f"{empty:.1f} MB"],
        [f"RSS with {args.workspaces} workspaces", f"{installed:.1f} MB"],
        ["per workspace", f"{per_workspace:.1f} MB"],
        [f"RSS after {args.commands:,} commands", f"{after_commands:.1f} MB"],
        ["one install (the way back), median / max", f"{statistics.median(installs):.2f} s / {max(installs):.2f} s"],
        ["acks", f"{ack['acks_per_s']}/s, p50 {ack['p50_ms']} ms, p99 {ack['p99_ms']} ms"],
        [f"restart with {args.workspaces} workspaces: healthy", f"{restart_healthy:.2f} s ({restart_rss:.1f} MB)"],
    ]
    print(table(["installed by link", "measured"], rows))
    result = {
        "workspaces": args.workspaces,
        "rss_mb": {"empty": empty, "installed": installed, "after_commands": after_commands, "restarted": restart_rss},
        "per_workspace_mb": round(per_workspace, 2),
        "install_s": {"median": round(statistics.median(installs), 3), "max": round(max(installs), 3)},
        "ack": ack,
        "restart_healthy_s": round(restart_healthy, 2),
    }
    print(f"\nwritten to {write_result('workspaces', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
