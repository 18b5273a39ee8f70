"""The Slack app: Bolt's AsyncApp wired to the dispatcher, and the checks made before serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.connections import AdminError, stored_connections
from bot.keyring import Keyring
from bot.logs import new_request
from bot.metrics import Metrics
from bot.operation import Registry
from bot.policy import Policy, PolicyError, policy_for
from bot.reactions import ReactionsError, configured
from bot.runner import Runner, declared_connections
from bot.settings import Settings
from bot.slack.connection_admin import ConnectionAdmin
from bot.slack.groups import Groups
from bot.slack.jobs import Jobs
from bot.slack.lane import Lane
from bot.slack.listeners import register
from bot.slack.surface import SlackSurface
from bot.slack.users import Users
from bot.store import AsyncStore, Store, StoreError, workspace_database

log = logging.getLogger("segmetrics_slack.slack")


# What ends a workspace's installation (`tokens_revoked` only when it names the bot's token).
UNINSTALL_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})


class StartupError(Exception):
    """The bot cannot start; the message says what to fix."""


@dataclass
class SlackBot:
    """Everything one running bot holds."""

    settings: Settings
    runner: Runner
    client: AsyncWebClient
    app: AsyncApp
    surface: SlackSurface
    jobs: Jobs
    identity: KnownIdentity
    store: AsyncStore
    groups: Groups
    admin: ConnectionAdmin
    # Installed by link: the workspace this bot serves (None: the one workspace whose token the settings give).
    workspace: Workspace | None = None
    warmed: asyncio.Task[None] | None = None
    watching: asyncio.Task[None] | None = None

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """For /healthz: whether the database can keep work (checked now, not from the last watch)."""
        problem = await self.store.call(self.store.store.health)
        self.surface.store_problem = problem
        return problem is None, {
            "sandbox": self.runner.sandbox is not None,
            "jobs": self.surface.pending,
            "warm": self.warm,
            "database": problem or "ok",
        }

    # -- what the server asks of the bots it serves (this one; or `bot.slack.fleet.Fleet`'s) ----------

    async def route(self, request: AsyncBoltRequest) -> SlackBot | BoltResponse:
        """The bot that answers `request`: this one, the workspace's only bot; or, for the events that end an
        installation (subscribed in HTTP mode, for a bot installed by link), the answer."""
        event = request.body.get("event") if request.body.get("type") == "event_callback" else None
        if isinstance(event, dict) and event.get("type") in UNINSTALL_EVENTS:
            log.error(
                "Slack says the app was uninstalled from workspace %s, or its token revoked (%s): SLACK_BOT_TOKEN "
                "no longer works; install the app again and set the new token",
                request.context.team_id,
                event.get("type"),
            )
            return BoltResponse(status=200, body="")
        return self

    @property
    def metrics(self) -> Metrics:
        return self.surface.metrics

    async def metrics_text(self) -> bytes:
        return await self.surface.metrics_text()

    def use_token(self, token: str) -> None:
        """Go on with a new bot token (Slack rotated the old one): for requests and for background work."""
        self.client.token = token
        self.identity.use(token)

    async def prepare(self) -> None:
        """Before serving: check the bot token with Slack, say loudly if sandboxed. The date parser and
        the e-mail checker load in the background meanwhile (`warmed`): serving need not wait for them."""
        self.warmed = asyncio.get_running_loop().create_task(asyncio.to_thread(self.runner.warm_up), name="warm up")
        try:
            identity = await self.identity.identify()
        except SlackApiError as error:
            if self.workspace is not None:
                raise StartupError(
                    f"Slack refused the token of workspace {self.workspace.team} ({error.response.get('error')}): "
                    "it may have removed the app; install it there again"
                ) from None
            raise StartupError(
                f"Slack refused SLACK_BOT_TOKEN ({error.response.get('error')}): copy the Bot User OAuth Token "
                "again from your app's page › OAuth & Permissions."
            ) from None
        except Exception as error:
            raise StartupError(
                f"Could not reach Slack at {self.settings.slack_api_url} ({type(error).__name__}); check SLACK_API_URL "
                "and the network."
            ) from None
        log.info("connected to Slack as %s in %s", identity.get("user"), identity.get("team"))
        await self.groups.refresh_shared()
        self.groups.keep_fresh()
        # Work queued or interrupted before this start is picked up now; so are imports.
        self.surface.outbox.start()
        await self.surface.imports.resume()
        self.surface.imports.keep_resuming()
        self.watching = asyncio.get_running_loop().create_task(self.surface.watch_store(), name="watch the store")
        self.admin.keep_fresh()
        if self.runner.sandbox is not None and self.workspace is not None:
            log.info(
                "workspace %s: until an admin adds a connection in the App Home, what is sent through `default` goes "
                "to the bot's sandbox (its confirmations say so), not to SegMetrics",
                self.workspace.team,
            )
        elif self.runner.sandbox is not None:
            log.warning(
                "SANDBOX MODE: no SegMetrics credentials are set, so nothing sent through `default` reaches "
                "SegMetrics and its confirmations are marked as sandbox. Set SEGMETRICS_API_KEY, SEGMETRICS_ACCOUNT_ID "
                "and SEGMETRICS_INTEGRATION_ID to go live.%s",
                f" Live: {', '.join(name for name in self.runner.links if name != 'default')}."
                if len(self.runner.links) > 1
                else "",
            )

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one Slack request, until it is acknowledged: the request gets an id in the
        logs (so do the jobs it starts), and background work yields to it. The servers wrap Bolt's dispatch in
        it rather than a Bolt middleware, which would cost a third argument injection per request."""
        new_request()
        with self.surface.lane.answer():
            yield

    @property
    def warm(self) -> bool:
        """Whether the first-use costs are paid (until then, the first commands are a little slower)."""
        return self.warmed is not None and self.warmed.done()

    @property
    def grace(self) -> float:
        """Long enough for a call already under way to finish, retries included."""
        return self.settings.segmetrics_timeout + self.settings.segmetrics_retry_budget

    async def close(self, grace: float | None = None) -> None:
        """Finish acknowledged work (by default, as long as a SegMetrics call may take), then release connections."""
        if self.warmed is not None and not self.warmed.done():
            self.warmed.cancel()
        if self.watching is not None:
            self.watching.cancel()
        self.admin.stop()
        self.surface.imports.stop()
        grace = self.grace if grace is None else grace
        # The outbox takes nothing new from here on; what is running, there and in jobs, gets the same grace.
        await asyncio.gather(self.surface.outbox.stop(grace), self.surface.queue.stop(grace), self.jobs.drain(grace))
        await self.groups.stop()
        await self.runner.aclose()
        await self.store.close()
        if self.client.session is not None:
            await self.client.session.close()


