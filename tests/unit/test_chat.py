"""The chat grammar: resource, verb, positionals, keys, aliases, prefixes — and its refusals."""

from __future__ import annotations

import pytest

from bot.chat import parse_command
from bot.problems import CommandError
from commands import REGISTRY


def parse(text: str) -> tuple[str, dict[str, str | list[str]]]:
    parsed = parse_command(text, REGISTRY, slack=True)
    return parsed.operation.name, parsed.raw


@pytest.mark.parametrize(
    ("text", "operation", "raw"),
    [
        ("contact add jane@example.com", "contact add", {"email": "jane@example.com"}),
        ("contact update 12345", "contact add", {"contact_id": "12345"}),
        (
            "Contacts ADD jane@example.com First=Jane",
            "contact add",
            {"email": "jane@example.com", "first_name": "Jane"},
        ),
        (
            "contact add 12345 email=jane@example.com last=Doe",
            "contact add",
            {"contact_id": "12345", "email": "jane@example.com", "last_name": "Doe"},
        ),
        (
            "contact add <mailto:jane@example.com|jane@example.com> referrer=<https://g.co|g.co>",
            "contact add",
            {"email": "jane@example.com", "referring_url": "https://g.co"},
        ),
        (
            "contact add a@b.com field.plan=Pro field.old= field.note=“two words”",
            "contact add",
            {"email": "a@b.com", "custom_fields": ["plan = Pro", "old =", "note = two words"]},
        ),
        ("tag add a@b.com VIP", "tag add", {"email": "a@b.com", "tags": ["VIP"]}),
        (
            'tag add a@b.com VIP "Big Spender" id:45',
            "tag add",
            {"email": "a@b.com", "tags": ["VIP", "Big Spender", "id:45"]},
        ),
        ("tags remove 12345 VIP", "tag remove", {"contact_id": "12345", "tags": ["VIP"]}),
        ("tag add a@b.com tags=VIP,Trial", "tag add", {"email": "a@b.com", "tags": ["VIP,Trial"]}),
        (
            'order add INV-1 a@b.com total=$5 item="A | P1 | $2" item="B | P2 | $3"',
            "order add",
            {"id": "INV-1", "email": "a@b.com", "amount": "$5", "items": ["A | P1 | $2", "B | P2 | $3"]},
        ),
        ("invoice delete INV-1", "order delete", {"id": "INV-1"}),
        ("sub delete SUB-1", "subscription delete", {"id": "SUB-1"}),
        ("ad add AD-1 spend=5 date=today", "ad record", {"ad": "AD-1", "spend": "5", "date": "today"}),
        ("api GET contact", "api call", {"method": "GET", "path": "contact"}),
        ("api call GET contact", "api call", {"method": "GET", "path": "contact"}),
        (
            'api POST contact header.X-Src=slack {"email": "a@b.com", "first_name": "A B"}',
            "api call",
            {
                "method": "POST",
                "path": "contact",
                "headers": ["X-Src : slack"],
                "body": '{"email": "a@b.com", "first_name": "A B"}',
            },
        ),
        ("api POST contact [1, 2]", "api call", {"method": "POST", "path": "contact", "body": "[1, 2]"}),
    ],
)
def test_parses(text: str, operation: str, raw: dict[str, object]) -> None:
    assert parse(text) == (operation, raw)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Start with what to act on"),
        ("frobnicate add", "`frobnicate` is not something the bot acts on"),
        ("contcat add a@b.com", "did you mean `contact`"),
        ("contact", "Say `add`, `update`, `deactivate`, `delete`, `show`"),
        ("contact frob a@b.com", "`contact frob` is not an operation"),
        ("order add INV-1 a@b.com amont=5", "`order add` has no key `amont`: did you mean `amount`"),
        ("order add INV-1 a@b.com amount=5 amount=6", "`amount` is given twice"),
        ("order add INV-1 a@b.com total=5 amount=6", "is given twice"),
        ("order add INV-1 a@b.com extra", "`extra` is not expected here"),
        ("order add INV-1 a@b.com paid=", "`paid=` has no value"),
        ('contact add a@b.com first=""', "`first=` has no value"),
        ('contact add a@b.com first="Jane', "never closed"),
        ("order delete INV-1 id=INV-2", "is given twice"),
        ("contact add a@b.com field.=x", "has no key `field.`"),
        (
            "order add jane@example.com INV-1 amount=5 product_id=P",
            "`jane@example.com` looks like the contact's e-mail, but it is in the place of the invoice id. "
            "The order is `order add <id> <email|contact_id>`.",
        ),
        ("tag add VIP jane@example.com", "in the place of the tags"),
        ("contact add a@b.com " + "x" * 9000, "limit is 8,000"),
    ],
)
def test_refuses(text: str, says: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert says in caught.value.message


def test_slack_escaping_is_undone_only_for_text_from_slack() -> None:
    text = 'api POST contact {"note": "&lt;b&gt; &amp; <mailto:a@b.com|a@b.com>"}'
    assert parse_command(text, REGISTRY).raw["body"] == '{"note": "&lt;b&gt; &amp; <mailto:a@b.com|a@b.com>"}'
    assert parse_command(text, REGISTRY, slack=True).raw["body"] == '{"note": "<b> & a@b.com"}'


def test_slack_autolinked_domains_stay_as_typed() -> None:
    _, raw = parse("contact add a@b.com source=<http://facebook.com|facebook.com> optin=<http://x.io/w|x.io/w>")
    assert raw == {"email": "a@b.com", "utm_source": "facebook.com", "optin_url": "x.io/w"}


def test_unknown_key_lists_the_valid_ones() -> None:
    with pytest.raises(CommandError) as caught:
        parse("contact add a@b.com colour=red")
    message = caught.value.message
    for key in ("`first_name` / `first` / `firstname`", "`utm_source`", "`field.<name>`", "`geo_lat`"):
        assert key in message
    assert caught.value.usage and caught.value.usage.startswith("contact add <email|contact_id>")
