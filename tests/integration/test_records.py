"""Records of what the bot sent, against the sandbox over HTTP and a real database: kept on success,
forgotten when something else touched the object, and never the ground of two changes undoing each other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.records import RecordChanged
from bot.runner import Runner
from bot.sandbox import Fault, Sandbox, SandboxServer
from bot.segmetrics.errors import SegMetricsError
from bot.settings import load_settings
from bot.store import AsyncStore, RecordPlace, Store
from tests.integration.conftest import ACCOUNT, API_KEY, INTEGRATION

ORDER = 'order add INV-7 ann@example.com item="Course | C-1 | 100" date=2026-11-20'
PLACE = RecordPlace(ACCOUNT, INTEGRATION, "invoice", "INV-7")


@pytest.fixture
async def runner(server: SandboxServer, tmp_path: Path) -> AsyncIterator[Runner]:
    settings = load_settings(
        env_file=None,
        segmetrics_api_key=API_KEY,
        segmetrics_account_id=ACCOUNT,
        segmetrics_integration_id=INTEGRATION,
        segmetrics_import_url=server.import_url,
        segmetrics_reporting_url=server.reporting_url,
        segmetrics_max_attempts=1,
    )
    store = AsyncStore(Store(f"sqlite:///{tmp_path}/bot.db"))
    async with Runner.from_settings(settings) as live:
        live.keep_records(store)
        yield live
    await store.close()


async def record(runner: Runner) -> dict[str, object] | None:
    assert runner.records is not None
    return await runner.records.store.call(runner.records.store.store.record_of, PLACE)


async def test_two_changes_read_at_once_never_undo_each_other(runner: Runner, sandbox: Sandbox) -> None:
    await runner.run_text(ORDER)
    ctx = runner.context()
    tax, refund = [
        runner.parse(text) for text in ("order update INV-7 tax=5 total=105 paid=100", "order refund INV-7 30")
    ]
    first = await runner.read(tax.operation, tax.raw, ctx)
    second = await runner.read(refund.operation, refund.raw, ctx)
    before = len(sandbox.requests)
    results = await asyncio.gather(
        runner.execute(tax.operation, first, ctx), runner.execute(refund.operation, second, ctx), return_exceptions=True
    )
    assert isinstance(results[1], RecordChanged)
    assert "changed since you asked" in str(results[1]) and "run it again" in str(results[1])
    assert len(sandbox.requests) == before + 1  # the second was never sent
    assert (await record(runner))["tax"] == 500  # type: ignore[index]
    # Run again, it changes the order as it is now: the tax stays.
    outcome = await runner.run_text("order refund INV-7 30")
    assert outcome.request.json["tax"] == 500 and outcome.request.json["paid"] == 7000


@pytest.mark.parametrize(
    "call",
    [
        'api POST invoice?source=slack {"id": "INV-7", "email": "ann@example.com", "amount": 1, "paid": 1, '
        '"date_created": "2026-11-20 00:00:00", "items": [{"name": "A", "product_id": "P", "amount": 1}]}',
        "api DELETE invoice/INV-7?force=1",
    ],
)
async def test_a_raw_call_that_touches_the_order_forgets_its_record(runner: Runner, call: str) -> None:
    await runner.run_text(ORDER)
    assert await record(runner) is not None
    await runner.run_text(call)
    assert await record(runner) is None


async def test_a_raw_call_that_does_not_say_which_forgets_them_all(runner: Runner) -> None:
    await runner.run_text(ORDER)
    assert runner.records is not None
    await runner.records.after(runner.registry["api call"], _raw_post_list(), runner.context())
    assert await record(runner) is None


def _raw_post_list():  # type: ignore[no-untyped-def]
    from bot.segmetrics.request import ApiRequest

    return ApiRequest("POST", f"{ACCOUNT}/{INTEGRATION}/invoice", [{"id": "INV-7"}], api="root")


async def test_a_failed_change_keeps_the_record(runner: Runner, sandbox: Sandbox) -> None:
    await runner.run_text(ORDER)
    known = await record(runner)
    sandbox.add_fault(Fault(status=400, times=1))
    with pytest.raises(SegMetricsError):
        await runner.run_text("order refund INV-7 30")
    assert await record(runner) == known
