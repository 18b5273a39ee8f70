"""The outbox worker: retries work SegMetrics did not take (and work a stopped bot left unfinished) until
it goes through or its time runs out (SEGMETRICS_OUTBOX_HOURS). Pending work is in the database, so it
survives a restart; each item is leased before it runs, so two bots sharing a database never both run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.logs import new_request
from bot.slack import messages
from bot.slack.work import Poisoned, Work

log = logging.getLogger("segmetrics_slack.outbox")

# With nothing due, look again this often anyway: another bot's lease may run out.
IDLE_CHECK = 30.0
PRUNE_EVERY = timedelta(hours=1)
KEEP_CLAIMS = timedelta(days=7)
KEEP_SETTLED = timedelta(days=30)


class Outbox:
    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): store, executor, runner, safety.
        self.surface = surface
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pruned = datetime.min.replace(tzinfo=UTC)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="outbox")

    def wake(self) -> None:
        """Something was queued: look at the schedule again now."""
        self._wake.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Take no new item; let the one running finish (up to `grace`), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run_due()
                await self._prune()
                wait = await self._until_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the outbox failed a round; trying again shortly")
                wait = 5.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            self._wake.clear()

    async def _until_next(self) -> float:
        store = self.surface.store
        next_at = await store.call(store.store.next_due_at)
        # Another bot's work (left by a bot that died) becomes due when its lease runs out: looked for often
        # enough that it is finished soon after.
        idle = min(IDLE_CHECK, self.surface.executor.lease.total_seconds() / 4)
        if next_at is None:
            return idle
        return max(0.0, min(idle, (next_at - datetime.now(UTC)).total_seconds()))

    async def _prune(self) -> None:
        if datetime.now(UTC) - self._pruned < PRUNE_EVERY:
            return
        self._pruned = datetime.now(UTC)
        store = self.surface.store
        await store.call(store.store.prune, claims_after=KEEP_CLAIMS, settled_after=KEEP_SETTLED)

    async def run_due(self) -> int:
        """Run every item that is due now; return how many this bot took."""
        store, executor, registry = self.surface.store, self.surface.executor, self.surface.runner.registry
        taken = 0
        for item in await store.call(store.store.due):
            if self._stopping:
                break
            until = datetime.now(UTC) + executor.lease
            if not await store.call(store.store.lease, item.id, item.next_at, until):
                continue  # another bot took it
            leased = replace(item, next_at=until)
            op = registry.named(item.operation)
            work = Work.from_dict(dict(item.job))
            if op is None:
                await store.call(store.store.settle, item.id, "failed", held=until, tries=item.tries, error="unknown")
                continue
            # The policy may have changed since it was queued: it decides again.
            decision = self.surface.safety.decide(op, work)
            if not decision.allowed:
                await store.call(store.store.settle, item.id, "failed", held=until, tries=item.tries, error="refused")
                await self.surface.tell(work, self.surface.safety.refusal(decision))
                continue
            taken += 1
            new_request(op.name)
            log.info("retrying queued %s (try %d)", op.name, item.tries + 1)
            try:
                await executor.perform(op, dict(item.raw), work, leased)
            except Poisoned as error:  # ended as failed and audited: the user is told, once
                log.exception("queued %s failed unexpectedly (reference %s)", op.name, error.reference)
                await self.surface.tell(work, messages.unexpected_problem(error.reference, typed=work.typed))
            except Exception as error:  # before it ran (the store, say): a try, put off
                log.exception("queued %s failed unexpectedly", op.name)
                await self._put_off(leased, error)
        return taken

    async def _put_off(self, item: Any, error: Exception) -> None:
        """An unexpected failure counts as a try: retried later, given up at its deadline like any other."""
        store, settings = self.surface.store, self.surface.runner.settings
        tries = item.tries + 1
        next_at = datetime.now(UTC) + timedelta(seconds=settings.outbox_delay(tries))
        if next_at > item.deadline:
            await store.call(store.store.settle, item.id, "gave_up", held=item.next_at, tries=tries, error=repr(error))
            work = Work.from_dict(dict(item.job))
            text = f"❌ Gave up on *{item.operation}*: the bot could not run it ({type(error).__name__})."
            await self.surface.tell(work, messages.notice(text, typed=work.typed))
            return
        await store.call(
            store.store.reschedule, item.id, held=item.next_at, next_at=next_at, tries=tries, error=repr(error)
        )
