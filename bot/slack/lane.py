"""Acknowledgements first: background work that costs CPU (reading a command's dates and e-mails, building
and running its request) waits for its turn here, so a burst of commands is acknowledged at full speed
and the work behind it catches up as soon as the burst lets it.

asyncio has no priorities: every ready callback runs in turn, and a thousand validations queued behind a
burst would sit between the acknowledgements. The lane hands out turns one at a time, in order: while Slack
requests are being answered, at most one per `pace` seconds; when none are, one per loop iteration, which
is as fast as the work can go.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterator

PACE = 0.01


class Lane:
    def __init__(self, pace: float = PACE) -> None:
        self.pace = pace
        self.answering = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._granting: asyncio.Handle | asyncio.TimerHandle | None = None
        self._last = 0.0

    @contextlib.contextmanager
    def answer(self) -> Iterator[None]:
        """Around the handling of one Slack request, until its acknowledgement is sent."""
        self.answering += 1
        try:
            yield
        finally:
            self.answering -= 1
            if not self.answering and self._waiting:
                self._schedule(now=True)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def turn(self) -> None:
        """Wait for this caller's turn; then run its CPU work without awaiting in between."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._schedule()
        await future

    def _schedule(self, *, now: bool = False) -> None:
        if self._granting is not None:
            if not now:
                return
            self._granting.cancel()
        loop = asyncio.get_running_loop()
        wait = 0.0 if now or not self.answering else self.pace - (time.monotonic() - self._last)
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
