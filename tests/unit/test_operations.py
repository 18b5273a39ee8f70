"""Each declaration: chat text → the exact SegMetrics request, for a typical and a maximal input.

Fixed now: Monday 2026-11-23 10:30 in New York (15:30 UTC); the API zone is UTC.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.changes import apply
from bot.chat import parse_command
from bot.context import Context
from bot.problems import InputError
from commands import REGISTRY
from tests.conftest import make_context


def request_for(text: str, ctx: Context) -> tuple[str, str, str, Any]:
    parsed = parse_command(text, REGISTRY, slack=True)
    op = parsed.operation
    data = op.validate(parsed.raw, ctx)
    if op.changes is not None:
        # A change of the record the first case of its upsert made.
        base_text = next(text for text, _ in CASES if parse_command(text, REGISTRY).operation is op.changes)
        known = request_for(base_text, ctx)[3]
        data = apply(op, data, known, ctx, REGISTRY.editor(op.changes))
    request = op.request(data, ctx)
    return request.method, request.api, request.path, request.json


FIRST_ORDER = {
    "id": "INV-1001",
    "email": "jane@example.com",
    "amount": 4999,
    "paid": 4999,
    "date_created": "2026-11-23 15:30:00",
    "items": [{"name": "Course", "product_id": "C-100", "amount": 4999}],
}
FIRST_SUBSCRIPTION = {
    "id": "SUB-1",
    "email": "jane@example.com",
    "amount": 2900,
    "product_id": "PRO-M",
    "start_date": "2026-11-01 04:00:00",
    "billing_cycle": "month",
    "frequency": 1,
    "last_bill_date": "2026-11-01 04:00:00",
    "quantity": 1,
}

CASES: list[tuple[str, tuple[str, str, str, Any]]] = [
    # contact add/update
    ("contact add jane@example.com", ("POST", "import", "contact", {"email": "jane@example.com"})),
    (
        "contact update 12345 email=Jane@Example.COM first=Jane last=O’Brien status=Inactive "
        'created="2026-01-15 09:30" updated="today 9am" tags="VIP, Webinar 2026, id:45" '
        "field.plan=Pro field.old_field= utm_source=facebook medium=cpc campaign=bf-2026 content=video-2 "
        'term="marketing course" referrer=<https://google.com|google.com> optin=example.com/webinar '
        "ip=203.0.113.7 affiliate=AFF-42 lat=40.7128 lon=-74.0060",
        (
            "POST",
            "import",
            "contact",
            {
                "email": "Jane@example.com",
                "contact_id": "12345",
                "first_name": "Jane",
                "last_name": "O’Brien",
                "status": "inactive",
                "date_created": "2026-01-15 14:30:00",
                "last_updated": "2026-11-23 14:00:00",
                "tags": [{"name": "VIP"}, {"name": "Webinar 2026"}, {"id": 45}],
                "custom_fields": {"plan": "Pro", "old_field": None},
                "utm_source": "facebook",
                "utm_medium": "cpc",
                "utm_campaign": "bf-2026",
                "utm_content": "video-2",
                "utm_term": "marketing course",
                "referring_url": "https://google.com",
                "optin_url": "https://example.com/webinar",
                "ip_address": "203.0.113.7",
                "affiliate_id": "AFF-42",
                "geo_lat": 40.7128,
                "geo_lon": -74.006,
            },
        ),
    ),
    ("contact deactivate 12345", ("POST", "import", "contact", {"contact_id": "12345", "status": "inactive"})),
    # contact delete and look-up: path segments percent-encoded
    ("contact delete jane+vip@example.com", ("DELETE", "import", "contact/jane%2Bvip@example.com", None)),
    ("contact delete ext/42", ("DELETE", "import", "contact/ext%2F42", None)),
    ("contact show jane@example.com", ("GET", "reporting", "contact/jane@example.com", None)),
    # tags
    (
        "tag add jane@example.com VIP",
        ("POST", "import", "tags/add", {"email": "jane@example.com", "tags": ["VIP"]}),
    ),
    (
        'tag add 12345 VIP "Webinar 2026" VIP, Trial',
        ("POST", "import", "tags/add", {"contact_id": "12345", "tags": ["VIP", "Webinar 2026", "Trial"]}),
    ),
    (
        "tag remove 12345 id:45 id:46",
        ("POST", "import", "tags/remove", {"contact_id": "12345", "tags": [45, 46]}),
    ),
    # orders
    (
        'order add INV-1001 jane@example.com amount=$49.99 item="Course | C-100 | $49.99"',
        (
            "POST",
            "import",
            "invoice",
            {
                "id": "INV-1001",
                "email": "jane@example.com",
                "amount": 4999,
                "paid": 4999,
                "date_created": "2026-11-23 15:30:00",
                "items": [{"name": "Course", "product_id": "C-100", "amount": 4999}],
            },
        ),
    ),
    (
        "order add INV-1002 12345 total=1,242.75 paid=1000 date=“yesterday 3pm” refunded=yes discount=$10 "
        'tax=8.25 shipping=0 item="Course | C-100 | 1,000" item="Coaching call | CALL-1 | 244.50 | SUB-9"',
        (
            "POST",
            "import",
            "invoice",
            {
                "id": "INV-1002",
                "contact_id": "12345",
                "amount": 124275,
                "paid": 100000,
                "date_created": "2026-11-22 20:00:00",
                "items": [
                    {"name": "Course", "product_id": "C-100", "amount": 100000},
                    {"name": "Coaching call", "product_id": "CALL-1", "amount": 24450, "subscription_id": "SUB-9"},
                ],
                "is_refunded": True,
                "discount": 1000,
                "tax": 825,
                "shipping": 0,
            },
        ),
    ),
    (
        'order add INV-1003 jane@example.com total=99 product_id=PRO product_name="Pro plan"',
        (
            "POST",
            "import",
            "invoice",
            {
                "id": "INV-1003",
                "email": "jane@example.com",
                "amount": 9900,
                "paid": 9900,
                "date_created": "2026-11-23 15:30:00",
                "items": [{"name": "Pro plan", "product_id": "PRO", "amount": 9900}],
            },
        ),
    ),
    ("order delete INV/1001", ("DELETE", "import", "invoice/INV%2F1001", None)),
    # changes of the first order above, as the bot sent it
    (
        "order update INV-1001 jane@example.com refunded=yes",
        ("POST", "import", "invoice", {**FIRST_ORDER, "is_refunded": True}),
    ),
    ("order refund INV-1001 $9.99", ("POST", "import", "invoice", {**FIRST_ORDER, "paid": 4000, "is_refunded": True})),
    # subscriptions
    (
        "subscription add SUB-1 jane@example.com amount=29 product=PRO-M start=2026-11-01 cycle=monthly",
        (
            "POST",
            "import",
            "subscription",
            {
                "id": "SUB-1",
                "email": "jane@example.com",
                "amount": 2900,
                "product_id": "PRO-M",
                "start_date": "2026-11-01 04:00:00",
                "billing_cycle": "month",
                "frequency": 1,
                "last_bill_date": "2026-11-01 04:00:00",
                "quantity": 1,
            },
        ),
    ),
    (
        'subscription add SUB-2 12345 price=290 product_id=PRO-Y name="Pro yearly" start="Jan 1 2026" '
        'every=year frequency=2 last_bill="2026-01-01" qty=3 trial=2027-01-15 end="Jan 1 2028" cancelled=yesterday',
        (
            "POST",
            "import",
            "subscription",
            {
                "id": "SUB-2",
                "contact_id": "12345",
                "amount": 29000,
                "product_id": "PRO-Y",
                "name": "Pro yearly",
                "start_date": "2026-01-01 05:00:00",
                "billing_cycle": "year",
                "frequency": 2,
                "last_bill_date": "2026-01-01 05:00:00",
                "quantity": 3,
                "trial_end_date": "2027-01-15 05:00:00",
                "end_date": "2028-01-01 05:00:00",
                "canceled_date": "2026-11-22 15:30:00",
            },
        ),
    ),
    ("subscription delete SUB-1", ("DELETE", "import", "subscription/SUB-1", None)),
    # changes of the first subscription above
    ("subscription update SUB-1 qty=2", ("POST", "import", "subscription", {**FIRST_SUBSCRIPTION, "quantity": 2})),
    (
        "subscription cancel SUB-1 yesterday 9am",
        ("POST", "import", "subscription", {**FIRST_SUBSCRIPTION, "canceled_date": "2026-11-22 14:00:00"}),
    ),
    (
        "subscription end SUB-1 Jan 31 2027",
        ("POST", "import", "subscription", {**FIRST_SUBSCRIPTION, "end_date": "2027-01-31 05:00:00"}),
    ),
    # ad performance
    (
        "ad record AD-1 spend=120.50 date=yesterday",
        ("POST", "import", "ad/performance", {"ad": "AD-1", "spend": 12050, "date": "2026-11-22"}),
    ),
    (
        'ad add AD-2 cost=$80 day=2026-11-20 clicks=42 impressions=12,000 ad_name="Video 2" adset=SET-7 '
        'adset_name=Lookalikes campaign=CAMP-3 campaign_name="Black Friday"',
        (
            "POST",
            "import",
            "ad/performance",
            {
                "ad": {"id": "AD-2", "name": "Video 2", "adset": "SET-7", "adcampaign": "CAMP-3"},
                "spend": 8000,
                "date": "2026-11-20",
                "clicks": 42,
                "impressions": 12000,
                "adset": {"id": "SET-7", "name": "Lookalikes", "adcampaign": "CAMP-3"},
                "adcampaign": {"id": "CAMP-3", "name": "Black Friday"},
            },
        ),
    ),
    (
        "ad record AD-3 spend=0 date=2026-11-20 adset=SET-7 adcampaign=CAMP-3",
        (
            "POST",
            "import",
            "ad/performance",
            {"ad": "AD-3", "spend": 0, "date": "2026-11-20", "adset": "SET-7", "adcampaign": "CAMP-3"},
        ),
    ),
    # the raw API call
    ("api GET contact", ("GET", "import", "contact", None)),
    (
        "api post /v1/{account_id}/{integration_id}/tags/add {“email”: “a@b.com”, “tags”: [“VIP”]}",
        ("POST", "root", "acct-1/int-9/tags/add", {"email": "a@b.com", "tags": ["VIP"]}),
    ),
    ("api DELETE invoice/INV-1?force=1", ("DELETE", "import", "invoice/INV-1?force=1", None)),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0][:50] for case in CASES])
def test_text_becomes_the_exact_request(text: str, expected: tuple[str, str, str, Any], ctx: Context) -> None:
    assert request_for(text, ctx) == expected


def test_every_operation_is_covered_by_a_case() -> None:
    covered = {parse_command(text, REGISTRY).operation.name for text, _ in CASES}
    assert covered == {op.name for op in REGISTRY}


def test_api_zone_setting_changes_the_strings_sent() -> None:
    paris = make_context(api_zone="Europe/Paris")
    *_, payload = request_for('order add I-1 a@b.com amount=5 product_id=P date="yesterday 3pm"', paris)
    assert payload["date_created"] == "2026-11-22 21:00:00"


def test_raw_call_headers_are_passed_but_authorization_is_refused(ctx: Context) -> None:
    parsed = parse_command("api GET contact header.X-Source=slack", REGISTRY)
    request = parsed.operation.build(parsed.operation.validate(parsed.raw, ctx), ctx)
    assert dict(request.headers) == {"X-Source": "slack"}
    parsed = parse_command("api GET contact header.Authorization=stolen", REGISTRY)
    with pytest.raises(InputError) as caught:
        parsed.operation.validate(parsed.raw, ctx)
    assert "`Authorization` header is set by the bot" in caught.value.errors[0].message
    parsed = parse_command("api POST contact header.Content-Type=text/plain {}", REGISTRY)
    with pytest.raises(InputError, match="only `X-…` headers can be added"):
        parsed.operation.validate(parsed.raw, ctx)


def errors_for(text: str, ctx: Context) -> InputError:
    parsed = parse_command(text, REGISTRY)
    with pytest.raises(InputError) as caught:
        parsed.operation.validate(parsed.raw, ctx)
    return caught.value


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        ("order add INV-1 a@b.com amount=45.999 product_id=P", "amount", "has 3 decimals"),
        ('order add INV-1 a@b.com amount=5 product_id=P item="A | B | 5"', "items", "both given"),
        (
            'order add INV-1 a@b.com amount=5 product_name=X item="A | B | 5"',
            "product_name",
            "needs `product_id`",
        ),
        ('order add INV-1 a@b.com amount=5 item="A | B"', "items", "is not `name | product id | price`"),
        (
            'order add INV-1 a@b.com amount=5 item="A | B | 1" item="C | D | x"',
            "items",
            "item 2 (`C | D | x`)",
        ),
        ("order add INV-1 a@b.com amount=5 product_id=P refunded=maybe", "is_refunded", "not yes or no"),
        ("order add INV-1 a@b.com amount=5 product_id=P date=whenever", "date_created", "could not read"),
        ("order add INV-1 jane@ amount=5 product_id=P", "email", "is not an e-mail address"),
        ("contact add a@b.com status=gone", "status", "is not one of `active`, `inactive`"),
        ("contact add a@b.com ip=999.1.1.1", "ip_address", "not an IPv4 or IPv6 address"),
        ("contact add a@b.com lat=91", "geo_lat", "outside -90…90"),
        ("contact add a@b.com referrer=notaurl", "referring_url", "not a web address"),
        ("contact add a@b.com field.plan=Pro field.plan=Max", "custom_fields", "`plan` is given twice"),
        (
            "subscription add S a@b.com amount=1 product_id=P start=today cycle=fortnight",
            "billing_cycle",
            "`day`, `week`",
        ),
        (
            "subscription add S a@b.com amount=1 product_id=P start=today cycle=month frequency=0",
            "frequency",
            "give 1 or more",
        ),
        ("ad record AD-1 spend=5 date=today clicks=-3", "clicks", "negative"),
        ("ad record AD-1 spend=5 date=today clicks=1.5", "clicks", "not a whole number"),
        ("ad record AD-1 spend=5 date=today adset_name=X", "adset_name", "needs the ad set's id"),
        ("api GET https://evil.example.com/x", "path", "is a full URL"),
        ("api GET ../../other-account/contact", "path", "climbs out of the API"),
        ("api GET %2e%2e/x", "path", "climbs out"),
        ("api GET {secret}/x", "path", "is not a placeholder"),
        ("api GET contact {}", "body", "cannot go with GET"),
        ("api POST contact {broken", "body", "is not valid JSON"),
        ("api TRACE contact", "method", "is not one of"),
    ],
)
def test_invalid_values_are_refused_per_field(text: str, field: str, says: str, ctx: Context) -> None:
    error = errors_for(text, ctx)
    fields = [problem.field for problem in error.errors]
    assert field in fields, error
    problem = next(problem for problem in error.errors if problem.field == field)
    assert says in problem.message
    assert not error.only_missing


def test_all_problems_are_reported_at_once_in_form_order(ctx: Context) -> None:
    error = errors_for('order add INV-1 a@b.com amount=abc paid=-4 date=blah item="x|y"', ctx)
    assert [problem.field for problem in error.errors] == ["amount", "paid", "date_created", "items"]
    assert error.errors[0].message == "Order total (`amount`): `abc` is not an amount. Example: `$49.99`"
    assert error.by_field()["amount"] == "`abc` is not an amount. Example: `$49.99`"


def test_cross_field_rules_are_reported_with_the_rest(ctx: Context) -> None:
    error = errors_for("order add INV-1 amount=10", ctx)
    assert [problem.field for problem in error.errors] == ["email", "items"]
    error = errors_for("ad record AD-1 spend=5 date=today adset_name=X adcampaign_name=Y", ctx)
    assert [problem.field for problem in error.errors] == ["adset_name", "adcampaign_name"]


def test_an_incomplete_command_is_only_missing_fields(ctx: Context) -> None:
    error = errors_for("order add", ctx)
    assert error.only_missing
    assert [problem.field for problem in error.errors] == ["id", "email"]
    error = errors_for("tag add", ctx)
    assert [problem.field for problem in error.errors] == ["email", "tags"]
    error = errors_for("order add INV-1 a@b.com amount=5", ctx)
    assert error.only_missing
    assert "needs at least one item, or `product_id=`" in error.errors[0].message


def test_missing_examples_follow_the_configured_currency() -> None:
    euros = make_context(currency="EUR")
    error = errors_for("subscription add SUB-1 a@b.com product=P start=today cycle=month", euros)
    assert error.errors[0].message == "Amount per bill (`amount`) is required. Example: `€29.00`"


def test_summary_shows_values_as_sent(ctx: Context) -> None:
    parsed = parse_command('order add INV-1 jane@example.com amount=1234.5 date="yesterday 3pm" product_id=P', REGISTRY)
    data = parsed.operation.validate(parsed.raw, ctx)
    summary = parsed.operation.describe(data, None, ctx)
    assert summary.headline == "saved order INV-1 for jane@example.com"
    facts = {fact.label: fact.value for fact in summary.facts}
    assert facts["Order total"] == "$1,234.50"
    assert facts["Amount paid"] == "$1,234.50"
    assert facts["Order date"] == "Sun Nov 22, 2026 3:00 PM EST"
    assert facts["Items"] == "P (P) $1,234.50"
    assert "Product ID" not in facts  # the shorthand became the item that was sent
    assert summary.notes == ("times shown in America/New_York; sent to SegMetrics in UTC",)
