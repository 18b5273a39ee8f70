"""`api <METHOD> <path> [<json body>] [header.<name>=<value>]`, typed as people type it: a body ends where its
JSON does, so keys may follow it; a header is refused for what is really wrong with it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.chat import format_command, parse_command
from bot.context import Context
from bot.problems import CommandError, InputError, InvalidValue
from bot.segmetrics.paths import check_header, check_header_value
from commands import REGISTRY


def request_for(text: str, ctx: Context, *, slack: bool = False) -> tuple[str, str, str, Any, dict[str, str]]:
    parsed = parse_command(text, REGISTRY, slack=slack)
    op = parsed.operation
    request = op.request(op.validate(parsed.raw, ctx), ctx)
    return request.method, request.api, request.path, request.json, dict(request.headers)


def refusals_of(text: str, ctx: Context) -> list[str]:
    parsed = parse_command(text, REGISTRY)
    with pytest.raises(InputError) as caught:
        parsed.operation.validate(parsed.raw, ctx)
    return [problem.message for problem in caught.value.errors]


SENT = [
    # a header after the body: the documented order
    (
        'api POST contact {"email": "a@b.com"} header.X-Source=slack',
        ("POST", "import", "contact", {"email": "a@b.com"}, {"X-Source": "slack"}),
    ),
    # ... and before it, as it always worked
    (
        'api POST contact header.X-Source=slack {"email": "a@b.com"}',
        ("POST", "import", "contact", {"email": "a@b.com"}, {"X-Source": "slack"}),
    ),
    # nested braces, and strings holding `}`, `]`, `=` and spaces: the JSON decides where the body ends
    (
        'api POST contact {"note": "a } b { c", "x": {"y": [1, {"z": "] header.X-No=1"}]}} header.X-Source=slack',
        (
            "POST",
            "import",
            "contact",
            {"note": "a } b { c", "x": {"y": [1, {"z": "] header.X-No=1"}]}},
            {"X-Source": "slack"},
        ),
    ),
    # curly quotes, as Slack clients type them, straightened to find the end too
    (
        "api POST contact {“email”: “a@b.com”, “tags”: [“VIP”]} header.X-Source=slack",
        ("POST", "import", "contact", {"email": "a@b.com", "tags": ["VIP"]}, {"X-Source": "slack"}),
    ),
    # curly quotes inside a straight-quoted string are text, not quotes
    (
        'api POST contact {"note": "she said “hi”"} header.X-Source=slack',
        ("POST", "import", "contact", {"note": "she said “hi”"}, {"X-Source": "slack"}),
    ),
    # the body, then two headers (one quoted, with spaces)
    (
        'api PUT contact {"email": "a@b.com"} header.X-Source=slack header.X-Note="from the sales channel"',
        (
            "PUT",
            "import",
            "contact",
            {"email": "a@b.com"},
            {"X-Source": "slack", "X-Note": "from the sales channel"},
        ),
    ),
    # headers on both sides of the body
    (
        'api PATCH contact header.X-Source=slack {"email": "a@b.com"} header.X-Request-Id=42',
        ("PATCH", "import", "contact", {"email": "a@b.com"}, {"X-Source": "slack", "X-Request-Id": "42"}),
    ),
    # an array body, then a header
    (
        'api POST tags/add [{"email": "a@b.com"}, {"email": "c@d.com"}] header.X-Source=slack',
        ("POST", "import", "tags/add", [{"email": "a@b.com"}, {"email": "c@d.com"}], {"X-Source": "slack"}),
    ),
    # a body spread over lines (Shift+Enter in Slack), the header on a line of its own
    (
        'api POST contact {\n  "email": "a@b.com",\n  "first_name": "A B"\n}\nheader.X-Source=slack',
        ("POST", "import", "contact", {"email": "a@b.com", "first_name": "A B"}, {"X-Source": "slack"}),
    ),
    # no body: a header alone, or nothing at all
    ("api GET contact header.X-Source=slack", ("GET", "import", "contact", None, {"X-Source": "slack"})),
    ("api DELETE invoice/INV-1", ("DELETE", "import", "invoice/INV-1", None, {})),
    # a body with nothing after it, as before
    ('api POST contact {"email": "a@b.com"}', ("POST", "import", "contact", {"email": "a@b.com"}, {})),
    # a tab is allowed in a header value
    ('api GET contact header.X-Note="a\tb"', ("GET", "import", "contact", None, {"X-Note": "a\tb"})),
]


@pytest.mark.parametrize(("text", "expected"), SENT, ids=[text[:60] for text, _ in SENT])
def test_what_is_typed_is_what_is_sent(text: str, expected: tuple[Any, ...], ctx: Context) -> None:
    assert request_for(text, ctx) == expected


def test_slack_escaping_is_undone_before_the_body_is_measured(ctx: Context) -> None:
    text = 'api POST contact {"note": "a &lt;b&gt; &amp; c"} header.X-Source=slack'
    assert request_for(text, ctx, slack=True) == (
        "POST",
        "import",
        "contact",
        {"note": "a <b> & c"},
        {"X-Source": "slack"},
    )


@pytest.mark.parametrize(
    "text",
    [
        'api POST contact {"email": "a@b.com"} header.X-Source=slack header.X-Note="two words"',
        'api POST contact header.X-Source=slack {"email": "a@b.com"}',
    ],
)
def test_a_form_hands_back_a_command_that_reads_the_same(text: str) -> None:
    parsed = parse_command(text, REGISTRY)
    assert parse_command(format_command(parsed.operation, parsed.raw), REGISTRY).raw == parsed.raw


# What follows a JSON document and is not a key leaves the whole rest as the body, as before: reading it
# then says what is wrong with it, at the right character.
NOT_JSON = [
    ('api POST contact {"email": "a@b.com"', "is not valid JSON (Expecting ',' delimiter at character 20)"),
    ('api POST contact {"a": 1}, "b": 2}', "is not valid JSON (Extra data at character 9)"),
    ('api POST contact {"a": 1} {"b": 2}', "is not valid JSON (Extra data at character 10)"),
    ('api POST contact {"a": 1} extra', "is not valid JSON (Extra data at character 10)"),
    ('api POST contact {"a": 1}header.X-Source=slack', "is not valid JSON (Extra data at character 9)"),
    ("api POST contact {broken header.X-Source=slack", "is not valid JSON (Expecting property name"),
    ("api POST contact {“a”: 1 header.X-Source=slack", "is not valid JSON"),
]


@pytest.mark.parametrize(("text", "says"), NOT_JSON, ids=[text[17:50] for text, _ in NOT_JSON])
def test_a_body_that_is_not_json_is_refused_for_its_json(text: str, says: str, ctx: Context) -> None:
    parsed = parse_command(text, REGISTRY)
    assert "headers" not in parsed.raw
    (message,) = refusals_of(text, ctx)
    assert message.startswith("JSON body (`body`) ")
    assert says in message


def test_a_word_after_the_headers_is_not_expected() -> None:
    with pytest.raises(CommandError, match="`extra` is not expected here"):
        parse_command('api POST contact {"a": 1} header.X-Source=slack extra', REGISTRY)


def test_a_body_on_a_read_is_still_refused_with_its_header_read(ctx: Context) -> None:
    assert refusals_of('api GET contact {"a": 1} header.X-Source=slack', ctx) == [
        "JSON body (`body`): cannot go with GET; use POST, PUT or PATCH. Example: `POST`"
    ]


REFUSED_HEADERS = [
    # the bot's own headers, each with what it carries
    ("header.Authorization=stolen", "the `Authorization` header is set by the bot (it carries the bot's SegMetrics"),
    ("header.authorization=stolen", "the `authorization` header is set by the bot"),
    ("header.Content-Type=text/plain", "the `Content-Type` header is set by the bot (it says the body is JSON)"),
    ("header.Host=evil.example.com", "the `Host` header is set by the bot (it names the SegMetrics Import API)"),
    ("header.User-Agent=me", "the `User-Agent` header is set by the bot (it names the bot)"),
    ("header.Accept=text/html", "the `Accept` header is set by the bot (it asks SegMetrics for JSON)"),
    # any other header is not the bot's: it is refused because only X-… headers can be added
    ("header.Foo=bar", "`Foo` is not an `X-…` header; only `X-…` headers can be added"),
    ("header.Cookie=session=1", "`Cookie` is not an `X-…` header; only `X-…` headers can be added"),
    ("header.X-=bar", "`X-` is only the prefix: name the header after it"),
    # values that cannot be sent
    ('header.X-Note="a\x00b"', "the value of `X-Note` holds a NUL character; a header value is one line"),
    ('header.X-Note="a\x1bb"', "the value of `X-Note` holds the control character U+001B"),
    ("header.X-Note=café", "the value of `X-Note` holds `é`, which a header cannot carry: header values are ASCII"),
]


@pytest.mark.parametrize(("header", "says"), REFUSED_HEADERS, ids=[header for header, _ in REFUSED_HEADERS])
@pytest.mark.parametrize("where", ["after the body", "before the body"])
def test_a_refused_header_says_why(header: str, says: str, where: str, ctx: Context) -> None:
    body = '{"email": "a@b.com"}'
    text = f"api POST contact {body} {header}" if where == "after the body" else f"api POST contact {header} {body}"
    (message,) = refusals_of(text, ctx)
    assert message.startswith("Extra headers (`headers`): ")
    assert says in message


@pytest.mark.parametrize("header", ["header.Foo=bar", "header.Cookie=a", "header.Forwarded=for=1.2.3.4"])
def test_a_header_the_bot_does_not_set_is_not_said_to_be_the_bots(header: str, ctx: Context) -> None:
    (message,) = refusals_of(f"api GET contact {header}", ctx)
    assert "set by the bot" not in message
    assert "only `X-…` headers can be added" in message


def test_every_problem_of_the_command_at_once(ctx: Context) -> None:
    messages = refusals_of("api POST contact {broken header.Foo=bar", ctx)
    assert len(messages) == 1  # the header is inside the unreadable body: nothing else to read
    messages = refusals_of('api POST https://evil.example.com/x {"a": 1} header.Foo=bar header.X-Note=café', ctx)
    assert [message.split(":")[0] for message in messages] == ["Path (`path`)", "Extra headers (`headers`)"]


# The same rules where the HTTP client checks a request again, and for what chat cannot type.
@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "a header needs a name"),
        ("X Source", "`X Source` has a space in it"),
        ("X/Source", "`X/Source` is not a header name: `/` cannot be in one"),
        ("X-Source:", "`X-Source:` is not a header name: `:` cannot be in one"),
        ("Transfer-Encoding", "set by the bot (it says how the body is sent)"),
    ],
)
def test_header_names(name: str, says: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_header(name)
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("a\rb", "holds a carriage return (CR)"),
        ("a\nb", "holds a line break (LF)"),
        ("a\x00b", "holds a NUL character"),
        ("a\x7fb", "holds the control character U+007F"),
        ("“quoted”", "holds `“`, which a header cannot carry"),
    ],
)
def test_header_values(value: str, says: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_header_value("X-Note", value)
    assert caught.value.message.startswith(f"the value of `X-Note` {says}")


def test_a_header_that_may_be_sent_is_returned_as_typed() -> None:
    assert check_header(" X-Request-Source ") == "X-Request-Source"
    assert check_header_value("X-Note", "slack, #sales (ok)") == "slack, #sales (ok)"
