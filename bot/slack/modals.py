"""One modal per operation, derived from its declaration; and the modal's state back to raw values.

Contract: each input block's `block_id` is the API field name it fills (`email`, `amount`, `items`, …);
every element's `action_id` is `value`. Multi-entry fields are one multiline input (one entry per line),
except tags: one comma-separated line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.context import Context
from bot.operation import PLACEHOLDER_LIMIT, Operation, Param, RawInput, Registry
from bot.problems import InputError, InvalidValue
from bot.slack.messages import SANDBOX_BADGE, escape

log = logging.getLogger("segmetrics_slack.modals")

CALLBACK_PREFIX = "op:"
ACTION_ID = "value"
WHERE_BLOCK = "post_to"
# The "Connection" select, in every form when the bot has more than one connection (as `via=` in chat).
VIA_BLOCK = "via"
UNSET = "__unset__"
INPUT_LIMIT = 3000
HINT_LIMIT = 2000
SUBMIT_LABELS = {
    "add": "Save",
    "record": "Record",
    "delete": "Delete",
    "remove": "Remove",
    "show": "Look up",
    "call": "Send",
}


class Seal:
    """Signs what the bot keeps in a view's `private_metadata`, so that a submission's claim of where the
    form was opened (which channel a policy rule sees) is the bot's own record, not the payload's word.
    The key is derived from a secret the bot already holds (its token): forms survive a restart."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"segmetrics-slack form origin\0" + secret.encode()).digest()

    def close(self, data: Mapping[str, Any]) -> str:
        text = json.dumps(data, separators=(",", ":"), sort_keys=True)
        return json.dumps({"o": text, "s": self._sign(text)}, separators=(",", ":"))

    def open(self, metadata: str | None) -> dict[str, Any]:
        try:
            sealed = json.loads(metadata or "{}")
            text, signature = str(sealed["o"]), str(sealed["s"])
            data = json.loads(text)
        except (ValueError, KeyError, TypeError):
            data, text, signature = None, "", ""
        if not isinstance(data, dict) or not hmac.compare_digest(signature, self._sign(text)):
            if metadata:
                log.warning("a form's metadata is not the bot's own; its origin is ignored")
            return {}
        return data

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Origin:
    """Where a form was opened, kept in the view's `private_metadata` so the answer goes back there.

    `ask_where` is for forms opened without a conversation (global shortcuts, App Home): the form then
    asks where to post the confirmation (block `post_to`; empty means a DM from the bot)."""

    channel_id: str | None = None
    response_url: str | None = None
    thread_ts: str | None = None
    ask_where: bool = False
    channel_name: str | None = None
    # The form shows a whole record (an update's): a field left blank is removed, not kept.
    whole: bool = False
    # The connection it was routed to when opened (`via=` typed, or the channel's or resource's), and its
    # fingerprint then (`Connection.fingerprint`).
    connection: str | None = None
    fingerprint: str | None = None

    def dumps(self, seal: Seal) -> str:
        return seal.close({key: value for key, value in asdict(self).items() if value})

    @classmethod
    def loads(cls, text: str | None, seal: Seal) -> Origin:
        """The origin the bot wrote when it opened the form; an empty one (no channel: a channel's policy
        then refuses) when the metadata is not the bot's own, unaltered."""
        data = seal.open(text)
        return cls(
            channel_id=data.get("channel_id"),
            response_url=data.get("response_url"),
            thread_ts=data.get("thread_ts"),
            ask_where=bool(data.get("ask_where")),
            channel_name=data.get("channel_name"),
            whole=bool(data.get("whole")),
            connection=data.get("connection"),
            fingerprint=data.get("fingerprint"),
        )

    def answered_in(self, body: Mapping[str, Any]) -> Origin:
        """Where to answer a submission: where it was opened, or the conversation the form asked for
        (with the response_url Slack gives for it, which works where the bot is not a member)."""
        if not self.ask_where:
            return self
        for entry in body.get("response_urls") or []:
            if entry.get("block_id") == WHERE_BLOCK:
                return Origin(
                    channel_id=entry.get("channel_id"),
                    response_url=entry.get("response_url"),
                    whole=self.whole,
                    connection=self.connection,
                    fingerprint=self.fingerprint,
                )
        values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        chosen = ((values.get(WHERE_BLOCK) or {}).get(ACTION_ID) or {}).get("selected_conversation")
        return Origin(channel_id=chosen, whole=self.whole, connection=self.connection, fingerprint=self.fingerprint)


