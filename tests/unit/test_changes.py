"""A change of a known record: only what was said moves; what cannot be known is asked, never guessed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.changes import AskInForm, Change, apply
from bot.chat import parse_command
from bot.context import Context
from bot.problems import InputError
from commands import REGISTRY

ORDER = {
    "id": "INV-7",
    "contact_id": "555",
    "email": "ann@example.com",
    "amount": 10000,
    "paid": 10000,
    "date_created": "2026-11-20 14:30:15",
    "items": [{"name": "Course", "product_id": "C-1", "amount": 10000}],
    "tax": 0,
}
SUBSCRIPTION = {
    "id": "SUB-1",
    "email": "ann@example.com",
    "amount": 2900,
    "product_id": "PRO",
    "start_date": "2026-11-01 00:00:00",
    "billing_cycle": "month",
    "frequency": 1,
    "last_bill_date": "2026-11-01 00:00:00",
    "quantity": 1,
}


def change(text: str, known: dict[str, Any] | None, ctx: Context, *, whole: bool = False) -> Change:
    parsed = parse_command(text, REGISTRY)
    op = parsed.operation
    assert op.changes is not None
    return apply(op, op.validate(parsed.raw, ctx), known, ctx, REGISTRY.editor(op.changes), whole=whole)


def sent(text: str, known: dict[str, Any] | None, ctx: Context, **options: Any) -> dict[str, Any]:
    data = change(text, known, ctx, **options)
    return dict(data.after.to_api(ctx))


def refused(text: str, known: dict[str, Any] | None, ctx: Context) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        change(text, known, ctx)
    assert not isinstance(caught.value, AskInForm)
    return caught.value.by_field()


@pytest.mark.parametrize(
    ("text", "moved"),
    [
        ("order update INV-7 refunded=yes", {"is_refunded": True}),
        ("order update INV-7 ann@example.com refunded=no", {"is_refunded": False}),
        ("order update INV-7 555 shipping=5 total=105 paid=100", {"shipping": 500, "amount": 10500}),
        ("order update INV-7 date=2026-11-21", {"date_created": "2026-11-21 05:00:00"}),
        ("order refund INV-7", {"is_refunded": True}),
        ("order refund INV-7 $25", {"is_refunded": True, "paid": 7500}),
        ("order refund INV-7 100", {"is_refunded": True, "paid": 0}),
    ],
)
def test_only_what_was_said_moves(text: str, moved: dict[str, Any], ctx: Context) -> None:
    assert sent(text, ORDER, ctx) == {**ORDER, **moved}


def test_another_contact_replaces_the_records_own(ctx: Context) -> None:
    after = sent("order update INV-7 bob@example.com", ORDER, ctx)
    assert after["email"] == "bob@example.com" and "contact_id" not in after
    after = sent("order update INV-7 contact_id=777", ORDER, ctx)
    assert after["contact_id"] == "777" and "email" not in after
    facts = {fact.label: fact.value for fact in change("order update INV-7 bob@example.com", ORDER, ctx).differences(
        REGISTRY["order add"], ctx
    )}  # fmt: skip
    assert facts == {"Customer e-mail": "ann@example.com → bob@example.com", "Customer contact ID": "555 → (removed)"}


def test_naming_only_the_records_own_contact_asks_in_the_form(ctx: Context) -> None:
    with pytest.raises(AskInForm) as caught:
        change("order update INV-7 ann@example.com", ORDER, ctx)
    assert caught.value.form is REGISTRY["order update"]
    assert caught.value.prefill["paid"] == "100.00" and caught.value.prefill["date_created"] == "2026-11-20 09:30:15"


@pytest.mark.parametrize(
    ("text", "field", "choices"),
    [
        ('order update INV-7 total=120 item="Course | C-1 | 120"', "paid", ("paid=120.00", "paid=100.00")),
        ("subscription update SUB-1 start=2026-10-15", "last_bill_date", ("last_bill_date=2026-10-15 00:00",)),
    ],
)
def test_a_field_that_followed_another_is_asked_about_when_that_one_moves(
    text: str, field: str, choices: tuple[str, ...], ctx: Context
) -> None:
    known = ORDER if text.startswith("order") else SUBSCRIPTION
    problem = refused(text, known, ctx)[field]
    assert "say whether it changes with it" in problem
    assert all(choice.split("=")[1].split()[0] in problem for choice in choices)


def test_a_field_that_no_longer_followed_stays(ctx: Context) -> None:
    partly_paid = {**ORDER, "paid": 4000}
    assert sent('order update INV-7 total=120 item="Course | C-1 | 120"', partly_paid, ctx)["paid"] == 4000
    assert sent('order update INV-7 total=120 paid=120 item="Course | C-1 | 120"', ORDER, ctx)["paid"] == 12000


def test_without_a_record_a_typed_change_always_goes_to_the_form(ctx: Context) -> None:
    whole = 'order update INV-9 ann@example.com item="A | P | 30" paid=30 date="2026-11-20 09:00"'
    with pytest.raises(AskInForm) as caught:
        change(whole, None, ctx)
    assert caught.value.errors == () and "no record of order INV-9" in caught.value.notice
    assert caught.value.prefill["items"] == "A | P | 30.00"
    # The form's submission is a whole record: sent as given, and said to be.
    data = change(whole, None, ctx, whole=True)
    assert data.before is None and data.after.amount == 3000
    assert "whole record" in " ".join(REGISTRY["order update"].describe(data, None, ctx).notes)


def test_a_whole_form_removes_what_was_cleared_but_keeps_what_is_required(ctx: Context) -> None:
    after = sent('order update INV-7 555 item="Course | C-1 | 100" paid=100 date="2026-11-20 09:30:15"', ORDER, ctx,
                 whole=True)  # fmt: skip
    assert "tax" not in after and "email" not in after
    with pytest.raises(AskInForm) as caught:
        change('order update INV-7 555 item="Course | C-1 | 100" paid=100', ORDER, ctx, whole=True)
    assert "the form holds the whole record" in caught.value.by_field()["date_created"]


def test_a_change_of_nothing_is_refused(ctx: Context) -> None:
    assert "changes nothing" in refused("order update INV-7 tax=0", ORDER, ctx)["id"].lower()
    refunded = {**ORDER, "is_refunded": True}
    assert "already marked refunded" in refused("order refund INV-7", refunded, ctx)["id"]
    cancelled = {**SUBSCRIPTION, "canceled_date": "2026-11-10 00:00:00"}
    assert "already cancelled" in refused("subscription cancel SUB-1", cancelled, ctx)["id"]


def test_the_whole_record_is_checked_again(ctx: Context) -> None:
    assert "the items add up to $100.00" in refused("order update INV-7 amount=90", ORDER, ctx)["amount"]
    assert "more than was paid" in refused("order refund INV-7 101", ORDER, ctx)["amount"]
    assert "before Last billed" in refused("subscription end SUB-1 2026-10-01", SUBSCRIPTION, ctx)["end_date"]
