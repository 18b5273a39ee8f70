"""Work that runs after Slack has its acknowledgement: SegMetrics calls, confirmations, opening forms."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("segmetrics_slack.jobs")


class Jobs:
    """Background tasks, kept referenced until done (asyncio holds only weak references), and drained
    on shutdown so a stopping bot finishes what it acknowledged."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            # The work reports its own failures to the user; this is the last resort, for the logs.
            log.exception("background job %s failed", name)

    async def drain(self, timeout: float) -> int:
        """Wait for running jobs up to `timeout` seconds; cancel the rest and return how many there were."""
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1)
            log.warning("stopped with %d job(s) unfinished", len(pending))
        return len(pending)
