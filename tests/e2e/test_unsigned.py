"""Garbage at the request URL: refused before anything parses it, quietly (one log line, no traceback), and
only a well-formed signed request reaches Bolt."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.sandbox import Sandbox
from bot.slack.server import HttpService
from tests.e2e.conftest import SIGNING_SECRET, Slack

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
INVALID_UTF8 = b"text=\xff\xfe\xc3(caf\xe9"

# (body, content type): each made a 500 with a traceback when Bolt parsed it before checking the signature.
GARBAGE = {
    "payload-not-an-object": (b"payload=%22x%22", FORM),
    "broken-json": (b"{x", JSON),
    "json-list": (b"[1,2]", JSON),
    "invalid-utf8": (INVALID_UTF8, FORM),
}


def slack_signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's signature of the raw bytes (SignatureVerifier only signs text that is valid UTF-8)."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


async def send(
    slack: Slack,
    body: bytes,
    *,
    content_type: str = FORM,
    timestamp: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    headers: dict[str, str | bytes] = {"Content-Type": content_type}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp.encode()
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    return await slack.http.post(f"{slack.url}/slack/events", content=body, headers=headers)


def server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records the bot's side logged (httpx logs each of the test's own requests)."""
    return [record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))]


def assert_quiet(caplog: pytest.LogCaptureFixture, body: bytes = b"") -> None:
    """At most one log line for a refused request, below ERROR, without a traceback, echoing neither the body
    nor the secret."""
    records = server_records(caplog)
    assert len(records) <= 1, [record.getMessage() for record in records]
    for record in records:
        message = record.getMessage()
        assert record.levelno <= logging.WARNING, message
        assert record.exc_info is None and record.exc_text is None, message
        assert SIGNING_SECRET not in message and "Traceback" not in message
        assert not body or body.decode("utf-8", "replace")[:20] not in message, message


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
@pytest.mark.parametrize("headers", ["none", "forged", "stale"])
async def test_unsigned_garbage_is_a_quiet_401(
    slack: Slack, sandbox: Sandbox, logs: pytest.LogCaptureFixture, garbage: str, headers: str
) -> None:
    body, content_type = GARBAGE[garbage]
    now = str(int(time.time()))
    logs.clear()
    if headers == "none":
        response = await send(slack, body, content_type=content_type)
    elif headers == "forged":
        forged = slack_signature(body, now, secret="not-the-secret")
        response = await send(slack, body, content_type=content_type, timestamp=now, signature=forged)
    else:
        stale = str(int(time.time()) - 600)
        signed = slack_signature(body, stale)
        response = await send(slack, body, content_type=content_type, timestamp=stale, signature=signed)
    assert response.status_code == 401
    assert len(response.content) < 100
    assert body not in response.content
    assert_quiet(logs, body)
    assert sandbox.requests == []


# Each is signed with the very timestamp it carries: only the timestamp is wrong. The ones made of the current time
# are what int() (inside SignatureVerifier) would take as now.
TIMESTAMPS: dict[str, Callable[[int], str]] = {
    "letters": lambda now: "abc",
    "float": lambda now: "1.5",
    "now-as-float": lambda now: f"{now}.0",
    "400-digits": lambda now: "9" * 400,
    "negative": lambda now: "-1",
    "plus-sign": lambda now: f"+{now}",
    "underscores": lambda now: f"{now:_}",
    "arabic-digits": lambda now: str(now).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
    "empty": lambda now: "",
    "future": lambda now: str(now + 600),
}


@pytest.mark.parametrize("kind", list(TIMESTAMPS))
async def test_a_timestamp_that_is_not_a_plain_recent_integer_is_a_quiet_401(
    slack: Slack, sandbox: Sandbox, logs: pytest.LogCaptureFixture, kind: str
) -> None:
    timestamp = TIMESTAMPS[kind](int(time.time()))
    body = slack.command_body("contact add jane@example.com").encode()
    logs.clear()
    # Signed with that very timestamp: only the timestamp is wrong.
    response = await send(slack, body, timestamp=timestamp, signature=slack_signature(body, timestamp))
    assert response.status_code == 401
    assert_quiet(logs, body)
    assert sandbox.requests == []


@pytest.mark.parametrize("signature", ["", "v0=" + "é" * 64, "v1=" + "0" * 64, "v0=zz", "garbage"])
async def test_a_malformed_signature_header_is_a_quiet_401(
    slack: Slack, logs: pytest.LogCaptureFixture, signature: str
) -> None:
    body = slack.command_body("help").encode()
    logs.clear()
    response = await slack.http.post(
        f"{slack.url}/slack/events",
        content=body,
        headers={
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": signature.encode(),
        },
    )
    assert response.status_code == 401
    assert_quiet(logs, body)


