"""Both ways of running: Socket Mode (with reconnects) in-process, and `serve` / `run` as a user starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.sandbox import Sandbox, SandboxServer
from bot.settings import SocketModeSettings, load_settings
from bot.slack.app import build_bot
from bot.slack.server import SocketModeService
from bot.testing import FakeSlack
from tests.e2e.conftest import ACCOUNT, API_KEY, INTEGRATION, SIGNING_SECRET, temporary_database


def slash_payload(fake: FakeSlack, text: str, command: str = "/sm-tag") -> dict[str, str]:
    trigger = f"trigger-socket-{time.monotonic_ns()}"  # each command its own, as Slack does
    return {
        "team_id": "T0TEST",
        "channel_id": "C1",
        "user_id": "U1",
        "command": command,
        "text": text,
        "api_app_id": "A0TEST",
        "response_url": fake.response_url("socket"),
        "trigger_id": trigger,
    }


def segmetrics_env(server: SandboxServer) -> dict[str, str]:
    return {
        "SEGMETRICS_API_KEY": API_KEY,
        "SEGMETRICS_ACCOUNT_ID": ACCOUNT,
        "SEGMETRICS_INTEGRATION_ID": INTEGRATION,
        "SEGMETRICS_IMPORT_URL": server.import_url,
        "SEGMETRICS_REPORTING_URL": server.reporting_url,
    }


async def test_socket_mode_answers_and_reconnects(
    fake_slack: FakeSlack, segmetrics: SandboxServer, sandbox: Sandbox
) -> None:
    settings = load_settings(
        env_file=None,
        model=SocketModeSettings,
        segmetrics_bot_database_url=temporary_database(),
        slack_bot_token=fake_slack.bot_token,
        slack_app_token=fake_slack.app_token,
        slack_api_url=fake_slack.api_url,
        **{name.lower(): value for name, value in segmetrics_env(segmetrics).items()},
    )
    bot = build_bot(settings)
    await bot.prepare()
    service = SocketModeService(bot, fake_slack.app_token, health_port=0)
    await service.start()
    try:
        await fake_slack.async_wait_for_socket()
        async with httpx.AsyncClient() as http:
            health = await http.get(f"http://127.0.0.1:{service.health_port}/healthz")
        assert health.status_code == 200 and health.json()["socket"] is True

        await bot.runner.run_text("contact add jane@example.com")
        envelope = FakeSlack.slash_command_envelope(slash_payload(fake_slack, "add jane@example.com VIP"))
        await fake_slack.async_socket_send(envelope)
        ack = await fake_slack.async_wait_for(
            "socket_ack", lambda call: call.args.get("envelope_id") == envelope["envelope_id"]
        )
        assert ack.args.get("payload") in (None, {}, {"text": ""})  # acknowledged silently
        posted = await fake_slack.async_wait_for("chat.postMessage")
        assert posted.args["text"] == "<@U1> tagged jane@example.com with VIP"
        assert sandbox.requests[-1].json == {"email": "jane@example.com", "tags": ["VIP"]}

        # Slack drops the socket (it does, routinely): the bot reconnects by itself.
        opened = len(fake_slack.calls_to("apps.connections.open"))
        dropped = time.monotonic()
        fake_slack.socket_disconnect()
        await fake_slack.async_wait_for("apps.connections.open", lambda call: call.at > dropped, timeout=10)
        await fake_slack.async_wait_for_socket(timeout=10)
        assert len(fake_slack.calls_to("apps.connections.open")) > opened
        envelope = FakeSlack.slash_command_envelope(slash_payload(fake_slack, "remove jane@example.com VIP"))
        await fake_slack.async_socket_send(envelope)
        await fake_slack.async_wait_for("chat.postMessage", lambda call: "removed VIP" in call.args["text"], timeout=10)
    finally:
        await service.stop(grace=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 20.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"the bot exited: {process.communicate()[1]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling a starting process: bounded by the timeout above
    raise AssertionError(f"{url} never became healthy")


def start_bot(args: list[str], env: dict[str, str], cwd: Path, *, log: Path | None = None) -> subprocess.Popen[str]:
    """`segmetrics-bot <args>` as a user starts it; its log in a pipe, or in `log` (a file, which a busy bot
    never blocks on)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("SEGMETRICS_", "SLACK_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE if log is None else subprocess.DEVNULL,
        stderr=subprocess.PIPE if log is None else log.open("w"),
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    return stderr


def test_serve_as_a_user_starts_it(fake_slack: FakeSlack, segmetrics: SandboxServer, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        **segmetrics_env(segmetrics),
    }
    process = start_bot(["serve", "--port", str(port)], env, tmp_path)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        body = "command=%2Fsegmetrics&text=contact+add+jane%40example.com&user_id=U1&channel_id=C1&team_id=T0TEST"
        body += "&response_url=" + fake_slack.response_url("cli") + "&trigger_id=t1"
        stamp = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        response = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=headers)
        assert response.status_code == 200
        assert fake_slack.wait_for("chat.postMessage").args["text"] == "<@U1> saved contact jane@example.com"
    finally:
        stderr = stop(process)
    assert API_KEY not in stderr and fake_slack.bot_token not in stderr and SIGNING_SECRET not in stderr


def test_run_as_a_user_starts_it(fake_slack: FakeSlack, segmetrics: SandboxServer, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_APP_TOKEN": fake_slack.app_token,
        "SLACK_API_URL": fake_slack.api_url,
    }  # no SegMetrics credentials: the sandbox, said loudly
    process = start_bot(["run", "--health-port", str(port)], env, tmp_path)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        fake_slack.wait_for_socket()
        fake_slack.socket_send(FakeSlack.slash_command_envelope(slash_payload(fake_slack, "", command="/segmetrics")))
        ack = fake_slack.wait_for("socket_ack")
        assert "tag add jane@example.com VIP" in str(ack.args)
    finally:
        stderr = stop(process)
    assert "SANDBOX MODE" in stderr
    assert fake_slack.app_token not in stderr and fake_slack.bot_token not in stderr


async def test_a_refused_app_token_stops_start_up(fake_slack: FakeSlack, segmetrics: SandboxServer) -> None:
    from bot.slack.app import StartupError

    settings = load_settings(
        env_file=None,
        model=SocketModeSettings,
        segmetrics_bot_database_url=temporary_database(),
        slack_bot_token=fake_slack.bot_token,
        slack_app_token="xapp-wrong",
        slack_api_url=fake_slack.api_url,
    )
    bot = build_bot(settings)
    await bot.prepare()
    service = SocketModeService(bot, "xapp-wrong", health_port=0)
    with pytest.raises(StartupError, match=r"Slack refused SLACK_APP_TOKEN \(invalid_auth\).*connections:write"):
        await service.start()
    await bot.close(grace=0)


@pytest.mark.parametrize(("mode", "missing"), [("run", "SLACK_APP_TOKEN"), ("serve", "SLACK_SIGNING_SECRET")])
def test_missing_settings_stop_start_up_with_one_message(tmp_path: Path, mode: str, missing: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", mode],
        env={key: value for key, value in os.environ.items() if not key.startswith(("SEGMETRICS_", "SLACK_"))},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Cannot start: the settings have problems.")
    assert "SLACK_BOT_TOKEN: is not set" in result.stderr
    assert f"{missing}: is not set" in result.stderr
