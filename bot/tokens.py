"""Chat text to tokens: Slack's escaping undone, then `word`, `key=value` and quoted values.

Why not `shlex`: Slack clients turn straight quotes into curly ones (“ ” ‘ ’) and people write
apostrophes inside words (`first_name=O’Brien`); shlex knows neither. Here a quote only opens at the
start of a value, a double quote must be closed, and a lone single quote is just a character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.problems import CommandError

_SLACK_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)=")
# `\s` is exactly `str.isspace()` for str patterns.
_SPACES = re.compile(r"\s*")
_WORD = re.compile(r"\S*")
_CLOSERS = {
    '"': '"”“',
    "“": '”"',
    "„": '“”"',
    "”": '”"',
    "'": "'’",
    "‘": "’'",
}
_SINGLE = frozenset("'‘")


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of a slash command's text.

    `<mailto:a@b.com|a@b.com>` → `a@b.com`; `<https://x.com|x.com>` → `https://x.com`, but Slack's own
    link of a bare domain `<http://x.com|x.com>` → `x.com` (what was typed);
    `<#C1|general>` → `#general`; `<!here>` → `@here`; then `&lt;` `&gt;` `&amp;` → `<` `>` `&`.
    """

    def plain(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("mailto:"):
            return target.removeprefix("mailto:")
        if target.startswith("#"):
            return "#" + label if label else target
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if target.startswith("@"):
            return match.group(0)
        if target.startswith("tel:"):
            return label or target.removeprefix("tel:")
        # Slack links bare domains itself (`facebook.com` → `<http://facebook.com|facebook.com>`):
        # the user typed the label, which may be a UTM source or a tag, not a URL.
        if label and target == f"http://{label}":
            return label
        return target

    unwrapped = _SLACK_MARKUP.sub(plain, text)
    return unwrapped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True)
class Token:
    """One word of chat text. `key` is set for `key=value`; `start` is the offset in the text."""

    value: str
    start: int
    key: str | None = None
    quoted: bool = False


def tokenize(text: str) -> Iterator[Token]:
    """Yield tokens lazily, so a caller may stop and take the rest of the text raw (a JSON body)."""
    # A quote opens only where a value starts; the rest of a word, whatever it holds, is taken as is.
    index, length = 0, len(text)
    while True:
        index = _SPACES.match(text, index).end()
        if index >= length:
            return
        start = index
        key = None
        key_match = _KEY.match(text, index)
        if key_match:
            key = key_match.group(1)
            index = key_match.end()
        head, quoted = "", False
        char = text[index] if index < length else ""
        if char in _CLOSERS:
            close = _find_close(text, index)
            if close is not None:
                head, quoted, index = text[index + 1 : close], True, close + 1
            elif char not in _SINGLE:
                snippet = text[start : start + 30]
                raise CommandError(f"A quote is never closed in `{snippet}`: add the closing {_CLOSERS[char][0]}")
        rest = _WORD.match(text, index)
        index = rest.end()
        yield Token(head + rest.group(), start, key, quoted)


def _find_close(text: str, open_at: int) -> int | None:
    opener = text[open_at]
    closers = _CLOSERS[opener]
    for index in range(open_at + 1, len(text)):
        if text[index] in closers:
            # A single quote closes only before a space or the end: `'O’Brien'` is one value.
            if opener in _SINGLE and index + 1 < len(text) and not text[index + 1].isspace():
                continue
            return index
    return None
