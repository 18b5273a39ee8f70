"""Contact cards: `contact show` as a card only the asker sees, with buttons to act on the contact.

Add tag / Add order / Edit open the operation's form prefilled with the contact; Delete asks Slack's own
confirmation first; Share in channel posts the card for everyone. A contact SegMetrics does not know gets
a button to add it. Buttons carry only the contact's key; what they show is looked up again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
)

from bot.connections import DEFAULT
from bot.operation import Fact
from bot.runner import Outcome
from bot.segmetrics.errors import SegMetricsError
from bot.slack import messages, modals

log = logging.getLogger("segmetrics_slack.cards")

ACTION_PREFIX = "card_"
SHOW = "contact show"
# The Reporting fields an Edit form is prefilled with (dates are left out: they come back in the API's
# zone and would be re-read in the user's).
EDITABLE = (
    "email", "contact_id", "first_name", "last_name", "status", "utm_source", "utm_medium", "utm_campaign",
    "utm_content", "utm_term", "referring_url", "optin_url", "ip_address", "affiliate_id", "geo_lat", "geo_lon",
)  # fmt: skip


def _key(data: Mapping[str, Any]) -> dict[str, str]:
    """The contact's key for the buttons: its id when SegMetrics gave one, and its e-mail."""
    return {name: str(data[name]) for name in ("contact_id", "email") if data.get(name)}


def _button(text: str, action: str, key: Mapping[str, str], **options: Any) -> ButtonElement:
    # The key, and the connection the card was looked up through (`via`), so its buttons act through it too.
    return ButtonElement(text=text, action_id=f"{ACTION_PREFIX}{action}", value=json.dumps(key), **options)


def card(outcome: Outcome, user_id: str, *, actions: bool = True, shared_by: str | None = None) -> messages.Message:
    """The contact card (or, for a contact SegMetrics does not know, a message offering to add it)."""
    key = {name: value for name in ("contact_id", "email") if (value := getattr(outcome.input, name, None))}
    # Its buttons act through the connection it was read through, as it was then (see `Cards.on_action`).
    via = {"via": outcome.connection, "fp": outcome.fingerprint}
    if not outcome.found:
        text = f"ℹ️ {messages.escape(outcome.summary.headline)}"
        blocks = [
            messages.section(text),
            ActionsBlock(elements=[_button("Add contact", "add_contact", {**key, **via})]).to_dict(),
        ]
        return messages.Message(messages.escape(outcome.summary.headline), blocks)
    data = (outcome.response.body or {}).get("data") or {} if outcome.response else {}
    key = _key(data) or key
    facts: list[Fact] = list(outcome.summary.facts)
    title = next((fact.value for fact in facts if fact.label == "Name" and fact.value != "(no name)"), None)
    title = title or data.get("email") or outcome.input.contact
    blocks: list[dict[str, Any]] = [HeaderBlock(text=PlainTextObject(text=str(title)[:150])).to_dict()]
    blocks += [block.to_dict() for block in messages.fields(facts)]
    notes = [f"Shared by <@{shared_by}>"] if shared_by else []
    if outcome.via:
        notes.append(f"via {messages.escape(outcome.via)}")
    if outcome.sandbox:
        notes.append(messages.SANDBOX_BADGE)
    blocks += [block.to_dict() for block in messages.context(notes)]
    if actions:
        blocks.append(_actions(key, via).to_dict())
    return messages.Message(f"Contact {messages.escape(str(title))}", blocks)


def _actions(key: Mapping[str, str], via: Mapping[str, str] | None = None) -> ActionsBlock:
    by_email = "contact_id" not in key
    warning = "Deleting is permanent; the contact's orders stay."
    if by_email:
        # Slack allows 300 characters in a confirm dialog.
        warning += f" Every contact with the e-mail {str(key.get('email'))[:120]} in this integration is removed."
    confirm = ConfirmObject(
        title="Delete this contact?",
        text=MarkdownTextObject(text=messages.escape(warning)),
        confirm="Delete",
        deny="Keep it",
        style="danger",
    )
    key = {**key, **(via or {})}
    return ActionsBlock(
        block_id="card_actions",
        elements=[
            _button("Add tag", "add_tag", key),
            _button("Add order", "add_order", key),
            _button("Edit", "edit", key),
            _button("Share in channel", "share", key),
            _button("Delete", "delete", key, style="danger", confirm=confirm),
        ],
    )


