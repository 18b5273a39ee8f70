"""The bot as Slack meets it: its real HTTP server on 127.0.0.1, signed requests, a fake Slack Web API,
and the SegMetrics sandbox behind real HTTP."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.sandbox import Sandbox, SandboxServer
from bot.settings import HttpSettings, load_settings
from bot.slack.app import SlackBot, build_bot
from bot.slack.server import HttpService
from bot.testing import Call, FakeSlack

SIGNING_SECRET = "e2e-signing-secret-5f1c"
API_KEY = "sk-e2e-SECRET-77aa"
ACCOUNT, INTEGRATION = "acct-1", "int-9"
USER, CHANNEL, TEAM = "U1", "C1", "T0TEST"
BASE = f"/api/v1/{ACCOUNT}/{INTEGRATION}"
# Timings scaled down (a call times out after 0.5 s, the outbox retries after 0.2 s with gaps of at most 0.5 s)
# so an outage of a few seconds exercises what a real one of minutes would.
FAST = {
    "segmetrics_timeout": 0.5,
    "segmetrics_max_attempts": 2,
    "segmetrics_retry_budget": 1.5,
    "segmetrics_outbox_first_retry": 0.2,
    "segmetrics_outbox_max_gap": 0.5,
}
_triggers = itertools.count(1)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s<>]+")


def slack_escaped(text: str) -> str:
    """What Slack sends for what a user typed, with `should_escape`: `&<>` as entities, e-mails as
    `<mailto:…|…>`, links as `<…>`."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _URL.sub(lambda match: f"<{match.group(0)}>", text)
    return _EMAIL.sub(lambda match: f"<mailto:{match.group(0)}|{match.group(0)}>", text)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(user_zones={USER: "America/New_York"}) as fake:
        yield fake


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION)


