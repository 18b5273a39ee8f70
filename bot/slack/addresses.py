"""The contacts a Slack message mentions: every e-mail address in it, and a name written next to one.

Addresses are looked for in the message text (plain or as Slack's `<mailto:…|…>`), in its blocks
(rich text, sections, context) and in its attachments. A name is taken only when it is written right
before the address (`Jane Doe jane@x.com`, `Jane Doe <jane@x.com>`) or in parentheses right after it
(`jane@x.com (Jane Doe)`); nothing is guessed from the address itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.tokens import unescape_slack

# Enough for any message a person writes; past it, the message is a list to import, not to read here.
MAX_ADDRESSES = 1000
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'’-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_WORD = r"[A-ZÀ-Þ][\w'’-]*"
_MAILTO_NAMED = re.compile(r"<mailto:([^<>|]+)\|([^<>@]+)>")
_BEFORE = re.compile(rf"(?:^|(?<=[\s,;:(]))((?:{_WORD}\s+){{0,2}}{_WORD})\s*[<(\[]?\s*$")
_AFTER = re.compile(rf"^\s*[>)\]]?\s*\(\s*({_WORD}(?:\s+{_WORD}){{0,2}})\s*\)")
# Capitalised words that open a sentence or label a field, not names.
_NOT_NAMES = frozenset(
    [
        "from",
        "to",
        "cc",
        "bcc",
        "email",
        "e-mail",
        "mail",
        "contact",
        "customer",
        "client",
        "lead",
        "user",
        "new",
        "signup",
        "hi",
        "hello",
        "hey",
        "dear",
        "thanks",
        "please",
        "tag",
        "add",
        "by",
        "via",
        "re",
        "fwd",
        "fw",
        "the",
        "a",
        "an",
        "and",
        "or",
        "for",
        "with",
    ]
)


@dataclass(frozen=True)
class Found:
    """One address a message mentions, with the name written next to it, if any."""

    email: str
    first_name: str | None = None
    last_name: str | None = None


def find_contacts(message: Mapping[str, Any]) -> list[Found]:
    """Every address in the message, first mention first, each once (case-insensitive)."""
    found: dict[str, Found] = {}
    for text in _texts(message):
        # `<mailto:jane@x.com|Jane Doe>`: the label is a name worth keeping, next to the address.
        plain = unescape_slack(_MAILTO_NAMED.sub(r"\2 \1", text))
        for match in _ADDRESS.finditer(plain):
            email = _valid(match.group(0).strip(".'’"))
            if email is None:
                continue
            key = email.lower()
            name = _name_near(plain, match.start(), match.end())
            if key not in found or (found[key].first_name is None and name[0]):
                found[key] = Found(email, *name)
            if len(found) >= MAX_ADDRESSES:
                return list(found.values())
    return list(found.values())


def _valid(candidate: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email  # first use, not start-up

    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _name_near(text: str, start: int, end: int) -> tuple[str | None, str | None]:
    after = _AFTER.match(text[end : end + 80])
    before = _BEFORE.search(text[max(0, start - 80) : start])
    words = (after.group(1) if after else before.group(1) if before else "").split()
    while words and words[0].lower().strip(":") in _NOT_NAMES:
        words = words[1:]
    if not words:
        return None, None
    return words[0], " ".join(words[1:]) or None


def _texts(message: Mapping[str, Any]) -> Iterator[str]:
    if isinstance(message.get("text"), str):
        yield message["text"]
    for block in message.get("blocks") or []:
        yield from _block_texts(block)
    for attachment in message.get("attachments") or []:
        for key in ("pretext", "title", "text", "fallback", "footer", "author_name"):
            if isinstance(attachment.get(key), str):
                yield attachment[key]
        for field in attachment.get("fields") or []:
            if isinstance(field.get("value"), str):
                yield field["value"]
        for block in attachment.get("blocks") or []:
            yield from _block_texts(block)


_INLINE_CONTAINERS = frozenset({"rich_text_section", "rich_text_quote", "rich_text_preformatted"})


def _inline(element: Any) -> str:
    if not isinstance(element, Mapping):
        return ""
    if element.get("type") == "link" and isinstance(element.get("url"), str):
        address = element["url"].removeprefix("mailto:")
        label = element.get("text") or ""
        return address if not label or label == address else f"{label} {address}"
    return element.get("text") if isinstance(element.get("text"), str) else " "


def _block_texts(node: Any) -> Iterator[str]:
    """Text anywhere in a block: rich-text runs and links (a `mailto:` link is written out), mrkdwn."""
    if isinstance(node, list):
        for item in node:
            yield from _block_texts(item)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind in _INLINE_CONTAINERS:
        # One run of rich text: read it whole, so a name and the address after it stay together.
        yield "".join(_inline(element) for element in node.get("elements") or [])
        return
    if kind in ("text", "mrkdwn", "plain_text") and isinstance(node.get("text"), str):
        yield node["text"]
    for key in ("text", "elements", "fields"):
        value = node.get(key)
        if isinstance(value, Mapping | list):
            yield from _block_texts(value)