def edit_raw(data: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """A Reporting API contact as the raw values of the contact form."""
    raw: dict[str, str | list[str]] = {name: str(data[name]) for name in EDITABLE if data.get(name) not in (None, "")}
    tags = [tag.get("name") or f"id:{tag.get('tag_id')}" for tag in data.get("tags") or []]
    if tags:
        raw["tags"] = [", ".join(tags)]
    custom = data.get("custom_fields") or {}
    if custom:
        raw["custom_fields"] = [f"{name} = {value}" for name, value in custom.items() if value is not None]
    return raw


class Cards:
    """Renders `contact show` and handles the card's buttons."""

    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): its runner, client, users and jobs.
        self.surface = surface
        surface.renderers[SHOW] = lambda outcome, user: card(outcome, user)

    async def on_action(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        action = next(
            (item for item in body.get("actions") or [] if item.get("action_id", "").startswith(ACTION_PREFIX)), {}
        )
        name = str(action.get("action_id", "")).removeprefix(ACTION_PREFIX)
        try:
            value = json.loads(action.get("value") or "{}")
            key = {k: str(v) for k, v in value.items() if k in ("email", "contact_id")}
            # A card from before connections went through `default`: never routed afresh.
            via, fingerprint = str(value.get("via") or DEFAULT), str(value.get("fp") or "") or None
        except (ValueError, AttributeError):
            key, via, fingerprint = {}, DEFAULT, None
        user = str((body.get("user") or {}).get("id"))
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        origin = modals.Origin(
            channel_id=channel,
            response_url=body.get("response_url"),
            channel_name=(body.get("channel") or {}).get("name"),
            connection=via,
            fingerprint=fingerprint,
        )
        # One delete per card, however often Delete is clicked or delivered.
        delete_key = f"card-delete:{channel}:{(body.get('container') or {}).get('message_ts')}:{action.get('value')}"
        trigger = str(body.get("trigger_id"))
        connection = self.surface.runner.connections.get(via)
        if connection is None or (fingerprint and connection.fingerprint != fingerprint):
            what = "no longer exists" if connection is None else "was changed since"
            text = f"❌ The connection `{via}` this card was read through {what}. Look the contact up again."
            conversation = self.surface.conversation(user, origin)
            self.surface.jobs.spawn(
                self.surface.guarded(conversation, conversation.tell(messages.notice(text))), name="card"
            )
            return
        forms = {"add_tag": "tag add", "add_order": "order add", "add_contact": "contact add"}
        if name in forms:
            self.surface.open_form(trigger, self.surface.runner.registry[forms[name]], key, user, origin)
        else:
            jobs = {
                "edit": lambda: self._edit(trigger, key, user, origin),
                "delete": lambda: self._delete(key, user, origin, delete_key),
                "share": lambda: self._share(key, user, origin),
            }
            if name in jobs:
                guarded = self.surface.guarded(self.surface.conversation(user, origin), jobs[name]())
                self.surface.jobs.spawn(guarded, name=f"card {name}")

    async def _look_up(self, key: Mapping[str, str], user: str, origin: modals.Origin) -> Outcome:
        ctx = self.surface.runner.context(
            await self.surface.users.habits(user), connection=origin.connection, fingerprint=origin.fingerprint
        )
        return await self.surface.runner.run(self.surface.runner.registry[SHOW], key, ctx)

    async def _edit(self, trigger: str, key: Mapping[str, str], user: str, origin: modals.Origin) -> None:
        op = self.surface.runner.registry["contact add"]
        try:
            opened = await self.surface.client.views_open(trigger_id=trigger, view=modals.loading_view(op.title))
        except SlackApiError as error:
            log.warning("views.open for the edit form failed: %s", error.response.get("error"))
            return
        view_id = (opened.get("view") or {}).get("id")
        try:
            outcome = await self._look_up(key, user, origin)
            data = (outcome.response.body or {}).get("data") or {} if outcome.found and outcome.response else {}
            raw: dict[str, str | list[str]] = edit_raw(data) if data else dict(key)
            notice = None if data else "SegMetrics has no such contact any more: this adds it again."
        except SegMetricsError as error:
            raw, notice = dict(key), f"Could not load the contact ({error}); its current values are not shown."
        # A value too long for a form is left out (and so left unchanged), never cut: cutting the
        # tags would replace them with fewer.
        too_long = modals.too_long_to_prefill(op, raw)
        if too_long:
            raw = {name: value for name, value in raw.items() if op.param(name).title not in too_long}
            notice = f"{', '.join(too_long)}: too long to edit here, left as they are. {notice or ''}".strip()
        ctx = self.surface.runner.context(
            self.surface.users.cached_habits(user), connection=origin.connection, fingerprint=origin.fingerprint
        )
        view = self.surface.form(op, raw, ctx, origin, notice=notice)
        try:
            await self.surface.client.views_update(view_id=view_id, view=view)
        except SlackApiError as error:  # the user closed the loading view meanwhile
            log.info("views.update of the edit form failed: %s", error.response.get("error"))

    async def _delete(self, key: Mapping[str, str], user: str, origin: modals.Origin, delete_key: str) -> None:
        """Slack's confirm dialog (on the button) was the confirmation; the policy still decides."""
        op = self.surface.runner.registry["contact delete"]
        # Delete by id when the card had one: by e-mail would remove every contact with that e-mail.
        raw = {"contact_id": key["contact_id"]} if "contact_id" in key else dict(key)
        work = self.surface.work(op, user, origin, typed=f"/segmetrics contact delete {next(iter(raw.values()))}")
        decision = self.surface.safety.decide(op, work)
        if not decision.allowed:
            await self.surface.conversation(user, origin).tell(self.surface.safety.refusal(decision))
            return
        outcome = await self.surface.executor.start(op, raw, work, key=delete_key)
        if outcome is None:  # a second click (or a redelivery): the first one does it and says so
            text = "ℹ️ Delete was already clicked on this card; see the confirmation in the channel."
            await self.surface.conversation(user, origin).tell(messages.notice(text))
        elif isinstance(outcome, Outcome) and outcome.found:
            done = f"🗑️ {messages.escape(outcome.summary.headline[:1].upper() + outcome.summary.headline[1:])}."
            await self.surface.conversation(user, origin).replace(messages.Message(done, [messages.section(done)]))

    async def _share(self, key: Mapping[str, str], user: str, origin: modals.Origin) -> None:
        conversation = self.surface.conversation(user, origin)
        try:
            outcome = await self._look_up(key, user, origin)
        except SegMetricsError as error:
            await conversation.tell(messages.notice(f"❌ Could not load the contact to share it: {error}"))
            return
        if not outcome.found:
            await conversation.tell(messages.notice(f"ℹ️ {outcome.summary.headline} Nothing was shared."))
            return
        shared = card(outcome, user, actions=False, shared_by=user)
        # Posted as a new message for everyone; the asker's own card stays as it is.
        await self.surface.deliver(conversation, shared, what="shared the contact card")
