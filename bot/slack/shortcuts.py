"""Shortcuts: act on the contacts a message mentions, in two clicks; and global shortcuts to any form.

- "Tag contacts in message" (`tag_contacts_from_message`): a form with every address in the message
  preselected (drop some, add others) and the tags to add; each contact is tagged separately and the
  confirmation, naming each contact and each failure, goes in the message's thread.
- "Add contact from message" (`contact_from_message`): the contact form, prefilled with the first
  address and any name next to it.
- Global shortcuts open the form of the operation that declares them; it asks where to post.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.chat import email_without_at, looks_like_email
from bot.operation import Operation
from bot.problems import InputError, InvalidValue
from bot.runner import Outcome
from bot.slack import messages, modals
from bot.slack.addresses import find_contacts
from bot.slack.work import Failure, Work

TAG_FROM_MESSAGE = "tag_contacts_from_message"
CONTACT_FROM_MESSAGE = "contact_from_message"
TAG_CONTACTS_VIEW = "tag_contacts"
CONTACTS_BLOCK, MORE_BLOCK = "contacts", "more_contacts"
OPTION_VALUE_LIMIT = 150
MAX_CONTACTS = 100
BEYOND_TEXT_LIMIT = 2400
BATCH_CONCURRENCY = 5
NO_ADDRESS = "No e-mail address was found in this message: type the contact below."


@dataclass(frozen=True)
class MessageShortcut:
    callback_id: str
    name: str
    description: str


MESSAGE_SHORTCUTS = (
    MessageShortcut(TAG_FROM_MESSAGE, "Tag contacts in message", "Tag in SegMetrics every contact this message names"),
    MessageShortcut(
        CONTACT_FROM_MESSAGE, "Add contact from message", "Add the contact this message names to SegMetrics"
    ),
    # Handled by bot.slack.imports (its callback id is this one).
    MessageShortcut(
        "import_file_from_message", "Import this file", "Import the CSV this message carries into SegMetrics"
    ),
)


def _thread_origin(body: Mapping[str, Any]) -> modals.Origin:
    """Answers to a shortcut on a message go in that message's thread."""
    message = body.get("message") or {}
    channel = body.get("channel") or {}
    return modals.Origin(
        channel_id=channel.get("id"),
        response_url=body.get("response_url"),
        thread_ts=message.get("thread_ts") or message.get("ts") or body.get("message_ts"),
        channel_name=channel.get("name"),
    )


