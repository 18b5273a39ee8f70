"""Chat text to an operation and its raw values, following each operation's declaration.

Grammar: `<resource> <verb> <positional…> key=value key="value with spaces" …`. Keys are the API field
names or their aliases; `field.<name>=` style keys feed key/value fields; the contact positional is
an e-mail when it contains `@`, else a contact id. Values stay text here: reading them (money, dates,
…) is the operation's job, so a form can be prefilled with exactly what was typed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bot.fields import KeyValues
from bot.operation import CONTACT, Operation, Registry, slot_fields
from bot.problems import CommandError
from bot.tokens import Token, tokenize, unescape_slack

MAX_COMMAND_LENGTH = 8_000


@dataclass
class ParsedCommand:
    """An operation and what the user typed for each field (text, or a list for multi-entry fields)."""

    operation: Operation
    raw: dict[str, str | list[str]] = field(default_factory=dict)


def parse_command(text: str, registry: Registry, *, slack: bool = False) -> ParsedCommand:
    """Find the operation and collect its raw values; raise `CommandError` when the text is malformed.

    `slack=True` for text from Slack, whose links, e-mails and `&<>` arrive escaped."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise CommandError(f"That command is {len(text):,} characters long; the limit is {MAX_COMMAND_LENGTH:,}.")
    clean = (unescape_slack(text) if slack else text).strip()
    tokens = _Stream(tokenize(clean))
    op = _find_operation(tokens, registry)
    parsed = ParsedCommand(op)
    _collect(parsed, tokens, clean)
    _check_order(parsed)
    return parsed


class _Stream:
    """Tokens read lazily, one of which can be given back."""

    def __init__(self, tokens: Iterator[Token]) -> None:
        self._tokens = tokens
        self._back: list[Token] = []

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> Token:
        return self._back.pop() if self._back else next(self._tokens)

    def push_back(self, token: Token) -> None:
        self._back.append(token)


def _find_operation(tokens: _Stream, registry: Registry) -> Operation:
    first = next(tokens, None)
    if first is None or first.key is not None:
        raise CommandError(f"Start with what to act on: {_resources(registry)}.")
    resource = registry.resource(first.value)
    if resource is None:
        hint = _did_you_mean(first.value, [r.name for r in registry.resources])
        raise CommandError(
            f"`{first.value}` is not something the bot acts on{hint}. Choose one of {_resources(registry)}."
        )
    operations = registry.for_resource(resource.name)
    second = next(tokens, None)
    if second is not None and second.key is None and not second.quoted:
        op = registry.find(resource.name, second.value)
        if op is not None:
            return op
    if resource.default_verb:
        op = registry.find(resource.name, resource.default_verb)
        assert op is not None  # the registry checked it
        if second is not None:
            tokens.push_back(second)
        return op
    verbs = ", ".join(f"`{verb}`" for op in operations for verb in op.verbs)
    if second is None:
        raise CommandError(f"What should the bot do with a {resource.name}? Say {verbs}.")
    hint = _did_you_mean(second.value, [verb for op in operations for verb in op.verbs])
    raise CommandError(f"`{resource.name} {second.value}` is not an operation{hint}. Say {verbs}.")


def _resources(registry: Registry) -> str:
    return ", ".join(f"`{resource.name}`" for resource in registry.resources)


def _collect(parsed: ParsedCommand, tokens: _Stream, text: str) -> None:
    op = parsed.operation
    slots = list(op.positional)
    slot = 0
    for token in tokens:
        if token.key is not None:
            _add_keyed(parsed, token)
            continue
        if slot >= len(slots):
            raise CommandError(
                f"`{token.value}` is not expected here; values other than {_positional_words(op)} "
                "need a key, like `key=value`.",
                usage=op.usage(),
            )
        name = slots[slot]
        if name == CONTACT:
            name = "email" if "@" in token.value else "contact_id"
        spec = op.param(name)
        if spec.kind.takes_rest:
            _set(parsed, name, text[token.start :].strip())
            return
        if spec.kind.many:
            _append(parsed, name, token.value)  # the last positional (declarations are checked): takes the rest
        else:
            _set(parsed, name, token.value)
            slot += 1


def _check_order(parsed: ParsedCommand) -> None:
    """`order add jane@example.com INV-1` would file an order with the id `jane@example.com` for the
    contact `INV-1`: when the contact slot got no `@` but another positional did, they are swapped."""
    op = parsed.operation
    if CONTACT not in op.positional or "email" in parsed.raw or "contact_id" not in parsed.raw:
        return
    for name in op.positional:
        value = parsed.raw.get(name) if name != CONTACT else None
        entries = value if isinstance(value, list) else [value] if value else []
        misplaced = next((entry for entry in entries if "@" in entry), None)
        if misplaced:
            order = " ".join("<email|contact_id>" if slot == CONTACT else f"<{slot}>" for slot in op.positional)
            raise CommandError(
                f"`{misplaced}` looks like the contact's e-mail, but it is in the place of the "
                f"{op.param(name).title.lower()}. The order is `{op.resource} {op.verb} {order}`.",
                usage=op.usage(),
            )


