"""Several `segmetrics-bot serve` processes on one PostgreSQL: a burst split between two replicas, one of them
killed (SIGKILL) mid-burst. Nothing acknowledged is lost, nothing is confirmed twice; skipped where the
machine has no PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg
from slack_sdk.signature import SignatureVerifier

from bot.sandbox import Fault, Sandbox, SandboxServer
from bot.testing import FakeSlack
from tests.e2e.conftest import BASE, SIGNING_SECRET, TEAM, BotFactory, settled
from tests.e2e.test_modes import free_port, segmetrics_env, start_bot, wait_healthy

BURST = 24


def command(fake: FakeSlack, n: int) -> str:
    return urlencode(
        {
            "team_id": TEAM,
            "channel_id": "C1",
            "channel_name": "marketing",
            "user_id": f"U{n:03d}",
            "command": "/segmetrics",
            "text": f"contact add user{n}@example.com first=User{n}",
            "response_url": fake.response_url(f"r{n}"),
            "trigger_id": f"trigger-replica-{n}",
        }
    )


async def send(http: httpx.AsyncClient, ports: list[int], body: str) -> int:
    """As a proxy would: to the first replica, else (gone) to the next. Returns the port that answered 200."""
    for port in ports:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body),
        }
        try:
            response = await http.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=headers)
        except httpx.TransportError:
            continue
        assert response.status_code == 200, response.text
        return port
    raise AssertionError("no replica answered")


async def test_a_replica_killed_mid_burst_loses_nothing(
    fresh_postgres: str, fake_slack: FakeSlack, segmetrics: SandboxServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    database = fresh_postgres
    env = {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "SEGMETRICS_BOT_DATABASE_URL": database,
        "SEGMETRICS_LEASE_SECONDS": "2",
        "SEGMETRICS_TIMEOUT": "5",
        **segmetrics_env(segmetrics),
    }
    ports = [free_port(), free_port()]
    replicas = [
        start_bot(["serve", "--port", str(port)], env, tmp_path, log=tmp_path / f"replica-{n}.log")
        for n, port in enumerate(ports)
    ]
    try:
        for port, process in zip(ports, replicas, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout=30)
        # SegMetrics is slow: the first replica is killed with calls under way and commands still queued.
        sandbox.add_fault(Fault(status=None, delay=0.6, times=BURST // 2, path_contains="/contact"))
        async with httpx.AsyncClient(timeout=10) as http:
            # The first half shared between the two (as a proxy does), both answering at once.
            first = await asyncio.gather(
                *(send(http, ports if n % 2 else ports[::-1], command(fake_slack, n)) for n in range(BURST // 2))
            )
            assert Counter(first) == {ports[0]: BURST // 4, ports[1]: BURST // 4}
            replicas[0].send_signal(signal.SIGKILL)
            replicas[0].wait(timeout=10)
            rest = await asyncio.gather(*(send(http, ports, command(fake_slack, n)) for n in range(BURST // 2, BURST)))
            assert set(rest) == {ports[1]}  # the proxy sends everything to the survivor

        def confirmed() -> Counter[str]:
            texts = [call.args.get("text", "") for call in fake_slack.calls_to("chat.postMessage")]
            return Counter(match.group(1) for text in texts if (match := re.search(r"saved contact (\S+)", text)))

        deadline = time.monotonic() + 30
        while len(confirmed()) < BURST and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # waiting for the survivor to take over the dead one's leases (2 s)
        emails = [f"user{n}@example.com" for n in range(BURST)]
        assert confirmed() == Counter(emails), "every user gets exactly one confirmation"
        posts = Counter(request.json["email"] for request in sandbox.requests if request.path == f"{BASE}/contact")
        for n, email in enumerate(emails):
            assert sandbox.contact(email)["first_name"] == f"User{n}"
            # Once; twice only for a call the dead replica had already sent (an upsert: harmless again).
            assert posts[email] == 1 or (n < BURST // 2 and n % 2 == 1 and posts[email] == 2), (email, posts[email])
        assert sum(posts.values()) - BURST <= BURST // 2
    finally:
        for process in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    for n in range(2):
        log = (tmp_path / f"replica-{n}.log").read_text(errors="replace")
        assert fake_slack.bot_token not in log and SIGNING_SECRET not in log


async def test_on_a_shared_database_a_form_is_journaled_before_it_is_answered(
    fresh_postgres: str, bots: BotFactory, sandbox: Sandbox
) -> None:
    database = fresh_postgres
    slack = await bots.start(segmetrics_bot_database_url=database)
    since = time.monotonic()
    await slack.command("order add")  # incomplete: its form opens
    view = await slack.opened_view(after=since)
    typed = {"id": "INV-77", "email": "jane@example.com", "amount": "49.99", "product_id": "C-1"}
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as blocker:
        # The journal cannot be written for a moment (another session holds the table).
        blocker.execute("LOCK TABLE outbox IN SHARE MODE")
        submitting = asyncio.ensure_future(slack.submit(view, typed))
        await asyncio.sleep(0.5)  # long enough for an answer that did not wait for the journal
        assert not submitting.done(), "the form was answered before it was journaled"
        blocker.commit()  # the journal goes through: the answer follows
        submitted = await submitting
    assert submitted.status_code == 200 and submitted.text == ""
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as connection:
        rows = connection.execute("SELECT key FROM outbox").fetchall()
    assert rows == [(f"view:{view['id']}",)]
    await slack.posted(lambda call: "saved order INV-77" in call.args.get("text", ""), timeout=10)


async def test_on_a_shared_database_a_command_is_journaled_before_it_is_answered(
    fresh_postgres: str, bots: BotFactory
) -> None:
    database = fresh_postgres
    slack = await bots.start(segmetrics_bot_database_url=database)
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as blocker:
        blocker.execute("LOCK TABLE outbox IN SHARE MODE")
        sending = asyncio.ensure_future(slack.command("contact add jane@example.com"))
        await asyncio.sleep(0.5)
        assert not sending.done(), "the command was answered before it was journaled"
        blocker.commit()
        assert (await sending).status_code == 200
    await slack.posted(lambda call: "saved contact jane@example.com" in call.args.get("text", ""), timeout=10)


async def test_on_a_shared_database_a_workflow_step_is_journaled_before_it_is_answered(
    fresh_postgres: str, bots: BotFactory, sandbox: Sandbox
) -> None:
    database = fresh_postgres
    slack = await bots.start(segmetrics_bot_database_url=database)
    inputs = {"user_id": "U1", "email": "jane@example.com", "first_name": "Jane"}
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as blocker:
        blocker.execute("LOCK TABLE outbox IN SHARE MODE")
        sending = asyncio.ensure_future(slack.step("contact_add", inputs))
        await asyncio.sleep(0.5)
        assert not sending.done(), "the step's event was answered before the run was journaled"
        blocker.commit()
        response, run = await sending
    assert response.status_code == 200
    await slack.step("contact_add", inputs, execution=run)  # delivered again: runs once
    state, outputs = await slack.step_result(run)
    assert state == "success" and outputs["email"] == "jane@example.com"
    await settled(slack)  # the second delivery's job, too, is over
    assert len([request for request in sandbox.requests if request.path == f"{BASE}/contact"]) == 1
    # Input that cannot be read is refused, and its journal entry ended, never retried.
    _, bad = await slack.step(
        "contact_add", {"user_id": "U1", "email": "jane@example.com", "date_created_text": "sometime"}
    )
    state, error = await slack.step_result(bad)
    assert state == "error" and "(`date_created`)" in error
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as connection:
        states = dict(connection.execute("SELECT key, state FROM outbox").fetchall())
    assert states == {f"function:{run}": "done", f"function:{bad}": "failed"}