@pytest.fixture
def segmetrics(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as server:
        yield server


def temporary_database() -> str:
    """A fresh SQLite file per bot, outside the repository."""
    return f"sqlite:///{tempfile.mkdtemp(prefix='segmetrics-bot-')}/bot.db"


def bot_settings(fake: FakeSlack, server: SandboxServer, **overrides: Any) -> HttpSettings:
    values: dict[str, Any] = {
        "segmetrics_bot_database_url": temporary_database(),
        "segmetrics_bot_admins": USER,  # the raw API call is for admins
        "slack_bot_token": fake.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "segmetrics_api_key": API_KEY,
        "segmetrics_account_id": ACCOUNT,
        "segmetrics_integration_id": INTEGRATION,
        "segmetrics_import_url": server.import_url,
        "segmetrics_reporting_url": server.reporting_url,
    }
    settings = load_settings(env_file=None, model=HttpSettings, **{**values, **overrides})
    assert isinstance(settings, HttpSettings)
    return settings


@dataclass
class Slack:
    """Plays Slack's side: signs and sends what Slack would send to the bot's request URL."""

    url: str
    http: httpx.AsyncClient
    fake: FakeSlack
    bot: SlackBot
    # The workspace it plays: a bot installed by link serves several (`tests/e2e/test_install.py`).
    team: str = TEAM

    async def post(
        self,
        body: str,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> httpx.Response:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }
        return await self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

    def command_body(
        self,
        text: str,
        *,
        command: str = "/segmetrics",
        user: str = USER,
        channel: str = CHANNEL,
        channel_name: str = "marketing",
    ) -> str:
        trigger = next(_triggers)
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": self.team,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": channel_name,
                "user_id": user,
                "user_name": "jane",
                "command": command,
                "text": slack_escaped(text),
                "api_app_id": "A0TEST",
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(f"r{trigger}"),
                "trigger_id": f"trigger-{trigger}",
            }
        )

    async def command(self, text: str, **options: Any) -> httpx.Response:
        return await self.post(self.command_body(text, **options))

    async def interaction(self, payload: Mapping[str, Any]) -> httpx.Response:
        return await self.post(urlencode({"payload": json.dumps(payload)}))

    async def message_shortcut(
        self, callback_id: str, message: Mapping[str, Any], *, user: str = USER, channel: str = CHANNEL
    ) -> httpx.Response:
        trigger = next(_triggers)
        return await self.interaction(
            {
                "type": "message_action",
                "callback_id": callback_id,
                "trigger_id": f"trigger-{trigger}",
                "response_url": self.fake.response_url(f"m{trigger}"),
                "team": {"id": self.team, "domain": "test"},
                "channel": {"id": channel, "name": "marketing"},
                "user": {"id": user, "username": "jane", "team_id": self.team},
                "message_ts": message["ts"],
                "message": {"type": "message", **message},
                "token": "legacy-verification-token",
                "action_ts": str(time.time()),
            }
        )

    async def global_shortcut(self, callback_id: str, *, user: str = USER) -> httpx.Response:
        return await self.interaction(
            {
                "type": "shortcut",
                "callback_id": callback_id,
                "trigger_id": f"trigger-{next(_triggers)}",
                "team": {"id": self.team, "domain": "test"},
                "user": {"id": user, "username": "jane", "team_id": self.team},
                "token": "legacy-verification-token",
                "action_ts": str(time.time()),
            }
        )

    async def click(
        self,
        action_id: str,
        value: str | None,
        *,
        user: str = USER,
        channel: str = CHANNEL,
        message: Mapping[str, Any] | None = None,
        response_key: str = "click",
    ) -> httpx.Response:
        """A button clicked on a message (ephemeral when `message` is None, as Slack sends it then)."""
        container: dict[str, Any] = {"type": "message", "channel_id": channel, "is_ephemeral": message is None}
        if message is not None:
            container["message_ts"] = message.get("ts")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": self.team, "domain": "test"},
            "user": {"id": user, "username": "jane", "team_id": self.team},
            "api_app_id": "A0TEST",
            "token": "legacy-verification-token",
            "trigger_id": f"trigger-{next(_triggers)}",
            "container": container,
            "channel": {"id": channel, "name": "marketing"},
            "response_url": self.fake.response_url(response_key),
            "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1"}],
        }
        if message is not None:
            payload["message"] = dict(message)
        return await self.interaction(payload)

    async def event(self, event: Mapping[str, Any]) -> httpx.Response:
        body = {
            "token": "legacy-verification-token",
            "team_id": self.team,
            "api_app_id": "A0TEST",
            "event": dict(event),
            "type": "event_callback",
            "event_id": f"Ev{next(_triggers)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team, "user_id": "UBOT", "is_bot": True}],
        }
        return await self.post(json.dumps(body), content_type="application/json")

    async def step(
        self, callback_id: str, inputs: Mapping[str, Any], *, execution: str | None = None
    ) -> tuple[httpx.Response, str]:
        """A workflow reaching one of the bot's steps: a signed `function_executed` event. Its execution id too."""
        execution = execution or f"Fx{next(_triggers):010d}"
        event = {
            "type": "function_executed",
            "function": {
                "id": f"Fn{callback_id.upper()[:8]}",
                "callback_id": callback_id,
                "title": callback_id,
                "type": "app",
                "app_id": "A0TEST",
                "date_created": 1_700_000_000,
                "date_updated": 1_700_000_000,
                "date_deleted": 0,
            },
            "inputs": dict(inputs),
            "function_execution_id": execution,
            "workflow_execution_id": f"Wx{next(_triggers):010d}",
            "event_ts": str(time.time()),
            # Slack's own token for the run, valid only while it runs: the fake accepts none but the bot's.
            "bot_access_token": "xwfp-short-lived-run-token",
        }
        return await self.event(event), execution

    async def step_result(self, execution: str, timeout: float = 5.0) -> tuple[str, Any]:
        """How the step run was completed: ("success", outputs) or ("error", message); polled, bounded."""
        deadline = time.monotonic() + timeout
        while (result := self.fake.function_result(execution)) is None:
            assert time.monotonic() < deadline, f"step run {execution} not completed within {timeout} s"
            await asyncio.sleep(0.01)
        return result

    async def reaction(
        self, emoji: str, ts: str, *, user: str = USER, channel: str = CHANNEL, added: bool = True
    ) -> httpx.Response:
        """Someone adds (or removes) a reaction on the message at `ts`: Slack sends where it is, not the message."""
        return await self.event(
            {
                "type": "reaction_added" if added else "reaction_removed",
                "user": user,
                "reaction": emoji,
                "item_user": "U2",
                "item": {"type": "message", "channel": channel, "ts": ts},
                "event_ts": str(time.time()),
            }
        )

    async def submit(
        self,
        view: Mapping[str, Any],
        typed: Mapping[str, Any] | None = None,
        *,
        user: str = USER,
        response_urls: list[dict[str, str]] | None = None,
    ) -> httpx.Response:
        """Submit a view the bot opened, with its initial values, as changed by `typed` (block_id → text or option)."""
        payload = {
            "type": "view_submission",
            "team": {"id": self.team, "domain": "test"},
            "user": {"id": user, "username": "jane", "name": "jane", "team_id": self.team},
            "api_app_id": "A0TEST",
            "token": "legacy-verification-token",
            "trigger_id": f"trigger-{next(_triggers)}",
            "view": {
                **view,
                "state": {"values": state_of(view, typed or {})},
                "team_id": self.team,
                "app_id": "A0TEST",
            },
            "response_urls": response_urls or [],
            "is_enterprise_install": False,
        }
        return await self.interaction(payload)

    async def opened_view(self, after: float = 0.0, *, method: str = "views.open") -> dict[str, Any]:
        call = await self.fake.async_wait_for(method, lambda call: call.at >= after)
        return dict(call.args["view"], id=f"V-opened-{next(_triggers)}")

    async def posted(self, predicate: Any = None, *, method: str = "chat.postMessage", timeout: float = 5.0) -> Call:
        return await self.fake.async_wait_for(method, predicate, timeout=timeout)


