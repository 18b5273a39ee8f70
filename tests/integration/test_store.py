"""The audit trail, outbox, claims, tickets and connections on SQLite — and on PostgreSQL when the machine has
it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.keyring import Keyring
from bot.store import AuditEvent, RecordPlace, Store, StoredConnection, StoreError


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    sqlite = f"sqlite:///{tmp_path}/bot.db"
    url = sqlite if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = Store(url)
    yield opened
    if request.param == "postgresql":
        with opened.engine.begin() as connection:
            for table in ("audit", "outbox", "claims", "tickets", "records", "connections"):
                connection.exec_driver_sql(f"DELETE FROM {table}")
    opened.close()


def test_the_audit_trail_keeps_every_attempt_in_order(store: Store) -> None:
    early = datetime(2026, 11, 1, tzinfo=UTC)
    store.record(AuditEvent("tag add", "refused", user_id="U2", detail="[defaults] writes", at=early))
    store.record(
        AuditEvent(
            "tag add", "succeeded", user_id="U1", request={"json": {"tags": ["VIP"]}}, status_code=200, attempts=1
        )
    )
    rows = store.audit_rows()
    assert [(row["outcome"], row["user_id"]) for row in rows] == [("refused", "U2"), ("succeeded", "U1")]
    assert rows[1]["request"] == {"json": {"tags": ["VIP"]}} and rows[0]["at"] == early
    assert [row["user_id"] for row in store.audit_rows(since=early + timedelta(days=1))] == ["U1"]
    assert [row["outcome"] for row in store.audit_rows(user="U2")] == ["refused"]


def test_times_in_any_zone_are_compared_as_moments(store: Store) -> None:
    paris = ZoneInfo("Europe/Paris")
    store.record(AuditEvent("tag add", "succeeded", user_id="U1", at=datetime(2026, 11, 1, 1, 0, tzinfo=paris)))
    store.record(AuditEvent("tag add", "succeeded", user_id="U2", at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC)))
    # 01:00 in Paris is midnight UTC: both are from then on; 02:30 in Paris (01:30 UTC) only the second.
    assert [row["user_id"] for row in store.audit_rows(since=datetime(2026, 11, 1, 1, 0, tzinfo=paris))] == [
        "U1",
        "U2",
    ]
    assert [row["user_id"] for row in store.audit_rows(since=datetime(2026, 11, 1, 2, 30, tzinfo=paris))] == ["U2"]
    assert store.audit_rows()[0]["at"] == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def test_an_interaction_is_claimed_once(store: Store) -> None:
    assert store.claim("undo:1") and not store.claim("undo:1")
    assert store.forget_claims(timedelta(seconds=-1)) == 1 and store.claim("undo:1")


def test_the_outbox_journals_leases_and_settles(store: Store) -> None:
    now = datetime.now(UTC)
    item = store.begin(
        "command:T1",
        "tag add",
        {"email": "a@b.com"},
        {"user": "U1"},
        lease_until=now + timedelta(minutes=1),
        deadline=now + timedelta(hours=1),
    )
    assert item is not None and store.begin("command:T1", "tag add", {}, {}, lease_until=now, deadline=now) is None
    assert store.due() == []  # leased to its runner
    assert store.reschedule(
        item.id, held=item.next_at, next_at=now - timedelta(seconds=1), tries=1, error="503", job={"user": "U1", "n": 1}
    )
    due = store.due()
    assert [entry.id for entry in due] == [item.id] and due[0].tries == 1 and due[0].raw == {"email": "a@b.com"}
    assert due[0].job == {"user": "U1", "n": 1}
    later = now + timedelta(minutes=2)
    assert store.lease(item.id, due[0].next_at, later)
    assert not store.lease(item.id, due[0].next_at, later)  # another runner was first
    # A runner whose lease was taken over cannot settle or reschedule what the new holder runs.
    assert not store.settle(item.id, "done", held=due[0].next_at, tries=2)
    assert not store.reschedule(item.id, held=item.next_at, next_at=now, tries=2, error="503")
    assert store.settle(item.id, "done", held=later, tries=2)
    assert not store.settle(item.id, "failed", held=later, tries=3)  # settled once
    assert store.due() == [] and store.pending() == [] and store.next_due_at() is None


def test_long_keys_are_digested_and_old_rows_pruned(store: Store) -> None:
    now = datetime.now(UTC)
    long_key = "command:" + "x" * 400
    first = store.begin(long_key, "tag add", {}, {}, lease_until=now, deadline=now)
    assert first is not None and len(first.key) <= 255
    assert store.begin(long_key, "tag add", {}, {}, lease_until=now, deadline=now) is None
    assert store.settle(first.id, "done", held=first.next_at, tries=1)
    store.claim("undo:old")
    store.prune(claims_after=timedelta(seconds=-1), settled_after=timedelta(seconds=-1))
    assert store.claim("undo:old")  # forgotten, so claimable again
    assert store.begin(long_key, "tag add", {}, {}, lease_until=now, deadline=now) is not None


def test_tickets_expire(store: Store) -> None:
    fresh = store.put_ticket("restore", {"snapshot": {"email": "a@b.com"}}, timedelta(minutes=10))
    stale = store.put_ticket("restore", {}, timedelta(seconds=-1))
    assert store.ticket(fresh, "restore") == ({"snapshot": {"email": "a@b.com"}}, True)
    assert store.ticket(stale, "restore") == ({}, False)
    assert store.ticket(fresh, "undo") is None and store.ticket("nope", "restore") is None


def test_replicas_starting_together_on_an_empty_postgresql_all_start(fresh_postgres: str) -> None:
    import threading

    url = fresh_postgres
    started, failed = [], []

    def start() -> None:
        try:
            started.append(Store(url))
        except Exception as error:  # what the race used to raise: UniqueViolation on pg_type
            failed.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failed == [] and len(started) == 4
    for store in started:
        store.check()
        store.close()


def test_replicas_checking_health_at_once_never_collide(store: Store) -> None:
    import threading

    # Each bot checks from its store's one thread; several bots check the same database at once.
    others = [Store(str(store.engine.url.render_as_string(hide_password=False))) for _ in range(3)]
    problems: list[str | None] = []

    def check(target: Store) -> None:
        problems.extend(target.health() for _ in range(60))

    threads = [threading.Thread(target=check, args=(target,)) for target in (store, *others)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for other in others:
        other.close()
    assert len(problems) == 240 and set(problems) == {None}


def test_a_keyed_ticket_is_held_once_and_its_payload_replaced(store: Store) -> None:
    key = "reaction:T1:C1:1700000000.000100:fire:0" + "-long" * 20
    first = store.put_ticket("reaction", {"by": "U1"}, timedelta(minutes=10), key=key)
    assert first is not None and len(first) == 36
    assert store.put_ticket("reaction", {"by": "U2"}, timedelta(minutes=10), key=key) is None  # held: refused
    assert store.ticket(first, "reaction") == ({"by": "U1"}, True)
    assert store.update_ticket(first, "reaction", {"by": "U1", "ended": True})
    assert store.ticket(first, "reaction") == ({"by": "U1", "ended": True}, True)
    assert not store.update_ticket(first, "undo", {}) and not store.update_ticket("nope", "reaction", {})
    other = store.put_ticket("reaction", {}, timedelta(minutes=10), key=key.replace(":0", ":1"))
    assert other not in (None, first)


def test_records_are_kept_per_account_and_integration_replaced_and_forgotten(store: Store) -> None:
    order = RecordPlace("acct-1", "int-9", "invoice", "INV-7")
    elsewhere = RecordPlace("acct-1", "int-2", "invoice", "INV-7")
    assert store.record_of(order) is None
    store.keep_record(order, {"id": "INV-7", "amount": 6000})
    store.keep_record(elsewhere, {"id": "INV-7", "amount": 100})
    store.keep_record(order, {"id": "INV-7", "amount": 6000, "is_refunded": True})
    assert store.record_of(order) == {"id": "INV-7", "amount": 6000, "is_refunded": True}
    assert store.record_of(elsewhere) == {"id": "INV-7", "amount": 100}
    assert store.record_of(RecordPlace("acct-1", "int-9", "subscription", "INV-7")) is None
    store.forget_record(order)
    assert store.record_of(order) is None and store.record_of(elsewhere) is not None
    long_id = RecordPlace("acct-1", "int-9", "invoice", "x" * 400)
    store.keep_record(long_id, {"id": "x" * 400})
    assert store.record_of(long_id) == {"id": "x" * 400}


def _sqlite_with_work(tmp_path: Path) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path}/bot.db"
    store = Store(url)
    for number in range(200):
        store.record(AuditEvent("tag add", "succeeded", user_id=f"U{number}", detail="x" * 200))
    store.close()
    return url, tmp_path / "bot.db"


def test_a_damaged_sqlite_file_is_refused_at_start(tmp_path: Path) -> None:
    url, path = _sqlite_with_work(tmp_path)
    data = bytearray(path.read_bytes())
    data[8192:12288] = b"\xa5" * 4096  # past the header: it still opens
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="is damaged"):
        Store(url).check()


def test_a_foreign_schema_is_refused_at_start(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "bot.db") as connection:
        connection.execute("CREATE TABLE outbox (id TEXT PRIMARY KEY, payload TEXT)")
    with pytest.raises(StoreError, match="table `outbox` lacks"):
        Store(f"sqlite:///{tmp_path}/bot.db").check()


def test_health_says_when_the_database_goes_away_or_cannot_be_written(tmp_path: Path) -> None:
    url, path = _sqlite_with_work(tmp_path)
    store = Store(url)
    store.check()
    assert store.health() is None
    path.rename(tmp_path / "moved.db")
    assert "was deleted while the bot runs" in (store.health() or "")
    store.close()
    store = Store(f"sqlite:///{tmp_path}/moved.db")
    (tmp_path / "moved.db").chmod(0o444)
    try:
        if os.geteuid() != 0:  # root writes whatever the mode says
            assert "cannot be written" in (store.health() or "")
    finally:
        (tmp_path / "moved.db").chmod(0o644)
        store.close()


def test_every_backend_passes_the_start_check(store: Store) -> None:
    store.check()
    assert store.health() is None


API_KEY = "sk-live-STORED-4f3e2d1c0b"
SECRET = "7tH0cBCQ8OM3sAqoXK9mJj5hgxwVYJ0Vzvb6ZqQ4a8U="


def _stored(name: str, keyring: Keyring, **changes: object) -> StoredConnection:
    values: dict[str, object] = {
        "name": name,
        "account_id": "1234",
        "integration_id": "77",
        "timezone": "America/New_York",
        "currency": "USD",
        "resources": ("order", "subscription"),
        "channels": ("#sales", "C0SALES12"),
        "api_key_token": keyring.encrypt(API_KEY),
        "updated_by": "U0ADMIN1",
        "updated_at": datetime(2026, 11, 23, 15, 30, tzinfo=UTC),
    }
    return StoredConnection(**{**values, **changes})  # type: ignore[arg-type]


def test_connections_are_added_replaced_listed_and_deleted(store: Store) -> None:
    keyring = Keyring(SECRET)
    assert store.stored_connections() == []
    payments = _stored("payments", keyring)
    store.save_connection(payments)
    store.save_connection(_stored("ads", keyring, resources=("ad",), channels=(), updated_by=None))
    ads, kept = store.stored_connections()  # by name
    assert kept == payments and ads.name == "ads" and ads.resources == ("ad",) and ads.updated_by is None
    assert keyring.decrypt(kept.api_key_token) == API_KEY
    assert API_KEY not in repr(kept) and kept.api_key_token not in repr(kept)
    changed = _stored("payments", keyring, integration_id="78", channels=("#billing",), currency="EUR")
    store.save_connection(changed)
    assert [row.name for row in store.stored_connections()] == ["ads", "payments"]
    assert store.stored_connections()[1] == changed
    assert store.delete_connection("payments") and not store.delete_connection("payments")
    assert [row.name for row in store.stored_connections()] == ["ads"]


def test_the_audit_trail_says_which_connection(store: Store) -> None:
    store.record(AuditEvent("order add", "succeeded", user_id="U1", connection="payments"))
    store.record_many([AuditEvent("tag add", "refused", user_id="U2")])
    assert [row["connection"] for row in store.audit_rows()] == ["payments", None]


def test_the_stored_key_column_holds_no_key(store: Store) -> None:
    keyring = Keyring(SECRET)
    store.save_connection(_stored("payments", keyring))
    with store.engine.connect() as connection:
        (column,) = connection.exec_driver_sql("SELECT api_key FROM connections").one()
    assert API_KEY not in column and keyring.decrypt(column) == API_KEY
    if store.file is not None:
        store.close()  # the WAL checkpointed into the file, which is then all there is
        data = b"".join(path.read_bytes() for path in store.file.parent.glob(store.file.name + "*"))
        assert column.encode() in data and API_KEY.encode() not in data


def test_a_database_from_before_a_late_column_gains_it_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as connection:
        # The audit table as the bot made it before connections.
        connection.execute(
            "CREATE TABLE audit (id INTEGER NOT NULL PRIMARY KEY, at DATETIME NOT NULL, team_id VARCHAR(32), "
            "user_id VARCHAR(32), channel_id VARCHAR(32), operation VARCHAR(64) NOT NULL, outcome VARCHAR(16) "
            "NOT NULL, detail TEXT, request JSON, status_code INTEGER, response JSON, attempts INTEGER, "
            'snapshot JSON, "key" VARCHAR(255))'
        )
        connection.execute(
            "INSERT INTO audit (at, user_id, operation, outcome, request) "
            "VALUES ('2026-11-01 10:00:00.000000', 'U1', 'tag add', 'succeeded', '{\"json\": {\"tags\": [\"VIP\"]}}')"
        )
    connection.close()
    store = Store(f"sqlite:///{path}")
    try:
        store.check()
        (old,) = store.audit_rows()
        assert (old["user_id"], old["connection"], old["request"]) == ("U1", None, {"json": {"tags": ["VIP"]}})
        assert old["at"] == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        store.record(AuditEvent("tag add", "succeeded", user_id="U2", connection="ads"))
        assert [row["connection"] for row in store.audit_rows()] == [None, "ads"]
    finally:
        store.close()
    store = Store(f"sqlite:///{path}")  # opened again: nothing more to add
    store.check()
    store.close()


def test_a_late_column_is_added_on_every_backend(store: Store) -> None:
    store.record(AuditEvent("tag add", "succeeded", user_id="U1", connection="payments"))
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE audit DROP COLUMN connection")
    with pytest.raises(StoreError, match="table `audit` lacks connection"):
        store.check()
    url = store.engine.url.render_as_string(hide_password=False)
    again = Store(url)
    try:
        again.check()
        assert [(row["user_id"], row["connection"]) for row in again.audit_rows()] == [("U1", None)]
    finally:
        again.close()


def test_a_foreign_table_gains_no_column(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "bot.db") as connection:
        connection.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, payload TEXT)")
    connection.close()
    store = Store(f"sqlite:///{tmp_path}/bot.db")
    with pytest.raises(StoreError, match=r"table `audit` lacks .*connection"):
        store.check()
    store.close()
    with sqlite3.connect(tmp_path / "bot.db") as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(audit)")]
    connection.close()
    assert columns == ["id", "payload"]
