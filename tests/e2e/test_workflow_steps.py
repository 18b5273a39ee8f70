"""Workflow Builder steps: a signed `function_executed` event in; SegMetrics called; the run completed with its
outputs (`functions.completeSuccess`) or failed with the field-named message (`functions.completeError`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.sandbox import Fault, Sandbox
from tests.e2e.conftest import BASE, CHANNEL, FAST, USER, BotFactory, Slack, settled


def sent(sandbox: Sandbox, path: str) -> list[Any]:
    return [request for request in sandbox.requests if request.path == f"{BASE}/{path}"]


def audit(slack: Slack, surface: str = "workflow") -> list[dict[str, Any]]:
    return slack.bot.store.store.audit_rows(surface=surface)


async def test_a_step_adds_a_contact_and_completes_with_its_outputs(slack: Slack, sandbox: Sandbox) -> None:
    workflow_started = int(datetime(2026, 3, 2, 15, 30, tzinfo=UTC).timestamp())
    response, run = await slack.step(
        "contact_add",
        {
            "user_id": USER,
            "email": "jane@example.com",
            "first_name": "Jane",
            "tags": ["Webinar 2026", "VIP"],
            "date_created": workflow_started,  # Slack's timestamp type: Unix seconds
            "geo_lat": 48.85,
        },
    )
    assert response.status_code == 200
    state, outputs = await slack.step_result(run)
    assert state == "success"
    assert outputs["email"] == "jane@example.com"
    assert outputs["confirmation"].startswith("saved contact jane@example.com")
    assert "link" not in outputs  # no channel was given: nothing posted
    [request] = sent(sandbox, "contact")
    assert request.json == {
        "email": "jane@example.com",
        "first_name": "Jane",
        "date_created": "2026-03-02 15:30:00",
        "tags": ["Webinar 2026", "VIP"],
        "geo_lat": 48.85,
    }
    await settled(slack)
    assert not slack.fake.calls_to("chat.postMessage")
    [row] = audit(slack)
    assert (row["operation"], row["outcome"], row["user_id"], row["surface"]) == (
        "contact add",
        "succeeded",
        USER,
        "workflow",
    )
    # The run's completion went out with the bot's own token, not the run's short-lived one.
    [completed] = slack.fake.calls_to("functions.completeSuccess")
    assert completed.token == slack.fake.bot_token


async def test_a_step_posts_its_confirmation_in_the_channel_it_names(slack: Slack, sandbox: Sandbox) -> None:
    _, run = await slack.step(
        "order_add",
        {
            "user_id": USER,
            "channel_id": CHANNEL,
            "id": "INV-2001",
            "email": "jane@example.com",
            "amount": "$49.99",
            "product_id": "C-100",
            "date_created_text": "yesterday 3pm",  # in words: read in the runner's own zone (New York)
        },
    )
    state, outputs = await slack.step_result(run)
    assert state == "success", outputs
    assert outputs["invoice_id"] == "INV-2001" and outputs["email"] == "jane@example.com"
    assert outputs["link"].startswith("https://test.slack.com/archives/C1/p")
    [request] = sent(sandbox, "invoice")
    assert request.json["amount"] == 4999 and request.json["paid"] == 4999
    posted = await slack.posted()
    assert posted.args["channel"] == CHANNEL
    shown = json.dumps(posted.args["blocks"])
    assert f"<@{USER}> saved order INV-2001" in shown and "Workflow Builder step" in shown
    assert "$49.99" in outputs["confirmation"]


async def test_bad_input_fails_the_step_naming_the_field_and_sends_nothing(slack: Slack, sandbox: Sandbox) -> None:
    _, run = await slack.step(
        "order_add",
        {"user_id": USER, "id": "INV-2002", "email": "jane@example.com", "amount": "49.99.9", "product_id": "C-1"},
    )
    state, error = await slack.step_result(run)
    assert state == "error"
    assert error.startswith("Add order: Nothing was sent to SegMetrics")
    assert "(`amount`)" in error and "Example" in error
    assert "Traceback" not in error
    assert not sent(sandbox, "invoice")


async def test_a_step_input_slack_would_misread_is_refused(slack: Slack, sandbox: Sandbox) -> None:
    cases = [
        ({"email": "jane@example.com", "tags": ["VIP"]}, "Run as (`user_id`) is required"),
        ({"user_id": USER, "email": "jane@example.com", "tags": ["Hot lead, Q4"]}, "reads as 2 tags"),
        (
            {"user_id": USER, "email": "jane@example.com", "tags": ["VIP"], "date_created": 1_767_225_600_000},
            "not a Unix time in seconds (it looks like milliseconds",
        ),
        (
            {
                "user_id": USER,
                "email": "jane@example.com",
                "tags": ["VIP"],
                "date_created": 1_767_225_600,
                "date_created_text": "yesterday",
            },
            "is given as well as `date_created`",
        ),
        ({"user_id": USER, "tags": ["VIP"]}, "E-mail or contact ID (`email`) is required"),
        ({"user_id": USER, "email": "jane@example.com", "tags": ["VIP"], "via": "nowhere"}, "Connection (`via`)"),
    ]
    for inputs, said in cases:
        callback = "contact_add" if "date_created" in inputs else "tag_add"
        _, run = await slack.step(callback, inputs)
        state, error = await slack.step_result(run)
        assert state == "error" and said in error, (inputs, error)
    assert not [request for request in sandbox.requests if request.method == "POST"]


async def test_the_policy_decides_for_the_person_who_ran_the_workflow(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."tag add"]\nallow = ["U7"]\n\n[steps]\nallow = ["U7", "U8"]\n')
    slack = await bots.start(segmetrics_bot_policy=str(policy))
    _, refused = await slack.step("tag_add", {"user_id": "U8", "email": "jane@example.com", "tags": ["VIP"]})
    state, error = await slack.step_result(refused)
    assert state == "error" and "Tag a contact is not open to you" in error and "*" not in error
    _, not_steps = await slack.step("contact_add", {"user_id": USER, "email": "jane@example.com"})
    state, error = await slack.step_result(not_steps)
    assert state == "error" and "may not be run from a workflow by you ([steps])" in error
    assert not [request for request in sandbox.requests if request.method == "POST"]
    await settled(slack)
    assert [row["outcome"] for row in audit(slack)] == ["refused", "refused"]


async def test_a_run_delivered_twice_runs_once(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text("contact add jane@example.com")
    inputs = {"user_id": USER, "email": "jane@example.com", "tags": ["VIP"]}
    _, run = await slack.step("tag_add", inputs)
    await slack.step("tag_add", inputs, execution=run)  # Slack retried the event
    state, outputs = await slack.step_result(run)
    assert state == "success" and outputs["email"] == "jane@example.com"
    await settled(slack)
    assert len(sent(sandbox, "tags/add")) == 1
    assert len(slack.fake.calls_to("functions.completeSuccess")) == 1
    assert sandbox.tag_names("jane@example.com") == ["VIP"]


async def test_the_look_up_step_outputs_the_contact(slack: Slack) -> None:
    await slack.bot.runner.run_text("contact add jane@example.com first=Jane tags=VIP")
    _, run = await slack.step("contact_show", {"user_id": USER, "email": "jane@example.com"})
    state, outputs = await slack.step_result(run)
    assert state == "success"
    assert outputs["found"] is True and outputs["first_name"] == "Jane" and outputs["tags"] == ["VIP"]
    assert outputs["contact_id"]
    _, missing = await slack.step("contact_show", {"user_id": USER, "email": "nobody@example.com"})
    state, outputs = await slack.step_result(missing)
    assert state == "success" and outputs["found"] is False


async def test_a_write_that_finds_nothing_fails_the_step(slack: Slack) -> None:
    _, run = await slack.step("tag_add", {"user_id": USER, "email": "nobody@example.com", "tags": ["VIP"]})
    state, error = await slack.step_result(run)
    assert state == "error" and "nobody@example.com" in error


async def test_a_run_segmetrics_could_not_take_is_completed_by_the_outbox(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**FAST)
    sandbox.add_fault(Fault(status=503, times=2))
    _, run = await slack.step("contact_add", {"user_id": USER, "email": "late@example.com", "first_name": "Late"})
    # The runner is told it is queued (the step stays running meanwhile), then the outbox finishes it.
    told = await slack.posted(lambda call: "queued" in call.args.get("text", ""), timeout=10)
    assert told.args["channel"] == f"D{USER}"
    state, outputs = await slack.step_result(run, timeout=15)
    assert state == "success" and outputs["email"] == "late@example.com"
    assert [call.token for call in slack.fake.calls_to("functions.completeSuccess")] == [slack.fake.bot_token]
    await settled(slack)
    outcomes = [row["outcome"] for row in audit(slack)]
    assert outcomes[0] == "queued" and outcomes[-1] == "succeeded"


async def test_a_run_interrupted_by_a_restart_is_completed_after_it(bots: BotFactory, sandbox: Sandbox) -> None:
    first = await bots.start(**FAST)
    database = first.bot.settings.segmetrics_bot_database_url
    sandbox.add_fault(Fault(status=503, times=50))
    _, run = await first.step("contact_add", {"user_id": USER, "email": "restart@example.com"})
    await first.posted(lambda call: "queued" in call.args.get("text", ""), timeout=10)
    await bots.stop(first)
    sandbox.reset()  # SegMetrics is back
    second = await bots.start(segmetrics_bot_database_url=database, **FAST)
    state, outputs = await second.step_result(run, timeout=15)
    assert state == "success" and outputs["email"] == "restart@example.com"
    assert sandbox.contact("restart@example.com") is not None


async def test_a_run_the_outbox_gives_up_on_fails_the_step(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**{**FAST, "segmetrics_outbox_hours": 0.0005})  # about 2 s of retries
    sandbox.add_fault(Fault(status=503, times=1000))
    _, run = await slack.step("contact_add", {"user_id": USER, "email": "never@example.com"})
    state, error = await slack.step_result(run, timeout=15)
    assert state == "error" and "Gave up on" in error and "most likely not done" in error


async def test_outputs_slack_refuses_still_end_the_step(slack: Slack) -> None:
    slack.fake.fail("functions.completeSuccess", "parameter_validation_failed")
    _, run = await slack.step("contact_add", {"user_id": USER, "email": "jane@example.com"})
    state, error = await slack.step_result(run)
    assert state == "error"
    assert "It was done (saved contact jane@example.com)" in error and "parameter_validation_failed" in error


async def test_a_change_of_a_record_the_bot_does_not_know_fails_saying_what_it_needs(slack: Slack) -> None:
    _, run = await slack.step("order_update", {"user_id": USER, "id": "INV-404", "amount": "5"})
    state, error = await slack.step_result(run)
    assert state == "error" and "INV-404" in error and "Nothing was sent to SegMetrics" in error


async def test_a_channel_named_rule_or_connection_is_not_guessed_for_a_step(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."tag add"]\nchannels = ["#marketing"]\n')
    slack = await bots.start(segmetrics_bot_policy=str(policy))
    _, run = await slack.step(
        "tag_add", {"user_id": USER, "channel_id": CHANNEL, "email": "jane@example.com", "tags": ["VIP"]}
    )
    state, error = await slack.step_result(run)
    assert state == "error" and "may only be run in #marketing" in error and "by its id (C…)" in error
    assert not [request for request in sandbox.requests if request.method == "POST"]


async def test_the_audit_line_and_the_step_share_one_permalink(bots: BotFactory) -> None:
    slack = await bots.start(segmetrics_audit_channel="CAUDIT")
    _, run = await slack.step("contact_add", {"user_id": USER, "channel_id": CHANNEL, "email": "jane@example.com"})
    state, outputs = await slack.step_result(run)
    assert state == "success"
    audit = await slack.posted(lambda call: call.args.get("channel") == "CAUDIT")
    assert f"<{outputs['link']}|view>" in audit.args["text"]
    assert len(slack.fake.calls_to("chat.getPermalink")) == 1  # asked of Slack once
