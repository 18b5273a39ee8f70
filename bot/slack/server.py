"""Serving the bot: HTTP mode (`POST /slack/events`, `GET /healthz`) and Socket Mode with a health check.

HTTP mode uses aiohttp's server (which Bolt's AsyncApp already depends on): it serves requests
concurrently on one event loop, unlike Bolt's single-threaded development server.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.slack.app import SlackBot, StartupError

log = logging.getLogger("segmetrics_slack.server")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's payloads are small; a large body is not Slack.
MAX_BODY = 1024 * 1024

Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def _health_route(health: Health) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def healthz(request: web.Request) -> web.Response:
        healthy, details = await health()
        return web.json_response(
            {"status": "ok" if healthy else "unavailable", **details}, status=200 if healthy else 503
        )

    return healthz


class _Site:
    """An aiohttp application listening on one host and port until stopped."""

    def __init__(self, application: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(application, access_log=None, handle_signals=False)
        self.host, self.port = host, port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024, reuse_address=True)
        await site.start()
        # The real port, when 0 (any free port) was asked for.
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self._runner.cleanup()


class HttpService:
    """`segmetrics-bot serve`: Slack sends signed requests to POST /slack/events."""

    def __init__(self, bot: SlackBot, *, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.bot = bot
        application = web.Application(client_max_size=MAX_BODY)
        application.router.add_post(EVENTS_PATH, self._events)
        application.router.add_get(HEALTH_PATH, _health_route(self._health))
        self._site = _Site(application, host, port)

    @property
    def port(self) -> int:
        return self._site.port

    async def _events(self, request: web.Request) -> web.Response:
        with self.bot.answering():
            bolt_response = await self.bot.app.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(bolt_response)

    async def _health(self) -> tuple[bool, dict[str, Any]]:
        return True, {
            "mode": "http",
            "sandbox": self.bot.settings.sandbox,
            "jobs": self.bot.surface.pending,
            "warm": self.bot.warm,
        }

    async def start(self) -> None:
        await self._site.start()
        log.info("serving Slack events at http://%s:%d%s", self._site.host, self.port, EVENTS_PATH)

    async def stop(self, grace: float | None = None) -> None:
        await self._site.stop()
        await self.bot.close(grace)


class _AnsweringHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, each request handled inside `bot.answering()` until its ack is sent."""

    def __init__(self, bot: SlackBot, app_token: str) -> None:
        super().__init__(bot.app, app_token, web_client=bot.client)
        self._bot = bot

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        with self._bot.answering():
            await super().handle(client, req)


class SocketModeService:
    """`segmetrics-bot run`: Slack delivers over a websocket the bot opens; no public URL needed.

    slack-sdk's client reconnects by itself; /healthz says whether the socket is up right now, because a
    live process with a dead socket answers nobody."""

    def __init__(
        self, bot: SlackBot, app_token: str, *, health_host: str = "127.0.0.1", health_port: int = 3000
    ) -> None:
        self.bot = bot
        self.handler = _AnsweringHandler(bot, app_token)
        application = web.Application()
        application.router.add_get(HEALTH_PATH, _health_route(self._health))
        self._site = _Site(application, health_host, health_port)

    @property
    def health_port(self) -> int:
        return self._site.port

    async def _health(self) -> tuple[bool, dict[str, Any]]:
        connected = await self.handler.client.is_connected()
        return connected, {
            "mode": "socket",
            "socket": connected,
            "sandbox": self.bot.settings.sandbox,
            "warm": self.bot.warm,
        }

    async def start(self) -> None:
        # slack-sdk retries a refused app token forever; ask once first, so a wrong token stops start-up.
        try:
            await self.bot.client.apps_connections_open(app_token=self.handler.app_token)
        except SlackApiError as error:
            raise StartupError(
                f"Slack refused SLACK_APP_TOKEN ({error.response.get('error')}): generate an app-level token with "
                "the connections:write scope (your app's page › Basic Information › App-Level Tokens)."
            ) from None
        await self._site.start()
        await self.handler.connect_async()
        log.info(
            "connected to Slack over Socket Mode; health at http://%s:%d%s",
            self._site.host,
            self.health_port,
            HEALTH_PATH,
        )

    async def stop(self, grace: float | None = None) -> None:
        await self.handler.close_async()
        await self._site.stop()
        await self.bot.close(grace)


async def until_stopped() -> None:
    """Wait for SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: finishing acknowledged work")
