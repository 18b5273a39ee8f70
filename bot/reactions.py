"""Which emoji reactions tag contacts, and with what: `SEGMETRICS_REACTIONS` and the policy's `[reactions]`.

    SEGMETRICS_REACTIONS="vip=VIP; fire=Hot lead, Q4"        # emoji=tags; `;` between emoji, `,` between tags
    SEGMETRICS_REACTIONS='{"vip": ["VIP"], "fire": ["Hot lead", "Q4"]}'   # or JSON

    [reactions]                                             # in the policy file
    vip = ["VIP"]
    fire = ["Hot lead", "Q4"]

Emoji are named as Slack names them, without colons (`:fire:` is accepted and means `fire`); a skin tone
on a reaction (`thumbsup::skin-tone-2`) counts as the emoji itself. An emoji mapped in both places must map
to the same tags, else the bot does not start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.fields import quote_tag
from bot.problems import InvalidValue

Reactions = dict[str, tuple[str, ...]]

# Slack's emoji names: lower-case letters, digits, and - _ + ' (custom emoji included).
_EMOJI = re.compile(r"[a-z0-9_+'\-]{1,100}")
ENV_EXAMPLE = 'SEGMETRICS_REACTIONS="vip=VIP; fire=Hot lead, Q4"'
TABLE_EXAMPLE = 'fire = ["Hot lead", "Q4"]'


class ReactionsError(ValueError):
    """The reactions setting cannot be read; the message says where and gives an example."""


def emoji_name(reaction: str) -> str:
    """The emoji a reaction is of: `thumbsup::skin-tone-2` → `thumbsup`, `:fire:` → `fire`."""
    return reaction.strip().strip(":").split("::", 1)[0].lower()


def _emoji(name: str, where: str) -> str:
    emoji = emoji_name(name)
    if not _EMOJI.fullmatch(emoji):
        raise ReactionsError(
            f"{where}: `{name}` is not an emoji name (Slack's names, without colons, like `fire` or `white_check_mark`)"
        )
    return emoji


def _tags(value: Any, emoji: str, where: str, example: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ReactionsError(f"{where}: give `{emoji}` a list of tag names, e.g. {example}")
    tags = tuple(dict.fromkeys(" ".join(item.split()) for item in items if item.strip()))
    if not tags:
        raise ReactionsError(f"{where}: `{emoji}` names no tag; e.g. {example}")
    return tags


def from_env(text: str | None) -> Reactions:
    """`SEGMETRICS_REACTIONS`: `emoji=Tag, Tag; emoji=Tag`, or a JSON object of emoji → tags."""
    if text is None or not text.strip():
        return {}
    where = "SEGMETRICS_REACTIONS"
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise ReactionsError(f"{where} is not valid JSON ({error.msg}); or write it as {ENV_EXAMPLE}") from None
        return table(data, where)
    reactions: Reactions = {}
    for entry in stripped.split(";"):
        if not entry.strip():
            continue
        name, equals, tags = entry.partition("=")
        if not equals:
            raise ReactionsError(f"{where}: `{entry.strip()}` has no `=`; write emoji=tags, e.g. {ENV_EXAMPLE}")
        emoji = _emoji(name, where)
        if emoji in reactions:
            raise ReactionsError(f"{where}: `{emoji}` is given twice; give it once, with all its tags")
        reactions[emoji] = _tags(tags.split(","), emoji, where, ENV_EXAMPLE)
    return reactions


def table(data: Any, where: str) -> Reactions:
    """A `[reactions]` table (or the JSON form of SEGMETRICS_REACTIONS): emoji → a tag or a list of tags."""
    if not isinstance(data, Mapping):
        raise ReactionsError(f"{where}: give emoji = tags, e.g. {TABLE_EXAMPLE}")
    reactions: Reactions = {}
    for name, value in data.items():
        emoji = _emoji(str(name), where)
        if emoji in reactions:
            raise ReactionsError(f"{where}: `{emoji}` is given twice; give it once, with all its tags")
        reactions[emoji] = _tags(value, emoji, where, TABLE_EXAMPLE)
    return reactions


def merged(env: Reactions, policy: Reactions) -> Reactions:
    """Both places together; an emoji given in both must name the same tags."""
    for emoji in env.keys() & policy.keys():
        if env[emoji] != policy[emoji]:
            raise ReactionsError(
                f"`{emoji}` tags with {', '.join(env[emoji])} in SEGMETRICS_REACTIONS but with "
                f"{', '.join(policy[emoji])} in the policy's [reactions]; keep it in one place"
            )
    return {**policy, **env}


def configured(env_text: str | None, policy_reactions: Reactions, registry: Any) -> Reactions:
    """The reactions in force: SEGMETRICS_REACTIONS and the policy's [reactions], each tag read as `tag add`
    reads it (`ReactionsError` naming the emoji when one cannot be). Empty: tagging by reaction is off."""
    reactions = merged(from_env(env_text), policy_reactions)
    kind = registry["tag add"].param("tags").kind
    for emoji, tags in reactions.items():
        try:
            kind.read_many([quote_tag(tag) for tag in tags], None)
        except InvalidValue as problem:
            raise ReactionsError(f"`{emoji}`: the tags {problem.message}") from None
    return reactions