class Shortcuts:
    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): its runner, client, users and jobs.
        self.surface = surface

    # -- opening --------------------------------------------------------------------------------

    async def on_global(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        op = self.surface.runner.registry.by_shortcut(str(body.get("callback_id")))
        if op is None:
            return
        user = str((body.get("user") or {}).get("id"))
        self.surface.open_form(str(body.get("trigger_id")), op, {}, user, modals.Origin(ask_where=True))

    async def on_contact_from_message(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        found = find_contacts(body.get("message") or {})
        raw: dict[str, str] = {}
        if found:
            first = found[0]
            raw = {"email": first.email}
            raw.update(
                {
                    name: value
                    for name, value in (("first_name", first.first_name), ("last_name", first.last_name))
                    if value
                }
            )
        user = str((body.get("user") or {}).get("id"))
        notice = None if found else NO_ADDRESS
        self.surface.open_form(
            str(body.get("trigger_id")),
            self.surface.runner.registry["contact add"],
            raw,
            user,
            _thread_origin(body),
            notice=notice,
        )

    async def on_tag_from_message(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        user, origin = str((body.get("user") or {}).get("id")), _thread_origin(body)
        op = self.surface.runner.registry["tag add"]
        decision = self.surface.safety.decide(op, self.surface.work(op, user, origin))
        if not decision.allowed:
            conversation = self.surface.conversation(user, origin)
            self.surface.jobs.spawn(conversation.tell(self.surface.safety.refusal(decision)), name="refuse")
            return
        view = self._tag_view(find_contacts(body.get("message") or {}), user, origin)
        self.surface.jobs.spawn(
            self._open(str(body.get("trigger_id")), view, user, _thread_origin(body)), name="open form"
        )

    async def _open(self, trigger: str, view: dict[str, Any], user: str, origin: modals.Origin) -> None:
        try:
            await self.surface.client.views_open(trigger_id=trigger, view=view)
        except SlackApiError:
            text = "❌ Slack did not let the bot open the form in time. Nothing was sent to SegMetrics."
            await self.surface.conversation(user, origin).tell(messages.notice(text))

    def _tag_view(self, found: list[Any], user: str, origin: modals.Origin) -> dict[str, Any]:
        op = self.surface.runner.registry["tag add"]
        connection = self.surface.runner.route(op, channel_id=origin.channel_id, channel_name=origin.channel_name)
        ctx = self.surface.runner.context(self.surface.users.cached_habits(user), connection=connection)
        # Kept with the form: submitted, it goes where it was routed now (or where its Connection menu says).
        origin = replace(origin, connection=ctx.connection, fingerprint=ctx.fingerprint)
        fitting = [item for item in found if len(item.email) <= OPTION_VALUE_LIMIT]
        # A form holds at most MAX_CONTACTS: the rest are said, listed to copy, never silently dropped.
        selectable, beyond = fitting[:MAX_CONTACTS], [item.email for item in fitting[MAX_CONTACTS:]]
        leftover = [item.email for item in found if len(item.email) > OPTION_VALUE_LIMIT]
        intro = "Each contact is tagged separately; the confirmation goes in the message's thread."
        if not found:
            intro = f"{NO_ADDRESS}\n{intro}"
        if beyond:
            listed = _fit(beyond, BEYOND_TEXT_LIMIT)
            intro = (
                f"This message names {len(fitting):,} addresses; a form takes {MAX_CONTACTS} at a time, so the first "
                f"{MAX_CONTACTS} are listed. The other {len(beyond):,} are not tagged by this form: tag them in "
                f"another pass (paste them under Other contacts), or import them in bulk. They are: {listed}\n{intro}"
            )
        if self.surface.sandboxed(connection):
            intro += f"\n{messages.SANDBOX_BADGE}"
        blocks: list[Any] = [ContextBlock(elements=[MarkdownTextObject(text=messages.escape(intro))])]
        if selectable:
            options = [Option(value=item.email, text=_label(item)[:75]) for item in selectable]
            blocks.append(
                InputBlock(
                    block_id=CONTACTS_BLOCK,
                    label="Contacts in the message",
                    element=StaticMultiSelectElement(
                        action_id=modals.ACTION_ID,
                        placeholder="Choose contacts",
                        options=options,
                        initial_options=options,
                    ),
                    hint="Remove the ones not to tag.",
                    optional=True,
                )
            )
        blocks.append(
            InputBlock(
                block_id=MORE_BLOCK,
                label="Other contacts" if selectable else "Contacts",
                element=PlainTextInputElement(
                    action_id=modals.ACTION_ID,
                    placeholder=PlainTextObject(text="e.g. jane@example.com, 12345"),
                    initial_value=", ".join(leftover) or None,
                ),
                hint="E-mails or contact IDs, comma-separated.",
                optional=bool(selectable),
            )
        )
        tags = op.param("tags")
        blocks.append(modals.input_block(tags, None, ctx))  # the tag operation's own field
        names = self.surface.runner.connections.names
        if len(names) > 1:
            blocks.append(modals.via_block(names, connection))
        return View(
            type="modal",
            callback_id=TAG_CONTACTS_VIEW,
            title="Tag contacts",
            submit="Tag",
            close="Cancel",
            private_metadata=origin.dumps(self.surface.seal),
            blocks=blocks,
        ).to_dict()

    # -- submitting -----------------------------------------------------------------------------

    async def on_tag_submission(self, ack: Any, body: Mapping[str, Any]) -> None:
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        user = str((body.get("user") or {}).get("id"))
        chosen = modals.submitted_choices(values, CONTACTS_BLOCK)
        typed = [part for part in re.split(r"[\s,;]+", modals.submitted_text(values, MORE_BLOCK) or "") if part]
        contacts = list(dict.fromkeys(str(contact) for contact in [*chosen, *typed] if contact))
        tags = modals.submitted_text(values, "tags") or ""
        where = CONTACTS_BLOCK if CONTACTS_BLOCK in values else MORE_BLOCK
        op = self.surface.runner.registry["tag add"]
        origin = modals.Origin.loads(view.get("private_metadata"), self.surface.seal)
        try:
            work = self.surface.work(
                op, user, origin, team=(body.get("team") or {}).get("id"), via=modals.read_via(values)
            )
            ctx = self.surface.runner.context(
                self.surface.users.cached_habits(user), connection=work.connection, fingerprint=work.fingerprint
            )
        except (InvalidValue, InputError) as error:  # removed or changed by an admin while the form was open
            problem = error.message if isinstance(error, InvalidValue) else error.errors[0].inline
            block = modals.VIA_BLOCK if modals.VIA_BLOCK in values else where
            await ack(response_action="errors", errors={block: problem})
            return
        errors: dict[str, str] = {}
        if not contacts:
            errors[where] = "Choose or type at least one contact."
        elif len(contacts) > MAX_CONTACTS:
            errors[where] = f"That is {len(contacts)} contacts; tag at most {MAX_CONTACTS} at once."
        lost_at = next((contact for contact in typed if "@" not in contact and looks_like_email(contact)), None)
        if lost_at:
            errors[MORE_BLOCK] = email_without_at(lost_at)
        raws = [{("email" if "@" in contact else "contact_id"): contact, "tags": [tags]} for contact in contacts]
        bad_contacts = []
        # With no contact chosen, the tags are still checked, so every problem shows at once.
        for raw in raws or [{"contact_id": "any", "tags": [tags]}]:
            try:
                op.validate(raw, ctx)
            except InputError as error:
                for problem in error.errors:
                    if problem.field == "tags":
                        errors["tags"] = problem.inline
                    else:
                        bad_contacts.append(f"{raw.get('email') or raw.get('contact_id')}: {problem.problem}")
        if bad_contacts:
            errors[MORE_BLOCK if MORE_BLOCK in values else where] = "; ".join(bad_contacts)[:1900]
        decision = self.surface.safety.decide(op, work)
        if not decision.allowed:
            errors = {where: decision.message.replace("*", "")}
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        job = self.tag_all(op, raws, work, f"view:{view.get('id')}")
        self.surface.jobs.spawn(self.surface.guarded(self.surface.conversation(user, origin), job), name="tag contacts")

    async def tag_all(self, op: Operation, raws: list[dict[str, Any]], work: Work, key: str) -> Tagged | None:
        """Tag each contact on its own (one refusal never blocks the others), journaled under `key` (a form's,
        a reaction's), then one confirmation naming everyone, with Undo. None when `key` was handled before."""
        executor = self.surface.executor
        # A few at a time: a long list must not take every SegMetrics connection from everyone else.
        slots = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def tag(raw: dict[str, Any]) -> tuple[str, Outcome | Failure | None]:
            who = str(raw.get("email") or raw.get("contact_id"))
            async with slots:
                return who, await executor.start(op, raw, work, key=f"{key}:{who}", quiet=True)

        results = await asyncio.gather(*(tag(raw) for raw in raws))
        if all(outcome is None for _, outcome in results):
            return None  # this form was already handled (submitted twice)
        done = [(who, outcome) for who, outcome in results if isinstance(outcome, Outcome)]
        failed = [(who, outcome.reason) for who, outcome in results if isinstance(outcome, Failure)]
        ctx = self.surface.runner.context(
            await self.surface.users.habits(work.user), connection=work.connection, fingerprint=work.fingerprint
        )
        inverse = self.surface.runner.registry.inverse(op)
        undo = None
        if inverse is not None and done:
            undo = await self.surface.safety.undo_ticket(
                inverse, [op.raw_of(outcome.input, ctx) for _, outcome in done], work
            )
        tag_names = op.param("tags").kind.describe(done[0][1].input.tags, ctx) if done else ""
        message = messages.batch_confirmation(
            user_id=work.user,
            verb="tagged",
            what=f"with {tag_names}",
            done=[who for who, _ in done],
            failed=failed,
            sandbox=self.surface.sandboxed(work.connection),
            undo=undo,
            via=work.connection if len(self.surface.runner.links) > 1 else None,
        )
        conversation = self.surface.conversation(work.user, work.origin)
        posted = await self.surface.deliver(conversation, message, what=f"tagged {len(done)} contacts")
        if done:
            await self.surface.audit_line(work, f"tagged {len(done)} contacts with {tag_names}", posted)
        return Tagged(undo, posted, message)


@dataclass(frozen=True)
class Tagged:
    """What tagging several contacts left: its Undo ticket, and its confirmation and where it was posted."""

    undo: str | None
    posted: tuple[str, str] | None
    message: messages.Message


def _label(found: Any) -> str:
    name = " ".join(part for part in (found.first_name, found.last_name) if part)
    return f"{name} <{found.email}>" if name else found.email


def _fit(addresses: list[str], limit: int) -> str:
    """As many addresses as fit in `limit` characters, then how many more."""
    shown: list[str] = []
    for index, address in enumerate(addresses):
        if sum(len(item) + 2 for item in shown) + len(address) > limit:
            return ", ".join(shown) + f" … and {len(addresses) - index:,} more"
        shown.append(address)
    return ", ".join(shown)
