"""Bulk import, whatever surface started it (a Slack form, the terminal): a preview of what would be sent, then
the run, row by row through the same reading and sending as one command.

- `preview` reads every row as its command would be read (the user's zone and locale, the connection's
  currency), and says which rows cannot be sent and why, what the first rows become, and how many an earlier
  import already sent. Nothing is sent.
- `ImportRun` sends the rows, a few at a time, each row's outcome kept (`ImportJournal`) so that a restart
  resumes where it stopped and no row is sent twice. SegMetrics being slow or down (429, 5xx, no answer) pauses
  the import and retries, honouring Retry-After; a 400 fails that row only. It can be cancelled between rows.
- `results_csv` is every row with what became of it, SegMetrics' own reason for each refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.bulk.journal import CHUNK, SENDING, ImportJournal, ImportRecord, RowOutcome
from bot.bulk.mapping import ColumnMap, raw_of
from bot.bulk.table import Row, Table
from bot.changes import AskInForm
from bot.context import Context
from bot.operation import Operation
from bot.problems import InputError, InvalidValue
from bot.runner import Runner
from bot.segmetrics.errors import AuthenticationFailed, SegMetricsError, StatusError
from bot.store import AsyncStore, AuditEvent

log = logging.getLogger("segmetrics_slack.import")

SAMPLES = 3
SHOWN_INVALID = 200
LEASE = timedelta(seconds=60)
RENEW_EVERY = 20.0
# Nothing is sent in the lease's last seconds unless it was renewed: another runner may take it over then.
LEASE_MARGIN = timedelta(seconds=15)
IN_DOUBT = (
    "in doubt: the bot stopped while this change was being sent, so it may or may not have been applied; check it "
    "in SegMetrics before sending it again"
)
PAUSE_FIRST, PAUSE_LONGEST = 1.0, 60.0
# Rows read between two turns given to the acknowledgements of other users' commands.
YIELD_EVERY = 20

Pause = Callable[[], Awaitable[None]]


async def _no_pause() -> None:
    await asyncio.sleep(0)


def importable(registry: Any) -> list[Operation]:
    """Every write operation (the raw API call aside): what a row of a file can be."""
    return [op for op in registry if not op.reads and op.resource != "api"]


def parse_overrides(text: str | None) -> dict[str, str]:
    """`Column = field` lines (or `Column=field`), as the mapping box and `--map` take them; `InvalidValue`."""
    overrides: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        column, sign, target = line.partition("=")
        if not sign or not column.strip():
            raise InvalidValue(
                f"line {number} of the mapping (`{line.strip()}`) is not `Column = field`",
                example="First Name = first_name",
            )
        overrides[column.strip()] = target.strip()
    return overrides


def digest(ctx: Context, request: Any) -> str:
    """What a row sends, and where: the account, the integration, the connection as it is (its fingerprint),
    and the request as built (dates already read in the importer's zone, amounts in cents). A row imported again
    with the same digest would send exactly the same; anything else (another zone, "yesterday" on another day,
    another account) is not "already sent"."""
    what = [ctx.account_id, ctx.integration_id, ctx.fingerprint, request.method, request.path, request.json]
    return hashlib.sha256(json.dumps(what, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


UNREADABLE = "-"  # the digest of a row that could not be read (never "already sent")


def problems_of(error: InputError) -> str:
    """An input error as one line, each problem naming its field (as a command's refusal does)."""
    if isinstance(error, AskInForm):
        return error.without_form
    return "; ".join(problem.message for problem in error.errors)


def refusal_of(error: SegMetricsError) -> str:
    """SegMetrics' own reason for refusing a row."""
    if isinstance(error, StatusError) and error.errors:
        return f"SegMetrics said ({error.status_code}): " + "; ".join(error.errors)
    return str(error)


@dataclass
class Preview:
    """What an import would do: nothing sent yet."""

    operation: Operation
    connection: str
    mapping: ColumnMap
    total: int = 0
    valid: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)  # the first SHOWN_INVALID
    invalid_count: int = 0
    samples: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, the request as sent)
    done_before: int = 0  # valid rows an earlier import already sent


