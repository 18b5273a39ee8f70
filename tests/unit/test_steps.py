"""Workflow Builder inputs, as a step run sends them, read into the raw values chat gives."""

from __future__ import annotations

from typing import Any

import pytest

from bot.operation import DeclarationError
from bot.problems import InputError
from bot.steps import callback_id, step_for, steps_of
from commands import REGISTRY

RUNNER = {"user_id": "U0123ABCD"}


def read(callback: str, inputs: dict[str, Any]) -> dict[str, Any]:
    step = step_for(REGISTRY, callback)
    assert step is not None
    return step.read({**RUNNER, **inputs}).raw


@pytest.mark.parametrize(
    ("callback", "inputs", "raw"),
    [
        ("tag_add", {"email": "jane@example.com", "tags": ["VIP", "Webinar 2026"]}, ["VIP", "Webinar 2026"]),
        ("tag_add", {"contact_id": "12345", "tags": "VIP, Webinar 2026"}, "VIP, Webinar 2026"),  # text: as chat
        ("tag_add", {"email": "a@b.co", "tags": ['"Smith, Jones"', ""]}, ['"Smith, Jones"']),
        ("contact_add", {"email": "a@b.co", "date_created": 1767225600}, "2026-01-01T00:00:00+00:00"),
        ("contact_add", {"email": "a@b.co", "date_created": "1767225600"}, "2026-01-01T00:00:00+00:00"),
        ("contact_add", {"email": "a@b.co", "date_created": "yesterday 3pm"}, "yesterday 3pm"),
        ("contact_add", {"email": "a@b.co", "date_created_text": "last Friday 9am"}, "last Friday 9am"),
        ("contact_add", {"email": "a@b.co", "geo_lat": 48.0}, "48"),
        ("contact_add", {"email": "a@b.co", "geo_lat": 0.00001}, "0.00001"),  # no exponent
        ("order_update", {"id": "INV-1", "is_refunded": "no"}, "no"),
        ("order_add", {"id": "INV-1", "email": "a@b.co", "is_refunded": True}, "yes"),
        ("order_add", {"id": "INV-1", "email": "a@b.co", "is_refunded": False}, "no"),
        ("order_add", {"id": "INV-1", "email": "a@b.co", "items": ["Course | C-1 | 49.99"]}, ["Course | C-1 | 49.99"]),
        ("subscription_add", {"id": "S-1", "email": "a@b.co", "frequency": 3}, "3"),
        ("ad_record", {"ad": "A1", "date": "2026-11-30"}, "2026-11-30"),
    ],
)
def test_inputs_become_the_raw_values_of_chat(callback: str, inputs: dict[str, Any], raw: Any) -> None:
    values = read(callback, inputs)
    last = list(inputs)[-1].removesuffix("_text")
    assert values[last] == raw


@pytest.mark.parametrize(
    ("callback", "inputs", "said"),
    [
        ("tag_add", {"email": "a@b.co", "tags": ["Hot lead, Q4"]}, "reads as 2 tags (Hot lead, Q4)"),
        ("tag_add", {"email": "a@b.co", "tags": ['"A", B']}, "reads as 2 tags (A, B)"),
        ("tag_add", {"email": "a@b.co", "tags": ['"Smith" Jones']}, "reads as 2 tags"),
        ("tag_add", {"email": "a@b.co", "tags": ['"open']}, "is never closed"),
        ("contact_add", {"email": "a@b.co", "contact_id": 2.0**60}, "too large to be exact"),
        ("tag_add", {"email": "a@b.co", "tags": [{"name": "VIP"}]}, "item 1 is not text"),
        ("contact_add", {"email": "a@b.co", "date_created": 1767225600000}, "looks like milliseconds"),
        ("contact_add", {"email": "a@b.co", "date_created": 12}, "not a Unix time in seconds"),
        ("contact_add", {"email": "a@b.co", "date_created": True}, "is not a date"),
        ("contact_add", {"email": "a@b.co", "first_name": ["Jane", "Joan"]}, "is a list of 2; give one value"),
        ("contact_add", {"email": "a@b.co", "geo_lat": True}, "is true (a yes/no); give a number"),
        ("contact_add", {"email": "a@b.co", "unknown": "x"}, "is not an input of this step"),
        ("contact_add", {"email": "a@b.co", "channel_id": "marketing"}, "not a Slack channel id"),
    ],
)
def test_inputs_that_would_be_misread_are_refused(callback: str, inputs: dict[str, Any], said: str) -> None:
    with pytest.raises(InputError) as raised:
        read(callback, inputs)
    assert said in str(raised.value)


def test_who_runs_it_is_required_and_must_be_a_user() -> None:
    step = step_for(REGISTRY, "tag_add")
    assert step is not None
    for given in ({}, {"user_id": ""}, {"user_id": "jane"}, {"user_id": 42}):
        with pytest.raises(InputError, match="Run as"):
            step.read({**given, "email": "a@b.co", "tags": ["VIP"]})
    call = step.read({"user_id": "U1", "channel_id": "C1", "via": " ads ", "email": "a@b.co", "tags": ["VIP"]})
    assert (call.user, call.channel, call.via) == ("U1", "C1", "ads")
    # Who clicked the workflow's button, as Slack says: enough alone, and must agree with Run as.
    clicked = {"interactor": {"id": "U5"}, "interactivity_pointer": "13.5.abc"}
    assert step.read({"interactivity": clicked, "email": "a@b.co", "tags": ["VIP"]}).user == "U5"
    assert step.read({"user_id": "U5", "interactivity": clicked, "email": "a@b.co", "tags": ["VIP"]}).user == "U5"
    with pytest.raises(InputError, match="but Slack says U5 used the workflow"):
        step.read({"user_id": "U1", "interactivity": clicked, "email": "a@b.co", "tags": ["VIP"]})


def test_every_step_is_derived_and_deletes_are_not_steps() -> None:
    callbacks = {step.callback_id for step in steps_of(REGISTRY)}
    assert callbacks == {callback_id(op) for op in REGISTRY if not op.destructive}
    assert "contact_delete" not in callbacks and "contact_show" in callbacks
    for step in steps_of(REGISTRY):
        names = [item.name for item in step.inputs]
        assert len(names) == len(set(names)), step.callback_id
        fields = {item.field for item in step.inputs if item.field}
        assert fields == {spec.name for spec in step.op.params}, step.callback_id


def test_a_field_no_input_can_carry_fails_at_derivation() -> None:
    from dataclasses import replace

    from bot.fields import Kind
    from bot.steps import _derive

    class Odd(Kind):
        pass

    op = REGISTRY["tag add"]
    odd = replace(op.params[0], kind=Odd())
    with pytest.raises(DeclarationError, match="no Workflow Builder input carries"):
        _derive(replace(op, params=(odd, *op.params[1:])))
