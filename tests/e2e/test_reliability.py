"""Nothing lost when SegMetrics fails: every kind of failure, an outage, a restart; and nothing done twice.

Timings are scaled down (a call times out after 0.5 s, the outbox retries after 0.2 s with gaps of at most
0.5 s) so an outage of a few seconds exercises what a real one of minutes would.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest

from bot.sandbox import Fault, Sandbox, SandboxServer
from bot.store import RecordPlace, Store
from tests.e2e.conftest import BASE, FAST, BotFactory, Slack, settled, temporary_database

CONTACT = f"{BASE}/contact"


def applied(sandbox: Sandbox, path: str = CONTACT) -> int:
    """How many requests to `path` SegMetrics accepted (200): the ones that took effect."""
    return sum(1 for request in sandbox.requests if request.path == path and request.status == 200)


def audit(slack: Slack) -> list[dict[str, Any]]:
    return slack.bot.store.store.audit_rows()


@pytest.mark.parametrize(
    ("kind", "fault"),
    [
        ("500", Fault(status=500, times=3)),
        ("503 with Retry-After", Fault(status=503, retry_after=0.1, times=3)),
        ("429", Fault(status=429, retry_after=0.1, times=3)),
        ("timeout", Fault(status=503, delay=1.0, times=3)),
    ],
)
async def test_a_failing_segmetrics_loses_nothing(bots: BotFactory, sandbox: Sandbox, kind: str, fault: Fault) -> None:
    slack = await bots.start(**FAST)
    sandbox.add_fault(fault)
    await slack.command("contact add jane@example.com first=Jane")
    told = await slack.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    assert "SegMetrics is not answering" in told.args["text"]
    assert "/segmetrics contact add jane@example.com first=Jane" in json.dumps(told.args["blocks"])
    done = await slack.posted(lambda call: "saved contact" in call.args["text"], timeout=15)
    assert "went through on try" in json.dumps(done.args["blocks"])
    await settled(slack)
    assert applied(sandbox) == 1
    outcomes = [row["outcome"] for row in audit(slack) if row["operation"] == "contact add"]
    assert outcomes[0] == "queued" and outcomes[-1] == "succeeded"
    queued = next(row for row in audit(slack) if row["outcome"] == "queued")
    assert queued["request"] == {
        "method": "POST",
        "path": "contact",
        "json": {"email": "jane@example.com", "first_name": "Jane"},
        "url": f"{slack.bot.settings.segmetrics_import_url}/acct-1/int-9/contact",
    }
    assert queued["attempts"] == 2


async def test_an_outage_with_the_connection_refused_then_recovery(fake_slack: Any, sandbox: Sandbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = SandboxServer(sandbox, port=port).start()
    factory = BotFactory(fake_slack, server)
    try:
        slack = await factory.start(**FAST)
        server.stop()  # SegMetrics goes away: connections are refused
        started = time.monotonic()
        await slack.command("order add INV-1 jane@example.com amount=5 product_id=P")
        told = await slack.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
        assert "connection refused" in told.args["text"]
        # Three seconds into the outage (several retries), SegMetrics is back on the same address.
        await asyncio.sleep(max(0.0, 3 - (time.monotonic() - started)))  # the outage's length is the point here
        server = SandboxServer(sandbox, port=port).start()
        done = await slack.posted(lambda call: "saved order INV-1" in call.args["text"], timeout=15)
        assert done.args["channel"] == "C1"
        await settled(slack)
        assert applied(sandbox, f"{BASE}/invoice") == 1
        rows = [row["outcome"] for row in audit(slack)]
        assert rows.count("queued") >= 3 and rows[-1] == "succeeded"
    finally:
        await factory.stop_all()
        server.stop()


async def test_it_gives_up_after_the_configured_time_and_says_so(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**{**FAST, "segmetrics_outbox_hours": 0.001})  # 3.6 s
    sandbox.add_fault(Fault(status=503, times=1000))
    await slack.command("contact add jane@example.com")
    await slack.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    gave_up = await slack.posted(lambda call: "Gave up" in call.args.get("text", ""), method="response_url", timeout=15)
    assert "most likely not done" in gave_up.args["text"]
    await settled(slack)
    assert audit(slack)[-1]["outcome"] == "gave_up"
    assert applied(sandbox) == 0


async def test_pending_work_survives_a_restart(bots: BotFactory, sandbox: Sandbox) -> None:
    database = temporary_database()
    first = await bots.start(**FAST, segmetrics_bot_database_url=database)
    sandbox.add_fault(Fault(status=503, times=1000))
    await first.command("tag add jane@example.com VIP")
    await first.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    await bots.stop(first)
    sandbox.reset()
    # SegMetrics is back; a new bot on the same database picks the work up.
    second = await bots.start(**FAST, segmetrics_bot_database_url=database)
    await second.bot.runner.run_text("contact add jane@example.com")
    done = await second.posted(lambda call: "tagged jane@example.com with VIP" in call.args["text"], timeout=15)
    assert done.args["channel"] == "C1"
    assert applied(sandbox, f"{BASE}/tags/add") == 1


async def test_replays_and_double_submissions_run_once(slack: Slack, sandbox: Sandbox) -> None:
    body = slack.command_body("contact add jane@example.com")
    await slack.post(body)
    await slack.post(body)  # Slack (or a proxy) delivering the same command twice
    await slack.posted()
    since = time.monotonic()
    await slack.command("order add INV-1")
    view = await slack.opened_view(after=since)
    typed = {"email": "jane@example.com", "amount": "5", "items": "A | P | 5"}
    await slack.submit(view, typed)
    await slack.submit(view, typed)  # a double click on Save
    await slack.posted(lambda call: "INV-1" in call.args["text"])
    assert applied(sandbox) == 1
    assert applied(sandbox, f"{BASE}/invoice") == 1
    assert len(slack.fake.calls_to("chat.postMessage")) == 2


async def test_a_double_click_on_undo_undoes_once(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text("contact add jane@example.com")
    since = time.monotonic()
    await slack.command("tag add jane@example.com VIP")
    posted = await slack.posted(lambda call: call.at >= since)
    value = next(e["value"] for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    message = {"ts": "1.1", "text": posted.args["text"], "blocks": posted.args["blocks"]}
    await slack.click("undo", value, message=message)
    await slack.click("undo", value, message=message)
    await slack.posted(method="chat.update")
    await settled(slack)
    assert applied(sandbox, f"{BASE}/tags/remove") == 1


def _confirm_value(call: Any) -> str:
    return next(
        element["value"]
        for block in call.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "confirm_run"
    )


async def test_a_delete_whose_answer_was_lost_is_done_once(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**FAST)
    await slack.bot.runner.run_text("contact add jane@example.com contact_id=C-7")
    # The first DELETE goes through but its answer is lost; the client's own retry meets a 503: queued.
    # The outbox's retry then finds nothing to delete, which means the first one did it.
    sandbox.add_fault(Fault(status=None, disconnect=True, method="DELETE"))
    sandbox.add_fault(Fault(status=503, method="DELETE"))
    since = time.monotonic()
    await slack.command("contact delete C-7")
    asked = await slack.posted(
        lambda call: call.at >= since and "confirm_run" in json.dumps(call.args.get("blocks")), method="response_url"
    )
    await slack.click("confirm_run", _confirm_value(asked))
    done = await slack.posted(lambda call: "deleted contact C-7" in call.args["text"], timeout=15)
    assert "An earlier try had already deleted it" in json.dumps(done.args["blocks"])
    assert sandbox.contact("C-7") is None
    await settled(slack)
    deletes = [request for request in sandbox.requests if request.method == "DELETE"]
    assert len(deletes) == 3  # applied-but-lost, 503, then "not found"
    outcomes = [row["outcome"] for row in audit(slack) if row["operation"] == "contact delete"]
    assert outcomes == ["queued", "succeeded"]


async def test_an_undo_segmetrics_does_not_answer_is_queued_then_done(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**FAST)
    await slack.bot.runner.run_text("contact add jane@example.com")
    since = time.monotonic()
    await slack.command("tag add jane@example.com VIP")
    posted = await slack.posted(lambda call: call.at >= since)
    value = next(e["value"] for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    sandbox.add_fault(Fault(status=503, times=2, path_contains="tags/remove"))
    await slack.click(
        "undo", value, message={"ts": "1.1", "text": posted.args["text"], "blocks": posted.args["blocks"]}
    )
    marked = await slack.posted(method="chat.update", timeout=10)
    note = json.dumps(marked.args["blocks"], ensure_ascii=False)
    assert "⏳ Undo by <@U1> queued for jane@example.com" in note and "Undo failed" not in note
    await slack.posted(lambda call: "removed VIP from jane@example.com" in call.args["text"], timeout=15)
    assert sandbox.tag_names("jane@example.com") == []
    assert applied(sandbox, f"{BASE}/tags/remove") == 1


async def test_queued_work_meets_the_policy_of_the_bot_that_resumes_it(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Any
) -> None:
    database = temporary_database()
    first = await bots.start(**FAST, segmetrics_bot_database_url=database)
    sandbox.add_fault(Fault(status=503, times=1000))
    await first.command("tag add jane@example.com VIP")
    await first.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    await bots.stop(first)
    sandbox.reset()
    # Meanwhile tagging was restricted to U9: the queued tagging by U1 is refused, not run.
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."tag add"]\nallow = ["U9"]\n')
    second = await bots.start(**FAST, segmetrics_bot_database_url=database, segmetrics_bot_policy=str(policy))
    refused = await second.posted(lambda call: "not open to you" in call.args.get("text", ""), method="response_url")
    assert "*Tag a contact* is not open to you" in refused.args["text"]
    await settled(second)
    assert applied(sandbox, f"{BASE}/tags/add") == 0
    assert second.bot.store.store.pending() == []


async def test_a_restart_during_a_call_resumes_it(bots: BotFactory, sandbox: Sandbox) -> None:
    database = temporary_database()
    first = await bots.start(**{**FAST, "segmetrics_timeout": 5.0}, segmetrics_bot_database_url=database)
    sandbox.add_fault(Fault(status=503, delay=3.0))  # SegMetrics is slow to answer when the bot is stopped
    await first.command("contact add jane@example.com first=Jane")
    await asyncio.to_thread(sandbox.wait_for, lambda request: request.path == CONTACT, 5)
    await bots.stop(first, grace=0.2)
    told = await first.posted(lambda call: "stopped while running" in call.args.get("text", ""), method="response_url")
    assert "will be finished when the bot is back" in told.args["text"]
    # The next bot takes it up at once (not when the lease would have run out) and confirms it.
    second = await bots.start(**FAST, segmetrics_bot_database_url=database)
    done = await second.posted(lambda call: "saved contact jane@example.com" in call.args["text"], timeout=10)
    assert done.args["channel"] == "C1"
    await settled(second)
    assert applied(sandbox) == 1
    assert second.bot.store.store.pending() == []


async def test_segmetrics_never_sees_more_calls_at_once_than_the_setting(
    bots: BotFactory, sandbox: Sandbox, segmetrics: SandboxServer
) -> None:
    sandbox.latency = 0.2
    slack = await bots.start(segmetrics_max_connections=3)
    for n in range(24):
        await slack.command(f"contact add person{n}@example.com")
    for n in range(24):
        await slack.posted(lambda call, n=n: f"saved contact person{n}@example.com" in call.args["text"], timeout=15)
    assert applied(sandbox) == 24
    # 24 calls of 200 ms could all have been open at once: the bound held them to 3, and used all 3.
    assert segmetrics.peak_connections == 3


async def test_commands_still_queued_at_a_stop_are_run_by_the_next_start(bots: BotFactory, sandbox: Sandbox) -> None:
    database = temporary_database()
    # One connection, so two workers: of six commands, four wait in the queue when the bot stops.
    first = await bots.start(**FAST, segmetrics_max_connections=1, segmetrics_bot_database_url=database)
    sandbox.add_fault(Fault(status=503, delay=2.0, times=2))
    for n in range(6):
        await first.command(f"contact add person{n}@example.com")
    await asyncio.to_thread(sandbox.wait_for, lambda request: request.path == CONTACT, 5)
    await bots.stop(first, grace=0.2)
    assert first.bot.surface.pending == 0
    second = await bots.start(**FAST, segmetrics_bot_database_url=database)
    for n in range(6):
        await second.posted(lambda call, n=n: f"saved contact person{n}@example.com" in call.args["text"], timeout=15)
    await settled(second)
    assert applied(sandbox) == 6
    assert second.bot.store.store.pending() == []


async def test_a_queued_change_is_refused_if_its_record_changed_meanwhile(bots: BotFactory, sandbox: Sandbox) -> None:
    database = temporary_database()
    first = await bots.start(**FAST, segmetrics_bot_database_url=database)
    await first.bot.runner.run_text('order add INV-7 jane@example.com item="Course | C-1 | 60" date=2026-11-20')
    order = dict(sandbox.requests[-1].json)
    sandbox.add_fault(Fault(status=503, times=1000))
    await first.command("order refund INV-7 20")
    await first.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    await bots.stop(first)
    sandbox.reset()
    # Meanwhile another change went through: the queued refund, made of the order as it was, would undo it.
    place = RecordPlace("acct-1", "int-9", "invoice", "INV-7")
    store = Store(database)
    store.keep_record(place, {**order, "tax": 0})
    store.close()
    second = await bots.start(**FAST, segmetrics_bot_database_url=database)
    told = await second.posted(
        lambda call: "changed since you asked" in json.dumps(call.args.get("blocks")), method="response_url", timeout=15
    )
    assert "run it again" in json.dumps(told.args["blocks"])
    await settled(second)
    assert not [request for request in sandbox.requests if request.method == "POST"]
    assert second.bot.store.store.record_of(place) == {**order, "tax": 0}
    assert second.bot.store.store.pending() == []


async def test_a_change_given_up_on_leaves_the_order_unknown(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**{**FAST, "segmetrics_outbox_hours": 0.001})  # 3.6 s
    await slack.bot.runner.run_text('order add INV-7 jane@example.com item="Course | C-1 | 60" date=2026-11-20')
    sandbox.add_fault(Fault(status=503, delay=1.0, times=1000))  # answers lost: it may have gone through
    await slack.command("order refund INV-7 20")
    await slack.posted(lambda call: "Gave up" in call.args.get("text", ""), method="response_url", timeout=15)
    await settled(slack)
    place = RecordPlace("acct-1", "int-9", "invoice", "INV-7")
    assert slack.bot.store.store.record_of(place) is None
    sandbox.reset()
    since = time.monotonic()
    await slack.command("order update INV-7 refunded=yes")
    view = await slack.opened_view(after=since)
    assert "no record of order INV-7" in json.dumps(view["blocks"])
