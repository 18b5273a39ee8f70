"""Slash commands acknowledged and waiting to be read and run: a compact queue worked by a bounded pool.

A burst of a thousand commands is a thousand small records here, not a thousand tasks with their frames;
a fixed number of workers (twice SEGMETRICS_MAX_CONNECTIONS: enough to keep every SegMetrics connection
busy while others post confirmations) read, run and confirm them, taking their lane turns. Each record is
journaled as it is queued (a burst shares a few commits), so a stop or a crash loses none: what was still
queued is resumed by the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.logs import operation, request_id
from bot.operation import Operation
from bot.problems import InputError
from bot.slack import messages
from bot.slack.work import Checked, Work
from bot.store import Queued

log = logging.getLogger("segmetrics_slack.intake")

WORKERS_PER_CONNECTION = 2


@dataclass(slots=True)
class Pending:
    op: Operation
    raw: dict[str, Any]
    work: Work
    journaled: asyncio.Future[Queued | None]
    # The request it came in: a worker outlives requests, so it takes on each one's id in turn.
    request: str | None = None


class Intake:
    def __init__(self, surface: Any, workers: int) -> None:
        # The dispatcher (`SlackSurface`): executor, lane, users, runner, safety.
        self.surface = surface
        self.workers = workers
        self.busy = 0
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def put(self, op: Operation, raw: dict[str, Any], work: Work, key: str) -> asyncio.Future[Queued | None]:
        """Queue a complete command that runs without asking (journaled now, read and run in turn); the
        journal entry, when written."""
        if not self._tasks:
            self._start()
        journaled = self.surface.executor.journal_soon(op, raw, work, key)
        self._queue.put_nowait(Pending(op, raw, work, journaled, request_id.get()))
        return journaled

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work(), name=f"intake worker {n}") for n in range(self.workers)]

    async def _work(self) -> None:
        while True:
            pending = await self._queue.get()
            self.busy += 1
            self._idle.clear()
            request_id.set(pending.request)
            operation.set(pending.op.name)
            try:
                conversation = self.surface.conversation(pending.work.user, pending.work.origin)
                await self.surface.guarded(conversation, self._run(pending), typed=pending.work.typed)
            finally:
                self.busy -= 1
                if not self.busy:
                    self._idle.set()

    async def _run(self, pending: Pending) -> None:
        op, raw, work = pending.op, pending.raw, pending.work
        item = await pending.journaled
        if item is None:
            return  # delivered twice: the first delivery runs it
        surface = self.surface
        await surface.lane.turn()
        habits = await surface.users.habits(work.user)
        try:
            data = await surface.runner.read(
                op, raw, surface.runner.context(habits, connection=work.connection, fingerprint=work.fingerprint)
            )
        except InputError as error:
            await surface.executor.drop(item, "the input could not be read")
            await surface.conversation(work.user, work.origin).tell(messages.input_problems(error, typed=work.typed))
            return
        await surface.executor.perform(op, raw, work, item, checked=Checked(data, habits))

    async def stop(self, grace: float) -> None:
        """Let the commands being run finish (up to `grace`); hand what is still queued to the next start."""
        queued: list[Pending] = []
        while not self._queue.empty():
            queued.append(self._queue.get_nowait())
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        await self._release(queued)

    async def _release(self, queued: list[Pending]) -> None:
        """Journaled but not started: due at once, for the next start to take."""
        now = datetime.now(UTC)
        held = []
        for pending in queued:
            with contextlib.suppress(Exception):
                item = await pending.journaled
                if item is not None:
                    held.append((item.id, item.next_at))
        if held:
            store = self.surface.store
            await store.call(store.store.release_many, held, now)
            log.info("%d queued command(s) left for the next start", len(held))
