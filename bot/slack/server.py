"""Serving the bot: HTTP mode (`POST /slack/events`, `GET /healthz`, `GET /metrics`; installed by link, also
`GET /slack/install` and `GET /slack/oauth_redirect`) and Socket Mode with a health check and metrics.

HTTP mode uses aiohttp's server (which Bolt's AsyncApp already depends on): it serves requests
concurrently on one event loop, unlike Bolt's single-threaded development server.

Anyone can post to the request URL, so the signature is checked before anything parses the body: Bolt
parses first (and answers garbage with a 500 and a traceback), then checks. Refusals are quiet: one log
line, no traceback, never the body. Bolt checks the signature again; that is cheap.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.metrics import CONTENT_TYPE, METRICS_PATH, request_kind
from bot.slack.app import SlackBot, StartupError

if TYPE_CHECKING:
    from bot.slack.fleet import Fleet

log = logging.getLogger("segmetrics_slack.server")

EVENTS_PATH = "/slack/events"
# Installed by link (`bot.slack.fleet`): the "Add to Slack" page, and where Slack sends the browser back.
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
HEALTH_PATH = "/healthz"
# Slack's payloads are small; a large body is not Slack.
MAX_BODY = 1024 * 1024
# Slack refuses, and slack_sdk's SignatureVerifier rejects, a request timestamp further than this from now.
SIGNATURE_WINDOW = 5 * 60
# What Slack sends: Unix seconds in ASCII digits, and "v0=" with a lowercase hex SHA-256. Anything else would
# reach int() (which takes " 1_7", "١٧" and, as a float overflow, 400 digits) or hmac.compare_digest (which
# raises on non-ASCII text) inside SignatureVerifier.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def _health_route(health: Health) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def healthz(request: web.Request) -> web.Response:
        healthy, details = await health()
        return web.json_response(
            {"status": "ok" if healthy else "unavailable", **details}, status=200 if healthy else 503
        )

    return healthz


def _metrics_route(bot: SlackBot | Fleet) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=await bot.metrics_text(), headers={"Content-Type": CONTENT_TYPE})

    return metrics


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
    """`segmetrics-bot serve`: Slack sends signed requests to POST /slack/events; each is answered by the bot of
    its workspace (`bot`: the one workspace's, or a `Fleet` of every workspace that installed the app by link)."""

    def __init__(self, bot: SlackBot | Fleet, *, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.bot = bot
        secret = bot.settings.slack_signing_secret.get_secret_value() if bot.settings.slack_signing_secret else ""
        # Without a signing secret nothing can be verified, so everything is refused.
        self._verifier = SignatureVerifier(secret) if secret.strip() else None
        application = web.Application(client_max_size=MAX_BODY)
        application.router.add_post(EVENTS_PATH, self._events)
        application.router.add_get(HEALTH_PATH, _health_route(self._health))
        application.router.add_get(METRICS_PATH, _metrics_route(bot))
        flow = getattr(bot, "flow", None)
        if flow is not None:  # installed by link: Bolt's OAuth flow serves the install page and the way back
            application.router.add_get(flow.install_path, self._install)
            application.router.add_get(flow.redirect_uri_path, self._oauth_redirect)
        self._site = _Site(application, host, port)

    @property
    def port(self) -> int:
        return self._site.port

    async def _install(self, request: web.Request) -> web.Response:
        return await to_aiohttp_response(await self.bot.flow.handle_installation(_browser_request(request)))  # type: ignore[union-attr]

    async def _oauth_redirect(self, request: web.Request) -> web.Response:
        return await to_aiohttp_response(await self.bot.flow.handle_callback(_browser_request(request)))  # type: ignore[union-attr]

    async def _events(self, request: web.Request) -> web.Response:
        began = time.perf_counter()
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            self.bot.metrics.refused()
            return admitted
        routed = await self.bot.route(admitted)
        if isinstance(routed, BoltResponse):  # no bot is to answer it (an uninstall; Slack checking the URL)
            response = await to_aiohttp_response(routed)
        else:
            with routed.answering():
                response = await to_aiohttp_response(await routed.app.async_dispatch(admitted))
        self.bot.metrics.answered(request_kind(admitted.body), time.perf_counter() - began)
        return response

    async def _admit(self, request: web.Request) -> AsyncBoltRequest | web.Response:
        """The request as Bolt takes it, if Slack signed it and Bolt can parse it; else the answer refusing it.

        The headers are checked before the body is read, the signature before the body is parsed."""
        peer = request.remote
        if self._verifier is None:
            return _refuse(401, logging.WARNING, "refused a request from %s: SLACK_SIGNING_SECRET is not set", peer)
        timestamp = _only(request, "X-Slack-Request-Timestamp")
        signature = _only(request, "X-Slack-Signature")
        if not (timestamp and signature and _TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
            return _refuse(401, logging.INFO, "refused a request from %s without a well-formed Slack signature", peer)
        skew = int(time.time()) - int(timestamp)
        if abs(skew) > SIGNATURE_WINDOW:
            return _refuse(
                401,
                logging.WARNING,
                "refused a request from %s stamped %d s %s: a replay, or this server's clock is wrong",
                peer,
                abs(skew),
                "ago" if skew > 0 else "ahead",
            )
        try:
            raw = await request.read()  # raises HTTPRequestEntityTooLarge (413) past MAX_BODY
        except (ConnectionError, web.RequestPayloadError) as error:
            # The client left mid-body (or sent a broken chunked body): nobody is waiting for an answer.
            log.debug("a request from %s ended before its body did (%s)", peer, type(error).__name__)
            return web.Response(status=400, text="incomplete body")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Slack sends UTF-8 only, and SignatureVerifier can check only UTF-8 text: this cannot be verified.
            return _refuse(401, logging.INFO, "refused a request from %s whose body is not UTF-8", peer)
        if not self._verifier.is_valid(text, timestamp, signature):
            return _refuse(
                401,
                logging.WARNING,
                "refused a request from %s with a wrong Slack signature: not from Slack, or SLACK_SIGNING_SECRET "
                "is not this Slack app's signing secret",
                peer,
            )
        try:
            # As Bolt's aiohttp adapter builds it, but from the verified text: the adapter decodes the body
            # again, by the Content-Type's charset, which Slack does not sign (an unknown charset made a 500).
            headers: Any = request.headers
            admitted = AsyncBoltRequest(body=text, query=request.query_string, headers=headers)
        except Exception as error:  # whatever Bolt's parsing trips on: broken JSON, a list, `payload="x"`, …
            problem = type(error).__name__
        else:
            if isinstance(admitted.body, dict):
                return admitted
            problem = "not a JSON object"
        return _refuse(
            400, logging.WARNING, "refused a signed request from %s, not a Slack payload (%s)", peer, problem
        )

    async def _health(self) -> tuple[bool, dict[str, Any]]:
        healthy, details = await self.bot.health()
        return healthy, {"mode": "http", **details}

    async def start(self) -> None:
        await self._site.start()
        log.info("serving Slack events at http://%s:%d%s", self._site.host, self.port, EVENTS_PATH)

    async def stop(self, grace: float | None = None) -> None:
        await self._site.stop()
        await self.bot.close(grace)


def _browser_request(request: web.Request) -> AsyncBoltRequest:
    """A browser's GET (the install page, the way back from Slack) as Bolt's OAuth flow takes it."""
    headers: Any = request.headers
    return AsyncBoltRequest(body="", query=request.query_string, headers=headers)


def _only(request: web.Request, name: str) -> str | None:
    """The header's value, or None when it is missing or repeated (Bolt would read the last, aiohttp the first)."""
    values = request.headers.getall(name, [])
    return values[0] if len(values) == 1 else None


def _refuse(status: int, level: int, message: str, *args: object) -> web.Response:
    """One log line (no traceback, no body), and a tiny answer."""
    log.log(level, message, *args)
    return web.Response(status=status, text="invalid request" if status == 401 else "bad request")


class _AnsweringHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, each request handled inside `bot.answering()` until its ack is sent."""

    def __init__(self, bot: SlackBot, app_token: str) -> None:
        super().__init__(bot.app, app_token, web_client=bot.client)
        self._bot = bot

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        began = time.perf_counter()
        with self._bot.answering():
            await super().handle(client, req)
        kind = request_kind(req.payload) if isinstance(req.payload, dict) else "other"
        self._bot.surface.metrics.answered(kind, time.perf_counter() - began)


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
        application.router.add_get(METRICS_PATH, _metrics_route(bot))
        self._site = _Site(application, health_host, health_port)

    @property
    def health_port(self) -> int:
        return self._site.port

    async def _health(self) -> tuple[bool, dict[str, Any]]:
        connected = await self.handler.client.is_connected()
        stored, details = await self.bot.health()
        return connected and stored, {"mode": "socket", "socket": connected, **details}

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
