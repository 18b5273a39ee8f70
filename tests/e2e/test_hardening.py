"""What an adversarial probe found, through the real Slack path: each case reaches SegMetrics exactly as
meant, or not at all."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.context import Context
from bot.fields import Identifier
from bot.operation import Input, Registry, Resource, operation, param
from bot.runner import Runner
from bot.sandbox import Sandbox, SandboxServer
from bot.segmetrics.errors import UnsafeRequest
from bot.segmetrics.request import ApiRequest
from bot.slack.app import build_bot
from bot.slack.server import HttpService
from bot.testing import FakeSlack
from commands import REGISTRY
from tests.e2e.conftest import Slack, bot_settings, settled


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
