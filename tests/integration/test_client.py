"""The SegMetrics client against the sandbox over real HTTP: exact requests, errors, retries, secrecy."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx
import pytest
from pydantic import SecretStr

from bot.sandbox import Fault, Sandbox, SandboxServer
from bot.segmetrics.client import Credentials, SegMetricsClient
from bot.segmetrics.errors import (
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    NotFound,
    RateLimited,
    ServerError,
    TimedOut,
    UnexpectedResponse,
    UnsafeRequest,
)
from bot.segmetrics.retry import RetryPolicy
from tests.integration.conftest import API_KEY, RecordingSleep, make_client

BASE = "/api/v1/acct-1/int-9"
INVOICE = {
    "id": "INV-1",
    "email": "jane@example.com",
    "amount": 4999,
    "paid": 4999,
    "date_created": "2026-11-22 20:00:00",
    "items": [{"name": "Course", "product_id": "C-100", "amount": 4999}],
}
SUBSCRIPTION = {
    "id": "SUB-1",
    "email": "jane@example.com",
    "amount": 2900,
    "product_id": "PRO",
    "start_date": "2026-11-01 00:00:00",
    "last_bill_date": "2026-11-01 00:00:00",
    "billing_cycle": "month",
    "frequency": 1,
}


async def test_every_endpoint_sends_the_exact_request(client: SegMetricsClient, sandbox: Sandbox) -> None:
    await client.upsert_contact({"email": "jane+vip@example.com", "first_name": "Jane"})
    await client.add_tags({"email": "jane+vip@example.com", "tags": ["VIP"]})
    await client.remove_tags({"email": "jane+vip@example.com", "tags": ["VIP"]})
    await client.upsert_invoice(INVOICE)
    await client.upsert_subscription(SUBSCRIPTION)
    await client.record_ad_performance({"ad": "AD-1", "spend": 12050, "date": "2026-11-22"})
    await client.upsert_product("C-100", "Course")
    looked_up = await client.get_contact("jane+vip@example.com")
    await client.delete_invoice("INV-1")
    await client.delete_subscription("SUB-1")
    await client.delete_contact("jane+vip@example.com")

    seen = [(r.method, r.path, r.json) for r in sandbox.requests]
    assert seen == [
        ("POST", f"{BASE}/contact", {"email": "jane+vip@example.com", "first_name": "Jane"}),
        ("POST", f"{BASE}/tags/add", {"email": "jane+vip@example.com", "tags": ["VIP"]}),
        ("POST", f"{BASE}/tags/remove", {"email": "jane+vip@example.com", "tags": ["VIP"]}),
        ("POST", f"{BASE}/invoice", INVOICE),
        ("POST", f"{BASE}/subscription", SUBSCRIPTION),
        ("POST", f"{BASE}/ad/performance", {"ad": "AD-1", "spend": 12050, "date": "2026-11-22"}),
        ("POST", f"{BASE}/product", {"id": "C-100", "name": "Course"}),
        ("GET", "/reporting/acct-1/contact/jane%2Bvip@example.com", None),
        ("DELETE", f"{BASE}/invoice/INV-1", None),
        ("DELETE", f"{BASE}/subscription/SUB-1", None),
        ("DELETE", f"{BASE}/contact/jane%2Bvip@example.com", None),
    ]
    assert sandbox.requests[7].query == {"extend": "tags,orders,subscriptions"}
    assert looked_up.body["data"]["email"] == "jane+vip@example.com"
    for recorded in sandbox.requests:
        assert recorded.headers["authorization"] == API_KEY  # the bare key, no "Bearer"
        assert recorded.headers["user-agent"].startswith("segmetrics-slack/")
        if recorded.method == "POST":
            assert recorded.headers["content-type"] == "application/json"


async def test_raw_request_resolves_paths_under_the_import_api(client: SegMetricsClient, sandbox: Sandbox) -> None:
    await client.request("POST", "contact", json={"email": "a@b.com"}, headers={"X-Source": "slack"})
    await client.request(
        "POST", "/v1/{account_id}/{integration_id}/tags/add?x=1", json={"email": "a@b.com", "tags": ["VIP"]}
    )
    assert [(r.method, r.path, r.query) for r in sandbox.requests] == [
        ("POST", f"{BASE}/contact", {}),
        ("POST", f"{BASE}/tags/add", {"x": "1"}),
    ]
    assert sandbox.requests[0].headers["x-source"] == "slack"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("https://evil.example.com/api/v1/x", {}),
        ("//evil.example.com/x", {}),
        ("../../other/contact", {}),
        ("contact", {"Authorization": "mine"}),
        ("contact", {"host": "evil.example.com"}),
    ],
)
async def test_raw_request_never_leaves_the_import_api(
    client: SegMetricsClient, sandbox: Sandbox, path: str, headers: dict[str, str]
) -> None:
    with pytest.raises(UnsafeRequest):
        await client.request("GET", path, headers=headers)
    assert sandbox.requests == []


async def test_bad_request_carries_the_api_errors_and_is_not_retried(
    client: SegMetricsClient, sandbox: Sandbox
) -> None:
    with pytest.raises(BadRequest) as caught:
        await client.upsert_invoice({"email": "jane@example.com"})
    error = caught.value
    assert error.status_code == 400
    assert "missing 'id' field" in error.errors
    assert str(error).startswith("SegMetrics rejected the request: ")
    assert "missing 'id' field" in str(error)
    assert len(sandbox.requests) == 1


async def test_a_200_saying_error_is_an_error(client: SegMetricsClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=200, body={"status": "error", "errors": ["duplicate line item id"]}))
    with pytest.raises(BadRequest, match="duplicate line item id") as caught:
        await client.upsert_invoice(INVOICE)
    assert caught.value.status_code == 200


async def test_wrong_key_is_an_authentication_error(server: SandboxServer, sandbox: Sandbox) -> None:
    async with make_client(server, key="wrong-key") as client:
        with pytest.raises(AuthenticationFailed) as caught:
            await client.upsert_contact({"email": "a@b.com"})
    assert "SEGMETRICS_API_KEY" in str(caught.value)
    assert "wrong-key" not in str(caught.value)
    assert len(sandbox.requests) == 1


async def test_not_found(client: SegMetricsClient) -> None:
    with pytest.raises(NotFound, match="HTTP 404"):
        await client.delete_invoice("NOPE")


async def test_server_errors_are_retried_until_they_pass(
    client: SegMetricsClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(Fault(status=503, times=2))
    response = await client.upsert_contact({"email": "a@b.com"})
    assert response.attempts == 3
    assert len(sandbox.requests) == 3
    assert len(sleeps.waits) == 2
    assert sleeps.waits[1] >= 0.01  # the second backoff is at least half of 2 × base_delay


async def test_rate_limits_honour_retry_after(
    client: SegMetricsClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(Fault(status=429, times=1, retry_after=2))
    response = await client.upsert_contact({"email": "a@b.com"})
    assert response.status_code == 200
    assert sleeps.waits == [2.0]


async def test_retry_after_beyond_the_budget_gives_up_at_once(server: SandboxServer, sandbox: Sandbox) -> None:
    sleeps = RecordingSleep()
    async with make_client(server, sleeps, retry=RetryPolicy(max_attempts=4, budget=5)) as client:
        sandbox.add_fault(Fault(status=429, times=5, retry_after=60))
        with pytest.raises(RateLimited) as caught:
            await client.upsert_contact({"email": "a@b.com"})
    assert sleeps.waits == []
    assert caught.value.retry_after == 60
    assert "try again in 60 s" in str(caught.value)


async def test_persistent_server_errors_give_up_after_max_attempts(client: SegMetricsClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=500, times=10))
    with pytest.raises(ServerError) as caught:
        await client.upsert_contact({"email": "a@b.com"})
    assert len(sandbox.requests) == 4
    assert caught.value.attempts == 4
    assert "server error (HTTP 500) (tried 4 times" in str(caught.value)
    assert "repeating is safe" in str(caught.value)


async def test_a_dropped_connection_is_retried(client: SegMetricsClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=None, disconnect=True, times=1))
    response = await client.upsert_contact({"email": "a@b.com"})
    assert response.attempts == 2


async def test_connection_refused(sleeps: RecordingSleep) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SegMetricsClient(
        Credentials(SecretStr(API_KEY), "acct-1", "int-9"),
        import_url=f"http://127.0.0.1:{port}/api/v1",
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, budget=5),
        sleep=sleeps,
    )
    async with client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.upsert_contact({"email": "a@b.com"})
    assert caught.value.attempts == 3
    assert "connection refused" in str(caught.value)
    assert "tried 3 times" in str(caught.value)


async def test_timeouts(server: SandboxServer, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=None, delay=1.0, times=2))
    retry = RetryPolicy(max_attempts=2, base_delay=0.01, budget=5)
    async with make_client(server, RecordingSleep(), timeout=0.2, retry=retry) as client:
        with pytest.raises(TimedOut) as caught:
            await client.upsert_contact({"email": "a@b.com"})
    assert "did not answer within 0.2 s (tried 2 times" in str(caught.value)


async def test_the_key_never_leaks_into_errors_or_logs(
    server: SandboxServer, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[Exception] = []
    sandbox.add_fault(Fault(status=400, body={"status": "error", "errors": [f"bad key {API_KEY}"]}))
    sandbox.add_fault(Fault(status=503, times=10, body={"status": "error", "errors": [f"echo {API_KEY}"]}))
    async with make_client(server, RecordingSleep()) as client:
        assert API_KEY not in repr(client)
        assert API_KEY not in repr(client.credentials)
        for call in (client.upsert_contact, client.upsert_contact):
            try:
                await call({"email": "a@b.com"})
            except Exception as error:
                errors.append(error)
        try:
            await client.request("GET", "https://evil.example.com/")
        except Exception as error:
            errors.append(error)
    assert len(errors) == 3
    assert "bad key [redacted]" in str(errors[0])
    for error in errors:
        assert API_KEY not in str(error)
        assert API_KEY not in repr(error)
        assert API_KEY not in " ".join(getattr(error, "errors", []))
    assert caplog.records, "the client logs its calls"
    assert API_KEY not in caplog.text
    assert API_KEY not in json.dumps([record.getMessage() for record in caplog.records])


async def test_a_success_status_without_segmetrics_json_is_an_error(server: SandboxServer) -> None:
    # A mistyped URL that lands on a web page must not confirm writes that never happened.
    def web_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Welcome</html>", headers={"Content-Type": "text/html"})

    client = SegMetricsClient(
        Credentials(SecretStr(API_KEY), "acct-1", "int-9"), transport=httpx.MockTransport(web_page)
    )
    async with client:
        with pytest.raises(UnexpectedResponse) as caught:
            await client.upsert_contact({"email": "a@b.com"})
    assert str(caught.value) == (
        "SegMetrics answered HTTP 200 with text/html instead of its JSON, so nothing can be confirmed: "
        "whoever runs the bot should check SEGMETRICS_IMPORT_URL."
    )


async def test_a_key_echoed_in_a_success_body_is_scrubbed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "seen": {"auth": request.headers["Authorization"]}})

    async with SegMetricsClient(
        Credentials(SecretStr(API_KEY), "acct-1", "int-9"), transport=httpx.MockTransport(echo)
    ) as client:
        response = await client.request("POST", "contact", json={})
    assert response.body == {"status": "success", "seen": {"auth": "[redacted]"}}


async def test_retries_stay_within_the_budget(
    server: SandboxServer, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.segmetrics.client as client_module

    monkeypatch.setattr(client_module, "MIN_USEFUL_TRY", 0.1)
    sandbox.add_fault(Fault(status=None, delay=2.0, times=5))
    retry = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.01, budget=0.8)
    async with make_client(server, timeout=0.5, retry=retry) as client:
        started = time.monotonic()
        with pytest.raises(TimedOut) as caught:
            await client.upsert_contact({"email": "a@b.com"})
        elapsed = time.monotonic() - started
    # Two tries: 0.5 s, then what was left of the 0.8 s budget — not a second full 0.5 s.
    assert caught.value.attempts == 2
    assert elapsed < 0.95


@pytest.mark.parametrize("header", ["Content-Type", "Accept", "User-Agent", "Cookie"])
async def test_only_x_headers_can_be_added(client: SegMetricsClient, sandbox: Sandbox, header: str) -> None:
    with pytest.raises(UnsafeRequest, match="only `X-…` headers can be added"):
        await client.request("POST", "contact", json={}, headers={header: "x"})
    assert sandbox.requests == []


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "line\nbreak", "caf\u00e9", "nul\x00"])
async def test_a_header_value_that_could_add_a_header_is_refused_by_the_client(
    client: SegMetricsClient, sandbox: Sandbox, value: str
) -> None:
    # Whatever surface built the request: the client checks the value again before anything is sent.
    with pytest.raises(UnsafeRequest, match="Refused the header 'X-Trace'"):
        await client.request("POST", "contact", json={}, headers={"X-Trace": value})
    assert sandbox.requests == []


async def test_encoded_echoes_of_the_key_never_reach_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    # A server that echoes the Authorization header it received, base64-encoded (alone and inside longer
    # blobs, at each byte offset) and in other cases, as some APIs' error bodies do.
    import base64
    from urllib.parse import quote

    from aiohttp import web

    from bot.secrets import base64_cores

    received: list[str] = []

    async def echo(request: web.Request) -> web.Response:
        auth = request.headers["Authorization"]
        received.append(auth)
        return web.json_response(
            {
                "status": "error",
                "errors": [
                    f"invalid key {base64.b64encode(auth.encode()).decode()}",
                    f"INVALID KEY {auth.upper()}",
                    f"credentials {base64.b64encode(f'acct-1:{auth}'.encode()).decode()} refused",
                    f"header {base64.urlsafe_b64encode(f'Authorization: {auth}'.encode()).decode().rstrip('=')}",
                    f"token {base64.b64encode(f'ab{auth};v=1'.encode()).decode()}",
                ],
                "detail": {"lower": auth.lower(), "hex": auth.encode().hex().upper(), "url": quote(auth)},
            },
            status=400,
        )

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1"
    caplog.set_level(logging.DEBUG)
    try:
        async with SegMetricsClient(
            Credentials(SecretStr(API_KEY), "acct-1", "int-9"), import_url=url, reporting_url=url
        ) as client:
            with pytest.raises(BadRequest) as caught:
                await client.upsert_contact({"email": "a@b.com"})
    finally:
        await runner.cleanup()

    assert received == [API_KEY]  # the echoes were of the real key
    error = caught.value
    assert len(error.errors) == 5 and all("[redacted]" in reason for reason in error.errors)
    assert error.errors[2].startswith("credentials YWNjdC0xO") and error.errors[2].endswith(" refused")
    everything = " ".join([str(error), repr(error), error.reason, *error.errors, json.dumps(error.body), caplog.text])
    forms = [
        API_KEY,
        API_KEY.upper(),
        API_KEY.lower(),
        API_KEY.encode().hex(),
        API_KEY.encode().hex().upper(),
        base64.b64encode(API_KEY.encode()).decode(),
        *base64_cores(API_KEY.encode()),
    ]
    assert [form for form in forms if form in everything] == []
