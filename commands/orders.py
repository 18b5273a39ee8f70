"""Orders (SegMetrics invoices): add, update what was said, refund, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationInfo, model_validator

from bot.changes import updating
from bot.context import Context
from bot.fields import Cents, ContactId, EmailAddress, Flag, Identifier, Name, OrderItem, OrderItems, WhenPast
from bot.money import MoneyReader
from bot.operation import CONTACT, Input, Resource, operation, param
from bot.segmetrics.request import ApiRequest
from commands.common import contact_id_param, email_param

RESOURCE = Resource("order", "Orders", aliases=("orders", "invoice", "invoices"), command="/sm-order")


class OrderInput(Input):
    id: Identifier = param(
        title="Invoice ID",
        hint="Your id for the order; sending the same id again updates that order.",
        examples=["INV-1001"],
        aliases=["invoice", "invoice_id", "order_id"],
    )
    email: EmailAddress | None = email_param("Customer e-mail")
    contact_id: ContactId | None = contact_id_param(
        "Customer contact ID",
        "Must already exist in SegMetrics. With only an e-mail, SegMetrics matches the contact on its next sync.",
    )
    amount: Cents | None = param(
        None,
        title="Order total",
        hint="What the customer was charged: the items, less the discount, plus tax and shipping. Leave it out "
        "to have it worked out from the items.",
        examples=["49.99"],
        aliases=["total"],
        derived="the items' sum, less discount, plus tax and shipping",
        derived_from=["items"],
    )
    paid: Cents | None = param(
        None,
        title="Amount paid",
        hint="Defaults to the order total; never more than it.",
        examples=["49.99"],
        derived="the order total",
        follows="amount",
    )
    date_created: WhenPast = param(
        "now", title="Order date", examples=["yesterday 3pm", "2026-11-20 14:30"], aliases=["date", "created"]
    )
    items: OrderItems | None = param(
        None,
        title="Items",
        hint="One per line: name | product id | price, and `| subscription id` when the line pays for one. "
        'In chat: item="Course | C-100 | 49.99", once per item.',
        examples=["Course | C-100 | 49.99"],
        aliases=["item"],
    )
    product_id: Identifier | None = param(
        None,
        title="Product ID",
        hint="Instead of items: one item of this product, priced so that the order adds up (the total, plus the "
        "discount, less tax and shipping).",
        examples=["C-100"],
        aliases=["product"],
        replaces="items",
    )
    product_name: Name | None = param(
        None,
        title="Product name",
        hint="Name of that one item; defaults to the product ID.",
        examples=["Course"],
    )
    is_refunded: Flag | None = param(None, title="Refunded?", examples=["no"], aliases=["refunded"])
    discount: Cents | None = param(None, title="Discount", examples=["5"])
    tax: Cents | None = param(None, title="Tax", examples=["4.50"])
    shipping: Cents | None = param(None, title="Shipping", examples=["7.95"])

    @model_validator(mode="after")
    def _add_up(self, info: ValidationInfo) -> OrderInput:
        """The shorthand becomes an item; the total is the items' sum (less discount, plus tax and
        shipping) when left out, and must be it when given; what was paid is never more than the total."""
        money: MoneyReader = info.context.money
        show = money.currency.format
        if self.items and self.product_id:
            raise self.problem("items", "and `product_id` are both given; keep one")
        if self.product_name and not self.product_id:
            raise self.problem("product_name", "needs `product_id` too", example="C-100")
        extras = (self.discount or 0) - (self.tax or 0) - (self.shipping or 0)
        if not self.items:
            if not self.product_id:
                raise self.problem(
                    "items", "needs at least one item, or `product_id=` for one item priced at the total", missing=True
                )
            if self.amount is None:
                raise self.problem(
                    "amount", "is required with `product_id` (the one item is priced from it)", missing=True
                )
            if self.amount + extras < 0:
                raise self.problem("amount", "is less than the tax and shipping: the item would cost less than nothing")
            self.items = [OrderItem(self.product_name or self.product_id, self.product_id, self.amount + extras)]
            # What is sent is the item; the shorthand is not a field of the API.
            self.product_id = self.product_name = None
        items = sum(item.amount for item in self.items)
        total = items - extras
        if self.amount is None:
            if total < 0:
                raise self.problem("discount", f"({show(self.discount or 0)}) is more than the items, tax and shipping")
            self.amount = total
        elif self.amount != total:
            raise self.problem(
                "amount",
                f"is {show(self.amount)}, but the items add up to {show(total)} ({_sum_of(self, items, show)}): make "
                "them agree (when adding an order, leave the total out to have it worked out)",
                example=money.plain(total),
            )
        if self.paid is None:
            self.paid = self.amount
        elif self.paid > self.amount:
            raise self.problem(
                "paid",
                f"({show(self.paid)}) is more than the order total ({show(self.amount)})",
                example=money.plain(self.amount),
            )
        return self


def _sum_of(order: OrderInput, items: int, show: Callable[[int], str]) -> str:
    """`items $60.00 − discount $5.00 + tax $4.50`: how the items make their total."""
    words = [f"items {show(items)}"]
    words += [f"− discount {show(order.discount)}"] if order.discount else []
    words += [f"+ tax {show(order.tax)}"] if order.tax else []
    words += [f"+ shipping {show(order.shipping)}"] if order.shipping else []
    return " ".join(words)


@operation(
    "order",
    "add",
    title="Add order",
    shortcut="add_order",
    shortcut_name="Add order",
    positional=["id", CONTACT],
    done="saved order {id} for {contact}",
    record="invoice",
    examples=[
        'order add INV-1001 jane@example.com amount=49.99 item="Course | C-100 | 49.99"',
        'order add INV-1002 12345 total=99 product_id=PRO date="yesterday 3pm" tax=8.25',
    ],
)
def add_order(order: OrderInput, ctx: Context) -> ApiRequest:
    """Record an order (sending an invoice ID again replaces that order whole). Unknown products are created."""
    return ApiRequest.post("invoice", order.to_api(ctx))


update_order = updating(
    add_order,
    title="Update order",
    done="updated order {id}",
    description="Change an order: only the fields given change, the rest stays as the bot last sent it.",
    examples=["order update INV-1001 refunded=yes", "order update INV-1001 paid=20 tax=4.50 total=54.49"],
)


class Refund(Input):
    id: Identifier = param(title="Invoice ID", examples=["INV-1001"], aliases=["invoice", "invoice_id", "order_id"])
    amount: Cents | None = param(
        None,
        title="Amount refunded",
        hint="Leave it out for a full refund. A partial refund lowers the amount paid by this much.",
        examples=["20"],
        aliases=["refund", "refunded"],
    )


@operation(
    "order",
    "refund",
    title="Refund order",
    changes=add_order,
    positional=["id", "amount"],
    done="refunded order {id}",
    unknown=lambda refund, ctx: (
        f"You asked to refund {ctx.money.currency.format(refund.amount)}: put in Amount paid what remains paid "
        "after it."
        if refund.amount
        else ""
    ),
    examples=["order refund INV-1001", "order refund INV-1001 20"],
)
def refund_order(refund: Refund, order: OrderInput | None, ctx: Context) -> dict[str, Any]:
    """Mark an order refunded. With an amount, a partial refund: what was paid goes down by it."""
    if refund.amount == 0:
        raise refund.problem("amount", "is zero: nothing would be refunded", example="20")
    if order is None:
        return {"is_refunded": True}
    if refund.amount is None:
        if order.is_refunded:
            raise refund.problem(
                "id",
                f"is already marked refunded (paid: {ctx.money.currency.format(order.paid or 0)}); nothing to change. "
                f"For a further partial refund, give its amount: `order refund {refund.id} 20`",
                example=(),
            )
        return {"is_refunded": True}
    paid = order.paid or 0
    if refund.amount > paid:
        raise refund.problem(
            "amount",
            f"({ctx.money.currency.format(refund.amount)}) is more than was paid ({ctx.money.currency.format(paid)})",
            example=ctx.money.plain(paid),
        )
    return {"is_refunded": True, "paid": paid - refund.amount}


class OrderRef(Input):
    id: Identifier = param(title="Invoice ID", examples=["INV-1001"], aliases=["invoice", "invoice_id", "order_id"])


@operation(
    "order",
    "delete",
    title="Delete order",
    positional=["id"],
    done="deleted order {id}",
    not_found="SegMetrics has no order {id}; nothing was deleted.",
    destructive=True,
    examples=["order delete INV-1001"],
)
def delete_order(order: OrderRef, ctx: Context) -> ApiRequest:
    """Delete an order for good."""
    return ApiRequest.delete("invoice", order.id)
