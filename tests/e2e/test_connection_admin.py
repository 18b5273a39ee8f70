"""Connections managed in the App Home, through the Slack path: an admin adds one (its key stored encrypted,
never shown again), tests, edits and removes it; it survives a restart; a non-admin can neither see nor change
connections."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.sandbox import Fault, Sandbox
from bot.settings import SettingsError
from bot.slack.app import StartupError
from tests.e2e.conftest import ACCOUNT, API_KEY, INTEGRATION, BotFactory, Slack, settled, temporary_database

ADS_KEY = "sk-ads-Secret-7b1d22aa"
SECRET_KEY = Fernet.generate_key().decode()
AD = "ad record AD-1 spend=120.50 date=2026-11-20"
ADMIN, OTHER = "U1", "U2"  # U1 is in SEGMETRICS_BOT_ADMINS (conftest); U2 is nobody's admin


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(
        api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION, more_integrations=("91",), more_keys=(ADS_KEY,)
    )


async def home(slack: Slack, user: str = ADMIN) -> dict[str, Any]:
    since = time.monotonic()
    await slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
    published = await slack.fake.async_wait_for(
        "views.publish", lambda call: call.at >= since and call.args["user_id"] == user
    )
    return dict(published.args["view"])


def buttons(view: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(action_id, value) → button, for every button of a view."""
    return {
        (element["action_id"], element.get("value", "")): element
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def told(slack: Slack, text: str, *, user: str = ADMIN, since: float = 0.0) -> str:
    """A message to `user` alone (a DM from the App Home) containing `text`, posted after `since`."""
    call = await slack.posted(
        lambda call: call.at >= since and call.args.get("channel") == f"D{user}" and text in call.args.get("text", "")
    )
    return str(call.args["text"])


async def add_ads(slack: Slack, **typed: Any) -> Any:
    since = time.monotonic()
    await slack.click("connection_add", "add", message=None)
    form = await slack.opened_view(after=since)
    assert form["callback_id"] == "connection_form"
    values = {
        "name": "ads",
        "api_key": ADS_KEY,
        "account_id": ACCOUNT,
        "integration_id": "91",
        "currency": "eur",
        "resources": ["ad"],
        **typed,
    }
    return await slack.submit(form, values)


def database_bytes(url: str) -> bytes:
    folder = Path(url.removeprefix("sqlite:///")).parent
    return b"".join(path.read_bytes() for path in folder.iterdir() if path.is_file())


async def test_an_added_key_is_stored_encrypted_routes_work_and_survives_a_restart(
    bots: BotFactory, sandbox: Sandbox
) -> None:
    database = temporary_database()
    slack = await bots.start(segmetrics_bot_secret_key=SECRET_KEY, segmetrics_bot_database_url=database)
    before = buttons(await home(slack))
    assert ("connection_add", "add") in before and ("connection_test", "default") in before
    assert ("connection_edit", "default") not in before  # the environment's is read-only here
    assert (await add_ads(slack)).text == ""
    said = await told(slack, "Added the connection `ads`")
    assert "amounts in EUR" in said and "default for ad" in said and ADS_KEY not in said
    view = await home(slack)
    shown = json.dumps(view, ensure_ascii=False)
    assert ADS_KEY not in shown and "key ••••••••" in shown
    assert {("connection_edit", "ads"), ("connection_remove", "ads"), ("connection_test", "ads")} <= set(buttons(view))
    await slack.command(AD)
    done = await slack.posted(lambda call: "AD-1" in call.args.get("text", ""))
    assert done.args["text"].endswith("via ads")
    await settled(slack)
    assert [(r.path, r.headers["authorization"]) for r in sandbox.requests if r.method == "POST"] == [
        (f"/api/v1/{ACCOUNT}/91/ad/performance", ADS_KEY)
    ]
    added = [row for row in slack.bot.store.store.audit_rows() if row["operation"] == "connection add"]
    assert added[0]["outcome"] == "succeeded" and added[0]["connection"] == "ads" and added[0]["user_id"] == ADMIN
    await bots.stop(slack)
    assert ADS_KEY.encode() not in database_bytes(database)
    assert b"ads" in database_bytes(database)  # the row is there, its key encrypted

    sandbox.reset_requests()
    again = await bots.start(segmetrics_bot_secret_key=SECRET_KEY, segmetrics_bot_database_url=database)
    since = time.monotonic()
    await again.command(AD)
    await again.posted(
        lambda call: call.at >= since and "AD-1" in call.args.get("text", "") and call.args["text"].endswith("via ads")
    )
    await settled(again)
    assert [r.path for r in sandbox.requests if r.method == "POST"] == [f"/api/v1/{ACCOUNT}/91/ad/performance"]
    await bots.stop(again)

    # Without the key the stored connection cannot be read: the bot says so rather than route elsewhere.
    with pytest.raises(StartupError, match="SEGMETRICS_BOT_SECRET_KEY is not set"):
        await bots.start(segmetrics_bot_database_url=database)
    with pytest.raises(StartupError, match="cannot be read"):
        await bots.start(segmetrics_bot_secret_key=Fernet.generate_key().decode(), segmetrics_bot_database_url=database)


async def test_a_non_admin_can_neither_see_nor_change_connections(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(segmetrics_bot_secret_key=SECRET_KEY)
    view = await home(slack, OTHER)
    shown = json.dumps(view, ensure_ascii=False)
    assert "Connections" not in shown and "account `" not in shown and "integration `" not in shown
    assert not [key for key in buttons(view) if key[0].startswith("connection_")]
    since = time.monotonic()
    await slack.click("connection_add", "add", user=OTHER)  # a forged click
    await told(slack, "Only admins can see and change connections", user=OTHER)
    tested = time.monotonic()
    await slack.click("connection_test", "default", user=OTHER)
    await told(slack, "Only admins", user=OTHER, since=tested)
    assert not [call for call in slack.fake.calls_to("views.open") if call.at >= since]
    # A forged submission of the form an admin would get.
    form = slack.bot.admin.form(None)
    values = {"name": "evil", "api_key": "sk-x-123456", "account_id": ACCOUNT, "integration_id": "91"}
    answer = (await slack.submit(form, values, user=OTHER)).json()
    assert answer == {"response_action": "errors", "errors": {"name": "Only admins can add or change connections."}}
    assert "evil" not in slack.bot.runner.connections
    await slack.bot.store.flush()  # the audit trail is written behind
    refused = [row for row in slack.bot.store.store.audit_rows() if row["outcome"] == "refused"]
    assert {row["operation"] for row in refused} == {"connection add", "connection test"}


async def test_a_workspace_admin_may_manage_connections(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(segmetrics_bot_secret_key=SECRET_KEY)
    slack.fake.admins.add(OTHER)
    assert ("connection_add", "add") in buttons(await home(slack, OTHER))


async def test_the_form_refuses_what_it_cannot_use_and_keeps_what_was_typed(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(segmetrics_bot_secret_key=SECRET_KEY)
    since = time.monotonic()
    await slack.click("connection_add", "add")
    form = await slack.opened_view(after=since)
    bad = {
        "name": "Default",
        "api_key": "two words",
        "account_id": "12/34",
        "integration_id": "",
        "timezone": "Mars/Olympus",
        "currency": "ZZZ",
    }
    answer = (await slack.submit(form, bad)).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"name", "api_key", "account_id", "integration_id", "timezone", "currency"}
    assert "e.g. America/New_York" in answer["errors"]["timezone"]
    taken = await slack.submit(form, {"name": "default", "api_key": ADS_KEY, "account_id": "1", "integration_id": "2"})
    assert "already a connection named `default`" in taken.json()["errors"]["name"]
    assert len(slack.bot.runner.connections) == 1


async def test_a_claim_another_connection_holds_is_refused(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "connections.toml"
    path.write_text(
        f'[connections.payments]\napi_key = "{API_KEY}"\naccount_id = "{ACCOUNT}"\nintegration_id = "77"\n'
        'resources = ["order"]\n',
        encoding="utf-8",
    )
    slack = await bots.start(segmetrics_bot_secret_key=SECRET_KEY, segmetrics_connections=str(path))
    assert ("connection_edit", "payments") not in buttons(await home(slack))  # the file's is read-only here
    answer = (await add_ads(slack, resources=["ad", "order"])).json()
    assert "`payments` and `ads` both claim the resource `order`" in answer["errors"]["resources"]


async def test_test_edit_and_remove(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(segmetrics_bot_secret_key=SECRET_KEY)
    await home(slack)
    await add_ads(slack, api_key="sk-wrong-key-000000")
    await told(slack, "Added the connection `ads`")
    await slack.click("connection_test", "ads")
    assert "SegMetrics refused the API key" in await told(slack, "`ads`: SegMetrics refused")
    await slack.click("connection_test", "default")
    assert "integration id is only checked when data is sent" in await told(slack, "`default` works")

    # Edit: a new key; the form never shows the old one.
    since = time.monotonic()
    await slack.click("connection_edit", "ads")
    form = await slack.opened_view(after=since)
    assert "sk-wrong-key" not in json.dumps(form)
    fields = {block["block_id"]: block for block in form["blocks"] if block["type"] == "input"}
    assert "name" not in fields and fields["integration_id"]["element"]["initial_value"] == "91"
    assert (await slack.submit(form, {"api_key": ADS_KEY})).text == ""
    await told(slack, "Saved the connection `ads`")
    await slack.click("connection_test", "ads")
    await told(slack, "`ads` works")
    # Left empty, the key stays as it is.
    since = time.monotonic()
    await slack.click("connection_edit", "ads")
    form = await slack.opened_view(after=since)
    assert (await slack.submit(form, {"api_key": "", "channels": ["C0ADS01"]})).text == ""
    await told(slack, "default for ad; in <#C0ADS01>")
    await slack.command("contact add jane@example.com", channel="C0ADS01", channel_name="ads-team")
    await slack.posted(lambda call: "jane@example.com" in call.args.get("text", "") and "via ads" in call.args["text"])
    assert sandbox.requests[-1].headers["authorization"] == ADS_KEY

    await slack.click("connection_remove", "ads")
    await told(slack, "Removed the connection `ads`")
    assert "ads" not in slack.bot.runner.connections and slack.bot.store.store.stored_connections() == []
    answer = (await slack.command(f"{AD} via=ads")).json()
    assert "no connection named `ads`" in answer["text"]


def test_a_secret_key_that_is_not_a_fernet_key_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import load_settings

    with pytest.raises(SettingsError, match="SEGMETRICS_BOT_SECRET_KEY"):
        load_settings(env_file=None, segmetrics_bot_secret_key="hunter2")


async def test_queued_work_of_a_removed_connection_is_not_sent_elsewhere(bots: BotFactory, sandbox: Sandbox) -> None:
    fast = {"segmetrics_timeout": 0.5, "segmetrics_max_attempts": 1, "segmetrics_retry_budget": 1.0}
    slack = await bots.start(
        segmetrics_bot_secret_key=SECRET_KEY, segmetrics_outbox_first_retry=0.3, segmetrics_outbox_max_gap=0.5, **fast
    )
    await home(slack)
    assert (await add_ads(slack)).text == ""
    await told(slack, "Added the connection `ads`")
    sandbox.add_fault(Fault(status=503, times=1000))
    await slack.command(AD)
    await slack.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    await slack.click("connection_remove", "ads")
    await told(slack, "Removed the connection `ads`")
    sandbox.reset()
    said = await slack.posted(
        lambda call: "no longer exists" in call.args.get("text", ""), method="response_url", timeout=10
    )
    assert "nothing was sent" in said.args["text"]
    await settled(slack)
    assert [r for r in sandbox.requests if r.method == "POST"] == []  # not to `default` either


async def test_a_card_keeps_acting_through_the_connection_it_was_read_through(
    bots: BotFactory, sandbox: Sandbox
) -> None:
    slack = await bots.start(segmetrics_bot_secret_key=SECRET_KEY)
    await slack.command("contact add jane@example.com")
    await slack.posted(lambda call: "saved contact" in call.args.get("text", ""))
    await slack.command("contact show jane@example.com")
    shown = await slack.posted(lambda call: "Contact" in call.args.get("text", ""), method="response_url")
    delete = next(
        element
        for block in shown.args["blocks"]
        if block.get("block_id") == "card_actions"
        for element in block["elements"]
        if element["action_id"] == "card_delete"
    )
    # Then an admin adds a connection that is the default for contacts: the card still means `default`.
    await home(slack)
    assert (await add_ads(slack, resources=["contact"])).text == ""
    await told(slack, "Added the connection `ads`")
    sandbox.reset_requests()
    await slack.click("card_delete", delete["value"])
    await slack.posted(lambda call: "Deleted contact" in call.args.get("text", ""), method="response_url")
    await settled(slack)
    assert [(r.method, r.path.rsplit("/", 1)[0]) for r in sandbox.requests if r.method != "GET"] == [
        ("DELETE", f"/api/v1/{ACCOUNT}/{INTEGRATION}/contact")
    ]


async def test_queued_work_is_not_sent_through_a_connection_changed_since(bots: BotFactory, sandbox: Sandbox) -> None:
    fast = {"segmetrics_timeout": 0.5, "segmetrics_max_attempts": 1, "segmetrics_retry_budget": 1.0}
    slack = await bots.start(
        segmetrics_bot_secret_key=SECRET_KEY, segmetrics_outbox_first_retry=0.3, segmetrics_outbox_max_gap=0.5, **fast
    )
    await home(slack)
    assert (await add_ads(slack)).text == ""
    await told(slack, "Added the connection `ads`")
    sandbox.add_fault(Fault(status=503, times=1000))
    await slack.command(AD)  # read in EUR, for integration 91
    await slack.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    since = time.monotonic()
    await slack.click("connection_edit", "ads")
    form = await slack.opened_view(after=since)
    assert (await slack.submit(form, {"api_key": "", "currency": "GBP"})).text == ""
    await told(slack, "Saved the connection `ads`")
    sandbox.reset()
    said = await slack.posted(
        lambda call: "was changed" in call.args.get("text", ""), method="response_url", timeout=10
    )
    assert "nothing was sent" in said.args["text"]
    await settled(slack)
    assert [r for r in sandbox.requests if r.method == "POST"] == []


async def test_a_policy_rule_for_no_connection_stops_the_start(bots: BotFactory, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[connections.client-acm]\nallow = ["U0ACME1"]\n', encoding="utf-8")
    with pytest.raises(StartupError, match=r"\[connections.client-acm\] names no connection"):
        await bots.start(segmetrics_bot_policy=str(policy))


async def test_bots_sharing_a_database_never_route_past_each_others_connections(
    bots: BotFactory, sandbox: Sandbox
) -> None:
    database = temporary_database()
    keyless = await bots.start(segmetrics_bot_database_url=database)
    first = await bots.start(segmetrics_bot_database_url=database, segmetrics_bot_secret_key=SECRET_KEY)
    second = await bots.start(segmetrics_bot_database_url=database, segmetrics_bot_secret_key=SECRET_KEY)
    await home(first)
    assert (await add_ads(first)).text == ""
    await told(first, "Added the connection `ads`")
    # The same name, added on another bot before it re-read the database: refused, not overwritten.
    answer = (await add_ads(second, integration_id="92")).json()
    assert "Someone added a connection named `ads` meanwhile" in answer["errors"]["name"]
    # A bot that cannot read what the others added refuses writes rather than send them to `default`.
    await keyless.bot.admin.refresh()
    refused = (await keyless.command(AD)).json()
    assert "cannot keep work right now" in refused["text"] and "SEGMETRICS_BOT_SECRET_KEY is not set" in refused["text"]
    # A bot that can, routes through it once it has re-read the database.
    await second.bot.admin.refresh()
    since = time.monotonic()
    await second.command(AD)
    await second.posted(lambda call: call.at >= since and call.args.get("text", "").endswith("via ads"))
    await settled(second)
    assert [r.path for r in sandbox.requests if r.method == "POST"] == [f"/api/v1/{ACCOUNT}/91/ad/performance"]
    # An edit made on a bot that has not seen the latest one is refused.
    since = time.monotonic()
    await first.click("connection_edit", "ads")
    stale = await first.opened_view(after=since)
    since = time.monotonic()
    await second.click("connection_edit", "ads")
    fresh = await second.opened_view(after=since)
    assert (await second.submit(fresh, {"api_key": "", "currency": "GBP"})).text == ""
    answer = (await first.submit(stale, {"api_key": ""})).json()
    assert "changed or removed `ads` meanwhile" in answer["errors"]["api_key"]
