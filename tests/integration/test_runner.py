"""Chat text all the way to SegMetrics: the runner against the sandbox over HTTP, and in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.runner import Runner
from bot.sandbox import Fault, Sandbox, SandboxServer
from bot.segmetrics.errors import BadRequest
from bot.settings import load_settings
from tests.conftest import NOW
from tests.integration.conftest import ACCOUNT, API_KEY, INTEGRATION


@pytest.fixture
async def runner(server: SandboxServer) -> AsyncIterator[Runner]:
    settings = load_settings(
        env_file=None,
        segmetrics_api_key=API_KEY,
        segmetrics_account_id=ACCOUNT,
        segmetrics_integration_id=INTEGRATION,
        segmetrics_import_url=server.import_url,
        segmetrics_reporting_url=server.reporting_url,
        segmetrics_timezone="UTC",
    )
    async with Runner.from_settings(settings) as live:
        yield live


async def test_chat_text_reaches_segmetrics(runner: Runner, sandbox: Sandbox) -> None:
    outcome = await runner.run_text(
        'contact add jane@example.com first=Jane tags="VIP, Webinar" field.plan=Pro',
        zone="America/New_York",
        now=NOW,
    )
    assert not outcome.sandbox
    assert outcome.summary.headline == "saved contact jane@example.com"
    stored = sandbox.contact("jane@example.com")
    assert stored is not None
    assert stored["first_name"] == "Jane"
    assert stored["custom_fields"] == {"plan": "Pro"}
    assert sandbox.tag_names("jane@example.com") == ["VIP", "Webinar"]

    await runner.run_text("tag add jane@example.com Buyer", zone="America/New_York", now=NOW)
    await runner.run_text("tag remove jane@example.com VIP", zone="America/New_York", now=NOW)
    assert sandbox.tag_names("jane@example.com") == ["Webinar", "Buyer"]

    await runner.run_text(
        'order add INV-1 jane@example.com amount=$49.99 item="Course | C-100 | $49.99" date="yesterday 3pm"',
        zone="America/New_York",
        now=NOW,
    )
    invoice = sandbox.invoice("INV-1")
    assert invoice is not None
    assert invoice["date_created"] == "2026-11-22 20:00:00"

    card = await runner.run_text("contact show jane@example.com", zone="America/New_York", now=NOW)
    facts = {fact.label: fact.value for fact in card.summary.facts}
    assert facts["Name"] == "Jane"
    assert facts["Tags"] == "Webinar, Buyer"
    assert facts["Orders"] == "1 ($49.99 paid)"
    assert facts["Custom fields"] == "plan: Pro"


async def test_deleting_nothing_is_an_outcome_not_a_crash(runner: Runner) -> None:
    outcome = await runner.run_text("order delete INV-404")
    assert not outcome.found
    assert outcome.summary.headline == "SegMetrics has no order INV-404; nothing was deleted."


async def test_segmetrics_rejection_is_a_sentence(runner: Runner) -> None:
    with pytest.raises(BadRequest) as caught:
        await runner.run_text("order add INV-2 999 amount=5 product_id=P")
    assert str(caught.value) == "SegMetrics rejected the request: contact 999 not found."


async def test_without_credentials_the_in_process_sandbox_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SEGMETRICS_API_KEY", "SEGMETRICS_ACCOUNT_ID", "SEGMETRICS_INTEGRATION_ID"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(env_file=None)
    async with Runner.from_settings(settings) as runner:
        outcome = await runner.run_text("contact add jane@example.com first=Jane")
        assert outcome.sandbox
        assert runner.sandbox is not None
        assert runner.sandbox.contact("jane@example.com")["first_name"] == "Jane"


async def test_a_delete_whose_answer_was_lost_is_reported_done(runner: Runner, sandbox: Sandbox) -> None:
    await runner.run_text("order add INV-9 jane@example.com amount=5 product_id=P")
    # SegMetrics deletes, but the answer never arrives; the retry then finds nothing.
    sandbox.add_fault(Fault(status=None, disconnect=True, method="DELETE"))
    outcome = await runner.run_text("order delete INV-9")
    assert outcome.found
    assert outcome.summary.headline == "deleted order INV-9"
    assert "a retry found nothing left, so it was deleted" in outcome.summary.notes[-1]
    assert sandbox.invoice("INV-9") is None


async def test_a_delete_of_nothing_after_a_503_is_not_reported_done(runner: Runner, sandbox: Sandbox) -> None:
    # A 503 is an answer: that try changed nothing, so the retry's "not found" means there was nothing.
    sandbox.add_fault(Fault(status=503, method="DELETE"))
    outcome = await runner.run_text("order delete INV-NEVER")
    assert not outcome.found
    assert outcome.summary.headline != "deleted order INV-NEVER"


async def test_the_confirmation_names_the_defaults_used(runner: Runner) -> None:
    outcome = await runner.run_text(
        "subscription add SUB-1 jane@example.com amount=29 product_id=P start=2026-11-01 cycle=month"
    )
    defaulted = "not given, so defaulted: bills every n cycles 1, last billed = the start date, quantity 1"
    assert defaulted in outcome.summary.notes
    outcome = await runner.run_text("order add INV-3 jane@example.com amount=5 product_id=P")
    assert "not given, so defaulted: amount paid = the order total, order date now" in outcome.summary.notes
    outcome = await runner.run_text('order add INV-4 jane@example.com amount=5 paid=5 product_id=P date="2026-11-01"')
    assert not any(note.startswith("not given") for note in outcome.summary.notes)


async def test_an_unknown_zone_falls_back_to_the_api_zone(runner: Runner) -> None:
    outcome = await runner.run_text(
        'order add INV-5 jane@example.com amount=5 product_id=P date="yesterday 3pm"', zone="Mars/Olympus", now=NOW
    )
    assert outcome.request.json["date_created"] == "2026-11-22 15:00:00"
    assert "times in UTC, as sent to SegMetrics" in outcome.summary.notes
