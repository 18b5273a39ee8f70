"""Tagging by emoji reaction: signed `reaction_added` / `reaction_removed` events; the fake Slack serves the
message reacted to (conversations.history / replies), the sandbox records what SegMetrics got."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.sandbox import Fault, Sandbox
from bot.slack.app import StartupError
from tests.e2e.conftest import BASE, CHANNEL, USER, BotFactory, Slack, settled

REACTIONS = "vip=VIP; fire=Hot lead, Q4"
LEADS = "New leads from the webinar: <mailto:jane@example.com|jane@example.com> and bob@example.com"


def tagged(sandbox: Sandbox, path: str = "tags/add") -> list[str]:
    return sorted(request.json["email"] for request in sandbox.requests if request.path == f"{BASE}/{path}")


async def started(bots: BotFactory, **settings: object) -> Slack:
    slack = await bots.start(segmetrics_reactions=REACTIONS, **settings)
    for email in ("jane@example.com", "bob@example.com"):
        await slack.bot.runner.run_text(f"contact add {email}")
    return slack


async def test_a_reaction_tags_every_contact_the_message_names(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await started(bots)
    ts = slack.fake.add_message(CHANNEL, LEADS)
    response = await slack.reaction("fire", ts)
    assert response.status_code == 200
    posted = await slack.posted(lambda call: call.args.get("thread_ts") == ts)
    shown = posted.args["blocks"][0]["text"]["text"]
    assert f"<@{USER}> tagged 2 contacts with Hot lead, Q4" in shown
    assert "• jane@example.com" in shown and "• bob@example.com" in shown
    assert "undo" in json.dumps(posted.args["blocks"]).lower()
    assert tagged(sandbox) == ["bob@example.com", "jane@example.com"]
    assert sandbox.tag_names("jane@example.com") == ["Hot lead", "Q4"]
    await settled(slack)
    assert {row["surface"] for row in slack.bot.store.store.audit_rows(surface="reaction")} == {"reaction"}


async def test_the_same_reaction_twice_tags_once(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await started(bots)
    ts = slack.fake.add_message(CHANNEL, LEADS)
    await slack.reaction("vip", ts)
    await slack.posted(lambda call: call.args.get("thread_ts") == ts)
    await slack.reaction("vip", ts, user="U3")  # a colleague agrees
    await slack.reaction("vip", ts)  # Slack delivers an event again
    await settled(slack)
    assert tagged(sandbox) == ["bob@example.com", "jane@example.com"]
    assert len([call for call in slack.fake.calls_to("chat.postMessage") if call.args.get("thread_ts") == ts]) == 1


async def test_a_refused_reactor_is_told_alone_and_nothing_is_sent(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[operations."tag add"]\nallow = ["{USER}"]\n')
    slack = await started(bots, segmetrics_bot_policy=str(policy))
    ts = slack.fake.add_message(CHANNEL, LEADS)
    await slack.reaction("vip", ts, user="U3")
    refusal = await slack.posted(method="chat.postEphemeral")
    assert refusal.args["user"] == "U3" and "not open to you" in refusal.args["text"]
    await settled(slack)
    assert tagged(sandbox) == [] and not slack.fake.calls_to("conversations.history")
    # The refusal did not take the reaction's place: someone allowed still tags.
    await slack.reaction("vip", ts)
    await slack.posted(lambda call: call.args.get("thread_ts") == ts)
    assert tagged(sandbox) == ["bob@example.com", "jane@example.com"]


async def test_removing_ones_reaction_undoes_it(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await started(bots)
    ts = slack.fake.add_message(CHANNEL, LEADS)
    await slack.reaction("vip", ts)
    confirmation = await slack.posted(lambda call: call.args.get("thread_ts") == ts)
    await slack.reaction("vip", ts, user="U3", added=False)  # someone else's: the tags stay
    await settled(slack)
    assert tagged(sandbox, "tags/remove") == []
    await slack.reaction("vip", ts, added=False)
    await slack.posted(lambda call: "Undone" in call.args.get("text", ""), method="chat.update")
    await settled(slack)
    assert tagged(sandbox, "tags/remove") == ["bob@example.com", "jane@example.com"]
    assert sandbox.tag_names("jane@example.com") == []
    [thread_reply] = [message for message in slack.fake.messages(CHANNEL) if message.get("thread_ts") == ts]
    assert "reaction removed" in json.dumps(thread_reply["blocks"])  # the confirmation says it was undone
    assert "undo" not in json.dumps([block for block in thread_reply["blocks"] if block["type"] == "actions"])
    # Reacting again tags again.
    await slack.reaction("vip", ts)
    await slack.posted(lambda call: call.args.get("thread_ts") == ts and call.at > confirmation.at)
    assert sandbox.tag_names("jane@example.com") == ["VIP"]


async def test_a_reaction_removed_while_it_is_still_tagging_is_undone_once_done(
    bots: BotFactory, sandbox: Sandbox
) -> None:
    slack = await started(bots)
    ts = slack.fake.add_message(CHANNEL, "Add bob@example.com please")
    sandbox.add_fault(Fault(status=None, delay=0.8, path_contains="tags/add"))  # SegMetrics is slow to answer
    await slack.reaction("vip", ts)
    await slack.fake.async_wait_for("conversations.history")  # the bot has the message: it is tagging now
    await slack.reaction("vip", ts, added=False)  # taken back before the confirmation is even out
    await slack.posted(lambda call: "Undone" in call.args.get("text", ""), method="chat.update", timeout=10)
    await settled(slack)
    assert tagged(sandbox, "tags/remove") == ["bob@example.com"]
    assert sandbox.tag_names("bob@example.com") == []
    again = time.monotonic()
    await slack.reaction("vip", ts)  # the slot was ended: reacting again tags again
    # Its own confirmation: the first tagging's, in the same thread, says "tagged" too.
    await slack.posted(
        lambda call: call.at >= again and call.args.get("thread_ts") == ts and "tagged" in call.args.get("text", "")
    )
    await settled(slack)
    assert sandbox.tag_names("bob@example.com") == ["VIP"]


async def test_add_remove_add_while_tagging_ends_tagged(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await started(bots)
    ts = slack.fake.add_message(CHANNEL, "Add bob@example.com please")
    sandbox.add_fault(Fault(status=None, delay=0.8, path_contains="tags/add"))
    await slack.reaction("vip", ts)
    await slack.fake.async_wait_for("conversations.history")
    await slack.reaction("vip", ts, added=False)
    await slack.reaction("vip", ts)  # changed their mind again, before the first tagging is even done
    # Taken in turn: tagged, undone, tagged again; the reaction is on and so is the tag.
    await slack.posted(lambda call: "Undone" in call.args.get("text", ""), method="chat.update", timeout=10)
    await settled(slack, timeout=10)
    assert len([call for call in slack.fake.calls_to("chat.postMessage") if call.args.get("thread_ts") == ts]) == 2
    assert sandbox.tag_names("bob@example.com") == ["VIP"]


async def test_a_bot_stopped_mid_tagging_leaves_the_reaction_free_to_tag_again(
    bots: BotFactory, sandbox: Sandbox
) -> None:
    first = await started(bots)
    database = first.bot.settings.segmetrics_bot_database_url
    ts = first.fake.add_message(CHANNEL, "Add bob@example.com please")
    sandbox.add_fault(Fault(status=None, delay=3.0, path_contains="tags/add"))
    await first.reaction("vip", ts)
    await first.fake.async_wait_for("conversations.history")
    await bots.stop(first, grace=0.2)  # stopped while SegMetrics has not answered
    second = await bots.start(segmetrics_reactions=REACTIONS, segmetrics_bot_database_url=database)
    await second.reaction("vip", ts)  # the unfinished slot does not hold it
    await second.posted(lambda call: call.args.get("thread_ts") == ts and "tagged 1 contact" in call.args["text"])
    await settled(second, timeout=10)
    assert sandbox.tag_names("bob@example.com") == ["VIP"]


async def test_a_channel_rule_by_name_is_not_guessed_for_a_reaction(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."tag add"]\nchannels = ["#marketing"]\n')
    slack = await started(bots, segmetrics_bot_policy=str(policy))
    ts = slack.fake.add_message(CHANNEL, LEADS)
    await slack.reaction("vip", ts)
    told = await slack.posted(method="chat.postEphemeral")
    assert "may only be run in #marketing" in told.args["text"]
    assert "only the channel's id" in told.args["text"] and "by its id (C…)" in told.args["text"]
    await settled(slack)
    assert tagged(sandbox) == []


async def test_a_reaction_survives_a_restart_and_is_undone_after_it(bots: BotFactory, sandbox: Sandbox) -> None:
    first = await started(bots)
    database = first.bot.settings.segmetrics_bot_database_url
    ts = first.fake.add_message(CHANNEL, LEADS)
    await first.reaction("vip", ts)
    await first.posted(lambda call: call.args.get("thread_ts") == ts)
    await settled(first)
    await bots.stop(first)
    second = await bots.start(segmetrics_reactions=REACTIONS, segmetrics_bot_database_url=database)
    await second.reaction("vip", ts, user="U3")  # still held by the first reaction: not again
    await second.reaction("vip", ts, added=False)
    await second.posted(lambda call: "Undone" in call.args.get("text", ""), method="chat.update")
    await settled(second)
    assert tagged(sandbox) == ["bob@example.com", "jane@example.com"]
    assert tagged(sandbox, "tags/remove") == ["bob@example.com", "jane@example.com"]


async def test_a_reply_in_a_thread_and_a_skin_tone_are_read(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await started(bots)
    parent = slack.fake.add_message(CHANNEL, "Thread about the webinar")
    reply = slack.fake.add_message(CHANNEL, "Add bob@example.com please", thread_ts=parent)
    await slack.reaction("vip::skin-tone-3", reply)
    posted = await slack.posted(lambda call: call.args.get("thread_ts") == parent)
    assert "tagged 1 contact with VIP" in posted.args["blocks"][0]["text"]["text"]
    assert tagged(sandbox) == ["bob@example.com"]


async def test_other_reactions_and_messages_without_addresses(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await started(bots)
    ts = slack.fake.add_message(CHANNEL, LEADS)
    await slack.reaction("tada", ts)  # not mapped: nothing at all
    plain = slack.fake.add_message(CHANNEL, "Great webinar today!")
    await slack.reaction("vip", plain)
    told = await slack.posted(method="chat.postEphemeral")
    assert told.args["user"] == USER and "No e-mail address" in told.args["text"]
    await settled(slack)
    assert tagged(sandbox) == []
    assert [call.args["latest"] for call in slack.fake.calls_to("conversations.history")] == [plain]


async def test_reactions_do_nothing_until_configured(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start()
    await slack.bot.runner.run_text("contact add jane@example.com")
    ts = slack.fake.add_message(CHANNEL, LEADS)
    response = await slack.reaction("vip", ts)
    assert response.status_code == 200
    await settled(slack)
    assert not slack.fake.calls_to("conversations.history") and tagged(sandbox) == []


async def test_a_policy_table_maps_reactions_and_a_conflict_stops_the_start(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[reactions]\nstar = ["Starred", "Follow up"]\n')
    slack = await bots.start(segmetrics_bot_policy=str(policy))
    await slack.bot.runner.run_text("contact add jane@example.com")
    ts = slack.fake.add_message(CHANNEL, LEADS)
    await slack.reaction("star", ts)
    await slack.posted(lambda call: call.args.get("thread_ts") == ts)
    assert sandbox.tag_names("jane@example.com") == ["Starred", "Follow up"]

    policy.write_text('[reactions]\nstar = ["Starred"]\n')
    with pytest.raises(StartupError, match="`star` tags with Follow up in SEGMETRICS_REACTIONS but with Starred"):
        await bots.start(segmetrics_bot_policy=str(policy), segmetrics_reactions="star=Follow up")
    long_tag = "x" * 300
    with pytest.raises(StartupError, match=r"Reactions: `star`: the tags .* over 255 characters"):
        await bots.start(segmetrics_reactions=f"star={long_tag}")
