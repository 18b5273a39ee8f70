"""What the bot keeps: the audit trail, the outbox of work SegMetrics did not take yet, idempotency
claims, and tickets (a deleted contact's snapshot for Restore, a rejected form's input for Edit and retry).

SQLAlchemy Core on one dedicated thread: the event loop never waits on the database, writes are
serialized (no SQLite lock contention), and the same code runs on SQLite (the default file) and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

log = logging.getLogger("segmetrics_slack.store")


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC whatever zone it is given in, and read back zone-aware. SQLite keeps no
    zone and compares text, so a time in another zone, bound as is, would compare wrongly."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no place in the store: give it a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


T = TypeVar("T")
metadata = MetaData()
KEY_LIMIT = 255
HEALTH_KEY = "health:write-check"

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("team_id", String(32)),
    Column("user_id", String(32), index=True),
    Column("channel_id", String(32)),
    Column("operation", String(64), nullable=False),
    # refused | succeeded | failed | queued | gave_up | not_found | undone
    Column("outcome", String(16), nullable=False),
    Column("detail", Text),
    Column("request", JSON),
    Column("status_code", Integer),
    Column("response", JSON),
    Column("attempts", Integer),
    Column("snapshot", JSON),
    Column("key", String(255)),
    # The connection the work went through (`default`, `payments`, …); absent in rows from before connections.
    Column("connection", String(32)),
    # Where it was asked for: "terminal" for `exec`, `shell` and `import` (empty: Slack).
    Column("surface", String(16)),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(255), unique=True, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_at", UTCDateTime(), nullable=False, index=True),
    Column("deadline", UTCDateTime(), nullable=False),
    Column("tries", Integer, nullable=False, default=0),
    # pending | done | failed | gave_up
    Column("state", String(16), nullable=False, index=True),
    Column("operation", String(64), nullable=False),
    Column("raw", JSON, nullable=False),
    Column("job", JSON, nullable=False),
    Column("last_error", Text),
)

claims = Table(
    "claims",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)


# The last full request the bot sent for each object it upserts (an order, a subscription), per account and
# integration: its known state, which an update changes only where the user said.
records = Table(
    "records",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("integration_id", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("object_id", String(255), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
)


# The connections admins add in Slack. `api_key` holds the key's Fernet token (bot/keyring.py), never the key.
connections = Table(
    "connections",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("integration_id", String(64), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("resources", JSON, nullable=False),
    Column("channels", JSON, nullable=False),
    Column("api_key", Text, nullable=False),
    Column("updated_by", String(32)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Bulk imports (bot/bulk/): the file itself (compressed: an import resumes from it after a restart), how its
# columns map, who asked where, and its state; then what became of each row, so that none is sent twice.
imports = Table(
    "imports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("connection", String(32), nullable=False),
    Column("fingerprint", String(32)),
    Column("name", String(255), nullable=False),
    Column("source", LargeBinary, nullable=False),
    Column("mapping", JSON, nullable=False),
    Column("total", Integer, nullable=False),
    # Send again the rows an earlier import already sent (else they are skipped).
    Column("again", Boolean, nullable=False),
    Column("work", JSON, nullable=False),
    # ready (previewed) | running | cancelled | done
    Column("state", String(16), nullable=False, index=True),
    # The runner holding it, until then (a crashed one's import is resumed once this passes).
    Column("held_until", UTCDateTime(), nullable=False),
)

import_rows = Table(
    "import_rows",
    metadata,
    Column("import_id", String(36), primary_key=True),
    Column("line", Integer, primary_key=True),
    # done | not_found | failed | invalid | skipped
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    # What was sent (operation, connection, values): a later import of the same row is known.
    Column("digest", String(64), nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
)

# Nullable columns later versions added to tables that existing databases already have: each is added when
# the database is opened (`ALTER TABLE … ADD COLUMN`), before `check()` looks for every column. A new
# one is one more line here (a table new in a version needs none: it is created whole).
LATE_COLUMNS: tuple[tuple[Table, str], ...] = ((audit, "connection"), (audit, "surface"))


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditEvent:
    """One attempt, whatever became of it. Never holds the API key: requests are the API payloads."""

    operation: str
    outcome: str
    user_id: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    detail: str | None = None
    request: Any = None
    status_code: int | None = None
    response: Any = None
    attempts: int | None = None
    snapshot: Any = None
    key: str | None = None
    connection: str | None = None
    surface: str | None = None
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class StoredConnection:
    """A connection added in Slack, as kept: `api_key_token` is its key encrypted (`Keyring.encrypt`)."""

    name: str
    account_id: str
    integration_id: str
    timezone: str
    currency: str
    resources: tuple[str, ...]
    channels: tuple[str, ...]
    api_key_token: str = field(repr=False)
    updated_by: str | None = None
    updated_at: datetime = field(default_factory=_now)

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "account_id": self.account_id,
            "integration_id": self.integration_id,
            "timezone": self.timezone,
            "currency": self.currency,
            "resources": list(self.resources),
            "channels": list(self.channels),
            "api_key": self.api_key_token,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at,
        }


def _stored_connection(row: Mapping[str, Any]) -> StoredConnection:
    return StoredConnection(
        name=row["name"],
        account_id=row["account_id"],
        integration_id=row["integration_id"],
        timezone=row["timezone"],
        currency=row["currency"],
        resources=tuple(row["resources"] or ()),
        channels=tuple(row["channels"] or ()),
        api_key_token=row["api_key"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )


@dataclass(frozen=True)
class RecordPlace:
    """Where an object's record is kept: the account and integration, what it is (`invoice`), its id."""

    account_id: str
    integration_id: str
    kind: str
    object_id: str

    def key(self) -> dict[str, str]:
        return {
            "account_id": self.account_id,
            "integration_id": self.integration_id,
            "kind": self.kind,
            "object_id": key_of(self.object_id),
        }


