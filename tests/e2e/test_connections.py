"""Connections through the Slack path: each piece of work goes to the SegMetrics integration it belongs to
(a resource's connection, a channel's, or the one `via=` names), says which, keeps it when queued, and
the policy may keep a connection to some people."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Fault, Sandbox
from tests.e2e.conftest import ACCOUNT, API_KEY, FAST, INTEGRATION, BotFactory, Slack, settled, temporary_database

PAYMENTS_KEY, ADS_KEY = "sk-payments-0c3e9f", "sk-ads-7b1d22"
FILE = f"""
[connections.payments]
api_key = "env:SEGMETRICS_PAYMENTS_KEY"
account_id = "{ACCOUNT}"
integration_id = "77"
timezone = "America/New_York"
resources = ["contact", "tag", "order", "subscription"]

[connections.ads]
api_key = "env:SEGMETRICS_ADS_KEY"
account_id = "{ACCOUNT}"
integration_id = "91"
currency = "EUR"
resources = ["ad"]

[connections.eu-sales]
api_key = "{API_KEY}"
account_id = "{ACCOUNT}"
integration_id = "78"
channels = ["#eu-sales"]
"""
ORDER = 'order add INV-7 jane@example.com amount=49.99 item="Course | C-100 | 49.99" date="2026-11-20 10:00"'
AD = "ad record AD-1 spend=120.50 date=2026-11-20"


@pytest.fixture
def sandbox() -> Sandbox:
    # One account with the default's integration and three more, each reached with its own key.
    return Sandbox(
        api_key=API_KEY,
        account_id=ACCOUNT,
        integration_id=INTEGRATION,
        more_integrations=("77", "91", "78"),
        more_keys=(PAYMENTS_KEY, ADS_KEY),
    )


@pytest.fixture
def connections_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SEGMETRICS_PAYMENTS_KEY", PAYMENTS_KEY)
    monkeypatch.setenv("SEGMETRICS_ADS_KEY", ADS_KEY)
    path = tmp_path / "connections.toml"
    path.write_text(FILE, encoding="utf-8")
    return str(path)


def writes(sandbox: Sandbox) -> list[tuple[str, str]]:
    """(path, Authorization) of every write SegMetrics accepted."""
    return [(r.path, r.headers.get("authorization", "")) for r in sandbox.requests if r.method != "GET"]


async def test_each_resource_goes_to_its_own_integration_and_says_so(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    await slack.command(ORDER)
    order = await slack.posted(lambda call: "INV-7" in call.args["text"])
    await slack.command(AD)
    ad = await slack.posted(lambda call: "AD-1" in call.args["text"])
    await slack.command("contact add sam@example.com", channel="C2", channel_name="random")
    await slack.posted(lambda call: "sam@example.com" in call.args["text"])
    await settled(slack)
    assert writes(sandbox) == [
        (f"/api/v1/{ACCOUNT}/77/invoice", PAYMENTS_KEY),
        (f"/api/v1/{ACCOUNT}/91/ad/performance", ADS_KEY),
        (f"/api/v1/{ACCOUNT}/77/contact", PAYMENTS_KEY),
    ]
    assert order.args["text"].endswith("via payments") and ad.args["text"].endswith("via ads")
    assert "via payments" in json.dumps(order.args["blocks"])
    # Each connection's own settings: the order's date in New York time, the ad's spend in euros.
    invoice = next(r.json for r in sandbox.requests if r.path.endswith("/invoice"))
    assert invoice["date_created"] == "2026-11-20 10:00:00"
    assert "€" in json.dumps(ad.args["blocks"], ensure_ascii=False)
    rows = slack.bot.store.store.audit_rows()
    assert [row["connection"] for row in rows if row["outcome"] == "succeeded"] == ["payments", "ads", "payments"]


async def test_via_overrides_the_routing_and_an_unknown_one_is_refused(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    await slack.command(f"{ORDER} via=default")
    await slack.posted(lambda call: "via default" in call.args["text"])
    await slack.command("contact add sam@example.com VIA=ads")
    await slack.posted(lambda call: "via ads" in call.args["text"])
    await settled(slack)
    assert [path for path, _ in writes(sandbox)] == [
        f"/api/v1/{ACCOUNT}/{INTEGRATION}/invoice",
        f"/api/v1/{ACCOUNT}/91/contact",
    ]
    sandbox.reset_requests()
    answer = (await slack.command(f"{AD} via=adz")).json()
    assert "no connection named `adz`" in answer["text"] and "via=ads" in answer["text"]
    assert "/segmetrics ad record AD-1" in json.dumps(answer["blocks"])  # what was typed, to fix and resend
    twice = (await slack.command(f"{AD} via=ads via=payments")).json()
    assert "`via` is given twice" in twice["text"]
    await settled(slack)
    assert sandbox.requests == []


async def test_a_channel_default_wins_over_a_resource_default(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    await slack.command(ORDER, channel="C0EU", channel_name="eu-sales")
    done = await slack.posted(lambda call: "INV-7" in call.args["text"])
    await settled(slack)
    assert done.args["text"].endswith("via eu-sales")
    assert [path for path, _ in writes(sandbox)] == [f"/api/v1/{ACCOUNT}/78/invoice"]


async def test_a_form_offers_the_connections_set_to_the_routed_one(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    since = time.monotonic()
    await slack.command("order add INV-8")
    view = await slack.opened_view(after=since)
    select = next(block for block in view["blocks"] if block.get("block_id") == "via")
    assert [option["value"] for option in select["element"]["options"]] == ["default", "ads", "eu-sales", "payments"]
    assert select["element"]["initial_option"]["value"] == "payments"
    typed = {"email": "jane@example.com", "items": "Course | C-100 | 49.99", "date_created": "2026-11-20 10:00"}
    assert (await slack.submit(view, {**typed, "via": "ads"})).text == ""
    done = await slack.posted(lambda call: "INV-8" in call.args["text"])
    await settled(slack)
    assert done.args["text"].endswith("via ads")
    assert [path for path, _ in writes(sandbox)] == [f"/api/v1/{ACCOUNT}/91/invoice"]


async def test_one_connection_means_no_choice_and_no_mention(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("order add INV-9")
    view = await slack.opened_view(after=since)
    assert all(block.get("block_id") != "via" for block in view["blocks"])
    await slack.command("contact add jane@example.com")
    done = await slack.posted(lambda call: "jane@example.com" in call.args["text"])
    assert " via " not in done.args["text"]
    answer = (await slack.command("contact add jane@example.com via=ads")).json()
    assert "no connection named `ads`" in answer["text"] and "`default`" in answer["text"]


async def test_a_queued_job_keeps_its_connection_across_a_restart(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    database = temporary_database()
    first = await bots.start(**FAST, segmetrics_connections=connections_file, segmetrics_bot_database_url=database)
    sandbox.add_fault(Fault(status=503, times=1000))
    await first.command(AD)
    await first.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    await bots.stop(first)
    sandbox.reset()
    second = await bots.start(**FAST, segmetrics_connections=connections_file, segmetrics_bot_database_url=database)
    done = await second.posted(lambda call: "AD-1" in call.args["text"], timeout=15)
    assert done.args["text"].endswith("via ads")
    await settled(second)
    assert writes(sandbox) == [(f"/api/v1/{ACCOUNT}/91/ad/performance", ADS_KEY)]


async def test_the_policy_can_keep_a_connection_to_some_people(
    bots: BotFactory, sandbox: Sandbox, connections_file: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[connections.ads]\nallow = ["U0ADS"]\n', encoding="utf-8")
    slack = await bots.start(segmetrics_connections=connections_file, segmetrics_bot_policy=str(policy))
    answer = (await slack.command(AD)).json()
    assert "The connection `ads` is not open to you ([connections.ads])" in answer["text"]
    await slack.command(AD, user="U0ADS")
    await slack.posted(lambda call: "AD-1" in call.args["text"])
    await settled(slack)
    assert [path for path, _ in writes(sandbox)] == [f"/api/v1/{ACCOUNT}/91/ad/performance"]
    refused = [row for row in slack.bot.store.store.audit_rows() if row["outcome"] == "refused"]
    assert refused[0]["user_id"] == "U1" and refused[0]["connection"] == "ads"


async def test_a_contact_card_acts_through_the_connection_it_was_read_from(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    await slack.command("contact add jane@example.com via=eu-sales")
    await slack.posted(lambda call: "jane@example.com" in call.args["text"])
    await slack.command("contact show jane@example.com via=eu-sales")
    shown = await slack.posted(lambda call: "Contact" in call.args.get("text", ""), method="response_url")
    buttons: list[dict[str, Any]] = next(
        block["elements"] for block in shown.args["blocks"] if block.get("block_id") == "card_actions"
    )
    assert "via eu-sales" in json.dumps(shown.args["blocks"])
    delete = next(button for button in buttons if button["action_id"] == "card_delete")
    assert json.loads(delete["value"])["via"] == "eu-sales"
    sandbox.reset_requests()
    await slack.click("card_delete", delete["value"])
    await slack.posted(lambda call: "Deleted contact" in call.args.get("text", ""), method="response_url")
    await settled(slack)
    deletes = [r.path for r in sandbox.requests if r.method == "DELETE"]
    assert len(deletes) == 1 and deletes[0].startswith(f"/api/v1/{ACCOUNT}/78/contact/")


async def test_help_names_the_connections(bots: BotFactory, sandbox: Sandbox, connections_file: str) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    answer = (await slack.command("help")).json()
    assert "Add `via=&lt;connection&gt;` to any command" in json.dumps(answer)
    assert "`default`, `ads`, `eu-sales`, `payments`" in json.dumps(answer)


async def test_undo_goes_through_the_connection_of_what_it_undoes(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    await slack.command("contact add jane@example.com via=eu-sales")
    await slack.posted(lambda call: "saved contact" in call.args.get("text", ""))
    await slack.command("tag add jane@example.com VIP via=eu-sales")
    posted = await slack.posted(lambda call: "tagged" in call.args.get("text", ""))
    undo = next(
        element
        for block in posted.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "undo"
    )
    await slack.click(
        "undo", undo["value"], message={"ts": "5.7", "text": posted.args["text"], "blocks": posted.args["blocks"]}
    )
    await slack.posted(method="chat.update")
    await settled(slack)
    assert [r.path for r in sandbox.requests if r.method == "POST"] == [
        f"/api/v1/{ACCOUNT}/78/contact",
        f"/api/v1/{ACCOUNT}/78/tags/add",
        f"/api/v1/{ACCOUNT}/78/tags/remove",
    ]


async def test_a_private_channel_whose_name_slack_hides_is_asked_about(
    bots: BotFactory, sandbox: Sandbox, connections_file: str
) -> None:
    slack = await bots.start(segmetrics_connections=connections_file)
    answer = (await slack.command(ORDER, channel="G0PRIV001", channel_name="privategroup")).json()
    assert "Slack does not tell the bot this private channel's name" in answer["text"]
    assert "`eu-sales`" in answer["text"] and "via=" in answer["text"]
    await slack.command(f"{ORDER} via=payments", channel="G0PRIV001", channel_name="privategroup")
    await slack.posted(lambda call: "INV-7" in call.args.get("text", "") and "via payments" in call.args["text"])
    await settled(slack)
    assert [path for path, _ in writes(sandbox)] == [f"/api/v1/{ACCOUNT}/77/invoice"]
