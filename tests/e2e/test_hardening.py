"""What an adversarial probe found, through the real Slack path: each case reaches SegMetrics exactly as
meant, or not at all."""

from __future__ import annotations

import json
import time

import pytest

from bot.sandbox import Sandbox
from bot.segmetrics.errors import UnsafeRequest
from bot.segmetrics.request import ApiRequest
from tests.e2e.conftest import Slack, settled


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
