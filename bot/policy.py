"""Who may run which operation, and where. SegMetrics has one API key per account: the bot is the gatekeeper.

- `SEGMETRICS_BOT_ADMINS`: Slack user ids (`U…`, `W…`) and user groups (`@handle` or `S…`).
- `SEGMETRICS_BOT_POLICY`: a TOML file, optional:

      [defaults]                 # by kind of operation: reads, writes, deletes, api
      deletes = "admins"

      [operations."contact delete"]
      allow = ["admins", "U0123ABCD", "@marketing-leads"]   # or "everyone" / "admins"
      channels = ["#marketing", "C0123ABCD"]                # only there (optional)

      [connections.client-acme]   # who may send through a connection (see bot.connections), on top of the above
      allow = ["@acme-team"]

      [steps]                     # who may run the Workflow Builder steps at all, on top of the above
      allow = ["@marketing-ops"]

      [reactions]                 # emoji that tag the contacts a message mentions (see bot.reactions)
      vip = ["VIP"]

Without a file: reads, writes and deletes for everyone (deletes always behind a confirmation), and the raw
API call for admins only, so disabled until an admin list exists.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.connections import NAME, NAME_NOT_GIVEN, NAME_RULE
from bot.operation import Operation, Registry
from bot.reactions import Reactions, ReactionsError
from bot.reactions import table as reaction_table

Category = Literal["reads", "writes", "deletes", "api"]
CATEGORIES: tuple[Category, ...] = ("reads", "writes", "deletes", "api")
EVERYONE, ADMINS = "everyone", "admins"
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
DEFAULTS: dict[Category, tuple[str, ...]] = {
    "reads": (EVERYONE,),
    "writes": (EVERYONE,),
    "deletes": (EVERYONE,),
    "api": (ADMINS,),
}


class PolicyError(ValueError):
    """The policy file is wrong; the message says where."""


@dataclass(frozen=True)
class Rule:
    allow: tuple[str, ...]
    channels: tuple[str, ...]
    source: str  # for people: where the rule is written


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    message: str = ""


def category(op: Operation) -> Category:
    if op.resource == "api":
        return "api"
    if op.destructive:
        return "deletes"
    if op.reads:
        return "reads"
    return "writes"


def _entries(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise PolicyError(f'{where}: give "everyone", "admins", or a list of user ids and @groups')
    entries = tuple(item.strip() for item in items)
    for entry in entries:
        if entry not in (EVERYONE, ADMINS) and not _is_person_or_group(entry):
            raise PolicyError(f"{where}: {entry!r} is not everyone, admins, a user id (U…) or a group (@handle or S…)")
    return entries


def _is_person_or_group(entry: str) -> bool:
    return entry.startswith("@") or (entry[:1] in "UWS" and entry[1:].isalnum() and entry.isupper())


class Policy:
    def __init__(
        self,
        *,
        admins: Sequence[str] = (),
        rules: Mapping[str, Rule] | None = None,
        defaults: Mapping[Category, Rule] | None = None,
        connections: Mapping[str, Rule] | None = None,
        steps: Rule | None = None,
        reactions: Reactions | None = None,
        path: str | None = None,
    ) -> None:
        self.admins = tuple(admins)
        self.rules = dict(rules or {})
        self.connections = dict(connections or {})
        self.steps = steps
        self.reactions = dict(reactions or {})
        self.defaults = dict(defaults or {})
        self.path = path

    @classmethod
    def load(cls, admins: Sequence[str], path: str | None, registry: Registry) -> Policy:
        if not path:
            return cls(admins=admins)
        if Path(path).is_dir():
            raise PolicyError(
                f"{path} is a directory: a policy per workspace (<team id>.toml) is for a bot installed by link; "
                "give one file"
            )
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise PolicyError(f"cannot read {path} ({error.strerror})") from None
        except tomllib.TOMLDecodeError as error:
            raise PolicyError(f"{path} is not valid TOML ({error})") from None
        return cls.parse(data, registry, admins=admins, path=path)

    @classmethod
    def parse(
        cls, data: Mapping[str, Any], registry: Registry, *, admins: Sequence[str] = (), path: str = "policy"
    ) -> Policy:
        unknown = set(data) - {"defaults", "operations", "connections", "steps", "reactions"}
        if unknown:
            raise PolicyError(
                f'{path}: unknown section(s) {sorted(unknown)}; use [defaults], [operations."…"], [connections.…], '
                "[steps] and [reactions]"
            )
        defaults: dict[Category, Rule] = {}
        for name, value in (data.get("defaults") or {}).items():
            if name not in CATEGORIES:
                raise PolicyError(f"{path}: [defaults] {name!r} is not one of {', '.join(CATEGORIES)}")
            # A rule is named to users by its section only: the file's place on the server is the operator's.
            defaults[name] = Rule(_entries(value, f"{path} [defaults] {name}"), (), f"[defaults] {name}")
        names = {op.name for op in registry}
        rules: dict[str, Rule] = {}
        for name, body in (data.get("operations") or {}).items():
            if name not in names:
                raise PolicyError(
                    f'{path}: [operations."{name}"] is not an operation; use one of {", ".join(sorted(names))}'
                )
            if not isinstance(body, Mapping) or set(body) - {"allow", "channels"}:
                raise PolicyError(f'{path}: [operations."{name}"] takes `allow` and `channels`')
            where = f'[operations."{name}"]'
            allow = _entries(body.get("allow", EVERYONE), f"{path} {where} allow")
            channels = body.get("channels", [])
            if not isinstance(channels, list) or not all(isinstance(item, str) for item in channels):
                raise PolicyError(f'{path} {where} channels: give a list such as ["#marketing", "C0123ABCD"]')
            rules[name] = Rule(allow, tuple(item.strip().removeprefix("#") for item in channels), where)
        connections: dict[str, Rule] = {}
        for name, body in (data.get("connections") or {}).items():
            where = f"[connections.{name}]"
            if not NAME.fullmatch(name):
                raise PolicyError(f"{path}: {where}: {NAME_RULE}")
            if not isinstance(body, Mapping) or set(body) != {"allow"}:
                raise PolicyError(f'{path}: {where} takes `allow` only, e.g. allow = ["@acme-team"]')
            connections[name] = Rule(_entries(body["allow"], f"{path} {where} allow"), (), where)
        steps = None
        if "steps" in data:
            body = data["steps"]
            if not isinstance(body, Mapping) or set(body) != {"allow"}:
                raise PolicyError(f'{path}: [steps] takes `allow` only, e.g. allow = ["@marketing-ops"]')
            steps = Rule(_entries(body["allow"], f"{path} [steps] allow"), (), "[steps]")
        try:
            reactions = reaction_table(data.get("reactions") or {}, f"{path} [reactions]")
        except ReactionsError as error:
            raise PolicyError(str(error)) from None
        return cls(
            admins=admins,
            rules=rules,
            defaults=defaults,
            connections=connections,
            steps=steps,
            reactions=reactions,
            path=path,
        )

    def check_connections(self, names: Sequence[str]) -> None:
        """`PolicyError` for a `[connections.<name>]` rule naming no connection: a misspelt name would leave the
        connection it meant open to everyone."""
        unknown = sorted(set(self.connections) - set(names))
        if unknown:
            listed = ", ".join(f"[connections.{name}]" for name in unknown)
            raise PolicyError(
                f"{listed} names no connection; the connections are {', '.join(f'`{name}`' for name in names)}"
            )

    def named(self) -> list[str]:
        """Every user group the rules name (for looking their members up)."""
        rules = [*self.rules.values(), *self.defaults.values(), *self.connections.values()]
        rules += [self.steps] if self.steps is not None else []
        return sorted({entry for rule in rules for entry in rule.allow if entry[:1] in "@S"})

    def rule_for(self, op: Operation) -> Rule:
        """The operation's own rule, else the rule of the operation it is ruled like (`order refund` →
        `order add`), else its category's default."""
        like: Operation | None = op
        while like is not None:
            if like.name in self.rules:
                return self.rules[like.name]
            like = like.ruled_like
        kind = category(op)
        return self.defaults.get(kind) or Rule(DEFAULTS[kind], (), f"the default for {kind}")

    def decide(
        self,
        op: Operation,
        user: str,
        *,
        channel_id: str | None = None,
        channel_name: str | None = None,
        members: Callable[[str], Iterable[str]] = lambda group: (),
        connection: str | None = None,
    ) -> Decision:
        """May `user` run `op` here, through `connection`? `members(group)` gives a user group's members (as
        cached from Slack). The operation's rule and the connection's must both allow it."""
        decision = self._decide_operation(op, user, channel_id=channel_id, channel_name=channel_name, members=members)
        rule = self.connections.get(connection or "")
        if not decision.allowed or rule is None or self._allows(rule, user, members):
            return decision
        return Decision(
            False,
            rule.source,
            f"The connection `{connection}` is not open to you ({rule.source}). {self.who_can_change()}",
        )

    def decide_step(
        self, op: Operation, user: str, *, members: Callable[[str], Iterable[str]] = lambda group: ()
    ) -> Decision:
        """May `user` run `op` as a Workflow Builder step? Only `[steps]` decides here (the operation's own rules
        are `decide`'s); without it, whoever may run the operation may run its step."""
        if self.steps is None or self._allows(self.steps, user, members):
            return Decision(True, "[steps]")
        return Decision(
            False, "[steps]", f"*{op.title}* may not be run from a workflow by you ([steps]). {self.who_can_change()}"
        )

    def _allows(self, rule: Rule, user: str, members: Callable[[str], Iterable[str]]) -> bool:
        if EVERYONE in rule.allow or (ADMINS in rule.allow and self.is_admin(user, members)):
            return True
        named = [entry for entry in rule.allow if entry not in (EVERYONE, ADMINS)]
        return user in named or any(user in set(members(entry)) for entry in named if not entry.startswith(("U", "W")))

    def _decide_operation(
        self,
        op: Operation,
        user: str,
        *,
        channel_id: str | None,
        channel_name: str | None,
        members: Callable[[str], Iterable[str]],
    ) -> Decision:
        rule = self.rule_for(op)
        if rule.channels and not ({channel_id, channel_name} & set(rule.channels)):
            where = ", ".join(f"<#{name}>" if _CHANNEL_ID.fullmatch(name) else f"#{name}" for name in rule.channels)
            said = f"*{op.title}* may only be run in {where} ({rule.source})."
            if channel_name == NAME_NOT_GIVEN and not all(_CHANNEL_ID.fullmatch(name) for name in rule.channels):
                said += (
                    " Slack gives a reaction or a workflow step only the channel's id, not its name: an admin can "
                    "list the channel by its id (C…) in the policy."
                )
            return Decision(False, rule.source, said)
        if self._allows(rule, user, members):
            return Decision(True, rule.source)
        if rule.allow == (ADMINS,) and not self.admins:
            return Decision(
                False,
                rule.source,
                f"*{op.title}* is disabled until SEGMETRICS_BOT_ADMINS names at least one admin ({rule.source}); "
                "whoever runs the bot can set it.",
            )
        return Decision(False, rule.source, f"*{op.title}* is not open to you ({rule.source}). {self.who_can_change()}")

    def is_admin(self, user: str, members: Callable[[str], Iterable[str]] = lambda group: ()) -> bool:
        return user in self.admins or any(
            user in set(members(entry)) for entry in self.admins if entry.startswith(("@", "S"))
        )

    def who_can_change(self) -> str:
        people = ", ".join(f"<@{entry}>" if entry[:1] in "UW" else f"`{entry}`" for entry in self.admins)
        where = "the policy file (SEGMETRICS_BOT_POLICY)"
        return (
            f"Ask an admin ({people}) or whoever runs the bot to change {where}."
            if people
            else (f"Whoever runs the bot can change {where}.")
        )


def policy_for(path: str | None, team: str) -> str | None:
    """The policy file of one workspace of a bot installed by link. SEGMETRICS_BOT_POLICY a file: the same policy
    for every workspace. A directory: `<team id>.toml` in it, else its `default.toml`, else none (everyone may
    run everything, admins manage connections)."""
    if not path or not Path(path).is_dir():
        return path
    for name in (f"{team}.toml", "default.toml"):
        if (Path(path) / name).is_file():
            return str(Path(path) / name)
    return None
