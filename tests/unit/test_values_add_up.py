"""Values that add up, checked before anything is sent: an order's items against its total, what was paid
against the total, a subscription's dates in the order it lives them, counts of at least one."""

from __future__ import annotations

from typing import Any

import pytest

from bot.chat import parse_command
from bot.context import Context
from bot.problems import InputError
from commands import REGISTRY


def read(text: str, ctx: Context) -> Any:
    parsed = parse_command(text, REGISTRY)
    return parsed.operation.validate(parsed.raw, ctx)


def problems(text: str, ctx: Context) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        read(text, ctx)
    return caught.value.by_field()


ORDER = "order add INV-1 ann@example.com"


@pytest.mark.parametrize(
    ("typed", "amount", "paid"),
    [
        ('item="A | P | 30" item="B | Q | 30"', 6000, 6000),
        ('amount=60 item="A | P | 30" item="B | Q | 30"', 6000, 6000),
        ('item="A | P | 30" item="B | Q | 30" discount=5 tax=4.50 shipping=7.95', 6745, 6745),
        ('total=67.45 item="A | P | 30" item="B | Q | 30" discount=5 tax=4.50 shipping=7.95', 6745, 6745),
        ('item="A | P | 30" paid=10', 3000, 1000),
        ('item="A | P | 30" paid=0', 3000, 0),
        ('item="A | P | 30" item="Free | F | 0" discount=30', 0, 0),
    ],
)
def test_an_order_that_adds_up(typed: str, amount: int, paid: int, ctx: Context) -> None:
    order = read(f"{ORDER} {typed}", ctx)
    assert (order.amount, order.paid) == (amount, paid)


def test_one_product_is_priced_so_that_the_order_adds_up(ctx: Context) -> None:
    order = read(f"{ORDER} total=99 product=PRO tax=8.25 discount=1", ctx)
    assert [(item.product_id, item.amount) for item in order.items] == [("PRO", 9175)]
    assert order.amount == 9900


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ('amount=100 item="A | P | 30" item="B | Q | 30"', "$100.00, but the items add up to $60.00 (items $60.00)"),
        (
            'amount=60 item="A | P | 30" item="B | Q | 30" tax=5',
            "$60.00, but the items add up to $65.00 (items $60.00 + tax $5.00)",
        ),
        (
            'amount=60 item="A | P | 50" discount=5 shipping=5 tax=1',
            "the items add up to $51.00 (items $50.00 − discount $5.00 + tax $1.00 + shipping $5.00)",
        ),
    ],
)
def test_items_that_do_not_make_the_total_are_refused_with_both(typed: str, says: str, ctx: Context) -> None:
    found = problems(f"{ORDER} {typed}", ctx)
    assert says in found["amount"]
    assert "leave the total out" in found["amount"]


@pytest.mark.parametrize(
    ("typed", "field", "says"),
    [
        ("amount=100 paid=150 product=P", "paid", "($150.00) is more than the order total ($100.00)"),
        ('paid=30.01 item="A | P | 30"', "paid", "($30.01) is more than the order total ($30.00)"),
        ('item="A | P | 10" discount=20', "discount", "is more than the items, tax and shipping"),
        ("amount=5 tax=10 product=P", "amount", "less than nothing"),
    ],
)
def test_money_that_cannot_be_is_refused(typed: str, field: str, says: str, ctx: Context) -> None:
    assert says in problems(f"{ORDER} {typed}", ctx)[field]


SUBSCRIPTION = "subscription add SUB-1 ann@example.com amount=29 product=PRO cycle=month"


@pytest.mark.parametrize(
    "typed",
    [
        "start=2026-11-01",
        "start=2026-11-01 billed=2026-11-01 canceled=2026-11-01 end=2026-11-01",
        "start=2026-11-01 billed=2026-11-15 canceled=2026-11-20 end=2026-12-15 trial=2026-11-08",
        "start=2026-11-01 end=2026-11-02",
    ],
)
def test_subscription_dates_in_order(typed: str, ctx: Context) -> None:
    subscription = read(f"{SUBSCRIPTION} {typed}", ctx)
    assert subscription.start_date <= subscription.last_bill_date


@pytest.mark.parametrize(
    ("typed", "wrong"),
    [
        ("start=2026-11-10 billed=2026-11-01", {"last_bill_date": "before Start date"}),
        ("start=2026-11-01 canceled=2026-10-20", {"canceled_date": "before Last billed"}),
        ("start=2026-11-01 billed=2026-11-20 end=2026-11-10", {"end_date": "before Last billed"}),
        ("start=2026-11-01 trial=2026-11-01", {"trial_end_date": "not after Start date"}),
        ("start=2026-11-01 trial=2026-10-01", {"trial_end_date": "not after Start date"}),
        (
            "start=2026-11-10 billed=2026-11-01 canceled=2026-10-01 end=2026-10-01 trial=2026-11-05",
            {
                "last_bill_date": "before Start date",
                "canceled_date": "before Last billed",
                "end_date": "before Last billed",
                "trial_end_date": "not after Start date",
            },
        ),
    ],
)
def test_subscription_dates_out_of_order_are_refused_all_at_once(
    typed: str, wrong: dict[str, str], ctx: Context
) -> None:
    found = problems(f"{SUBSCRIPTION} {typed}", ctx)
    assert set(found) == set(wrong)
    for field, says in wrong.items():
        assert says in found[field]
        assert "Example: `" in found[field]


def test_the_example_given_for_a_date_out_of_order_is_accepted(ctx: Context) -> None:
    found = problems(f"{SUBSCRIPTION} start=2026-11-10 billed=2026-11-01", ctx)
    example = found["last_bill_date"].rsplit("`", 2)[-2]
    assert read(f'{SUBSCRIPTION} start=2026-11-10 billed="{example}"', ctx)


@pytest.mark.parametrize(("key", "field"), [("qty", "quantity"), ("frequency", "frequency")])
def test_counts_are_at_least_one(key: str, field: str, ctx: Context) -> None:
    found = problems(f"{SUBSCRIPTION} start=2026-11-01 {key}=0", ctx)
    assert "give 1 or more" in found[field]
