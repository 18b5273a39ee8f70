"""Redaction (`bot.secrets`): a secret echoed back in another case or encoding is redacted too, wherever it
is redacted (the client's errors and bodies, the log records); ordinary text is left alone."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.logs import RedactFilter
from bot.secrets import REDACTED, Redactor, base64_cores, redact

KEY = "sk-test-SECRET-0f9e8d"
# Characters URL encoding, JSON and base64's two alphabets each treat differently.
ODD_KEY = 'sk_live/Ab+Cd=Ef 9z!Q"\\~é'
SHORT = "pass123"


def b64(data: str | bytes, *, urlsafe: bool = False, padded: bool = True) -> str:
    raw = data.encode() if isinstance(data, str) else data
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return encoded if padded else encoded.rstrip("=")


def unicode_escaped(text: str) -> str:
    """Every character as JSON's `\\uXXXX`, as some servers escape whole strings."""
    units = text.encode("utf-16-be")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def mixed_case(text: str) -> str:
    return "".join(char.upper() if i % 2 else char.lower() for i, char in enumerate(text))


# Each echo of a secret, as a function of it. Prefixes of 15, 7 and 8 bytes put the secret at each offset
# (mod 3) inside a longer base64 blob.
ECHOES: dict[str, Callable[[str], str]] = {
    "exact": lambda key: key,
    "upper": str.upper,
    "lower": str.lower,
    "mixed": mixed_case,
    "swapped case": str.swapcase,
    "quote": lambda key: quote(key, safe=""),
    "quote, keeping /": quote,
    "quote_plus": quote_plus,
    "quote, lower-case hex": lambda key: quote(key, safe="").lower().replace(key.lower(), key),
    "every character percent-encoded": lambda key: "".join(f"%{byte:02X}" for byte in key.encode()),
    "base64": b64,
    "base64 url-safe": lambda key: b64(key, urlsafe=True),
    "base64 unpadded": lambda key: b64(key, padded=False),
    "base64 url-safe unpadded": lambda key: b64(key, urlsafe=True, padded=False),
    "base64 after 'Authorization: ' (offset 0)": lambda key: b64("Authorization: " + key),
    "base64 after 'acct-1:' (offset 1)": lambda key: b64("acct-1:" + key),
    "base64 after 'acct-12:' (offset 2)": lambda key: b64("acct-12:" + key),
    "base64 at offset 1, followed by more": lambda key: b64("a" + key + ";expires=never"),
    "base64 at offset 2, url-safe, unpadded": lambda key: b64("ab" + key + "!", urlsafe=True, padded=False),
    "Basic auth": lambda key: "Basic " + b64("acct-1:" + key),
    "hex": lambda key: key.encode().hex(),
    "HEX": lambda key: key.encode().hex().upper(),
    "JSON string": lambda key: json.dumps(key)[1:-1],
    "JSON string, ASCII only": lambda key: json.dumps(key, ensure_ascii=True)[1:-1],
    "JSON \\u-escaped": unicode_escaped,
    "JSON \\u-escaped, upper-case hex": lambda key: unicode_escaped(key).upper().replace("\\U", "\\u"),
    "JSON inside JSON": lambda key: json.dumps(json.dumps({"auth": key}))[1:-1],
}


def leftovers(secret: str, text: str) -> list[str]:
    """The forms of `secret` (or of its base64, at any offset) still in `text`."""
    forms = {name: echo(secret) for name, echo in ECHOES.items()}
    found = [name for name, form in forms.items() if form and form in text]
    found += [f"base64 core {core}" for core in base64_cores(secret.encode()) if core in text]
    return found


@pytest.mark.parametrize("secret", [KEY, ODD_KEY], ids=["plain key", "odd key"])
@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_no_echo_survives(secret: str, echo: Callable[[str], str]) -> None:
    text = f'SegMetrics said: {{"error": "invalid key {echo(secret)}", "code": 401}} (end)'
    redacted = redact(text, secret)
    assert leftovers(secret, redacted) == []
    assert REDACTED in redacted
    assert redacted.startswith('SegMetrics said: {"error": "invalid key ') and redacted.endswith(
        '", "code": 401} (end)'
    )


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_no_echo_survives_among_several_secrets(echo: Callable[[str], str]) -> None:
    secrets = [KEY, ODD_KEY, "xoxb-1234-5678-AbCdEfGhIjKl", "8f14e45fceea167a5a36dedd4bea2543"]
    text = " | ".join(f"{i}: {echo(secret)}" for i, secret in enumerate(secrets))
    redacted = Redactor(secrets)(text)
    for secret in secrets:
        assert leftovers(secret, redacted) == []
    assert [part.split(": ")[0] for part in redacted.split(" | ")] == ["0", "1", "2", "3"]


def test_every_occurrence_is_redacted_and_the_rest_kept() -> None:
    text = f"a {KEY} b {KEY.upper()} c {b64(KEY)} d"
    assert redact(text, KEY) == "a [redacted] b [redacted] c [redacted] d"


def test_a_base64_blob_keeps_what_does_not_depend_on_the_key() -> None:
    blob = b64("Authorization: " + KEY)
    redacted = redact(f"header {blob}.", KEY)
    assert redacted == f"header {b64('Authorization: ')[:20]}[redacted]."
    assert base64.b64decode(b64("Authorization: ")[:20]) == b"Authorization: "


