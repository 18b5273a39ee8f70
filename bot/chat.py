"""Chat text to an operation and its raw values, following each operation's declaration.

Grammar: `<resource> <verb> <positional…> key=value key="value with spaces" …`. Keys are the API field
names or their aliases; `field.<name>=` style keys feed key/value fields; the contact positional is
an e-mail when it contains `@`, else a contact id. Values stay text here: reading them (money, dates,
…) is the operation's job, so a form can be prefilled with exactly what was typed.

One contact per command: an e-mail where a tag is expected is a second contact, refused; so is text that
looks like an e-mail without its `@` in the contact's place (`sam.example.com`), unless given as
`contact_id=`. Every problem of a command is reported at once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from bot.distance import closest
from bot.fields import KeyValues, quote_tag, split_tags
from bot.operation import CONTACT, Operation, Param, Registry, slot_fields
from bot.problems import CommandError, InputError, InvalidValue
from bot.tokens import Token, tokenize, unescape_slack

if TYPE_CHECKING:
    from bot.context import Context

MAX_COMMAND_LENGTH = 8_000
# The key naming the connection a command goes through; any operation takes it.
VIA = "via"


@dataclass
class ParsedCommand:
    """An operation and what the user typed for each field (text, or a list for multi-entry fields)."""

    operation: Operation
    raw: dict[str, str | list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # `via=<connection>`, on any command: which SegMetrics connection it goes through (None: routed).
    via: str | None = None


def parse_command(text: str, registry: Registry, *, slack: bool = False, ctx: Context | None = None) -> ParsedCommand:
    """Find the operation and collect its raw values; raise `CommandError` when the text is malformed,
    naming every problem at once: each unknown key, each value given twice, and (given `ctx`, to read them)
    each value that cannot be read.

    `slack=True` for text from Slack, whose links, e-mails and `&<>` arrive escaped."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise CommandError(f"That command is {len(text):,} characters long; the limit is {MAX_COMMAND_LENGTH:,}.")
    clean = (unescape_slack(text) if slack else text).strip()
    tokens = _Stream(tokenize(clean))
    op = _find_operation(tokens, registry)
    parsed = ParsedCommand(op)
    _collect(parsed, tokens, clean)
    _check_order(parsed)
    if parsed.problems:
        lines = list(parsed.problems)
        if ctx is not None:
            try:
                op.validate(parsed.raw, ctx)
            except InputError as error:
                lines += [problem.message for problem in error.errors if problem.kind != "missing"]
        raise CommandError(lines[0] if len(lines) == 1 else "\n".join(f"• {line}" for line in lines), usage=op.usage())
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

    def read_on(self, text: str, offset: int) -> None:
        """Go on with the tokens of `text` from `offset` (past a JSON body, whose quotes are not words)."""
        tokens = tokenize(text[offset:])
        self._tokens = (dataclasses.replace(token, start=token.start + offset) for token in tokens)
        self._back.clear()


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
    joining: str | None = None  # the last positional, a date: bare words after it are more of it
    for token in tokens:
        slot_name = slots[slot] if token.key is None and slot < len(slots) else None
        if slot_name is not None and op.param(slot_fields(slot_name)[0]).kind.takes_rest:
            rest = text[token.start :]
            end = _json_end(rest)
            if end is None:
                _set(parsed, slot_name, rest.strip())  # a JSON body, quotes and all
                return
            _set(parsed, slot_name, rest[:end])  # a JSON body, then keys: `{…} header.X-Source=slack`
            tokens.read_on(text, token.start + end)
            slot += 1
            joining = None
            continue
        if token.problem:
            parsed.problems.append(token.problem)
            continue
        if token.key is None and not token.quoted and token.value.lower() == VIA:
            # `via ads` for `via=ads`: never taken as a tag or a name.
            parsed.problems.append(
                'To choose a connection write `via=<name>`, e.g. `via=payments`. If "via" is a value, quote it: "via".'
            )
            continue
        if token.key is not None:
            _add_keyed(parsed, token)
            joining = None
            continue
        if slot_name is None and joining is not None and isinstance(parsed.raw.get(joining), str):
            parsed.raw[joining] = f"{parsed.raw[joining]} {token.value}"
            continue
        if slot_name is None:
            parsed.problems.append(
                f"`{token.value}` is not expected here; values other than {_positional_words(op)} "
                "need a key, like `key=value`."
            )
            continue
        if slot_name == CONTACT:
            _set_contact(parsed, token)
            slot += 1
            continue
        spec = op.param(slot_name)
        if not spec.kind.many:
            _set(parsed, slot_name, token.value)
            slot += 1
            joining = slot_name if spec.kind.joins_words and slot == len(slots) and not token.quoted else None
            continue
        # The last positional (declarations are checked) takes the rest; a quoted word stays one entry.
        second = _second_contact(parsed, token) if CONTACT in slots[:slot] else None
        if second:
            parsed.problems.append(second)
            continue
        _append(parsed, slot_name, _grouped(token) if spec.kind.quotes_group else token.value)


