"""Connections: who the bot is at SegMetrics for one piece of work (an API key, an account, an integration,
and that account's time zone and currency), and which one a piece of work goes through.

The environment variables (`SEGMETRICS_API_KEY`, …) define the connection named `default`; the file named by
`SEGMETRICS_CONNECTIONS` declares more; admins add others in Slack (their keys encrypted in the database).

Routing, in this order: an explicit `via=<name>`; else the channel's connection; else the resource's; else
`default`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from bot.distance import closest
from bot.problems import InvalidValue

if TYPE_CHECKING:
    from bot.keyring import Keyring
    from bot.store import StoredConnection

DEFAULT = "default"
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
NAME_RULE = "a connection's name is 1 to 32 lower-case letters, digits, `-` or `_`, e.g. `payments` or `client-acme`"
# A channel id has a digit: `CAMPAIGNS` is a channel name written in capitals, not an id.
CHANNEL_ID = re.compile(r"[CG](?=[A-Z]*[0-9])[A-Z0-9]{6,}")
Source = Literal["env", "file", "slack", "sandbox"]
# What Slack sends as a private channel's name in a slash command.
UNNAMED_PRIVATE_CHANNEL = "privategroup"
# The channel's name where Slack gives only its id (a reaction, a workflow step): no Slack channel is named so.
NAME_NOT_GIVEN = "(name not given)"
# Shown in place of a key: never a part of it.
MASK = "••••••••"


@dataclass(frozen=True)
class Connection:
    """One SegMetrics connection. The key only leaves it through `api_key.get_secret_value()`."""

    name: str
    api_key: SecretStr = field(repr=False)
    account_id: str
    integration_id: str
    timezone: str
    currency: str
    # The resources (`order`, `ad`, …) and channels (`#sales`, `C0SALES12`) it is the default for.
    resources: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    source: Source = "env"

    @property
    def sandbox(self) -> bool:
        return self.source == "sandbox"

    @property
    def fingerprint(self) -> str:
        """What work routed to it depends on (account, integration, zone, currency; not the key, which may be
        rotated): work asked for before a change of these is refused rather than sent elsewhere."""
        what = "\0".join((self.account_id, self.integration_id, self.timezone, self.currency))
        return hashlib.sha256(what.encode()).hexdigest()[:16]

    @property
    def editable(self) -> bool:
        """Whether admins may change it in Slack (the environment's and the file's are read-only there)."""
        return self.source == "slack"

    def masked_key(self) -> str:
        """The key as shown to admins: its length only, never a character of it."""
        return f"{MASK} ({len(self.api_key.get_secret_value())} characters)"

    def serves_channel(self, channel_id: str | None, channel_name: str | None) -> bool:
        for channel in self.channels:
            if channel_id and channel == channel_id:
                return True
            if channel_name and channel.startswith("#") and channel[1:].lower() == channel_name.lower():
                return True
        return False

    def default_for(self) -> str:
        """What it is the default for, in words: "order, tag; in #sales" (empty when only by name)."""
        parts = []
        if self.resources:
            parts.append(", ".join(self.resources))
        if self.channels:
            parts.append("in " + ", ".join(f"<#{c}>" if CHANNEL_ID.fullmatch(c) else c for c in self.channels))
        return "; ".join(parts)


def id_problem(value: str) -> str | None:
    """Why an account or integration id cannot be used (it becomes a segment of every URL), or None."""
    if "/" in value or "\\" in value:
        return "must not contain `/` or `\\`"
    if any(char.isspace() or not char.isprintable() for char in value):
        return "must not contain spaces or line breaks"
    if set(value) <= {"."}:
        return "cannot be made only of dots"
    return None


def channel_entry(text: str) -> str:
    """A channel as a connection names it: `#name` (lower-cased) or a channel id. Raises `ValueError`."""
    clean = text.strip()
    if CHANNEL_ID.fullmatch(clean):
        return clean
    name = clean.removeprefix("#").lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,79}", name):
        raise ValueError(f"{text!r} is not a channel: give `#channel-name` or a channel id such as C0SALES12")
    return "#" + name


def conflicts(connections: Iterable[Connection]) -> list[str]:
    """Every resource and channel two connections both claim, one line each (empty when none)."""
    problems = []
    claimed: dict[str, str] = {}
    for connection in connections:
        for claim in [
            *(f"resource `{r}`" for r in connection.resources),
            *(f"channel {c}" for c in connection.channels),
        ]:
            other = claimed.setdefault(claim, connection.name)
            if other != connection.name:
                problems.append(
                    f"connections `{other}` and `{connection.name}` both claim the {claim}; give it to one of them"
                )
    return problems


class Connections:
    """The connections the bot knows, by name, and the routing between them."""

    def __init__(self, connections: Iterable[Connection] = ()) -> None:
        self._by_name: dict[str, Connection] = {}
        for connection in connections:
            self.put(connection)

    def __iter__(self) -> Iterator[Connection]:
        return iter(sorted(self._by_name.values(), key=lambda c: (c.name != DEFAULT, c.name)))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        return [connection.name for connection in self]

    def get(self, name: str) -> Connection | None:
        return self._by_name.get(name)

    def put(self, connection: Connection) -> None:
        self._by_name[connection.name] = connection

    def remove(self, name: str) -> Connection | None:
        return self._by_name.pop(name, None)

    @property
    def default(self) -> Connection:
        return self._by_name[DEFAULT]

    def named(self, name: str) -> Connection:
        """The connection `via=` names; `InvalidValue` saying which exist when there is none."""
        clean = name.strip().lower()
        found = self._by_name.get(clean)
        if found is not None:
            return found
        near = closest(clean, self.names)
        hint = f" Did you mean `via={near}`?" if near else ""
        raise InvalidValue(
            f"there is no connection named `{name}`.{hint} The connections are "
            + ", ".join(f"`{n}`" for n in self.names),
            example=f"via={self.names[-1]}",
        )

    def route(
        self,
        resource: str,
        *,
        via: str | None = None,
        channel_id: str | None = None,
        channel_name: str | None = None,
    ) -> Connection:
        """The connection a piece of work on `resource` goes through: `via`, else the channel's, else the
        resource's, else `default`."""
        if via:
            return self.named(via)
        connections = list(self)
        for connection in connections:
            if connection.serves_channel(channel_id, channel_name):
                return connection
        if channel_name in (UNNAMED_PRIVATE_CHANNEL, NAME_NOT_GIVEN):
            by_name = [connection for connection in connections if any(c.startswith("#") for c in connection.channels)]
            if by_name:
                # Slack does not say the channel's name: it may be one a connection claims by name.
                names = ", ".join(f"`{c.name}`" for c in by_name)
                which = "this private channel's" if channel_name == UNNAMED_PRIVATE_CHANNEL else "the channel's"
                raise InvalidValue(
                    f"Slack does not tell the bot {which} name here, and {names} claim channels by name, so it "
                    "cannot tell which connection this channel's work goes to. Say it with `via=<name>`; an admin "
                    "can give the channel by its id (C…) instead of its name so this is not asked again",
                    example=f"via={by_name[0].name}",
                )
        for connection in connections:
            if resource in connection.resources:
                return connection
        return self.default


