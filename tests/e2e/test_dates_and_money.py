"""Dates and money as Slack users type them: each user's own locale (from users.info), refusals that offer
what a phrase could mean, fields about the past, a retried command read as of when it was typed, and the
account's own currency. The user's zone is America/New_York, the API zone UTC."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from bot.sandbox import Fault, Sandbox
from tests.e2e.conftest import BASE, FAST, BotFactory, Slack, settled

ORDER = "order add INV-{n} jane@example.com amount=49 product_id=P-1 date={date}"


def order_sent(sandbox: Sandbox, invoice: str) -> dict[str, object]:
    found = [request.json for request in sandbox.requests if request.path == f"{BASE}/invoice"]
    return next(body for body in reversed(found) if body["id"] == invoice and body)


async def test_day_and_month_follow_each_users_slack_locale(slack: Slack, sandbox: Sandbox) -> None:
    slack.fake.user_locales.update({"U1": "en-US", "U2": "en-GB"})
    slack.fake.user_zones["U2"] = "America/New_York"
    since = time.monotonic()
    await slack.command(ORDER.format(n=1, date="02/03/2026"), user="U1")
    await slack.posted(lambda call: call.at >= since and "INV-1" in call.args["text"])
    await slack.command(ORDER.format(n=2, date="02/03/2026"), user="U2")
    done = await slack.posted(lambda call: call.at >= since and "INV-2" in call.args["text"])
    assert order_sent(sandbox, "INV-1")["date_created"] == "2026-02-03 05:00:00"  # 3 February, 00:00 EST
    assert order_sent(sandbox, "INV-2")["date_created"] == "2026-03-02 05:00:00"  # 2 March
    assert "Mon Mar 2, 2026" in json.dumps(done.args["blocks"])  # the confirmation says it in words
    info = slack.fake.calls_to("users.info")
    assert info and all(str(call.args.get("include_locale")).lower() in ("1", "true") for call in info)


async def test_a_phrase_with_two_readings_is_refused_offering_both_and_nothing_is_sent(
    slack: Slack, sandbox: Sandbox
) -> None:
    before = len(sandbox.requests)
    since = time.monotonic()
    await slack.command('contact add jane@example.com created="yesterday at 9"')
    told = await slack.posted(lambda call: call.at >= since, method="response_url")
    text = json.dumps(told.args)
    assert told.args["response_type"] == "ephemeral"
    assert "9:00 AM" in text and "9:00 PM" in text and "date_created" in text
    assert len(sandbox.requests) == before


async def test_a_field_about_the_past_refuses_a_moment_to_come(slack: Slack, sandbox: Sandbox) -> None:
    before = len(sandbox.requests)
    since = time.monotonic()
    await slack.command("ad record AD-1 spend=20 date=tomorrow")
    told = await slack.posted(lambda call: call.at >= since, method="response_url")
    assert "has not happened yet" in json.dumps(told.args)
    assert len(sandbox.requests) == before


async def test_a_retried_command_reads_its_dates_as_of_when_it_was_typed(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**FAST)
    # Failing for several outbox tries, so the one that goes through runs well over a second later.
    sandbox.add_fault(Fault(status=503, times=10))
    typed = datetime.now(UTC).replace(microsecond=0)
    await slack.command("contact add jane@example.com created=now")
    await slack.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    # The retry runs at least a second later: "now" must still be the moment it was typed.
    await slack.posted(lambda call: "saved contact" in call.args["text"], timeout=15)
    done = datetime.now(UTC)
    await settled(slack)
    applied = [request for request in sandbox.requests if request.path == f"{BASE}/contact" and request.status == 200]
    sent = datetime.strptime(applied[-1].json["date_created"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert typed <= sent <= typed + timedelta(seconds=1)
    assert done - sent >= timedelta(seconds=1)


async def test_amounts_in_the_accounts_own_currency_as_its_users_write_them(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(segmetrics_currency="PLN")
    since = time.monotonic()
    await slack.command('order add INV-9 jane@example.com amount="1 299,00 zł" product_id=P-1')
    done = await slack.posted(lambda call: call.at >= since and "INV-9" in call.args["text"])
    assert order_sent(sandbox, "INV-9")["amount"] == 129900
    assert "PLN" in json.dumps(done.args["blocks"])
    since = time.monotonic()
    await slack.command('order add INV-10 jane@example.com amount="1,299 zł" product_id=P-1')
    told = await slack.posted(lambda call: call.at >= since, method="response_url")
    assert "3 decimals" in json.dumps(told.args)  # a Pole's comma is the decimal mark