def state_of(view: Mapping[str, Any], typed: Mapping[str, str | None]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        block_id, element = block["block_id"], block["element"]
        if element["type"] == "multi_static_select":
            chosen = typed.get(block_id, [option["value"] for option in element.get("initial_options") or []])
            values[block_id] = {
                "value": {"type": "multi_static_select", "selected_options": [{"value": v} for v in chosen]}
            }
        elif element["type"] == "file_input":
            values[block_id] = {"value": {"type": "file_input", "files": typed.get(block_id) or []}}
        elif element["type"] == "multi_conversations_select":
            chosen = typed.get(block_id, element.get("initial_conversations") or [])
            values[block_id] = {"value": {"type": "multi_conversations_select", "selected_conversations": chosen}}
        elif element["type"] == "conversations_select":
            values[block_id] = {"value": {"type": "conversations_select", "selected_conversation": typed.get(block_id)}}
        elif element["type"] == "static_select":
            chosen = typed.get(block_id, (element.get("initial_option") or {}).get("value"))
            option = {"value": chosen, "text": {"type": "plain_text", "text": chosen}} if chosen else None
            values[block_id] = {"value": {"type": "static_select", "selected_option": option}}
        else:
            values[block_id] = {
                "value": {"type": "plain_text_input", "value": typed.get(block_id, element.get("initial_value"))}
            }
    return values


@pytest.fixture
async def slack(fake_slack: FakeSlack, segmetrics: SandboxServer) -> AsyncIterator[Slack]:
    bot = build_bot(bot_settings(fake_slack, segmetrics))
    await bot.prepare()
    service = HttpService(bot, host="127.0.0.1", port=0)
    await service.start()
    async with httpx.AsyncClient(timeout=10) as http:
        yield Slack(url=f"http://127.0.0.1:{service.port}", http=http, fake=fake_slack, bot=bot)
    await service.stop(grace=5)


@pytest.fixture
async def sandboxed(fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    settings = load_settings(
        env_file=None,
        segmetrics_bot_database_url=temporary_database(),
        model=HttpSettings,
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
    )
    bot = build_bot(settings)
    await bot.prepare()
    service = HttpService(bot, port=0)
    await service.start()
    async with httpx.AsyncClient() as http:
        yield Slack(url=f"http://127.0.0.1:{service.port}", http=http, fake=fake_slack, bot=bot)
    await service.stop(grace=5)


class BotFactory:
    """Starts bots on demand (several in one test: a restart), each with the given settings changes."""

    def __init__(self, fake: FakeSlack, server: SandboxServer) -> None:
        self.fake, self.server = fake, server
        self._running: list[tuple[HttpService, httpx.AsyncClient]] = []

    async def start(self, **overrides: Any) -> Slack:
        bot = build_bot(bot_settings(self.fake, self.server, **overrides))
        await bot.prepare()
        service = HttpService(bot, host="127.0.0.1", port=0)
        await service.start()
        http = httpx.AsyncClient(timeout=10)
        self._running.append((service, http))
        return Slack(url=f"http://127.0.0.1:{service.port}", http=http, fake=self.fake, bot=bot)

    async def stop(self, slack: Slack, grace: float = 5) -> None:
        for entry in list(self._running):
            service, http = entry
            if service.bot is slack.bot:
                self._running.remove(entry)
                await service.stop(grace=grace)
                await http.aclose()

    async def stop_all(self) -> None:
        for service, http in self._running:
            await service.stop(grace=2)
            await http.aclose()
        self._running.clear()


@pytest.fixture
async def bots(fake_slack: FakeSlack, segmetrics: SandboxServer) -> AsyncIterator[BotFactory]:
    factory = BotFactory(fake_slack, segmetrics)
    yield factory
    await factory.stop_all()


async def settled(slack: Slack, timeout: float = 5.0) -> None:
    """Wait until the bot has no background job left (polling, bounded)."""
    deadline = time.monotonic() + timeout
    # Commands are worked from the intake queue, everything else as jobs: `pending` counts both.
    while slack.bot.surface.pending and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert not slack.bot.surface.pending, "work still running"
    await slack.bot.store.flush()
