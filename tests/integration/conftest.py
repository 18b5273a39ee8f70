"""A real SegMetrics sandbox served over HTTP on 127.0.0.1, and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.sandbox import Sandbox, SandboxServer
from bot.segmetrics.client import Credentials, SegMetricsClient
from bot.segmetrics.retry import RetryPolicy

API_KEY = "sk-test-SECRET-0f9e8d"
ACCOUNT = "acct-1"
INTEGRATION = "int-9"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION)


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def live(sandbox: Sandbox, server: SandboxServer, tmp_path: Path) -> tuple[Sandbox, dict[str, str]]:
    """The sandbox over HTTP, and the environment that points `segmetrics-bot` (a subprocess) at it, with a
    database and a state directory of the test's own."""
    return sandbox, {
        "SEGMETRICS_API_KEY": API_KEY,
        "SEGMETRICS_ACCOUNT_ID": ACCOUNT,
        "SEGMETRICS_INTEGRATION_ID": INTEGRATION,
        "SEGMETRICS_IMPORT_URL": server.import_url,
        "SEGMETRICS_REPORTING_URL": server.reporting_url,
        "SEGMETRICS_BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "SEGMETRICS_BOT_STATE_DIR": str(tmp_path / "state"),
    }


class RecordingSleep:
    """Records the waits the client asks for and returns at once: retry timing is asserted, not slept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


def make_client(
    server: SandboxServer, sleeps: RecordingSleep | None = None, *, key: str = API_KEY, **options: object
) -> SegMetricsClient:
    retry = options.pop("retry", RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, budget=10))
    extra = {"sleep": sleeps} if sleeps is not None else {}
    return SegMetricsClient(
        Credentials(SecretStr(key), ACCOUNT, INTEGRATION),
        import_url=server.import_url,
        reporting_url=server.reporting_url,
        retry=retry,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(server: SandboxServer, sleeps: RecordingSleep) -> AsyncIterator[SegMetricsClient]:
    async with make_client(server, sleeps) as live:
        yield live