def _record_match(key: Mapping[str, str]) -> list[Any]:
    return [records.c[name] == value for name, value in key.items()]


@dataclass(frozen=True)
class Queued:
    """Work SegMetrics did not take yet: the operation, its raw input, and how to reach the user."""

    id: str
    key: str
    operation: str
    raw: Mapping[str, Any]
    job: Mapping[str, Any]
    created_at: datetime
    next_at: datetime
    deadline: datetime
    tries: int
    state: str
    last_error: str | None = None


class StoreError(Exception):
    """The database cannot keep the bot's work: the message says what is wrong, without the URL's password."""


class Store:
    """Synchronous access; `AsyncStore` runs it on its own thread."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        """`schema` (PostgreSQL only): keep everything in that schema of the database, made if missing (one
        workspace's work, when the bot is installed by link: see `workspace_database`)."""
        options = _engine_options(url)
        if schema is not None:
            options["connect_args"]["options"] = f"-c search_path={schema}"
        self.engine: Engine = create_engine(url, **options)
        self.file: Path | None = None
        self._identity: tuple[int, int] | None = None
        # Each store writes its own row to check the database: replicas checking at once never collide.
        self._health_key = f"{HEALTH_KEY}:{uuid.uuid4().hex}"
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            database = self.engine.url.database
            if database and database != ":memory:":
                self.file = Path(database).resolve()
                if not self.file.exists():
                    log.info("no database at %s: a new, empty one is created", self.file)
        _create_schema(self.engine, schema)
        _add_late_columns(self.engine)
        if self.file is not None:
            status = self.file.stat()
            self._identity = (status.st_dev, status.st_ino)

    def close(self) -> None:
        self.engine.dispose()

    def create_tables(self, *others: MetaData) -> None:
        """Tables of other libraries' stores (slack-sdk's installations), where missing, as the bot's own are."""
        for tables in others:
            _create_schema(self.engine, tables=tables)

    # -- health -----------------------------------------------------------------------------------

    def check(self) -> None:
        """At start: the database is whole (SQLite's integrity check) and holds the bot's schema (every
        table with every column); raises `StoreError` saying what is wrong."""
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "sqlite":
                found = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check").fetchall()]
                if found != ["ok"]:
                    raise StoreError(f"the SQLite database {self.file} is damaged ({'; '.join(found[:3])})")
            present = inspect(connection)
            for table in metadata.sorted_tables:
                columns = {column["name"] for column in present.get_columns(table.name)}
                missing = [column.name for column in table.columns if column.name not in columns]
                if missing:
                    raise StoreError(
                        f"the database's table `{table.name}` lacks {', '.join(missing)}: it is not this bot's "
                        "schema (another program's, or an older one)"
                    )
        problem = self.health()
        if problem:
            raise StoreError(problem)

    def health(self) -> str | None:
        """None when the database can keep work now; else why not (the file went away, a write fails)."""
        if self.file is not None:
            try:
                status = self.file.stat()
            except OSError:
                return f"the database file {self.file} was deleted while the bot runs"
            if (status.st_dev, status.st_ino) != self._identity:
                return f"the database file {self.file} was replaced while the bot runs"
        try:
            with self.engine.begin() as connection:
                connection.execute(claims.delete().where(claims.c.key == self._health_key))
                connection.execute(insert(claims).values(key=self._health_key, at=_now()))
        except SQLAlchemyError as error:
            return f"the database cannot be written ({type(error).__name__}: {str(error.orig or error)[:120]})"
        return None

    # -- audit ----------------------------------------------------------------------------------

    def record(self, entry: AuditEvent) -> int:
        with self.engine.begin() as connection:
            return int(connection.execute(_INSERT_AUDIT, _audit_values(entry)).inserted_primary_key[0])

    def record_many(self, entries: Sequence[AuditEvent]) -> list[None]:
        """Several events in one transaction (the audit trail is written behind, in batches)."""
        with self.engine.begin() as connection:
            connection.execute(_INSERT_AUDIT, [_audit_values(entry) for entry in entries])
        return [None] * len(entries)

    def audit_rows(
        self, *, since: datetime | None = None, user: str | None = None, surface: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(audit).order_by(audit.c.id)
        if surface is not None:
            query = query.where(audit.c.surface.is_(None) if surface == "slack" else audit.c.surface == surface)
        if since is not None:
            query = query.where(audit.c.at >= since)
        if user is not None:
            query = query.where(audit.c.user_id == user)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    # -- records ----------------------------------------------------------------------------------

    def keep_record(self, place: RecordPlace, body: Mapping[str, Any]) -> None:
        """Keep `body` as what SegMetrics now holds for this object (the last full request, accepted)."""
        key = place.key()
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(records).where(*_record_match(key)).values(body=dict(body), saved_at=_now())
            ).rowcount
            if not changed:
                try:
                    with connection.begin_nested():
                        connection.execute(insert(records).values(**key, body=dict(body), saved_at=_now()))
                except IntegrityError:  # another runner kept it meanwhile: the later request wins
                    connection.execute(
                        update(records).where(*_record_match(key)).values(body=dict(body), saved_at=_now())
                    )

    def record_of(self, place: RecordPlace) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(records.c.body).where(*_record_match(place.key()))).first()
        return dict(row.body) if row is not None else None

    def forget_record(self, place: RecordPlace) -> None:
        """Forget one object's record; with no `object_id`, every record of that kind in the account and
        integration (a request touched one the bot cannot tell)."""
        key = place.key()
        if not place.object_id:
            key.pop("object_id")
        with self.engine.begin() as connection:
            connection.execute(records.delete().where(*_record_match(key)))

    # -- connections ----------------------------------------------------------------------------

    def stored_connections(self) -> list[StoredConnection]:
        """The connections admins added in Slack, by name."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(connections).order_by(connections.c.name))
            return [_stored_connection(row._mapping) for row in rows]

    def save_connection(self, row: StoredConnection) -> None:
        """Add the connection, or replace the one of that name."""
        values = row.row()
        match = connections.c.name == row.name
        with self.engine.begin() as connection:
            if connection.execute(update(connections).where(match).values(**values)).rowcount:
                return
            try:
                with connection.begin_nested():
                    connection.execute(insert(connections).values(**values))
            except IntegrityError:  # another instance added it meanwhile: the later save wins
                connection.execute(update(connections).where(match).values(**values))

    def add_connection(self, row: StoredConnection) -> bool:
        """Add a new connection; False when one of that name exists (another admin, another bot, was first)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(connections).values(**row.row()))
        except IntegrityError:
            return False
        return True

    def replace_connection(self, row: StoredConnection, *, was: datetime) -> bool:
        """Replace the connection as it was at `was` (its `updated_at`); False when it was changed or removed
        since, by someone else: then nothing is written."""
        match = (connections.c.name == row.name) & (connections.c.updated_at == was)
        with self.engine.begin() as connection:
            return connection.execute(update(connections).where(match).values(**row.row())).rowcount > 0

    def delete_connection(self, name: str) -> bool:
        """Forget a connection; False when there was none of that name."""
        with self.engine.begin() as connection:
            return connection.execute(connections.delete().where(connections.c.name == name)).rowcount > 0

    def forget_connections(self) -> int:
        """Forget every connection added in Slack, keys and all (the workspace uninstalled the bot)."""
        with self.engine.begin() as connection:
            return connection.execute(connections.delete()).rowcount

    # -- idempotency ----------------------------------------------------------------------------

    def claim(self, key: str) -> bool:
        """True the first time a key is claimed, False ever after: one execution per Slack interaction."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(claims).values(key=key_of(key), at=_now()))
        except IntegrityError:
            return False
        return True

    def claimed(self, key: str) -> bool:
        """Whether `key` was claimed (and not forgotten since)."""
        with self.engine.connect() as connection:
            return connection.execute(select(claims.c.key).where(claims.c.key == key_of(key))).first() is not None

    def forget_claims(self, older_than: timedelta) -> int:
        with self.engine.begin() as connection:
            return connection.execute(claims.delete().where(claims.c.at < _now() - older_than)).rowcount

    # -- outbox ---------------------------------------------------------------------------------

    def begin(
        self,
        key: str,
        operation: str,
        raw: Mapping[str, Any],
        job: Mapping[str, Any],
        *,
        lease_until: datetime,
        deadline: datetime,
    ) -> Queued | None:
        """Journal an operation before running it, leased to its runner until `lease_until` (if the bot
        dies mid-call, the lease runs out and the outbox resumes it). None when `key` was seen before:
        the same Slack interaction never runs twice."""
        return self.begin_many([Begin(key, operation, raw, job, lease_until, deadline)])[0]

    def begin_many(self, entries: Sequence[Begin]) -> list[Queued | None]:
        """`begin` for several operations in one transaction; when one of them was seen before, each is
        journaled on its own so the others still are."""
        rows = [entry.row() for entry in entries]
        try:
            with self.engine.begin() as connection:
                connection.execute(_INSERT_OUTBOX, rows)
        except IntegrityError:
            if len(rows) == 1:
                return [None]
            return [self.begin_many([entry])[0] for entry in entries]
        return [_queued(row) for row in rows]

    def lease(self, item_id: str, expected_next_at: datetime, until: datetime) -> bool:
        """Take a due item for `until`, unless another runner (another instance) took it first."""
        with self.engine.begin() as connection:
            result = connection.execute(_LEASE, {"item_id": item_id, "held": expected_next_at, "until": until})
        return result.rowcount == 1

    def due(self, now: datetime | None = None, limit: int = 50) -> list[Queued]:
        query = (
            select(outbox)
            .where(outbox.c.state == "pending", outbox.c.next_at <= (now or _now()))
            .order_by(outbox.c.next_at)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [_queued(row._mapping) for row in connection.execute(query)]

    def next_due_at(self) -> datetime | None:
        query = select(outbox.c.next_at).where(outbox.c.state == "pending").order_by(outbox.c.next_at).limit(1)
        with self.engine.connect() as connection:
            value = connection.execute(query).scalar()
        return value

    def outbox_summary(self) -> tuple[int, datetime | None]:
        """How many journal entries are pending, and when the oldest was written (None: none)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.state == "pending")
            ).one()
        oldest = row[1]
        if isinstance(oldest, datetime) and oldest.tzinfo is None:  # SQLite hands the aggregate back naive
            oldest = oldest.replace(tzinfo=UTC)
        return int(row[0]), oldest

    def pending(self) -> list[Queued]:
        with self.engine.connect() as connection:
            return [
                _queued(row._mapping) for row in connection.execute(select(outbox).where(outbox.c.state == "pending"))
            ]

    def reschedule(
        self,
        item_id: str,
        *,
        held: datetime,
        next_at: datetime,
        tries: int,
        error: str,
        job: Mapping[str, Any] | None = None,
    ) -> bool:
        """Put a run off until `next_at`, if the caller still holds its lease (`held`)."""
        values: dict[str, Any] = {"next_at": next_at, "tries": tries, "last_error": error}
        if job is not None:
            values["job"] = dict(job)
        with self.engine.begin() as connection:
            statement = update(outbox).where(*_HELD).values(**values)
            result = connection.execute(statement, {"item_id": item_id, "held": held})
        return result.rowcount == 1

    def settle(self, item_id: str, state: str, *, held: datetime, tries: int, error: str | None = None) -> bool:
        """Finish a run (done, failed, gave_up), if the caller still holds its lease (`held`)."""
        return self.settle_many([Settle(item_id, state, held, tries, error)])[0]

    def settle_many(self, entries: Sequence[Settle]) -> list[bool]:
        """`settle` for several runs in one transaction; each result says whether that run still held it."""
        with self.engine.begin() as connection:
            return [connection.execute(_SETTLE, entry.params()).rowcount == 1 for entry in entries]

    def release_many(self, held: Sequence[tuple[str, datetime]], now: datetime) -> None:
        """Leases given up (a stopping bot's queued work): due at once, for whichever runner comes next."""
        with self.engine.begin() as connection:
            for item_id, until in held:
                connection.execute(_LEASE, {"item_id": item_id, "held": until, "until": now})

    def prune(self, *, claims_after: timedelta, settled_after: timedelta) -> None:
        """Forget old claims, settled outbox entries and expired tickets (the audit trail is kept)."""
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(claims.delete().where(claims.c.at < now - claims_after))
            connection.execute(
                outbox.delete().where(outbox.c.state != "pending", outbox.c.created_at < now - settled_after)
            )
            connection.execute(tickets.delete().where(tickets.c.expires_at < now - timedelta(days=1)))

    # -- tickets --------------------------------------------------------------------------------

    def put_ticket(
        self, kind: str, payload: Mapping[str, Any], ttl: timedelta, *, key: str | None = None
    ) -> str | None:
        """A ticket valid for `ttl`; its id. With `key`, the id is the key's (`ticket_id`), so one key holds
        one ticket: a second one is refused (None)."""
        found_id = ticket_id(key) if key is not None else str(uuid.uuid4())
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(tickets).values(id=found_id, kind=kind, payload=dict(payload), expires_at=_now() + ttl)
                )
        except IntegrityError:
            if key is None:
                raise
            return None
        return found_id

    def ticket(self, ticket_id: str, kind: str) -> tuple[Mapping[str, Any], bool] | None:
        """The payload and whether it is still valid, or None when there is no such ticket."""
        with self.engine.connect() as connection:
            row = connection.execute(select(tickets).where(tickets.c.id == ticket_id, tickets.c.kind == kind)).first()
        if row is None:
            return None
        return row.payload, row.expires_at >= _now()

    def update_ticket(self, ticket_id: str, kind: str, payload: Mapping[str, Any]) -> bool:
        """Replace a ticket's payload (its validity stays); False when there is no such ticket."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                tickets.update().where(tickets.c.id == ticket_id, tickets.c.kind == kind).values(payload=dict(payload))
            )
        return changed.rowcount == 1


def ticket_id(key: str) -> str:
    """The id of the ticket kept under `key` (fits the id column whatever the key's length)."""
    return str(uuid.uuid5(_TICKET_KEYS, key))


_TICKET_KEYS = uuid.UUID("6f1d7a52-4c1e-4b8e-9d0a-3f0c2b7e5a11")


@dataclass(frozen=True)
class Begin:
    """One operation to journal (`Store.begin`)."""

    key: str
    operation: str
    raw: Mapping[str, Any]
    job: Mapping[str, Any]
    lease_until: datetime
    deadline: datetime

    def row(self) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "key": key_of(self.key),
            "created_at": _now(),
            "next_at": self.lease_until,
            "deadline": self.deadline,
            "tries": 0,
            "state": "pending",
            "operation": self.operation,
            "raw": dict(self.raw),
            "job": dict(self.job),
            "last_error": None,
        }


