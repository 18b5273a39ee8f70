"""What the bot keeps of a bulk import (tables `imports` and `import_rows` in bot/store.py): the file, compressed,
so an import resumes after a restart; a lease, so one runner holds it; and each row's outcome once it has
one, so no row is sent twice and a re-run of the same file can skip what was already done."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store import Store, import_rows, imports

# A change being sent (bot/bulk/importer.py): after a stop, "failed" as in doubt.
SENDING = "sending"
# SQLite allows 32,766 bound parameters; digests are looked up in chunks far below that.
CHUNK = 500


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ImportRecord:
    """One import as kept: `source` is the file's bytes (compressed when stored)."""

    id: str
    operation: str
    connection: str
    fingerprint: str | None
    name: str
    source: bytes = field(repr=False)
    mapping: Mapping[str, Any]
    total: int
    again: bool
    work: Mapping[str, Any]
    state: str
    held_until: datetime
    created_at: datetime = field(default_factory=_now)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "operation": self.operation,
            "connection": self.connection,
            "fingerprint": self.fingerprint,
            "name": self.name[:255],
            "source": zlib.compress(self.source, 6),
            "mapping": dict(self.mapping),
            "total": self.total,
            "again": self.again,
            "work": dict(self.work),
            "state": self.state,
            "held_until": self.held_until,
        }