# As `Json.read` straightens them: Slack clients turn straight quotes into curly ones.
_STRAIGHT_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


def _json_end(text: str) -> int | None:
    """Where the JSON document that `text` starts with ends, when keys follow it (`{…} header.X-Source=slack`).

    None when `text` does not start with `{` or `[`, when no JSON document can be read from its start, or when
    what follows the document is not a `key=`: then the whole text is the body, and reading it says what is
    wrong (`{"a": 1}, "b": 2}` is "Extra data at character 9", not an unexpected word)."""
    if not text.startswith(("{", "[")):
        return None
    decoder = json.JSONDecoder()
    for candidate in (text, text.translate(_STRAIGHT_QUOTES)):
        try:
            end = decoder.raw_decode(candidate)[1]
        except (ValueError, RecursionError):
            continue
        break
    else:
        return None
    if end == len(text) or not text[end].isspace():
        return None
    try:
        following = next(tokenize(text[end:]), None)
    except CommandError:  # an unclosed quote: not a key
        return None
    return end if following is not None and following.key is not None else None


def _set_contact(parsed: ParsedCommand, token: Token) -> None:
    """The contact slot: an e-mail when it has an `@`, else a contact ID, unless it reads as an e-mail
    whose `@` was lost (`sam.example.com`): that is refused rather than saved as an id."""
    value = token.value
    if "@" in value:
        _set(parsed, "email", value)
    elif looks_like_email(value):
        parsed.problems.append(email_without_at(value))
    else:
        _set(parsed, "contact_id", value)


