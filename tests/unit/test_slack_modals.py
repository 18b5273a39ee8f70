"""Modals derived from declarations: block_ids are API field names, prefill is what was typed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.chat import parse_command
from bot.context import Context
from bot.operation import Operation
from bot.problems import InputError
from bot.slack import modals
from commands import REGISTRY

SEAL = modals.Seal("xoxb-test-token")


def view_for(text: str, ctx: Context) -> tuple[Operation, dict[str, Any]]:
    parsed = parse_command(text, REGISTRY, slack=True)
    origin = modals.Origin(channel_id="C1", response_url="https://hooks.slack.com/commands/T1/1/abc")
    return parsed.operation, modals.build_view(parsed.operation, raw=parsed.raw, ctx=ctx, origin=origin, seal=SEAL)


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def submitted(view: dict[str, Any], overrides: dict[str, str | None] | None = None) -> dict[str, Any]:
    """The state Slack would send if the user submitted the form with its initial values (and overrides)."""
    overrides = overrides or {}
    values: dict[str, Any] = {}
    for block_id, block in blocks_by_id(view).items():
        element = block["element"]
        if element["type"] == "static_select":
            value = overrides.get(block_id, (element.get("initial_option") or {}).get("value"))
            option = {"value": value} if value else None
            values[block_id] = {"value": {"type": "static_select", "selected_option": option}}
        else:
            value = overrides.get(block_id, element.get("initial_value"))
            values[block_id] = {"value": {"type": "plain_text_input", "value": value}}
    return values


@pytest.mark.parametrize("op", list(REGISTRY), ids=lambda op: op.name)
def test_every_operation_has_a_valid_modal(op: Operation, ctx: Context) -> None:
    view = modals.build_view(op, raw={}, ctx=ctx, origin=modals.Origin(), seal=SEAL)
    assert view["callback_id"] == f"op:{op.resource}:{op.verb}"
    assert len(view["title"]["text"]) <= 24
    assert len(view["blocks"]) <= 100
    inputs = blocks_by_id(view)
    assert list(inputs) == [spec.name for spec in op.params]
    for spec in op.params:
        block = inputs[spec.name]
        assert block["element"]["action_id"] == "value"
        assert block["label"]["text"] == spec.title
        assert block["optional"] is (not spec.required)
    assert modals.operation_for(view["callback_id"], REGISTRY) is op


def test_the_contract_block_ids_and_widgets(ctx: Context) -> None:
    _, order = view_for("order add", ctx)
    blocks = blocks_by_id(order)
    assert {"id", "email", "contact_id", "amount", "paid", "date_created", "items"} <= set(blocks)
    assert blocks["items"]["element"]["multiline"] is True
    _, contact = view_for("contact add", ctx)
    assert contact_blocks_ok(blocks_by_id(contact))
    _, subscription = view_for("subscription add", ctx)
    cycle = blocks_by_id(subscription)["billing_cycle"]["element"]
    assert cycle["type"] == "static_select"
    assert [option["value"] for option in cycle["options"]] == ["day", "week", "month", "year"]
    _, ad = view_for("ad record", ctx)
    assert {"ad", "spend", "date"} <= set(blocks_by_id(ad))
    _, api = view_for("api", ctx)
    assert [option["value"] for option in blocks_by_id(api)["method"]["element"]["options"]] == [
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
    ]


def contact_blocks_ok(blocks: dict[str, dict[str, Any]]) -> bool:
    status = blocks["status"]["element"]
    return (
        blocks["custom_fields"]["element"]["multiline"] is True
        and blocks["tags"]["element"].get("multiline") is not True
        and status["options"][0]
        == {"text": {"type": "plain_text", "text": "Not set", "emoji": True}, "value": "__unset__"}
    )


def test_the_form_is_prefilled_with_what_was_typed(ctx: Context) -> None:
    _, view = view_for('order add INV-1 <mailto:jane@example.com|jane@example.com> total=$5 item="A | P | 5"', ctx)
    blocks = blocks_by_id(view)
    assert blocks["id"]["element"]["initial_value"] == "INV-1"
    assert blocks["email"]["element"]["initial_value"] == "jane@example.com"
    assert blocks["amount"]["element"]["initial_value"] == "$5"
    assert blocks["items"]["element"]["initial_value"] == "A | P | 5"
    assert blocks["date_created"]["element"]["initial_value"] == "now"  # the declared default
    assert "initial_value" not in blocks["paid"]["element"]
    assert blocks["amount"]["element"]["placeholder"]["text"] == "e.g. $49.99"
    _, view = view_for("subscription add SUB-1 a@b.com cycle=Monthly", ctx)
    assert blocks_by_id(view)["billing_cycle"]["element"]["initial_option"]["value"] == "month"
    _, view = view_for("contact add a@b.com tags=VIP tags=Trial field.plan=Pro field.tier=Gold", ctx)
    blocks = blocks_by_id(view)
    assert blocks["tags"]["element"]["initial_value"] == "VIP, Trial"
    assert blocks["custom_fields"]["element"]["initial_value"] == "plan = Pro\ntier = Gold"


def test_the_origin_travels_in_private_metadata(ctx: Context) -> None:
    _, view = view_for("tag add", ctx)
    origin = modals.Origin.loads(view["private_metadata"], SEAL)
    assert origin == modals.Origin(channel_id="C1", response_url="https://hooks.slack.com/commands/T1/1/abc")
    assert len(view["private_metadata"]) <= 3000
    assert modals.Origin.loads("not json", SEAL) == modals.Origin()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text.replace("C1", "C0SALES1"),
        lambda text: json.dumps({"channel_id": "C0SALES1"}),
        lambda text: json.dumps({"o": json.dumps({"channel_id": "C0SALES1"}), "s": json.loads(text)["s"]}),
        lambda text: "",
    ],
)
def test_an_origin_the_bot_did_not_write_is_ignored(tamper: Any, ctx: Context) -> None:
    _, view = view_for("tag add", ctx)
    assert modals.Origin.loads(tamper(view["private_metadata"]), SEAL) == modals.Origin()
    assert modals.Origin.loads(view["private_metadata"], modals.Seal("another-bot")) == modals.Origin()


@pytest.mark.parametrize(
    "text",
    [
        'order add INV-1 jane@example.com total=6 item="A | P | 5" item="B | Q | 1" refunded=yes',
        'contact add 12345 email=a@b.com status=inactive tags="VIP, Trial" field.plan=Pro field.old=',
        "subscription add SUB-1 a@b.com amount=29 product_id=P start=today cycle=month",
        'api POST contact header.X-Source=slack {"email": "a@b.com"}',
        "tag add a@b.com VIP Trial",
    ],
)
def test_submitting_the_prefilled_form_gives_back_what_was_typed(text: str, ctx: Context) -> None:
    op, view = view_for(text, ctx)
    raw = modals.read_state(op, submitted(view))
    typed = parse_command(text, REGISTRY).raw
    assert op.validate(raw, ctx) == op.validate(typed, ctx)


def test_empty_and_unset_fields_are_not_sent(ctx: Context) -> None:
    op, view = view_for("contact add a@b.com status=active", ctx)
    raw = modals.read_state(op, submitted(view, {"status": "__unset__", "first_name": "   "}))
    assert raw == {"email": "a@b.com"}


def test_inline_errors_are_keyed_by_block_id(ctx: Context) -> None:
    op, view = view_for("order add", ctx)
    raw = modals.read_state(op, submitted(view, {"id": "INV-1", "amount": "45.999", "items": "A | P"}))
    with pytest.raises(InputError) as caught:
        op.validate(raw, ctx)
    errors = modals.inline_errors(op, caught.value)
    assert set(errors) == {"email", "amount", "items"}
    assert errors["amount"].startswith("`45.999` has 3 decimals")
    assert errors["email"] == "Is required. Example: `jane@example.com`"
