"""Chat commands mean what was typed: one contact per command, quotes that must close, quoted tags that
stay whole, e-mails that lost their @, and every problem of a command reported at once."""

from __future__ import annotations

import pytest

from bot.chat import format_command, parse_command
from bot.context import Context
from bot.fields import Tags, quote_tag, split_tags
from bot.problems import CommandError, InvalidValue
from commands import REGISTRY


def parse(text: str, ctx: Context | None = None) -> dict[str, str | list[str]]:
    return parse_command(text, REGISTRY, slack=True, ctx=ctx).raw


def refusal(text: str, ctx: Context | None = None) -> str:
    with pytest.raises(CommandError) as caught:
        parse_command(text, REGISTRY, slack=True, ctx=ctx)
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("tag add a@x.co b@x.co VIP", ["a@x.co", "b@x.co"]),
        ("tag add a@x.co VIP b@x.co", ["a@x.co", "b@x.co"]),
        ("tag remove ann@example.com bob@example.org", ["ann@example.com", "bob@example.org"]),
        ("tag add ann@example.com 67890 VIP", ["ann@example.com", "67890"]),
        ("tag add 12345 67890", ["12345", "67890"]),
        ("tag add ann@example.com bob.example.org", ["ann@example.com", "bob.example.org"]),
    ],
)
def test_a_second_contact_where_a_tag_is_expected_is_refused_by_name(text: str, names: list[str]) -> None:
    message = refusal(text)
    assert message.startswith("Two contacts given")
    assert all(f"`{name}`" in message for name in names)
    assert "one contact per command" in message and "bulk import" in message


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ('tag add a@x.co "b@x.co" VIP', ['"b@x.co"', "VIP"]),
        ('tag add a@x.co "67890"', ['"67890"']),
        ("tag add a@x.co id:45 VIP", ["id:45", "VIP"]),
        ("tag add a@x.co Webinar-2026.11", ["Webinar-2026.11"]),
    ],
)
def test_quoted_it_is_a_tag_as_typed(text: str, tags: list[str]) -> None:
    assert parse(text)["tags"] == [quote_tag(tag.strip('"')) if tag.startswith('"') else tag for tag in tags]


@pytest.mark.parametrize(
    "text",
    [
        "tag add sam@example.com 'Early Bird",
        "contact add sam@example.com first='Sam",
        "contact add sam@example.com first=‘Sam",
        "contact add sam@example.com first=“Sam",
        "tag add sam@example.com ’Early Bird",
    ],
)
def test_an_unclosed_quote_is_refused(text: str) -> None:
    assert "never closed" in refusal(text)


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("contact add sam@example.com last=O'Brien", "last_name", "O'Brien"),
        ("contact add sam@example.com last=O’Brien", "last_name", "O’Brien"),
        ('tag add sam@example.com "Mother\'s Day"', "tags", ["Mother's Day"]),
        ("tag add sam@example.com Mother's", "tags", ["Mother's"]),
        ("contact add sam@example.com first='Mary Jane'", "first_name", "Mary Jane"),
    ],
)
def test_an_apostrophe_inside_a_word_needs_no_closing(text: str, field: str, value: object) -> None:
    assert parse(text)[field] == value


@pytest.mark.parametrize("text", ["contact add sam@example.com first=Sam'", 'tag add sam@example.com VIP"'])
def test_a_stray_quote_mark_is_refused(text: str) -> None:
    assert "opens or closes nothing" in refusal(text)


@pytest.mark.parametrize("text", ['tag add sam@example.com "A"B', 'contact add sam@example.com first="Mary"Jane'])
def test_text_glued_to_a_closing_quote_is_refused(text: str) -> None:
    assert "Text follows a closing quote" in refusal(text)


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ('tag add ann@example.com "A, B"', ["A, B"]),
        ("tag add ann@example.com “Smith, Jones” VIP", ["Smith, Jones", "VIP"]),
        ('tag add ann@example.com tags="A, B"', ["A", "B"]),
        ("tag add ann@example.com tags='\"Smith, Jones\", VIP'", ["Smith, Jones", "VIP"]),
        ("tag add ann@example.com A,B", ["A", "B"]),
    ],
)
def test_quotes_group_a_tag_in_chat(text: str, tags: list[str], ctx: Context) -> None:
    raw = parse(text)
    assert Tags().read_many(list(raw["tags"]), ctx) == tags


