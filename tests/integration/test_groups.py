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


async def test_bots_sharing_a_database_ask_slack_once_a_period(tmp_path: object) -> None:
    from bot.store import AsyncStore, Store

    with FakeSlack() as fake:
        fake.groups["leads"] = ("S1", ["U4", "U5"])
        store = AsyncStore(Store(f"sqlite:///{tmp_path}/bot.db"))
        async with aiohttp.ClientSession() as session:
            client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, session=session)
            replicas = [Groups(client, ["@leads"], store=store) for _ in range(3)]
            asked = [await groups.refresh_shared(every=3600) for groups in replicas]
            assert asked == [True, False, False]  # one asks Slack; the others read what it kept
            assert len(fake.calls_to("usergroups.users.list")) == 1
            assert all(groups.members("@leads") == frozenset({"U4", "U5"}) for groups in replicas)
            fake.groups["leads"] = ("S1", ["U6"])
            # The next period (a period of another length is another period): one asks again, the others follow.
            asked = [await groups.refresh_shared(every=7200) for groups in replicas[::-1]]
            assert asked == [True, False, False] and len(fake.calls_to("usergroups.users.list")) == 2
            assert all(groups.members("@leads") == frozenset({"U6"}) for groups in replicas)
            # A period whose reader cannot reach Slack shares nothing: the others keep the members they had.
            fake.fail("usergroups.users.list", "internal_error")
            asked = [await groups.refresh_shared(every=1800) for groups in replicas]
            assert asked == [True, False, False]
            assert all(groups.members("@leads") == frozenset({"U6"}) for groups in replicas)
            # A bot with another list of groups (a policy being rolled out) keeps its own.
            other = Groups(client, ["@leads", "S9"], store=store)
            fake.groups["ops"] = ("S9", ["U9"])
            assert await other.refresh_shared(every=1800) is True
            assert other.members("S9") == frozenset({"U9"})
            await replicas[1].refresh_shared(every=1800)
            assert replicas[1].members("@leads") == frozenset({"U6"})
        await store.close()
