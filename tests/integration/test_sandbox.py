"""The sandbox against its contract: real HTTP on a free port, plus the in-process httpx transport."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.sandbox import Fault, RecordedRequest, Sandbox, SandboxServer, sandbox_transport

KEY = "test-key-5f2a"
ACCOUNT = "acct-1"
INTEGRATION = "int-9"
IMPORT = f"/api/v1/{ACCOUNT}/{INTEGRATION}"
REPORTING = f"/reporting/{ACCOUNT}"
NOW = "2024-03-05 10:00:00"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox(api_key=KEY, account_id=ACCOUNT, integration_id=INTEGRATION)) as running:
        yield running


@pytest.fixture
def sandbox(server: SandboxServer) -> Sandbox:
    server.sandbox.reset()
    server.sandbox.latency = 0.0
    return server.sandbox


@pytest.fixture
def http(server: SandboxServer, sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": KEY}, timeout=2.0) as client:
        yield client


def post(http: httpx.Client, endpoint: str, body: Any) -> httpx.Response:
    return http.post(f"{IMPORT}/{endpoint}", json=body)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def errors(response: httpx.Response, status: int = 400) -> list[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    result: list[str] = body["errors"]
    return result


def invoice(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "inv-1",
        "email": "jane@example.com",
        "amount": 4999,
        "paid": 4999,
        "date_created": NOW,
        "items": [{"name": "Course", "product_id": "p-1", "amount": 4999}],
    }
    return {**body, **overrides}


def subscription(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "sub-1",
        "email": "jane@example.com",
        "amount": 2900,
        "product_id": "plan-pro",
        "name": "Pro plan",
        "start_date": NOW,
        "last_bill_date": NOW,
        "billing_cycle": "month",
        "frequency": 1,
    }
    return {**body, **overrides}


# -- auth and routing -------------------------------------------------------------------------------------


def test_wrong_key_is_401_and_the_key_is_never_echoed(http: httpx.Client) -> None:
    response = http.post(f"{IMPORT}/contact", json={"email": "a@x.com"}, headers={"Authorization": "nope"})
    assert errors(response, 401) == ["invalid API key"]
    missing = httpx.post(f"{http.base_url}{IMPORT}/contact", json={"email": "a@x.com"})
    assert errors(missing, 401) == ["invalid API key"]
    assert "nope" not in response.text


def test_wrong_account_integration_endpoint_and_method(http: httpx.Client) -> None:
    assert errors(http.post("/api/v1/other/int-9/contact", json={}), 403) == [
        "API key does not belong to account other"
    ]
    assert errors(http.get(f"{REPORTING.replace(ACCOUNT, 'other')}/contact/x"), 403) == [
        "API key does not belong to account other"
    ]
    assert errors(http.post(f"/api/v1/{ACCOUNT}/nope/contact", json={}), 404) == ["integration nope not found"]
    assert errors(post(http, "contacts", {}), 404) == ["no such endpoint"]
    assert errors(http.get("/elsewhere"), 404) == ["no such endpoint"]
    wrong = http.get(f"{IMPORT}/contact")
    assert errors(wrong, 405)
    assert wrong.headers["allow"] == "POST"
    assert errors(http.post(f"{IMPORT}/invoice/inv-1", json={}), 405)


def test_body_must_be_a_json_object(http: httpx.Client) -> None:
    assert errors(post(http, "contact", ["a"])) == ["body must be a JSON object"]
    garbage = http.post(f"{IMPORT}/contact", content=b"{not json", headers={"Content-Type": "application/json"})
    assert errors(garbage) == ["body must be a JSON object"]


def test_validation_lists_every_problem(http: httpx.Client, sandbox: Sandbox) -> None:
    assert errors(post(http, "invoice", {})) == [
        "missing 'id' field",
        "missing 'contact_id' or 'email' field",
        "missing 'amount' field",
        "missing 'paid' field",
        "missing 'date_created' field",
        "missing 'items' field",
    ]
    bad_invoice = invoice(
        amount=12.5, paid=True, tax=-1, date_created="2024-03-05", items=[{"name": "x", "amount": 100}]
    )
    assert errors(post(http, "invoice", bad_invoice)) == [
        "'amount' must be a whole number of cents",
        "'paid' must be a whole number of cents",
        "'tax' must be a whole number of cents",
        "'date_created' must be YYYY-MM-DD HH:MM:SS",
        "items[0] missing 'product_id' field",
    ]
    assert errors(post(http, "invoice", invoice(items=[]))) == ["'items' must be a non-empty list"]
    bad_subscription = subscription(billing_cycle="fortnight", frequency=0, quantity=0, end_date="soon")
    assert errors(post(http, "subscription", bad_subscription)) == [
        "'end_date' must be YYYY-MM-DD HH:MM:SS",
        "'billing_cycle' must be one of year, month, week, day",
        "'frequency' must be a positive whole number",
        "'quantity' must be a positive whole number",
    ]
    assert errors(post(http, "contact", {"email": "a@x.com", "status": "gone", "tags": [45]})) == [
        "'status' must be active or inactive",
        "unknown tag id 45",
    ]
    assert errors(post(http, "ad/performance", {"date": "05/03/2024"})) == [
        "missing 'ad' field",
        "missing 'spend' field",
        "'date' must be YYYY-MM-DD",
    ]
    assert errors(post(http, "product", {})) == ["missing 'id' field", "missing 'name' field"]
    assert sandbox.contacts() == []
    assert sandbox.invoice("inv-1") is None


# -- contacts and tags -----------------------------------------------------------------------------------


def test_contact_upsert_by_email_then_by_contact_id(http: httpx.Client, sandbox: Sandbox) -> None:
    created = ok(post(http, "contact", {"email": "jane@example.com", "first_name": "Jane"}))
    assert created == {"status": "success", "object": "contact", "id": "sbx-1"}
    ok(post(http, "contact", {"email": "JANE@example.com", "last_name": "Doe", "utm_source": "fb"}))
    [contact] = sandbox.contacts()
    assert contact["first_name"] == "Jane"
    assert contact["last_name"] == "Doe"
    assert contact["utm_source"] == "fb"
    assert contact["status"] == "active"
    assert len(contact["date_created"]) == len(NOW)

    ok(post(http, "contact", {"contact_id": "sbx-1", "email": "jane.doe@example.com", "status": "inactive"}))
    ok(post(http, "contact", {"contact_id": "crm-7", "email": "jane.doe@example.com", "last_updated": NOW}))
    assert len(sandbox.contacts()) == 2
    assert sandbox.contact("sbx-1")["email"] == "jane.doe@example.com"  # type: ignore[index]
    assert sandbox.contact("sbx-1")["status"] == "inactive"  # type: ignore[index]
    # By e-mail, the most recently updated contact wins, whatever last_updated says.
    assert sandbox.contact("jane.doe@example.com")["contact_id"] == "crm-7"  # type: ignore[index]
    assert sandbox.contact("crm-7")["last_updated"] == NOW  # type: ignore[index]


def test_tags_replace_on_upsert_and_change_with_add_and_remove(http: httpx.Client, sandbox: Sandbox) -> None:
    ok(post(http, "contact", {"contact_id": "c1", "tags": ["lead", "webinar"]}))
    assert sandbox.tag_names("c1") == ["lead", "webinar"]
    ok(post(http, "contact", {"contact_id": "c1", "tags": [{"name": "customer", "date": NOW}, 1]}))
    assert sandbox.tag_names("c1") == ["customer", "lead"]
    assert sandbox.contact("c1")["tags"][0] == {  # type: ignore[index]
        "tag_id": 3,
        "name": "customer",
        "date_created": NOW,
    }

    ok(post(http, "tags/add", {"contact_id": "c1", "tags": ["vip", "lead", 2]}))
    assert sandbox.tag_names("c1") == ["customer", "lead", "vip", "webinar"]
    ok(post(http, "tags/remove", {"contact_id": "c1", "tags": ["lead", {"id": 4}, "never-seen"]}))
    assert sandbox.tag_names("c1") == ["customer", "webinar"]
    assert "never-seen" not in sandbox.tag_registry()

    assert errors(post(http, "tags/add", {"contact_id": "c1", "tags": []})) == ["'tags' must be a non-empty list"]
    assert errors(post(http, "tags/add", {"email": "ghost@x.com", "tags": [99]})) == [
        "unknown tag id 99",
        "contact ghost@x.com not found",
    ]
    assert errors(post(http, "tags/remove", {})) == [
        "missing 'contact_id' or 'email' field",
        "missing 'tags' field",
    ]


def test_custom_fields_merge_and_null_removes(http: httpx.Client, sandbox: Sandbox) -> None:
    ok(post(http, "contact", {"contact_id": "c1", "custom_fields": {"plan": "pro", "seats": 3}}))
    ok(post(http, "contact", {"contact_id": "c1", "custom_fields": {"seats": None, "region": "EU"}}))
    assert sandbox.contact("c1")["custom_fields"] == {"plan": "pro", "region": "EU"}  # type: ignore[index]


def test_delete_by_email_removes_every_match_but_keeps_orders(http: httpx.Client, sandbox: Sandbox) -> None:
    ok(post(http, "contact", {"contact_id": "c1", "email": "jane@example.com"}))
    ok(post(http, "contact", {"contact_id": "c2", "email": "Jane@Example.com"}))
    ok(post(http, "contact", {"contact_id": "c3", "email": "other@example.com"}))
    ok(post(http, "invoice", invoice(contact_id="c1")))

    answer = ok(http.delete(f"{IMPORT}/contact/jane%40example.com"))
    assert answer == {"id": "jane@example.com", "status": "success", "object": "contact", "deleted": True}
    assert [c["contact_id"] for c in sandbox.contacts()] == ["c3"]
    assert sandbox.invoice("inv-1") is not None

    assert errors(http.delete(f"{IMPORT}/contact/jane%40example.com"), 404) == ["contact not found"]
    assert errors(http.delete(f"{IMPORT}/invoice/nope"), 404) == ["invoice not found"]
    assert errors(http.delete(f"{IMPORT}/subscription/nope"), 404) == ["subscription not found"]
    ok(http.delete(f"{IMPORT}/contact/c3"))
    assert sandbox.contacts() == []


def test_delete_invoice_and_subscription(http: httpx.Client, sandbox: Sandbox) -> None:
    ok(post(http, "invoice", invoice()))
    ok(post(http, "subscription", subscription()))
    assert ok(http.delete(f"{IMPORT}/invoice/inv-1"))["object"] == "invoice"
    assert ok(http.delete(f"{IMPORT}/subscription/sub-1")) == {
        "id": "sub-1",
        "status": "success",
        "object": "subscription",
        "deleted": True,
    }
    assert sandbox.invoice("inv-1") is None
    assert sandbox.subscription("sub-1") is None


def test_percent_encoded_segments_are_decoded_after_splitting(http: httpx.Client, sandbox: Sandbox) -> None:
    ok(post(http, "contact", {"email": "a+b@x.com", "first_name": "Plus"}))
    ok(post(http, "contact", {"contact_id": "team/42", "first_name": "Slash"}))

    found = ok(http.get(f"{REPORTING}/contact/a%2Bb%40x.com"))
    assert found["data"]["first_name"] == "Plus"
    assert ok(http.get(f"{REPORTING}/contact/team%2F42"))["data"]["first_name"] == "Slash"
    assert ok(http.delete(f"{IMPORT}/contact/a%2Bb%40x.com"))["id"] == "a+b@x.com"
    assert ok(http.delete(f"{IMPORT}/contact/team%2F42"))["id"] == "team/42"
    assert sandbox.contacts() == []
    assert sandbox.requests[-1].path == f"{IMPORT}/contact/team%2F42"


# -- orders, subscriptions, reporting ----------------------------------------------------------------------


def test_invoice_needs_a_known_contact_id_but_not_a_known_email(http: httpx.Client, sandbox: Sandbox) -> None:
    assert errors(post(http, "invoice", invoice(contact_id="12345"))) == ["contact 12345 not found"]
    assert ok(post(http, "invoice", invoice(discount=100, is_refunded=False))) == {
        "status": "success",
        "object": "invoice",
        "id": "inv-1",
    }
    stored = sandbox.invoice("inv-1")
    assert stored is not None
    assert stored["discount"] == 100
    assert stored["items"][0]["id"] == "inv-1-1"
    assert sandbox.product("p-1") == {"id": "p-1", "name": "Course"}


def test_reporting_lookup_with_extensions(http: httpx.Client, sandbox: Sandbox) -> None:
    ok(
        post(
            http,
            "contact",
            {
                "contact_id": "c1",
                "email": "jane@example.com",
                "first_name": "Jane",
                "tags": ["lead"],
                "custom_fields": {"plan": "pro"},
                "utm_source": "fb",
            },
        )
    )
    ok(post(http, "invoice", invoice(id="by-id", contact_id="c1", email=None)))
    ok(post(http, "invoice", invoice(id="by-mail", email="JANE@example.com", is_refunded=True)))
    ok(post(http, "invoice", invoice(id="someone-else", email="bob@example.com")))
    ok(post(http, "subscription", subscription(quantity=2)))
    ok(post(http, "subscription", subscription(id="sub-2", email="bob@example.com")))

    answer = ok(
        http.get(
            f"{REPORTING}/contact/jane%40example.com",
            params={
                "extend": "tags,orders,subscriptions,events",
            },
        )
    )
    data = answer["data"]
    assert data["contact_id"] == "c1"
    assert data["first_name"] == "Jane"
    assert data["last_name"] is None
    assert data["custom_fields"] == {"plan": "pro"}
    assert data["utm_source"] == "fb"
    assert [tag["name"] for tag in data["tags"]] == ["lead"]
    assert set(data["tags"][0]) == {"tag_id", "name", "date_created"}
    assert [order["order_id"] for order in data["orders"]] == ["by-id", "by-mail"]
    assert data["orders"][1] == {
        "order_id": "by-mail",
        "total": 4999,
        "total_paid": 4999,
        "is_refunded": True,
        "date_created": NOW,
        "line_items": [{"name": "Course", "product_id": "p-1", "amount": 4999}],
    }
    assert data["subscriptions"] == [
        {
            "subscription_id": "sub-1",
            "product_id": "plan-pro",
            "name": "Pro plan",
            "amount": 2900,
            "billing_cycle": "month",
            "frequency": 1,
            "quantity": 2,
            "start_date": NOW,
            "last_bill_date": NOW,
            "trial_end_date": None,
            "end_date": None,
            "canceled_date": None,
        }
    ]
    assert data["events"] == []

    plain = ok(http.get(f"{REPORTING}/contact/c1"))["data"]
    assert "tags" not in plain
    assert "orders" not in plain
    assert errors(http.get(f"{REPORTING}/contact/nobody%40example.com"), 404) == ["contact not found"]
    assert errors(http.get(f"{REPORTING}/report/leads"), 404) == ["no such endpoint"]


def test_ad_performance_upserts_by_ad_and_date(http: httpx.Client, sandbox: Sandbox) -> None:
    first = {
        "ad": {
            "id": "ad-1",
            "name": "Spring video",
            "adset": {"id": "set-1", "name": "Lookalikes"},
            "adcampaign": {"id": "camp-1", "name": "Spring sale"},
        },
        "spend": 1250,
        "clicks": 40,
        "impressions": 1000,
        "date": "2024-03-05",
    }
    ok(post(http, "ad/performance", first))
    ok(post(http, "ad/performance", {"ad": "ad-1", "spend": 1500, "clicks": 42, "date": "2024-03-05"}))
    ok(post(http, "ad/performance", {"ad": "ad-1", "spend": 10, "date": "2024-03-06"}))

    day = sandbox.ad_performance("ad-1", "2024-03-05")
    assert day is not None
    assert (day["spend"], day["clicks"], day["impressions"]) == (1500, 42, 1000)
    assert day["ad"] == {"id": "ad-1", "name": "Spring video", "adcampaign_id": "camp-1", "adset_id": "set-1"}
    assert day["adset"] == {"id": "set-1", "name": "Lookalikes", "adcampaign_id": "camp-1"}
    assert day["adcampaign"] == {"id": "camp-1", "name": "Spring sale"}
    assert sandbox.ad_performance("ad-1", "2024-03-06")["spend"] == 10  # type: ignore[index]

    ok(
        post(
            http,
            "ad/performance",
            {"ad": {"id": "ad-1", "name": "Renamed"}, "spend": 0, "date": "2024-03-06"},
        )
    )
    assert sandbox.ad("ad-1")["name"] == "Renamed"  # type: ignore[index]
    assert sandbox.ad("ad-1")["adset_id"] == "set-1"  # type: ignore[index]
    assert errors(post(http, "ad/performance", {"ad": {"name": "x"}, "spend": 1, "date": "2024-03-06"})) == [
        "ad missing 'id' field"
    ]


def test_product_upsert(http: httpx.Client, sandbox: Sandbox) -> None:
    ok(post(http, "product", {"id": 7, "name": "Course"}))
    ok(post(http, "product", {"id": "7", "name": "Course v2"}))
    assert sandbox.product(7) == {"id": "7", "name": "Course v2"}


# -- faults, latency, recording --------------------------------------------------------------------------


def test_fault_with_retry_after_counts_down(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=429, times=2, retry_after=2, method="POST", path_contains="/contact"))
    assert errors(http.get(f"{REPORTING}/contact/x"), 404) == ["contact not found"]
    for _ in range(2):
        limited = post(http, "contact", {"email": "a@x.com"})
        assert errors(limited, 429) == ["sandbox fault 429"]
        assert limited.headers["retry-after"] == "2"
    ok(post(http, "contact", {"email": "a@x.com"}))
    assert [r.status for r in sandbox.requests] == [404, 429, 429, 200]
    assert len(sandbox.contacts()) == 1


def test_fault_with_custom_body_does_not_touch_state(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=500, body={"message": "boom"}))
    response = post(http, "contact", {"email": "a@x.com"})
    assert response.status_code == 500
    assert response.json() == {"message": "boom"}
    assert "retry-after" not in response.headers
    assert sandbox.contacts() == []


def test_delay_fault_can_time_the_client_out(http: httpx.Client, server: SandboxServer, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=None, delay=0.15))
    started = time.monotonic()
    ok(post(http, "contact", {"email": "slow@x.com"}))
    assert time.monotonic() - started >= 0.15

    sandbox.add_fault(Fault(status=None, delay=1.0))
    with (
        httpx.Client(base_url=server.url, headers={"Authorization": KEY}, timeout=0.1) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post(f"{IMPORT}/contact", json={"email": "late@x.com"})
    # The write happened; only the answer was late.
    assert sandbox.contact("late@x.com") is not None


def test_disconnect_faults(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(disconnect=True))
    with pytest.raises(httpx.TransportError):
        post(http, "contact", {"email": "dropped@x.com"})
    assert sandbox.contacts() == []
    assert sandbox.requests[-1].status == 0

    sandbox.add_fault(Fault(status=None, disconnect=True))
    with pytest.raises(httpx.TransportError):
        post(http, "contact", {"email": "lost-answer@x.com"})
    assert sandbox.contact("lost-answer@x.com") is not None
    # The same client recovers on a fresh connection.
    ok(post(http, "contact", {"email": "after@x.com"}))


def test_latency_is_reported_to_the_adapters() -> None:
    sandbox = Sandbox(latency=0.25)
    sandbox.add_fault(Fault(status=None, delay=0.5))
    first = sandbox.handle("GET", "/reporting/sandbox/contact/x", "", {"Authorization": "sandbox-key"}, b"")
    second = sandbox.handle("GET", "/reporting/sandbox/contact/x", "", {"Authorization": "sandbox-key"}, b"")
    assert (first.status, first.delay) == (404, 0.75)
    assert (second.status, second.delay) == (404, 0.25)


def test_requests_are_recorded_with_everything(http: httpx.Client, sandbox: Sandbox) -> None:
    http.post(f"{IMPORT}/contact?x=1", json={"email": "a@x.com"})
    [recorded] = sandbox.requests
    assert recorded.method == "POST"
    assert recorded.path == f"{IMPORT}/contact"
    assert recorded.query == {"x": "1"}
    assert recorded.headers["authorization"] == KEY
    assert recorded.json == {"email": "a@x.com"}
    assert recorded.body == b'{"email":"a@x.com"}'
    assert recorded.status == 200


def test_wait_for_returns_a_match_or_times_out(http: httpx.Client, server: SandboxServer, sandbox: Sandbox) -> None:
    post(http, "contact", {"email": "early@x.com"})
    assert sandbox.wait_for(lambda r: r.json == {"email": "early@x.com"}, timeout=0.01).status == 200

    def later() -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": KEY}) as other:
            other.delete(f"{IMPORT}/invoice/inv-9")

    thread = threading.Thread(target=later)
    thread.start()
    found = sandbox.wait_for(lambda r: r.method == "DELETE", timeout=2.0)
    thread.join()
    assert (found.path, found.status) == (f"{IMPORT}/invoice/inv-9", 404)

    with pytest.raises(TimeoutError, match=r"POST /api/v1/acct-1/int-9/contact -> 200"):
        sandbox.wait_for(lambda r: r.method == "PUT", timeout=0.05)


# -- control endpoints -----------------------------------------------------------------------------------


def test_control_endpoints(server: SandboxServer, sandbox: Sandbox, http: httpx.Client) -> None:
    with httpx.Client(base_url=server.url, timeout=2.0) as control:
        faulted = control.post("/_sandbox/faults", json={"status": 503, "retry_after": 1.5, "method": "POST"})
        assert faulted.status_code == 200
        assert errors(control.post("/_sandbox/faults", json={"stauts": 500})) == ["unknown fault field 'stauts'"]
        assert errors(control.post("/_sandbox/faults", json={"times": 0})) == ["invalid fault field 'times'"]

        unavailable = post(http, "contact", {"email": "a@x.com", "note": KEY})
        assert unavailable.status_code == 503
        assert unavailable.headers["retry-after"] == "1.5"
        ok(post(http, "contact", {"email": "a@x.com", "note": KEY}))

        listed = control.get("/_sandbox/requests")
        assert listed.status_code == 200
        assert KEY not in listed.text
        assert [(r["method"], r["path"], r["status"]) for r in listed.json()] == [
            ("POST", f"{IMPORT}/contact", 503),
            ("POST", f"{IMPORT}/contact", 200),
        ]
        assert set(listed.json()[0]) == {"method", "path", "query", "json", "status"}
        assert listed.json()[0]["json"]["note"] == "[redacted]"

        assert control.post("/_sandbox/reset").status_code == 200
        assert sandbox.contacts() == []
        assert control.get("/_sandbox/requests").json() == []
        assert sandbox.requests == []
        assert errors(control.get("/_sandbox/reset"), 405)


# -- the in-process transport ----------------------------------------------------------------------------


async def test_in_process_transport_round_trip() -> None:
    sandbox = Sandbox()
    transport = sandbox_transport(sandbox)
    base = "http://sandbox.invalid"
    async with httpx.AsyncClient(
        transport=transport, base_url=base, headers={"Authorization": "sandbox-key"}
    ) as client:
        created = await client.post("/api/v1/sandbox/sandbox/contact", json={"email": "a+b@x.com", "tags": ["x"]})
        assert created.json() == {"status": "success", "object": "contact", "id": "sbx-1"}
        found = await client.get("/reporting/sandbox/contact/a%2Bb%40x.com", params={"extend": "tags"})
        assert found.json()["data"]["tags"][0]["name"] == "x"
        assert sandbox.requests[-1].path == "/reporting/sandbox/contact/a%2Bb%40x.com"
        assert sandbox.requests[-1].query == {"extend": "tags"}

        sandbox.add_fault(Fault(disconnect=True))
        with pytest.raises(httpx.RemoteProtocolError):
            await client.delete("/api/v1/sandbox/sandbox/contact/a%2Bb%40x.com")
        sandbox.add_fault(Fault(status=None, delay=5.0))
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/reporting/sandbox/contact/sbx-1", timeout=0.05)
        deleted = await client.delete("/api/v1/sandbox/sandbox/contact/a%2Bb%40x.com")
        assert deleted.json()["deleted"] is True


def test_server_stops_promptly_even_with_a_client_waiting(sandbox: Sandbox) -> None:
    other = SandboxServer(Sandbox(latency=10.0)).start()
    url = other.url
    failures: list[BaseException] = []

    def slow_call() -> None:
        try:
            httpx.get(f"{url}/reporting/sandbox/contact/x", headers={"Authorization": "sandbox-key"}, timeout=5)
        except httpx.HTTPError as exc:
            failures.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    other.sandbox.wait_for(lambda r: True, timeout=2.0)
    started = time.monotonic()
    other.stop()
    caller.join(timeout=2.0)
    assert time.monotonic() - started < 1.0
    assert not caller.is_alive()
    assert failures and isinstance(failures[0], httpx.TransportError)
    with pytest.raises(RuntimeError):
        _ = other.url


def test_recorded_request_is_frozen() -> None:
    recorded = RecordedRequest("GET", "/", {}, {}, b"", None, 200)
    with pytest.raises(AttributeError):
        recorded.status = 500  # type: ignore[misc]