@pytest.mark.parametrize(
    ("form", "tags"),
    [
        ("VIP, Webinar 2026", ["VIP", "Webinar 2026"]),
        ('"Smith, Jones", VIP', ["Smith, Jones", "VIP"]),
        ("VIP, “Q4, 2026”", ["VIP", "Q4, 2026"]),
        ("'a, b'", ["a, b"]),
        ("Mother's Day, VIP", ["Mother's Day", "VIP"]),
    ],
)
def test_a_form_writes_a_tag_with_a_comma_quoted(form: str, tags: list[str], ctx: Context) -> None:
    assert Tags().read_many([form], ctx) == tags


def test_an_unclosed_quote_in_a_form_is_refused(ctx: Context) -> None:
    with pytest.raises(InvalidValue, match="never closed"):
        Tags().read_many(['"Smith, Jones, VIP'], ctx)


@pytest.mark.parametrize("tags", [["Smith, Jones", "VIP"], ["a", "b"], ['say "hi", twice']])
def test_tags_written_back_read_the_same(tags: list[str], ctx: Context) -> None:
    text = Tags().to_text(tags, ctx)
    assert [tag.strip() for tag in split_tags(text)] == tags
    raw = {"email": "a@x.co", "tags": [text]}
    again = parse_command(format_command(REGISTRY["tag add"], raw), REGISTRY).raw
    assert Tags().read_many(list(again["tags"]), ctx) == tags


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("contact add sam.example.com first=Sam", "sam@example.com"),
        ("contact delete jane.doe.co.uk", "jane@doe.co.uk"),
        ("tag add ann.shop.io VIP", "ann@shop.io"),
        ("order add INV-1 bob.example.de amount=5 product=P", "bob@example.de"),
        ('contact add "sam.example.com"', "sam@example.com"),
        ("contact add john.smith.example.com", "john.smith@example.com"),
    ],
)
def test_an_email_without_its_at_is_not_a_contact_id(text: str, fixed: str) -> None:
    message = refusal(text)
    assert "looks like an e-mail without its @" in message
    assert f"`{fixed}`" in message and "contact_id=" in message


@pytest.mark.parametrize(
    ("text", "contact_id"),
    [
        ("contact add contact_id=sam.example.com first=Sam", "sam.example.com"),
        ("contact add 12345", "12345"),
        ("contact add cus_9Xk2.v3", "cus_9Xk2.v3"),
        ("contact add crm.00042", "crm.00042"),
    ],
)
def test_an_id_that_is_no_domain_stays_an_id(text: str, contact_id: str) -> None:
    assert parse(text)["contact_id"] == contact_id


def test_every_unknown_key_is_reported_with_what_it_may_mean() -> None:
    message = refusal("contact add sam@example.com frist=Sam lsat=Lee utm_sorce=x")
    lines = message.splitlines()
    assert len(lines) == 3
    assert "`frist`: did you mean `first`" in lines[0] and "`first=Jane`" in lines[0]
    assert "`lsat`: did you mean `last`" in lines[1] and "`last=Doe`" in lines[1]
    assert "`utm_sorce`: did you mean `utm_source`" in lines[2]


def test_unknown_keys_and_unreadable_values_come_together(ctx: Context) -> None:
    message = refusal("order add INV-1 ann@example.com amont=5 date=blorp paid=abc product=P", ctx)
    assert "`amont`: did you mean `amount`" in message
    assert "Order date (`date_created`)" in message and "blorp" in message
    assert "Amount paid (`paid`)" in message
    assert message.count("•") == 3


def test_a_structural_problem_and_a_second_contact_come_together() -> None:
    message = refusal("tag add a@x.co b@x.co colour=red")
    assert "Two contacts given" in message and "has no key `colour`" in message


@pytest.mark.parametrize(
    "text", ['api POST contact header.X-A="a\nX-B: c"', 'contact add a@x.co field.plan="Pro\nvip = yes"']
)
def test_a_keyed_entry_is_one_line(text: str) -> None:
    assert "goes on to another line" in refusal(text)
