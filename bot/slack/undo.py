"""Undo, on the confirmation of every operation that declares an inverse (tag add ↔ tag remove).

The button carries its own ticket (the inverse operation, the input as sent, who did it, until when), so
an Undo still works after the bot restarts. Slack signs the interaction that brings it back, so the value
cannot be forged by a user. Valid for 10 minutes, for the person who made the change or a workspace admin.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from bot.operation import Operation
from bot.problems import InputError
from bot.segmetrics.errors import SegMetricsError
from bot.slack import messages
from bot.slack.replies import Conversation

log = logging.getLogger("segmetrics_slack.undo")

UNDO_ACTION = "undo"
UNDO_BLOCK = "undo_actions"
UNDO_WINDOW = 600
VALUE_LIMIT = 2000


@dataclass(frozen=True)
class Ticket:
    """What an Undo button will do: run `operation` on each raw input, if `by` (or an admin) asks in time."""

    operation: str
    raws: tuple[Mapping[str, str], ...]
    by: str
    until: float

    def encode(self) -> str | None:
        """The button value, or None when it would not fit Slack's 2,000 characters."""
        value = json.dumps(
            {"op": self.operation, "raws": list(self.raws), "by": self.by, "until": int(self.until)},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return value if len(value) <= VALUE_LIMIT else None

    @classmethod
    def decode(cls, value: str | None) -> Ticket | None:
        try:
            data = json.loads(value or "")
            return cls(str(data["op"]), tuple(dict(raw) for raw in data["raws"]), str(data["by"]), float(data["until"]))
        except (ValueError, KeyError, TypeError):
            return None


def ticket_for(
    inverse: Operation, raws: Sequence[Mapping[str, str]], by: str, *, now: float | None = None
) -> str | None:
    return Ticket(inverse.name, tuple(raws), by, (now or time.time()) + UNDO_WINDOW).encode()


class Undo:
    """Handles clicks on Undo buttons."""

    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): its runner, users and jobs.
        self.surface = surface

    async def on_action(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        action = next((item for item in body.get("actions") or [] if item.get("action_id") == UNDO_ACTION), {})
        self.surface.jobs.spawn(self._undo(body, action.get("value")), name="undo")

    async def _undo(self, body: Mapping[str, Any], value: str | None) -> None:
        clicker = str((body.get("user") or {}).get("id"))
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        conversation = Conversation(
            self.surface.client, clicker, channel_id=channel, response_url=body.get("response_url")
        )
        ticket = Ticket.decode(value)
        resource, _, verb = (ticket.operation if ticket else "").partition(" ")
        op = self.surface.runner.registry.find(resource, verb) if ticket else None
        if ticket is None or op is None:
            await conversation.tell(messages.notice("❌ This Undo button cannot be read; nothing was changed."))
            return
        if time.time() > ticket.until:
            await conversation.tell(
                messages.notice("❌ Undo is possible for 10 minutes after a change; this one is older.")
            )
            return
        if clicker != ticket.by and not await self.surface.users.is_admin(clicker):
            text = f"❌ Only <@{ticket.by}> or a workspace admin can undo this."
            await conversation.tell(messages.Message(text, [messages.section(text)]))
            return
        ctx = self.surface.runner.context(await self.surface.users.zone(clicker))
        failed = []
        for raw in ticket.raws:
            try:
                await self.surface.runner.run(op, raw, ctx)
            except (InputError, SegMetricsError) as error:
                failed.append((raw.get("email") or raw.get("contact_id") or "?", str(error)))
        await self._mark_undone(body, conversation, clicker, failed)

    async def _mark_undone(
        self, body: Mapping[str, Any], conversation: Conversation, clicker: str, failed: list[tuple[str, str]]
    ) -> None:
        original = [
            block for block in (body.get("message") or {}).get("blocks") or [] if block.get("block_id") != UNDO_BLOCK
        ]
        note = f"↩️ Undone by <@{clicker}>" if not failed else f"↩️ Partly undone by <@{clicker}>"
        lines = [note] + [f"❌ {messages.escape(who)}: {messages.escape(why)}" for who, why in failed]
        context = ContextBlock(elements=[MarkdownTextObject(text="\n".join(lines)[:2000])]).to_dict()
        text = (body.get("message") or {}).get("text") or "Undone"
        updated = messages.Message(f"{text} (undone)", [*original, context])
        message_ts = (body.get("container") or {}).get("message_ts")
        if conversation.channel_id and message_ts:
            try:
                await self.surface.client.chat_update(
                    channel=conversation.channel_id, ts=message_ts, text=updated.text, blocks=updated.blocks
                )
                return
            except SlackApiError as error:
                log.info(
                    "chat.update of the confirmation failed (%s); using the response_url", error.response.get("error")
                )
        if not await conversation.replace(updated):
            await conversation.tell(messages.Message(note, [context]))
