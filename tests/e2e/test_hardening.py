"""What an adversarial probe found, through the real Slack path: each case reaches SegMetrics exactly as
meant, or not at all."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot import logs
from bot.context import Context
from bot.fields import Identifier
from bot.operation import Input, Registry, Resource, operation, param
from bot.runner import Runner
from bot.sandbox import Sandbox, SandboxServer
from bot.segmetrics.errors import UnsafeRequest
from bot.segmetrics.request import ApiRequest
from bot.slack import modals
from bot.slack.app import build_bot
from bot.slack.server import HttpService
from bot.testing import FakeSlack
from commands import REGISTRY
from tests.e2e.conftest import BotFactory, Slack, bot_settings, settled, temporary_database


@pytest.mark.parametrize(
    "text", ["order delete ..", "order delete .", "contact show ..", "subscription delete ...", "contact delete ."]
)
async def test_an_id_made_of_dots_never_leaves_its_endpoint(slack: Slack, sandbox: Sandbox, text: str) -> None:
    since = time.monotonic()
    response = await slack.command(text)
    assert response.status_code == 200
    told = await slack.posted(lambda call: call.at >= since, method="response_url")
    assert "made only of dots" in json.dumps(told.args["blocks"])
    await settled(slack)
    assert sandbox.requests == []


async def test_a_card_button_with_a_dotted_id_sends_nothing(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.click("card_delete", json.dumps({"contact_id": ".."}), message={"ts": "1.2", "blocks": []})
    told = await slack.posted(lambda call: call.at >= since, method="response_url")
    assert "made only of dots" in json.dumps(told.args.get("blocks"))
    await settled(slack)
    assert sandbox.requests == []


@pytest.mark.parametrize("path", ["invoice/..", "invoice/%2E%2E", "invoice/%2e", "..", "contact/./x"])
async def test_the_funnel_refuses_dot_segments_whatever_built_them(slack: Slack, sandbox: Sandbox, path: str) -> None:
    client = slack.bot.runner.client
    with pytest.raises(UnsafeRequest):
        client.url_for(ApiRequest("DELETE", path))
    with pytest.raises(UnsafeRequest):
        await client.send(ApiRequest("DELETE", path))
    assert sandbox.requests == []


async def test_the_audit_trail_records_the_url_called(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text('order add INV/7 jane@example.com item="A | P | 5"')
    since = time.monotonic()
    await slack.command("order delete INV/7")
    prompt = await slack.posted(
        lambda call: call.at >= since and "confirm_run" in json.dumps(call.args.get("blocks")), method="response_url"
    )
    value = next(
        element["value"]
        for block in prompt.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "confirm_run"
    )
    await slack.click("confirm_run", value, response_key="prompt")
    await slack.posted(lambda call: call.at >= since and "deleted order" in call.args.get("text", ""))
    await settled(slack)
    row = slack.bot.store.store.audit_rows()[-1]
    assert row["request"]["path"] == "invoice/INV%2F7"
    assert row["request"]["url"] == f"{slack.bot.settings.segmetrics_import_url}/acct-1/int-9/invoice/INV%2F7"
    assert sandbox.requests[-1].path.endswith("/invoice/INV%2F7")


# -- a run that breaks is ended once, never retried for a day ---------------------------------------------


class Anything(Input):
    id: Identifier = param(title="Id", examples=["X-1"])


@operation("boom", "go", title="Break", done="broke {id}", positional=["id"], examples=["boom go X-1"])
def break_unexpectedly(thing: Anything, ctx: Context) -> ApiRequest:
    """An operation with a bug: building its request raises."""
    raise RuntimeError("a bug in a declaration")


@pytest.fixture
async def breaking(fake_slack: FakeSlack, segmetrics: SandboxServer) -> AsyncIterator[Slack]:
    registry = Registry([*REGISTRY.resources, Resource("boom", "Booms")], [*REGISTRY.operations, break_unexpectedly])
    settings = bot_settings(fake_slack, segmetrics, segmetrics_outbox_first_retry=0.2, segmetrics_outbox_max_gap=0.5)
    bot = build_bot(settings, Runner.from_settings(settings, registry))
    await bot.prepare()
    service = HttpService(bot, host="127.0.0.1", port=0)
    await service.start()
    async with httpx.AsyncClient(timeout=10) as http:
        yield Slack(url=f"http://127.0.0.1:{service.port}", http=http, fake=fake_slack, bot=bot)
    await service.stop(grace=5)


async def test_an_unexpected_failure_ends_its_entry_once(breaking: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await breaking.command("boom go X-1")
    told = await breaking.posted(lambda call: call.at >= since, method="response_url")
    assert "unexpected problem" in told.args["text"]
    reference = told.args["text"].split("reference ")[1].rstrip(").")
    await settled(breaking)
    store = breaking.bot.store.store
    assert store.pending() == []  # not left for the outbox to re-run every gap for a day
    assert await breaking.bot.surface.outbox.run_due() == 0
    rows = [row for row in store.audit_rows() if row["operation"] == "boom go"]
    assert [row["outcome"] for row in rows] == ["failed"] and reference in rows[0]["detail"]
    assert len([call for call in breaking.fake.calls_to("response_url") if call.at >= since]) == 1
    assert sandbox.requests == []


async def test_json_nested_too_deep_is_refused_when_read(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("api POST contact " + "[" * 1200 + "]" * 1200)
    told = await slack.posted(lambda call: call.at >= since, method="response_url")
    assert "nests 1,200 levels deep; the limit is 32" in json.dumps(told.args["blocks"])
    await settled(slack)
    assert slack.bot.store.store.pending() == [] and sandbox.requests == []


# -- trusting only what Slack and the bot itself wrote ------------------------------------------------


async def test_a_response_url_outside_slack_is_never_posted_to(slack: Slack, sandbox: Sandbox) -> None:
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.text())
        return web.Response(text="ok")

    application = web.Application()
    application.router.add_post("/hook", hook)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        body = slack.command_body("contact add jane@example.com first=Jane")
        body = body.replace("response_url=", f"response_url=http%3A%2F%2F127.0.0.1%3A{port}%2Fhook&x=", 1)
        since = time.monotonic()
        assert (await slack.post(body)).status_code == 200
        posted = await slack.posted(lambda call: call.at >= since)  # the confirmation goes to the channel
        assert posted.args["channel"] == "C1"
        await slack.post(slack.command_body("order add INV-1 jane@example.com amount=1.234 product=P").replace(
            "response_url=", f"response_url=http%3A%2F%2F127.0.0.1%3A{port}%2Fhook&x=", 1))  # fmt: skip
        told = await slack.posted(lambda call: call.at >= since, method="chat.postEphemeral")
        assert told.args["user"] == "U1"
        await settled(slack)
        assert received == []
    finally:
        await runner.cleanup()


async def test_a_form_cannot_claim_the_channel_a_policy_asks_for(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."order add"]\nchannels = ["C0SALES1"]\n', encoding="utf-8")
    slack = await bots.start(segmetrics_bot_policy=str(policy))
    since = time.monotonic()
    await slack.command("contact add")  # a form anyone may open, here in C1
    view = await slack.opened_view(after=since)
    forged = {**view, "callback_id": "op:order:add", "private_metadata": json.dumps({"channel_id": "C0SALES1"})}
    forged["blocks"] = modals.build_view(
        REGISTRY["order add"], raw={}, ctx=slack.bot.runner.context(), origin=modals.Origin(), seal=modals.Seal("x")
    )["blocks"]
    typed = {"id": "INV-1", "email": "jane@example.com", "items": "A | P | 5"}
    body = (await slack.submit(forged, typed)).json()
    assert body["response_action"] == "errors" and "may only be run in" in json.dumps(body["errors"])
    await settled(slack)
    assert sandbox.requests == []
    # The same form, opened by the bot in the right channel, goes through.
    since = time.monotonic()
    await slack.command("order add INV-2", channel="C0SALES1")
    view = await slack.opened_view(after=since)
    assert (await slack.submit(view, {**typed, "id": "INV-2"})).text == ""
    await slack.posted(lambda call: call.at >= since and call.args.get("channel") == "C0SALES1")


# -- a store that cannot keep work is said so, not served as healthy --------------------------------------


async def test_a_deleted_database_refuses_writes_and_fails_health(bots: BotFactory, sandbox: Sandbox) -> None:
    database = temporary_database()
    slack = await bots.start(segmetrics_bot_database_url=database)
    health = await slack.http.get(f"{slack.url}/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    Path(database.removeprefix("sqlite:///")).unlink()
    health = await slack.http.get(f"{slack.url}/healthz")
    assert health.status_code == 503
    assert "was deleted while the bot runs" in health.json()["database"]
    response = await slack.command("contact add jane@example.com")
    assert "cannot keep work right now" in json.dumps(response.json()["blocks"])
    since = time.monotonic()
    await slack.command("contact show jane@example.com")  # a read needs no keeping
    await slack.posted(lambda call: call.at >= since, method="response_url")
    assert [request.method for request in sandbox.requests] == ["GET"]


def test_a_damaged_database_stops_the_start_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xa5" * 8000)
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("SEGMETRICS_", "SLACK_"))},
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SEGMETRICS_BOT_DATABASE_URL": f"sqlite:///{path}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    assert "Cannot start" in result.stderr and "SEGMETRICS_BOT_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr


async def test_a_message_with_more_addresses_than_a_form_holds_says_so(slack: Slack) -> None:
    addresses = [f"user{n}@example.com" for n in range(140)]
    since = time.monotonic()
    await slack.message_shortcut("tag_contacts_from_message", {"ts": "1.2", "text": " ".join(addresses)})
    view = await slack.opened_view(after=since)
    listed = next(block for block in view["blocks"] if block.get("block_id") == "contacts")
    assert len(listed["element"]["options"]) == 100
    intro = view["blocks"][0]["elements"][0]["text"]
    assert "names 140 addresses" in intro and "The other 40 are not tagged by this form" in intro
    assert "user139@example.com" in intro and "user99@example.com" not in intro.split("They are:")[1]


# -- one request id per request, background work included ---------------------------------------------


async def test_each_request_keeps_its_own_id_into_its_background_work(slack: Slack, sandbox: Sandbox) -> None:
    seen: list[tuple[str, str | None]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.getMessage(), logs.request_id.get()))

    runner_log = logging.getLogger("segmetrics_slack.runner")
    handler, level = Capture(), runner_log.level
    runner_log.addHandler(handler)
    runner_log.setLevel(logging.INFO)
    try:
        commands = ["contact add a@example.com", 'api POST contact {"email": "b@example.com"}', "contact add c@x.co"]
        for text in commands:
            since = time.monotonic()
            await slack.command(text)
            await slack.posted(lambda call: call.at >= since)  # noqa: B023 - awaited within the iteration
        await settled(slack)
    finally:
        runner_log.removeHandler(handler)
        runner_log.setLevel(level)
    done = [identifier for message, identifier in seen if " done for " in message]
    assert len(done) == 3 and None not in done
    assert len(set(done)) == 3  # a worker that outlives requests takes on each one's id


async def test_the_delete_prompt_is_escaped_once(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text('contact add rd@example.com first="R&D" last="<Team>"')
    since = time.monotonic()
    await slack.command("contact delete rd@example.com")
    prompt = await slack.posted(
        lambda call: call.at >= since and "confirm_run" in json.dumps(call.args.get("blocks")), method="response_url"
    )
    assert prompt.args["text"] == "⚠️ *Delete contact R&amp;D &lt;Team&gt;?*"
    assert "&amp;amp;" not in json.dumps(prompt.args) and "&amp;lt;" not in json.dumps(prompt.args)
