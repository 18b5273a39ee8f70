"""Redaction of secrets (the SegMetrics API key, the Slack tokens and signing secret) from any text: log
records, errors, and whatever a server echoed back.

A server or library rarely echoes a secret verbatim: it upper-cases it, URL-encodes it, JSON-escapes it,
writes it in hex, or base64-encodes it, often inside a longer blob (`base64(account + ":" + key)`). Each
secret is compiled once, at start, into one regular expression matching all of those forms:

- the text itself, case-insensitively, where any character may instead be written `%XX` (URL encoding;
  `+` for a space), `\\uXXXX` or a short JSON escape (`\\"`, `\\\\`, `\\/`), in any mix, and escaped
  again any number of times (`%252F`, JSON inside JSON);
- hex of its UTF-8 bytes, either case;
- base64 of its UTF-8 bytes, standard or URL-safe alphabet, padded or not, at each of the three byte
  offsets (mod 3) it can start at inside a longer blob. Only the characters that depend on the secret
  alone are searched for (the edge characters also carry the neighbouring bytes); the edge character
  after them and any padding are redacted with them. The edge character before them is left: it holds
  at most 4 bits of the secret's first byte.

Secrets shorter than `MIN_PATTERN_LENGTH` are only replaced where they appear exactly: their encodings
and case variants are short enough to occur in ordinary text.

Most texts hold no secret, and a regular expression of alternatives is slow to scan for (no literal to
skip to), so each secret also keeps a few literals any match must contain; the expression only runs on a
text holding one of them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from functools import lru_cache

REDACTED = "[redacted]"
MIN_PATTERN_LENGTH = 8

_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BASE64_EDGE = "[A-Za-z0-9+/_-]?(?:=|%3[dD]){0,2}"
# The characters outside ASCII that the engine's case-insensitive matching takes for ASCII letters, while
# str.lower() does not ("İ".lower() is two characters).
_FOLD = (("İ", "i"), ("ı", "i"), ("ſ", "s"))


def _escapes(char: str) -> dict[str, str]:
    """The ways `char` may be escaped: each as it is written once (lower-case hex), and the expression
    matching it also escaped again (`%252F`; JSON in JSON, 4 levels deep: `\\\\u00e9`, `\\\\\\"`)."""
    encoded = char.encode()
    escapes = {"".join(f"%{byte:02x}" for byte in encoded): "".join(f"%(?:25)*{byte:02x}" for byte in encoded)}
    units = char.encode("utf-16-be")
    hexes = [f"{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)]
    # Runs of backslashes are bounded: inside a long run the engine would otherwise try every length at
    # every backslash, in time growing with the square of the run.
    escapes["".join(f"\\u{unit}" for unit in hexes)] = "".join(rf"\\{{1,15}}u{unit}" for unit in hexes)
    if char == " ":
        escapes["+"] = r"\+"
    if char == "\\":
        # Two levels only: the run is shared with the next character's, and each length tried multiplies.
        escapes["\\\\"] = r"(?:\\\\){1,2}"
    elif char in _JSON_SHORT:
        escapes[_JSON_SHORT[char]] = r"\\{1,15}" + re.escape(_JSON_SHORT[char][1])
    return escapes


def _cases(char: str) -> list[str]:
    """`char`, and its other cases the engine's case-insensitive matching misses (`ß` upper-cased is `SS`)."""
    return [re.escape(case) for case in dict.fromkeys((char, char.upper(), char.lower(), char.casefold()))]


def _text_pattern(secret: str) -> str:
    """The secret in any case, any of its characters possibly escaped."""
    chars = ("(?:" + "|".join([*_cases(char), *_escapes(char).values()]) + ")" for char in secret)
    return "(?i:" + "".join(chars) + ")"


