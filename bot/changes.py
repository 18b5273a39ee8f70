"""Changes of a known record: an update, a refund, a cancellation changes only what was said.

SegMetrics' upserts need whole records, so a change starts from what SegMetrics holds: the last full
request the bot sent for that object, kept per account and integration (`Records`). The change's own input
says what to change; the record, read back into the upsert's input, gets those values; the whole is checked
again by the upsert's own rules (items that add up, dates in order) and sent; the confirmation says what
changed, from what to what. Without a record, nothing is guessed: the form of the whole record opens,
prefilled with what is known, and no date is defaulted to now.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError, create_model

from bot.context import Context
from bot.fields import Known, Moment
from bot.operation import CONTACT_FIELDS, Fact, Input, Operation, Summary, operation
from bot.problems import FieldError, InputError, as_examples

UNSAID = "is required: the bot has no record to keep its current value from"
WHOLE = "is required: the form holds the whole record, and this field cannot be sent blank"
FILL_IN = "fill in the whole record below"


@dataclass(frozen=True)
class Change:
    """A change as it will be sent: the change's own input, the record before (None when the bot had none
    and the user gave the whole record), and the whole record after."""

    patch: Any
    before: Any
    after: Any
    known: Mapping[str, Any] | None

    @property
    def contact(self) -> str:
        return str(self.after.contact)

    def differences(self, base: Operation, ctx: Context) -> list[Fact]:
        """`Refunded?  no → yes`: each field whose value as sent differs from the record's."""
        facts = []
        for spec in base.params:
            old = getattr(self.before, spec.name, None) if self.before is not None else None
            new = getattr(self.after, spec.name)
            if _as_sent(spec, old, ctx) == _as_sent(spec, new, ctx):
                continue
            was = spec.kind.describe(old, ctx) if old is not None else "(not set)"
            now = spec.kind.describe(new, ctx) if new is not None else "(removed)"
            facts.append(Fact(spec.title, f"{was} → {now}", spec.name))
        return facts

    def describe(self, op: Operation, ctx: Context) -> Summary:
        assert op.changes is not None
        base = op.changes
        if self.before is None:
            whole = base.describe(self.after, None, ctx)
            note = "the bot had no record of it, so this is the whole record as you gave it"
            return Summary(op.headline(self, ctx), whole.facts, (*whole.notes, note))
        facts = tuple(self.differences(base, ctx))
        notes = base.time_notes(self.after, ctx) if any(fact.field in _moments(base) for fact in facts) else ()
        return Summary(op.headline(self, ctx), facts, (*notes, "nothing else changed"))


def _as_sent(spec: Any, value: Any, ctx: Context) -> Any:
    return None if value is None else spec.kind.to_api(value, ctx)


def _moments(base: Operation) -> set[str]:
    return {spec.name for spec in base.params if isinstance(spec.kind, Moment)}


class AskInForm(InputError):
    """The change cannot be made from what was said: open `form` prefilled with `prefill`, saying `notice`.
    Where no form can open (a terminal, a batch), its message says what to do instead."""

    def __init__(self, form: Operation, prefill: dict[str, Any], notice: str, problems: Sequence[FieldError]) -> None:
        super().__init__(problems)
        self.form = form
        self.prefill = prefill
        self.notice = notice

    @property
    def without_form(self) -> str:
        """The notice where no form can open: the whole record is typed as a command of the upsert, which
        replaces it whole."""
        upsert = self.form.changes or self.form
        return self.notice.replace(FILL_IN, f"send the whole record with `{upsert.usage()}` (it replaces it whole)")

    def __str__(self) -> str:
        return "\n".join([self.without_form, *(problem.message for problem in self.errors)])


def apply(
    op: Operation,
    patch: Any,
    known: Mapping[str, Any] | None,
    ctx: Context,
    editor: Operation,
    *,
    whole: bool = False,
) -> Change:
    """The whole record `op`'s input makes of the `known` one (a record kept by `Records`, or None).

    `whole`: the input is a whole record (the update form, which shows every field): a field left blank is
    removed rather than kept. Raises `InputError` when the result breaks the record's rules, each problem on
    its field, and `AskInForm` when what was said is not enough: no record and not a whole one, or an update
    that names nothing to change (the form, prefilled with the record, asks)."""
    base = op.changes
    assert base is not None
    current_values = _values_of(base, known, ctx) if known is not None else None
    current = base.model.model_construct(**current_values) if current_values is not None else None
    changes = dict(op.build(patch, current, ctx))
    if current_values is not None and not whole:
        # The contact typed to say whose order it is, as the record has it, changes nothing.
        for name in CONTACT_FIELDS:
            if name in changes and changes[name] == current_values.get(name):
                del changes[name]
        if op.edits and not set(changes) - {"id"}:
            nothing = FieldError(
                "id", base.param("id").title, "names nothing to change", (f"{patch.id} paid=20",), "missing"
            )
            notice = f"Change what needs changing in {base.resource} {patch.id}; the rest stays as it is."
            raise AskInForm(editor, _texts(base, {**current_values, **changes}, ctx), notice, [nothing])
    merged = dict(current_values) if current_values is not None and not whole else {}
    for name in changes:
        # A new contact replaces the record's (its e-mail and contact ID go together), as `product_id` does
        # the items.
        replaced = next(iter(set(CONTACT_FIELDS) - {name})) if name in CONTACT_FIELDS else base.param(name).replaces
        if replaced and replaced not in changes:
            merged.pop(replaced, None)
    merged.update(changes)
    merged.setdefault("id", patch.id)
    merged = {name: value for name, value in merged.items() if value is not None}
    problems = _unsaid(base, merged, ctx, known=current is not None)
    if current_values is not None and not whole:
        problems += _unfollowed(base, current_values, changes, ctx)
    try:
        after = _validate(base, merged, ctx)
    except InputError as error:
        problems += [problem for problem in error.errors if problem.field not in {p.field for p in problems}]
    if any(problem.kind != "missing" for problem in problems):
        raise InputError(problems)
    if problems or (current is None and not whole):
        # No record: even a command that names every field goes through the form, which shows what will be
        # sent blank; a record can only be replaced whole where every field is in view.
        raise AskInForm(editor, _texts(base, merged, ctx), _unknown_notice(op, patch, ctx), problems)
    if current is not None and base.build(after, ctx).json == dict(known or {}):
        raise InputError([patch.field_error("id", "changes nothing: the record already has those values", example=())])
    return Change(patch, current, after, known)