@dataclass(frozen=True)
class Settle:
    """One run to finish (`Store.settle`)."""

    item_id: str
    state: str
    held: datetime
    tries: int
    error: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "held": self.held,
            "new_state": self.state,
            "new_tries": self.tries,
            "new_error": self.error,
        }


# Built once: a statement built per call (`insert(...).values(...)`) costs more than SQLite's own work.
_INSERT_AUDIT = insert(audit)
_INSERT_OUTBOX = insert(outbox)
# The row, while still pending under the lease its runner holds.
_HELD = (outbox.c.id == bindparam("item_id"), outbox.c.state == "pending", outbox.c.next_at == bindparam("held"))
_LEASE = update(outbox).where(*_HELD).values(next_at=bindparam("until"))
_SETTLE = (
    update(outbox)
    .where(*_HELD)
    .values(state=bindparam("new_state"), tries=bindparam("new_tries"), last_error=bindparam("new_error"))
)


def _audit_values(entry: AuditEvent) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in AuditEvent.__dataclass_fields__}


def key_of(key: str) -> str:
    """Keys fit the column: a long one (an e-mail in it, a JSON value) is replaced by its digest."""
    return key if len(key) <= KEY_LIMIT else f"{key[:64]}#{hashlib.sha256(key.encode()).hexdigest()}"


