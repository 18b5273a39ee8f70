"""Commands mean what was typed, through the real Slack path: a signed slash command or form, the sandbox
behind real HTTP, and either the confirmation in the channel or a refusal to the user alone with nothing
sent. The user's zone is America/New_York, the API zone UTC."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.sandbox import Sandbox
from tests.e2e.conftest import BASE, CHANNEL, BotFactory, Slack, settled


def shown(call_args: dict[str, Any]) -> str:
    return json.dumps(call_args.get("blocks"), ensure_ascii=False)


async def refused_at_once(slack: Slack, sandbox: Sandbox, text: str) -> str:
    """A command refused in its acknowledgement, to the user alone; nothing reaches SegMetrics."""
    before = len(sandbox.requests)
    response = await slack.command(text)
    body = response.json()
    assert body["response_type"] == "ephemeral"
    await settled(slack)
    assert len(sandbox.requests) == before
    return json.dumps(body["blocks"], ensure_ascii=False)


async def refused_after(slack: Slack, sandbox: Sandbox, text: str) -> str:
    """A command acknowledged, then its values refused to the user alone; nothing reaches SegMetrics."""
    before, since = len(sandbox.requests), time.monotonic()
    response = await slack.command(text)
    assert response.status_code == 200 and response.text == ""
    told = await slack.posted(lambda call: call.at >= since, method="response_url")
    assert told.args["response_type"] == "ephemeral"
    await settled(slack)
    assert len(sandbox.requests) == before
    assert not [call for call in slack.fake.calls_to("chat.postMessage") if call.at >= since]
    return shown(told.args)


async def confirmed(slack: Slack, text: str) -> dict[str, Any]:
    since = time.monotonic()
    response = await slack.command(text)
    assert response.status_code == 200 and response.text == ""
    call = await slack.posted(lambda call: call.at >= since and call.args.get("channel") == CHANNEL)
    return call.args


def last_sent(sandbox: Sandbox) -> tuple[str, str, Any]:
    request = sandbox.requests[-1]
    return request.method, request.path, request.json


# -- grammar -----------------------------------------------------------------------------------------


async def test_a_second_contact_where_a_tag_goes_is_refused_by_name(slack: Slack, sandbox: Sandbox) -> None:
    text = await refused_at_once(slack, sandbox, "tag add a@x.co b@x.co VIP")
    assert "Two contacts given" in text and "a@x.co" in text and "b@x.co" in text
    assert "one contact per command" in text


@pytest.mark.parametrize("text", ["tag add sam@example.com 'Early Bird", "contact add sam@example.com first='Sam"])
async def test_an_unclosed_single_quote_is_refused(slack: Slack, sandbox: Sandbox, text: str) -> None:
    assert "never closed" in await refused_at_once(slack, sandbox, text)


async def test_an_apostrophe_in_a_word_goes_through(slack: Slack, sandbox: Sandbox) -> None:
    await confirmed(slack, "contact add sam@example.com last=O'Brien")
    assert last_sent(sandbox)[2] == {"email": "sam@example.com", "last_name": "O'Brien"}


async def test_a_quoted_tag_with_a_comma_is_one_tag(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text("contact add ann@example.com")
    posted = await confirmed(slack, 'tag add ann@example.com "A, B" VIP')
    assert last_sent(sandbox) == ("POST", f"{BASE}/tags/add", {"email": "ann@example.com", "tags": ["A, B", "VIP"]})
    assert "A, B, VIP" in shown(posted)


async def test_a_form_writes_a_tag_with_a_comma_quoted(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text("contact add ann@example.com")
    since = time.monotonic()
    await slack.command("tag add ann@example.com")
    view = await slack.opened_view(after=since)
    await slack.submit(view, {"tags": '"Smith, Jones", VIP'})
    await slack.posted(lambda call: call.at >= since)
    assert last_sent(sandbox)[2] == {"email": "ann@example.com", "tags": ["Smith, Jones", "VIP"]}


async def test_an_email_without_its_at_is_not_saved_as_a_contact_id(slack: Slack, sandbox: Sandbox) -> None:
    text = await refused_at_once(slack, sandbox, "contact add sam.example.com first=Sam")
    assert "looks like an e-mail without its @" in text and "sam@example.com" in text
    await confirmed(slack, "contact add contact_id=sam.example.com first=Sam")
    assert last_sent(sandbox)[2] == {"contact_id": "sam.example.com", "first_name": "Sam"}


async def test_every_unknown_key_is_reported_at_once(slack: Slack, sandbox: Sandbox) -> None:
    text = await refused_at_once(slack, sandbox, "contact add sam@example.com frist=Sam lsat=Lee utm_sorce=x")
    for wrong, right in (("frist", "first"), ("lsat", "last"), ("utm_sorce", "utm_source")):
        assert f"`{wrong}`: did you mean `{right}`" in text


# -- values that add up --------------------------------------------------------------------------------


async def test_items_that_do_not_make_the_total_are_refused(slack: Slack, sandbox: Sandbox) -> None:
    text = await refused_after(
        slack, sandbox, 'order add INV-1 ann@example.com amount=100 item="A | P | 30" item="B | Q | 30"'
    )
    assert "Order total (`amount`) is $100.00, but the items add up to $60.00" in text
    # Left out, the total is the items' sum, and the confirmation says so.
    posted = await confirmed(slack, 'order add INV-1 ann@example.com item="A | P | 30" item="B | Q | 30"')
    assert last_sent(sandbox)[2]["amount"] == 6000
    assert "order total = the items" in shown(posted)


async def test_paid_above_the_total_is_refused(slack: Slack, sandbox: Sandbox) -> None:
    text = await refused_after(slack, sandbox, "order add INV-1 ann@example.com amount=100 paid=150 product=P")
    assert "Amount paid (`paid`): ($150.00) is more than the order total ($100.00)" in text


async def test_subscription_dates_out_of_order_are_refused(slack: Slack, sandbox: Sandbox) -> None:
    text = await refused_after(
        slack,
        sandbox,
        "subscription add SUB-1 ann@example.com amount=29 product=P cycle=month start=2026-11-10 "
        "canceled=2026-11-01 end=2026-11-05",
    )
    assert "Canceled (`canceled_date`)" in text and "Ends (`end_date`)" in text
    assert "before Last billed" in text


async def test_a_form_shows_a_total_that_does_not_add_up_beside_it(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("order add INV-8")
    view = await slack.opened_view(after=since)
    response = await slack.submit(
        view, {"email": "ann@example.com", "amount": "70", "items": "A | P | 30\nB | Q | 30", "paid": "80"}
    )
    body = response.json()
    assert body["response_action"] == "errors"
    assert "the items add up to $60.00" in body["errors"]["amount"]
    assert sandbox.requests == []


# -- updates change only what was said ------------------------------------------------------------------

ORDER = {
    "id": "INV-7",
    "email": "ann@example.com",
    "amount": 6000,
    "paid": 6000,
    "date_created": "2026-11-20 14:30:15",
    "items": [{"name": "A", "product_id": "P", "amount": 3000}, {"name": "B", "product_id": "Q", "amount": 3000}],
}


async def add_order(slack: Slack) -> None:
    await confirmed(
        slack, 'order add INV-7 ann@example.com item="A | P | 30" item="B | Q | 30" date="2026-11-20 09:30:15"'
    )


async def test_an_update_resends_the_known_order_with_only_that_changed(slack: Slack, sandbox: Sandbox) -> None:
    await add_order(slack)
    assert last_sent(sandbox)[2] == ORDER
    posted = await confirmed(slack, "order update INV-7 refunded=yes")
    assert last_sent(sandbox) == ("POST", f"{BASE}/invoice", {**ORDER, "is_refunded": True})
    text = shown(posted)
    assert "Refunded?" in text and "(not set) → yes" in text and "nothing else changed" in text.lower()
    assert "Order date" not in text and "now" not in text
    assert posted["text"] == "<@U1> updated order INV-7"


async def test_refund_cancel_end_and_deactivate_are_one_word(slack: Slack, sandbox: Sandbox) -> None:
    await add_order(slack)
    posted = await confirmed(slack, "order refund INV-7 20")
    assert last_sent(sandbox)[2] == {**ORDER, "is_refunded": True, "paid": 4000}
    assert "$60.00 → $40.00" in shown(posted)

    await slack.bot.runner.run_text(
        "subscription add SUB-1 ann@example.com amount=29 product=P cycle=month start=2026-11-01"
    )
    subscription = dict(last_sent(sandbox)[2])
    posted = await confirmed(slack, "subscription cancel SUB-1 yesterday 5pm")
    sent = last_sent(sandbox)[2]
    assert sent == {**subscription, "canceled_date": sent["canceled_date"]}
    assert sent["canceled_date"].endswith(":00:00") and "Canceled" in shown(posted)
    posted = await confirmed(slack, "subscription end SUB-1 2027-01-31")
    assert last_sent(sandbox)[2] == {**sent, "end_date": "2027-01-31 05:00:00"}

    posted = await confirmed(slack, "contact deactivate ann@example.com")
    assert last_sent(sandbox)[2] == {"email": "ann@example.com", "status": "inactive"}
    assert posted["text"] == "<@U1> deactivated contact ann@example.com"


async def test_a_refund_that_cannot_be_is_refused(slack: Slack, sandbox: Sandbox) -> None:
    await add_order(slack)
    text = await refused_after(slack, sandbox, "order refund INV-7 80")
    assert "($80.00) is more than was paid ($60.00)" in text


async def test_without_a_record_the_form_asks_for_the_whole_order(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    response = await slack.command("order update INV-9 refunded=yes")
    assert response.status_code == 200 and response.text == ""
    view = await slack.opened_view(after=since)
    assert view["callback_id"] == "op:order:update"
    assert "no record of order INV-9" in json.dumps(view["blocks"])
    blocks = {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}
    assert blocks["id"]["element"]["initial_value"] == "INV-9"
    assert blocks["is_refunded"]["element"]["initial_option"]["value"] == "yes"
    assert not blocks["date_created"]["element"].get("initial_value")  # never defaulted to now
    await settled(slack)
    assert sandbox.requests == []

    # Submitted with the date left blank: asked for beside it, still nothing sent.
    typed = {"email": "ann@example.com", "items": "A | P | 30", "paid": "30"}
    body = (await slack.submit(view, typed)).json()
    assert body["response_action"] == "errors" and "no record" in body["errors"]["date_created"]
    assert sandbox.requests == []
    since = time.monotonic()
    await slack.submit(view, {**typed, "date_created": "2026-11-20 09:00"})
    posted = await slack.posted(lambda call: call.at >= since)
    assert last_sent(sandbox)[2] == {
        "id": "INV-9",
        "email": "ann@example.com",
        "amount": 3000,
        "paid": 3000,
        "date_created": "2026-11-20 14:00:00",
        "items": [{"name": "A", "product_id": "P", "amount": 3000}],
        "is_refunded": True,
    }
    assert "whole record" in shown(posted.args)
    # Now known: the next change needs no form.
    await confirmed(slack, "order refund INV-9 10")
    assert last_sent(sandbox)[2]["paid"] == 2000


async def test_a_refund_form_without_a_record_becomes_the_whole_order_form(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("order refund")
    view = await slack.opened_view(after=since)
    assert view["callback_id"] == "op:order:refund"
    body = (await slack.submit(view, {"id": "INV-3", "amount": "5"})).json()
    assert body["response_action"] == "update"
    assert body["view"]["callback_id"] == "op:order:update"
    assert "what remains paid" in json.dumps(body["view"]["blocks"])
    assert sandbox.requests == []


async def test_an_update_naming_nothing_opens_the_prefilled_form(slack: Slack, sandbox: Sandbox) -> None:
    await add_order(slack)
    before, since = len(sandbox.requests), time.monotonic()
    await slack.command("order update INV-7")
    view = await slack.opened_view(after=since)
    blocks = {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}
    assert blocks["date_created"]["element"]["initial_value"] == "2026-11-20 09:30:15"
    assert blocks["paid"]["element"]["initial_value"] == "60.00"
    # Unchanged, it changes nothing; with the paid amount changed, only that moves.
    body = (await slack.submit(view)).json()
    assert body["response_action"] == "errors" and body["errors"]["id"].startswith("Changes nothing")
    since = time.monotonic()
    await slack.submit(view, {"paid": "45"})
    posted = await slack.posted(lambda call: call.at >= since)
    assert len(sandbox.requests) == before + 1
    assert last_sent(sandbox)[2] == {**ORDER, "paid": 4500}
    assert "$60.00 → $45.00" in shown(posted.args)


async def test_a_changed_total_must_still_add_up(slack: Slack, sandbox: Sandbox) -> None:
    await add_order(slack)
    text = await refused_after(slack, sandbox, "order update INV-7 amount=100")
    assert "is $100.00, but the items add up to $60.00" in text


async def test_records_survive_a_restart_and_a_delete_forgets(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start()
    await add_order(slack)
    await bots.stop(slack)
    slack = await bots.start(segmetrics_bot_database_url=slack.bot.settings.segmetrics_bot_database_url)
    await confirmed(slack, "order update INV-7 shipping=0 total=60")
    assert last_sent(sandbox)[2] == {**ORDER, "shipping": 0}
    await slack.bot.runner.run_text("order delete INV-7")
    since = time.monotonic()
    await slack.command("order update INV-7 refunded=yes")
    view = await slack.opened_view(after=since)
    assert "no record of order INV-7" in json.dumps(view["blocks"])


async def test_a_field_cleared_in_the_update_form_is_removed(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text(
        'subscription add SUB-1 ann@example.com amount=29 product=P cycle=month start=2026-11-01 name="Pro plan"'
    )
    subscription = dict(last_sent(sandbox)[2])
    since = time.monotonic()
    await slack.command("subscription update SUB-1")
    view = await slack.opened_view(after=since)
    blocks = {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}
    assert blocks["name"]["element"]["initial_value"] == "Pro plan"
    since = time.monotonic()
    await slack.submit(view, {"name": "", "quantity": "2"})
    posted = await slack.posted(lambda call: call.at >= since)
    expected = {key: value for key, value in subscription.items() if key != "name"}
    assert last_sent(sandbox)[2] == {**expected, "quantity": 2}
    text = shown(posted.args)
    assert "Pro plan → (removed)" in text and "1 → 2" in text


@pytest.mark.parametrize(
    ("command", "actions"),
    [
        ("/sm-contact", ["contact deactivate"]),
        ("/sm-order", ["order refund", "order delete"]),
        ("/sm-subscription", ["subscription cancel", "subscription end"]),
    ],
)
async def test_help_shows_the_one_word_actions(slack: Slack, command: str, actions: list[str]) -> None:
    body = (await slack.command("help", command=command)).json()
    text = json.dumps(body["blocks"], ensure_ascii=False)
    assert "One-word actions" in text
    assert all(f"`{action} " in text for action in actions)


async def test_the_update_form_from_app_home_becomes_the_whole_record_form(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.click("home_open:order:update", "order update")
    view = await slack.opened_view(after=since)
    typed = {
        "id": "INV-5",
        "email": "ann@example.com",
        "items": "A | P | 30",
        "paid": "30",
        "date_created": "2026-11-20",
    }
    body = (await slack.submit(view, typed)).json()
    assert body["response_action"] == "update" and "no record of order INV-5" in json.dumps(body["view"]["blocks"])
    assert sandbox.requests == []
    whole = dict(body["view"], id="V-whole")
    since = time.monotonic()
    await slack.submit(whole)
    await slack.posted(lambda call: call.at >= since and "updated order INV-5" in call.args.get("text", ""))
    assert last_sent(sandbox)[2]["items"] == [{"name": "A", "product_id": "P", "amount": 3000}]
