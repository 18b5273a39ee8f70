"""Running an operation for someone in Slack, safely: journaled before it runs (one execution per Slack
interaction, resumed after a crash), audited whatever happens, queued when SegMetrics does not answer,
and confirmed with its Undo / Restore / Edit-and-retry buttons.

The first run (right after the acknowledgement) and every retry from the outbox go through `perform`.
A run holds a lease on its journal entry and renews it while it works; finishing or putting the entry
off only counts while the lease is still held, so two runners never both run the same entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.context import Habits
from bot.dates import describe_datetime
from bot.logs import for_operation
from bot.operation import Operation, given
from bot.problems import InputError
from bot.runner import UNREAD, Outcome
from bot.segmetrics.errors import NotFound, SegMetricsError, StatusError, UnsafeRequest
from bot.segmetrics.request import ApiRequest
from bot.slack import messages, modals
from bot.slack.replies import Conversation
from bot.store import AuditEvent, Begin, Queued, Settle

log = logging.getLogger("segmetrics_slack.work")

UNDO_TTL = timedelta(minutes=10)
RETRY_TTL = timedelta(days=1)
RESPONSE_KEPT = 20_000

# True while this task holds an unsettled journal entry: if it is stopped then, the outbox finishes the work.
holding_journal_entry: ContextVar[bool] = ContextVar("holding_journal_entry", default=False)


@dataclass(frozen=True)
class Failure:
    """Why an operation was not done (for callers that report it themselves: batches, Undo)."""

    reason: str
    queued: bool = False


@dataclass(frozen=True)
class Work:
    """Who asked for what, where: all a later retry needs to run it and answer them (JSON-serializable)."""

    operation: str
    user: str
    team: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    response_url: str | None = None
    thread_ts: str | None = None
    typed: str | None = None
    # From the form of a whole record (an update's): a field left blank there is removed, not kept.
    whole: bool = False
    # The SegMetrics connection it goes through (routed when it was asked for; None: `default`), and that
    # connection's fingerprint then: a retry is not sent through a connection changed since.
    connection: str | None = None
    fingerprint: str | None = None
    # Where it was asked for, for the audit trail: None for Slack's own (commands, forms, buttons), else
    # `workflow` or `reaction`. A workflow step's run (`execution`: its function_execution_id) is answered by
    # completing the step, not by a message.
    surface: str | None = None
    execution: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # Flat strings only: a plain copy (dataclasses.asdict deep-copies, at ten times the cost).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Work:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})  # type: ignore[arg-type]

    @property
    def origin(self) -> modals.Origin:
        return modals.Origin(
            channel_id=self.channel_id,
            response_url=self.response_url,
            thread_ts=self.thread_ts,
            channel_name=self.channel_name,
            whole=self.whole,
            connection=self.connection,
            fingerprint=self.fingerprint,
        )


def _kept(value: Any) -> Any:
    """A response body for the audit trail, within reason."""
    text = str(value)
    return value if len(text) <= RESPONSE_KEPT else text[:RESPONSE_KEPT] + "…"


class LeaseLost(Exception):
    """The journal entry's lease ran out and another runner took it."""