async def test_a_repeated_signature_header_is_refused(slack: Slack, logs: pytest.LogCaptureFixture) -> None:
    """Bolt reads the last of repeated headers, aiohttp the first: a request carrying two is not Slack's."""
    body = slack.command_body("help").encode()
    now = str(int(time.time()))
    logs.clear()
    response = await slack.http.post(
        f"{slack.url}/slack/events",
        content=body,
        headers=[
            ("Content-Type", FORM),
            ("X-Slack-Request-Timestamp", now),
            ("X-Slack-Signature", slack_signature(body, now)),
            ("X-Slack-Signature", "v0=" + "0" * 64),
        ],
    )
    assert response.status_code == 401
    assert_quiet(logs, body)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%22x%22", FORM),
        (b"payload=%5B1%2C2%5D", FORM),
        (b"payload=%7Bx", FORM),
        (b"payload=null", FORM),
        (b"{x", JSON),
        (b"{x", FORM),
        (b"[1,2]", JSON),
        (b'"x"', JSON),
        (b"[" * 100_000, JSON),
    ],
    ids=[
        "payload-string",
        "payload-list",
        "payload-broken",
        "payload-null",
        "broken-json",
        "broken-json-as-form",
        "json-list",
        "json-string",
        "json-too-deep",
    ],
)
async def test_signed_garbage_is_a_quiet_400(
    slack: Slack, sandbox: Sandbox, logs: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    logs.clear()
    response = await slack.post(body.decode(), content_type=content_type)
    assert response.status_code == 400
    assert len(response.content) < 100
    assert_quiet(logs, body)
    assert sandbox.requests == []


async def test_a_signed_body_that_is_not_utf8_is_refused_quietly(
    slack: Slack, sandbox: Sandbox, logs: pytest.LogCaptureFixture
) -> None:
    """Slack's bodies are always UTF-8, and slack_sdk's SignatureVerifier can only check UTF-8 text: signed or
    not, such a body cannot be verified, so it is refused as unauthenticated."""
    now = str(int(time.time()))
    logs.clear()
    response = await send(slack, INVALID_UTF8, timestamp=now, signature=slack_signature(INVALID_UTF8, now))
    assert response.status_code == 401
    assert_quiet(logs, INVALID_UTF8)
    assert sandbox.requests == []


async def test_a_charset_other_than_utf8_changes_nothing(slack: Slack, logs: pytest.LogCaptureFixture) -> None:
    """Slack signs and sends UTF-8; a charset parameter (even an unknown one) does not make the bot decode otherwise."""
    for charset in ("latin-1", "no-such-charset"):
        body = slack.command_body("help for contact — é")
        response = await slack.post(body, content_type=f"{FORM}; charset={charset}")
        assert response.status_code == 200, response.text
    assert not [record for record in server_records(logs) if record.levelno >= logging.ERROR]


async def test_a_well_formed_signed_request_still_works(slack: Slack, logs: pytest.LogCaptureFixture) -> None:
    response = await slack.command("help")
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"


async def test_without_a_signing_secret_everything_is_refused(
    slack: Slack, logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = slack.bot.settings.model_copy(update={"slack_signing_secret": None})
    monkeypatch.setattr(slack.bot, "settings", settings)
    service = HttpService(slack.bot, host="127.0.0.1", port=0)
    await service.start()
    try:
        logs.clear()
        body = slack.command_body("help")
        stamp = str(int(time.time()))
        response = await slack.http.post(
            f"http://127.0.0.1:{service.port}/slack/events",
            content=body,
            headers={
                "Content-Type": FORM,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body),
            },
        )
        assert response.status_code == 401
        assert_quiet(logs, body.encode())
    finally:
        await service._site.stop()


async def half_send(slack: Slack, *, signed: bool) -> None:
    """Headers announcing 1000 bytes, 10 of them, then the connection closed."""
    host, port = slack.url.removeprefix("http://").split(":")
    body = b"text=" + b"x" * 995
    stamp = str(int(time.time()))
    head = [
        "POST /slack/events HTTP/1.1",
        f"Host: {host}:{port}",
        f"Content-Type: {FORM}",
        f"Content-Length: {len(body)}",
    ]
    if signed:
        head += [f"X-Slack-Request-Timestamp: {stamp}", f"X-Slack-Signature: {slack_signature(body, stamp)}"]
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body[:10])
    await writer.drain()
    await asyncio.sleep(0.01)  # the server is reading the body now
    writer.close()
    await writer.wait_closed()


@pytest.mark.parametrize("signed", [True, False], ids=["signed-headers", "unsigned"])
async def test_a_client_leaving_mid_body_is_not_an_error(
    slack: Slack, caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    await asyncio.gather(*(half_send(slack, signed=signed) for _ in range(30)))
    await asyncio.sleep(0.3)  # the server notices the closed connections
    assert not [record for record in server_records(caplog) if record.levelno >= logging.ERROR or record.exc_info]
    ours = [record for record in caplog.records if record.name.startswith("segmetrics_slack")]
    assert len(ours) <= 30
    assert all(record.levelno <= logging.INFO for record in ours)
    # And the server keeps serving.
    response = await slack.command("help")
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