def _queued(row: Mapping[str, Any]) -> Queued:
    return Queued(**row)  # the outbox's columns are Queued's fields


# Any number, the same in every bot: the lock bots sharing a PostgreSQL database take to create its tables.
_SCHEMA_LOCK = 7_262_023_501


def _create_schema(engine: Engine, schema: str | None = None, tables: MetaData = metadata) -> None:
    """The bot's tables (or others: `tables`), where missing, and the PostgreSQL schema they go in. On PostgreSQL
    under an advisory lock: replicas starting together on an empty database would otherwise both create the same
    tables, and all but one fail."""
    if engine.dialect.name != "postgresql":
        tables.create_all(engine)
        return
    with engine.begin() as connection:
        connection.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
        if schema is not None:
            quoted = engine.dialect.identifier_preparer.quote(schema)
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        tables.create_all(connection)


# A Slack workspace (team) id as Slack writes them: what may name a file or a schema.
_TEAM_ID = re.compile(r"[A-Z0-9]{2,32}")


def database_exists(url: str, schema: str | None = None) -> bool:
    """Whether a database (a workspace's: `workspace_database`) is there, found without making it."""
    if schema is None:
        return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()
    engine = create_engine(url, **_engine_options(url))
    try:
        with engine.connect() as connection:
            return schema in inspect(connection).get_schema_names()
    finally:
        engine.dispose()


