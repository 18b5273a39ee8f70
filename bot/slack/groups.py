"""Members of the Slack user groups the policy names (`@marketing-leads` or `S0123ABCD`), kept fresh in the
background so a policy decision before an acknowledgement never waits on Slack.

Bots sharing a database share the members too: in each refresh period one of them (whoever claims the
period first) asks Slack and keeps what it found in the database; the others take it from there. However many
replicas run, Slack is asked once a period."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store import ticket_id

log = logging.getLogger("segmetrics_slack.groups")

REFRESH_EVERY = 600
SHARED = "groups"  # the ticket (kind and key) holding the members last read, for every bot on the database


class Groups:
    """Only the groups named in the settings are looked up: handles are mapped to ids with
    `usergroups.list`, members come from `usergroups.users.list`."""

    def __init__(self, client: AsyncWebClient, named: Iterable[str] = (), *, store: Any = None) -> None:
        self._client = client
        # The bot's database (`AsyncStore`), where the members are shared with other bots; None: not shared.
        self._store = store
        self._named = sorted(
            {entry.lower() if entry.startswith("@") else entry for entry in named if entry[:1] in "@S"}
        )
        self._members: dict[str, frozenset[str]] = {}
        self._task: asyncio.Task[None] | None = None

    def members(self, group: str) -> frozenset[str]:
        """The members of `@handle` or `S…` as last seen (none when unknown)."""
        return self._members.get(group.lower() if group.startswith("@") else group, frozenset())

    async def refresh(self) -> bool:
        """Read the members from Slack; False (the last known members kept) when Slack could not say."""
        if not self._named:
            return True
        try:
            ids = {entry: entry for entry in self._named if not entry.startswith("@")}
            if len(ids) < len(self._named):
                listed = await self._client.usergroups_list()
                handles = {
                    "@" + str(group.get("handle", "")).lower(): str(group.get("id"))
                    for group in listed.get("usergroups") or []
                }
                ids.update({entry: handles[entry] for entry in self._named if entry in handles})
            members = {}
            for entry, group_id in ids.items():
                response = await self._client.usergroups_users_list(usergroup=group_id)
                members[entry] = frozenset(response.get("users") or [])
        except SlackApiError as error:
            log.warning(
                "user groups could not be read (%s); group rules use the last known members",
                error.response.get("error"),
            )
            return False
        except Exception as error:  # Slack unreachable, an odd answer: never fatal, tried again later
            log.warning(
                "user groups could not be read (%s); group rules use the last known members", type(error).__name__
            )
            return False
        self._members = members
        return True

    async def refresh_shared(self, every: float = REFRESH_EVERY) -> bool:
        """This period's members: asked of Slack by the one bot that claims the period, read from the database by
        the others. True when this bot asked Slack."""
        if not self._named:
            return False
        if self._store is None:
            await self.refresh()
            return True
        store = self._store
        # Kept per list of groups: bots with another policy (during a rolling change) keep their own.
        key = f"{SHARED}:{','.join(self._named)}"
        period = int(time.time() // every)
        if await store.call(store.store.claim, f"{key}:{period}"):
            if await self.refresh():  # a failed read is not shared: the others keep what they have
                members = {entry: sorted(users) for entry, users in self._members.items()}
                if await store.call(store.store.ticket, ticket_id(key), SHARED) is None:
                    await store.call(store.store.put_ticket, SHARED, {"members": members}, _KEPT, key=key)
                else:
                    await store.call(store.store.update_ticket, ticket_id(key), SHARED, {"members": members})
            return True
        ticket = await store.call(store.store.ticket, ticket_id(key), SHARED)
        if ticket is None:  # nobody has kept any yet (the first start): asked here, not shared this time
            await self.refresh()
            return True
        shared = ticket[0].get("members") or {}
        self._members = {entry: frozenset(shared[entry]) for entry in self._named if entry in shared}
        return False

    def keep_fresh(self, every: float = REFRESH_EVERY) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.refresh_shared(every)
                except Exception as error:  # the database, for a moment: the last known members stay
                    log.warning("user groups could not be refreshed (%s)", type(error).__name__)

        self._task = asyncio.get_running_loop().create_task(loop(), name="refresh user groups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# The shared members are kept well past a period: a bot that cannot reach Slack still finds the last ones.
_KEPT = timedelta(days=30)
