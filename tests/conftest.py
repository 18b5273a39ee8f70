"""Shared fixtures: a fixed "now" and zone, so dates in tests never depend on the clock; a throwaway
PostgreSQL where the machine has one."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.context import Context
from bot.dates import DateReader
from bot.money import Currency, MoneyReader

# Monday 2026-11-23, 10:30 in New York.
NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")

_DATES = DateReader()


def make_context(
    *,
    zone: str = "America/New_York",
    api_zone: str = "UTC",
    currency: str = "USD",
    decimal_mark: str = ".",
    date_order: str = "MDY",
    now: datetime = NOW,
) -> Context:
    dates = _DATES if date_order == "MDY" else DateReader(date_order=date_order)
    return Context(
        now=now,
        zone=ZoneInfo(zone),
        api_zone=ZoneInfo(api_zone),
        money=MoneyReader(Currency.of(currency), decimal_mark),
        dates=dates,
        account_id="acct-1",
        integration_id="int-9",
    )


@pytest.fixture
def ctx() -> Context:
    return make_context()


@pytest.fixture(autouse=True)
def _own_state_directory(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own state directory (the shared sandbox's file, the terminal's history): through
    XDG_STATE_HOME, which the bots and terminals a test starts inherit too."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


def _postgres_binaries() -> tuple[str, str] | None:
    for directory in [
        os.path.dirname(shutil.which("initdb") or ""),
        *sorted(Path("/usr/lib/postgresql").glob("*/bin")),
    ]:
        initdb, pg_ctl = Path(directory, "initdb"), Path(directory, "pg_ctl")
        if directory and initdb.exists() and pg_ctl.exists():
            return str(initdb), str(pg_ctl)
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (or SEGMETRICS_TEST_POSTGRES_URL); skipped where there is none."""
    if os.environ.get("SEGMETRICS_TEST_POSTGRES_URL"):
        yield os.environ["SEGMETRICS_TEST_POSTGRES_URL"]
        return
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL on this machine")
    initdb, pg_ctl = binaries
    # PostgreSQL refuses to run as root: as root, run it as the postgres user.
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = tempfile.mkdtemp(prefix="segmetrics-pg-")
    os.chmod(root, 0o777)
    data = os.path.join(root, "data")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        subprocess.run(
            [*as_owner, initdb, "-D", data, "-A", "trust", "-U", "postgres"], check=True, capture_output=True
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*as_owner, pg_ctl, "-D", data, "-o", options, "-l", os.path.join(root, "log"), "-w", "start"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (subprocess.CalledProcessError, FileNotFoundError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"PostgreSQL did not start here ({error})")
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    subprocess.run([*as_owner, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """An empty database of its own in the throwaway PostgreSQL cluster (skipped where there is none)."""
    import uuid

    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