def _unfollowed(
    base: Operation, current: Mapping[str, Any], changes: Mapping[str, Any], ctx: Context
) -> list[FieldError]:
    """A field that takes another's value when not given (paid: the total) and still has it, when that other
    changes: did it follow (paid in full) or not? Asked, never guessed."""
    problems = []
    for spec in base.params:
        source = spec.follows
        if not source or spec.name in changes or source not in changes:
            continue
        old = current.get(spec.name)
        if old is None or old != current.get(source) or changes[source] == old:
            continue
        kind, title = spec.kind, base.param(source).title.lower()
        new = changes[source]
        problem = (
            f"is {kind.describe(old, ctx)}, the same as the {title} was: say whether it changes with it "
            f"(`{spec.name}={kind.to_text(new, ctx)}`) or stays (`{spec.name}={kind.to_text(old, ctx)}`)"
        )
        examples = (f"{spec.name}={kind.to_text(new, ctx)}", f"{spec.name}={kind.to_text(old, ctx)}")
        problems.append(FieldError(spec.name, spec.title, problem, examples))
    return problems


def _unsaid(base: Operation, merged: Mapping[str, Any], ctx: Context, *, known: bool) -> list[FieldError]:
    """What a whole record must state that `merged` does not: every required field, and every field the
    upsert would otherwise fill with a default (the order date "now") or work out (paid = the total),
    unless it is worked out exactly from fields given (the total from the items)."""
    unsaid = [
        FieldError(spec.name, spec.title, WHOLE if known else UNSAID, as_examples(spec.example_for(ctx)), "missing")
        for spec in base.params
        if (spec.required or spec.default is not None or spec.derived)
        and spec.name not in merged
        and not (spec.replaces and spec.replaces in merged)
        and not (spec.derived_from and all(name in merged for name in spec.derived_from))
    ]
    if not any(name in merged for name in CONTACT_FIELDS):
        unsaid.insert(0, FieldError("email", "E-mail or contact ID", "is required", (), "missing"))
    return unsaid


def _unknown_notice(op: Operation, patch: Any, ctx: Context) -> str:
    base = op.changes
    assert base is not None
    notice = (
        f"The bot has no record of {base.resource} {patch.id}: it keeps the last one it sent, and this one was made "
        f"elsewhere or before it kept them. So it cannot change only what you said: {FILL_IN}. Nothing is assumed, "
        "and a field left blank is sent blank."
    )
    said = op.unknown(patch, ctx) if callable(op.unknown) else op.fill(op.unknown, patch, ctx) if op.unknown else ""
    return f"{notice} {said}" if said else notice


def _texts(base: Operation, values: Mapping[str, Any], ctx: Context) -> dict[str, str]:
    return {name: base.param(name).kind.to_text(value, ctx) for name, value in values.items()}


def _values_of(base: Operation, known: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """A kept request's body, read back into the upsert's field values."""
    values = {}
    for spec in base.params:
        if spec.name in known and known[spec.name] is not None:
            values[spec.name] = spec.kind.from_api(known[spec.name], ctx)
    return values


def _validate(base: Operation, values: Mapping[str, Any], ctx: Context) -> Any:
    """The upsert's input from values already read: its rules (items that add up, dates in order) run
    over the whole record, and no default fills a field the record lacks."""
    try:
        return base.model.model_validate({name: Known(value) for name, value in values.items()}, context=ctx)
    except ValidationError as error:
        raise InputError(base.field_errors(error, ctx)) from None


def given_changes(patch: Any, current: Any, ctx: Context) -> dict[str, Any]:
    """An update's changes: exactly the fields given."""
    return {name: getattr(patch, name) for name in type(patch).model_fields if getattr(patch, name) is not None}


def updating(
    base: Operation,
    *,
    title: str,
    done: str,
    examples: Sequence[str],
    description: str,
    verb: str = "update",
) -> Operation:
    """The update of `base`'s records: every field of `base`, each optional but the `id`; what is given
    changes, the rest stays as the record has it."""
    model = _patch_model(base.model)

    def change(patch: Any, current: Any, ctx: Context) -> dict[str, Any]:
        return given_changes(patch, current, ctx)

    change.__doc__ = description
    change.__annotations__ = {"patch": model, "current": base.model, "ctx": Context, "return": dict}
    declared = operation(
        base.resource,
        verb,
        title=title,
        done=done,
        examples=examples,
        positional=base.positional,
        changes=base,
        edits=True,
    )(change)
    return declared


def _patch_model(model: type[Input]) -> type[Input]:
    """`model` with every field optional (no default, no derived value) but the `id`, and none of its
    rules: those run on the whole record the change makes."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            fields[name] = (info.annotation, info)
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.validate_default = False
        fields[name] = (info.annotation | None, optional)
    patch: type[Input] = create_model(f"{model.__name__}Change", __base__=Input, **fields)
    return patch
