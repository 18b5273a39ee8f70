"""Operation declarations and the registry: declare an operation once, derive everything else.

A declaration is a pydantic model of its input (fields typed with a kind from `bot.fields`, described
with `param()`) and a build function decorated with `@operation(...)`, which turns the validated input
into the SegMetrics request. Everything a surface needs (chat grammar, forms, help, inline errors,
confirmations) is derived from it, and a wrong declaration fails when `commands` is imported.
"""

from __future__ import annotations

import re
import string
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticUndefined

from bot.context import Context
from bot.fields import ERROR_TYPE, KeyValues, Kind, Moment
from bot.problems import FieldError, InputError, as_examples
from bot.segmetrics.request import ApiRequest, ApiResponse

# The positional that is an e-mail when it contains `@`, else a contact id.
CONTACT = "contact"
CONTACT_FIELDS = ("email", "contact_id")

# Blocks the Slack forms add beside the fields: no field may be named like them.
RESERVED_BLOCK_IDS = frozenset({"post_to", "contacts", "more_contacts"})
GLOBAL_SHORTCUT_LIMIT = 5

# Slack's limits the derived forms must respect.
MODAL_TITLE_LIMIT = 24
LABEL_LIMIT = 2000
PLACEHOLDER_LIMIT = 150
BLOCK_ID_LIMIT = 255
OPTION_LIMIT = 100
OPTION_TEXT_LIMIT = 75

RawValue = str | Sequence[str]
RawInput = Mapping[str, RawValue]


def given(raw: RawInput) -> dict[str, RawValue]:
    """The values a user actually gave: blank ones count as not given."""
    return {name: value for name, value in raw.items() if value not in (None, "", [], ())}


def slot_fields(slot: str) -> tuple[str, ...]:
    """The fields a positional fills: the contact slot fills `email` or `contact_id`."""
    return CONTACT_FIELDS if slot == CONTACT else (slot,)


class DeclarationError(Exception):
    """An operation declaration that cannot work; raised when `commands` is imported."""


def param(
    default: Any = PydanticUndefined,
    *,
    title: str,
    hint: str = "",
    examples: Sequence[str] = (),
    aliases: Sequence[str] = (),
    prefix: str | None = None,
    derived: str | None = None,
    derived_from: Sequence[str] = (),
    follows: str | None = None,
    replaces: str | None = None,
) -> Any:
    """Describe one field: its form label (`title`), help (`hint`), examples, chat aliases, and for
    key/value fields the chat prefix (`field.plan=Pro`). A text default ("now", "1") is read like input.

    `derived` says what the input's validator fills the field with when it is not given ("the order
    total"): the confirmation names it, and an update of a record the bot does not know asks for it —
    unless it is worked out exactly from fields given (`derived_from`: the total from the items).
    `follows` names the field whose value this one takes when not given (paid: the total): a change of that
    field, while this one still has its old value, asks whether it follows. `replaces` names the field this
    one stands in for (`product_id` for `items`): an update giving this one
    drops the other's known value."""
    extra: dict[str, Any] = {"aliases": list(aliases)}
    if prefix:
        extra["prefix"] = prefix
    if derived:
        extra["derived"] = derived
    if replaces:
        extra["replaces"] = replaces
    if derived_from:
        extra["derived_from"] = list(derived_from)
    if follows:
        extra["follows"] = follows
    return Field(
        default,
        title=title,
        description=hint or None,
        examples=list(examples) or None,
        validate_default=isinstance(default, str),
        json_schema_extra=extra,
    )


@dataclass(frozen=True)
class Param:
    """One field of an operation, compiled from its declaration."""

    name: str
    title: str
    hint: str
    examples: tuple[str, ...]
    aliases: tuple[str, ...]
    prefix: str | None
    kind: Kind
    required: bool
    default: str | None
    derived: str | None = None
    derived_from: tuple[str, ...] = ()
    follows: str | None = None
    replaces: str | None = None

    @property
    def example(self) -> str:
        return self.examples[0] if self.examples else self.kind.example

    def example_for(self, ctx: Context) -> str:
        return self.kind.localize(self.example, ctx) if self.example else ""