@dataclass(frozen=True)
class Workspace:
    """One workspace that installed the bot by link (`bot.slack.fleet`): its bot is built like the one-workspace
    bot, with the installation's token, a database of its own and the process's metrics."""

    team: str
    token: str = field(repr=False)
    installer: str | None
    metrics: Metrics
    lane: Lane
    # Signs what forms keep (`modals.Seal`): from the bot's secret key, since the token rotates.
    seal_key: str = field(repr=False)


def build_bot(settings: Settings, runner: Runner | None = None, *, workspace: Workspace | None = None) -> SlackBot:
    """The bot for these settings (for one workspace of a bot installed by link, with `workspace`). Makes no
    network call: `prepare()` does, at start-up."""
    if workspace is None and settings.slack_bot_token is None:
        raise StartupError("SLACK_BOT_TOKEN is not set.")
    url, schema = settings.segmetrics_bot_database_url, None
    admins = list(settings.segmetrics_bot_admins)
    policy_file = settings.segmetrics_bot_policy
    if workspace is not None:
        url, schema = workspace_database(url, workspace.team)
        admins += [workspace.installer] if workspace.installer else []
        policy_file = policy_for(policy_file, workspace.team)
        # Its own sandbox too (a workspace with no connection yet): nothing of one workspace seen from another.
        state = settings.state_dir / "workspaces" / workspace.team
        settings = settings.model_copy(update={"segmetrics_bot_state_dir": str(state)})
    # The database first: a start that fails there leaves nothing open (no "Unclosed client session").
    store = open_store(url, schema)
    # Then the connections added in Slack, before any client is made: a start refused there leaves none open.
    secret_key = settings.segmetrics_bot_secret_key
    keyring = Keyring(secret_key.get_secret_value()) if secret_key else None
    try:
        rows = store.store.stored_connections()
        declared = list(runner.connections) if runner is not None else declared_connections(settings)
        added = stored_connections(rows, keyring, declared)
        policy = Policy.load(admins, policy_file, runner.registry if runner else _registry())
        policy.check_connections([connection.name for connection in [*declared, *added]])
        reactions = configured(
            settings.segmetrics_reactions, policy.reactions, runner.registry if runner else _registry()
        )
    except (AdminError, PolicyError, ReactionsError) as error:
        store.close_unused()
        where = {AdminError: "Connections added in Slack", PolicyError: "SEGMETRICS_BOT_POLICY"}.get(
            type(error), "Reactions"
        )
        raise StartupError(f"{where}: {error}.") from None
    except BaseException:  # whatever else stops the start: the store is not left open (a fleet retries)
        store.close_unused()
        raise
    try:
        runner = runner or Runner.from_settings(settings)
        for connection in added:
            runner.add_connection(connection)
    except BaseException:
        store.close_unused()
        raise
    token = workspace.token if workspace is not None else _token(settings)
    # One session for every Web API call and response_url post: without it slack-sdk opens a new
    # session, and a new connection, per call.
    session = aiohttp.ClientSession()
    retry = [AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, session=session, retry_handlers=retry)
    identity = KnownIdentity(client)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = AsyncApp(
        # Token-less on purpose: with a token, Bolt calls auth.test on the first request, before its
        # acknowledgement; `identity` hands Bolt the answer `prepare()` already has.
        client=AsyncWebClient(base_url=settings.slack_api_url, session=session, retry_handlers=retry),
        authorize=identity,
        signing_secret=secret,
        # Named: without a name, Bolt inspects the call stack (reading source files) to invent one.
        name="segmetrics-slack",
        # Listeners only parse, validate and ack; the slow work runs as jobs. Returning the
        # response as soon as the listener returns avoids Bolt's 10 ms ack polling.
        process_before_response=True,
        logger=_bolt_logger(),
    )
    jobs = Jobs()
    runner.keep_records(store)
    groups = Groups(client, [*admins, *policy.named()], store=store)
    surface = SlackSurface(
        runner,
        client,
        users=Users(client),
        jobs=jobs,
        store=store,
        policy=policy,
        groups=groups,
        metrics=workspace.metrics if workspace is not None else None,
        seal_key=workspace.seal_key if workspace is not None else None,
        lane=workspace.lane if workspace is not None else None,
    )
    admin = ConnectionAdmin(surface, keyring, versions={row.name: row.updated_at for row in rows})
    register(app, surface, admin, reactions=reactions)
    return SlackBot(
        settings=settings,
        runner=runner,
        client=client,
        app=app,
        surface=surface,
        jobs=jobs,
        identity=identity,
        store=store,
        groups=groups,
        admin=admin,
        workspace=workspace,
    )


