"""Each user's own time zone, from Slack's `users.info`, cached: relative dates are read in it."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("segmetrics_slack.users")

ZONE_TTL = 6 * 3600
# After a failed look-up, wait this long before asking Slack again for that user.
FAILURE_TTL = 60


class UserZones:
    """IANA zone names per Slack user. `get` asks Slack once per user per `ttl`; concurrent asks share one call."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = ZONE_TTL) -> None:
        self._client = client
        self._ttl = ttl
        self._zones: dict[str, tuple[str | None, float]] = {}
        self._pending: dict[str, asyncio.Future[str | None]] = {}

    def cached(self, user_id: str) -> str | None:
        """The zone if known and fresh, without asking Slack (for the acknowledgement path)."""
        entry = self._zones.get(user_id)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    async def get(self, user_id: str) -> str | None:
        """The user's zone, or None when Slack does not say (the caller falls back to SEGMETRICS_TIMEZONE)."""
        entry = self._zones.get(user_id)
        if entry is not None and entry[1] >= time.monotonic():
            return entry[0]
        pending = self._pending.get(user_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending[user_id] = future
        try:
            zone, ttl = await self._look_up(user_id)
            self._zones[user_id] = (zone, time.monotonic() + ttl)
            future.set_result(zone)
            return zone
        finally:
            if not future.done():
                future.set_result(None)
            del self._pending[user_id]

    async def _look_up(self, user_id: str) -> tuple[str | None, float]:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            log.warning(
                "users.info for %s failed (%s); using SEGMETRICS_TIMEZONE", user_id, error.response.get("error")
            )
            return None, FAILURE_TTL
        except Exception as error:  # a network hiccup must not fail the command
            log.warning("users.info for %s failed (%s); using SEGMETRICS_TIMEZONE", user_id, type(error).__name__)
            return None, FAILURE_TTL
        user = response.get("user") or {}
        return user.get("tz") or None, self._ttl