class Input(BaseModel):
    """Base of every operation's input model."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @classmethod
    def params(cls) -> tuple[Param, ...]:
        return _compile_params(cls)

    @property
    def contact(self) -> str:
        """The contact this input is about: its contact id when given, else its e-mail."""
        return str(getattr(self, "contact_id", None) or getattr(self, "email", None) or "")

    @classmethod
    def problem(
        cls, name: str, problem: str, *, example: str | Sequence[str] | None = None, missing: bool = False
    ) -> InputError:
        """For a cross-field rule in an after-validator: `raise self.problem("items", "…")`."""
        return InputError([cls.field_error(name, problem, example=example, missing=missing)])

    @classmethod
    def field_error(
        cls, name: str, problem: str, *, example: str | Sequence[str] | None = None, missing: bool = False
    ) -> FieldError:
        """One cross-field problem; raise several at once with `InputError([...])`. The field's declared
        example is shown unless `example` gives others (`()`: none)."""
        spec = next(item for item in cls.params() if item.name == name)
        examples = as_examples(spec.example if example is None else example)
        return FieldError(name, spec.title, problem, examples, "missing" if missing else "invalid")

    def values(self) -> typing.Iterator[tuple[Param, Any]]:
        """Each field that has a value worth showing, in declaration order."""
        for item in self.params():
            value = getattr(self, item.name)
            if value not in (None, [], {}):
                yield item, value

    def to_api(self, ctx: Context, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
        """Every given field as the API wants it, under its API name, in declaration order."""
        skip = set(exclude)
        # Unlike `values()`, an empty body (`api POST contact {}`) is sent as typed.
        return {
            item.name: item.kind.to_api(value, ctx)
            for item in self.params()
            if item.name not in skip and (value := getattr(self, item.name)) is not None
        }


def _kind_of(annotation: Any) -> tuple[Kind | None, bool]:
    """The kind in an annotation, and whether None is allowed (`Cents | None`)."""
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        if len(members) != 1:
            return None, optional
        annotation = members[0]
    if typing.get_origin(annotation) is typing.Annotated:
        kinds = [meta for meta in annotation.__metadata__ if isinstance(meta, Kind)]
        return (kinds[0] if kinds else None), optional
    return None, optional


@cache
def _compile_params(model: type[Input]) -> tuple[Param, ...]:
    params = []
    for name, info in model.model_fields.items():
        kinds = [meta for meta in info.metadata if isinstance(meta, Kind)]
        kind = kinds[0] if kinds else _kind_of(info.annotation)[0]
        if kind is None:
            raise DeclarationError(
                f"{model.__name__}.{name}: no field kind; annotate it with one from bot.fields (Cents, When, …)"
            )
        if not info.title:
            raise DeclarationError(f"{model.__name__}.{name}: declare it with param(title=…)")
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = info.get_default() if not info.is_required() else None
        params.append(
            Param(
                name=name,
                title=info.title,
                hint=info.description or "",
                examples=tuple(str(example) for example in info.examples or ()),
                aliases=tuple(str(alias) for alias in extra.get("aliases", ()) or ()),  # type: ignore[union-attr]
                prefix=str(extra["prefix"]) if extra.get("prefix") else None,
                kind=kind,
                required=info.is_required(),
                default=default if isinstance(default, str) else None,
                derived=str(extra["derived"]) if extra.get("derived") else None,
                replaces=str(extra["replaces"]) if extra.get("replaces") else None,
                derived_from=tuple(str(name) for name in extra.get("derived_from", ()) or ()),  # type: ignore[union-attr]
                follows=str(extra["follows"]) if extra.get("follows") else None,
            )
        )
    return tuple(params)


@dataclass(frozen=True)
class Fact:
    """One line of a confirmation: a label and the value as SegMetrics received it, for a human."""

    label: str
    value: str
    field: str | None = None


@dataclass(frozen=True)
class Summary:
    """What an operation did, structured for any surface (chat reply, Block Kit, terminal)."""

    headline: str
    facts: tuple[Fact, ...] = ()
    notes: tuple[str, ...] = ()

    def as_text(self) -> str:
        width = max((len(fact.label) for fact in self.facts), default=0)
        lines = [self.headline]
        continued = "\n" + " " * (width + 4)
        lines += [f"  {fact.label.ljust(width)}  {fact.value.replace(chr(10), continued)}" for fact in self.facts]
        lines += [f"  ({note})" for note in self.notes]
        return "\n".join(lines)


Summarize = Callable[[Any, ApiResponse, Context], Sequence[Fact]]


@dataclass(frozen=True)
class Resource:
    """A noun of the chat grammar (`contact`, `order`, …) and its slash-command alias."""

    name: str
    title: str
    aliases: tuple[str, ...] = ()
    command: str | None = None
    default_verb: str | None = None


@dataclass(frozen=True)
class Operation:
    """One SegMetrics operation, declared once in `commands/`."""

    resource: str
    verb: str
    title: str
    description: str
    model: type[Input]
    build: Callable[[Any, Context], ApiRequest]
    params: tuple[Param, ...]
    positional: tuple[str, ...]
    verbs: tuple[str, ...]
    done: str
    examples: tuple[str, ...]
    summarize: Summarize | None = None
    not_found: str | None = None
    destructive: bool = False
    reads: bool = False
    shortcut: str | None = None
    shortcut_name: str | None = None
    undo: str | None = None
    snapshot: str | None = None
    confirm_when: Callable[[Any], bool] | None = None
    # An upsert whose accepted requests are kept as the object's record (`invoice`), keyed by its `id`.
    record: str | None = None
    # A change of a known record of that upsert: `build(input, current, ctx)` returns the values it changes.
    changes: Operation | None = None
    # The change that sets exactly the fields given (`order update`): the form that asks for a whole record.
    edits: bool = False
    # Said in that form when the record is not known (what the change meant that the form cannot hold): a
    # sentence with `{field}`s, or a function of the input and the context.
    unknown: str | Callable[[Any, Context], str] | None = None
    # The operation whose policy rule applies when this one has none of its own (a change: its upsert).
    ruled_like: Operation | None = None
    _keys: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check(self)
        object.__setattr__(self, "_keys", _key_index(self))

    @property
    def name(self) -> str:
        return f"{self.resource} {self.verb}"

    def param(self, name: str) -> Param:
        for item in self.params:
            if item.name == name:
                return item
        raise KeyError(name)

    def key(self, word: str) -> str | None:
        """The field a chat key names (its API name or an alias, any case), or None."""
        return self._keys.get(word.lower())

    def prefixed(self, word: str) -> tuple[Param, str] | None:
        """For `field.plan`: the key/value field whose prefix is `field`, and `plan`."""
        head, dot, rest = word.partition(".")
        if not dot or not rest:
            return None
        for item in self.params:
            if item.prefix and item.prefix == head.lower():
                return item, rest
        return None

    def needs_confirmation(self, data: Any) -> bool:
        return self.destructive or (self.confirm_when is not None and self.confirm_when(data))

    @property
    def by_position(self) -> frozenset[str]:
        """The fields a positional can fill."""
        return frozenset(name for slot in self.positional for name in slot_fields(slot))

    @property
    def needs_contact(self) -> bool:
        """Whether the contact must be given: a change of a known record already has one."""
        return CONTACT in self.positional and self.changes is None

    def request(self, data: Any, ctx: Context) -> ApiRequest:
        """The SegMetrics request for a validated input (for a change, the whole record it makes)."""
        if self.changes is not None:
            return self.changes.build(data.after, ctx)
        return self.build(data, ctx)

    @property
    def may_ask(self) -> bool:
        """Whether some input makes it ask for confirmation first."""
        return self.destructive or self.confirm_when is not None

    def missing(self, raw: RawInput) -> list[str]:
        """The required fields `raw` has no value for: a cheap look, before any value is read."""
        present = given(raw).keys()
        absent = [spec.name for spec in self.params if spec.required and spec.name not in present]
        if self.needs_contact and not present & set(CONTACT_FIELDS):
            absent.insert(0, "email")
        return absent

    def raw_of(self, data: Any, ctx: Context) -> dict[str, str]:
        """A validated input back to raw text, as a user could type it: what Undo re-runs and what an
        edit form is prefilled with."""
        return {spec.name: spec.kind.to_text(value, ctx) for spec, value in data.values()}

    def validate(self, raw: RawInput, ctx: Context) -> Any:
        """Read raw text values into the input model; raise `InputError` listing every problem."""
        data = given(raw)
        problems = []
        if self.needs_contact and not any(data.get(name) for name in CONTACT_FIELDS):
            examples = as_examples(self.param("email").example_for(ctx))
            problems.append(FieldError("email", "E-mail or contact ID", "is required", examples, "missing"))
        try:
            validated = self.model.model_validate(data, context=ctx)
        except ValidationError as error:
            problems += self.field_errors(error, ctx)
        except InputError as error:  # a cross-field rule of the model
            problems += error.errors
        if problems:
            order = {spec.name: index for index, spec in enumerate(self.params)}
            raise InputError(sorted(problems, key=lambda problem: order.get(problem.field, len(order))))
        return validated

    def field_errors(self, error: ValidationError, ctx: Context) -> list[FieldError]:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else self.params[0].name
            try:
                spec = self.param(name)
            except KeyError:
                problems.append(FieldError(name, name, "is not a field of this operation"))
                continue
            declared = as_examples(spec.example_for(ctx))
            if item["type"] == "missing":
                problems.append(FieldError(name, spec.title, "is required", declared, "missing"))
            elif item["type"] == ERROR_TYPE:
                context = item.get("ctx") or {}
                examples = tuple(context.get("examples") or ()) or declared
                problems.append(FieldError(name, spec.title, context.get("message", item["msg"]), examples))
            else:
                problems.append(FieldError(name, spec.title, item["msg"], declared))
        return problems

    def describe(
        self, data: Any, response: ApiResponse | None, ctx: Context, *, given: Collection[str] | None = None
    ) -> Summary:
        """The confirmation: a headline and the values as SegMetrics received them. With `given` (the
        fields the user typed), a note names the declared defaults that filled the others. A change says
        what it changed, from what to what."""
        if self.changes is not None:
            summary = data.describe(self, ctx)
            note = self.defaulted(data.patch, given)
            return Summary(summary.headline, summary.facts, (*summary.notes, *([note] if note else [])))
        if self.summarize is not None and response is not None:
            facts = tuple(self.summarize(data, response, ctx))
        else:
            facts = tuple(Fact(item.title, item.kind.describe(value, ctx), item.name) for item, value in data.values())
        notes = self.time_notes(data, ctx)
        note = self.defaulted(data, given)
        return Summary(headline=self.headline(data, ctx), facts=facts, notes=(*notes, *([note] if note else [])))

    def defaulted(self, data: Any, given: Collection[str] | None) -> str | None:
        """`not given, so defaulted: order date now, amount paid = the order total`, when any was."""
        if given is None:
            return None
        defaulted = [
            f"{spec.title.lower()} {spec.default}"
            if spec.default is not None
            else f"{spec.title.lower()} = {spec.derived}"
            for spec in self.params
            if (spec.default is not None or spec.derived)
            and spec.name not in given
            and getattr(data, spec.name) is not None
        ]
        return "not given, so defaulted: " + ", ".join(defaulted) if defaulted else None

    def headline(self, data: Any, ctx: Context) -> str:
        return self.fill(self.done, data, ctx)

    def fill(self, template: str, data: Any, ctx: Context) -> str:
        """A declared sentence (`done`, `not_found`) with `{field}` and `{contact}` filled in."""
        data = getattr(data, "patch", data)  # a change: the sentence is about what was typed
        values: dict[str, str] = {"contact": data.contact}
        for item in self.params:
            value = getattr(data, item.name)
            values[item.name] = item.kind.describe(value, ctx) if value is not None else ""
        return template.format_map(values)

    def time_notes(self, data: Any, ctx: Context) -> tuple[str, ...]:
        sent_times = any(isinstance(item.kind, Moment) for item, _ in data.values())
        if sent_times and ctx.api_zone.key != ctx.zone.key:
            return (f"times shown in {ctx.zone.key}; sent to SegMetrics in {ctx.api_zone.key}",)
        if sent_times:
            return (f"times in {ctx.zone.key}, as sent to SegMetrics",)
        return ()

    def usage(self) -> str:
        """`order add <id> <email|contact_id> amount=<…> item=<…> [paid=…] …`"""
        words = [self.resource, self.verb]
        for name in self.positional:
            if name == CONTACT:
                words.append("<email|contact_id>" if self.needs_contact else "[<email|contact_id>]")
                continue
            spec = self.param(name)
            text = f"<{name}…>" if spec.kind.many else f"<{name}>"
            words.append(text if spec.required else f"[{text}]")
        keyed = [spec for spec in self.params if spec.name not in self.by_position]
        words += [f"{spec.name}=…" for spec in keyed if spec.required]
        words += [
            f"[{spec.prefix}.<name>=…]" if spec.prefix else f"[{spec.name}=…]" for spec in keyed if not spec.required
        ]
        return " ".join(words)


def operation(
    resource: str,
    verb: str,
    *,
    title: str,
    done: str,
    examples: Sequence[str],
    also: Sequence[str] = (),
    positional: Sequence[str] = (),
    summarize: Summarize | None = None,
    not_found: str | None = None,
    destructive: bool = False,
    reads: bool = False,
    shortcut: str | None = None,
    shortcut_name: str | None = None,
    undo: str | None = None,
    snapshot: str | None = None,
    confirm_when: Callable[[Any], bool] | None = None,
    record: str | None = None,
    changes: Operation | None = None,
    unknown: str | Callable[[Any, Context], str] | None = None,
    ruled_like: Operation | None = None,
    edits: bool = False,
) -> Callable[[Callable[..., Any]], Operation]:
    """Declare an operation. The decorated function's first parameter's annotation is its input model.

    `shortcut` is the callback id of a global shortcut that opens the operation's form (named
    `shortcut_name`, default the title); `undo` names the
    verb of the same resource whose operation, given the same input, undoes this one. A `destructive`
    operation always asks for confirmation first; `confirm_when(input)` asks in other cases. An operation
    that `reads` changes nothing: it is not journaled, and the policy counts it among the reads.
    `snapshot` names the verb of the same resource, with the same input, that reads what this one
    destroys: what it finds is shown before asking, and kept in the audit trail for Restore.

    `record` (on an upsert such as `order add`) names what its requests create (`invoice`): each accepted
    request is kept as that object's record. `changes` (the upsert) makes this operation a change of a
    known record: its function gets the input and the record as the upsert's input (None when unknown) and
    returns the values it changes; the machinery re-checks the whole record, sends it, and says what
    changed. `unknown` is said in the form that asks for the whole record when the bot has none.
    `ruled_like` names the operation whose policy rule applies when the policy has none for this one (a
    change is ruled like its upsert unless it says otherwise), so a new verb never slips past a rule.
    `edits` marks the change that sets exactly the fields given (declared with `bot.changes.updating`).


    @operation("order", "add", also=["update"], title="Add order", …)
    def add_order(order: OrderInput, ctx: Context) -> ApiRequest: …
    """

    def declare(build: Callable[..., Any]) -> Operation:
        hints = typing.get_type_hints(build)
        first = next(iter(build.__code__.co_varnames[: build.__code__.co_argcount]), None)
        model = hints.get(first) if first else None
        if not (isinstance(model, type) and issubclass(model, Input)):
            raise DeclarationError(f"{build.__name__}: its first parameter must be annotated with an Input model")
        declared = Operation(
            resource=resource,
            verb=verb,
            title=title,
            description=" ".join((build.__doc__ or "").split()),
            model=model,
            build=build,
            params=_compile_params(model),
            positional=tuple(positional),
            verbs=(verb, *also),
            done=done,
            examples=tuple(examples),
            summarize=summarize,
            not_found=not_found,
            destructive=destructive,
            reads=reads,
            shortcut=shortcut,
            shortcut_name=shortcut_name,
            undo=undo,
            snapshot=snapshot,
            confirm_when=confirm_when,
            record=record,
            changes=changes,
            unknown=unknown,
            ruled_like=ruled_like or changes,
            edits=edits,
        )
        return declared

    return declare


_WORD = re.compile(r"[a-z][a-z0-9_-]*")


def _key_index(op: Operation) -> dict[str, str]:
    keys: dict[str, str] = {}
    for spec in op.params:
        for word in (spec.name, *spec.aliases):
            if word.lower() in keys:
                raise DeclarationError(f"{op.name}: the key {word!r} names both {keys[word.lower()]} and {spec.name}")
            keys[word.lower()] = spec.name
    return keys


def _check(op: Operation) -> None:
    where = op.name
    problems = []
    if not (_WORD.fullmatch(op.resource) and all(_WORD.fullmatch(verb) for verb in op.verbs)):
        problems.append("resource and verbs must be lowercase words")
    if not op.title or len(op.title) > MODAL_TITLE_LIMIT:
        problems.append(f"title {op.title!r} must be 1–{MODAL_TITLE_LIMIT} characters (a Slack modal title)")
    if not op.description:
        problems.append("the build function needs a docstring (it is the operation's help)")
    if not op.examples or any(not example.startswith(f"{op.resource} ") for example in op.examples):
        problems.append(f"give chat examples starting with {op.resource!r}")
    names = {spec.name for spec in op.params}
    for index, name in enumerate(op.positional):
        if name == CONTACT:
            if not set(CONTACT_FIELDS) <= names:
                problems.append("the contact positional needs both `email` and `contact_id` fields")
            continue
        if name not in names:
            problems.append(f"positional {name!r} is not a field")
            continue
        spec = op.param(name)
        if (spec.kind.many or spec.kind.takes_rest) and index != len(op.positional) - 1:
            problems.append(f"positional {name!r} takes several words, so it must come last")
    if len(set(op.positional)) != len(op.positional):
        problems.append("a positional is listed twice")
    for spec in op.params:
        problems += [f"{spec.name}: {problem}" for problem in _check_param(spec)]
    fields_in_done = {name for _, name, _, _ in string.Formatter().parse(op.done) if name}
    unknown = fields_in_done - names - {"contact"}
    if unknown:
        problems.append(f"`done` names unknown fields {sorted(unknown)}")
    if op.shortcut is not None and not re.fullmatch(r"[a-z][a-z0-9_]{0,254}", op.shortcut):
        problems.append(f"shortcut {op.shortcut!r} must be a lowercase callback id")
    if op.shortcut_name is not None and not 1 <= len(op.shortcut_name) <= MODAL_TITLE_LIMIT:
        problems.append(f"shortcut name {op.shortcut_name!r} must be 1–{MODAL_TITLE_LIMIT} characters")
    if (op.record or op.changes) and "id" not in names:
        problems.append("a record is kept and found by its `id`: declare an `id` field")
    if op.changes is not None and not op.changes.record:
        problems.append(f"it changes {op.changes.name}, which keeps no record (declare `record=` on it)")
    if op.edits and op.changes is None:
        problems.append("an update edits a record: declare what it changes with `changes=`")
    if op.changes is not None and op.undo:
        problems.append("a change has no undo")
    reserved = names & RESERVED_BLOCK_IDS
    if reserved:
        problems.append(f"fields {sorted(reserved)} would clash with the forms' own blocks")
    if problems:
        raise DeclarationError(f"{where}: " + "; ".join(problems))


def _check_param(spec: Param) -> list[str]:
    problems = []
    if len(spec.name) > BLOCK_ID_LIMIT:
        problems.append(f"name over {BLOCK_ID_LIMIT} characters (it is the modal block_id)")
    if len(spec.title) > LABEL_LIMIT or len(spec.hint) > LABEL_LIMIT:
        problems.append(f"title and hint must fit {LABEL_LIMIT} characters")
    if any(len(example) > PLACEHOLDER_LIMIT for example in spec.examples):
        problems.append(f"examples must fit {PLACEHOLDER_LIMIT} characters (they become placeholders)")
    if spec.required and not spec.example:
        problems.append("a required field needs an example (help and errors show it)")
    options = spec.kind.options()
    if spec.kind.widget == "select" and not options:
        problems.append("a select needs options")
    if len(options) > OPTION_LIMIT or any(
        len(label) > OPTION_TEXT_LIMIT or len(value) > OPTION_TEXT_LIMIT for value, label in options
    ):
        problems.append(f"a select holds at most {OPTION_LIMIT} options of {OPTION_TEXT_LIMIT} characters")
    if spec.prefix and not isinstance(spec.kind, KeyValues):
        problems.append("only a key/value field may have a prefix")
    return problems


class Registry:
    """Every operation, found by resource and verb (or their aliases)."""

    def __init__(self, resources: Iterable[Resource], operations: Iterable[Operation]) -> None:
        self.resources = tuple(resources)
        self.operations = tuple(operations)
        self._resources: dict[str, Resource] = {}
        self._operations: dict[tuple[str, str], Operation] = {}
        for resource in self.resources:
            for word in (resource.name, *resource.aliases):
                if word in self._resources:
                    raise DeclarationError(f"the resource word {word!r} is used twice")
                self._resources[word] = resource
        for op in self.operations:
            if op.resource not in {resource.name for resource in self.resources}:
                raise DeclarationError(f"{op.name}: no Resource named {op.resource!r}")
            for verb in op.verbs:
                if (op.resource, verb) in self._operations:
                    raise DeclarationError(f"{op.resource} {verb}: declared twice")
                self._operations[(op.resource, verb)] = op
        shortcuts = [op.shortcut for op in self.operations if op.shortcut]
        if len(shortcuts) > GLOBAL_SHORTCUT_LIMIT:
            raise DeclarationError(
                f"Slack allows {GLOBAL_SHORTCUT_LIMIT} global shortcuts; {len(shortcuts)} are declared"
            )
        if len(set(shortcuts)) != len(shortcuts):
            raise DeclarationError("a global shortcut callback id is declared twice")
        for op in self.operations:
            inverse = self.inverse(op)
            if op.undo and (inverse is None or [p.name for p in inverse.params] != [p.name for p in op.params]):
                raise DeclarationError(
                    f"{op.name}: undo {op.undo!r} must be a verb of {op.resource} with the same fields"
                )
            reader = self.reader(op)
            if op.snapshot and (reader is None or reader.model is not op.model or not reader.reads):
                raise DeclarationError(
                    f"{op.name}: snapshot {op.snapshot!r} must be a reading verb of {op.resource} with the same input"
                )
        self._editors = {op.changes.name: op for op in self.operations if op.changes is not None and op.edits}
        for op in self.operations:
            if op.changes is not None and op.changes.name not in self._editors:
                raise DeclarationError(
                    f"{op.name}: {op.changes.name} has no update (`updating(...)`) to ask for a record the bot lacks"
                )
        for resource in self.resources:
            if resource.default_verb and (resource.name, resource.default_verb) not in self._operations:
                raise DeclarationError(f"{resource.name}: default verb {resource.default_verb!r} is not declared")
            if not self.for_resource(resource.name):
                raise DeclarationError(f"{resource.name}: no operation")

    @classmethod
    def from_modules(cls, *modules: types.ModuleType) -> Registry:
        """Each module declares one `RESOURCE` and any number of operations, in the order written."""
        resources, operations = [], []
        for module in modules:
            resource = getattr(module, "RESOURCE", None)
            if not isinstance(resource, Resource):
                raise DeclarationError(f"{module.__name__}: declare RESOURCE = Resource(...)")
            resources.append(resource)
            operations += [value for value in vars(module).values() if isinstance(value, Operation)]
        return cls(resources, operations)

    def resource(self, word: str) -> Resource | None:
        return self._resources.get(word.lower())

    def find(self, resource: str, verb: str) -> Operation | None:
        return self._operations.get((resource, verb.lower()))

    def named(self, name: str) -> Operation | None:
        """By its name (`"contact add"`), as the journal and tickets store it."""
        resource, _, verb = name.partition(" ")
        return self.find(resource, verb)

    def __getitem__(self, name: str) -> Operation:
        """An operation the code itself names (`registry["tag add"]`): it must be declared."""
        op = self.named(name)
        if op is None:
            raise KeyError(f"{name} is not declared")
        return op

    def by_shortcut(self, callback_id: str) -> Operation | None:
        return next((op for op in self.operations if op.shortcut == callback_id), None)

    def inverse(self, op: Operation) -> Operation | None:
        """The operation that undoes `op`, if it declares one."""
        return self._operations.get((op.resource, op.undo)) if op.undo else None

    def reader(self, op: Operation) -> Operation | None:
        """The operation that reads what `op` destroys, if it declares one (`snapshot=`)."""
        return self._operations.get((op.resource, op.snapshot)) if op.snapshot else None

    def editor(self, base: Operation) -> Operation:
        """The update that sets exactly the fields given for `base`'s records: the form of a whole record."""
        return self._editors[base.name]

    @property
    def record_kinds(self) -> frozenset[str]:
        """What the bot keeps records of (`invoice`, `subscription`)."""
        return frozenset(op.record for op in self.operations if op.record)

    def for_resource(self, resource: str) -> list[Operation]:
        return [op for op in self.operations if op.resource == resource]

    def __iter__(self) -> typing.Iterator[Operation]:
        return iter(self.operations)