async def preview(
    runner: Runner,
    table: Table,
    op: Operation,
    mapping: ColumnMap,
    ctx: Context,
    *,
    journal: ImportJournal | None = None,
    store: AsyncStore | None = None,
    pause: Pause = _no_pause,
) -> Preview:
    """Read every row of `table` as `op` (raises `TableError` for a file problem found on the way)."""
    found = Preview(op, ctx.connection, mapping)
    # Looked up a chunk at a time: a 100,000-row file never holds all its digests at once.
    digests: list[str] = []

    async def look_up() -> None:
        if journal is not None and store is not None and digests:
            sent = await store.call(journal.done_before, list(digests))
            found.done_before += sum(1 for key in digests if key in sent)  # a row given twice counts twice
        digests.clear()

    for index, row in enumerate(table.rows()):
        if index % YIELD_EVERY == 0:
            await pause()
        found.total += 1
        try:
            raw = raw_of(row.values, mapping, op)  # a cell chat would refuse (a line break in a field.x) raises
            data = await runner.read(op, raw, ctx)
            request = op.request(data, ctx)
        except InputError as error:
            found.invalid_count += 1
            if len(found.invalid) < SHOWN_INVALID:
                found.invalid.append((row.line, problems_of(error)))
            continue
        found.valid += 1
        digests.append(digest(ctx, request))
        if len(digests) >= CHUNK:
            await look_up()
        if len(found.samples) < SAMPLES:
            found.samples.append((row.line, sent_form(request.method, request.path, request.json)))
    await look_up()
    return found


