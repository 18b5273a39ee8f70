"""The Slack dispatcher: every slash command and every operation form comes through here, and every
other surface (shortcuts, cards, App Home, Undo) opens forms and runs operations through it.

Before the acknowledgement only local work happens: parsing, validation, the policy decision (with
cached group members). Everything that waits on the network runs as a job after it, so Slack always has
its answer within milliseconds whatever SegMetrics does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject
from slack_sdk.web.async_client import AsyncWebClient

from bot.changes import AskInForm
from bot.chat import format_command
from bot.context import Context, Habits
from bot.help import overview, resource_help
from bot.metrics import Metrics
from bot.operation import Operation, RawInput
from bot.policy import Policy
from bot.problems import CommandError, InputError, InvalidValue
from bot.runner import UNREAD, Outcome, Runner
from bot.slack import messages, modals
from bot.slack.groups import Groups
from bot.slack.intake import WORKERS_PER_CONNECTION, Intake
from bot.slack.jobs import Jobs
from bot.slack.lane import Lane
from bot.slack.outbox import Outbox
from bot.slack.replies import Conversation, Undelivered
from bot.slack.safety import Safety
from bot.slack.users import Users
from bot.slack.work import Checked, Executor, Poisoned, Work, holding_journal_entry
from bot.store import AsyncStore
from bot.tokens import unescape_slack

log = logging.getLogger("segmetrics_slack.slack")

Ack = Callable[..., Awaitable[None]]
# How a look-up's outcome is shown (the contact card); by operation name.
Renderer = Callable[[Outcome, str], messages.Message]
MAIN_COMMAND = "/segmetrics"
STORE_CHECK_EVERY = 5.0
# The longest a command's answer waits for its journal entry (on a shared database): well within Slack's 3 s.
JOURNAL_BEFORE_ANSWER = 1.5
# The longest a scrape of /metrics waits for the outbox's numbers.
METRICS_DATABASE_WAIT = 1.0


def slash_commands(runner: Runner) -> dict[str, str | None]:
    """Every slash command the bot answers, and the resource it implies (`/sm-tag` → `tag`)."""
    commands: dict[str, str | None] = {MAIN_COMMAND: None}
    commands.update({resource.command: resource.name for resource in runner.registry.resources if resource.command})
    return commands


def as_typed(op: Operation, raw: RawInput, via: str | None = None) -> str:
    """Values given some other way than typed (a form, a workflow step) as the command that gives them: what the
    user is handed back to fix and run again."""
    return f"{MAIN_COMMAND} {format_command(op, raw)}" + (f" via={via}" if via else "")


class SlackSurface:
    def __init__(
        self,
        runner: Runner,
        client: AsyncWebClient,
        *,
        users: Users,
        jobs: Jobs,
        store: AsyncStore,
        policy: Policy,
        groups: Groups,
        metrics: Metrics | None = None,
        seal_key: str | None = None,
        lane: Lane | None = None,
    ) -> None:
        self.runner = runner
        self.client = client
        self.users = users
        self.jobs = jobs
        self.store = store
        self.policy = policy
        self.groups = groups
        self.commands = slash_commands(runner)
        # Shared by the workspaces of a bot installed by link: one /metrics for the process.
        self.metrics = metrics or Metrics()
        runner.observe_calls(self.metrics.call)
        store.on_record = self.metrics.audited
        # What the bot keeps in a form's private_metadata is signed: a submission cannot claim another channel.
        # Installed by link, the key is not the token (it rotates) but one derived from the bot's secret key.
        self.seal = modals.Seal(seal_key if seal_key is not None else client.token or "")
        self.renderers: dict[str, Renderer] = {}
        # One per process: installed by link, every workspace's background work yields to every acknowledgement.
        self.lane = lane or Lane()
        self.executor = Executor(self)
        self.queue = Intake(self, workers=WORKERS_PER_CONNECTION * runner.settings.segmetrics_max_connections)
        self.safety = Safety(self)
        self.outbox = Outbox(self)
        # Why the database cannot keep work right now (None: it can); kept fresh by `watch_store`.
        self.store_problem: str | None = None
        # Bulk imports (`bot.slack.imports.Imports`) and Workflow Builder steps (`bot.slack.steps.Steps`), set
        # up by the listeners.
        self.imports: Any = None
        self.steps: Any = None
        # Why the connections added in Slack cannot be used right now (None: they can); kept fresh by
        # `ConnectionAdmin.refresh`.
        self.connections_problem: str | None = None

    async def watch_store(self, every: float = STORE_CHECK_EVERY) -> None:
        """Check every few seconds that the database can keep work (it was not deleted, replaced, or made
        read-only): while it cannot, writes are refused before they are acknowledged and /healthz says 503."""
        while True:
            problem = await self.store.call(self.store.store.health)
            if problem != self.store_problem:
                if problem:
                    log.error("the database cannot keep work: %s; writes are refused until it can", problem)
                else:
                    log.warning("the database can keep work again")
            self.store_problem = problem
            await asyncio.sleep(every)

    def cannot_keep(self, op: Operation) -> str | None:
        """Why a write must be refused now (the database cannot keep it), or None."""
        problem = self.store_problem or self.connections_problem
        if op.reads or problem is None:
            return None
        return (
            f"⛔ The bot cannot keep work right now ({problem}). Nothing was sent to SegMetrics; try "
            "again once whoever runs the bot has fixed it."
        )

    @property
    def sandbox(self) -> bool:
        """Whether the default connection is the sandbox."""
        return self.runner.sandbox is not None

    def sandboxed(self, connection: str | None) -> bool:
        """Whether `connection` (`default` for None) is the sandbox."""
        link = self.runner.links.get(connection or "default")
        return link is not None and link.sandbox is not None

    def form(
        self, op: Operation, raw: RawInput, ctx: Context, origin: modals.Origin, *, notice: str | None = None
    ) -> dict[str, Any]:
        """`op`'s form in `ctx` (its connection: the sandbox badge, and the Connection select when there are
        several), remembering the connection it was opened with."""
        origin = replace(origin, connection=ctx.connection, fingerprint=ctx.fingerprint)
        sandbox = self.sandboxed(ctx.connection)
        return modals.build_view(
            op,
            raw=raw,
            ctx=ctx,
            origin=origin,
            seal=self.seal,
            sandbox=sandbox,
            notice=notice,
            connections=self.runner.connections.names,
        )

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
        if resource is None and words.split(" ", 1)[0].lower() == "import" and self.imports is not None:
            await self.imports.on_command(ack, body, words)
            return
        try:
            help_text = self._help(resource, words)
            if help_text is not None:
                await ack(**messages.help_message(help_text).ephemeral())
                return
            parsed = self.runner.parse(f"{resource} {words}" if resource else words, slack=True)
        except CommandError as error:
            await ack(**messages.command_problem(error, typed=typed).ephemeral())
            return
        op, user = parsed.operation, str(body.get("user_id"))
        origin = modals.Origin(
            channel_id=body.get("channel_id"),
            response_url=body.get("response_url"),
            channel_name=body.get("channel_name"),
        )
        try:
            work = self.work(op, user, origin, team=body.get("team_id"), typed=typed, via=parsed.via)
        except InvalidValue as error:
            said = f"`via={parsed.via}`: {error.message}" if parsed.via else f"{error.message}."
            problem = CommandError(said, usage=op.usage())
            await ack(**messages.command_problem(problem, typed=typed).ephemeral())
            return
        decision = self.safety.decide(op, work)
        if not decision.allowed:
            await ack(**self.safety.refusal(decision).ephemeral())
            return
        unkept = self.cannot_keep(op)
        if unkept:
            await ack(**messages.notice(unkept, typed=typed).ephemeral())
            return
        # Acknowledged now; the values are read right after (see `intake`), in their turn behind other
        # acknowledgements, and a problem with them goes to the user alone, as an ephemeral message.
        await ack()
        await self.journaled_before_answer(self.intake(op, dict(parsed.raw), work, trigger=str(body.get("trigger_id"))))

    @property
    def shared_database(self) -> bool:
        """Whether the database is one several bots can share (PostgreSQL), not a local SQLite file."""
        return self.store.store.engine.dialect.name != "sqlite"

    def intake(self, op: Operation, raw: dict[str, Any], work: Work, *, trigger: str) -> asyncio.Future[Any] | None:
        """A command after its acknowledgement. Complete, and never asking first: journaled at once and
        queued for the workers (`Intake`). Otherwise a job of its own, right away: a form must open within
        3 s of the command; a look-up or a delete (which asks first, and is journaled when confirmed) is
        read, then run or asked about. Either way the values are read in the user's own zone, in a lane
        turn, and a problem with them goes to the user alone. Returns the journal entry being written when
        queued (None for a job: it journals later, if at all)."""
        key = f"command:{trigger}"
        incomplete = bool(op.missing(raw))
        # A change is read against its record, and may need the form of the whole record instead.
        if not op.reads and not op.may_ask and not incomplete and op.changes is None:
            return self.queue.put(op, raw, work, key)

        async def run() -> None:
            if not incomplete:
                await self.lane.turn()
            habits = await self.users.habits(work.user)
            try:
                data = await self.runner.read(
                    op, raw, self.runner.context(habits, connection=work.connection, fingerprint=work.fingerprint)
                )
            except InputError as error:
                await self._unreadable(op, raw, work, error, trigger)
                return
            await self._go(op, raw, data, habits, work, key)

        self.jobs.spawn(self.guarded(self.conversation(work.user, work.origin), run(), typed=work.typed), name=op.name)
        return None

    async def metrics_text(self) -> bytes:
        """What `GET /metrics` serves, the queue and outbox read now."""
        outbox, oldest = await self.outbox_summary()
        return self.metrics.exposition(queue=self.pending, outbox=outbox, oldest=oldest)

    async def outbox_summary(self) -> tuple[float, float]:
        """The outbox's depth and the age in seconds of its oldest pending entry (0 when none), read now; NaN
        for both when the database cannot be read."""
        store = self.store
        try:
            count, oldest = await asyncio.wait_for(store.call(store.store.outbox_summary), METRICS_DATABASE_WAIT)
        except Exception as error:  # the database cannot be read (or is slow): the rest is still worth a scrape
            log.warning("/metrics: the outbox could not be read (%s)", type(error).__name__)
            return math.nan, math.nan
        return count, max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest is not None else 0.0

    @property
    def pending(self) -> int:
        """Acknowledged work not finished yet: queued, being run, or a job."""
        return self.queue.waiting + self.queue.busy + self.jobs.pending

    async def _unreadable(self, op: Operation, raw: RawInput, work: Work, error: InputError, trigger: str) -> None:
        """Incomplete: the operation's form, prefilled (a change that needs the whole record: the record's
        form). Wrong: what to fix, to the user alone."""
        conversation = self.conversation(work.user, work.origin)
        if not error.only_missing:
            await conversation.tell(messages.input_problems(error, typed=work.typed))
            return
        notice, origin = None, work.origin
        if isinstance(error, AskInForm):
            op, raw, notice, origin = error.form, error.prefill, error.notice, replace(origin, whole=True)
        too_long = modals.too_long_to_prefill(op, raw)
        if too_long:
            text = (
                f"❌ Some values are too long for a form ({', '.join(too_long)}: Slack allows "
                f"{modals.INPUT_LIMIT:,} characters per field), so no form was opened. Add the missing values "
                "to the command instead. Nothing was sent to SegMetrics."
            )
            await conversation.tell(messages.notice(text, typed=work.typed))
            return
        await self._open_form(trigger, op, raw, work.user, origin, work.typed, notice)

    def _help(self, resource: str | None, words: str) -> str | None:
        """Help text when the command asks for it (`/segmetrics`, `help`, `help order`, `/sm-tag`)."""
        first, _, topic = words.partition(" ")
        if resource is not None and (not words or words.lower() == "help"):
            return resource_help(self.runner.registry, resource)
        names = self.runner.connections.names
        if not words:
            return overview(self.runner.registry, names)
        if first.lower() == "help":
            topic = topic.strip() or (resource or "")
            return resource_help(self.runner.registry, topic) if topic else overview(self.runner.registry, names)
        return None

    def work(
        self,
        op: Operation,
        user: str,
        origin: modals.Origin,
        *,
        team: Any = None,
        typed: str | None = None,
        via: str | None = None,
    ) -> Work:
        """Who asks for what, where, and through which connection: `via` (typed or chosen in the form), else
        the one the form was opened with, else the channel's or the resource's (`InvalidValue` for an unknown
        `via`)."""
        connection = self.runner.route(
            op, via=via or origin.connection, channel_id=origin.channel_id, channel_name=origin.channel_name
        )
        # Where it was opened, the fingerprint of then: a form or card outlived by a change of its connection
        # is refused when it is used, not sent through the changed connection.
        fingerprint = origin.fingerprint if origin.fingerprint and connection == origin.connection else None
        current = self.runner.connections.get(connection)
        return Work(
            operation=op.name,
            user=user,
            team=str(team) if team else None,
            channel_id=origin.channel_id,
            channel_name=origin.channel_name,
            response_url=origin.response_url,
            thread_ts=origin.thread_ts,
            typed=typed,
            whole=origin.whole,
            connection=connection,
            fingerprint=fingerprint or (current.fingerprint if current else None),
        )

    def proceed(
        self, op: Operation, raw: dict[str, Any], data: Any, work: Work, *, key: str | None
    ) -> asyncio.Future[Any] | None:
        """After the acknowledgement: ask first when the operation destroys, else run it (a look-up is not
        journaled: it changes nothing). On a shared database a change is journaled now, and that entry being
        written is returned: the caller's answer to Slack can wait for it, as a command's does."""
        # Validated before the acknowledgement with the zone and locale known then: reused if still the user's.
        habits = self.users.cached_habits(work.user)
        journaled = None
        if self.shared_database and key is not None and not op.reads and not op.needs_confirmation(data):
            known = data.known if op.changes is not None else UNREAD
            journaled = self.executor.journal_soon(op, raw, work, key, known=known)
        job = self._go(op, raw, data, habits, work, key, journaled=journaled)
        self.jobs.spawn(self.guarded(self.conversation(work.user, work.origin), job, typed=work.typed), name=op.name)
        return journaled

    async def journaled_before_answer(self, journaled: asyncio.Future[Any] | None) -> None:
        """Hold Slack's answer (sent when the listener returns) until `journaled` is written, on a shared
        database: a bot killed right after answering then loses nothing, another one finishes it. Never past
        Slack's 3 s: a stalled database gets the answer-first path. A failure is the run's to report."""
        if journaled is None or not self.shared_database:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(journaled), JOURNAL_BEFORE_ANSWER)

    async def _go(
        self,
        op: Operation,
        raw: dict[str, Any],
        data: Any,
        habits: Habits,
        work: Work,
        key: str | None,
        *,
        journaled: asyncio.Future[Any] | None = None,
    ) -> None:
        if op.needs_confirmation(data):
            await self.safety.ask(op, raw, data, work)
        else:
            key = None if op.reads else key
            await self.executor.start(op, raw, work, key=key, checked=Checked(data, habits), journaled=journaled)

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
        checked: bool = False,
    ) -> None:
        """Open `op`'s form prefilled with `raw` (a job: views.open must be called within 3 s). Someone the
        policy would refuse is told so instead (unless the caller `checked` already)."""
        if origin.connection and origin.connection not in self.runner.connections:
            # Reopened (Edit and retry, a card) after an admin removed its connection: routed afresh, and said so.
            gone = f"The connection `{origin.connection}` this went through no longer exists: " + (
                "choose one under Connection." if len(self.runner.links) > 1 else "this form goes through `default`."
            )
            notice = f"{gone} {notice}" if notice else gone
            origin = replace(origin, connection=None)
        if not checked:
            decision = self.safety.decide(op, self.work(op, user, origin))
            if not decision.allowed:
                conversation = self.conversation(user, origin)
                self.jobs.spawn(
                    self.guarded(conversation, conversation.tell(self.safety.refusal(decision))), name="refuse"
                )
                return
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
        connection = origin.connection or self.runner.route(
            op, channel_id=origin.channel_id, channel_name=origin.channel_name
        )
        ctx = self.runner.context(self.users.cached_habits(user), connection=connection)
        view = self.form(op, raw, ctx, origin, notice=notice)
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
        values = (view.get("state") or {}).get("values") or {}
        raw = modals.read_state(op, values)
        user = str((body.get("user") or {}).get("id"))
        origin = modals.Origin.loads(view.get("private_metadata"), self.seal).answered_in(body)
        via = modals.read_via(values)
        typed = as_typed(op, raw, via)
        try:
            work = self.work(op, user, origin, team=(body.get("team") or {}).get("id"), typed=typed, via=via)
        except InvalidValue as error:  # removed by an admin while the form was open
            await ack(response_action="errors", errors={modals.VIA_BLOCK: error.message})
            return
        decision = self.safety.decide(op, work)
        if not decision.allowed:
            await ack(response_action="errors", errors={op.params[0].name: decision.message.replace("*", "")})
            return
        unkept = self.cannot_keep(op)
        if unkept:  # the form stays open with what was typed: submit again once the bot can keep it
            await ack(response_action="errors", errors={op.params[0].name: unkept})
            return
        try:
            ctx = self.runner.context(
                self.users.cached_habits(user), connection=work.connection, fingerprint=work.fingerprint
            )
        except InputError as error:  # removed or changed while the form was open
            where = modals.VIA_BLOCK if len(self.runner.links) > 1 else op.params[0].name
            await ack(response_action="errors", errors={where: error.errors[0].inline})
            return
        try:
            # A change looks its record up first: a local read, well within the 3 s of a submission.
            data = await self.runner.read(op, raw, ctx, whole=origin.whole)
        except AskInForm as error:
            if error.form is op and origin.whole:
                await ack(response_action="errors", errors=modals.inline_errors(op, error))
                return
            # The record is not known (or not to this form): it becomes the form of the whole record.
            opened = modals.Origin.loads(view.get("private_metadata"), self.seal)
            view = self.form(error.form, error.prefill, ctx, replace(opened, whole=True), notice=error.notice)
            await ack(response_action="update", view=view)
            return
        except InputError as error:
            await ack(response_action="errors", errors=modals.inline_errors(op, error))
            return
        await ack()
        await self.journaled_before_answer(self.proceed(op, dict(raw), data, work, key=f"view:{view.get('id')}"))

    # -- after the acknowledgement ------------------------------------------------------------------

    async def guarded(self, conversation: Conversation, work: Awaitable[Any], *, typed: str | None = None) -> None:
        """Run a job's work; tell the user if it breaks unexpectedly, or if the bot stops mid-way."""
        try:
            await work
        except asyncio.CancelledError:
            # Stopping mid-call: say so, briefly, rather than leave the user guessing. Work held in the
            # journal is resumed by the outbox once its lease runs out.
            if holding_journal_entry.get():
                text = (
                    "⚠️ The bot was stopped while running this. It is saved and will be finished when the bot is "
                    "back; you will be told then."
                )
            else:
                text = "⚠️ The bot was stopped while running this; it may or may not have reached SegMetrics."
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(conversation.tell(messages.notice(text, typed=typed))), 3)
            raise
        except Exception as error:
            reference = error.reference if isinstance(error, Poisoned) else uuid.uuid4().hex[:8]
            log.exception("a job failed unexpectedly (reference %s)", reference)
            with contextlib.suppress(Exception):
                await conversation.tell(messages.unexpected_problem(reference, typed=typed))

    async def tell(self, work: Work, message: messages.Message) -> None:
        """A problem, to whoever asked for `work`, where they are: a workflow step fails with it (Slack shows it
        to the person who ran the workflow); anyone else is told alone, in the conversation."""
        if work.execution and self.steps is not None:
            await self.steps.fail(work, message.text)
            return
        await self.conversation(work.user, work.origin).tell(message)

    async def deliver(
        self, conversation: Conversation, message: messages.Message, *, what: str
    ) -> tuple[str, str] | None:
        """Post for everyone; if Slack refuses every way, tell the user it was done all the same. Returns
        the message's (channel, ts) when the bot posted it itself."""
        try:
            return await conversation.post(message)
        except Undelivered as error:
            log.warning("%s done, but its confirmation was refused (%s)", what, error)
            text = f"✅ Done in SegMetrics ({what}), but Slack refused the confirmation ({error})."
            await conversation.tell(messages.notice(text))
            return None

    async def confirm(
        self,
        outcome: Outcome,
        op: Operation,
        work: Work,
        conversation: Conversation,
        ctx: Any,
        *,
        snapshot: Any = None,
        notes: Sequence[str] = (),
        quiet: bool = False,
    ) -> None:
        """Show what was done: a look-up only to the asker; a change for everyone, with Undo or Restore, and
        a line in the audit channel. A workflow step completes with its outputs, after posting the confirmation
        in the channel it names (if any)."""
        step = work.execution is not None and self.steps is not None
        renderer = self.renderers.get(op.name)
        if renderer is not None and not step:
            await conversation.tell(renderer(outcome, work.user))
            return
        if quiet:
            return
        if step and (not work.channel_id or outcome.request.method == "GET"):
            if outcome.request.method != "GET":
                await self.audit_line(work, outcome.summary.headline)
            await self.steps.succeed(outcome, work, None)
            return
        if step:
            notes = [*notes, "run by a Workflow Builder step"]
        inverse = self.runner.registry.inverse(op)
        undo = restore = None
        if inverse is not None and outcome.found:
            undo = await self.safety.undo_ticket(inverse, [op.raw_of(outcome.input, ctx)], work)
        if snapshot and outcome.found:
            restore = await self.safety.restore_ticket(snapshot, work)
        message = messages.confirmation(outcome, user_id=work.user, undo=undo, restore=restore, notes=notes)
        if outcome.request.method == "GET":
            await conversation.tell(message)
            return
        posted = await self.deliver(conversation, message, what=outcome.summary.headline)
        # A step's output and the audit line link to the same message: asked of Slack once.
        link = await self.permalink(posted) if step else None
        await self.audit_line(work, outcome.summary.headline, posted, link=link)
        if step:
            await self.steps.succeed(outcome, work, link)

    async def permalink(self, posted: tuple[str, str] | None) -> str | None:
        """A link to a message the bot posted (channel, ts); None when there is none, or Slack gives none."""
        if posted is None:
            return None
        with contextlib.suppress(SlackApiError):
            found = await self.client.chat_getPermalink(channel=posted[0], message_ts=posted[1])
            return str(found.get("permalink") or "") or None
        return None

    async def audit_line(
        self, work: Work, headline: str, posted: tuple[str, str] | None = None, *, link: str | None = None
    ) -> None:
        """One line per write in SEGMETRICS_AUDIT_CHANNEL, with a link to where it happened (`posted`, or its
        `link` when the caller has it already)."""
        channel = self.runner.settings.segmetrics_audit_channel
        if not channel:
            return
        where = f" in <#{work.channel_id}>" if work.channel_id else ""
        link = link or await self.permalink(posted)
        if link:
            where += f" · <{link}|view>"
        text = f"<@{work.user}> {messages.escape(headline)}{where}"
        try:
            await self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        except SlackApiError as error:
            log.warning("could not post in the audit channel %s (%s)", channel, error.response.get("error"))

    async def mark(self, body: Mapping[str, Any], note: str) -> None:
        """Edit the message a button was clicked on: its buttons go, `note` (ours) is added."""
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        await self.mark_message(
            body.get("message") or {},
            note,
            channel=channel,
            ts=(body.get("container") or {}).get("message_ts"),
            user=str((body.get("user") or {}).get("id")),
            response_url=body.get("response_url"),
        )

    async def mark_message(
        self,
        message: Mapping[str, Any],
        note: str,
        *,
        channel: str | None,
        ts: str | None,
        user: str,
        response_url: str | None = None,
    ) -> None:
        """Edit a message of the bot's (`message`: its text and blocks): its buttons go, `note` is added."""
        kept = [block for block in message.get("blocks") or [] if block.get("block_id") not in messages.BUTTON_BLOCKS]
        context = ContextBlock(elements=[MarkdownTextObject(text=note[:2000])]).to_dict()
        updated = messages.Message(f"{message.get('text') or ''} ({note})".strip(), [*kept, context])
        if channel and ts:
            try:
                await self.client.chat_update(channel=channel, ts=ts, text=updated.text, blocks=updated.blocks)
                return
            except SlackApiError as error:
                log.info("chat.update failed (%s); using the response_url", error.response.get("error"))
        await Conversation(self.client, user, response_url=response_url).replace(updated)

    async def on_error(self, error: Exception, body: Mapping[str, Any] | None = None) -> None:
        """Bolt's last resort for an exception in a listener: log it; users never see a stack trace."""
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
