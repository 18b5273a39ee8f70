"""Members of the Slack user groups the policy names (`@marketing-leads` or `S0123ABCD`), kept fresh in the
background so a policy decision before an acknowledgement never waits on Slack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("segmetrics_slack.groups")

REFRESH_EVERY = 600


class Groups:
    """Only the groups named in the settings are looked up: handles are mapped to ids with
    `usergroups.list`, members come from `usergroups.users.list`."""

    def __init__(self, client: AsyncWebClient, named: Iterable[str] = ()) -> None:
        self._client = client
        self._named = sorted(
            {entry.lower() if entry.startswith("@") else entry for entry in named if entry[:1] in "@S"}
        )
        self._members: dict[str, frozenset[str]] = {}
        self._task: asyncio.Task[None] | None = None

    def members(self, group: str) -> frozenset[str]:
        """The members of `@handle` or `S…` as last seen (none when unknown)."""
        return self._members.get(group.lower() if group.startswith("@") else group, frozenset())

    async def refresh(self) -> None:
        if not self._named:
            return
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
            return
        except Exception as error:  # Slack unreachable, an odd answer: never fatal, tried again later
            log.warning(
                "user groups could not be read (%s); group rules use the last known members", type(error).__name__
            )
            return
        self._members = members

    def keep_fresh(self, every: float = REFRESH_EVERY) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                await self.refresh()

        self._task = asyncio.get_running_loop().create_task(loop(), name="refresh user groups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
