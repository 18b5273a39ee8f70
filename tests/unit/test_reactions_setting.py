"""SEGMETRICS_REACTIONS and the policy's [reactions], as admins write them."""

from __future__ import annotations

import pytest

from bot.policy import Policy, PolicyError
from bot.reactions import ReactionsError, emoji_name, from_env, merged
from commands import REGISTRY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vip=VIP", {"vip": ("VIP",)}),
        ("vip=VIP; fire=Hot lead, Q4", {"vip": ("VIP",), "fire": ("Hot lead", "Q4")}),
        (" :fire: = Hot  lead ,Q4 ; ", {"fire": ("Hot lead", "Q4")}),
        ("white_check_mark=Done;+1=Liked", {"white_check_mark": ("Done",), "+1": ("Liked",)}),
        ('{"vip": ["VIP"], "fire": "Hot lead"}', {"vip": ("VIP",), "fire": ("Hot lead",)}),
        ("", {}),
        ("   ", {}),
    ],
)
def test_the_setting_is_read_as_typed(text: str, expected: dict[str, tuple[str, ...]]) -> None:
    assert from_env(text) == expected


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("vip", "has no `=`"),
        ("vip=", "names no tag"),
        ("vip=VIP; vip=Q4", "given twice"),
        ("hot lead=VIP", "not an emoji name"),
        ('{"vip": [1]}', "a list of tag names"),
        ('{"vip": ', "not valid JSON"),
    ],
)
def test_a_setting_that_cannot_be_read_is_refused_saying_why(text: str, said: str) -> None:
    with pytest.raises(ReactionsError, match=said):
        from_env(text)


def test_a_reaction_with_a_skin_tone_is_its_emoji() -> None:
    assert emoji_name("thumbsup::skin-tone-2") == "thumbsup"
    assert emoji_name(":Fire:") == "fire"


def test_the_policy_file_has_a_reactions_table_and_a_steps_rule() -> None:
    policy = Policy.parse(
        {"reactions": {"vip": ["VIP"], "fire": "Hot lead"}, "steps": {"allow": ["@ops"]}}, REGISTRY, admins=["U1"]
    )
    assert policy.reactions == {"vip": ("VIP",), "fire": ("Hot lead",)}
    assert policy.named() == ["@ops"]
    op = REGISTRY["tag add"]
    assert not policy.decide_step(op, "U2").allowed
    assert policy.decide_step(op, "U2", members=lambda group: ["U2"]).allowed
    assert Policy.parse({}, REGISTRY).decide_step(op, "U2").allowed  # no [steps]: the operation's rules decide
    with pytest.raises(PolicyError, match=r"\[steps\] takes `allow` only"):
        Policy.parse({"steps": {"who": "everyone"}}, REGISTRY)
    with pytest.raises(PolicyError, match="names no tag"):
        Policy.parse({"reactions": {"vip": []}}, REGISTRY)


def test_an_emoji_in_both_places_must_agree() -> None:
    assert merged({"vip": ("VIP",)}, {"vip": ("VIP",), "fire": ("Q4",)}) == {"vip": ("VIP",), "fire": ("Q4",)}
    with pytest.raises(ReactionsError, match="keep it in one place"):
        merged({"vip": ("VIP",)}, {"vip": ("Gold",)})
