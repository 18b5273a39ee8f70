"""Slack's escaping undone, then words, keys and quoted values (straight or curly)."""

from __future__ import annotations

import pytest

from bot.problems import CommandError
from bot.tokens import tokenize, unescape_slack


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("<mailto:a@b.com|a@b.com>", "a@b.com"),
        ("<mailto:a@b.com>", "a@b.com"),
        ("<https://x.com|x.com>", "https://x.com"),
        ("<http://facebook.com|facebook.com>", "facebook.com"),
        ("<http://x.com/a?b=1|x.com/a?b=1>", "x.com/a?b=1"),
        ("<https://x.com>", "https://x.com"),
        ("<https://x.com/?a=1&amp;b=2|x.com/?a=1&amp;b=2>", "https://x.com/?a=1&b=2"),
        ("<#C123|general>", "#general"),
        ("<!here>", "@here"),
        ("<@U123>", "<@U123>"),
        ("R&amp;D &lt;tag&gt;", "R&D <tag>"),
        ("&amp;lt;", "&lt;"),
        ("tag add <mailto:jane@x.com|jane@x.com> VIP", "tag add jane@x.com VIP"),
    ],
)
def test_unescapes_what_slack_escaped(escaped: str, plain: str) -> None:
    assert unescape_slack(escaped) == plain


def values(text: str) -> list[tuple[str | None, str]]:
    return [(token.key, token.value) for token in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag add a@b.com VIP", [(None, "tag"), (None, "add"), (None, "a@b.com"), (None, "VIP")]),
        ('first="Mary Jane"', [("first", "Mary Jane")]),
        ("first=“Mary Jane”", [("first", "Mary Jane")]),
        ("first=„Mary Jane“", [("first", "Mary Jane")]),
        ("first='Mary Jane'", [("first", "Mary Jane")]),
        ("first=‘Mary Jane’", [("first", "Mary Jane")]),
        ('"Big Spender" VIP', [(None, "Big Spender"), (None, "VIP")]),
        ("last=O'Brien", [("last", "O'Brien")]),
        ("last=O’Brien first=Ann", [("last", "O’Brien"), ("first", "Ann")]),
        ("last='O’Brien'", [("last", "O’Brien")]),
        ("tag='Mother's Day'", [("tag", "Mother's Day")]),
        ("tag=Mother’s", [("tag", "Mother’s")]),
        ("’Early Bird’", [(None, "Early Bird")]),
        ('x=""', [("x", "")]),
        ("field.plan=Pro header.X-Id=7", [("field.plan", "Pro"), ("header.X-Id", "7")]),
        ("https://x.com/?a=1", [(None, "https://x.com/?a=1")]),
        ('"a=b"', [(None, "a=b")]),
        ("a\u00a0b\nc", [(None, "a"), (None, "b"), (None, "c")]),
        ('item="Course | C-1 | $5"', [("item", "Course | C-1 | $5")]),
    ],
)
def test_tokenizes(text: str, expected: list[tuple[str | None, str]]) -> None:
    assert values(text) == expected


def test_offsets_let_the_rest_be_taken_raw() -> None:
    text = 'api POST contact {"a b": "c"}'
    body = [token for token in tokenize(text)][3]
    assert text[body.start :] == '{"a b": "c"}'


def test_unclosed_double_quote_is_an_error() -> None:
    with pytest.raises(CommandError, match="never closed"):
        list(tokenize('first="Mary Jane'))


@pytest.mark.parametrize(
    "text",
    [
        "tag add sam@example.com 'Early Bird",
        "first='Sam",
        "first=‘Sam",
        "first=’Sam",
        "first=“Sam",
        "'90s",
        'first="Mary Jane',
    ],
)
def test_an_unclosed_quote_single_or_double_is_refused(text: str) -> None:
    with pytest.raises(CommandError, match="never closed"):
        list(tokenize(text))


@pytest.mark.parametrize(
    ("text", "stray"),
    [
        ("first=Sam'", "Sam'"),
        ('first=Sam"', 'Sam"'),
        ("VIP' Bird'", "VIP'"),
        ("last=O'", "O'"),
        ('a"b', 'a"b'),
    ],
)
def test_a_quote_mark_outside_a_value_is_a_problem_of_its_token(text: str, stray: str) -> None:
    token = next(token for token in tokenize(text) if stray.endswith(token.value[-1:]) and token.problem)
    assert "opens or closes nothing" in (token.problem or "")


@pytest.mark.parametrize("text", ["last=O'Brien", "tag=Mother's", "name=rock'n'roll", "x=l’été"])
def test_an_apostrophe_inside_a_word_is_a_letter(text: str) -> None:
    (token,) = tokenize(text)
    assert token.problem is None
