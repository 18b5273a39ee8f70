"""The Slack dispatcher: every slash command and every operation form comes through here, and every
other surface (shortcuts, cards, App Home) opens forms and runs operations through it.

Only local work (parsing, validation) happens before the acknowledgement; anything that waits on the
network (SegMetrics, `users.info`, `views.open`, posting) runs as a job after it, so Slack always has its
answer within milliseconds whatever SegMetrics does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat import format_command
from bot.help import overview, resource_help
from bot.operation import Operation, RawInput
from bot.problems import CommandError, InputError
from bot.runner import Outcome, Runner
from bot.segmetrics.errors import SegMetricsError
from bot.slack import messages, modals
from bot.slack.jobs import Jobs
from bot.slack.replies import Conversation, Undelivered
from bot.slack.undo import ticket_for
from bot.slack.users import Users
from bot.tokens import unescape_slack

log = logging.getLogger("segmetrics_slack.slack")

Ack = Callable[..., Awaitable[None]]
# How a look-up's outcome is shown (the contact card); by operation name.
Renderer = Callable[[Outcome, str], messages.Message]
MAIN_COMMAND = "/segmetrics"


def slash_commands(runner: Runner) -> dict[str, str | None]:
    """Every slash command the bot answers, and the resource it implies (`/sm-tag` → `tag`)."""
    commands: dict[str, str | None] = {MAIN_COMMAND: None}
    commands.update({resource.command: resource.name for resource in runner.registry.resources if resource.command})
    return commands


class SlackSurface:
    def __init__(self, runner: Runner, client: AsyncWebClient, *, users: Users, jobs: Jobs) -> None:
        self.runner = runner
        self.client = client
        self.users = users
        self.jobs = jobs
        self.commands = slash_commands(runner)
        self.renderers: dict[str, Renderer] = {}

    @property
    def sandbox(self) -> bool:
        return self.runner.sandbox is not None

    def conversation(self, user: str, origin: modals.Origin) -> Conversation:
        return Conversation(
            self.client,
            user,
            channel_id=origin.channel_id,
            response_url=origin.response_url,
            thread_ts=origin.thread_ts,
        )

    # -- slash commands ---------------------------------------------------------------------------

    async def on_command(self, ack: Ack, body: Mapping[str, Any]) -> None:
        try:
            await self._command(ack, body)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("slash command failed unexpectedly (reference %s)", reference)
            typed = f"{body.get('command', '')} {body.get('text') or ''}".strip()
            await ack(**messages.unexpected_problem(reference, typed=typed).ephemeral())

    async def _command(self, ack: Ack, body: Mapping[str, Any]) -> None:
        command, words = str(body.get("command", "")), str(body.get("text") or "").strip()
        # Handed back as the user typed it (Slack sends e-mails as <mailto:…> and & as &amp;).
        typed = f"{command} {unescape_slack(words)}".strip()
        resource = self.commands.get(command)
        try:
            help_text = self._help(resource, words)
            if help_text is not None:
                await ack(**messages.help_message(help_text).ephemeral())
                return
            parsed = self.runner.parse(f"{resource} {words}" if resource else words, slack=True)
        except CommandError as error:
            await ack(**messages.command_problem(error, typed=typed).ephemeral())
            return
        user = str(body.get("user_id"))
        origin = modals.Origin(channel_id=body.get("channel_id"), response_url=body.get("response_url"))
        ctx = self.runner.context(self.users.cached_zone(user))
        try:
            parsed.operation.validate(parsed.raw, ctx)
        except InputError as error:
            if not error.only_missing:
                await ack(**messages.input_problems(error, typed=typed).ephemeral())
                return
            too_long = modals.too_long_to_prefill(parsed.operation, parsed.raw)
            if too_long:
                text = (
                    f"❌ Some values are too long for a form ({', '.join(too_long)}: Slack allows "
                    f"{modals.INPUT_LIMIT:,} characters per field), so no form was opened. Add the missing values "
                    "to the command instead. Nothing was sent to SegMetrics."
                )
                await ack(**messages.notice(text, typed=typed).ephemeral())
                return
            await ack()
            self.open_form(str(body.get("trigger_id")), parsed.operation, parsed.raw, user, origin, typed=typed)
            return
        await ack()
        self.jobs.spawn(self.run(parsed.operation, parsed.raw, user, origin, typed), name=parsed.operation.name)

    def _help(self, resource: str | None, words: str) -> str | None:
        """Help text when the command asks for it (`/segmetrics`, `help`, `help order`, `/sm-tag`)."""
        first, _, topic = words.partition(" ")
        if resource is not None and (not words or words.lower() == "help"):
            return resource_help(self.runner.registry, resource)
        if not words:
            return overview(self.runner.registry)
        if first.lower() == "help":
            topic = topic.strip() or (resource or "")
            return resource_help(self.runner.registry, topic) if topic else overview(self.runner.registry)
        return None

    # -- forms --------------------------------------------------------------------------------------

    def open_form(
        self,
        trigger_id: str,
        op: Operation,
        raw: RawInput,
        user: str,
        origin: modals.Origin,
        *,
        typed: str | None = None,
        notice: str | None = None,
    ) -> None:
        """Open `op`'s form prefilled with `raw` (a job: views.open must be called within 3 s)."""
        self.jobs.spawn(self._open_form(trigger_id, op, raw, user, origin, typed, notice), name="open form")

    async def _open_form(
        self,
        trigger_id: str,
        op: Operation,
        raw: RawInput,
        user: str,
        origin: modals.Origin,
        typed: str | None,
        notice: str | None,
    ) -> None:
        ctx = self.runner.context(self.users.cached_zone(user))
        view = modals.build_view(op, raw=raw, ctx=ctx, origin=origin, sandbox=self.sandbox, notice=notice)
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except Exception as error:
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning("views.open for %s failed: %s", op.name, reason)
            text = "❌ Slack did not let the bot open the form in time. Nothing was sent to SegMetrics."
            await self.conversation(user, origin).tell(messages.notice(text, typed=typed))

    async def on_submission(self, ack: Ack, body: Mapping[str, Any]) -> None:
        view = body.get("view") or {}
        op = modals.operation_for(str(view.get("callback_id", "")), self.runner.registry)
        if op is None:
            await ack()
            return
        try:
            await self._submission(ack, body, op, view)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("form submission failed unexpectedly (reference %s)", reference)
            # Keep the form open with what was typed: an error on its first field.
            problem = f"The bot hit an unexpected problem (reference {reference}); nothing was sent. Try again."
            await ack(response_action="errors", errors={op.params[0].name: problem})

    async def _submission(self, ack: Ack, body: Mapping[str, Any], op: Operation, view: Mapping[str, Any]) -> None:
        raw = modals.read_state(op, (view.get("state") or {}).get("values") or {})
        user = str((body.get("user") or {}).get("id"))
        try:
            op.validate(raw, self.runner.context(self.users.cached_zone(user)))
        except InputError as error:
            await ack(response_action="errors", errors=modals.inline_errors(op, error))
            return
        await ack()
        origin = modals.Origin.loads(view.get("private_metadata")).answered_in(body)
        typed = f"{MAIN_COMMAND} {format_command(op, raw)}"
        self.jobs.spawn(self.run(op, raw, user, origin, typed), name=op.name)

    # -- after the acknowledgement ------------------------------------------------------------------

    async def run(self, op: Operation, raw: RawInput, user: str, origin: modals.Origin, typed: str) -> Outcome | None:
        """Run the operation in the user's own zone; confirm a change in the conversation (a look-up only
        to the user), or tell the user why not (and return None)."""
        conversation = self.conversation(user, origin)
        try:
            ctx = self.runner.context(await self.users.zone(user))
            try:
                outcome = await self.runner.run(op, raw, ctx)
            except InputError as error:  # valid in the fallback zone, not in the user's (rare)
                await conversation.tell(messages.input_problems(error, typed=typed))
                return None
            except SegMetricsError as error:
                log.info("%s failed: %s", op.name, type(error).__name__)
                await conversation.tell(messages.segmetrics_problem(error, op, typed=typed))
                return None
            await self._confirm(outcome, op, user, conversation, ctx)
            return outcome
        except asyncio.CancelledError:
            # Stopping mid-call: say so, briefly, rather than leave the user guessing.
            text = "⚠️ The bot was stopped while running this; it may or may not have reached SegMetrics."
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(conversation.tell(messages.notice(text, typed=typed))), 3)
            raise
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("%s failed unexpectedly (reference %s)", op.name, reference)
            await conversation.tell(messages.unexpected_problem(reference, typed=typed))
            return None

    async def _confirm(self, outcome: Outcome, op: Operation, user: str, conversation: Conversation, ctx: Any) -> None:
        renderer = self.renderers.get(op.name)
        if renderer is not None:
            message = renderer(outcome, user)
        else:
            inverse = self.runner.registry.inverse(op)
            undo = ticket_for(inverse, [op.raw_of(outcome.input, ctx)], user) if inverse and outcome.found else None
            message = messages.confirmation(outcome, user_id=user, undo=undo)
        try:
            if outcome.request.method == "GET":
                await conversation.tell(message)  # a look-up is for the one who asked
            else:
                await conversation.post(message)
        except Undelivered as error:
            log.warning("%s done, but its confirmation was refused (%s)", op.name, error)
            text = f"✅ Done in SegMetrics ({outcome.summary.headline}), but Slack refused the confirmation ({error})."
            await conversation.tell(messages.notice(text))

    async def on_error(self, error: Exception, body: Mapping[str, Any] | None = None) -> None:
        """Bolt's last resort for an exception in a listener: log it; users never see a stack trace."""
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
