"""Chat text to tokens: Slack's escaping undone, then `word`, `key=value` and quoted values.

Why not `shlex`: Slack clients turn straight quotes into curly ones (“ ” ‘ ’) and people write
apostrophes inside words (`first_name=O’Brien`); shlex knows neither. Here a quote only opens at the
start of a value and must be closed, single or double, straight or curly; an apostrophe inside a word
(`O'Brien`, `Mother's`) is a letter; any other quote mark outside a quoted value is refused, so that
`'Early Bird` is never saved as the tags "'Early" and "Bird".
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
    "’": "’'",
}
_SINGLE = frozenset("'‘’")
_DOUBLE = frozenset('"“”„')


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
    # A stray quote mark: raised when the token is used as a value, not when the rest of the line is
    # taken as it is (an `api` JSON body is full of quotes).
    problem: str | None = None


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
            if close is None:
                snippet = text[start : start + 30]
                raise CommandError(
                    f"A quote is never closed in `{snippet}`: add the closing {_CLOSERS[char][0]} "
                    "(an apostrophe inside a word, as in O'Brien, needs none)"
                )
            head, quoted, index = text[index + 1 : close], True, close + 1
        rest = _WORD.match(text, index)
        index = rest.end()
        problem = _stray_quote(rest.group(), text[start : start + 30])
        if quoted and rest.group() and problem is None:
            # `"A"B`: text glued to a closing quote is a typo, not one more letter of the value.
            problem = f"Text follows a closing quote in `{text[start : start + 30]}`: put a space after the quote"
        yield Token(head + rest.group(), start, key, quoted, problem)


def _stray_quote(word: str, snippet: str) -> str | None:
    """Outside a quoted value, a double quote, or a single one not between two letters, opens or closes
    nothing: it is a typo, and guessing what it meant would save the wrong value."""
    for index, char in enumerate(word):
        inside = 0 < index < len(word) - 1 and word[index - 1].isalnum() and word[index + 1].isalnum()
        if char in _DOUBLE or (char in _SINGLE and not inside):
            return f"A quote in `{snippet}` opens or closes nothing: quote the whole value, or remove it"
    return None


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
