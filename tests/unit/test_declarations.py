"""Declarations are checked when built, and every example they show actually works."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from bot.changes import apply, updating
from bot.chat import parse_command
from bot.context import Context
from bot.fields import Cents, Identifier, TagList, Text
from bot.help import overview, resource_help
from bot.operation import CONTACT, DeclarationError, Input, Registry, Resource, operation, param
from bot.segmetrics.request import ApiRequest
from commands import REGISTRY


@pytest.mark.parametrize("example", [example for op in REGISTRY for example in op.examples])
def test_every_chat_example_is_valid(example: str, ctx: Context) -> None:
    parsed = parse_command(example, REGISTRY)
    op = parsed.operation
    data = op.validate(parsed.raw, ctx)
    if op.changes is not None:
        # A change's examples change the record its upsert's first example makes.
        made = parse_command(op.changes.examples[0], REGISTRY)
        known = op.changes.request(op.changes.validate(made.raw, ctx), ctx).json
        data = apply(op, data, known, ctx, REGISTRY.editor(op.changes))
        assert data.differences(op.changes, ctx)
    op.request(data, ctx)


@pytest.mark.parametrize(
    ("op", "spec"),
    [(op, spec) for op in REGISTRY for spec in op.params],
    ids=lambda item: getattr(item, "name", ""),
)
def test_every_field_example_reads(op: object, spec: object, ctx: Context) -> None:
    from bot.operation import Param

    assert isinstance(spec, Param)
    for example in spec.examples:
        raw: str | list[str] = [example] if spec.kind.many else example
        spec.kind._validate(raw, _Info(ctx))  # type: ignore[arg-type]


class _Info:
    def __init__(self, context: Context) -> None:
        self.context = context


def test_registry_holds_every_operation_in_order() -> None:
    assert [op.name for op in REGISTRY] == [
        "contact add",
        "contact deactivate",
        "contact delete",
        "contact show",
        "tag add",
        "tag remove",
        "order add",
        "order update",
        "order refund",
        "order delete",
        "subscription add",
        "subscription update",
        "subscription cancel",
        "subscription end",
        "subscription delete",
        "ad record",
        "api call",
    ]
    assert [resource.command for resource in REGISTRY.resources] == [
        "/sm-contact",
        "/sm-tag",
        "/sm-order",
        "/sm-subscription",
        "/sm-ad",
        "/sm-api",
    ]


class Good(Input):
    id: Identifier = param(title="Invoice ID", examples=["INV-1"])
    amount: Cents = param(title="Total", examples=["5"], aliases=["total"])


def build(data: Good, ctx: Context) -> ApiRequest:
    """Doc."""
    return ApiRequest.post("x", {})


def declare(**overrides: object) -> object:
    options: dict[str, object] = {
        "title": "Good",
        "done": "did {id}",
        "examples": ["thing do 1"],
        "positional": ["id"],
    }
    options.update(overrides)
    return operation("thing", "do", **options)(build)  # type: ignore[arg-type]


def test_a_good_declaration_builds() -> None:
    op = declare()
    assert op.key("TOTAL") == "amount"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"title": "A title far longer than Slack allows"}, "1–24 characters"),
        ({"positional": ["nope"]}, "positional 'nope' is not a field"),
        ({"positional": [CONTACT]}, "needs both `email` and `contact_id`"),
        ({"done": "did {nothing}"}, "unknown fields ['nothing']"),
        ({"examples": ["other do 1"]}, "chat examples starting with 'thing'"),
        ({"positional": ["id", "id"]}, "listed twice"),
    ],
)
def test_a_wrong_declaration_fails_when_built(overrides: dict[str, object], says: str) -> None:
    with pytest.raises(DeclarationError, match="thing do") as caught:
        declare(**overrides)
    assert says in str(caught.value)


def builder(model: type[Input]) -> object:
    """A build function whose input is `model` (annotations set as objects, so local models resolve)."""

    def build_it(data: Input, ctx: Context) -> ApiRequest:
        """Doc."""
        return ApiRequest.post("x", {})

    build_it.__annotations__ = {"data": model, "ctx": Context, "return": ApiRequest}
    return build_it


def test_fields_need_a_kind_a_title_and_an_example() -> None:
    class NoKind(Input):
        id: str = param(title="Id", examples=["1"])

    class NoTitle(Input):
        id: Identifier = param(title="", examples=["1"])

    class NoExample(Input):
        id: Annotated[str, Text()] = param(title="Id")

    for model, says in (
        (NoKind, "no field kind"),
        (NoTitle, "param(title=…)"),
        (NoExample, "needs an example"),
    ):
        with pytest.raises(DeclarationError) as caught:
            operation("thing", "do", title="T", done="d", examples=["thing do"])(builder(model))  # type: ignore[arg-type]
        assert says in str(caught.value)


def test_many_valued_positional_must_come_last() -> None:
    class Tagging(Input):
        tags: TagList = param(title="Tags", examples=["VIP"])
        id: Identifier = param(title="Id", examples=["1"])

    with pytest.raises(DeclarationError, match="must come last"):
        operation("thing", "do", title="T", done="d", examples=["thing do"], positional=["tags", "id"])(
            builder(Tagging)  # type: ignore[arg-type]
        )


def test_aliases_must_not_collide() -> None:
    class Clash(Input):
        id: Identifier = param(title="Id", examples=["1"], aliases=["total"])
        amount: Cents = param(title="Total", examples=["5"], aliases=["total"])

    with pytest.raises(DeclarationError, match="'total' names both id and amount"):
        operation("thing", "do", title="T", done="d", examples=["thing do"])(builder(Clash))  # type: ignore[arg-type]


def test_registry_refuses_duplicates_and_orphans() -> None:
    op = declare()
    with pytest.raises(DeclarationError, match="declared twice"):
        Registry([Resource("thing", "Things")], [op, op])  # type: ignore[list-item]
    with pytest.raises(DeclarationError, match="no Resource named 'thing'"):
        Registry([Resource("other", "Others")], [op])  # type: ignore[list-item]
    with pytest.raises(DeclarationError, match="used twice"):
        Registry([Resource("thing", "Things"), Resource("things", "More", aliases=("thing",))], [op])  # type: ignore[list-item]


def test_help_lists_one_example_per_operation_and_every_key() -> None:
    text = overview(REGISTRY)
    for op in REGISTRY:
        assert op.examples[0] in text
    orders = resource_help(REGISTRY, "orders")
    for key in (
        "`id` / `invoice`",
        "`amount` / `total`",
        "`date_created` / `date` / `created`",
        "`item`",
        "`shipping`",
    ):
        assert key in orders
    assert "default `now`" in orders
    assert "Replaces ALL the contact's tags" in resource_help(REGISTRY, "contact")
    assert "One of `day`, `week`, `month`, `year`" in resource_help(REGISTRY, "sub")


def test_a_snapshot_must_be_a_reading_verb_with_the_same_input() -> None:
    destroys = declare(destructive=True, snapshot="show")
    with pytest.raises(DeclarationError, match="snapshot 'show' must be a reading verb"):
        Registry([Resource("thing", "Things")], [destroys])  # type: ignore[list-item]
    reads = operation("thing", "show", title="S", done="d", examples=["thing show 1"], reads=True)(build)  # type: ignore[arg-type]
    assert Registry([Resource("thing", "Things")], [destroys, reads]).reader(destroys) is reads  # type: ignore[list-item, arg-type]


def test_a_change_needs_a_record_to_change_and_an_update_to_fall_back_on() -> None:
    class Thing(Input):
        id: Identifier = param(title="Id", examples=["T-1"])

    def declare_add(record: str | None) -> Any:
        return operation("thing", "add", title="Add", done="d", examples=["thing add"], record=record)(
            builder(Thing)  # type: ignore[arg-type]
        )

    def change(data: Input, current: Input | None, ctx: Context) -> dict[str, Any]:
        """Doc."""
        return {}

    change.__annotations__ = {"data": Thing, "current": Thing, "ctx": Context, "return": dict}
    with pytest.raises(DeclarationError, match="keeps no record"):
        operation("thing", "fix", title="Fix", done="d", examples=["thing fix"], changes=declare_add(None))(change)
    add = declare_add("thing")
    fix = operation("thing", "fix", title="Fix", done="d", examples=["thing fix"], changes=add)(change)
    with pytest.raises(DeclarationError, match="has no update"):
        Registry([Resource("thing", "Things")], [add, fix])
    update = updating(add, title="Update", done="d", examples=["thing update T-1"], description="Doc.")
    assert Registry([Resource("thing", "Things")], [add, update, fix]).editor(add) is update
    with pytest.raises(DeclarationError, match="edits a record"):
        operation("thing", "edit", title="E", done="d", examples=["thing edit"], edits=True)(builder(Thing))  # type: ignore[arg-type]
