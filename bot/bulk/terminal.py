"""`segmetrics-bot import FILE --operation "contact add" [--via NAME] [--map "Column=field" …] [--dry-run]
[--results FILE] [--again]`: the terminal's bulk import (the same mapping, preview and per-row results as
in Slack). A progress bar with rate and time left on a terminal (tqdm), plain lines every few seconds
otherwise. Exit 0 when every row went through, 1 when some did not (the results file lists them), 2 for a
file or usage problem (nothing sent)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.bulk.importer import LEASE, ImportRun, Progress, importable, parse_overrides, preview, results_csv
from bot.bulk.journal import ImportJournal, ImportRecord
from bot.bulk.mapping import MappingError, map_columns
from bot.bulk.table import TableError, table_from_bytes
from bot.context import Habits
from bot.problems import InputError, InvalidValue
from bot.runner import Runner
from bot.store import AsyncStore
from bot.terminal import terminal_user

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
PLAIN_EVERY = 5.0


def _say(text: str, out: TextIO = sys.stderr) -> None:
    print(text, file=out, flush=True)


async def import_file(
    runner: Runner,
    store: AsyncStore,
    path: str,
    operation: str,
    *,
    habits: Habits,
    via: str | None = None,
    maps: Sequence[str] = (),
    dry_run: bool = False,
    results: str | None = None,
    again: bool = False,
) -> int:
    op = runner.registry.named(operation)
    if op is None or op not in importable(runner.registry):
        names = ", ".join(f'"{item.name}"' for item in importable(runner.registry))
        _say(f"✗ --operation {operation!r} is not an operation a file can import; use one of {names}")
        return EXIT_BAD_INPUT
    try:
        overrides = parse_overrides("\n".join(maps))
    except InvalidValue as error:
        _say(f'✗ --map: {error.message}; e.g. --map "{error.examples[0].replace(" = ", "=")}"')
        return EXIT_BAD_INPUT
    if results is not None and not _writable(results):
        _say(f"✗ --results {results}: cannot write there (no such folder, or no permission); nothing was sent")
        return EXIT_BAD_INPUT
    try:
        connection = runner.route(op, via=via)
        # One moment, zone and locale for the preview and the run: rows are sent as they were checked.
        now = datetime.now(UTC)
        ctx = runner.context(habits, connection=connection, now=now)
        source = Path(path).read_bytes()  # read once: what is checked is what is sent and kept
        table = table_from_bytes(source, name=Path(path).name)
        mapping = map_columns(table.header, op, overrides)
        journal = ImportJournal(store.store)
        seen = await preview(runner, table, op, mapping, ctx, journal=journal, store=store)
    except (TableError, MappingError, InvalidValue, OSError) as error:
        _say(f"✗ {error.message if isinstance(error, InvalidValue) else error}")
        return EXIT_BAD_INPUT
    except InputError as error:
        _say(f"✗ {error.errors[0].message}")
        return EXIT_BAD_INPUT
    _describe(seen, path, runner)
    if dry_run:
        _say(f"Dry run: nothing was sent. {seen.valid:,} of {seen.total:,} rows can be sent.")
        return EXIT_OK if not seen.invalid_count else EXIT_FAILED
    if seen.done_before and not again:
        _say(f"{seen.done_before:,} rows were sent by an earlier import: they are skipped (--again sends them again).")
    until = datetime.now(UTC) + LEASE
    record = ImportRecord(
        id=str(uuid.uuid4()),
        operation=op.name,
        connection=connection,
        fingerprint=ctx.fingerprint,
        name=Path(path).name,
        source=source,
        mapping={"overrides": overrides},
        total=seen.total,
        again=again,
        # The terminal's own: a Slack bot on this database never resumes it (run the same command again).
        work={"user": terminal_user(), "surface": "terminal", "zone": habits.zone, "locale": habits.locale},
        state="running",
        held_until=until,
        created_at=now,
    )
    await store.call(journal.create, record)
    shown = _Shown(seen.total)
    run = ImportRun(
        runner,
        store,
        journal,
        record,
        op,
        table,
        mapping,
        ctx,
        workers=runner.settings.segmetrics_max_connections,
        audit=store.record,
        on_progress=shown.update,
        every=0.2 if shown.bar is not None else PLAIN_EVERY,
    )
    try:
        progress = await run.run()
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Ctrl-C: what was sent stays sent; run the same command again to send the rest (they are skipped
        # otherwise only if sent).
        await asyncio.shield(store.call(journal.end, record.id, "cancelled"))
        shown.close()
        _say("Stopped: rows already sent stay sent; run the same command again and they are skipped.")
        raise
    finally:
        shown.close()
    if progress.lost:
        _say("✗ Stopped: another process took this import over (its lease ran out).")
        return EXIT_FAILED
    counts = progress.counts
    done = counts.get("done", 0) + counts.get("not_found", 0)
    failed = progress.failed
    _say(
        f"Done: {done:,} of {progress.total:,} sent"
        + (f", {failed:,} failed" if failed else "")
        + (f", {counts.get('skipped', 0):,} skipped" if counts.get("skipped") else "")
        + "."
    )
    if results:
        data = await store.call(results_csv, table, journal, record.id, stopped="not sent")
        Path(results).write_bytes(data)
        _say(f"Every row's outcome: {results}")
    elif failed:
        for line, status, reason in await store.call(journal.outcomes, record.id):
            if status in ("failed", "invalid"):
                _say(f"  line {line}: {reason}")
    return EXIT_OK if not failed else EXIT_FAILED


def _writable(path: str) -> bool:
    folder = Path(path).resolve().parent
    return folder.is_dir() and os.access(folder, os.W_OK) and (not Path(path).exists() or os.access(path, os.W_OK))


def _describe(seen: Any, path: str, runner: Runner) -> None:
    via = f" via {seen.connection}" if len(runner.links) > 1 else ""
    _say(f"{Path(path).name}: {seen.total:,} rows, each a {seen.operation.name}{via}.")
    for line in seen.mapping.describe():
        _say(f"  {line}")
    if seen.invalid_count:
        _say(f"{seen.invalid_count:,} rows cannot be sent, and will not be:")
        for line, reason in seen.invalid:
            _say(f"  line {line}: {reason}")
        if seen.invalid_count > len(seen.invalid):
            _say(f"  …and {seen.invalid_count - len(seen.invalid):,} more (--results lists every row).")
    for line, sent in seen.samples:
        _say(f"  line {line} is sent as {sent}")


class _Shown:
    """Progress as a bar on a terminal, else a line every few seconds."""

    def __init__(self, total: int) -> None:
        self.bar: Any = None
        self._last = 0.0
        self._said = ""
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="row", file=sys.stderr, dynamic_ncols=True)

    async def update(self, progress: Progress) -> None:
        if self.bar is not None:
            self.bar.n = progress.processed
            self.bar.set_postfix_str(
                (f"{progress.failed} failed" if progress.failed else "")
                + (f" · {progress.paused}" if progress.paused else "")
            )
            self.bar.refresh()
            return
        now = time.monotonic()
        if progress.finished or now - self._last >= PLAIN_EVERY:
            self._last = now
            left = progress.seconds_left()
            line = (
                f"{progress.processed:,} of {progress.total:,}"
                + (f" · {progress.failed:,} failed" if progress.failed else "")
                + (f" · about {left:.0f} s left" if left is not None and not progress.finished else "")
                + (f" · {progress.paused}" if progress.paused else "")
            )
            if line != self._said:
                self._said = line
                _say(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