def workspace_database(url: str, team: str) -> tuple[str, str | None]:
    """Where one workspace's work is kept when the bot is installed by link, as (URL, PostgreSQL schema): on
    PostgreSQL, the schema `team_<id>` of the same database; with SQLite, a file of its own beside the main one
    (`bot.db` → `bot.T0ABC.db`); in memory, memory. Nothing of one workspace is in another's tables."""
    if not _TEAM_ID.fullmatch(team):
        raise ValueError(f"{team!r} is not a Slack workspace id")
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return url, f"team_{team.lower()}"
    if parsed.get_backend_name() != "sqlite":  # no way to keep workspaces apart there: never share tables
        raise ValueError(f"{parsed.get_backend_name()} cannot keep workspaces apart; use SQLite or PostgreSQL")
    database = parsed.database
    if not database or database == ":memory:":
        return url, None
    path = Path(database)
    return parsed.set(database=str(path.with_name(f"{path.stem}.{team}{path.suffix or '.db'}"))).render_as_string(
        hide_password=False
    ), None


def _add_late_columns(engine: Engine) -> None:
    """Give an existing database the `LATE_COLUMNS` it lacks. A table lacking any other column is left as it
    is: it is not this bot's, and `check()` says so."""
    late = {(table.name, name) for table, name in LATE_COLUMNS}
    quote = engine.dialect.identifier_preparer.quote
    for table, name in LATE_COLUMNS:
        column = table.c[name]
        assert column.nullable, f"{table.name}.{name}: only a nullable column can be added to rows already there"
        with engine.connect() as connection:
            present = inspect(connection)
            if not present.has_table(table.name):
                continue
            columns = {found["name"] for found in present.get_columns(table.name)}
        missing = {c.name for c in table.columns if c.name not in columns}
        if name not in missing or missing - {n for t, n in late if t == table.name}:
            continue
        # IF NOT EXISTS (PostgreSQL): two instances starting at once both see it missing.
        guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
        kind = column.type.compile(dialect=engine.dialect)
        statement = f"ALTER TABLE {quote(table.name)} ADD COLUMN {guard}{quote(name)} {kind}"
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(statement)
        except SQLAlchemyError:
            with engine.connect() as connection:  # added by another instance meanwhile (SQLite)?
                if name not in {found["name"] for found in inspect(connection).get_columns(table.name)}:
                    raise
        log.info("the database's table `%s` gained the column `%s`", table.name, name)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Used from the store's one thread, created on another.
        return {"connect_args": {"check_same_thread": False}}
    # A server that does not answer is said so within seconds (the health check, the start), not waited on.
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 5}}


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each commit in WAL mode, minus fsync per write
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class AsyncStore:
    """The store, from the event loop: every call runs on the store's own thread.

    The frequent writes (journal, settle, audit) are grouped: what arrives while the thread is busy goes
    into the next transaction together, so a burst of commands costs a few commits, not one each.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._lock = threading.Lock()
        self._waiting: dict[Callable[[list[Any]], list[Any]], list[tuple[Any, asyncio.Future[Any] | None]]] = {}
        # Told of every audit event as it is recorded (the bot's metrics count operations by outcome there).
        self.on_record: Callable[[AuditEvent], None] | None = None

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: function(*args, **kwargs))

    def begin(self, entry: Begin) -> asyncio.Future[Queued | None]:
        """Journal `entry` (submitted now, committed with whatever else is waiting); await the answer."""
        return self._grouped(self.store.begin_many, entry)

    async def settle(self, entry: Settle) -> bool:
        return await self._grouped(self.store.settle_many, entry)  # type: ignore[no-any-return]

    def record(self, entry: AuditEvent) -> None:
        """Fire and forget: an audit write never holds up the caller (a failure is logged)."""
        if self.on_record is not None:
            self.on_record(entry)
        self._add(self.store.record_many, entry, None)

    def grouped(self, many: Callable[[list[Any]], list[Any]], entry: Any) -> asyncio.Future[Any]:
        """`many([entry, …])` on the store's thread, with whatever else waits for `many`: one transaction for a
        burst (an import's rows finishing). Await the answer for `entry`."""
        return self._grouped(many, entry)

    def _grouped(self, many: Callable[[list[Any]], list[Any]], entry: Any) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        self._add(many, entry, future)
        return future

    def _add(self, many: Callable[[list[Any]], list[Any]], entry: Any, future: asyncio.Future[Any] | None) -> None:
        with self._lock:
            group = self._waiting.setdefault(many, [])
            group.append((entry, future))
            first = len(group) == 1
        if first:
            self._thread.submit(self._run_group, many).add_done_callback(_log_failure)

    def _run_group(self, many: Callable[[list[Any]], list[Any]]) -> None:
        """On the store's thread: everything waiting for `many`, in one call."""
        with self._lock:
            group = self._waiting.pop(many, [])
        if not group:
            return
        waiting = [future for _, future in group if future is not None]
        try:
            results = many([entry for entry, _ in group])
        except Exception as error:
            if waiting:
                waiting[0].get_loop().call_soon_threadsafe(_fail_all, waiting, error)
            if len(waiting) < len(group):
                raise
            return
        if waiting:
            # One wake-up of the event loop for the whole group, not one per caller.
            answers = [(future, result) for (_, future), result in zip(group, results, strict=True) if future]
            waiting[0].get_loop().call_soon_threadsafe(_resolve_all, answers)

    async def flush(self) -> None:
        """Wait for every write submitted so far."""
        await self.call(lambda: None)

    async def close(self) -> None:
        await self.flush()
        self.close_unused()

    def close_unused(self) -> None:
        """Close a store nothing was submitted to yet (a start that stops before serving)."""
        self._thread.shutdown(wait=True)
        self.store.close()


def _resolve_all(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in answers:
        if not future.done():
            future.set_result(result)


def _fail_all(futures: list[asyncio.Future[Any]], error: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)


def _log_failure(future: Any) -> None:
    error = future.exception()
    if error is not None:
        log.error("audit write failed: %s", error)


def rows_as_json(rows: Iterable[Mapping[str, Any]]) -> str:
    return json.dumps([dict(row, at=row["at"].isoformat()) for row in rows], ensure_ascii=False, indent=1)