class AdminError(Exception):
    """The database's connections cannot be used; the message says what to fix."""


def connection_of(row: StoredConnection, keyring: Keyring) -> Connection:
    """A stored connection with its key decrypted; `AdminError` when the keyring cannot read it."""
    from bot.keyring import KeyringError

    try:
        key = keyring.decrypt(row.api_key_token)
    except KeyringError as error:
        raise AdminError(f"the key of the connection `{row.name}` cannot be read: {error}") from None
    return Connection(
        row.name,
        SecretStr(key),
        row.account_id,
        row.integration_id,
        row.timezone,
        row.currency,
        tuple(row.resources),
        tuple(row.channels),
        source="slack",
    )


def stored_connections(
    rows: Sequence[StoredConnection], keyring: Keyring | None, fixed: Sequence[Connection]
) -> list[Connection]:
    """The connections added in Slack, checked against those of the environment and the file (`fixed`);
    `AdminError` when they cannot be used as they are (no key to read them, a name or a claim taken since)."""
    if not rows:
        return []
    names = ", ".join(f"`{row.name}`" for row in rows)
    if keyring is None:
        raise AdminError(
            f"the database holds connections added in Slack ({names}) and SEGMETRICS_BOT_SECRET_KEY is not set; set "
            "it to the key they were stored with"
        )
    taken = {connection.name for connection in fixed}
    clashes = [row.name for row in rows if row.name in taken]
    if clashes:
        raise AdminError(
            f"the connection(s) {', '.join(clashes)} added in Slack now also exist in the environment or the "
            "connections file; remove one of the two"
        )
    found = [connection_of(row, keyring) for row in rows]
    problems = conflicts([*fixed, *found])
    if problems:
        raise AdminError("; ".join(problems))
    return found
