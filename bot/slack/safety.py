"""The gatekeeping around operations: who may run them, confirmation before destroying, and the buttons
that come back later (Undo, Restore, Edit and retry), each backed by a ticket in the database.

A button's value is only a ticket id (random, unguessable); the ticket holds what to do, for whom, and
until when. A click is claimed once: a double click, or Slack delivering it twice, acts once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.operation import Operation
from bot.policy import Decision
from bot.problems import InputError
from bot.runner import Outcome
from bot.segmetrics.errors import SegMetricsError
from bot.slack import messages
from bot.slack.cards import edit_raw
from bot.slack.replies import Conversation
from bot.slack.work import RETRY_TTL, UNDO_TTL, Failure, Work

log = logging.getLogger("segmetrics_slack.safety")

CONFIRM, CANCEL = "confirm_run", "confirm_cancel"
RESTORE, RETRY = messages.RESTORE_ACTION, messages.RETRY_ACTION
CONFIRM_TTL = timedelta(minutes=30)


def click(body: Mapping[str, Any], action_id: str) -> tuple[str, str]:
    """(who clicked, the button's ticket id) from a block_actions payload."""
    action = next((item for item in body.get("actions") or [] if item.get("action_id") == action_id), {})
    return str((body.get("user") or {}).get("id")), str(action.get("value") or "")


class Safety:
    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): runner, client, users, store, policy, groups, jobs.
        self.surface = surface

    # -- who may ---------------------------------------------------------------------------------

    def decide(self, op: Operation, work: Work) -> Decision:
        """The policy's decision, before any acknowledgement (group members are cached); refusals are audited."""
        decision = self.surface.policy.decide(
            op,
            work.user,
            channel_id=work.channel_id,
            channel_name=work.channel_name,
            members=self.surface.groups.members,
            connection=work.connection,
        )
        if decision.allowed and work.execution:  # a workflow step: `[steps]` too
            decision = self.surface.policy.decide_step(op, work.user, members=self.surface.groups.members)
        if not decision.allowed:
            self.surface.executor.audit(work, "refused", detail=decision.rule)
        return decision

    @staticmethod
    def refusal(decision: Decision) -> messages.Message:
        # The decision's words are ours and the operator's policy file's: trusted, mentions included.
        text = f"⛔ {decision.message}"
        return messages.Message(decision.message, [messages.section(text)])

    async def is_admin(self, user: str) -> bool:
        """A bot admin (SEGMETRICS_BOT_ADMINS) or a workspace admin."""
        return self.surface.policy.is_admin(user, self.surface.groups.members) or await self.surface.users.is_admin(
            user
        )

    async def _ticket(self, kind: str, payload: Mapping[str, Any], ttl: timedelta) -> str:
        store = self.surface.store
        return await store.call(store.store.put_ticket, kind, payload, ttl)

    async def _read(self, kind: str, ticket: str) -> tuple[Mapping[str, Any], bool] | None:
        store = self.surface.store
        return await store.call(store.store.ticket, ticket, kind)

    async def redeem(
        self, kind: str, ticket: str, clicker: str, conversation: Conversation, *, admins: bool, expired: str
    ) -> Mapping[str, Any] | None:
        """The one check of every button backed by a ticket: the ticket exists and is still valid, and the
        clicker is the person it belongs to (or, with `admins`, an admin). Otherwise the clicker alone is
        told why, and None is returned: nothing is done."""
        found = await self._read(kind, ticket)
        if found is None or not found[1]:
            await conversation.tell(messages.notice(expired))
            return None
        payload, _ = found
        owner = str(payload.get("by") or (payload.get("work") or {}).get("user"))
        if clicker != owner and not (admins and await self.is_admin(clicker)):
            who = f"<@{owner}> or an admin" if admins else f"<@{owner}>, who asked for it,"
            text = f"❌ Only {who} can use this button; nothing was done."
            await conversation.tell(messages.Message(text, [messages.section(text)]))
            return None
        return payload

    async def _claim(self, key: str) -> bool:
        store = self.surface.store
        return await store.call(store.store.claim, key)

    # -- confirm before destroying ----------------------------------------------------------------

    async def ask(self, op: Operation, raw: dict[str, Any], data: Any, work: Work) -> None:
        """Show what is about to be destroyed, only to the person who asked, with Delete and Cancel."""
        conversation = self.surface.conversation(work.user, work.origin)
        lines = await self._what_goes(op, raw, data, work)
        if lines is None:
            return
        ticket = await self._ticket("confirm", {"op": op.name, "raw": raw, "work": work.as_dict()}, CONFIRM_TTL)
        verb = "Remove" if op.verb == "remove" else "Delete"
        buttons = ActionsBlock(
            block_id="confirm_actions",
            elements=[
                ButtonElement(text=verb, action_id=CONFIRM, value=ticket, style="danger"),
                ButtonElement(text="Cancel", action_id=CANCEL, value=ticket),
            ],
        )
        text = "\n".join(lines)
        # The notification text is the first line as written for Slack: its values are escaped once, there.
        await conversation.tell(messages.Message(lines[0], [messages.section(text), buttons.to_dict()]))
        log.info("%s awaits confirmation", op.name)

    async def _what_goes(self, op: Operation, raw: dict[str, Any], data: Any, work: Work) -> list[str] | None:
        habits = await self.surface.users.habits(work.user)
        try:
            ctx = self.surface.runner.context(habits, connection=work.connection, fingerprint=work.fingerprint)
        except InputError as error:  # its connection was removed or changed a moment ago
            await self.surface.conversation(work.user, work.origin).tell(
                messages.input_problems(error, typed=work.typed)
            )
            return None
        reader = self.surface.runner.registry.reader(op)
        if reader is not None:
            try:
                outcome = await self.surface.runner.execute(reader, data, ctx)
            except SegMetricsError as error:
                text = f"❌ Could not look the contact up before deleting it: {error}. Nothing was deleted."
                await self.surface.conversation(work.user, work.origin).tell(messages.notice(text, typed=work.typed))
                return None
            if not outcome.found:
                await self.surface.conversation(work.user, work.origin).tell(
                    messages.notice(f"ℹ️ {outcome.summary.headline} Nothing to delete.")
                )
                return None
            facts = {fact.label: fact.value for fact in outcome.summary.facts}
            name = facts.get("Name", "")
            email, contact_id = facts.get("E-mail", ""), facts.get("Contact ID", "")
            lines = [
                f"⚠️ *Delete contact {messages.escape(name if name != '(no name)' else data.contact)}?*",
                f"• E-mail: {messages.escape(email)} · Contact ID: {messages.escape(contact_id)}",
                f"• Tags: {messages.escape(facts.get('Tags', '(none)'))}",
                f"• Orders: {messages.escape(facts.get('Orders', '0'))}; orders are not deleted with the contact",
                "Deleting is permanent (Restore is offered for 10 minutes).",
            ]
            if "contact_id" not in raw:
                everyone = f"Every contact with the e-mail {data.contact} in this integration will be deleted."
                lines.append(f"*{messages.escape(everyone)}*")
            return lines
        headline = op.fill(op.done, data, ctx)
        if op.verb == "remove":
            return [f"⚠️ *Remove {len(data.tags)} tags from {messages.escape(data.contact)}?*",
                    f"• {messages.escape(op.param('tags').kind.describe(data.tags, ctx))}"]  # fmt: skip
        return [f"⚠️ *{messages.escape(op.title)}?* This will have {messages.escape(headline)}.",
                "Deleting is permanent."]  # fmt: skip

    async def on_confirm(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        user, ticket = click(body, CONFIRM)
        conversation = Conversation(self.surface.client, user, response_url=body.get("response_url"))
        self.surface.jobs.spawn(
            self.surface.guarded(conversation, self._confirmed(user, ticket, conversation)), name="confirm"
        )

    async def _confirmed(self, user: str, ticket: str, conversation: Conversation) -> None:
        expired = "This confirmation has expired; nothing was deleted. Run the command again."
        payload = await self.redeem("confirm", ticket, user, conversation, admins=False, expired=expired)
        if payload is None:
            return
        work = Work.from_dict(dict(payload["work"]))
        if not await self._claim(f"confirm:{ticket}"):
            return  # a double click: already running
        op = self.surface.runner.registry[payload["op"]]
        decision = self.decide(op, work)
        if not decision.allowed:
            await conversation.replace(self.refusal(decision))
            return
        await conversation.replace(messages.notice(f"⏳ {op.title}…"))
        outcome = await self.surface.executor.start(op, dict(payload["raw"]), work, key=f"confirmed:{ticket}")
        if isinstance(outcome, Outcome):
            text = f"✅ {outcome.summary.headline[:1].upper()}{outcome.summary.headline[1:]}"
        elif isinstance(outcome, Failure) and outcome.queued:
            text = "⏳ Queued: SegMetrics is not answering; you will be told when it goes through"
        else:
            text = "❌ Not done; see the message about it"
        await conversation.replace(messages.notice(f"{text}."))

    async def on_cancel(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        user, ticket = click(body, CANCEL)
        conversation = Conversation(self.surface.client, user, response_url=body.get("response_url"))

        async def cancel() -> None:
            expired = "This confirmation has expired; nothing will be deleted."
            payload = await self.redeem("confirm", ticket, user, conversation, admins=False, expired=expired)
            if payload is None:
                return
            if not await self._claim(f"confirm:{ticket}"):
                # Delete was clicked first: that is under way, whatever this click says.
                await conversation.tell(messages.notice("Too late to cancel: it is already being done."))
                return
            self.surface.executor.audit(Work.from_dict(dict(payload["work"])), "cancelled")
            await conversation.replace(messages.notice("Cancelled: nothing was deleted."))

        self.surface.jobs.spawn(self.surface.guarded(conversation, cancel()), name="cancel")

    # -- Undo --------------------------------------------------------------------------------------

    async def undo_ticket(self, inverse: Operation, raws: Sequence[Mapping[str, str]], work: Work) -> str:
        # Undone through the connection the change went through.
        payload = {
            "op": inverse.name,
            "raws": [dict(raw) for raw in raws],
            "by": work.user,
            "via": work.connection,
            "fp": work.fingerprint,
        }
        return await self._ticket("undo", payload, UNDO_TTL)

    async def claim(self, key: str) -> bool:
        return await self._claim(key)

    # -- Restore a deleted contact ------------------------------------------------------------------

    async def restore_ticket(self, snapshot: Mapping[str, Any], work: Work) -> str:
        return await self._ticket("restore", {"snapshot": dict(snapshot), "work": work.as_dict()}, UNDO_TTL)

    async def on_restore(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        user, ticket = click(body, RESTORE)
        channel = (body.get("channel") or {}).get("id")
        conversation = Conversation(
            self.surface.client, user, channel_id=channel, response_url=body.get("response_url")
        )
        work = self._restore(user, ticket, conversation, body)
        self.surface.jobs.spawn(self.surface.guarded(conversation, work), name="restore")

    async def _restore(self, user: str, ticket: str, conversation: Conversation, body: Mapping[str, Any]) -> None:
        expired = "❌ Restore is possible for 10 minutes after a delete; this one is older."
        payload = await self.redeem("restore", ticket, user, conversation, admins=True, expired=expired)
        if payload is None:
            return
        deleted_by = Work.from_dict(dict(payload["work"]))
        op = self.surface.runner.registry["contact add"]
        work = replace(deleted_by, operation=op.name, user=user, response_url=body.get("response_url"), typed=None)
        decision = self.decide(op, work)
        if not decision.allowed:
            await conversation.tell(self.refusal(decision))
            return
        if not await self._claim(f"restore:{ticket}"):
            return
        link = self.surface.runner.links.get(work.connection or "default")
        if link is None:
            text = f"❌ The connection `{work.connection}` no longer exists, so the contact cannot be restored there."
            await conversation.tell(messages.notice(text))
            return
        raw = restore_raw(payload["snapshot"], link.api_zone)
        outcome = await self.surface.executor.start(op, raw, work, key=f"restored:{ticket}")
        if isinstance(outcome, Outcome):
            await self.surface.mark(body, f"♻️ Restored by <@{user}>")

    # -- Edit and retry ----------------------------------------------------------------------------

    async def retry_ticket(self, op: Operation, raw: Mapping[str, Any], work: Work) -> str:
        return await self._ticket("retry", {"op": op.name, "raw": dict(raw), "work": work.as_dict()}, RETRY_TTL)

    async def on_retry(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        user, ticket = click(body, RETRY)
        trigger = str(body.get("trigger_id"))
        conversation = Conversation(self.surface.client, user, response_url=body.get("response_url"))

        async def reopen() -> None:
            expired = "This form is too old to reopen; run the command again."
            # Only its owner: the form is prefilled with what they typed.
            payload = await self.redeem("retry", ticket, user, conversation, admins=False, expired=expired)
            if payload is None:
                return
            work = Work.from_dict(dict(payload["work"]))
            op = self.surface.runner.registry[payload["op"]]
            self.surface.open_form(trigger, op, dict(payload["raw"]), user, work.origin)

        self.surface.jobs.spawn(self.surface.guarded(conversation, reopen()), name="edit and retry")


def restore_raw(snapshot: Mapping[str, Any], api_zone: Any) -> dict[str, Any]:
    """A deleted contact's snapshot as the contact form's raw values: fields, custom fields, tags, and its
    creation date (written in the API's zone, so given with that zone)."""
    raw: dict[str, Any] = dict(edit_raw(snapshot))
    created = snapshot.get("date_created")
    if created:
        try:
            moment = datetime.fromisoformat(str(created))
        except ValueError:
            moment = None
        if moment is not None:
            raw["date_created"] = (moment if moment.tzinfo else moment.replace(tzinfo=api_zone)).isoformat()
    return raw
