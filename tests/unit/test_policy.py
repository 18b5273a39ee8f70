"""Who may run what: the defaults, the policy file's rules, and their mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import Policy, PolicyError
from commands import REGISTRY


def op(name: str):  # type: ignore[no-untyped-def]
    resource, _, verb = name.partition(" ")
    found = REGISTRY.find(resource, verb)
    assert found is not None
    return found


def test_defaults_writes_and_deletes_for_everyone_the_api_for_admins() -> None:
    policy = Policy()
    for name in ("contact add", "contact show", "order delete", "tag remove"):
        assert policy.decide(op(name), "U2").allowed, name
    refused = policy.decide(op("api call"), "U2")
    assert not refused.allowed and "disabled until SEGMETRICS_BOT_ADMINS" in refused.message
    with_admins = Policy(admins=["U1"])
    assert with_admins.decide(op("api call"), "U1").allowed
    assert "is not open to you" in with_admins.decide(op("api call"), "U2").message


def test_rules_by_user_group_admin_and_channel() -> None:
    data = {
        "defaults": {"deletes": "admins"},
        "operations": {
            "order add": {"allow": ["U3", "@Leads", "admins"], "channels": ["#sales", "C0SALES1"]},
        },
    }
    policy = Policy.parse(data, REGISTRY, admins=["U1", "S0ADMINS"], path="policy.toml")
    groups = {"@leads": {"U4"}, "S0ADMINS": {"U5"}}

    def decide(name: str, user: str, **where: str) -> bool:
        return policy.decide(
            op(name),
            user,
            members=lambda group: groups.get(group.lower() if group.startswith("@") else group, set()),
            **where,
        ).allowed

    assert decide("order delete", "U1") and decide("order delete", "U5")  # an admin, by id and by group
    assert not decide("order delete", "U2")
    for user, allowed in (("U3", True), ("U4", True), ("U1", True), ("U2", False)):
        assert decide("order add", user, channel_name="sales") is allowed, user
    assert decide("order add", "U3", channel_id="C0SALES1")
    refused = policy.decide(op("order add"), "U3", channel_name="random")
    assert refused.message == '*Add order* may only be run in #sales, <#C0SALES1> ([operations."order add"]).'
    assert policy.named() == ["@Leads"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[operations."contact delet"]\nallow = "admins"', "is not an operation; use one of"),
        ('[defaults]\nwipes = "admins"', "'wipes' is not one of reads, writes, deletes, api"),
        ('[operations."contact add"]\nallow = "bob"', "'bob' is not everyone, admins, a user id"),
        ('[operations."contact add"]\nallow = []', 'give "everyone", "admins", or a list'),
        ('[operations."contact add"]\nwho = "admins"', "takes `allow` and `channels`"),
        ('[operations."contact add"]\nchannels = "#x"', "channels: give a list"),
        ("[surprise]", "unknown section(s) ['surprise']"),
        ("not = [valid", "is not valid TOML"),
    ],
)
def test_mistakes_in_the_file_are_named(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        Policy.load(["U1"], str(path), REGISTRY)
    assert says in str(caught.value)


def test_a_change_follows_the_rule_of_what_it_changes_unless_it_has_its_own() -> None:
    data = {
        "operations": {
            "order add": {"allow": ["U3"], "channels": ["#sales"]},
            "subscription cancel": {"allow": "everyone"},
            "contact add": {"allow": "admins"},
        }
    }
    policy = Policy.parse(data, REGISTRY, admins=["U1"], path="policy.toml")
    for name in ("order update", "order refund"):
        assert policy.decide(op(name), "U3", channel_name="sales").allowed
        refused = policy.decide(op(name), "U2", channel_name="sales")
        assert not refused.allowed and '[operations."order add"]' in refused.message
        assert not policy.decide(op(name), "U3", channel_name="random").allowed
    assert not policy.decide(op("contact deactivate"), "U2").allowed
    assert policy.decide(op("contact deactivate"), "U1").allowed
    assert policy.decide(op("subscription cancel"), "U2").allowed
    assert policy.decide(op("subscription end"), "U2").allowed  # subscription add has no rule: the default
