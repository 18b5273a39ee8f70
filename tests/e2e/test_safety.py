"""Trusting the bot with the key: who may do what, confirmation before destroying, Restore, Edit and retry,
the audit trail, and logs that never hold a secret."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from bot import logs
from bot.sandbox import Fault, Sandbox
from tests.e2e.conftest import API_KEY, BASE, SIGNING_SECRET, BotFactory, Slack, settled

POLICY = """
[defaults]
deletes = "admins"

[operations."order add"]
allow = ["U3", "@leads"]

[operations."ad record"]
channels = ["#marketing"]
"""


def buttons(args: dict[str, Any]) -> dict[str, str]:
    return {
        element["action_id"]: element["value"]
        for block in args.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def refused(slack: Slack, text: str, **options: Any) -> str:
    body = (await slack.command(text, **options)).json()
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


async def test_policy_rules(bots: BotFactory, sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    bots.fake.groups["leads"] = ("S1", ["U4"])
    slack = await bots.start(segmetrics_bot_policy=str(policy), segmetrics_bot_admins="U1,@owners")
    # deletes = admins: U2 is refused, with the rule and who can change it.
    message = await refused(slack, "order delete INV-1", user="U2")
    assert "*Delete order* is not open to you ([defaults] deletes)." in message
    assert "Ask an admin (<@U1>, `@owners`) or whoever runs the bot to change the policy file" in message
    assert str(tmp_path) not in message  # the file's place on the server is the operator's business
    # A listed user and a member of a listed group may; others may not.
    assert "*Add order* is not open to you" in await refused(
        slack, "order add INV-1 a@b.com amount=5 product_id=P", user="U2"
    )
    for user in ("U3", "U4"):
        response = await slack.command(f"order add INV-{user} a@b.com amount=5 product_id=P", user=user)
        assert response.text == ""
    # Channels: only in #marketing.
    message = await refused(
        slack, "ad record AD-1 spend=5 date=2026-11-20", user="U2", channel="C9", channel_name="random"
    )
    assert "may only be run in #marketing" in message
    allowed = await slack.command("ad record AD-1 spend=5 date=2026-11-20", user="U2", channel_name="marketing")
    assert allowed.text == ""
    # Everything refused is in the audit trail, with the rule.
    await settled(slack)
    rows = [row for row in slack.bot.store.store.audit_rows() if row["outcome"] == "refused"]
    assert [(row["user_id"], row["operation"]) for row in rows] == [
        ("U2", "order delete"),
        ("U2", "order add"),
        ("U2", "ad record"),
    ]
    assert rows[0]["detail"] == "[defaults] deletes"


async def test_the_raw_api_call_is_off_until_there_are_admins(bots: BotFactory) -> None:
    slack = await bots.start(segmetrics_bot_admins="")
    message = await refused(slack, "api GET contact")
    assert message == (
        "*Make an API call* is disabled until SEGMETRICS_BOT_ADMINS names at least one admin (the default for api); "
        "whoever runs the bot can set it."
    )


async def test_a_form_refused_by_the_policy_says_so_beside_the_fields(bots: BotFactory, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."contact add"]\nallow = "admins"\n')
    slack = await bots.start(segmetrics_bot_policy=str(policy))
    since = time.monotonic()
    await slack.global_shortcut("add_contact", user="U1")  # U1 is an admin: the form opens
    view = await slack.opened_view(after=since)
    answer = (await slack.submit(view, {"email": "jane@example.com"}, user="U2")).json()
    assert answer["response_action"] == "errors"
    assert "is not open to you" in answer["errors"]["email"]


async def prompt(slack: Slack, since: float) -> Any:
    return await slack.posted(
        lambda call: call.at >= since and "confirm_run" in json.dumps(call.args.get("blocks")), method="response_url"
    )


@pytest.mark.parametrize(
    ("setup", "command", "shows", "method", "path"),
    [
        (
            [
                'contact add jane@example.com first=Jane last=Doe tags="VIP, Trial"',
                "order add INV-1 jane@example.com amount=5 product_id=P",
            ],
            "contact delete jane@example.com",
            [
                "Delete contact Jane Doe?",
                "Tags: VIP, Trial",
                "Orders: 1 ($5.00 paid); orders are not deleted",
                "Every contact with the e-mail jane@example.com in this integration will be deleted.",
            ],
            "DELETE",
            f"{BASE}/contact/jane@example.com",
        ),
        ([], "order delete INV-9", ["Delete order?", "permanent"], "DELETE", f"{BASE}/invoice/INV-9"),
        ([], "subscription delete SUB-9", ["Delete subscription?", "permanent"], "DELETE", f"{BASE}/subscription/SUB-9"),  # noqa: E501
        (
            ["contact add jane@example.com tags=VIP,Trial"],
            "tag remove jane@example.com VIP Trial",
            ["Remove 2 tags from jane@example.com?", "VIP, Trial"],
            "POST",
            f"{BASE}/tags/remove",
        ),
    ],
)  # fmt: skip
async def test_destroying_asks_first(
    slack: Slack, sandbox: Sandbox, setup: list[str], command: str, shows: list[str], method: str, path: str
) -> None:
    for text in setup:
        await slack.bot.runner.run_text(text)
    before = len(sandbox.requests)
    since = time.monotonic()
    await slack.command(command)
    asked = await prompt(slack, since)
    shown = json.dumps(asked.args["blocks"], ensure_ascii=False)
    for expected in shows:
        assert expected in shown
    assert not any(request.method == method and request.path == path for request in sandbox.requests[before:])
    choice = buttons(asked.args)
    # Cancel: nothing happens, and it says so.
    await slack.click("confirm_cancel", choice["confirm_cancel"], response_key="cancelled")
    cancelled = await slack.posted(lambda call: call.args.get("key") == "cancelled", method="response_url")
    assert cancelled.args["text"] == "Cancelled: nothing was deleted." and cancelled.args["replace_original"] is True
    await settled(slack)
    assert not any(request.method == method and request.path == path for request in sandbox.requests[before:])
    assert slack.bot.store.store.audit_rows()[-1]["outcome"] == "cancelled"
    # Asked again and confirmed: done, once, however often Delete is clicked.
    since = time.monotonic()
    await slack.command(command)
    choice = buttons((await prompt(slack, since)).args)
    await slack.click("confirm_run", choice["confirm_run"], response_key="yes")
    await slack.click("confirm_run", choice["confirm_run"], response_key="yes-again")
    await slack.posted(lambda call: call.at >= since, timeout=10)
    await settled(slack)
    assert sum(1 for request in sandbox.requests[before:] if request.method == method and request.path == path) == 1


async def test_only_the_asker_confirms(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("order delete INV-9")
    choice = buttons((await prompt(slack, since)).args)
    await slack.click("confirm_run", choice["confirm_run"], user="U2", response_key="other")
    told = await slack.posted(lambda call: call.args.get("key") == "other", method="response_url")
    assert told.args["text"] == "❌ Only <@U1>, who asked for it, can use this button; nothing was done."
    await settled(slack)
    assert not any(request.method == "DELETE" for request in sandbox.requests)


async def test_only_the_asker_cancels(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("order delete INV-9")
    choice = buttons((await prompt(slack, since)).args)
    await slack.click("confirm_cancel", choice["confirm_cancel"], user="U2", response_key="other")
    told = await slack.posted(lambda call: call.args.get("key") == "other", method="response_url")
    assert "Only <@U1>, who asked for it, can use this button" in told.args["text"]
    await settled(slack)
    # Not cancelled by the other person: the asker can still confirm, and it is done.
    await slack.click("confirm_run", choice["confirm_run"], response_key="yes")
    await slack.posted(lambda call: call.args.get("key") == "yes", method="response_url", timeout=10)
    await settled(slack)
    assert sum(1 for request in sandbox.requests if request.method == "DELETE") == 1
    assert "cancelled" not in [row["outcome"] for row in slack.bot.store.store.audit_rows()]


async def test_only_the_owner_reopens_edit_and_retry(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("tag add nobody@example.com VIP")  # SegMetrics: no such contact
    error = await slack.posted(lambda call: "rejected" in call.args.get("text", ""), method="response_url")
    retry = buttons(error.args)["retry_edit"]
    opened = len(slack.fake.calls_to("views.open"))
    await slack.click("retry_edit", retry, user="U2", response_key="other")
    told = await slack.posted(lambda call: call.args.get("key") == "other", method="response_url")
    assert "Only <@U1>, who asked for it, can use this button" in told.args["text"]
    await settled(slack)
    assert len(slack.fake.calls_to("views.open")) == opened  # their values are not shown to someone else
    await slack.click("retry_edit", retry)
    await slack.opened_view(after=since)


async def test_restore_recreates_a_deleted_contact(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text(
        'contact add jane@example.com contact_id=C-7 first=Jane last=Doe status=inactive tags="VIP, Trial" '
        'field.plan=Pro created="2026-01-15 09:30"'
    )
    before = sandbox.contact("C-7")
    assert before is not None
    since = time.monotonic()
    await slack.command("contact delete C-7")
    await slack.click("confirm_run", buttons((await prompt(slack, since)).args)["confirm_run"])
    deleted = await slack.posted(lambda call: "deleted contact C-7" in call.args["text"], timeout=10)
    assert sandbox.contact("C-7") is None
    assert "restore" in buttons(deleted.args)
    snapshot = next(row for row in slack.bot.store.store.audit_rows() if row["operation"] == "contact delete")[
        "snapshot"
    ]
    assert snapshot["first_name"] == "Jane" and [tag["name"] for tag in snapshot["tags"]] == ["VIP", "Trial"]
    message = {"ts": "3.3", "text": deleted.args["text"], "blocks": deleted.args["blocks"]}
    await slack.click("restore", buttons(deleted.args)["restore"], message=message)
    await slack.posted(lambda call: "saved contact" in call.args["text"], timeout=10)
    after = sandbox.contact("C-7")
    assert after is not None
    for field in ("email", "first_name", "last_name", "status", "date_created", "custom_fields"):
        assert after[field] == before[field], field
    assert sandbox.tag_names("C-7") == ["VIP", "Trial"]
    edited = await slack.posted(method="chat.update")
    assert "♻️ Restored by <@U1>" in json.dumps(edited.args["blocks"], ensure_ascii=False)


async def test_a_rejected_form_can_be_edited_and_retried(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("order add INV-5")
    view = await slack.opened_view(after=since)
    typed = {"contact_id": "999", "amount": "6", "items": "Course | C-1 | 5", "tax": "1"}
    await slack.submit(view, typed)  # SegMetrics: contact 999 not found (400)
    error = await slack.posted(lambda call: "rejected" in call.args.get("text", ""), method="response_url")
    assert "contact 999 not found" in json.dumps(error.args["blocks"])
    retry = buttons(error.args)["retry_edit"]
    since = time.monotonic()
    await slack.click("retry_edit", retry)
    reopened = await slack.opened_view(after=since)
    blocks = {block["block_id"]: block for block in reopened["blocks"] if block["type"] == "input"}
    for block_id, value in {"id": "INV-5", **typed}.items():
        assert blocks[block_id]["element"]["initial_value"] == value


async def test_the_audit_trail_and_channel(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(segmetrics_audit_channel="CAUDIT")
    await slack.command("contact add jane@example.com first=Jane")
    await slack.posted(lambda call: call.args["channel"] == "C1")
    line = await slack.posted(lambda call: call.args["channel"] == "CAUDIT")
    assert line.args["text"].startswith(
        "<@U1> saved contact jane@example.com in <#C1> · <https://test.slack.com/archives/C1/p"
    )
    await slack.command("tag add nobody@example.com VIP")
    await slack.posted(method="response_url")
    await settled(slack)
    rows = slack.bot.store.store.audit_rows()
    succeeded, failed = rows[0], rows[1]
    assert (succeeded["operation"], succeeded["outcome"], succeeded["status_code"], succeeded["attempts"]) == (
        "contact add", "succeeded", 200, 1,
    )  # fmt: skip
    assert succeeded["request"] == {
        "method": "POST",
        "path": "contact",
        "json": {"email": "jane@example.com", "first_name": "Jane"},
        "url": f"{slack.bot.settings.segmetrics_import_url}/acct-1/int-9/contact",  # what was really called
    }
    assert succeeded["response"]["status"] == "success"
    assert (succeeded["team_id"], succeeded["user_id"], succeeded["channel_id"]) == ("T0TEST", "U1", "C1")
    assert (failed["outcome"], failed["status_code"]) == ("failed", 400)
    assert failed["response"]["errors"] == ["contact nobody@example.com not found"]
    assert API_KEY not in json.dumps(rows, default=str)


async def test_logs_are_json_with_request_ids_and_never_hold_a_secret(bots: BotFactory) -> None:
    # `configure` takes over the root logger; everything it changes is put back for the other tests.
    root, ours = logging.getLogger(), logging.getLogger("segmetrics_slack")
    saved = (list(root.handlers), root.level, ours.level, {name: logging.getLogger(name).level for name in logs.QUIET})
    stream = io.StringIO()
    handler = logs.configure(format="json", secrets=[API_KEY, bots.fake.bot_token, SIGNING_SECRET])
    handler.setStream(stream)  # type: ignore[attr-defined]
    ours.setLevel(logging.DEBUG)
    try:
        slack = await bots.start()
        await slack.command("contact add jane@example.com")
        await slack.posted()
        await slack.command("tag add nobody@example.com VIP")
        await slack.posted(method="response_url")
        logging.getLogger("segmetrics_slack.test").warning(
            "a careless line: key=%s token=%s", API_KEY, bots.fake.bot_token
        )
        await settled(slack)
    finally:
        root.removeHandler(handler)
        for kept in saved[0]:
            root.addHandler(kept)
        root.setLevel(saved[1])
        ours.setLevel(saved[2])
        for name, level in saved[3].items():
            logging.getLogger(name).setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"at", "level", "logger", "message", "request_id", "operation"} <= set(line) for line in lines)
    calls = [line for line in lines if line["message"].startswith("segmetrics POST contact")]
    assert calls and calls[0]["request_id"] and calls[0]["operation"] == "contact add"
    text = stream.getvalue()
    assert API_KEY not in text and bots.fake.bot_token not in text and SIGNING_SECRET not in text
    assert "a careless line: key=[redacted] token=[redacted]" in text


async def test_a_confirmed_delete_segmetrics_rejects_says_why(slack: Slack, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=400, method="DELETE", body={"status": "error", "errors": ["order is locked"]}))
    since = time.monotonic()
    await slack.command("order delete INV-9")
    await slack.click("confirm_run", buttons((await prompt(slack, since)).args)["confirm_run"], response_key="yes")
    replaced = await slack.posted(
        lambda call: call.args.get("key") == "yes" and "Not done" in call.args.get("text", ""), method="response_url"
    )
    assert replaced.args["replace_original"] is True
    told = await slack.posted(lambda call: "order is locked" in json.dumps(call.args), method="response_url")
    assert told.args["response_type"] == "ephemeral"
    await settled(slack)
    assert slack.bot.store.store.audit_rows()[-1]["outcome"] == "failed"


async def test_undo_and_restore_meet_the_policy_too(bots: BotFactory, sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."tag remove"]\nallow = ["U9"]\n\n[operations."contact add"]\nallow = ["U9"]\n')
    slack = await bots.start(segmetrics_bot_policy=str(policy))
    await slack.bot.runner.run_text("contact add jane@example.com contact_id=C-7 first=Jane")
    # Tagging is open to U1, but the Undo (a tag removal) is not.
    since = time.monotonic()
    await slack.command("tag add jane@example.com VIP")
    tagged = await slack.posted(lambda call: call.at >= since)
    message = {"ts": "4.4", "text": tagged.args["text"], "blocks": tagged.args["blocks"]}
    await slack.click("undo", buttons(tagged.args)["undo"], message=message, response_key="undo")
    refused = await slack.posted(lambda call: call.args.get("key") == "undo", method="response_url")
    assert "*Remove tags* is not open to you" in refused.args["text"]
    # Deleting is open to U1, but the Restore (a contact add) is not.
    since = time.monotonic()
    await slack.command("contact delete C-7")
    await slack.click("confirm_run", buttons((await prompt(slack, since)).args)["confirm_run"])
    deleted = await slack.posted(lambda call: "deleted contact C-7" in call.args["text"], timeout=10)
    message = {"ts": "5.5", "text": deleted.args["text"], "blocks": deleted.args["blocks"]}
    await slack.click("restore", buttons(deleted.args)["restore"], message=message, response_key="restore")
    refused = await slack.posted(lambda call: call.args.get("key") == "restore", method="response_url")
    assert "*Add or update contact* is not open to you" in refused.args["text"]
    await settled(slack)
    assert sandbox.contact("C-7") is None  # not restored
    assert not any(request.path.endswith("/tags/remove") for request in sandbox.requests)