def callback_id(op: Operation) -> str:
    return f"{CALLBACK_PREFIX}{op.resource}:{op.verb}"


def operation_for(callback: str, registry: Registry) -> Operation | None:
    if not callback.startswith(CALLBACK_PREFIX):
        return None
    resource, _, verb = callback.removeprefix(CALLBACK_PREFIX).partition(":")
    return registry.find(resource, verb)


def build_view(
    op: Operation,
    *,
    raw: RawInput,
    ctx: Context,
    origin: Origin,
    seal: Seal,
    sandbox: bool = False,
    notice: str | None = None,
    connections: Sequence[str] = (),
) -> dict[str, Any]:
    """The modal for `op`, prefilled with what was typed (or the declared defaults). `notice` is ours
    (escaped here), shown above the fields. With more than one of `connections`, a select of them, set to the
    one the form's context goes through."""
    intro = escape(op.description)
    if sandbox:
        intro += f"\n{SANDBOX_BADGE}"
    if notice:
        intro = f"{escape(notice)}\n{intro}"
    blocks: list[Block] = [ContextBlock(elements=[MarkdownTextObject(text=intro[:HINT_LIMIT])])]
    blocks += [input_block(spec, raw.get(spec.name), ctx) for spec in op.params]
    if len(connections) > 1:
        blocks.append(via_block(connections, ctx.connection))
    if origin.ask_where:
        blocks.append(where_block())
    view = View(
        type="modal",
        callback_id=callback_id(op),
        title=PlainTextObject(text=op.title),
        submit=PlainTextObject(text=SUBMIT_LABELS.get(op.verb, "Run")),
        close=PlainTextObject(text="Cancel"),
        private_metadata=origin.dumps(seal),
        blocks=blocks,
    )
    return view.to_dict()


def where_block() -> InputBlock:
    """Where to post the confirmation, for forms opened outside a conversation."""
    return InputBlock(
        block_id=WHERE_BLOCK,
        label=PlainTextObject(text="Post the confirmation in"),
        element=ConversationSelectElement(
            action_id=ACTION_ID,
            placeholder=PlainTextObject(text="A channel or conversation"),
            response_url_enabled=True,
            filter=ConversationFilter(include=["public", "private", "im", "mpim"], exclude_bot_users=True),
        ),
        hint=PlainTextObject(text="Leave it empty for a direct message from the bot."),
        optional=True,
    )


def via_block(connections: Sequence[str], chosen: str | None) -> InputBlock:
    """Which SegMetrics connection the form's work goes through."""
    options = [Option(value=name, text=name) for name in connections]
    return InputBlock(
        block_id=VIA_BLOCK,
        label=PlainTextObject(text="Connection"),
        element=StaticSelectElement(
            action_id=ACTION_ID,
            options=options,
            initial_option=next((option for option in options if option.value == chosen), None),
        ),
        hint=PlainTextObject(text="The SegMetrics account and integration this goes to."),
    )


def element(values: Mapping[str, Any], block: str) -> Mapping[str, Any]:
    """A submitted view's state of the input in `block` (every input here has the action id ACTION_ID)."""
    return (values.get(block) or {}).get(ACTION_ID) or {}


def submitted_text(values: Mapping[str, Any], block: str) -> str | None:
    value = element(values, block).get("value")
    return str(value) if value is not None else None


def submitted_choice(values: Mapping[str, Any], block: str) -> str | None:
    chosen = (element(values, block).get("selected_option") or {}).get("value")
    return str(chosen) if chosen else None


def submitted_choices(values: Mapping[str, Any], block: str) -> list[str]:
    return [
        str(option["value"]) for option in element(values, block).get("selected_options") or [] if option.get("value")
    ]


def submitted_conversations(values: Mapping[str, Any], block: str) -> list[str]:
    return [str(channel) for channel in element(values, block).get("selected_conversations") or [] if channel]


