"""Connections and their routing (`bot.connections`), and `via=` as people type it in chat."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.chat import parse_command
from bot.connections import Connection, Connections, channel_entry, conflicts
from bot.problems import CommandError, InvalidValue
from commands import REGISTRY


def connection(
    name: str, *, resources: tuple[str, ...] = (), channels: tuple[str, ...] = (), **other: str
) -> Connection:
    values = {"account_id": "1234", "integration_id": "77", "timezone": "UTC", "currency": "USD", **other}
    return Connection(
        name,
        SecretStr(f"sk-{name}-0123456789"),
        values["account_id"],
        values["integration_id"],
        values["timezone"],
        values["currency"],
        resources,
        channels,
    )


CONNECTIONS = Connections(
    [
        connection("default"),
        connection("payments", resources=("order", "subscription")),
        connection("ads", resources=("ad",)),
        connection("eu-sales", channels=("#eu-sales", "C0EUSALES1")),
    ]
)


@pytest.mark.parametrize(
    ("resource", "via", "channel_id", "channel_name", "expected"),
    [
        ("order", None, "C1", "marketing", "payments"),  # the resource's
        ("ad", None, "C1", "marketing", "ads"),
        ("contact", None, "C1", "marketing", "default"),  # nobody claims contacts
        ("order", None, "C0EUSALES1", "renamed", "eu-sales"),  # the channel beats the resource, by id
        ("order", None, "C9", "EU-Sales", "eu-sales"),  # or by name, in any case
        ("order", "ads", "C0EUSALES1", "eu-sales", "ads"),  # via beats everything
        ("contact", "PAYMENTS", None, None, "payments"),
        ("contact", " eu-sales ", None, None, "eu-sales"),
    ],
)
def test_routing_order(
    resource: str, via: str | None, channel_id: str | None, channel_name: str | None, expected: str
) -> None:
    assert CONNECTIONS.route(resource, via=via, channel_id=channel_id, channel_name=channel_name).name == expected


@pytest.mark.parametrize(("typed", "hint"), [("adz", "via=ads"), ("payment", "via=payments"), ("zzz", None)])
def test_an_unknown_via_names_the_connections(typed: str, hint: str | None) -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTIONS.route("order", via=typed)
    message = caught.value.message
    assert f"no connection named `{typed}`" in message
    assert "`default`, `ads`, `eu-sales`, `payments`" in message
    assert (f"Did you mean `{hint}`?" in message) if hint else "Did you mean" not in message


@pytest.mark.parametrize(
    ("typed", "entry"),
    [
        ("#Sales", "#sales"),
        ("sales", "#sales"),
        ("C0SALES12", "C0SALES12"),
        ("CAMPAIGNS", "#campaigns"),
        (" #a.b-c ", "#a.b-c"),
    ],
)
def test_channel_entries(typed: str, entry: str) -> None:
    assert channel_entry(typed) == entry


@pytest.mark.parametrize("typed", ["#", "two words", "#sales!", ""])
def test_channel_entries_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="is not a channel"):
        channel_entry(typed)


def test_conflicts_name_both_connections_and_the_claim() -> None:
    found = conflicts(
        [
            connection("a", resources=("order",)),
            connection("b", resources=("order", "ad"), channels=("#x",)),
            connection("c", channels=("#x",)),
        ]
    )
    assert found == [
        "connections `a` and `b` both claim the resource `order`; give it to one of them",
        "connections `b` and `c` both claim the channel #x; give it to one of them",
    ]


def test_the_fingerprint_follows_where_work_goes_not_the_key() -> None:
    base = connection("ads")
    rotated = Connection("ads", SecretStr("another-key-000000"), "1234", "77", "UTC", "USD")
    assert base.fingerprint == rotated.fingerprint
    for changed in (
        {"integration_id": "78"},
        {"account_id": "1235"},
        {"timezone": "Europe/Paris"},
        {"currency": "EUR"},
    ):
        assert connection("ads", **changed).fingerprint != base.fingerprint


def test_a_key_is_never_shown() -> None:
    ads = connection("ads")
    key = ads.api_key.get_secret_value()
    for shown in (repr(ads), str(ads), ads.masked_key(), ads.default_for()):
        assert key not in shown and "0123456789" not in shown
    assert ads.masked_key() == "•••••••• (17 characters)"


@pytest.mark.parametrize(
    ("text", "via", "raw"),
    [
        ("contact add jane@example.com via=ads", "ads", {"email": "jane@example.com"}),
        ("contact add jane@example.com VIA=Ads", "Ads", {"email": "jane@example.com"}),
        ("tag add jane@example.com VIP via=ads", "ads", {"email": "jane@example.com", "tags": ["VIP"]}),
        ('tag add jane@example.com VIP "via"', None, {"email": "jane@example.com", "tags": ["VIP", "via"]}),
        ("subscription end SUB-1 in 3 months via=payments", "payments", {"id": "SUB-1", "end_date": "in 3 months"}),
        (
            'api POST contact {"email": "a@b.co"} via=ads',
            "ads",
            {"method": "POST", "path": "contact", "body": '{"email": "a@b.co"}'},
        ),
        ("order delete INV-7 via=eu-sales", "eu-sales", {"id": "INV-7"}),
    ],
)
def test_via_in_chat(text: str, via: str | None, raw: dict[str, object]) -> None:
    parsed = parse_command(text, REGISTRY)
    assert parsed.via == via
    assert parsed.raw == raw


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tag add jane@example.com VIP via ads", "To choose a connection write `via=<name>`"),
        ("contact add jane@example.com via=", "`via=` has no value"),
        ("contact add jane@example.com via=ads via=payments", "`via` is given twice (`ads` and `payments`)"),
    ],
)
def test_via_mistakes_in_chat(text: str, problem: str) -> None:
    with pytest.raises(CommandError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("`", "`")):
        parse_command(text, REGISTRY)


def test_a_private_channel_slack_does_not_name_is_not_guessed() -> None:
    with pytest.raises(InvalidValue, match="Slack does not tell the bot this private channel's name") as caught:
        CONNECTIONS.route("order", channel_id="G0PRIVATE1", channel_name="privategroup")
    assert "`eu-sales`" in caught.value.message and caught.value.examples == ("via=eu-sales",)
    # By id it is known; with via it is said.
    assert CONNECTIONS.route("order", via="payments", channel_id="G0PRIVATE1", channel_name="privategroup").name == (
        "payments"
    )
    by_id = Connections([connection("default"), connection("eu", channels=("G0PRIVATE1",))])
    assert by_id.route("order", channel_id="G0PRIVATE1", channel_name="privategroup").name == "eu"
    assert by_id.route("order", channel_id="G0OTHER01", channel_name="privategroup").name == "default"