class Poisoned(Exception):
    """A journaled run failed unexpectedly (a bug, not SegMetrics): its entry is ended as failed and audited,
    never retried; whoever catches this tells the user once, with `reference` (also in the log)."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"unexpected failure, reference {reference}")
        self.reference = reference


@dataclass(frozen=True)
class Checked:
    """An input already validated before the acknowledgement, and the zone and locale it was read with:
    reused when they are still the user's, so a command's dates are read once, as it was sent."""

    data: Any
    habits: Habits


@dataclass
class Lease:
    """The journal entry a run holds, and until when (renewed while the run works). Held while renewing
    and while ending the run, so the end always names the lease as it is."""

    item: Queued
    until: datetime
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ended: bool = False  # settled (or put off): nothing left to hold


class Executor:
    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): runner, client, users, store, settings, safety, outbox.
        self.surface = surface

    @property
    def settings(self) -> Any:
        return self.surface.runner.settings

    @property
    def lease(self) -> timedelta:
        """How long a run holds its journal entry before another bot may take it (renewed every third of it)."""
        return timedelta(seconds=self.settings.segmetrics_lease_seconds)

    def audit(self, work: Work, outcome: str, **details: Any) -> None:
        self.surface.store.record(
            AuditEvent(
                operation=work.operation,
                outcome=outcome,
                user_id=work.user,
                team_id=work.team,
                channel_id=work.channel_id,
                connection=work.connection,
                surface=work.surface,
                **details,
            )
        )

    async def start(
        self,
        op: Operation,
        raw: dict[str, Any],
        work: Work,
        *,
        key: str | None,
        quiet: bool = False,
        checked: Checked | None = None,
        journaled: asyncio.Future[Queued | None] | None = None,
    ) -> Outcome | Failure | None:
        """Run `op` now. A write is journaled first under `key` (or was: `journaled`, submitted by the caller
        before Slack's answer): a repeat of the same key does nothing (None). `quiet`: no confirmation and no
        message on failure; the caller reports the result."""
        if key is None:
            return await self.perform(op, raw, work, None, quiet=quiet, checked=checked)
        if journaled is None:
            known = checked.data.known if checked is not None and op.changes is not None else UNREAD
            journaled = self.journal_soon(op, raw, work, key, known=known)
        # Written down that `op` is to run for this Slack interaction, leased to this run; None when the
        # interaction was seen before. A change keeps the record it was read against (`known`): a retry makes
        # the same change of the same record.
        item = await journaled
        if item is None:
            log.info("%s: interaction %s already handled; not running it again", op.name, key)
            return None
        return await self.perform(op, raw, work, item, quiet=quiet, checked=checked)

    def journal_soon(
        self, op: Operation, raw: dict[str, Any], work: Work, key: str, *, known: Any = UNREAD
    ) -> asyncio.Future[Queued | None]:
        """`journal`, submitted now and answered later."""
        now = datetime.now(UTC)
        deadline = now + timedelta(hours=self.settings.segmetrics_outbox_hours)
        job = work.as_dict() if known is UNREAD else {**work.as_dict(), "known": known}
        return self.surface.store.begin(Begin(key, op.name, raw, job, now + self.lease, deadline))

    async def drop(self, item: Queued, reason: str) -> None:
        """A journaled command that will not run (what was typed could not be read): never resumed."""
        await self.surface.store.settle(Settle(item.id, "failed", item.next_at, 0, reason))

    async def perform(
        self,
        op: Operation,
        raw: dict[str, Any],
        work: Work,
        item: Queued | None,
        *,
        quiet: bool = False,
        checked: Checked | None = None,
    ) -> Outcome | Failure:
        """Run one try of `op` (the journal entry `item`, already leased, when it is a write)."""
        with for_operation(op.name):
            if item is None:
                return await self._perform(op, raw, work, None, quiet, checked)
            try:
                async with self._holding(item) as lease:
                    try:
                        return await self._perform(op, raw, work, lease, quiet, checked)
                    except (LeaseLost, asyncio.CancelledError):
                        raise
                    except Exception as error:
                        # A bug, not SegMetrics: running it again would fail again. It ends here, once.
                        raise await self._poisoned(lease, work, error) from error
            except LeaseLost:
                log.warning("%s: journal entry %s was taken by another runner; leaving it to it", op.name, item.id)
                return Failure("being run by another instance of the bot")

    @contextlib.asynccontextmanager
    async def _holding(self, item: Queued) -> AsyncIterator[Lease]:
        lease = Lease(item, item.next_at)
        store = self.surface.store
        length = self.lease
        if item.next_at - datetime.now(UTC) < length / 2:
            # Journaled a while ago (it waited its turn behind a burst): renew before running, so the
            # outbox cannot take it meanwhile.
            until = datetime.now(UTC) + length
            if not await store.call(store.store.lease, item.id, item.next_at, until):
                raise LeaseLost(item.id)
            lease.until = until
        holding_journal_entry.set(True)

        async def renew() -> None:
            while True:
                await asyncio.sleep(length.total_seconds() / 3)
                async with lease.lock:
                    if lease.ended:
                        return
                    until = datetime.now(UTC) + length
                    if not await store.call(store.store.lease, item.id, lease.until, until):
                        log.warning("lost the lease on %s; another runner has it", item.id)
                        return
                    lease.until = until

        renewing = asyncio.get_running_loop().create_task(renew(), name="renew lease")
        try:
            yield lease
        except asyncio.CancelledError:
            # Stopped mid-run: the entry is due at once, for the next bot to take (still pending, so
            # it is resumed, not lost), rather than when the lease would have run out.
            with contextlib.suppress(Exception):
                await asyncio.shield(store.call(store.store.lease, item.id, lease.until, datetime.now(UTC)))
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _perform(
        self, op: Operation, raw: dict[str, Any], work: Work, lease: Lease | None, quiet: bool, checked: Checked | None
    ) -> Outcome | Failure:
        surface, runner = self.surface, self.surface.runner
        conversation = surface.conversation(work.user, work.origin)
        item = lease.item if lease else None
        tries = (item.tries if item else 0) + 1
        if item is not None and datetime.now(UTC) > item.deadline:
            return await self._give_up(
                op, work, lease, tries - 1, "its time ran out while the bot was away", sent=item.job.get("sent")
            )
        habits = await surface.users.habits(work.user)
        known = item.job.get("known") if item is not None and "known" in item.job else UNREAD
        try:
            # Dates are read as of when the user sent the command, not when a retry runs: "yesterday" typed
            # before midnight and retried after it is still the day before it was typed. Through the
            # connection it was routed to then (ConnectionGone if an admin removed it since).
            ctx = runner.context(
                habits,
                now=item.created_at if item is not None else None,
                connection=work.connection,
                fingerprint=work.fingerprint,
            )
            reused = checked is not None and checked.habits == habits
            if reused:
                data = checked.data
            else:
                data = await runner.read(op, raw, ctx, known=known, whole=work.whole)
        except InputError as error:  # valid in the fallback zone, not in the user's (rare)
            return await self._refused(lease, tries, work, error, quiet)
        # A retry reuses the snapshot taken before the first try: the contact may already be gone.
        snapshot = item.job.get("snapshot") if item is not None and "snapshot" in item.job else None
        if snapshot is None:
            snapshot = await self._snapshot(op, data, ctx)
        # Building and sending cost CPU: acknowledgements go first. A command read in its turn a moment ago
        # goes on when nobody waits (a second turn would only cost the lane's pace: 10 ms of a command's time).
        if not (reused and surface.lane.idle):
            await surface.lane.turn()
        request = op.request(data, ctx)
        sent = {"method": request.method, "path": request.path, "json": request.json, "url": self._url(request, work)}
        typed = given(raw).keys()
        try:
            outcome = await runner.execute(op, data, ctx, given=typed, request=request)
        except SegMetricsError as error:
            return await self._failed(op, raw, work, lease, tries, error, sent, snapshot, conversation, quiet, ctx)
        except InputError as error:  # a change whose record changed meanwhile: nothing was sent
            return await self._refused(lease, tries, work, error, quiet)
        notes = []
        if item is not None and item.tries > 0:
            notes.append(f"queued while SegMetrics was not answering; went through on try {tries}")
            if not outcome.found and request.method == "DELETE" and item.job.get("maybe_applied"):
                # An earlier try's answer was lost, and it had deleted it.
                outcome = replace(outcome, found=True, summary=op.describe(data, None, ctx, given=typed))
                notes.append("an earlier try had already deleted it")
        ours = await self._settle(lease, "done", tries)
        response = outcome.response
        self.audit(
            work,
            "succeeded" if outcome.found else "not_found",
            request=sent,
            status_code=response.status_code if response else 404,
            response=_kept(response.body) if response else None,
            attempts=response.attempts if response else None,
            snapshot=snapshot,
            key=item.key if item else None,
        )
        if not ours:
            # Taken over by another bot after this one's lease ran out: that one sends it again (an upsert) and
            # confirms it; a confirmation from here too would be a second one.
            return outcome
        if not quiet:
            await surface.lane.turn()  # so does the confirmation
        await surface.confirm(outcome, op, work, conversation, ctx, snapshot=snapshot, notes=notes, quiet=quiet)
        return outcome

    async def _poisoned(self, lease: Lease, work: Work, error: Exception) -> Poisoned:
        reference = uuid.uuid4().hex[:8]
        reason = f"the bot failed unexpectedly ({type(error).__name__}, reference {reference})"
        if not lease.ended:
            await self._settle(lease, "failed", lease.item.tries + 1, reason)
        self.audit(work, "failed", detail=reason, key=lease.item.key)
        return Poisoned(reference)

    def _url(self, request: ApiRequest, work: Work) -> str | None:
        """The URL the request goes to, for the audit trail (None when the funnel refuses it: never sent)."""
        try:
            return str(self.surface.runner.link(work.connection).client.url_for(request))
        except (UnsafeRequest, InputError):  # refused by the funnel, or its connection was removed just now
            return None

    async def _refused(self, lease: Lease | None, tries: int, work: Work, error: InputError, quiet: bool) -> Failure:
        """What was typed cannot be sent as it is: nothing was, and the user alone is told what to fix."""
        await self._settle(lease, "failed", tries, str(error))
        self.audit(work, "failed", detail=str(error))
        if not quiet:
            await self.surface.tell(work, messages.input_problems(error, typed=work.typed))
        return Failure(str(error))

    async def _snapshot(self, op: Operation, data: Any, ctx: Any) -> Any:
        """Before destroying, what its `snapshot` reader finds: kept in the audit trail, what Restore re-creates."""
        reader = self.surface.runner.registry.reader(op)
        if reader is None:
            return None
        try:
            outcome = await self.surface.runner.execute(reader, data, ctx)
        except SegMetricsError as error:
            log.warning("could not look the contact up before deleting it (%s)", type(error).__name__)
            return None
        if not outcome.found or outcome.response is None:
            return None
        return (outcome.response.body or {}).get("data")

    async def _failed(
        self,
        op: Operation,
        raw: dict[str, Any],
        work: Work,
        lease: Lease | None,
        tries: int,
        error: SegMetricsError,
        sent: dict[str, Any],
        snapshot: Any,
        conversation: Conversation,
        quiet: bool,
        ctx: Any,
    ) -> Failure:
        item = lease.item if lease else None
        details: dict[str, Any] = {"request": sent, "attempts": error.attempts, "detail": str(error)}
        if isinstance(error, StatusError):
            details.update(status_code=error.status_code, response=_kept(error.body))
        if snapshot is not None:
            details["snapshot"] = snapshot
        if error.transient and lease is not None and item is not None and self.settings.segmetrics_outbox_hours > 0:
            next_at = datetime.now(UTC) + timedelta(seconds=self.settings.outbox_delay(tries))
            if next_at <= item.deadline:
                job = {**item.job, **({"snapshot": snapshot} if snapshot is not None else {}), "sent": sent}
                if error.maybe_applied:
                    job["maybe_applied"] = True  # a later "nothing to delete" is then this try's doing
                store = self.surface.store
                async with lease.lock:
                    lease.ended = True
                    await store.call(
                        store.store.reschedule,
                        item.id,
                        held=lease.until,
                        next_at=next_at,
                        tries=tries,
                        error=str(error),
                        job=job,
                    )
                self.audit(work, "queued", key=item.key, **details)
                self.surface.outbox.wake()
                if tries == 1 and not quiet:
                    until = describe_datetime(item.deadline, ctx.zone)
                    text = (
                        f"⏳ SegMetrics is not answering ({error.reason}). *{op.title}* is queued and will be "
                        f"retried until {until}; you will be told when it goes through or if it gives up."
                    )
                    await conversation.tell(messages.notice(text, typed=work.typed))
                return Failure(f"SegMetrics is not answering; queued, will retry ({error.reason})", queued=True)
            return await self._give_up(op, work, lease, tries, error.reason, details, sent=sent)
        if error.maybe_applied:
            await self._unsure(op, sent, ctx)
        await self._settle(lease, "failed", tries, str(error))
        outcome_name = "not_found" if isinstance(error, NotFound) and op.not_found else "failed"
        self.audit(work, outcome_name, key=item.key if item else None, **details)
        reason = "; ".join(error.errors) if isinstance(error, StatusError) and error.errors else error.reason
        if not quiet:
            retry = None if work.execution else await self.surface.safety.retry_ticket(op, raw, work)
            await self.surface.tell(work, messages.segmetrics_problem(error, op, typed=work.typed, retry=retry))
        return Failure(reason)

    async def _give_up(
        self,
        op: Operation,
        work: Work,
        lease: Lease | None,
        tries: int,
        reason: str,
        details: dict[str, Any] | None = None,
        *,
        sent: dict[str, Any] | None = None,
    ) -> Failure:
        if sent is not None:
            # A try may have gone through with its answer lost: what SegMetrics holds is not known.
            with contextlib.suppress(InputError):  # its connection is gone: no record of it to doubt
                await self._unsure(op, sent, self.surface.runner.context(connection=work.connection))
        await self._settle(lease, "gave_up", tries, reason)
        self.audit(work, "gave_up", key=lease.item.key if lease else None, **(details or {"detail": reason}))
        text = (
            f"❌ Gave up on *{op.title}* after {tries} tries: {reason}. SegMetrics never confirmed it, so it was "
            "most likely not done."
        )
        await self.surface.tell(work, messages.notice(text, typed=work.typed))
        return Failure(reason)

    async def _unsure(self, op: Operation, sent: dict[str, Any], ctx: Any) -> None:
        records = self.surface.runner.records
        if records is not None:
            await records.unsure(op, ApiRequest(sent["method"], sent["path"], sent.get("json")), ctx)

    async def _settle(self, lease: Lease | None, state: str, tries: int, error: str | None = None) -> bool:
        """End the journal entry as `state`; False when it was no longer this run's (its lease ran out and
        another bot took it over: that one answers for it)."""
        if lease is None:
            return True
        holding_journal_entry.set(False)
        async with lease.lock:
            lease.ended = True
            if not await self.surface.store.settle(Settle(lease.item.id, state, lease.until, tries, error)):
                log.warning("journal entry %s was no longer ours when it ended (%s)", lease.item.id, state)
                return False
        return True