def _add_keyed(parsed: ParsedCommand, token: Token) -> None:
    op = parsed.operation
    assert token.key is not None
    name = op.key(token.key)
    if name is None:
        prefixed = op.prefixed(token.key)
        if prefixed is not None:
            spec, entry_key = prefixed
            assert isinstance(spec.kind, KeyValues)  # declarations are checked
            _append(parsed, spec.name, f"{entry_key} {spec.kind.separator} {token.value}".rstrip())
            return
        raise CommandError(_unknown_key(op, token.key), usage=op.usage())
    if not token.value.strip():
        spec = op.param(name)
        raise CommandError(
            f"`{token.key}=` has no value. Give one, e.g. `{token.key}={_quote(spec.example)}`, or leave the key out.",
            usage=op.usage(),
        )
    if op.param(name).kind.many:
        _append(parsed, name, token.value)
    else:
        _set(parsed, name, token.value, key=token.key)


def _set(parsed: ParsedCommand, name: str, value: str, *, key: str | None = None) -> None:
    if name in parsed.raw:
        spec = parsed.operation.param(name)
        said = f"`{key}`" if key else f"{spec.title} (`{name}`)"
        raise CommandError(
            f"{said} is given twice (`{parsed.raw[name]}` and `{value}`); keep one.",
            usage=parsed.operation.usage(),
        )
    parsed.raw[name] = value


def _append(parsed: ParsedCommand, name: str, value: str) -> None:
    current = parsed.raw.setdefault(name, [])
    assert isinstance(current, list)
    current.append(value)


def _positional_words(op: Operation) -> str:
    words = [
        "the e-mail or contact ID" if name == CONTACT else f"the {op.param(name).title.lower()}"
        for name in op.positional
    ]
    return " and ".join(words) if words else "the operation's name"


def _unknown_key(op: Operation, key: str) -> str:
    valid = []
    for spec in op.params:
        words = [spec.name, *spec.aliases]
        if spec.prefix:
            words = [f"{spec.prefix}.<name>"]
        valid.append(" / ".join(f"`{word}`" for word in words))
    candidates = [word for spec in op.params for word in (spec.name, *spec.aliases)]
    hint = _did_you_mean(key, candidates)
    return f"`{op.name}` has no key `{key}`{hint}. Valid keys: {', '.join(valid)}."


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _quote(example: str) -> str:
    return f'"{example}"' if " " in example else example


def format_command(op: Operation, raw: Mapping[str, str | Sequence[str]]) -> str:
    """Raw values back to a chat command that parses to the same values (to hand back what a user
    typed in a form, ready to fix and run again)."""
    words = [op.resource, op.verb]
    done: set[str] = set()
    rest = ""
    for slot in op.positional:
        name = next((candidate for candidate in slot_fields(slot) if raw.get(candidate)), None)
        if name is None:
            break
        spec = op.param(name)
        value = raw[name]
        done.add(name)
        if spec.kind.takes_rest:
            rest = value if isinstance(value, str) else "\n".join(value)
        elif spec.kind.many:
            entries = [value] if isinstance(value, str) else list(value)
            words += [_quoted(entry) for entry in entries]
        else:
            words.append(_quoted(str(value)))
    for spec in op.params:
        value = raw.get(spec.name)
        if spec.name in done or not value:
            continue
        entries = [value] if isinstance(value, str) else list(value)
        if spec.prefix:
            assert isinstance(spec.kind, KeyValues)
            separator = spec.kind.separator
            for entry in entries:
                for line in entry.splitlines():
                    key, _, item = line.partition(separator)
                    if key.strip():
                        words.append(f"{spec.prefix}.{key.strip()}={_quoted(item.strip())}")
            continue
        key = spec.aliases[0] if spec.kind.many and spec.aliases else spec.name
        lines = (
            [line for entry in entries for line in entry.splitlines()] if spec.kind.widget == "multiline" else entries
        )
        words += [f"{key}={_quoted(line)}" for line in lines if line.strip()]
    return " ".join(words) + (f" {rest}" if rest else "")


def _quoted(value: str) -> str:
    """A value as one token: bare when it can be, else in the quotes it does not contain."""
    if value and not any(char.isspace() for char in value) and value[0] not in "\"'“‘„”":
        return value
    return f"'{value}'" if '"' in value else f'"{value}"'
