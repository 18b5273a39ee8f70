"""The App Home tab: where the bot is connected, how it reads dates and amounts, a button per operation,
and one example per operation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack import messages, modals
from bot.slack.connection_admin import ConnectionAdmin

OPEN_PREFIX = "home_open:"


class Home:
    def __init__(self, surface: Any, admin: ConnectionAdmin) -> None:
        # The dispatcher (`SlackSurface`): its runner, client, users and jobs.
        self.surface = surface
        # The connections' part of the page (details and buttons for admins only).
        self.admin = admin
        admin.republish = self._publish

    async def on_opened(self, event: Mapping[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user"))
        self.surface.jobs.spawn(self._publish(user), name="publish home")

    async def _publish(self, user: str) -> None:
        zone = await self.surface.users.zone(user)
        admin = await self.surface.safety.is_admin(user)
        await self.surface.client.views_publish(user_id=user, view=self.view(zone, admin=admin))

    def view(self, zone: str | None, *, admin: bool = False) -> dict[str, Any]:
        runner = self.surface.runner
        default = runner.default.connection
        if self.surface.sandbox:
            connection = f"{messages.SANDBOX_BADGE}. Set the SegMetrics credentials where the bot runs to go live."
        else:
            connection = "🟢 Connected to SegMetrics."
        reading = (
            f"Dates you type are read in your time zone ({messages.escape(zone or default.timezone)}) and "
            f"sent in {messages.escape(default.timezone)}. Amounts are in {default.currency}."
        )
        if len(runner.links) > 1:
            reading += " (So says the `default` connection; each connection has its own.)"
        blocks: list[Any] = [
            HeaderBlock(text="SegMetrics"),
            SectionBlock(text=MarkdownTextObject(text=connection)),
            ContextBlock(elements=[MarkdownTextObject(text=reading)]),
            *self.admin.home_blocks(admin),
            DividerBlock(),
        ]
        for resource in runner.registry.resources:
            operations = runner.registry.for_resource(resource.name)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{messages.escape(resource.title)}*")))
            buttons = [
                ButtonElement(text=op.title, action_id=f"{OPEN_PREFIX}{op.resource}:{op.verb}", value=op.name)
                for op in operations
            ]
            blocks.append(ActionsBlock(elements=buttons))
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Many at once*: a CSV file or a pasted table")))
        blocks.append(
            ActionsBlock(elements=[ButtonElement(text="Import a spreadsheet", action_id="home_import", value="import")])
        )
        examples = "\n".join(f"• `/segmetrics {messages.escape(op.examples[0])}`" for op in runner.registry)
        blocks += [
            DividerBlock(),
            SectionBlock(text=MarkdownTextObject(text=f"*How to*: type in any conversation, for example\n{examples}")),
            ContextBlock(elements=[MarkdownTextObject(text="`/segmetrics help` lists every command and key.")]),
        ]
        return View(type="home", blocks=blocks).to_dict()

    async def on_action(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        action = next(
            (item for item in body.get("actions") or [] if item.get("action_id", "").startswith(OPEN_PREFIX)), {}
        )
        resource, _, verb = str(action.get("action_id", "")).removeprefix(OPEN_PREFIX).partition(":")
        op = self.surface.runner.registry.find(resource, verb)
        if op is None:
            return
        user = str((body.get("user") or {}).get("id"))
        self.surface.open_form(str(body.get("trigger_id")), op, {}, user, modals.Origin(ask_where=True))
