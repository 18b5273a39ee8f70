"""Subscriptions: add, update what was said, cancel, end, delete. A subscription does not create an order."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import ValidationInfo, model_validator

from bot.changes import updating
from bot.context import Context
from bot.dates import describe_datetime
from bot.fields import (
    Cents,
    ContactId,
    EmailAddress,
    Identifier,
    Name,
    PositiveNumber,
    When,
    WhenFuture,
    WhenPast,
    choice,
)
from bot.operation import CONTACT, Input, Resource, operation, param
from bot.problems import FieldError, InputError
from bot.segmetrics.request import ApiRequest
from commands.common import contact_id_param, email_param

RESOURCE = Resource(
    "subscription", "Subscriptions", aliases=("subscriptions", "sub", "subs"), command="/sm-subscription"
)

CYCLE = choice(
    ("day", "Day"),
    ("week", "Week"),
    ("month", "Month"),
    ("year", "Year"),
    synonyms=[
        ("daily", "day"),
        ("days", "day"),
        ("weekly", "week"),
        ("weeks", "week"),
        ("monthly", "month"),
        ("months", "month"),
        ("yearly", "year"),
        ("years", "year"),
        ("annual", "year"),
        ("annually", "year"),
    ],
)


class SubscriptionInput(Input):
    id: Identifier = param(
        title="Subscription ID",
        hint="Your id for the subscription; sending the same id again updates it.",
        examples=["SUB-1001"],
        aliases=["subscription_id"],
    )
    email: EmailAddress | None = email_param("Customer e-mail")
    contact_id: ContactId | None = contact_id_param("Customer contact ID")
    amount: Cents = param(title="Amount per bill", examples=["29"], aliases=["price", "total"])
    product_id: Identifier = param(title="Product ID", examples=["PRO-MONTHLY"], aliases=["product"])
    name: Name | None = param(None, title="Product name", examples=["Pro plan"], aliases=["product_name"])
    start_date: When = param(title="Start date", examples=["2026-11-01", "today"], aliases=["start", "started"])
    billing_cycle: Annotated[str, CYCLE] = param(title="Billing cycle", examples=["month"], aliases=["cycle", "every"])
    frequency: PositiveNumber = param(
        "1",
        title="Bills every N cycles",
        hint="2 with a monthly cycle bills every other month.",
        examples=["1"],
        aliases=["freq", "interval"],
    )
    last_bill_date: WhenPast | None = param(
        None,
        title="Last billed",
        hint="Defaults to the start date; never before it.",
        examples=["2026-11-01"],
        aliases=["last_bill", "billed"],
        derived="the start date",
        follows="start_date",
    )
    quantity: PositiveNumber = param("1", title="Quantity", examples=["1"], aliases=["qty"])
    trial_end_date: WhenFuture | None = param(
        None, title="Trial ends", examples=["in 14 days"], aliases=["trial_end", "trial"]
    )
    end_date: WhenFuture | None = param(None, title="Ends", examples=["2027-11-01"], aliases=["end", "ends"])
    canceled_date: WhenPast | None = param(
        None, title="Canceled", examples=["yesterday"], aliases=["canceled", "cancelled", "cancelled_date"]
    )

    @model_validator(mode="after")
    def _in_order(self, info: ValidationInfo) -> SubscriptionInput:
        """Dates in the order a subscription lives them: start ≤ last bill ≤ cancelled / ended, and a trial
        that ends after the start. Every date out of order is reported, each against the one it passes."""
        if self.last_bill_date is None:
            self.last_bill_date = self.start_date
        ctx: Context = info.context
        problems = []
        if self.last_bill_date < self.start_date:
            problems.append(_before(self, "last_bill_date", "start_date", ctx))
        for name in ("canceled_date", "end_date"):
            if getattr(self, name) is not None and getattr(self, name) < self.last_bill_date:
                problems.append(_before(self, name, "last_bill_date", ctx))
        if self.trial_end_date is not None and self.trial_end_date <= self.start_date:
            problems.append(_before(self, "trial_end_date", "start_date", ctx, strictly=True))
        if problems:
            raise InputError(problems)
        return self


def _before(
    subscription: SubscriptionInput, name: str, other: str, ctx: Context, *, strictly: bool = False
) -> FieldError:
    """`Ends (end_date) is Oct 1, 2026 …, before Last billed (Nov 1, 2026 …)`, and a date that would do."""
    value, limit = getattr(subscription, name), getattr(subscription, other)
    titles = {item.name: item.title for item in subscription.params()}
    if strictly:
        problem = (
            f"is {describe_datetime(value, ctx.zone)}, not after {titles[other]} ({describe_datetime(limit, ctx.zone)})"
        )
        rule = "a trial ends after the start"
        fine = limit.astimezone(ctx.zone) + timedelta(days=1)
    else:
        problem = (
            f"is {describe_datetime(value, ctx.zone)}, before {titles[other]} ({describe_datetime(limit, ctx.zone)})"
        )
        rule = "a subscription's dates go start ≤ last bill ≤ cancelled or ended"
        local = limit.astimezone(ctx.zone)
        fine = (
            local
            if not (local.second or local.microsecond)
            else local.replace(second=0, microsecond=0) + timedelta(minutes=1)
        )
    example = f"{fine:%Y-%m-%d}" if (fine.hour, fine.minute) == (0, 0) else f"{fine:%Y-%m-%d %H:%M}"
    return subscription.field_error(name, f"{problem}: {rule}", example=example)


@operation(
    "subscription",
    "add",
    title="Add subscription",
    shortcut="add_subscription",
    shortcut_name="Add subscription",
    positional=["id", CONTACT],
    done="saved subscription {id} for {contact}",
    record="subscription",
    examples=[
        "subscription add SUB-1001 jane@example.com amount=29 product_id=PRO-MONTHLY start_date=2026-11-01 cycle=month",
        'subscription add SUB-1002 12345 amount=290 product=PRO-YEARLY start="2026-01-01" every=year '
        'name="Pro plan" trial="2026-01-15"',
    ],
)
def add_subscription(subscription: SubscriptionInput, ctx: Context) -> ApiRequest:
    """Record a subscription (sending an id again replaces that subscription whole). It does not create an order."""
    return ApiRequest.post("subscription", subscription.to_api(ctx))


update_subscription = updating(
    add_subscription,
    title="Update subscription",
    done="updated subscription {id}",
    description="Change a subscription: only the fields given change, the rest stays as the bot last sent it.",
    examples=["subscription update SUB-1001 amount=39", "subscription update SUB-1001 billed=today qty=2"],
)


class Cancellation(Input):
    id: Identifier = param(title="Subscription ID", examples=["SUB-1001"], aliases=["subscription_id"])
    canceled_date: WhenPast = param(
        "now",
        title="Canceled",
        examples=["yesterday", "2026-11-20 17:00"],
        aliases=["canceled", "cancelled", "cancelled_date", "date", "on"],
    )


@operation(
    "subscription",
    "cancel",
    title="Cancel subscription",
    changes=add_subscription,
    positional=["id", "canceled_date"],
    done="cancelled subscription {id}",
    examples=["subscription cancel SUB-1001", "subscription cancel SUB-1001 yesterday 5pm"],
)
def cancel_subscription(cancel: Cancellation, subscription: SubscriptionInput | None, ctx: Context) -> dict[str, Any]:
    """Mark a subscription cancelled (now, or when it was); everything else about it stays."""
    if subscription is not None and subscription.canceled_date is not None:
        raise cancel.problem(
            "id",
            f"was already cancelled ({describe_datetime(subscription.canceled_date, ctx.zone)}); to change the date, "
            "use `subscription update` with `canceled=`",
            example=f"{cancel.id} canceled=yesterday",
        )
    return {"canceled_date": cancel.canceled_date}


class Ending(Input):
    id: Identifier = param(title="Subscription ID", examples=["SUB-1001"], aliases=["subscription_id"])
    end_date: WhenFuture = param(
        title="Ends", examples=["2027-01-31", "in 3 months"], aliases=["end", "ends", "date", "on"]
    )


@operation(
    "subscription",
    "end",
    title="End subscription",
    changes=add_subscription,
    positional=["id", "end_date"],
    done="subscription {id} ends {end_date}",
    examples=["subscription end SUB-1001 2027-01-31", "subscription end SUB-1001 in 3 months"],
)
def end_subscription(ending: Ending, subscription: SubscriptionInput | None, ctx: Context) -> dict[str, Any]:
    """Set when a subscription ends; everything else about it stays."""
    return {"end_date": ending.end_date}


class SubscriptionRef(Input):
    id: Identifier = param(title="Subscription ID", examples=["SUB-1001"], aliases=["subscription_id"])


@operation(
    "subscription",
    "delete",
    title="Delete subscription",
    positional=["id"],
    done="deleted subscription {id}",
    not_found="SegMetrics has no subscription {id}; nothing was deleted.",
    destructive=True,
    examples=["subscription delete SUB-1001"],
)
def delete_subscription(subscription: SubscriptionRef, ctx: Context) -> ApiRequest:
    """Delete a subscription for good."""
    return ApiRequest.delete("subscription", subscription.id)
