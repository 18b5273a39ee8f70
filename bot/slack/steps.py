"""Workflow Builder custom steps as a surface: a `function_executed` event in, a completed step out.

The step is a thin adapter onto the pipeline every surface shares: its inputs become the raw values a
command gives (`bot.steps`), the policy decides for the person named in "Run as" (and `[steps]`, if the
policy has it), the run is journaled under the step's execution id (Slack may deliver the event twice) and
audited with surface `workflow`, and the executor runs it. Its answer is the step's completion:
`functions.completeSuccess` with the outputs, or `functions.completeError` with the same field-named message
a command would give. Both are sent with the bot's own token: the token Slack hands a step run expires with
it, and a run SegMetrics could not take now is finished later by the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.changes import AskInForm
from bot.connections import NAME_NOT_GIVEN
from bot.problems import InputError, InvalidValue
from bot.runner import Outcome
from bot.slack import modals
from bot.slack.surface import as_typed
from bot.slack.work import Checked, Work, holding_journal_entry
from bot.steps import Step, StepCall, error_text, steps_of
from bot.store import Queued

log = logging.getLogger("segmetrics_slack.steps")

SURFACE = "workflow"


def step_pattern(steps: tuple[Step, ...]) -> re.Pattern[str]:
    """One listener for every step: Bolt tries listeners in turn."""
    return re.compile(f"^(?:{'|'.join(re.escape(step.callback_id) for step in steps)})$")


class Steps:
    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): runner, client, users, jobs, safety, policy, executor.
        self.surface = surface
        self.steps = steps_of(surface.runner.registry)
        self.by_callback = {step.callback_id: step for step in self.steps}
        self.by_operation = {step.op.name: step for step in self.steps}

    # -- in ---------------------------------------------------------------------------------------

    async def on_function(self, body: Mapping[str, Any]) -> None:
        """Bolt acknowledges the event (auto_acknowledge) when this returns: what can be checked here is, and on
        a shared database the run is journaled first, so a bot killed right after answering loses nothing (the
        outbox of another finishes it and completes the step). The rest is a job, answered by completing it."""
        event = body.get("event") or {}
        step = self.by_callback.get(str((event.get("function") or {}).get("callback_id")))
        execution = event.get("function_execution_id")
        if step is None or not execution:
            return
        execution, op = str(execution), step.op
        accepted = self._accept(step, event.get("inputs") or {}, execution, body.get("team_id"))
        if isinstance(accepted, str):
            self.surface.jobs.spawn(self._fail(execution, op.title, accepted), name=f"step {step.callback_id}")
            return
        call, work = accepted
        journaled = None
        if self.surface.shared_database and not op.reads:
            journaled = self.surface.executor.journal_soon(op, dict(call.raw), work, f"function:{execution}")
        run = self._guarded(step, call, work, journaled)
        self.surface.jobs.spawn(run, name=f"step {step.callback_id}")
        await self.surface.journaled_before_answer(journaled)

    def _accept(self, step: Step, inputs: Mapping[str, Any], execution: str, team: Any) -> tuple[StepCall, Work] | str:
        """The run's inputs read, routed and allowed (all local: no network); else why not, to fail it with."""
        surface, op = self.surface, step.op
        try:
            call = step.read(inputs)
        except InputError as error:
            return _problems(error)
        typed = as_typed(op, call.raw, call.via)
        try:
            # Slack gives a step the channel's id only: a rule or a connection that names channels is not guessed at.
            origin = modals.Origin(channel_id=call.channel, channel_name=NAME_NOT_GIVEN if call.channel else None)
            work = surface.work(op, call.user, origin, team=team, typed=typed, via=call.via)
        except InvalidValue as error:
            return f"Connection (`via`): {error.message}"
        work = replace(work, surface=SURFACE, execution=execution)
        decision = surface.safety.decide(op, work)  # with `[steps]`, for a step
        if not decision.allowed:
            return decision.message.replace("*", "")
        unkept = surface.cannot_keep(op)
        if unkept:
            return unkept.removeprefix("⛔ ")
        return call, work

    async def _guarded(
        self, step: Step, call: StepCall, work: Work, journaled: asyncio.Future[Queued | None] | None
    ) -> None:
        execution = str(work.execution)
        progress: dict[str, bool] = {}
        try:
            await self._run(step, call, work, journaled, progress)
        except asyncio.CancelledError:
            # Held in the journal: the outbox finishes it after the restart and completes the step then.
            if not holding_journal_entry.get() and not progress.get("journaled"):
                if progress.get("handed"):  # past the journal: it may have reached SegMetrics
                    text = (
                        "The bot was stopped while running this; it may or may not have reached SegMetrics. Check "
                        "before running it again (whoever runs the bot: segmetrics-bot audit --surface workflow)."
                    )
                else:
                    text = "The bot was stopped before it sent this; nothing was sent to SegMetrics. Run it again."
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._fail(execution, step.op.title, text)), 3)
            raise
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("a workflow step failed unexpectedly (reference %s)", reference)
            text = (
                f"The bot hit an unexpected problem (reference {reference}). It may or may not have reached "
                "SegMetrics; whoever runs the bot can look the reference up in its logs."
            )
            await self._fail(execution, step.op.title, text)

    async def _run(
        self,
        step: Step,
        call: StepCall,
        work: Work,
        journaled: asyncio.Future[Queued | None] | None,
        progress: dict[str, bool],
    ) -> None:
        surface, runner, op, execution = self.surface, self.surface.runner, step.op, str(work.execution)
        item = await journaled if journaled is not None else None
        if journaled is not None:
            if item is None:
                return  # Slack delivered the run twice: the first delivery runs it, and completes it
            progress["journaled"] = True
        habits = await surface.users.habits(call.user)
        problem = None
        try:
            ctx = runner.context(habits, connection=work.connection, fingerprint=work.fingerprint)
            data = await runner.read(op, call.raw, ctx)
        except AskInForm as error:
            # A change of a record the bot does not know: a form would ask for the whole record; a step cannot.
            said = f"{error.notice} " if error.notice else ""
            problem = f"{said}{_problems(error)}".strip()
        except InputError as error:
            problem = _problems(error)
        if problem is not None:
            if item is not None:
                await surface.executor.drop(item, "the step's input could not be read")
            await self._fail(execution, op.title, problem)
            return
        # Not asked first (a step has nobody to ask): whoever built the workflow chose these values.
        progress["handed"] = True
        if item is not None:
            await surface.executor.perform(op, dict(call.raw), work, item, checked=Checked(data, habits))
            return
        key = None if op.reads else f"function:{execution}"
        await surface.executor.start(op, dict(call.raw), work, key=key, checked=Checked(data, habits))

    # -- out --------------------------------------------------------------------------------------

    async def succeed(self, outcome: Outcome, work: Work, link: str | None) -> None:
        """Complete the step with its outputs, `link` to its confirmation among them (a write that found nothing to
        change fails it, saying so)."""
        step = self.by_operation.get(work.operation)
        if step is None or work.execution is None:
            return
        if not outcome.found and not step.op.reads:
            await self._fail(work.execution, step.op.title, f"Nothing was changed: {outcome.summary.headline}.")
            return
        confirmation = outcome.summary.as_text() + (
            "\n  (sandbox: nothing reached SegMetrics)" if outcome.sandbox else ""
        )
        outputs = step.output_values(
            outcome.request.json,
            outcome.response.body if outcome.response is not None else None,
            confirmation=confirmation,
            link=link,
            found=outcome.found,
        )
        try:
            await self.surface.client.functions_completeSuccess(function_execution_id=work.execution, outputs=outputs)
        except SlackApiError as error:
            reason = str(error.response.get("error"))
            log.warning("could not complete step %s (%s)", step.callback_id, reason)
            if reason not in ("execution_not_in_running_state", "function_execution_not_found"):
                # Never left running: it was done, and the workflow is told so, if not with its outputs.
                text = f"It was done ({outcome.summary.headline}), but Slack refused the step's outputs ({reason})."
                await self._fail(work.execution, step.op.title, text)

    async def fail(self, work: Work, text: str) -> None:
        """Fail the step with `text` (a message the bot would have shown the user, as plain text)."""
        if work.execution is None:
            return
        step = self.by_operation.get(work.operation)
        await self._fail(work.execution, step.op.title if step else work.operation, html.unescape(text))

    async def _fail(self, execution: str, title: str, text: str) -> None:
        try:
            await self.surface.client.functions_completeError(
                function_execution_id=execution, error=error_text(title, text)
            )
        except SlackApiError as error:
            log.warning("could not fail step run %s (%s)", execution, error.response.get("error"))


def _problems(error: InputError) -> str:
    return "Nothing was sent to SegMetrics: " + " ".join(problem.message for problem in error.errors)
