"""Acknowledgements first: background work that costs CPU (reading a command's dates and e-mails, building
and running its request) waits for its turn here, so a burst of commands is acknowledged at full speed
and the work behind it catches up as soon as the burst lets it.

asyncio has no priorities: every ready callback runs in turn, and a thousand validations queued behind a
burst would sit between the acknowledgements. The lane hands out turns one at a time, in order: while Slack
requests are being answered (or were, less than `pace` ago), at most one per `pace` seconds; otherwise one
per loop iteration, which is as fast as the work can go.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from types import TracebackType

PACE = 0.01


class Lane:
    def __init__(self, pace: float = PACE) -> None:
        self.pace = pace
        self.answering = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._granting: asyncio.Handle | asyncio.TimerHandle | None = None
        self._last = 0.0
        self._quiet_from = 0.0

    def answer(self) -> Lane:
        """`with lane.answer():` around the handling of one Slack request, until it is acknowledged."""
        return self

    def __enter__(self) -> None:
        self.answering += 1

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.answering -= 1
        # Between two requests of a burst nothing is being answered for a moment: still busy.
        self._quiet_from = time.monotonic() + self.pace

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def idle(self) -> bool:
        """Nothing is being answered and no work waits for a turn: a turn now would only cost its pace."""
        return not self.answering and not self._waiting

    async def turn(self) -> None:
        """Wait for this caller's turn; then run its CPU work without awaiting in between."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._schedule()
        await future

    def _schedule(self) -> None:
        if self._granting is not None:
            return
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        busy = self.answering or now < self._quiet_from
        wait = self._last + self.pace - now if busy else 0.0
        self._granting = loop.call_later(wait, self._grant) if wait > 0 else loop.call_soon(self._grant)

    def _grant(self) -> None:
        self._granting = None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():  # a waiter cancelled meanwhile (the bot stopping) lost its turn
                future.set_result(None)
                self._last = time.monotonic()
                break
        if self._waiting:
            self._schedule()
