"""Workflow Builder steps, derived from the operation declarations like the forms and the help are.

Every operation that changes SegMetrics without asking a person first, and the contact look-up, is a custom
step: callback id `<resource>_<verb>` (`contact_add`, `tag_add`, `order_add`), inputs named like the API
fields and the form's block ids, typed for Workflow Builder, and outputs a later step can use. Deletes are
not steps: they always ask a person first, and a workflow has nobody to ask.

This module knows no Slack client: it turns a declaration into the manifest's `functions` entry, the inputs
of one run into the raw values every other surface produces, and an outcome into the step's outputs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from bot import fields
from bot.fields import split_tags
from bot.operation import CONTACT_FIELDS, DeclarationError, Operation, Param, Registry
from bot.problems import FieldError, InputError, InvalidValue

# The step's own inputs, beside the operation's fields.
USER_INPUT, CHANNEL_INPUT, VIA_INPUT = "user_id", "channel_id", "via"
# Who clicked the workflow's button or submitted its form, as Slack itself says (when the workflow has one).
INTERACTIVITY_INPUT = "interactivity"
# A date field's twin that takes the date in words, read like chat (`date_created_text`).
WORDS_SUFFIX = "_text"
STRING, INTEGER, NUMBER, BOOLEAN, ARRAY = "string", "integer", "number", "boolean", "array"
TIMESTAMP, DATE = "slack#/types/timestamp", "slack#/types/date"
USER_ID, CHANNEL_ID = "slack#/types/user_id", "slack#/types/channel_id"
INTERACTIVITY = "slack#/types/interactivity"
ERROR_LIMIT = 2000
_USER = re.compile(r"[UW][A-Z0-9]+")
_CHANNEL = re.compile(r"[CGD][A-Z0-9]+")
# A Unix time in seconds, as Workflow Builder's timestamps are (2001 to 2286); milliseconds are refused.
_SECONDS = re.compile(r"\d{9,10}(?:\.\d+)?")
_EARLIEST, _LATEST = 1_000_000_000, 9_999_999_999


def callback_id(op: Operation) -> str:
    """The step's callback id, a contract: `contact_add`, `order_refund`."""
    return f"{op.resource}_{op.verb}"


def is_step(op: Operation) -> bool:
    return not op.destructive


@dataclass(frozen=True)
class StepInput:
    """One input of a step: a field of the operation (or the step's own: who runs it, where it answers)."""

    name: str
    type: str
    title: str
    description: str
    field: str | None = None  # the operation's field it fills (None: the step's own input)
    required: bool = False
    items: str | None = None  # an array's item type
    choices: tuple[tuple[str, str], ...] = ()
    words: bool = False  # a date in words (`…_text`), read like chat
    # A yes/no field: a choice (not Slack's boolean, whose unset false would change a record nobody meant to).
    yes_no: bool = False

    def definition(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "is_required": self.required,
            "name": self.name,
        }
        if self.items:
            entry["items"] = {"type": self.items}
        if self.choices:
            entry["enum"] = [value for value, _ in self.choices]
            entry["choices"] = [{"value": value, "title": label} for value, label in self.choices]
        return entry


@dataclass(frozen=True)
class StepOutput:
    name: str
    type: str
    title: str
    description: str
    items: str | None = None

    def definition(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "is_required": False,
            "name": self.name,
        }
        if self.items:
            entry["items"] = {"type": self.items}
        return entry


@dataclass(frozen=True)
class StepCall:
    """One run's inputs, read: the raw values (as a command or a form gives them), and who, where, through what."""

    raw: dict[str, str | list[str]]
    user: str
    channel: str | None
    via: str | None