def _second_contact(parsed: ParsedCommand, token: Token) -> str | None:
    """Where a tag is expected after the contact, a word that reads as another contact is not taken as a
    tag: `tag add a@x.co b@x.co VIP` would tag a@x.co with "b@x.co". Quoted, it is a tag as typed."""
    value = token.value
    if token.quoted:
        return None
    contact = parsed.raw.get("email") or parsed.raw.get("contact_id")
    if "@" in value and _EMAIL.fullmatch(value) and "email" in parsed.raw:
        what = f"`{contact}` and `{value}`"
    elif value.isdigit():
        what = f"`{contact}` and `{value}`, which looks like a contact ID"
    elif looks_like_email(value):
        what = f"`{contact}` and `{value}`, which looks like an e-mail without its @"
    else:
        return None
    return (
        f"Two contacts given ({what}): one contact per command. Tag them one at a time, or use the message "
        "shortcut *Tag contacts in message* (on a message naming them) or a bulk import. "
        f'If `{value}` really is a tag, quote it: "{value}".'
    )


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DOMAIN_LIKE = re.compile(r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*\.([A-Za-z]{2,24})")
_GENERIC_TLDS = frozenset(
    [
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "mil",
        "int",
        "info",
        "biz",
        "io",
        "co",
        "ai",
        "app",
        "dev",
        "me",
        "tv",
        "xyz",
        "online",
        "shop",
        "store",
        "tech",
        "site",
        "email",
        "agency",
        "marketing",
        "media",
        "studio",
        "design",
        "cloud",
        "live",
        "news",
        "blog",
        "club",
        "company",
        "group",
        "global",
        "inc",
        "llc",
        "ltd",
        "pro",
        "name",
        "mobi",
    ]
)


def looks_like_email(value: str) -> bool:
    """`sam.example.com`: a dot, a top-level domain, no spaces: an e-mail whose @ was lost, not an id."""
    match = _DOMAIN_LIKE.fullmatch(value)
    return bool(match) and match.group(2).lower() in _top_level_domains()


def email_without_at(value: str) -> str:
    """The refusal of a contact that looks like an e-mail without its @, with the e-mails it may be."""
    labels = value.split(".")
    # The @ can stand for any dot that leaves a domain of at least two labels behind it.
    candidates = [".".join(labels[:at]) + "@" + ".".join(labels[at:]) for at in range(1, len(labels) - 1)]
    shown = " or ".join(f"`{candidate}`" for candidate in candidates[:3])
    return (
        f"`{value}` looks like an e-mail without its @: did you mean {shown}? If it really is a contact ID, write "
        f"`contact_id={value}`."
    )


@cache
def _top_level_domains() -> frozenset[str]:
    from babel import Locale

    countries = {code.lower() for code in Locale("en").territories if len(code) == 2 and code.isalpha()}
    return frozenset(countries | _GENERIC_TLDS | {"uk"})


def _grouped(token: Token) -> str:
    """A quoted word where tags are listed one per word is one tag, commas and all: kept in its quotes
    for the comma split (`"A, B"` stays one tag)."""
    return quote_tag(token.value) if token.quoted else token.value


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
            parsed.problems.append(
                f"`{misplaced}` looks like the contact's e-mail, but it is in the place of the "
                f"{op.param(name).title.lower()}. The order is `{op.resource} {op.verb} {order}`."
            )
            return


def _add_keyed(parsed: ParsedCommand, token: Token) -> None:
    op = parsed.operation
    assert token.key is not None
    name = op.key(token.key)
    if name is None and token.key.lower() == VIA:
        _set_via(parsed, token.value)
        return
    if name is None:
        prefixed = op.prefixed(token.key)
        if prefixed is not None:
            spec, entry_key = prefixed
            assert isinstance(spec.kind, KeyValues)  # declarations are checked
            if any(mark in token.value for mark in "\r\n"):
                # One `field.x=` / `header.X-…=` is one entry: a line break would make it two.
                parsed.problems.append(
                    f"`{token.key}=` goes on to another line; its value is one line. Example: "
                    f"`{token.key}={_quote(spec.example.partition(spec.kind.separator)[2].strip() or 'value')}`"
                )
                return
            _append(parsed, spec.name, f"{entry_key} {spec.kind.separator} {token.value}".rstrip())
            return
        parsed.problems.append(_unknown_key(op, token.key))
        return
    spec = op.param(name)
    if not token.value.strip():
        parsed.problems.append(
            f"`{token.key}=` has no value. Give one, e.g. `{token.key}={_quote(spec.example)}`, or leave the key out."
        )
        return
    if spec.kind.many:
        # `tags="VIP, Webinar 2026"`: the quotes hold the value together, a comma list as in the form
        _append(parsed, name, token.value)
    else:
        _set(parsed, name, token.value, key=token.key)


def _set_via(parsed: ParsedCommand, value: str) -> None:
    clean = value.strip()
    if not clean:
        parsed.problems.append("`via=` has no value. Name a connection, e.g. `via=payments`, or leave the key out.")
    elif parsed.via is not None:
        parsed.problems.append(f"`via` is given twice (`{parsed.via}` and `{clean}`); keep one.")
    else:
        parsed.via = clean


def _set(parsed: ParsedCommand, name: str, value: str, *, key: str | None = None) -> None:
    if name in parsed.raw:
        spec = parsed.operation.param(name)
        said = f"`{key}`" if key else f"{spec.title} (`{name}`)"
        parsed.problems.append(f"{said} is given twice (`{parsed.raw[name]}` and `{value}`); keep one.")
        return
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
    close = closest(key, candidates)
    if close:
        spec = op.param(op.key(close) or close)
        example = f", as in `{close}={_quote(spec.example)}`" if spec.example else ""
        return f"`{op.name}` has no key `{key}`: did you mean `{close}`{example}?"
    return f"`{op.name}` has no key `{key}`. Valid keys: {', '.join(valid)}."


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = closest(word, candidates)
    return f" (did you mean `{close}`?)" if close else ""


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
            words += [_quoted(word) for entry in entries for word in _words_of(spec, entry)]
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


def _words_of(spec: Param, entry: str) -> list[str]:
    """One entry of a positional that takes several words, as those words: a comma list of tags is one
    word per tag (each quoted when it needs to be), anything else one word."""
    if not spec.kind.quotes_group:
        return [entry]
    try:
        return [tag.strip() for tag in split_tags(entry) if tag.strip()]
    except InvalidValue:
        return [entry]


def _quoted(value: str) -> str:
    """A value as one token: bare when it can be, else in the quotes it does not contain."""
    if value and not any(char.isspace() for char in value) and value[0] not in "\"'“‘„”":
        return value
    return f"'{value}'" if '"' in value else f'"{value}"'