def read_via(values: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The connection chosen in a submitted form (None when the form had no choice)."""
    return submitted_choice(values, VIA_BLOCK)


def loading_view(title: str) -> dict[str, Any]:
    """Shown at once while the real form's data is fetched (a trigger_id lasts 3 s)."""
    return View(
        type="modal",
        title=PlainTextObject(text=title[:24]),
        close=PlainTextObject(text="Cancel"),
        blocks=[SectionBlock(text=MarkdownTextObject(text="⏳ Loading…"))],
    ).to_dict()


def input_block(spec: Param, typed: str | Sequence[str] | None, ctx: Context) -> InputBlock:
    """A field's input block: block_id = its API name, widget by kind, label, hint, placeholder, prefill."""
    initial = _initial_text(spec, typed)
    options = spec.kind.options()
    element: PlainTextInputElement | StaticSelectElement
    if options:
        choices = [Option(value=value, text=label) for value, label in options]
        if not spec.required:
            choices.insert(0, Option(value=UNSET, text="Not set"))
        selected = _selected(spec, initial, ctx)
        element = StaticSelectElement(
            action_id=ACTION_ID,
            placeholder=PlainTextObject(text="Choose…"),
            options=choices,
            initial_option=next((choice for choice in choices if choice.value == selected), None),
        )
    else:
        example = spec.example_for(ctx)
        element = PlainTextInputElement(
            action_id=ACTION_ID,
            multiline=spec.kind.widget == "multiline",
            initial_value=initial[:INPUT_LIMIT] if initial else None,
            placeholder=PlainTextObject(text=f"e.g. {example}"[:PLACEHOLDER_LIMIT]) if example else None,
        )
    hint = _hint(spec, ctx)
    return InputBlock(
        block_id=spec.name,
        label=PlainTextObject(text=spec.title),
        element=element,
        hint=PlainTextObject(text=hint) if hint else None,
        optional=not spec.required,
    )


def _initial_text(spec: Param, typed: str | Sequence[str] | None) -> str | None:
    if typed is None or typed == [] or typed == "":
        return spec.default
    if isinstance(typed, str):
        return typed
    joiner = "\n" if spec.kind.widget == "multiline" else ", "
    return joiner.join(typed)


def _selected(spec: Param, initial: str | None, ctx: Context) -> str | None:
    """The option a typed value means (`Monthly` → `month`), or none when it means none."""
    if not initial:
        return None
    try:
        value = spec.kind.read(initial, ctx)
    except InvalidValue:
        return None
    for option_value, _ in spec.kind.options():
        if option_value == value or (isinstance(value, bool) and option_value == ("yes" if value else "no")):
            return option_value
    return None


def _hint(spec: Param, ctx: Context) -> str:
    hint = spec.hint
    others = [spec.kind.localize(example, ctx) for example in spec.examples[1:]]
    if others:
        hint = f"{hint} Also: {', '.join(others)}".strip()
    return hint[:HINT_LIMIT]


def too_long_to_prefill(op: Operation, raw: RawInput) -> list[str]:
    """Fields whose typed value would not fit a form's input: opening it would silently cut them."""
    return [
        spec.title
        for spec in op.params
        if (text := _initial_text(spec, raw.get(spec.name))) is not None and len(text) > INPUT_LIMIT
    ]


def read_state(op: Operation, values: Mapping[str, Mapping[str, Any]]) -> dict[str, str | list[str]]:
    """A submitted view's state → raw values keyed by field name, as a chat command would give them."""
    raw: dict[str, str | list[str]] = {}
    for spec in op.params:
        element = (values.get(spec.name) or {}).get(ACTION_ID) or {}
        if element.get("type") == "static_select":
            chosen = (element.get("selected_option") or {}).get("value")
            text = None if chosen in (None, UNSET) else str(chosen)
        else:
            text = element.get("value")
        if text is None or not str(text).strip():
            continue
        if spec.kind.many:
            raw[spec.name] = str(text).splitlines() if spec.kind.widget == "multiline" else [str(text)]
        else:
            raw[spec.name] = str(text)
    return raw


def inline_errors(op: Operation, error: InputError) -> dict[str, str]:
    """`response_action: errors`, keyed by block_id; a problem without a block goes on the first one."""
    blocks = {spec.name for spec in op.params}
    errors: dict[str, str] = {}
    for field_name, message in error.by_field().items():
        target = field_name if field_name in blocks else op.params[0].name
        errors[target] = f"{errors[target]} {message}" if target in errors else message
    return {name: message[:HINT_LIMIT] for name, message in errors.items()}
