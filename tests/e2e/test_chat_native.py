"""Acting on the conversation: shortcuts on messages, global shortcuts, contact cards, Undo, App Home."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from bot.sandbox import Sandbox
from tests.e2e.conftest import BASE, CHANNEL, Slack

RICH_MESSAGE = {
    "ts": "1700000100.000200",
    "user": "U2",
    "text": "New leads: Jane Doe <mailto:jane@example.com|jane@example.com>, bob@example.com",
    "blocks": [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "and Zoë Brun "},
                        {"type": "link", "url": "mailto:zoe@example.com", "text": "zoe@example.com"},
                    ],
                }
            ],
        }
    ],
    "attachments": [{"fallback": "from the form", "text": "Missing Person missing@example.com"}],
}


def view_blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block.get("type") == "input"}


async def add_contacts(slack: Slack, *emails: str) -> None:
    for email in emails:
        await slack.bot.runner.run_text(f"contact add {email}")


async def test_tag_the_contacts_a_message_names(slack: Slack, sandbox: Sandbox) -> None:
    await add_contacts(slack, "jane@example.com", "bob@example.com", "zoe@example.com")
    before = len(sandbox.requests)
    since = time.monotonic()
    response = await slack.message_shortcut("tag_contacts_from_message", RICH_MESSAGE)
    assert response.status_code == 200
    view = await slack.opened_view(after=since)
    blocks = view_blocks(view)
    chosen = [option["value"] for option in blocks["contacts"]["element"]["initial_options"]]
    assert chosen == ["jane@example.com", "bob@example.com", "zoe@example.com", "missing@example.com"]
    labels = [option["text"]["text"] for option in blocks["contacts"]["element"]["options"]]
    assert labels[0] == "Jane Doe <jane@example.com>" and labels[2] == "Zoë Brun <zoe@example.com>"
    assert blocks["tags"]["element"]["action_id"] == "value"

    submitted = await slack.submit(view, {"tags": "VIP, Webinar 2026"})
    assert submitted.status_code == 200 and submitted.text == ""
    posted = await slack.posted()
    # In the message's thread, each contact named, the one SegMetrics rejected with its reason.
    assert posted.args["thread_ts"] == RICH_MESSAGE["ts"]
    shown = posted.args["blocks"][0]["text"]["text"]
    assert "tagged 3 contacts with VIP, Webinar 2026" in shown
    for email in ("jane@example.com", "bob@example.com", "zoe@example.com"):
        assert f"• {email}" in shown
    assert "• missing@example.com: contact missing@example.com not found" in shown
    tagged = [request for request in sandbox.requests[before:] if request.path == f"{BASE}/tags/add"]
    assert sorted(request.json["email"] for request in tagged) == [
        "bob@example.com",
        "jane@example.com",
        "missing@example.com",
        "zoe@example.com",
    ]
    assert all(request.json["tags"] == ["VIP", "Webinar 2026"] for request in tagged)
    assert sandbox.tag_names("zoe@example.com") == ["VIP", "Webinar 2026"]


async def test_a_reply_in_a_thread_is_answered_in_that_thread(slack: Slack, sandbox: Sandbox) -> None:
    await add_contacts(slack, "jane@example.com")
    reply = {"ts": "1700000200.000300", "thread_ts": "1700000100.000200", "text": "jane@example.com"}
    since = time.monotonic()
    await slack.message_shortcut("tag_contacts_from_message", reply)
    view = await slack.opened_view(after=since)
    await slack.submit(view, {"tags": "VIP"})
    posted = await slack.posted()
    assert posted.args["thread_ts"] == "1700000100.000200"


async def test_a_message_without_addresses_asks_for_one(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.message_shortcut("tag_contacts_from_message", {"ts": "1.2", "text": "no address here"})
    view = await slack.opened_view(after=since)
    assert "No e-mail address was found in this message" in json.dumps(view["blocks"])
    assert "contacts" not in view_blocks(view)
    refused = await slack.submit(view, {"tags": "VIP"})
    assert refused.json() == {
        "response_action": "errors",
        "errors": {"more_contacts": "Choose or type at least one contact."},
    }
    refused = await slack.submit(view, {"more_contacts": "jane@, 12345", "tags": ""})
    errors = refused.json()["errors"]
    assert "jane@:" in errors["more_contacts"] and "tags" in errors
    assert sandbox.requests == []
    await add_contacts(slack, "jane@example.com")
    await slack.submit(view, {"more_contacts": "jane@example.com", "tags": "VIP"})
    assert "tagged 1 contact with VIP" in (await slack.posted()).args["text"]


async def test_add_a_contact_from_a_message(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.message_shortcut("contact_from_message", RICH_MESSAGE)
    view = await slack.opened_view(after=since)
    blocks = view_blocks(view)
    assert blocks["email"]["element"]["initial_value"] == "jane@example.com"
    assert blocks["first_name"]["element"]["initial_value"] == "Jane"
    assert blocks["last_name"]["element"]["initial_value"] == "Doe"
    await slack.submit(view, {"status": "active"})
    posted = await slack.posted()
    assert posted.args["thread_ts"] == RICH_MESSAGE["ts"]
    assert sandbox.requests[-1].json == {
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "status": "active",
    }


async def test_a_global_shortcut_asks_where_to_post(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.global_shortcut("add_order")
    view = await slack.opened_view(after=since)
    where = view_blocks(view)["post_to"]["element"]
    assert where["type"] == "conversations_select" and where["response_url_enabled"] is True
    typed = {"id": "INV-5", "email": "jane@example.com", "amount": "5", "items": "A | P | 5", "post_to": "C9"}
    answer_url = slack.fake.response_url("chosen")
    await slack.submit(
        view,
        typed,
        response_urls=[{"block_id": "post_to", "action_id": "value", "channel_id": "C9", "response_url": answer_url}],
    )
    posted = await slack.posted(lambda call: call.args["channel"] == "C9")
    assert posted.args["text"] == "<@U1> saved order INV-5 for jane@example.com"
    # Left empty: a direct message from the bot.
    since = time.monotonic()
    await slack.global_shortcut("record_ad_spend")
    view = await slack.opened_view(after=since)
    await slack.submit(view, {"ad": "AD-1", "spend": "10", "date": "2026-11-20"})
    await slack.posted(method="conversations.open")
    posted = await slack.posted(lambda call: call.args["channel"] == "DU1")
    assert "recorded $10.00 of spend for ad AD-1" in posted.args["text"]


async def card_for(slack: Slack, email: str) -> dict[str, Any]:
    since = time.monotonic()
    await slack.command(f"contact show {email}")
    call = await slack.posted(lambda call: call.at >= since, method="response_url")
    return call.args


def buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in card["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def test_a_contact_card_with_its_buttons(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text('contact add jane@example.com first=Jane last=Doe tags="VIP" field.plan=Pro')
    card = await card_for(slack, "jane@example.com")
    assert card["response_type"] == "ephemeral"
    assert card["blocks"][0]["type"] == "header" and card["blocks"][0]["text"]["text"] == "Jane Doe"
    shown = json.dumps(card["blocks"])
    assert "*Tags*\\nVIP" in shown and "plan: Pro" in shown
    found = buttons(card)
    assert list(found) == ["card_add_tag", "card_add_order", "card_edit", "card_share", "card_delete"]
    fingerprint = slack.bot.runner.default.connection.fingerprint
    assert json.loads(found["card_add_tag"]["value"]) == {
        "contact_id": "sbx-1",
        "email": "jane@example.com",
        "via": "default",
        "fp": fingerprint,
    }
    assert found["card_delete"]["confirm"]["confirm"]["text"] == "Delete"
    assert "permanent" in found["card_delete"]["confirm"]["text"]["text"]

    since = time.monotonic()
    await slack.click("card_add_tag", found["card_add_tag"]["value"])
    view = await slack.opened_view(after=since)
    assert view["callback_id"] == "op:tag:add"
    assert view_blocks(view)["contact_id"]["element"]["initial_value"] == "sbx-1"

    since = time.monotonic()
    await slack.click("card_edit", found["card_edit"]["value"])
    loading = await slack.opened_view(after=since)
    assert "Loading" in json.dumps(loading)
    edit = await slack.opened_view(after=since, method="views.update")
    blocks = view_blocks(edit)
    assert blocks["first_name"]["element"]["initial_value"] == "Jane"
    assert blocks["tags"]["element"]["initial_value"] == "VIP"
    assert blocks["custom_fields"]["element"]["initial_value"] == "plan = Pro"

    await slack.click("card_share", found["card_share"]["value"])
    shared = await slack.posted()
    assert shared.args["channel"] == CHANNEL
    assert "Shared by <@U1>" in json.dumps(shared.args["blocks"])
    assert not any(block["type"] == "actions" for block in shared.args["blocks"])

    await slack.click("card_delete", found["card_delete"]["value"], response_key="card")
    deleted = await slack.posted(lambda call: "deleted" in call.args["text"])
    assert deleted.args["text"] == "<@U1> deleted contact sbx-1"
    assert sandbox.requests[-1].method == "DELETE" and sandbox.requests[-1].path == f"{BASE}/contact/sbx-1"
    replaced = await slack.posted(lambda call: call.args.get("key") == "card", method="response_url")
    assert replaced.args["replace_original"] is True and "Deleted contact sbx-1" in replaced.args["text"]


async def test_an_unknown_contact_offers_to_add_it(slack: Slack) -> None:
    card = await card_for(slack, "nobody@example.com")
    assert card["text"] == "SegMetrics has no contact nobody@example.com."
    value = buttons(card)["card_add_contact"]["value"]
    since = time.monotonic()
    await slack.click("card_add_contact", value)
    view = await slack.opened_view(after=since)
    assert view["callback_id"] == "op:contact:add"
    assert view_blocks(view)["email"]["element"]["initial_value"] == "nobody@example.com"


async def confirmation_with_undo(slack: Slack, text: str) -> tuple[dict[str, Any], str]:
    since = time.monotonic()
    await slack.command(text)
    call = await slack.posted(lambda call: call.at >= since)
    message = {"ts": "1700000300.000400", "text": call.args["text"], "blocks": call.args["blocks"]}
    return message, buttons(call.args)["undo"]["value"]


async def test_undo_a_tag_and_see_the_confirmation_edited(slack: Slack, sandbox: Sandbox) -> None:
    await add_contacts(slack, "jane@example.com")
    message, value = await confirmation_with_undo(slack, 'tag add jane@example.com VIP "Webinar 2026"')
    assert sandbox.tag_names("jane@example.com") == ["VIP", "Webinar 2026"]
    await slack.click("undo", value, message=message)
    updated = await slack.posted(method="chat.update")
    assert updated.args["ts"] == message["ts"]
    assert "↩️ Undone by <@U1>" in json.dumps(updated.args["blocks"], ensure_ascii=False)
    assert not any(block["type"] == "actions" for block in updated.args["blocks"])
    assert sandbox.requests[-1].path == f"{BASE}/tags/remove"
    assert sandbox.requests[-1].json == {"email": "jane@example.com", "tags": ["VIP", "Webinar 2026"]}
    assert sandbox.tag_names("jane@example.com") == []


async def test_undo_is_for_the_author_or_an_admin_for_ten_minutes(slack: Slack, sandbox: Sandbox) -> None:
    await add_contacts(slack, "jane@example.com")
    message, value = await confirmation_with_undo(slack, "tag remove jane@example.com VIP")
    requests = len(sandbox.requests)
    await slack.click("undo", value, user="U2", message=message, response_key="u2")
    refused = await slack.posted(lambda call: call.args.get("key") == "u2", method="response_url")
    assert refused.args["response_type"] == "ephemeral"
    assert "Only <@U1> or an admin can use this button" in refused.args["text"]
    assert len(sandbox.requests) == requests

    store = slack.bot.store.store
    payload = {"op": "tag add", "raws": [{"email": "jane@example.com", "tags": "VIP"}], "by": "U1"}
    stale = store.put_ticket("undo", payload, timedelta(seconds=-1))
    await slack.click("undo", stale, message=message, response_key="late")
    late = await slack.posted(lambda call: call.args.get("key") == "late", method="response_url")
    assert "possible for 10 minutes" in late.args["text"]

    slack.fake.admins.add("U3")
    await slack.click("undo", value, user="U3", message=message)
    await slack.posted(method="chat.update")
    assert sandbox.requests[-1].path == f"{BASE}/tags/add"
    assert sandbox.tag_names("jane@example.com") == ["VIP"]


async def test_undo_a_tagging_from_a_message(slack: Slack, sandbox: Sandbox) -> None:
    await add_contacts(slack, "jane@example.com", "bob@example.com")
    since = time.monotonic()
    await slack.message_shortcut("tag_contacts_from_message", {"ts": "5.6", "text": "jane@example.com bob@example.com"})
    await slack.submit(await slack.opened_view(after=since), {"tags": "VIP"})
    posted = await slack.posted()
    message = {"ts": "5.7", "text": posted.args["text"], "blocks": posted.args["blocks"]}
    await slack.click("undo", buttons(posted.args)["undo"]["value"], message=message)
    await slack.posted(method="chat.update")
    assert sandbox.tag_names("jane@example.com") == [] and sandbox.tag_names("bob@example.com") == []


async def test_app_home(slack: Slack) -> None:
    response = await slack.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    assert response.status_code == 200
    published = await slack.posted(method="views.publish")
    view = published.args["view"]
    assert published.args["user_id"] == "U1" and view["type"] == "home"
    shown = json.dumps(view, ensure_ascii=False)
    assert "account `••••-1`" in shown and "integration `•••-9`" in shown  # acct-1, int-9, partly masked
    assert "read in your time zone (America/New_York) and sent in UTC" in shown and "USD" in shown
    actions = [
        element["action_id"] for block in view["blocks"] if block["type"] == "actions" for element in block["elements"]
    ]
    opens = [action for action in actions if action.startswith("home_open:")]
    assert len(opens) == len(list(slack.bot.runner.registry)) and "home_open:order:refund" in opens
    assert "connection_test" in actions  # U1 is an admin: the connections are listed, with their buttons
    assert "/segmetrics tag add jane@example.com VIP" in shown
    since = time.monotonic()
    await slack.click("home_open:subscription:add", "subscription add")
    form = await slack.opened_view(after=since)
    assert form["callback_id"] == "op:subscription:add" and "post_to" in view_blocks(form)


async def test_tag_names_are_shown_as_typed(slack: Slack) -> None:
    await add_contacts(slack, "jane@example.com")
    since = time.monotonic()
    await slack.message_shortcut("tag_contacts_from_message", {"ts": "7.1", "text": "jane@example.com"})
    await slack.submit(await slack.opened_view(after=since), {"tags": "Promo {2026}, {count}, <!here>"})
    posted = await slack.posted()
    shown = posted.args["blocks"][0]["text"]["text"]
    assert "tagged 1 contact with Promo {2026}, {count}, &lt;!here&gt;" in shown


async def test_a_long_batch_names_everyone_and_has_a_ceiling(slack: Slack, sandbox: Sandbox) -> None:
    known = [f"person{n:03d}.with.a.long.address@example.com" for n in range(70)]
    unknown = [f"stranger{n:02d}@example.com" for n in range(30)]
    for email in known:
        await slack.bot.runner.run_text(f"contact add {email}")
    since = time.monotonic()
    await slack.message_shortcut("tag_contacts_from_message", {"ts": "8.1", "text": "see the list"})
    view = await slack.opened_view(after=since)
    too_many = await slack.submit(
        view, {"more_contacts": ", ".join([*known, *unknown, "x@example.com"]), "tags": "VIP"}
    )
    assert too_many.json()["errors"]["more_contacts"] == "That is 101 contacts; tag at most 100 at once."
    await slack.submit(view, {"more_contacts": ", ".join([*known, *unknown]), "tags": "VIP"})
    posted = await slack.posted(timeout=20)
    sections = [block["text"]["text"] for block in posted.args["blocks"] if block["type"] == "section"]
    assert len(sections) > 1
    shown = "\n".join(sections)
    assert all(f"• {email}" in shown for email in known)
    assert all(f"• {email}: contact {email} not found" in shown for email in unknown)
    assert posted.args["text"] == "<@U1> tagged 70 contacts with VIP; 30 not done"
    assert "undo" in buttons(posted.args)  # even for a hundred contacts


async def test_undo_that_changes_nothing_leaves_the_confirmation(slack: Slack) -> None:
    await add_contacts(slack, "jane@example.com")
    message, value = await confirmation_with_undo(slack, "tag add jane@example.com VIP")
    await slack.bot.runner.run_text("contact delete jane@example.com")
    await slack.click("undo", value, message=message, response_key="failed-undo")
    told = await slack.posted(
        lambda call: call.args.get("text") == "Undo failed; nothing was changed.", method="response_url"
    )
    assert "contact jane@example.com not found" in json.dumps(told.args["blocks"])
    assert slack.fake.calls_to("chat.update") == []


async def test_edit_never_cuts_a_value_it_cannot_show(slack: Slack, sandbox: Sandbox) -> None:
    tags = ", ".join(f"spring-2026-webinar-attendee-cohort-{n:03d}" for n in range(90))
    await slack.bot.runner.run_text(f'contact add jane@example.com first=Jane tags="{tags}"')
    card = await card_for(slack, "jane@example.com")
    since = time.monotonic()
    await slack.click("card_edit", buttons(card)["card_edit"]["value"])
    edit = await slack.opened_view(after=since, method="views.update")
    blocks = view_blocks(edit)
    assert "initial_value" not in blocks["tags"]["element"]
    assert "Tags: too long to edit here, left as they are." in json.dumps(edit["blocks"])
    await slack.submit(edit, {"first_name": "Janet"})
    await slack.posted(lambda call: "saved contact" in call.args["text"])
    assert "tags" not in sandbox.requests[-1].json
    assert len(sandbox.tag_names("jane@example.com")) == 90


async def test_the_card_shows_orders_subscriptions_and_dates_in_the_users_zone(slack: Slack) -> None:
    runner = slack.bot.runner
    await runner.run_text('contact add jane@example.com first=Jane created="2026-11-20 09:00"', zone="America/New_York")
    await runner.run_text("order add INV-1 jane@example.com amount=49.99 product_id=P")
    await runner.run_text("order add INV-2 jane@example.com amount=10 product_id=P refunded=yes")
    await runner.run_text("subscription add SUB-1 jane@example.com amount=29 product_id=P start=2026-11-01 cycle=month")
    card = await card_for(slack, "jane@example.com")
    fields = {
        field["text"].split("\n")[0].strip("*"): field["text"].split("\n", 1)[1]
        for block in card["blocks"]
        if block["type"] == "section"
        for field in block.get("fields", [])
    }
    assert fields["Created"] == "Fri Nov 20, 2026 9:00 AM EST"
    assert fields["Orders"] == "2 ($49.99 paid)"
    assert fields["Subscriptions"] == "1 active of 1"


async def test_a_card_by_e_mail_warns_that_every_match_goes(slack: Slack) -> None:
    from bot.slack.cards import _actions

    long_email = "a" * 60 + "@" + "b" * 120 + ".example.com"
    actions = _actions({"email": long_email}).to_dict()
    confirm = actions["elements"][-1]["confirm"]["text"]["text"]
    assert "Every contact with the e-mail" in confirm and len(confirm) <= 300


async def test_sharing_a_contact_deleted_meanwhile_shares_nothing(slack: Slack) -> None:
    await add_contacts(slack, "jane@example.com")
    card = await card_for(slack, "jane@example.com")
    await slack.bot.runner.run_text("contact delete jane@example.com")
    await slack.click("card_share", buttons(card)["card_share"]["value"], response_key="share")
    told = await slack.posted(lambda call: call.args.get("key") == "share", method="response_url")
    assert "Nothing was shared" in told.args["text"]
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_a_name_in_a_mailto_label_is_kept(slack: Slack) -> None:
    since = time.monotonic()
    await slack.message_shortcut("contact_from_message", {"ts": "9.1", "text": "<mailto:jane@example.com|Jane Doe>"})
    blocks = view_blocks(await slack.opened_view(after=since))
    assert blocks["email"]["element"]["initial_value"] == "jane@example.com"
    assert blocks["first_name"]["element"]["initial_value"] == "Jane"


async def test_app_home_in_the_sandbox(sandboxed: Slack) -> None:
    await sandboxed.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    published = await sandboxed.posted(method="views.publish")
    assert "🧪 *Sandbox*" in json.dumps(published.args["view"], ensure_ascii=False)