def _token(settings: Settings) -> str:
    assert settings.slack_bot_token is not None  # checked first thing in build_bot
    return settings.slack_bot_token.get_secret_value()


def _registry() -> Registry:
    from commands import REGISTRY

    return REGISTRY


def open_store(url: str, schema: str | None = None) -> AsyncStore:
    """The bot's database, checked whole and of the bot's schema; `StartupError` saying what to fix."""
    try:
        store = Store(url, schema=schema)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        said = str(error).splitlines()[0] if str(error) else ""
        # SQLAlchemy may quote the URL, password and all: it never reaches a log or the terminal.
        said = said.replace(url, "<the URL>")
        with contextlib.suppress(Exception):
            password = make_url(url).password
            said = said.replace(str(password), "***") if password else said
        reason = f"{type(error).__name__}: {said[:160]}" if said else type(error).__name__
        raise StartupError(
            f"Cannot open SEGMETRICS_BOT_DATABASE_URL ({reason}). Use sqlite:///path/to/bot.db, or "
            "postgresql+psycopg://user:password@host/database."
        ) from None
    try:
        store.check()
    except StoreError as error:
        store.close()
        raise StartupError(f"SEGMETRICS_BOT_DATABASE_URL cannot keep the bot's work: {error}.") from None
    return AsyncStore(store)


def _bolt_logger() -> logging.Logger:
    """Bolt's logger, without the warning it gives because it reads SLACK_BOT_TOKEN from the environment
    even though its client is token-less on purpose (see `build_bot`)."""
    logger = logging.getLogger("segmetrics_slack.bolt")
    expected = warning_client_prioritized_and_token_skipped()
    if not any(isinstance(existing, _Drop) for existing in logger.filters):
        logger.addFilter(_Drop(expected))
    return logger


class _Drop(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


class KnownIdentity(AsyncAuthorize):
    """Who the bot is in its one workspace: asked once at start-up, then handed to Bolt on every request."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._response: AsyncSlackResponse | None = None
        self._result: AuthorizeResult | None = None

    async def identify(self) -> AsyncSlackResponse:
        response = await self._client.auth_test()
        self._response = response
        self._result = AuthorizeResult.from_auth_test_response(
            bot_token=self._client.token, auth_test_response=response
        )
        return response

    def use(self, token: str) -> None:
        """The same bot, with a new token (rotated)."""
        if self._response is not None:
            self._result = AuthorizeResult.from_auth_test_response(bot_token=token, auth_test_response=self._response)

    async def __call__(self, **_: Any) -> AuthorizeResult:
        if self._result is None:  # only if a request arrives before prepare()
            await self.identify()
        assert self._result is not None
        return self._result