def sent_form(method: str, path: str, body: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {"method": method, "path": path}
    if body is not None:
        shown["json"] = body
    return shown


@dataclass
class Progress:
    """How far an import is. `paused`: why it waits (SegMetrics not answering), None when it does not."""

    total: int
    counts: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    sent_at_start: int = 0
    paused: str | None = None
    finished: bool = False
    cancelled: bool = False
    lost: bool = False  # another runner took it over

    @property
    def processed(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0) + self.counts.get("invalid", 0)

    def seconds_left(self) -> float | None:
        """From this run's own pace (rows already done before a restart do not count)."""
        done_now = self.processed - self.sent_at_start
        elapsed = time.monotonic() - self.started
        if done_now < 5 or elapsed <= 0:
            return None
        return (self.total - self.processed) / (done_now / elapsed)


class ImportRun:
    """Sends one import's rows (see the module). `audit(work_key, outcome, request, response_or_error)` records
    each row; `on_progress` is called at most every `every` seconds, and once at the end."""

    def __init__(
        self,
        runner: Runner,
        store: AsyncStore,
        journal: ImportJournal,
        record: ImportRecord,
        op: Operation,
        table: Table,
        mapping: ColumnMap,
        ctx: Context,
        *,
        workers: int,
        audit: Callable[[AuditEvent], None],
        on_progress: Callable[[Progress], Awaitable[None]],
        pause: Pause = _no_pause,
        every: float = 2.0,
    ) -> None:
        self.runner, self.store, self.journal, self.record = runner, store, journal, record
        self.op, self.table, self.mapping, self.ctx = op, table, mapping, ctx
        self.workers, self.audit, self.on_progress, self.pause, self.every = workers, audit, on_progress, pause, every
        self.progress = Progress(total=record.total)
        self._cancelled = asyncio.Event()
        self._open = asyncio.Event()
        self._open.set()
        self._failures = 0
        self._changed = asyncio.Event()
        self._held_until = record.held_until
        self._workers = workers
        # Why the import stopped before its end, when a reason every row shares stopped it (None otherwise).
        self.stopped: str | None = None

    def cancel(self) -> None:
        """Stop between rows: what is being sent finishes; the rest is not sent."""
        self._cancelled.set()
        self._open.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    async def run(self) -> Progress:
        record = self.record
        # A change (a refund, an update) being sent when the bot stopped may have been applied: it is not sent
        # again (a refund twice is two refunds), and its row says to check it.
        await self.store.call(self.journal.settle_in_doubt, record.id, IN_DOUBT)
        self.progress.counts = await self.store.call(self.journal.counts, record.id)
        self.progress.sent_at_start = self.progress.processed
        finished = await self.store.call(self.journal.finished_lines, record.id)
        # Rows changing the same record must see each other's result: one at a time.
        workers = 1 if self.op.changes is not None else self.workers
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=workers * 4)
        self._workers = workers
        tasks = [
            asyncio.create_task(self._produce(queue, finished), name="import rows"),
            *(asyncio.create_task(self._work(queue), name="import worker") for _ in range(workers)),
        ]
        ticker = asyncio.create_task(self._tick(), name="import progress")
        renewing = asyncio.create_task(self._renew(), name="import lease")
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            # Stopped (SIGTERM): the import is handed over at once to the next start, rather than when the
            # lease runs out. A row being sent now may be sent again then: every write is an upsert.
            with contextlib.suppress(Exception):
                until = datetime.now(UTC)
                await asyncio.shield(self.store.call(self.journal.lease, record.id, self._held_until, until))
            raise
        finally:
            for task in tasks:
                task.cancel()
            renewing.cancel()
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(ticker, renewing, return_exceptions=True)
        if not self.progress.lost:
            state = "cancelled" if self.cancelled else "done"
            await self.store.call(self.journal.end, record.id, state)
            self.progress.cancelled = self.cancelled
            self.progress.finished = True
        self.progress.paused = None
        await self.on_progress(self.progress)
        return self.progress

    async def _produce(self, queue: asyncio.Queue[Row | None], finished: set[int]) -> None:
        try:
            for index, row in enumerate(self.table.rows()):
                if self.cancelled or self.progress.lost:
                    break
                if index % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if row.line not in finished:
                    await queue.put(row)
        finally:
            for _ in range(self._workers):
                await queue.put(None)

    async def _work(self, queue: asyncio.Queue[Row | None]) -> None:
        while True:
            row = await queue.get()
            if row is None:
                return
            if self.cancelled or self.progress.lost:
                continue
            await self.pause()  # reading and building cost CPU: acknowledgements go first
            outcome = await self._row(row)
            if outcome is None:
                continue
            await self.store.grouped(self.journal.finish_rows, outcome)
            self.progress.counts[outcome.status] = self.progress.counts.get(outcome.status, 0) + 1
            self._changed.set()

    async def _row(self, row: Row) -> RowOutcome | None:
        op, ctx, record = self.op, self.ctx, self.record
        try:
            raw = raw_of(row.values, self.mapping, op)
            data = await self.runner.read(op, raw, ctx)
            request = op.request(data, ctx)
        except InputError as error:
            return RowOutcome(record.id, row.line, "invalid", problems_of(error), UNREADABLE)
        key = digest(ctx, request)

        def outcome(status: str, reason: str | None = None) -> RowOutcome:
            return RowOutcome(record.id, row.line, status, reason, key)

        if not record.again and await self.store.call(self.journal.done_before, [key], besides=record.id):
            return outcome("skipped", "already sent, exactly so, by an earlier import")
        sent = sent_form(request.method, request.path, request.json)
        audit_key = f"import:{record.id}:{row.line}"
        while True:
            await self._open.wait()
            if self.cancelled or not self._holding():
                return None  # not sent: the results say so
            if op.changes is not None:
                # Kept before it is sent: a stop now leaves it in doubt, never sent twice (see `run`).
                await self.store.call(self.journal.sending, outcome(SENDING))
            try:
                result = await self.runner.execute(op, data, ctx, request=request)
            except SegMetricsError as error:
                if error.transient:
                    await self._wait_out(error)
                    continue
                self._failures = 0
                details = (
                    {"status_code": error.status_code, "response": error.body} if isinstance(error, StatusError) else {}
                )
                self._audit("failed", sent, audit_key, detail=str(error), attempts=error.attempts, **details)
                if isinstance(error, AuthenticationFailed):  # every other row would be refused the same way
                    self.stop(f"SegMetrics refused the connection's API key ({error.status_code})")
                return outcome("failed", refusal_of(error))
            except InputError as error:  # its connection was changed or removed meanwhile: nothing was sent
                self._audit("failed", sent, audit_key, detail=problems_of(error))
                self.stop(problems_of(error))
                return outcome("failed", problems_of(error))
            self._failures = 0
            response = result.response
            status = "done" if result.found else "not_found"
            self._audit(
                "succeeded" if result.found else "not_found",
                sent,
                audit_key,
                status_code=response.status_code if response else 404,
                attempts=response.attempts if response else None,
            )
            return outcome(status, None if result.found else result.summary.headline)

    def stop(self, reason: str) -> None:
        """Stop for a reason every remaining row would share (a refused key, a changed connection)."""
        if self.stopped is None:
            self.stopped = reason
            log.warning("import %s stopped: %s", self.record.id, reason)
        self.cancel()

    def _holding(self) -> bool:
        """Whether this runner still surely holds the import: never send in the last moments of a lease that
        was not renewed (a stalled runner must not send alongside the one that took over)."""
        if self.progress.lost:
            return False
        if datetime.now(UTC) >= self._held_until - LEASE_MARGIN:
            self.progress.lost = True
            self._cancelled.set()
            self._open.set()
            return False
        return True

    def _audit(self, outcome: str, sent: dict[str, Any], key: str, **details: Any) -> None:
        work = self.record.work
        self.audit(
            AuditEvent(
                operation=self.op.name,
                outcome=outcome,
                user_id=work.get("user"),
                team_id=work.get("team"),
                channel_id=work.get("channel_id"),
                connection=self.ctx.connection,
                surface=work.get("surface"),
                request=sent,
                key=key,
                **details,
            )
        )

    async def _wait_out(self, error: SegMetricsError) -> None:
        """SegMetrics is not answering: every worker waits (Retry-After when it says, else doubling pauses)."""
        if not self._open.is_set():  # another worker already pauses the import
            await self._open.wait()
            return
        self._open.clear()
        self._failures += 1
        retry_after = getattr(error, "retry_after", None)
        wait = retry_after if retry_after else min(PAUSE_LONGEST, PAUSE_FIRST * 2 ** (self._failures - 1))
        self.progress.paused = f"SegMetrics is not answering ({error.reason}); trying again in {wait:.0f} s"
        self._changed.set()
        log.warning("import %s paused for %.1f s: %s", self.record.id, wait, error.reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._cancelled.wait(), wait)
        self.progress.paused = None
        self._open.set()

    async def _tick(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            with contextlib.suppress(Exception):
                await self.on_progress(replace(self.progress, counts=dict(self.progress.counts)))
            await asyncio.sleep(self.every)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            until = datetime.now(UTC) + LEASE
            if await self.store.call(self.journal.lease, self.record.id, self._held_until, until):
                self._held_until = until
                continue
            if await self.store.call(self.journal.state, self.record.id) == "cancelled":
                self.cancel()  # cancelled from another bot sharing the database: an ordinary cancel
                return
            log.warning("import %s was taken over by another runner; leaving it to it", self.record.id)
            self.progress.lost = True
            self._cancelled.set()
            self._open.set()
            return


def results_csv(table: Table, journal: ImportJournal, import_id: str, *, stopped: str) -> bytes:
    """Every row: its line, what became of it and why, then its cells as they were. Rows without an outcome
    say `stopped` (cancelled, or the import was stopped)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "status", "reason", *table.header])
    outcomes = _outcomes(journal, import_id)
    pending = next(outcomes, None)
    for row in table.rows():
        while pending is not None and pending[0] < row.line:
            pending = next(outcomes, None)
        if pending is not None and pending[0] == row.line:
            status, reason = pending[1], pending[2] or ""
        else:
            status, reason = "not sent", stopped
        writer.writerow([row.line, status, reason, *row.values])
    return out.getvalue().encode("utf-8-sig")  # with a BOM: spreadsheets then read it as UTF-8


def _outcomes(journal: ImportJournal, import_id: str) -> Iterator[tuple[int, str, str | None]]:
    after = 0
    while True:
        chunk = journal.outcomes(import_id, after)
        if not chunk:
            return
        yield from chunk
        after = chunk[-1][0]