@dataclass(frozen=True)
class Step:
    op: Operation
    callback_id: str
    inputs: tuple[StepInput, ...]
    outputs: tuple[StepOutput, ...]

    def definition(self) -> dict[str, Any]:
        """The manifest's `functions.<callback_id>` entry."""
        return {
            "title": self.op.title,
            "description": _clip(self.op.description, 200),
            "input_parameters": {item.name: item.definition() for item in self.inputs},
            "output_parameters": {item.name: item.definition() for item in self.outputs},
        }

    def read(self, given: Mapping[str, Any]) -> StepCall:
        """One run's `inputs` → the raw values. `InputError` naming each input that is wrong: nothing is sent."""
        problems: list[FieldError] = []
        raw: dict[str, str | list[str]] = {}
        by_name = {item.name: item for item in self.inputs}
        unknown = sorted(name for name in given if name not in by_name)
        if unknown:
            problems.append(
                FieldError(
                    unknown[0], "Input", f"is not an input of this step ({', '.join(unknown)}); nothing was sent"
                )
            )
        for item in self.inputs:
            if item.field is None or _blank(given.get(item.name)):
                continue
            try:
                value = _raw(item, given[item.name])
            except ValueError as problem:
                problems.append(FieldError(item.name, item.title, str(problem)))
                continue
            if item.field in raw:
                twin = next(other.name for other in self.inputs if other.field == item.field and other is not item)
                problems.append(
                    FieldError(
                        item.name,
                        item.title,
                        f"is given as well as `{twin}`; give the date one way only",
                    )
                )
                continue
            raw[item.field] = value
        user, problem = _runner(given.get(USER_INPUT), given.get(INTERACTIVITY_INPUT))
        if problem is not None:
            problems.insert(0, problem)
        channel = given.get(CHANNEL_INPUT)
        if not _blank(channel) and (not isinstance(channel, str) or not _CHANNEL.fullmatch(channel)):
            problems.append(
                FieldError(CHANNEL_INPUT, "Post to", f"`{channel}` is not a Slack channel id", ("C0123ABCD",))
            )
        via = given.get(VIA_INPUT)
        if not _blank(via) and not isinstance(via, str):
            problems.append(FieldError(VIA_INPUT, "Connection", "is not a connection name", ("default",)))
        if problems:
            raise InputError(problems)
        return StepCall(
            raw=raw,
            user=str(user),
            channel=str(channel) if not _blank(channel) else None,
            via=str(via).strip() if not _blank(via) else None,
        )

    def output_values(
        self, request_json: Any, response_body: Any, *, confirmation: str, link: str | None, found: bool
    ) -> dict[str, Any]:
        """The outputs of one run, from the request as SegMetrics received it (and, for the look-up and the
        raw call, its answer)."""
        values: dict[str, Any] = {"confirmation": confirmation}
        if link:
            values["link"] = link
        sent = request_json if isinstance(request_json, Mapping) else {}
        names = {item.name for item in self.outputs}
        if self.op.reads:
            data = (response_body or {}).get("data") if isinstance(response_body, Mapping) else None
            record = data if isinstance(data, Mapping) and found else {}
            values["found"] = bool(record)
            for name in ("contact_id", "email", "first_name", "last_name", "status"):
                if record.get(name) not in (None, ""):
                    values[name] = str(record[name])
            tags = [
                str(tag.get("name") or tag.get("tag_id"))
                for tag in record.get("tags") or []
                if isinstance(tag, Mapping)
            ]
            if record:
                values["tags"] = tags
            return values
        for name in CONTACT_FIELDS:
            if name in names and sent.get(name) not in (None, ""):
                values[name] = str(sent[name])
        record_id = _record_output(self.op)
        if record_id and sent.get("id") not in (None, ""):
            values[record_id] = str(sent["id"])
        if "response" in names and response_body is not None:
            values["response"] = json.dumps(response_body, ensure_ascii=False)[: ERROR_LIMIT * 5]
        return values


def _runner(user: Any, interactivity: Any) -> tuple[str, FieldError | None]:
    """Who runs the step: "Run as", checked against whoever Slack says clicked (when the workflow has a button
    or a form and the step is given it); either alone will do, two different people will not."""
    clicked = interactivity.get("interactor") if isinstance(interactivity, Mapping) else None
    clicker = clicked.get("id") if isinstance(clicked, Mapping) else None
    if not _blank(user) and (not isinstance(user, str) or not _USER.fullmatch(user)):
        return "", FieldError(USER_INPUT, "Run as", f"`{user}` is not a Slack user id", ("U0123ABCD",))
    if not _blank(user) and isinstance(clicker, str) and clicker and clicker != user:
        return "", FieldError(
            USER_INPUT,
            "Run as",
            f"is {user}, but Slack says {clicker} used the workflow; the bot acts for one person: set Run as to "
            "“Person who used this workflow”",
        )
    if not _blank(user):
        return str(user), None
    if isinstance(clicker, str) and _USER.fullmatch(clicker):
        return clicker, None
    return "", FieldError(
        USER_INPUT,
        "Run as",
        "is required: set it to the person who used the workflow, whom the bot's policy checks",
        kind="missing",
    )


def error_text(title: str, text: str) -> str:
    """A step's error, as Slack shows it to whoever runs the workflow: the operation, then what to fix."""
    said = f"{title}: {text}"
    return said if len(said) <= ERROR_LIMIT else said[: ERROR_LIMIT - 1] + "…"


