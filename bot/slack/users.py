"""What the bot needs to know about each Slack user, from `users.info`, cached: their own time zone and
locale (dates are read in the zone; the locale says whether 02/03 is 2 March or 3 February) and whether
they are a workspace admin (who may undo others' changes)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import Habits

log = logging.getLogger("segmetrics_slack.users")

USER_TTL = 6 * 3600
# After a failed look-up, wait this long before asking Slack again for that user.
FAILURE_TTL = 60


class Users:
    """`users.info` once per user per `ttl`; concurrent asks for one user share one call."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = USER_TTL) -> None:
        self._client = client
        self._ttl = ttl
        self._users: dict[str, tuple[Mapping[str, Any], float]] = {}
        self._pending: dict[str, asyncio.Future[Mapping[str, Any]]] = {}

    def cached_habits(self, user_id: str) -> Habits:
        """Zone and locale if known and fresh, without asking Slack (for the acknowledgement path)."""
        entry = self._users.get(user_id)
        return _habits(entry[0]) if entry and entry[1] >= time.monotonic() else Habits()

    async def habits(self, user_id: str) -> Habits:
        """The user's IANA zone and Slack locale; either is None when Slack does not say (the zone then
        falls back to SEGMETRICS_TIMEZONE, the day/month order to DATE_ORDER)."""
        return _habits(await self._user(user_id))

    async def zone(self, user_id: str) -> str | None:
        """The user's IANA zone, or None when Slack does not say (the caller falls back to SEGMETRICS_TIMEZONE)."""
        return (await self.habits(user_id)).zone

    async def is_admin(self, user_id: str) -> bool:
        """Asked fresh each time: a demoted admin must not keep the right for hours."""
        self._users.pop(user_id, None)
        user = await self._user(user_id)
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    async def _user(self, user_id: str) -> Mapping[str, Any]:
        entry = self._users.get(user_id)
        if entry is not None and entry[1] >= time.monotonic():
            return entry[0]
        pending = self._pending.get(user_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[user_id] = future
        try:
            user, ttl = await self._look_up(user_id)
            self._users[user_id] = (user, time.monotonic() + ttl)
            future.set_result(user)
            return user
        finally:
            if not future.done():
                future.set_result({})
            del self._pending[user_id]

    async def _look_up(self, user_id: str) -> tuple[Mapping[str, Any], float]:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            log.warning("users.info for %s failed (%s)", user_id, error.response.get("error"))
            return {}, FAILURE_TTL
        except Exception as error:  # a network hiccup must not fail the command
            log.warning("users.info for %s failed (%s)", user_id, type(error).__name__)
            return {}, FAILURE_TTL
        return response.get("user") or {}, self._ttl


def _habits(user: Mapping[str, Any]) -> Habits:
    return Habits(zone=user.get("tz") or None, locale=user.get("locale") or None)
