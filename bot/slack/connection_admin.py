"""Connections managed in Slack, by admins only: listed in the App Home (key never shown, what each is the
default for, where it is declared), added and edited in a modal, tested with a harmless read, removed.

Keys typed here are kept encrypted in the bot's database (`bot.keyring`, a key from SEGMETRICS_BOT_SECRET_KEY);
without that setting adding is disabled and the App Home says why. A key never goes back into a view: the edit
form leaves it empty ("leave empty to keep the current key"). Connections of the environment and of the
SEGMETRICS_CONNECTIONS file are shown read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from pydantic import SecretStr
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    ConversationFilter,
    ConversationMultiSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.connections import (
    DEFAULT,
    NAME,
    NAME_RULE,
    AdminError,
    Connection,
    conflicts,
    id_problem,
    stored_connections,
)
from bot.keyring import Keyring
from bot.segmetrics.errors import AuthenticationFailed, NotFound, SegMetricsError, StatusError
from bot.slack import messages, modals
from bot.store import AuditEvent, StoredConnection

log = logging.getLogger("segmetrics_slack.connections")

ADD, EDIT, TEST, REMOVE = "connection_add", "connection_edit", "connection_test", "connection_remove"
ACTIONS = (ADD, EDIT, TEST, REMOVE)
FORM = "connection_form"
REFRESH_EVERY = 5.0
# Looked up by Test: a contact nobody has. A 404 means the key and the account were accepted.
PROBE = "segmetrics-slack-connection-test@example.invalid"
SOURCES = {
    "env": "from the environment (SEGMETRICS_API_KEY …)",
    "file": "from the connections file (SEGMETRICS_CONNECTIONS)",
    "sandbox": "the built-in sandbox",
    "slack": "added in Slack",
}
FIELDS = ("name", "api_key", "account_id", "integration_id", "timezone", "currency", "resources", "channels")


def _say(text: str) -> messages.Message:
    """A message of ours to one admin (what it quotes is escaped where it is written)."""
    return messages.Message(text, [messages.section(text)])


def mask(identifier: str) -> str:
    """`4821` → `••21`: enough to tell accounts apart in a screenshot, not to reuse."""
    return "•" * max(0, len(identifier) - 2) + identifier[-2:]


class ConnectionAdmin:
    """The App Home's connections, and their add/edit/test/remove flow."""

    def __init__(self, surface: Any, keyring: Keyring | None, versions: Mapping[str, datetime] | None = None) -> None:
        # The dispatcher (`SlackSurface`): its runner, client, users, store, safety and jobs.
        self.surface = surface
        self.keyring = keyring
        # Each stored connection's `updated_at` as this bot last read or wrote it: an edit replaces only that.
        self.versions: dict[str, datetime] = dict(versions or {})
        self._refreshing: asyncio.Task[None] | None = None
        # Set by the App Home: republish a user's home after a change.
        self.republish: Any = None

    # -- the App Home's part --------------------------------------------------------------------

    def home_blocks(self, admin: bool) -> list[Any]:
        """The connections: for admins each with its details and buttons; for others their names only."""
        connections = list(self.surface.runner.connections)
        if not admin:
            if len(connections) < 2:
                return []
            names = ", ".join(f"`{messages.escape(connection.name)}`" for connection in connections)
            text = f"Connections: {names}. Add `via=<name>` to a command to choose one; forms have a Connection menu."
            return [ContextBlock(elements=[MarkdownTextObject(text=text)])]
        blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text="*Connections* (only admins see this)"))]
        for connection in connections:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=self._describe(connection))))
            buttons = [ButtonElement(text="Test", action_id=TEST, value=connection.name)]
            if connection.editable:
                buttons.append(ButtonElement(text="Edit", action_id=EDIT, value=connection.name))
                confirm = ConfirmObject(
                    title="Remove this connection?",
                    text=MarkdownTextObject(
                        text=f"Work routed to `{messages.escape(connection.name)}` and still queued will not be sent."
                    ),
                    confirm="Remove",
                    deny="Keep it",
                    style="danger",
                )
                remove = ButtonElement(
                    text="Remove", action_id=REMOVE, value=connection.name, style="danger", confirm=confirm
                )
                buttons.append(remove)
            blocks.append(ActionsBlock(block_id=f"connection:{connection.name}", elements=buttons))
        if self.keyring is not None:
            blocks.append(ActionsBlock(elements=[ButtonElement(text="Add connection", action_id=ADD, value="add")]))
        else:
            text = (
                "Adding connections in Slack is off: it needs SEGMETRICS_BOT_SECRET_KEY where the bot runs (the key "
                "that encrypts their API keys in its database)."
            )
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=text)]))
        return blocks

    def _describe(self, connection: Connection) -> str:
        name = messages.escape(connection.name)
        lines = [
            f"*{name}* — {SOURCES[connection.source]}",
            f"account `{messages.escape(mask(connection.account_id))}`, integration "
            f"`{messages.escape(mask(connection.integration_id))}`, key {connection.masked_key()}",
            f"dates sent in {messages.escape(connection.timezone)}, amounts in {connection.currency}",
        ]
        default_for = connection.default_for()  # resource names, #names and channel mentions: ours
        if default_for:
            lines.append(f"default for {default_for}")
        elif connection.name == DEFAULT:
            lines.append("default for everything no other connection claims")
        else:
            lines.append(f"used only with `via={name}`")
        return "\n".join(lines)

    # -- buttons --------------------------------------------------------------------------------

    async def on_action(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        action = next((item for item in body.get("actions") or [] if item.get("action_id") in ACTIONS), {})
        user = str((body.get("user") or {}).get("id"))
        name = str(action.get("value") or "")
        job = self._act(str(action.get("action_id")), name, user, str(body.get("trigger_id")))
        conversation = self.surface.conversation(user, modals.Origin())
        self.surface.jobs.spawn(self.surface.guarded(conversation, job), name="connection admin")

    async def _act(self, action: str, name: str, user: str, trigger: str) -> None:
        conversation = self.surface.conversation(user, modals.Origin())
        if not await self.surface.safety.is_admin(user):
            self._audit(user, f"connection {action.removeprefix('connection_')}", name, "refused")
            await conversation.tell(_say("⛔ Only admins can see and change connections."))
            return
        connection = self.surface.runner.connections.get(name)
        if action == ADD:
            await self._open(trigger, None)
        elif connection is None:
            await conversation.tell(_say(f"ℹ️ There is no connection `{messages.escape(name)}` any more."))
        elif action == TEST:
            await conversation.tell(_say(await self._test(connection)))
        elif action == EDIT and connection.editable:
            await self._open(trigger, connection)
        elif action == REMOVE and connection.editable:
            await self._remove(connection, user)
            await conversation.tell(_say(f"🗑️ Removed the connection `{messages.escape(name)}`."))

    async def _test(self, connection: Connection) -> str:
        """A harmless read through the connection: the Reporting API's look-up of a contact nobody has."""
        name = f"`{messages.escape(connection.name)}`"
        client = self.surface.runner.link(connection.name).client
        try:
            await client.get_contact(PROBE)
        except NotFound:
            pass
        except AuthenticationFailed as error:
            return (
                f"❌ {name}: SegMetrics refused the API key for this account ({error.status_code}). Check the key and "
                "the account id."
            )
        except StatusError as error:
            return f"❌ {name}: SegMetrics answered {error.status_code} ({messages.escape(error.reason)})."
        except SegMetricsError as error:
            return f"❌ {name}: SegMetrics could not be reached ({messages.escape(error.reason)})."
        account = messages.escape(mask(connection.account_id))
        return (
            f"✅ {name} works: SegMetrics accepted its key for account `{account}`. "
            "(The integration id is only checked when data is sent: SegMetrics has no read call for it.)"
        )

    async def _remove(self, connection: Connection, user: str) -> None:
        store = self.surface.store
        await store.call(store.store.delete_connection, connection.name)
        self.versions.pop(connection.name, None)
        await self.surface.runner.remove_connection(connection.name)
        self._audit(user, "connection remove", connection.name, "removed")
        await self._republish(user)

    # -- the form -------------------------------------------------------------------------------

    async def _open(self, trigger: str, connection: Connection | None) -> None:
        try:
            await self.surface.client.views_open(trigger_id=trigger, view=self.form(connection))
        except Exception as error:
            log.warning("views.open for the connection form failed: %s", type(error).__name__)

    def form(self, connection: Connection | None, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        settings = self.surface.runner.settings
        resources = [resource.name for resource in self.surface.runner.registry.resources]
        blocks: list[Any] = []
        if connection is None:
            blocks.append(_text_input("name", "Name", "payments", hint=f"Lower case: {NAME_RULE.split(' is ', 1)[1]}."))
        blocks += [
            _text_input(
                "api_key",
                "API key",
                "SegMetrics › Settings › Account Settings",
                hint="Leave empty to keep the current key." if connection else "Stored encrypted; never shown again.",
                optional=connection is not None,
            ),
            _text_input("account_id", "Account id", "1234", initial=connection.account_id if connection else None),
            _text_input(
                "integration_id", "Integration id", "77", initial=connection.integration_id if connection else None
            ),
            _text_input(
                "timezone",
                "Time zone",
                settings.segmetrics_timezone,
                hint=f"The account's zone (IANA); empty: {settings.segmetrics_timezone}.",
                optional=True,
                initial=connection.timezone if connection else None,
            ),
            _text_input(
                "currency",
                "Currency",
                settings.segmetrics_currency,
                hint=f"ISO 4217 code; empty: {settings.segmetrics_currency}.",
                optional=True,
                initial=connection.currency if connection else None,
            ),
        ]
        options = [Option(value=name, text=name) for name in resources]
        chosen = [option for option in options if connection and option.value in connection.resources]
        blocks.append(
            InputBlock(
                block_id="resources",
                label="Default for",
                element=StaticMultiSelectElement(
                    action_id=modals.ACTION_ID, options=options, initial_options=chosen or None
                ),
                hint="Work on these goes through this connection unless a channel's connection or via= says otherwise.",
                optional=True,
            )
        )
        channels = [channel for channel in (connection.channels if connection else ()) if not channel.startswith("#")]
        blocks.append(
            InputBlock(
                block_id="channels",
                label="Default in channels",
                element=ConversationMultiSelectElement(
                    action_id=modals.ACTION_ID,
                    initial_conversations=channels or None,
                    filter=ConversationFilter(include=["public", "private"]),
                ),
                hint="Work typed in these channels goes through this connection unless via= says otherwise.",
                optional=True,
            )
        )
        title = f"Edit {connection.name}"[:24] if connection else "Add connection"
        metadata = self.surface.seal.close({"edit": connection.name} if connection else {})
        return View(
            type="modal",
            callback_id=FORM,
            title=PlainTextObject(text=title),
            submit=PlainTextObject(text="Save"),
            close=PlainTextObject(text="Cancel"),
            private_metadata=metadata,
            blocks=blocks,
        ).to_dict()

    async def on_submission(self, ack: Any, body: Mapping[str, Any]) -> None:
        view = body.get("view") or {}
        user = str((body.get("user") or {}).get("id"))
        values = (view.get("state") or {}).get("values") or {}
        editing = self.surface.seal.open(view.get("private_metadata")).get("edit")
        first = "api_key" if editing else "name"
        if not await self.surface.safety.is_admin(user):
            self._audit(user, "connection edit" if editing else "connection add", editing or "", "refused")
            await ack(response_action="errors", errors={first: "Only admins can add or change connections."})
            return
        if self.keyring is None:
            await ack(response_action="errors", errors={first: "Adding connections needs SEGMETRICS_BOT_SECRET_KEY."})
            return
        existing = self.surface.runner.connections.get(editing) if editing else None
        if editing and (existing is None or not existing.editable):
            await ack(response_action="errors", errors={first: f"The connection `{editing}` can no longer be edited."})
            return
        connection, errors = self._read(values, existing)
        if connection is None:
            await ack(response_action="errors", errors=errors)
            return
        row = StoredConnection(
            connection.name,
            connection.account_id,
            connection.integration_id,
            connection.timezone,
            connection.currency,
            connection.resources,
            connection.channels,
            self.keyring.encrypt(connection.api_key.get_secret_value()),
            updated_by=user,
        )
        store = self.surface.store
        try:
            if editing:
                saved = await store.call(store.store.replace_connection, row, was=self.versions.get(connection.name))
            else:
                saved = await store.call(store.store.add_connection, row)
        except Exception as error:  # the form stays open with what was typed
            log.error("could not save the connection %s (%s)", connection.name, type(error).__name__)
            await ack(response_action="errors", errors={first: "The bot could not save it in its database; try again."})
            return
        if not saved:  # another admin (perhaps on another bot sharing the database) was first
            problem = (
                f"Someone changed or removed `{connection.name}` meanwhile; close this form and open it again."
                if editing
                else f"Someone added a connection named `{connection.name}` meanwhile; choose another name."
            )
            await ack(response_action="errors", errors={first: problem})
            return
        self.versions[connection.name] = row.updated_at
        await self.surface.runner.put_connection(connection)
        await ack()
        verb = "edit" if editing else "add"
        self._audit(user, f"connection {verb}", connection.name, "succeeded", detail=self._detail(connection))
        conversation = self.surface.conversation(user, modals.Origin())
        done = "Saved" if editing else "Added"
        text = f"✅ {done} the connection `{messages.escape(connection.name)}`. {self._describe(connection)}"
        job = self.surface.guarded(conversation, self._after_save(conversation, text, user))
        self.surface.jobs.spawn(job, name="connection saved")

    async def _after_save(self, conversation: Any, text: str, user: str) -> None:
        await conversation.tell(_say(text))
        await self._republish(user)

    def _read(self, values: Mapping[str, Any], existing: Connection | None) -> tuple[Connection | None, dict[str, str]]:
        """The submitted connection, or every problem by block."""
        settings = self.surface.runner.settings
        text = {name: (modals.submitted_text(values, name) or "").strip() for name in FIELDS[:6]}
        errors: dict[str, str] = {}
        name = existing.name if existing else text["name"].lower()
        if existing is None:
            if not NAME.fullmatch(name):
                errors["name"] = f"{NAME_RULE[:1].upper()}{NAME_RULE[1:]}."
            elif name in self.surface.runner.connections:
                errors["name"] = f"There is already a connection named `{name}`; choose another name, or edit that one."
        key = text["api_key"]
        if not key and existing is None:
            errors["api_key"] = "Paste the account's API key (SegMetrics › Settings › Account Settings)."
        elif key and (not key.isascii() or any(char.isspace() or not char.isprintable() for char in key)):
            errors["api_key"] = "An API key is one word of plain characters: no spaces, line breaks or accents."
        for field, label in (("account_id", "account id"), ("integration_id", "integration id")):
            value = text[field]
            if not value:
                errors[field] = f"Give the {label}, e.g. 77."
            elif id_problem(value):
                errors[field] = f"The {label} {id_problem(value)}, e.g. 77."
        zone = text["timezone"] or settings.segmetrics_timezone
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = f"`{zone}` is not an IANA time zone; e.g. America/New_York or Europe/Paris."
        currency = (text["currency"] or settings.segmetrics_currency).upper()
        if currency not in list_currencies():
            errors["currency"] = f"`{currency}` is not an ISO 4217 currency code; e.g. USD, EUR or GBP."
        resources = tuple(modals.submitted_choices(values, "resources"))
        channels = tuple(modals.submitted_conversations(values, "channels"))
        if errors:
            return None, errors
        connection = Connection(
            name,
            SecretStr(key) if key else existing.api_key if existing else SecretStr(""),
            text["account_id"],
            text["integration_id"],
            zone,
            currency,
            resources,
            channels,
            source="slack",
        )
        others = [other for other in self.surface.runner.connections if other.name != name]
        clashes = [problem for problem in conflicts([*others, connection]) if f"`{name}`" in problem]
        if clashes:
            field = "channels" if any("channel" in problem for problem in clashes) else "resources"
            return None, {field: ("; ".join(clashes) + ".")[:2000]}
        return connection, {}

    @staticmethod
    def _detail(connection: Connection) -> str:
        default_for = connection.default_for()
        return (
            f"account {connection.account_id}, integration {connection.integration_id}, {connection.timezone}, "
            f"{connection.currency}" + (f", default for {default_for}" if default_for else "")
        )

    def _audit(self, user: str, operation: str, name: str, outcome: str, *, detail: str | None = None) -> None:
        self.surface.store.record(
            AuditEvent(operation=operation, outcome=outcome, user_id=user, connection=name or None, detail=detail)
        )

    async def _republish(self, user: str) -> None:
        if self.republish is not None:
            with contextlib.suppress(Exception):
                await self.republish(user)

    # -- several bots on one database -------------------------------------------------------------

    def keep_fresh(self, every: float = REFRESH_EVERY) -> None:
        """Pick up connections another bot on the same database added, changed or removed."""
        if self._refreshing is None:
            self._refreshing = asyncio.get_running_loop().create_task(self._refresh_forever(every), name="connections")

    async def _refresh_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception as error:
                log.warning("could not re-read the connections added in Slack (%s)", type(error).__name__)

    async def refresh(self) -> None:
        """Take the stored connections as they are now, all or nothing. When they cannot be used as they are (this
        bot cannot read them, or they clash with its own), writes are refused until they can (`problem`): a
        command could otherwise go through another connection than the one the admins set up."""
        store, runner = self.surface.store, self.surface.runner
        rows = await store.call(store.store.stored_connections)
        fixed = [connection for connection in runner.connections if not connection.editable]
        try:
            found = stored_connections(rows, self.keyring, fixed)
        except AdminError as error:
            self._set_problem(f"the connections added in Slack cannot be used: {error}")
            return
        wanted = {connection.name: connection for connection in found}
        current = {connection.name: connection for connection in runner.connections if connection.editable}
        for name in set(current) - set(wanted):
            await runner.remove_connection(name)
        for name, connection in wanted.items():
            if current.get(name) != connection:
                await runner.put_connection(connection)
        self.versions = {row.name: row.updated_at for row in rows}
        self._set_problem(None)

    def _set_problem(self, problem: str | None) -> None:
        if problem != self.surface.connections_problem:
            if problem:
                log.error("%s; writes are refused until that is fixed", problem)
            else:
                log.warning("the connections added in Slack can be used again")
        self.surface.connections_problem = problem

    def stop(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            self._refreshing = None


def _text_input(
    block_id: str,
    label: str,
    example: str,
    *,
    hint: str | None = None,
    optional: bool = False,
    initial: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=PlainTextInputElement(
            action_id=modals.ACTION_ID,
            placeholder=PlainTextObject(text=f"e.g. {example}"[:150]),
            initial_value=initial or None,
        ),
        hint=PlainTextObject(text=hint) if hint else None,
        optional=optional,
    )
