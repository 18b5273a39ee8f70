"""Tagging by emoji reaction: a surface for `reaction_added` and `reaction_removed`.

A reaction with a mapped emoji (`bot.reactions`) on a message tags every contact the message mentions (the
address finder of the "Tag contacts in message" shortcut), checked against the policy for `tag add` as the
person who reacted. The result goes in the message's thread, naming each contact, with Undo; the person who
reacted can also undo by removing the reaction within the Undo window.

One reaction slot per message and emoji: the first reaction takes it and tags; the same emoji from others
(and Slack delivering an event twice) finds it taken and does nothing. Removing the reaction that tagged ends
the slot (undoing within the window), so reacting again tags again. The slots are tickets in the database,
so they hold across replicas and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.connections import NAME_NOT_GIVEN
from bot.fields import quote_tag
from bot.problems import InvalidValue
from bot.reactions import Reactions, emoji_name
from bot.slack import messages, modals
from bot.slack.addresses import find_contacts
from bot.slack.replies import Conversation
from bot.slack.shortcuts import MAX_CONTACTS, Shortcuts
from bot.slack.undo import Undo
from bot.slack.work import UNDO_TTL, Work
from bot.store import ticket_id as _id

log = logging.getLogger("segmetrics_slack.reactions")

SURFACE = "reaction"
TICKET = "reaction"
# A slot is looked for among this many generations (add, remove, add again…) of one message and emoji.
MAX_GENERATIONS = 50


class ReactionTags:
    def __init__(self, surface: Any, shortcuts: Shortcuts, undo: Undo, reactions: Reactions) -> None:
        # The dispatcher (`SlackSurface`): runner, client, jobs, safety, store.
        self.surface = surface
        self.shortcuts = shortcuts
        self.undoer = undo
        self.reactions = dict(reactions)
        self._turns: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    # -- in ---------------------------------------------------------------------------------------

    async def on_added(self, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        self._spawn(body, event, added=True)

    async def on_removed(self, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        self._spawn(body, event, added=False)

    def _spawn(self, body: Mapping[str, Any], event: Mapping[str, Any], *, added: bool) -> None:
        found = self._reaction(event)
        if found is None:
            return
        emoji, channel, ts, user = found
        team = str(body.get("team_id") or "")
        job = self._in_turn(f"{team}:{channel}:{ts}:{emoji}", added, team, emoji, channel, ts, user)
        conversation = self._conversation(user, channel, ts)
        self.surface.jobs.spawn(self.surface.guarded(conversation, job), name="react" if added else "unreact")

    async def _in_turn(self, base: str, added: bool, *args: str) -> None:
        """One reaction event of a message and emoji at a time, in the order they came: an add, its removal
        and an add again are done in that order, never interleaved."""
        lock = self._turns.setdefault(base, asyncio.Lock())
        self._waiting[base] = self._waiting.get(base, 0) + 1
        try:
            async with lock:
                await (self._added if added else self._removed)(*args)
        finally:
            self._waiting[base] -= 1
            if not self._waiting[base]:
                del self._waiting[base], self._turns[base]

    def _reaction(self, event: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
        """(emoji, channel, ts, user) of a reaction that tags, on a message; None for any other."""
        emoji = emoji_name(str(event.get("reaction") or ""))
        item = event.get("item") or {}
        user = event.get("user")
        if emoji not in self.reactions or item.get("type") != "message" or not user:
            return None
        if not item.get("channel") or not item.get("ts"):
            return None
        return emoji, str(item["channel"]), str(item["ts"]), str(user)

    def _conversation(self, user: str, channel: str, ts: str, thread: str | None = None) -> Conversation:
        return Conversation(self.surface.client, user, channel_id=channel, thread_ts=thread or ts)

    # -- a reaction added --------------------------------------------------------------------------

    async def _added(self, team: str, emoji: str, channel: str, ts: str, user: str) -> None:
        surface = self.surface
        op = surface.runner.registry["tag add"]
        # Slack gives a reaction the channel's id only: a rule or a connection that names channels is not guessed at.
        origin = modals.Origin(channel_id=channel, thread_ts=ts, channel_name=NAME_NOT_GIVEN)
        try:
            work = replace(surface.work(op, user, origin, team=team or None), surface=SURFACE)
        except InvalidValue as error:
            said = messages.notice(f"❌ Nothing was tagged: {error.message}.")
            await self._conversation(user, channel, ts).tell(said)
            return
        # Checked before the slot is taken: a refused reaction leaves it for someone who may tag.
        decision = surface.safety.decide(op, work)
        if not decision.allowed:
            await self._conversation(user, channel, ts).tell(surface.safety.refusal(decision))
            return
        unkept = surface.cannot_keep(op)
        if unkept:
            await self._conversation(user, channel, ts).tell(messages.notice(unkept))
            return
        slot = await self._take(team, channel, ts, emoji, user)
        if slot is None:
            return
        try:
            await self._tag(slot, op, work, emoji, channel, ts, user)
        except BaseException:
            # Stopped or broken mid-way: the slot is ended, so reacting again can tag (contacts already journaled
            # are finished by the outbox, and confirmed then).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._end(slot, {"by": user, "unfinished": True})), 3)
            raise

    async def _tag(self, slot: str, op: Any, work: Work, emoji: str, channel: str, ts: str, user: str) -> None:
        surface = self.surface
        message = await self._message(channel, ts, user, emoji)
        if message is None:
            await self._end(slot, {"by": user})
            return
        thread = str(message.get("thread_ts") or ts)
        found = find_contacts(message)
        problem = None
        if not found:
            problem = f"No e-mail address was found in that message, so your :{emoji}: reaction tagged no one."
        elif len(found) > MAX_CONTACTS:
            problem = (
                f"That message names {len(found):,} addresses; a reaction tags at most {MAX_CONTACTS}. Nothing was "
                "tagged: import them in bulk instead (`/segmetrics import`)."
            )
        if problem:
            await self._end(slot, {"by": user})
            await self._conversation(user, channel, ts, thread).tell(messages.notice(problem))
            return
        tags = [quote_tag(tag) for tag in self.reactions[emoji]]
        raws = [{"email": item.email, "tags": tags} for item in found]
        work = replace(work, thread_ts=thread)
        tagged = await self.shortcuts.tag_all(op, raws, work, slot)
        payload = {"by": user, "thread": thread}
        if tagged is not None:
            payload.update(
                undo=tagged.undo,
                posted=list(tagged.posted) if tagged.posted else None,
                text=tagged.message.text,
                blocks=tagged.message.blocks,
            )
        store = surface.store
        await store.call(store.store.update_ticket, slot, TICKET, payload)
        # Removed meanwhile by another bot sharing the database (this one takes a message's events in turn):
        # checked after the update, which a removal from then on reads. Undo runs once, whoever gets to it.
        if await store.call(store.store.claimed, f"{slot}:removed"):
            await self._end(slot, payload)
            await self._undo(slot, payload, user, channel)

    async def _take(self, team: str, channel: str, ts: str, emoji: str, user: str) -> str | None:
        """The slot of this message and emoji, taken for `user`; None while someone else's holds it."""
        store = self.surface.store
        for generation in range(MAX_GENERATIONS):
            key = f"reaction:{team}:{channel}:{ts}:{emoji}:{generation}"
            taken = await store.call(
                store.store.put_ticket, TICKET, {"by": user, "at": datetime.now(UTC).isoformat()}, UNDO_TTL, key=key
            )
            if taken is not None:
                return str(taken)
            held = await store.call(store.store.ticket, _id(key), TICKET)
            if held is None:
                return None  # pruned between the two looks: leave it
            if _holds(*held):
                log.info("reaction :%s: on %s/%s already tagged; not again", emoji, channel, ts)
                return None
        text = (
            f"❌ That message was tagged with :{emoji}: and undone {MAX_GENERATIONS} times; this reaction tags no one."
        )
        await self._conversation(user, channel, ts).tell(messages.notice(text))
        return None

    async def _current(
        self, team: str, channel: str, ts: str, emoji: str
    ) -> tuple[str, Mapping[str, Any], bool] | None:
        """The slot holding this message and emoji now: (id, payload, still within the Undo window)."""
        store = self.surface.store
        for generation in range(MAX_GENERATIONS):
            slot = _id(f"reaction:{team}:{channel}:{ts}:{emoji}:{generation}")
            held = await store.call(store.store.ticket, slot, TICKET)
            if held is None:
                return None
            if _holds(*held):
                return slot, held[0], held[1]
        return None

    async def _end(self, slot: str, payload: Mapping[str, Any]) -> None:
        store = self.surface.store
        await store.call(store.store.update_ticket, slot, TICKET, {**payload, "ended": True})

    async def _message(self, channel: str, ts: str, user: str, emoji: str) -> Mapping[str, Any] | None:
        """The message reacted to (Slack's events carry only where it is), or None after telling the reactor why not."""
        client = self.surface.client
        try:
            history = await client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
            found = next((item for item in history.get("messages") or [] if item.get("ts") == ts), None)
            if found is None:  # a reply in a thread: only its thread has it
                replies = await client.conversations_replies(channel=channel, ts=ts, latest=ts, inclusive=True)
                found = next((item for item in replies.get("messages") or [] if item.get("ts") == ts), None)
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            log.warning("cannot read the message reacted to in %s (%s)", channel, reason)
            if reason in ("missing_scope", "not_in_channel", "channel_not_found"):
                said = (
                    f"the bot cannot read messages here ({reason}): invite it to the channel, and make sure the app "
                    "has the history scopes (`segmetrics-bot manifest` lists them once reactions are configured)"
                )
            else:
                said = f"Slack did not give the bot the message ({reason}); try again"
            text = f"❌ Your :{emoji}: reaction tagged no one: {said}."
            await self._conversation(user, channel, ts).tell(messages.notice(text))
            return None
        if found is None:
            await self._conversation(user, channel, ts).tell(
                messages.notice(f"❌ Your :{emoji}: reaction tagged no one: the message was not found (deleted?).")
            )
        return found

    # -- a reaction removed ------------------------------------------------------------------------

    async def _removed(self, team: str, emoji: str, channel: str, ts: str, user: str) -> None:
        current = await self._current(team, channel, ts, emoji)
        if current is None:
            return
        slot, payload, in_window = current
        if payload.get("by") != user:
            return  # someone else's reaction: the tags the first one made stay
        store = self.surface.store
        if not await store.call(store.store.claim, f"{slot}:removed"):
            return  # Slack delivered the removal twice
        fresh = await store.call(store.store.ticket, slot, TICKET)  # as the tagging left it, if it is done
        payload = fresh[0] if fresh is not None else payload
        await self._end(slot, payload)
        if "undo" not in payload:
            return  # still tagging (here or on another bot): that run sees the removal and undoes when it is done
        if not in_window:
            text = (
                f"You removed your :{emoji}: reaction after the Undo window (10 minutes), so the tags stay. To take "
                "them off: `/segmetrics tag remove <e-mail> <tags>`."
            )
            await self._conversation(user, channel, ts, payload.get("thread")).tell(messages.notice(text))
            return
        await self._undo(slot, payload, user, channel)

    async def _undo(self, slot: str, payload: Mapping[str, Any], user: str, channel: str) -> None:
        ticket = payload.get("undo")
        if not ticket:
            return
        posted = payload.get("posted") or [None, None]
        thread = payload.get("thread")
        conversation = Conversation(self.surface.client, user, channel_id=channel, thread_ts=thread)
        message = {"text": payload.get("text") or "", "blocks": payload.get("blocks") or []}

        async def mark(note: str) -> None:
            await self.surface.mark_message(
                message, f"{note} (reaction removed)", channel=posted[0], ts=posted[1], user=user
            )

        await self.undoer.undo(
            str(ticket), user, conversation, team=None, channel_name=NAME_NOT_GIVEN, response_url=None, mark=mark
        )


def _holds(payload: Mapping[str, Any], in_window: bool) -> bool:
    """Whether a slot still holds its message and emoji: not ended, and not left unfinished by a bot that
    stopped (its window is over and it never got as far as an Undo)."""
    return not payload.get("ended") and (in_window or "undo" in payload)