@cache
def steps_of(registry: Registry) -> tuple[Step, ...]:
    """Every step, derived from the registry. `DeclarationError` for a field no step input can carry."""
    return tuple(_derive(op) for op in registry if is_step(op))


def step_for(registry: Registry, callback: str) -> Step | None:
    return next((step for step in steps_of(registry) if step.callback_id == callback), None)


def _derive(op: Operation) -> Step:
    inputs = [
        StepInput(
            USER_INPUT,
            USER_ID,
            "Run as",
            "Who runs it: the bot's policy checks this person, and the audit trail names them. Choose "
            "“Person who used this workflow”.",
            required=True,
        ),
        StepInput(
            INTERACTIVITY_INPUT,
            INTERACTIVITY,
            "Who clicked",
            "Optional, for a workflow started by a button or a form: Slack's own word for who used it, checked "
            "against Run as.",
        ),
        StepInput(
            CHANNEL_INPUT,
            CHANNEL_ID,
            "Post the confirmation in",
            "Optional: a channel where the bot posts who did what (with Undo). Empty: no message; the step's "
            "outputs carry the confirmation.",
        ),
    ]
    for spec in op.params:
        inputs += _inputs_for(op, spec)
    inputs.append(
        StepInput(
            VIA_INPUT,
            STRING,
            "Connection",
            "Optional: the SegMetrics connection to send it through (as `via=` in chat). Empty: the one the "
            "channel or the resource is routed to, else default.",
        )
    )
    return Step(op, callback_id(op), tuple(inputs), _outputs_for(op))


def _inputs_for(op: Operation, spec: Param) -> list[StepInput]:
    kind = spec.kind
    description = _described(spec)
    # A contact is given as an e-mail or an id: neither alone is required (the step says so when both are empty).
    required = spec.required and spec.name not in CONTACT_FIELDS
    if isinstance(kind, fields.Moment | fields.Day):
        slack_type = TIMESTAMP if isinstance(kind, fields.Moment) else DATE
        picked = "a date and time" if isinstance(kind, fields.Moment) else "a date"
        needed = " One of the two is required." if spec.required else ""
        return [
            StepInput(spec.name, slack_type, spec.title, f"{description} As {picked}.{needed}".strip(), spec.name),
            StepInput(
                spec.name + WORDS_SUFFIX,
                STRING,
                _clip(f"{spec.title} (in words)", 60),
                f"Or in words, read like chat in the runner's own zone, e.g. `{spec.example}`.{needed}",
                spec.name,
                words=True,
            ),
        ]
    if isinstance(kind, fields.Tags | fields.Items):
        return [StepInput(spec.name, ARRAY, spec.title, description, spec.name, required, items=STRING)]
    if isinstance(kind, fields.Count):
        return [StepInput(spec.name, INTEGER, spec.title, description, spec.name, required)]
    if isinstance(kind, fields.Coordinate):
        return [StepInput(spec.name, NUMBER, spec.title, description, spec.name, required)]
    if isinstance(kind, fields.YesNo):
        choices = kind.options()
        return [
            StepInput(spec.name, STRING, spec.title, description, spec.name, required, choices=choices, yes_no=True)
        ]
    if isinstance(kind, fields.Choice):
        return [StepInput(spec.name, STRING, spec.title, description, spec.name, required, choices=kind.options())]
    text_kinds = (
        fields.Text,
        fields.Email,
        fields.Money,
        fields.Url,
        fields.IpAddress,
        fields.KeyValues,
        fields.Json,
        fields.ApiPath,
    )
    if isinstance(kind, text_kinds):
        return [StepInput(spec.name, STRING, spec.title, description, spec.name, required)]
    raise DeclarationError(
        f"{op.name}: field `{spec.name}` is a {type(kind).__name__}, which no Workflow Builder input carries; "
        "map it in bot/steps.py"
    )


def _described(spec: Param) -> str:
    example = f" e.g. `{spec.example}`" if spec.example else ""
    return f"{spec.hint}{'.' if spec.hint and not spec.hint.endswith('.') else ''}{example}".strip()


def _record_output(op: Operation) -> str | None:
    """`invoice_id` for orders, `subscription_id` for subscriptions: the record a step's `id` names."""
    record = (op.changes or op).record  # a change names the record of the upsert it changes
    return f"{record}_id" if record else None


