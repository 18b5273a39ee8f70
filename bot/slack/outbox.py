"""The outbox worker: retries work SegMetrics did not take (and work a stopped bot left unfinished) until
it goes through or its time runs out (SEGMETRICS_OUTBOX_HOURS). Pending work is in the database, so it
survives a restart; each item is leased before it runs, so two bots sharing a database never both run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.logs import new_request
from bot.slack.work import Work

log = logging.getLogger("segmetrics_slack.outbox")

# With nothing due, look again this often anyway: another bot's lease may run out.
IDLE_CHECK = 30.0


class Outbox:
    def __init__(self, surface: Any) -> None:
        # The dispatcher (`SlackSurface`): store, executor, runner.
        self.surface = surface
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="outbox")

    def wake(self) -> None:
        """Something was queued: look at the schedule again now."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
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
        if next_at is None:
            return IDLE_CHECK
        return max(0.0, min(IDLE_CHECK, (next_at - datetime.now(UTC)).total_seconds()))

    async def run_due(self) -> int:
        """Run every item that is due now; return how many this bot took."""
        store, executor, registry = self.surface.store, self.surface.executor, self.surface.runner.registry
        taken = 0
        for item in await store.call(store.store.due):
            until = datetime.now(UTC) + executor.lease()
            if not await store.call(store.store.lease, item.id, item.next_at, until):
                continue  # another bot took it
            resource, _, verb = item.operation.partition(" ")
            op = registry.find(resource, verb)
            if op is None:
                await store.call(store.store.settle, item.id, "failed", tries=item.tries, error="no such operation")
                continue
            taken += 1
            new_request(op.name)
            log.info("retrying queued %s (try %d)", op.name, item.tries + 1)
            await executor.perform(op, dict(item.raw), Work.from_dict(dict(item.job)), replace(item, next_at=until))
        return taken
