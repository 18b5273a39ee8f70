"""Every refusal the bot can say, proofread: each operation's fields fed the wrong things people type, and
the grammar's own refusals; no message has a doubled stop, a lost placeholder, an odd backtick, a double
space, or a number that disagrees with its noun."""

from __future__ import annotations

import re

import pytest

from bot.chat import parse_command
from bot.context import Context
from bot.problems import CommandError, InputError
from commands import REGISTRY
from tests.conftest import make_context

WRONG_VALUES = [
    "",
    " ",
    "abc",
    "-5",
    "0",
    "1.2.3",
    "99999999999999999999",
    "1,5",
    "12.345",
    "1000000000",
    "yesterday tomorrow",
    "31/02/2026",
    "next friday",
    "Fri Jul 18",
    "a" * 300,
    "id:",
    "x@",
    "$-5",
    "€5",
    "..",
    '"Smith, Jones',
    "http://",
    "999.1.1.1",
    "200",
    "plan",
    "A | B",
    "A | B | C | D | E",
]

GRAMMAR = [
    "contact",
    "contcat add a@b.com",
    "contact frob",
    "contact add a@b.com frist=Sam lsat=Lee",
    "contact add a@b.com first=",
    "contact add a@b.com first='Sam",
    'contact add a@b.com first="Mary"Jane',
    "contact add a@b.com first=Sam'",
    "contact add sam.example.com",
    "tag add a@x.co b@x.co VIP",
    "tag add a@x.co 12345",
    "order add jane@example.com INV-1",
    "order add INV-1 a@b.com amount=5 amount=6",
    "order add INV-1 a@b.com extra words",
    'api POST contact header.X-A="a\nb"',
]

DEFECTS = {
    "a doubled stop": re.compile(r"[.?!:;]\.(?!\.)|\.\.(?!\.)(?![`/])"),
    "a lost placeholder": re.compile(r"\{[a-z_]+\}|\bNone\b"),
    "a double space": re.compile(r"\S  +\S"),
    "a space before a stop": re.compile(r"\s[.,;:](?!\S)"),
    "a singular with a plural noun": re.compile(
        r"(?<![\d.,])\b1 (decimals|items|tags|levels|characters|addresses|contacts|days)\b"
    ),
    "a plural with a singular noun": re.compile(
        r"\b(0|[2-9]|\d{2,}) (decimal|item|tag|level|character|address|contact)\b(?!s)"
    ),
}


def _messages(ctx: Context) -> list[str]:
    said = []
    for op in REGISTRY:
        for spec in op.params:
            for wrong in WRONG_VALUES:
                raw = {spec.name: [wrong] if spec.kind.many else wrong}
                try:
                    op.validate(raw, ctx)
                except InputError as error:
                    said += [problem.message for problem in error.errors] + [problem.inline for problem in error.errors]
                except Exception as error:  # a refusal must never be a crash
                    pytest.fail(f"{op.name} {spec.name}={wrong!r} raised {error!r}")
    for text in GRAMMAR:
        try:
            parse_command(text, REGISTRY, ctx=ctx)
        except CommandError as error:
            said.append(error.message)
    return said


@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "KWD"])
def test_every_refusal_reads_well(currency: str) -> None:
    ctx = make_context(currency=currency, decimal_mark="," if currency == "EUR" else ".")
    said = _messages(ctx)
    assert len(said) > 500
    # What is in `code` is what the user typed (or an example): only the bot's own words are proofread.
    words = {message: re.sub(r"`[^`]*`", "`…`", message) for message in said}
    found = [
        f"{name}: {message}"
        for message, wording in words.items()
        for name, defect in DEFECTS.items()
        if defect.search(wording)
    ]
    odd_ticks = [message for message in said if message.count("`") % 2]
    assert not found, "\n".join(sorted(set(found))[:30])
    assert not odd_ticks, "\n".join(sorted(set(odd_ticks))[:30])