@pytest.mark.parametrize(
    "text",
    [
        "POST https://import.segmetrics.io/api/v1/4821/contact -> 200 in 12.3 ms (try 1)",
        "DELETE contact/jane%40example.com%2Fx -> 404",
        'body {"name": "Jos\\u00e9", "note": "a \\"quoted\\" word", "path": "a\\/b"}',
        "Basic " + b64("acct-1:some-other-key-0000"),
        "token " + b64(KEY[:-1] + "X"),  # one character off
        "sha " + "0f9e8d" * 10,
        "sk-test is our prefix, and SECRET is a word; 0f9e8d a hex id",
        "Amount: 12 € for İstanbul and ſ",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text, KEY) == text
    assert Redactor([KEY, ODD_KEY, SHORT])(text) == text


def test_a_short_secret_is_only_redacted_exactly() -> None:
    # Under 8 characters a secret's other forms are too short not to turn up in ordinary text.
    assert redact(f"the passage says pass, {SHORT}!", SHORT) == "the passage says pass, [redacted]!"
    for ordinary in ("pass", "pass12", "passes 123", SHORT.upper(), b64(SHORT), SHORT.encode().hex()):
        assert redact(ordinary, SHORT) == ordinary


def test_a_secret_inside_another_is_redacted_whole() -> None:
    longer = KEY + "-and-more"
    assert Redactor([KEY, longer])(f"x {longer} y {KEY} z") == "x [redacted] y [redacted] z"


def test_no_secrets_change_nothing() -> None:
    assert not Redactor([])
    assert not Redactor([""])
    assert Redactor([]).__call__(KEY) == KEY


def test_the_log_filter_redacts_every_form(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redaction")
    handler = logging.Handler()
    records: list[logging.LogRecord] = []
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(RedactFilter([KEY, "xoxb-1234-5678-AbCdEfGhIjKl", "short"]))
    logger.addHandler(handler)
    try:
        logger.warning("SegMetrics said %s and %s", KEY.upper(), {"auth": b64("acct-1:" + KEY)})
        try:
            raise ValueError(f"bad token {quote(KEY)} / {unicode_escaped('xoxb-1234-5678-AbCdEfGhIjKl')}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records[0].getMessage() == "SegMetrics said [redacted] and {'auth': 'YWNjdC0xOn[redacted]'}"
    assert records[1].exc_text is not None and "bad token [redacted] / [redacted]" in records[1].exc_text
    for record in records:
        assert leftovers(KEY, record.getMessage() + (record.exc_text or "")) == []


def test_the_log_filter_keeps_ignoring_very_short_secrets() -> None:
    # As before: a secret under 6 characters would wipe ordinary words from every line.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "an abc and %s", ("abcd",), None)
    RedactFilter(["abcd"]).filter(record)
    assert record.getMessage() == "an abc and abcd"


@pytest.mark.parametrize("secret", [KEY, ODD_KEY], ids=["plain key", "odd key"])
@pytest.mark.parametrize(
    "text",
    [
        "\\" * 50_000 + "\\u0073",
        "s" * 50_000 + "\\" * 50_000 + "u0073",
        '\\"' * 50_000,
        "%25" * 50_000 + "%73",
        "\\u0073" * 50_000,
        "%73" * 50_000,
        "c2st" * 50_000,
    ],
    ids=["backslashes", "s then backslashes", "escaped quotes", "%25s", "escaped s", "%73s", "base64-ish"],
)
def test_a_long_hostile_text_takes_linear_time(secret: str, text: str) -> None:
    # The text is anyone's (a Slack message, a server's answer): no run of it may make the engine try every
    # length at every position.
    started = time.perf_counter()
    redact(text, secret)
    assert time.perf_counter() - started < 1.0


# The fast path (a few literals looked for before the expression runs) must never miss what the expression
# alone would find.
_SECRETS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=8, max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    secret=_SECRETS,
    echo=st.sampled_from(list(ECHOES.values())),
    before=st.binary(max_size=5),
    after=st.binary(max_size=5),
    noise=st.text(max_size=20),
)
def test_any_secret_is_redacted_in_any_form(
    secret: str, echo: Callable[[str], str], before: bytes, after: bytes, noise: str
) -> None:
    redactor = Redactor([secret])
    assert leftovers(secret, redactor(f"{noise}{echo(secret)}{noise}")) == []
    blob = b64(before + secret.encode() + after)
    assert not any(core in redactor(f"{noise} {blob} {noise}") for core in base64_cores(secret.encode()))


@settings(max_examples=300, deadline=None)
@given(
    secret=_SECRETS,
    pieces=st.lists(
        st.one_of(
            st.text(max_size=8),
            st.sampled_from(["%", "%2", "%2F", "\\", "\\u00", "+", " ", "İ", "ſ", "ı", "="]),
            st.sampled_from(list(ECHOES.values())),
        ),
        max_size=8,
    ),
)
def test_the_fast_path_finds_what_the_expression_finds(secret: str, pieces: list[object]) -> None:
    text = "".join(piece(secret) if callable(piece) else str(piece) for piece in pieces)
    redactor = Redactor([secret])
    (compiled,) = redactor._secrets
    assert redactor(text) == compiled.pattern.sub(REDACTED, text)
