"""Undo, on the confirmation of every operation that declares an inverse (tag add ↔ tag remove).

The button's value is a ticket id; the ticket (in the database) holds the inverse operation, the inputs
as they were sent, and who made the change. Valid for 10 minutes, for that person or an admin; claimed
once, so a double click undoes once. The inverse runs like any operation: journaled and audited.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.runner import Outcome
from bot.slack import messages
from bot.slack.replies import Conversation
from bot.slack.safety import click
from bot.slack.work import Failure, Work

log = logging.getLogger("segmetrics_slack.undo")

UNDO_ACTION = messages.UNDO_ACTION


class Undo:
    """Handles clicks on Undo buttons."""

    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): runner, users, jobs, safety, executor.
        self.surface = surface

    async def on_action(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        clicker, ticket = click(body, UNDO_ACTION)
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        conversation = Conversation(
            self.surface.client, clicker, channel_id=channel, response_url=body.get("response_url")
        )

        async def mark(note: str) -> None:
            await self.surface.mark(body, note)

        work = self.undo(
            ticket,
            clicker,
            conversation,
            team=(body.get("team") or {}).get("id"),
            channel_name=(body.get("channel") or {}).get("name"),
            response_url=body.get("response_url"),
            mark=mark,
        )
        self.surface.jobs.spawn(self.surface.guarded(conversation, work), name="undo")

    async def undo(
        self,
        ticket: str,
        clicker: str,
        conversation: Conversation,
        *,
        team: str | None,
        channel_name: str | None,
        response_url: str | None,
        mark: Callable[[str], Awaitable[None]],
    ) -> None:
        """Undo the change `ticket` holds, for `clicker` (its owner or an admin), once; `mark` notes on the
        confirmation what was undone. A button's click, or the removal of the reaction that made the change."""
        safety = self.surface.safety
        expired = "❌ Undo is possible for 10 minutes after a change; this one is older (or cannot be read)."
        payload = await safety.redeem("undo", ticket, clicker, conversation, admins=True, expired=expired)
        if payload is None:
            return
        if not await safety.claim(f"undo:{ticket}"):
            return  # clicked twice: the first click is doing it
        op = self.surface.runner.registry.named(str(payload["op"]))
        if op is None:
            return
        channel = conversation.channel_id
        work = Work(
            op.name,
            clicker,
            team=team,
            channel_id=channel,
            channel_name=channel_name,
            response_url=response_url,
            connection=payload.get("via"),
            fingerprint=payload.get("fp"),
        )
        decision = safety.decide(op, work)
        if not decision.allowed:
            await conversation.tell(safety.refusal(decision))
            return
        done, queued, failed = [], [], []
        for index, raw in enumerate(payload["raws"]):
            outcome = await self.surface.executor.start(op, dict(raw), work, key=f"undo:{ticket}:{index}", quiet=True)
            who = str(raw.get("email") or raw.get("contact_id") or "?")
            if isinstance(outcome, Outcome):
                done.append(who)
            elif isinstance(outcome, Failure) and outcome.queued:
                queued.append(who)  # the outbox finishes it and confirms it then
            else:
                failed.append(f"{who}: {outcome.reason if outcome is not None else 'already done'}")
        if not done and not queued:
            # Nothing undone: the confirmation stays as it was (with its button); only the clicker hears why.
            reasons = "\n".join(f"• {messages.escape(line)}" for line in failed)
            text = f"❌ *Undo failed*; nothing was changed:\n{reasons}"
            await conversation.tell(messages.Message("Undo failed; nothing was changed.", [messages.section(text)]))
            return
        notes = []
        if done:
            notes.append(
                f"↩️ Undone by <@{clicker}>" + (f" for {len(done)} of {len(payload['raws'])}" if queued else "")
            )
        if queued:
            notes.append(
                f"⏳ Undo by <@{clicker}> queued for {messages.escape(', '.join(queued))}: SegMetrics is not "
                "answering; it will be retried and confirmed here"
            )
        if failed:
            notes.append("not undone for " + "; ".join(messages.escape(line) for line in failed))
        await mark("; ".join(notes))
