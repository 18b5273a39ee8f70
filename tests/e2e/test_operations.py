"""Every operation as Slack users run it: the complete command, and the incomplete one that opens a form.

Both must reach SegMetrics with the exact JSON and confirm it. The user's zone (from users.info) is
America/New_York, the API zone UTC: "2026-11-20 09:00" is sent as "2026-11-20 14:00:00".
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.sandbox import Sandbox
from tests.e2e.conftest import BASE, CHANNEL, Slack


@dataclass(frozen=True)
class Case:
    name: str
    command: str
    incomplete: str
    typed: dict[str, str]
    method: str
    path: str
    json: Any
    setup: tuple[str, ...] = ()
    headline: str = ""
    text: str | None = None  # the message's fallback text, when it is not "<@U1> {headline}"
    private: bool = False
    prefilled: dict[str, str] = field(default_factory=dict)


ORDER = {
    "id": "INV-1",
    "email": "jane@example.com",
    "amount": 4999,
    "paid": 4999,
    "date_created": "2026-11-20 14:00:00",
    "items": [{"name": "Course", "product_id": "C-100", "amount": 4999}],
}
SUBSCRIPTION = {
    "id": "SUB-1",
    "email": "jane@example.com",
    "amount": 2900,
    "product_id": "PRO",
    "start_date": "2026-11-01 04:00:00",
    "billing_cycle": "month",
    "frequency": 1,
    "last_bill_date": "2026-11-01 04:00:00",
    "quantity": 1,
}

CASES = [
    Case(
        "contact add",
        '/segmetrics contact add jane@example.com first=Jane created="2026-11-20 09:00" field.plan=Pro',
        "/sm-contact add",
        {
            "email": "jane@example.com",
            "first_name": "Jane",
            "date_created": "2026-11-20 09:00",
            "custom_fields": "plan = Pro",
        },
        "POST",
        f"{BASE}/contact",
        {
            "email": "jane@example.com",
            "first_name": "Jane",
            "date_created": "2026-11-20 14:00:00",
            "custom_fields": {"plan": "Pro"},
        },
        headline="saved contact jane@example.com",
    ),
    Case(
        "contact delete",
        "/sm-contact delete jane@example.com",
        "/segmetrics contact delete",
        {"email": "jane@example.com"},
        "DELETE",
        f"{BASE}/contact/jane@example.com",
        None,
        setup=("contact add jane@example.com",),
        headline="deleted contact jane@example.com",
    ),
    Case(
        "contact show",
        "/segmetrics contact show jane@example.com",
        "/sm-contact show",
        {"email": "jane@example.com"},
        "GET",
        "/reporting/acct-1/contact/jane@example.com",
        None,
        setup=("contact add jane@example.com first=Jane",),
        text="Contact Jane",  # the contact card
        private=True,
    ),
    Case(
        "tag add",
        '/sm-tag add jane@example.com VIP "Webinar 2026"',
        "/sm-tag add jane@example.com",
        {"tags": "VIP, Webinar 2026"},
        "POST",
        f"{BASE}/tags/add",
        {"email": "jane@example.com", "tags": ["VIP", "Webinar 2026"]},
        setup=("contact add jane@example.com",),
        headline="tagged jane@example.com with VIP, Webinar 2026",
        prefilled={"email": "jane@example.com"},
    ),
    Case(
        "tag remove",
        "/segmetrics tag remove jane@example.com VIP",
        "/sm-tag remove",
        {"email": "jane@example.com", "tags": "VIP"},
        "POST",
        f"{BASE}/tags/remove",
        {"email": "jane@example.com", "tags": ["VIP"]},
        setup=("contact add jane@example.com tags=VIP",),
        headline="removed VIP from jane@example.com",
    ),
    Case(
        "order add",
        '/sm-order add INV-1 jane@example.com amount=$49.99 item="Course | C-100 | $49.99" date="2026-11-20 09:00"',
        "/segmetrics order add INV-1",
        {
            "email": "jane@example.com",
            "amount": "$49.99",
            "items": "Course | C-100 | $49.99",
            "date_created": "2026-11-20 09:00",
        },
        "POST",
        f"{BASE}/invoice",
        ORDER,
        headline="saved order INV-1 for jane@example.com",
        prefilled={"id": "INV-1", "date_created": "now"},
    ),
    Case(
        "order delete",
        "/sm-order delete INV-1",
        "/sm-order delete",
        {"id": "INV-1"},
        "DELETE",
        f"{BASE}/invoice/INV-1",
        None,
        setup=("order add INV-1 jane@example.com amount=5 product_id=P",),
        headline="deleted order INV-1",
    ),
    Case(
        "subscription add",
        "/sm-subscription add SUB-1 jane@example.com amount=29 product_id=PRO start=2026-11-01 cycle=monthly",
        "/sm-subscription add SUB-1 jane@example.com",
        {"amount": "29", "product_id": "PRO", "start_date": "2026-11-01", "billing_cycle": "month"},
        "POST",
        f"{BASE}/subscription",
        SUBSCRIPTION,
        headline="saved subscription SUB-1 for jane@example.com",
        prefilled={"id": "SUB-1", "email": "jane@example.com", "frequency": "1", "quantity": "1"},
    ),
    Case(
        "subscription delete",
        "/segmetrics subscription delete SUB-1",
        "/segmetrics subscription delete",
        {"id": "SUB-1"},
        "DELETE",
        f"{BASE}/subscription/SUB-1",
        None,
        setup=("subscription add SUB-1 jane@example.com amount=29 product_id=PRO start=2026-11-01 cycle=month",),
        headline="deleted subscription SUB-1",
    ),
    Case(
        "ad record",
        "/sm-ad record AD-1 spend=120.50 date=2026-11-20 clicks=42",
        "/sm-ad record AD-1",
        {"spend": "120.50", "date": "2026-11-20", "clicks": "42"},
        "POST",
        f"{BASE}/ad/performance",
        {"ad": "AD-1", "spend": 12050, "date": "2026-11-20", "clicks": 42},
        headline="recorded $120.50 of spend for ad AD-1 on Fri Nov 20, 2026",
        prefilled={"ad": "AD-1"},
    ),
    Case(
        "api call",
        '/sm-api POST contact {"email": "jane@example.com", "first_name": "Jane"}',
        "/sm-api POST",
        {"path": "contact", "body": '{"email": "jane@example.com", "first_name": "Jane"}'},
        "POST",
        f"{BASE}/contact",
        {"email": "jane@example.com", "first_name": "Jane"},
        headline="called POST contact",
    ),
]


def split(slash: str) -> tuple[str, str]:
    command, _, text = slash.partition(" ")
    return command, text


async def prepare(slack: Slack, case: Case) -> None:
    for text in case.setup:
        await slack.bot.runner.run_text(text)


async def confirmation(slack: Slack, case: Case, since: float) -> dict[str, Any]:
    method = "response_url" if case.private else "chat.postMessage"
    call = await slack.posted(lambda call: call.at >= since, method=method)
    return call.args


def sent(sandbox: Sandbox, case: Case) -> tuple[str, str, Any]:
    request = sandbox.requests[-1]
    return request.method, request.path, request.json


def writes(sandbox: Sandbox, since: int) -> int:
    return sum(1 for request in sandbox.requests[since:] if request.method != "GET")


async def confirm_if_asked(slack: Slack, case: Case, since: float) -> None:
    """Deletes ask first, only to the user: click the prompt's Delete."""
    if case.method != "DELETE":
        return
    prompt = await slack.posted(
        lambda call: call.at >= since and "confirm_run" in json.dumps(call.args.get("blocks")), method="response_url"
    )
    assert prompt.args["response_type"] == "ephemeral"
    assert "permanent" in json.dumps(prompt.args["blocks"])
    value = next(
        element["value"]
        for block in prompt.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "confirm_run"
    )
    await slack.click("confirm_run", value, response_key="prompt")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_the_complete_command_runs_at_once(slack: Slack, sandbox: Sandbox, case: Case) -> None:
    await prepare(slack, case)
    before = len(sandbox.requests)
    since = time.monotonic()
    command, text = split(case.command)
    response = await slack.command(text, command=command)
    assert response.status_code == 200
    assert response.text == ""  # acknowledged silently; the confirmation follows
    await confirm_if_asked(slack, case, since)
    posted = await confirmation(slack, case, since)
    assert writes(sandbox, before) == (0 if case.method == "GET" else 1)
    assert sent(sandbox, case) == (case.method, case.path, case.json)
    assert posted["text"] == (case.text or f"<@U1> {case.headline}")
    if case.private:
        assert posted["response_type"] == "ephemeral"
    else:
        assert posted["channel"] == CHANNEL


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_the_incomplete_command_opens_a_prefilled_form(slack: Slack, sandbox: Sandbox, case: Case) -> None:
    await prepare(slack, case)
    before = len(sandbox.requests)
    since = time.monotonic()
    command, text = split(case.incomplete)
    response = await slack.command(text, command=command)
    assert response.status_code == 200 and response.text == ""
    view = await slack.opened_view(after=since)
    blocks = {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}
    for block_id, value in case.prefilled.items():
        assert blocks[block_id]["element"].get("initial_value") == value
    assert len(sandbox.requests) == before  # nothing sent while the form is open

    submitted = await slack.submit(view, case.typed)
    assert submitted.status_code == 200
    assert submitted.text == ""  # the form closes
    await confirm_if_asked(slack, case, since)
    posted = await confirmation(slack, case, since)
    assert sent(sandbox, case) == (case.method, case.path, case.json)
    assert posted["text"] == (case.text or f"<@U1> {case.headline}")
