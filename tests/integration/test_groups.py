"""User groups for the policy: read from Slack, and a Slack that cannot be reached never stops the bot."""

from __future__ import annotations

import socket

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.groups import Groups
from bot.testing import FakeSlack


async def test_members_are_read_and_kept_when_slack_goes_away() -> None:
    with FakeSlack() as fake:
        fake.groups["leads"] = ("S1", ["U4", "U5"])
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, session=session)
            groups = Groups(client, ["@leads", "S1", "U1"])
            await groups.refresh()
            assert groups.members("@Leads") == groups.members("S1") == frozenset({"U4", "U5"})
            fake.stop()  # Slack unreachable: connection refused
            await groups.refresh()
            assert groups.members("@leads") == frozenset({"U4", "U5"})


async def test_a_slack_that_is_not_there_leaves_no_members_and_raises_nothing() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{closed}/api/", session=session)
        groups = Groups(client, ["@leads"])
        await groups.refresh()
        assert groups.members("@leads") == frozenset()