def _record(row: Mapping[str, Any]) -> ImportRecord:
    source = row.get("source")
    return ImportRecord(
        id=row["id"],
        operation=row["operation"],
        connection=row["connection"],
        fingerprint=row["fingerprint"],
        name=row["name"],
        source=zlib.decompress(source) if source is not None else b"",
        mapping=row["mapping"],
        total=row["total"],
        again=row["again"],
        work=row["work"],
        state=row["state"],
        held_until=row["held_until"],
        created_at=row["created_at"],
    )


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row (done, not_found, failed, invalid, skipped; or SENDING, for the moment a change is
    being sent), and the digest of what was (to be) sent."""

    import_id: str
    line: int
    status: str
    reason: str | None
    digest: str


class ImportJournal:
    """The import queries, on the bot's store (synchronous: call them through `AsyncStore.call`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, record: ImportRecord) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(insert(imports).values(**record.row()))

    def get(self, import_id: str, *, source: bool = True) -> ImportRecord | None:
        """The import; without its file (`source=False`: empty) where only what it is matters, as before Slack's
        acknowledgement, which must not wait for a 50 MB file to be read and unpacked."""
        columns = [column for column in imports.c if source or column.name != "source"]
        with self.store.engine.connect() as connection:
            row = connection.execute(select(*columns).where(imports.c.id == import_id)).first()
        return _record(row._mapping) if row is not None else None

    def update_work(self, import_id: str, work: Mapping[str, Any]) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(update(imports).where(imports.c.id == import_id).values(work=dict(work)))

    def start(self, import_id: str, until: datetime, *, again: bool = False) -> bool:
        """ready → running, held until `until` (`again`: send rows an earlier import sent too); False when it
        was not ready (run already, or cancelled)."""
        match = (imports.c.id == import_id) & (imports.c.state == "ready")
        values = {"state": "running", "held_until": until, "again": again}
        with self.store.engine.begin() as connection:
            return connection.execute(update(imports).where(match).values(**values)).rowcount > 0

    def lease(self, import_id: str, held: datetime, until: datetime) -> bool:
        """Keep (or take over) a running import: only while it is still held until `held`."""
        match = (imports.c.id == import_id) & (imports.c.state == "running") & (imports.c.held_until == held)
        with self.store.engine.begin() as connection:
            return connection.execute(update(imports).where(match).values(held_until=until)).rowcount > 0

    def end(self, import_id: str, state: str) -> None:
        """done or cancelled (a cancel of an import that ended meanwhile changes nothing)."""
        match = (imports.c.id == import_id) & imports.c.state.in_(("ready", "running"))
        with self.store.engine.begin() as connection:
            connection.execute(update(imports).where(match).values(state=state))

    def state(self, import_id: str) -> str | None:
        with self.store.engine.connect() as connection:
            return connection.execute(select(imports.c.state).where(imports.c.id == import_id)).scalar()

    def abandoned(self, now: datetime | None = None) -> list[str]:
        """The ids of running imports whose runner stopped holding them (a crash, a stop): to resume."""
        match = (imports.c.state == "running") & (imports.c.held_until < (now or _now()))
        with self.store.engine.connect() as connection:
            return [import_id for (import_id,) in connection.execute(select(imports.c.id).where(match))]

    def finish_rows(self, outcomes: Sequence[RowOutcome]) -> list[None]:
        """Keep each row's outcome (one transaction; a row already finished keeps its first outcome)."""
        now = _now()
        with self.store.engine.begin() as connection:
            for outcome in outcomes:
                values = {
                    "import_id": outcome.import_id,
                    "line": outcome.line,
                    "status": outcome.status,
                    "reason": (outcome.reason or "")[:2000] or None,
                    "digest": outcome.digest,
                    "at": now,
                }
                try:
                    with connection.begin_nested():
                        connection.execute(insert(import_rows).values(**values))
                except IntegrityError:  # kept as "sending" before it was sent: now its outcome
                    match = (
                        (import_rows.c.import_id == outcome.import_id)
                        & (import_rows.c.line == outcome.line)
                        & (import_rows.c.status == SENDING)
                    )
                    connection.execute(update(import_rows).where(match).values(**values))
        return [None] * len(outcomes)

    def sending(self, outcome: RowOutcome) -> None:
        """A change about to be sent (status "sending"): after a stop it is in doubt, not sent again."""
        self.finish_rows([outcome])

    def settle_in_doubt(self, import_id: str, reason: str) -> int:
        """Rows a stopped run was sending: failed, with `reason` (check them before sending them again)."""
        match = (import_rows.c.import_id == import_id) & (import_rows.c.status == SENDING)
        with self.store.engine.begin() as connection:
            return connection.execute(update(import_rows).where(match).values(status="failed", reason=reason)).rowcount

    def prune_ready(self, older_than: datetime) -> int:
        """Previews never run (closed, or previewed again): their files are not kept."""
        match = (imports.c.state == "ready") & (imports.c.created_at < older_than)
        with self.store.engine.begin() as connection:
            return connection.execute(imports.delete().where(match)).rowcount

    def finished_lines(self, import_id: str) -> set[int]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(import_rows.c.line).where(import_rows.c.import_id == import_id))
            return {line for (line,) in rows}

    def counts(self, import_id: str) -> dict[str, int]:
        query = (
            select(import_rows.c.status, func.count())
            .where(import_rows.c.import_id == import_id)
            .group_by(import_rows.c.status)
        )
        with self.store.engine.connect() as connection:
            return {status: count for status, count in connection.execute(query)}

    def outcomes(self, import_id: str, after: int = 0, limit: int = 5000) -> list[tuple[int, str, str | None]]:
        """(line, status, reason) of finished rows after line `after`, in line order."""
        query = (
            select(import_rows.c.line, import_rows.c.status, import_rows.c.reason)
            .where((import_rows.c.import_id == import_id) & (import_rows.c.line > after))
            .order_by(import_rows.c.line)
            .limit(limit)
        )
        with self.store.engine.connect() as connection:
            return [(line, status, reason) for line, status, reason in connection.execute(query)]

    def done_before(self, digests: Iterable[str], *, besides: str | None = None) -> set[str]:
        """Which of `digests` an import (other than `besides`) already sent with success."""
        wanted = list(dict.fromkeys(digests))
        found: set[str] = set()
        with self.store.engine.connect() as connection:
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                query = select(import_rows.c.digest).where(
                    import_rows.c.digest.in_(chunk) & import_rows.c.status.in_(("done", "not_found"))
                )
                if besides is not None:
                    query = query.where(import_rows.c.import_id != besides)
                found.update(digest for (digest,) in connection.execute(query))
        return found