def _outputs_for(op: Operation) -> tuple[StepOutput, ...]:
    outputs = [
        StepOutput(
            "confirmation", STRING, "Confirmation", "What was done, with the values as SegMetrics received them."
        ),
        StepOutput(
            "link",
            STRING,
            "Link to the confirmation",
            "The confirmation message, when the step posted one in a channel.",
        ),
    ]
    names = {spec.name for spec in op.params}
    if op.reads:
        outputs += [
            StepOutput("found", BOOLEAN, "Found", "Whether SegMetrics knows the contact."),
            StepOutput("contact_id", STRING, "Contact ID", "The contact's id in SegMetrics."),
            StepOutput("email", STRING, "E-mail", "The contact's e-mail."),
            StepOutput("first_name", STRING, "First name", "The contact's first name."),
            StepOutput("last_name", STRING, "Last name", "The contact's last name."),
            StepOutput("status", STRING, "Status", "active or inactive."),
            StepOutput("tags", ARRAY, "Tags", "The contact's tags.", items=STRING),
        ]
        return tuple(outputs)
    if names & set(CONTACT_FIELDS):
        outputs += [
            StepOutput("contact_id", STRING, "Contact ID", "The contact's id, when it was given."),
            StepOutput("email", STRING, "E-mail", "The contact's e-mail, when it was given."),
        ]
    record_id = _record_output(op)
    if record_id:
        title = {"invoice_id": "Invoice ID", "subscription_id": "Subscription ID"}.get(record_id, record_id)
        outputs.append(StepOutput(record_id, STRING, title, f"The {record_id.removesuffix('_id')}'s id."))
    if op.resource == "api":
        outputs.append(StepOutput("response", STRING, "Response", "SegMetrics' answer, as JSON."))
    return tuple(outputs)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


def _raw(item: StepInput, value: Any) -> str | list[str]:
    """One input's value → raw text as chat gives it. `ValueError` saying what is wrong with it."""
    if item.type in (TIMESTAMP, DATE) and not item.words:
        return _moment(value)
    if isinstance(value, Mapping):
        raise ValueError("is an object; give text")
    if item.type == ARRAY:
        return _entries(item, value)
    if isinstance(value, list):
        raise ValueError(f"is a list of {len(value)}; give one value")
    if isinstance(value, bool):
        if item.yes_no or item.type == BOOLEAN:
            return "yes" if value else "no"
        raise ValueError(f"is {str(value).lower()} (a yes/no); give {'a number' if item.type != STRING else 'text'}")
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _number(value: float) -> str:
    """A JSON number as it would be typed: no exponent, no digit the number does not have."""
    if not math.isfinite(value):
        raise ValueError(f"is {value}, not a number")
    if value.is_integer():
        if abs(value) > 2**53:
            raise ValueError("is a number too large to be exact; give it as text")
        return str(int(value))
    # The shortest text that is this number (repr), written out without an exponent.
    return format(Decimal(repr(value)), "f")


def _moment(value: Any) -> str:
    """A timestamp (Unix seconds, as Workflow Builder sends them) → ISO 8601 in UTC; text is read like chat."""
    if isinstance(value, bool | Mapping | list):
        raise ValueError("is not a date; give a timestamp or the date in words")
    if isinstance(value, str):
        if not _SECONDS.fullmatch(value.strip()):
            return value  # words, or an ISO date: read like chat
        value = float(value)
    seconds = float(value)
    if not _EARLIEST <= seconds <= _LATEST:
        hint = " (it looks like milliseconds; Slack's timestamps are in seconds)" if seconds > _LATEST else ""
        raise ValueError(f"`{value}` is not a Unix time in seconds{hint}")
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat()


def _entries(item: StepInput, value: Any) -> str | list[str]:
    """A list input: each entry one value. Text (a variable of text, say) is read like chat."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Sequence):
        raise ValueError("is not a list")
    entries = []
    for number, entry in enumerate(value, start=1):
        if isinstance(entry, bool | Mapping | list):
            raise ValueError(f"item {number} is not text")
        text = str(entry).strip()
        if not text:
            continue
        if item.field == "tags":
            # One item is one tag: read as chat reads it, it must not become two (`VIP, Q4`, `"A", B`).
            try:
                parts = split_tags(text)
            except InvalidValue as problem:
                raise ValueError(f"item {number} (`{text}`): {problem.message}") from None
            if len(parts) != 1:
                raise ValueError(
                    f"item {number} (`{text}`) reads as {len(parts)} tags ({', '.join(parts)}): give each tag as its "
                    'own item, or quote a tag whose name has a comma ("Smith, Jones")'
                )
        entries.append(text)
    return entries


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "CHANNEL_INPUT",
    "USER_INPUT",
    "VIA_INPUT",
    "Step",
    "StepCall",
    "StepInput",
    "StepOutput",
    "callback_id",
    "error_text",
    "is_step",
    "step_for",
    "steps_of",
]