def base64_cores(raw: bytes) -> list[str]:
    """The base64 characters that depend on `raw` alone, for each byte offset (mod 3) it can start at, in
    the standard and URL-safe alphabets."""
    cores: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode()
        # Character i holds bits 6i to 6i + 5; the secret's bits run from 8 * offset to 8 * (offset + len).
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(raw)) // 6]
        for variant in (core, core.replace("+", "-").replace("/", "_")):
            if variant not in cores:
                cores.append(variant)
    return cores


class _Secret:
    """One secret's expression, and the literals (lower-cased) one of which any of its matches holds."""

    __slots__ = ("exact", "literals", "pattern", "probe")

    def __init__(self, secret: str) -> None:
        self.exact = len(secret) < MIN_PATTERN_LENGTH
        if self.exact:
            self.pattern = re.compile(re.escape(secret))
            self.literals: tuple[str, ...] = (secret,)  # searched in the text as it is
            self.probe: re.Pattern[str] | None = None
            return
        raw = secret.encode()
        cores = base64_cores(raw)
        text, hexed, base64ed = _text_pattern(secret), f"(?i:{raw.hex()})", "|".join(map(re.escape, cores))
        self.pattern = re.compile(f"{text}|{hexed}|(?:{base64ed}){_BASE64_EDGE}")
        # A match with no escaped character holds one of these (base64 lower-cased too: a false lead only
        # costs running the expression).
        self.literals = tuple(dict.fromkeys([secret.lower(), raw.hex(), *(core.lower() for core in cores)]))
        if not secret.isascii():
            self.literals = ("",)  # str.lower() and the engine's case-insensitive matching differ: always run
        # A match with an escaped character holds one of these.
        self.probe = _probe([secret])

    def candidate(self, text: str, lowered: str, escaped: bool) -> bool:
        if self.exact:
            return self.literals[0] in text
        for literal in self.literals:
            if literal in lowered:
                return True
        return escaped and self.probe is not None and self.probe.search(lowered) is not None


def _probe(secrets: Iterable[str]) -> re.Pattern[str]:
    """Any escaped character of `secrets`, in lower-cased text. Each alternative starts with `%`, `\\` or
    `+`, which the engine skips to quickly."""
    # `%25`: any percent-encoding encoded again.
    escapes = {"%25", *(escape for secret in secrets for char in set(secret) for escape in _escapes(char))}
    return re.compile("|".join(map(re.escape, sorted(escapes, key=len, reverse=True))))


def _lower(text: str) -> str:
    """`text` lower-cased as the engine's case-insensitive matching sees ASCII letters."""
    if not text.isascii():
        for char, letter in _FOLD:
            if char in text:
                text = text.replace(char, letter)
    return text.lower()


class Redactor:
    """Replaces every form of each of a fixed set of secrets in a text (see the module)."""

    def __init__(self, secrets: Iterable[str], replacement: str = REDACTED) -> None:
        # Longest first: a secret containing another is replaced whole.
        ordered = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._secrets = [_Secret(secret) for secret in ordered]
        # Any escaped character of any of the secrets (a space may be URL-encoded as `+`).
        patterned = [secret for secret in ordered if len(secret) >= MIN_PATTERN_LENGTH]
        self._probe = _probe(patterned) if patterned else None
        self._plus = any(" " in secret for secret in patterned)
        self.replacement = replacement

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        lowered = _lower(text)
        escaped = (
            self._probe is not None
            and ("%" in text or "\\" in text or (self._plus and "+" in text))
            and self._probe.search(lowered) is not None
        )
        for secret in self._secrets:
            if secret.candidate(text, lowered, escaped):
                text = secret.pattern.sub(self.replacement, text)
                lowered = _lower(text)
        return text


@lru_cache(maxsize=64)
def redactor(*secrets: str) -> Redactor:
    """The `Redactor` for these secrets, compiled on first use and kept."""
    return Redactor(secrets)


def redact(text: str, *secrets: str) -> str:
    """`text` with every form of each of `secrets` replaced by `[redacted]`."""
    return redactor(*secrets)(text)
