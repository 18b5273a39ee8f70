"""Finding the contacts a message mentions, and a name written next to one."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.addresses import Found, find_contacts


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"text": "New signup: jane@example.com"}, [Found("jane@example.com")]),
        (
            {"text": "Jane Doe <mailto:jane@example.com|jane@example.com> and Bob <mailto:bob@x.io|bob@x.io>"},
            [Found("jane@example.com", "Jane", "Doe"), Found("bob@x.io", "Bob")],
        ),
        ({"text": "a@b.co A@B.CO a@b.co"}, [Found("a@b.co")]),
        ({"text": "mary.o'neil@example.co.uk (Mary O'Neil)"}, [Found("mary.o'neil@example.co.uk", "Mary", "O'Neil")]),
        ({"text": "From Ann Lee ann@x.com"}, [Found("ann@x.com", "Ann", "Lee")]),
        ({"text": "Hi jane@x.com"}, [Found("jane@x.com")]),
        ({"text": "write to jane@x.com."}, [Found("jane@x.com")]),
        ({"text": "nothing @here, user@localhost, @channel"}, []),
        (
            {
                "text": "",
                "blocks": [
                    {
                        "type": "rich_text",
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [
                                    {"type": "text", "text": "Customer Zoë Brun "},
                                    {"type": "link", "url": "mailto:zoe@example.fr", "text": "zoe@example.fr"},
                                ],
                            }
                        ],
                    },
                    {"type": "section", "text": {"type": "mrkdwn", "text": "cc <mailto:cc@x.com|cc@x.com>"}},
                ],
            },
            [Found("zoe@example.fr", "Zoë", "Brun"), Found("cc@x.com")],
        ),
        (
            {
                "text": "see below",
                "attachments": [
                    {"fields": [{"title": "Email", "value": "lead@corp.com"}], "text": "Sam Smith sam@corp.com"}
                ],
            },
            [Found("sam@corp.com", "Sam", "Smith"), Found("lead@corp.com")],
        ),
    ],
)
def test_finds_every_address_and_a_name_next_to_it(message: dict[str, Any], expected: list[Found]) -> None:
    assert find_contacts(message) == expected


def test_every_address_of_a_long_list_is_found_up_to_a_bound() -> None:
    text = " ".join(f"user{n}@example.com" for n in range(300))
    assert len(find_contacts({"text": text})) == 300
    text = " ".join(f"user{n}@example.com" for n in range(1200))
    assert len(find_contacts({"text": text})) == 1000
