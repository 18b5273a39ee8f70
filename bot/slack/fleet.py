"""A bot installed by link (OAuth) in any number of workspaces: one `SlackBot` per workspace, served by one
process (or several replicas on one PostgreSQL).

Each workspace's bot is the one-workspace bot, built from its installation (`build_bot(workspace=…)`): its own
token, database (a file or a PostgreSQL schema: `bot.store.workspace_database`), connections, admins (the
installer, with SEGMETRICS_BOT_ADMINS), policy (`bot.policy.policy_for`), sandbox and App Home. What they share
is the process: the HTTP server, which hands each request to its workspace's bot (`route`), and the metrics.

Bolt's OAuth flow serves /slack/install and /slack/oauth_redirect, with slack-sdk's SQLAlchemy stores in the
bot's database (`bot.slack.installations`). Every `REFRESH_EVERY` seconds, each replica starts the bots of
workspaces installed through another replica, stops those uninstalled, and rotates tokens about to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import math
import time
from typing import Any
from urllib.parse import urljoin

import aiohttp
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.keyring import Keyring
from bot.metrics import Metrics
from bot.policy import Policy, PolicyError, policy_for
from bot.reactions import ReactionsError, configured
from bot.settings import HttpSettings
from bot.slack.app import UNINSTALL_EVENTS, SlackBot, StartupError, Workspace, build_bot, open_store
from bot.slack.installations import open_installations
from bot.slack.jobs import Jobs
from bot.slack.lane import Lane
from bot.slack.manifest import REACTION_SCOPES, SCOPES
from bot.slack.server import INSTALL_PATH, REDIRECT_PATH
from bot.store import AuditEvent, database_exists, workspace_database

log = logging.getLogger("segmetrics_slack.fleet")

# How often each replica looks at the installations (others' installs and uninstalls, tokens to rotate).
REFRESH_EVERY = 30.0
# A rotating token is renewed when it has less than this left (Bolt's default): it never lapses between looks.
ROTATE_MINUTES = 120
# One replica rotates a token in each such window (a claim in the database); another may retry in the next.
ROTATION_CLAIM_SECONDS = 600


def authorize_url(api_url: str) -> str:
    """Slack's "Add to Slack" page beside its Web API (`https://slack.com/api/` → `https://slack.com/oauth/v2/
    authorize`), so that a Slack elsewhere (a test's fake) is used whole."""
    return urljoin(api_url, "../oauth/v2/authorize")


class Fleet:
    """The bots of every workspace that installed this app by link, and the flow that installs it."""

    def __init__(self, settings: HttpSettings) -> None:
        assert settings.slack_client_id and settings.slack_client_secret and settings.segmetrics_bot_secret_key
        self.settings = settings
        self._secret = settings.segmetrics_bot_secret_key.get_secret_value()
        scopes = [*SCOPES, *(REACTION_SCOPES if _reactions_on(settings) else ())]
        # The main database keeps the installations; each workspace's work is in its own (`workspace_database`).
        self.store = open_store(settings.segmetrics_bot_database_url)
        try:
            self.installations, states = open_installations(settings.slack_client_id, Keyring(self._secret), self.store)
        except Exception:
            self.store.close_unused()
            raise
        self.metrics = Metrics()
        # The event loop is the process's: acknowledgements of any workspace go before anyone's background work.
        self.lane = Lane()
        self.bots: dict[str, SlackBot] = {}
        self._starting: dict[str, asyncio.Task[SlackBot | None]] = {}
        self._failed: dict[str, str] = {}  # why a workspace's bot could not start, said once until it changes
        self._uninstalling: set[str] = set()
        self._unsaved: dict[str, Bot] = {}  # tokens rotated here that the database did not take yet
        self._redacted: dict[str, list[list[str]]] = {}  # the tokens redacted for each workspace, the last two
        self.jobs = Jobs()  # uninstalls, run after Slack has its answer
        self._refreshing: asyncio.Task[None] | None = None
        self._session = aiohttp.ClientSession()
        # oauth.v2.access and the installer's auth.test go to SLACK_API_URL like every other call.
        self.client = AsyncWebClient(base_url=settings.slack_api_url, session=self._session)
        secret = settings.slack_client_secret.get_secret_value()
        self.rotator = AsyncTokenRotator(client_id=settings.slack_client_id, client_secret=secret, client=self.client)
        self.flow = AsyncOAuthFlow(
            client=self.client,
            logger=log,
            settings=AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=secret,
                scopes=scopes,
                user_scopes=[],
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                authorization_url=authorize_url(settings.slack_api_url),
                installation_store=self.installations,
                installation_store_bot_only=True,
                token_rotation_expiration_minutes=ROTATE_MINUTES,
                state_store=states,
                callback_options=AsyncCallbackOptions(success=self._installed, failure=_failed),
                logger=log,
            ),
        )

    def __repr__(self) -> str:
        return f"Fleet(workspaces={sorted(self.bots)})"

    # -- serving --------------------------------------------------------------------------------

    async def route(self, request: AsyncBoltRequest) -> SlackBot | BoltResponse:
        """The bot of the workspace `request` comes from; or the answer, when no bot is to answer it (Slack
        checking the URL, an uninstall, a workspace that has not installed the app)."""
        body = request.body
        if body.get("type") == "url_verification":
            return BoltResponse(status=200, body=json.dumps({"challenge": body.get("challenge")}))
        team = request.context.team_id
        event = body.get("event") if body.get("type") == "event_callback" else None
        if isinstance(event, dict) and event.get("type") in UNINSTALL_EVENTS:
            if team and (event.get("type") == "app_uninstalled" or (event.get("tokens") or {}).get("bot")):
                self.jobs.spawn(self.uninstall(team), name=f"uninstall {team}")
            return BoltResponse(status=200, body="")
        bot = await self.bot_for(team) if team else None
        if bot is None:
            log.warning("a request from workspace %s, which has not installed the bot: not answered", team)
            return BoltResponse(status=200, body="")
        return bot

    async def bot_for(self, team: str) -> SlackBot | None:
        """The workspace's bot, started now if it is installed and not running yet (installed through another
        replica, or a moment ago)."""
        if team in self.bots:
            return self.bots[team]
        starting = self._starting.get(team)
        if starting is None:
            starting = asyncio.get_running_loop().create_task(self._start(team), name=f"start {team}")
            self._starting[team] = starting
            starting.add_done_callback(lambda _: self._starting.pop(team, None))
        return await asyncio.shield(starting)

    async def _start(self, team: str) -> SlackBot | None:
        """The workspace's bot, built and prepared; None when it is not installed, or cannot start (said once in
        the log, tried again at the next request or look): one workspace's trouble is never the others'."""
        bot: SlackBot | None = None
        try:
            record = await self._fresh(team)
            if record is None or not record.bot_token:
                return None
            found = self.installations.async_find_installation
            installation = await found(enterprise_id=record.enterprise_id, team_id=team)
            workspace = Workspace(
                team=team,
                token=record.bot_token,
                installer=installation.user_id if installation is not None else None,
                metrics=self.metrics,
                lane=self.lane,
                seal_key=self._derived("form seal", team),
            )
            bot = build_bot(self.settings, workspace=workspace)
            await bot.prepare()
            if await self._fresh(team, rotate=False) is None:  # uninstalled meanwhile
                await bot.close(grace=0)
                return None
        except Exception as error:
            if bot is not None:
                with contextlib.suppress(Exception):
                    await bot.close(grace=0)
            self._say_failed(team, str(error) if isinstance(error, StartupError | ValueError) else _briefly(error))
            return None
        self._failed.pop(team, None)
        self.bots[team] = bot
        log.info("serving workspace %s (%s)", team, record.team_name or "unnamed")
        return bot

    def _say_failed(self, team: str, problem: str) -> None:
        if self._failed.get(team) != problem:
            log.error("the bot of workspace %s cannot start: %s", team, problem)
        self._failed[team] = problem

    async def _fresh(self, team: str, *, rotate: bool = True) -> Bot | None:
        """The workspace's bot installation (None: not installed), its token rotated first if it is about to
        expire, by one replica (`_rotate`)."""
        record = await self.installations.async_find_bot(enterprise_id=None, team_id=team)
        if record is None:
            record = await self._find_in_enterprise(team)
        if record is None:
            self._unsaved.pop(team, None)
            return None
        unsaved = self._unsaved.get(team)
        if unsaved is not None:  # rotated here, not saved yet: the stored refresh token was used up
            await self._save(team, unsaved)
            record = unsaved
        elif rotate:
            record = await self._rotate(team, record)
        self._redact(team, record)
        return record

    async def _rotate(self, team: str, record: Bot) -> Bot:
        """`record` with a new token if its own expires within ROTATE_MINUTES. Replicas claim each rotation in the
        database (for this token, for ten minutes): one of them asks Slack, the others read the new token at their
        next look; if that one dies before saving it, another tries ten minutes later, hours before expiry."""
        expires = record.bot_token_expires_at
        if expires is None or expires > time.time() + ROTATE_MINUTES * 60:
            return record
        window = int(time.time() // ROTATION_CLAIM_SECONDS)
        claimed = await self.store.call(self.store.store.claim, f"rotate:{team}:{expires}:{window}")
        if not claimed:
            return record
        try:
            rotated = await self.rotator.perform_bot_token_rotation(
                bot=record, minutes_before_expiration=ROTATE_MINUTES
            )
        except Exception as error:  # SlackTokenRotationError, or Slack out of reach: the token still has hours
            problem = type(error).__name__
            log.warning("could not rotate the token of workspace %s (%s); trying again soon", team, problem)
            return record
        if rotated is None:
            return record
        log.info("rotated the bot token of workspace %s", team)
        self._unsaved[team] = rotated
        await self._save(team, rotated)
        return rotated

    async def _save(self, team: str, rotated: Bot) -> bool:
        """Keep a rotated token for every replica; until that succeeds it is kept here and used (the refresh token
        it replaced may not work again), and saving is tried again at each look."""
        try:
            await self.installations.async_save_bot(rotated)
        except Exception as error:
            problem = type(error).__name__  # not its text: a database error quotes the (sealed) values
            log.error("could not keep the rotated token of workspace %s (%s); trying again", team, problem)
            return False
        self._unsaved.pop(team, None)
        return True

    def _redact(self, team: str, record: Bot | Installation) -> None:
        """A workspace's tokens, once known, are redacted from every log line like the bot's own secrets; the ones
        it had two rotations ago no longer are (the list does not grow with every rotation)."""
        tokens = [token for token in (record.bot_token, record.bot_refresh_token) if token]
        kept = self._redacted.setdefault(team, [])
        if tokens == (kept[-1] if kept else None):
            return
        kept.append(tokens)
        retired = kept.pop(0) if len(kept) > 2 else []
        logs.redact_also(tokens, retire=[token for token in retired if token not in tokens])

    async def _find_in_enterprise(self, team: str) -> Bot | None:
        """A workspace of an Enterprise Grid organization is kept with its organization's id."""
        enterprise = await self.installations.enterprise_of(team)
        if enterprise is None:
            return None
        return await self.installations.async_find_bot(enterprise_id=enterprise, team_id=team)

    # -- installing and uninstalling -------------------------------------------------------------

    async def _installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        team = installation.team_id
        if installation.is_enterprise_install or not team:
            await self.installations.async_delete_all(enterprise_id=installation.enterprise_id, team_id=team)
            with contextlib.suppress(Exception):  # not kept, so not left working either
                await self.client.auth_revoke(token=installation.bot_token)
            return await _failed(
                AsyncFailureArgs(
                    request=args.request,
                    reason="org_wide_install",
                    suggested_status_code=400,
                    settings=args.settings,
                    default=args.default,
                )
            )
        self._redact(team, installation)
        running = self.bots.get(team)
        if running is not None:  # installed again (new scopes): the new token from now on
            running.use_token(installation.bot_token or "")
        elif await self.bot_for(team) is None:
            log.error("workspace %s installed the bot, but its bot could not start (said above)", team)
        log.info("workspace %s (%s) installed the bot, by %s", team, installation.team_name, installation.user_id)
        return await args.default.success(args)

    async def uninstall(self, team: str) -> None:
        """The workspace uninstalled the bot or revoked its token: its tokens and its connections' keys are
        removed; its audit trail is kept. Slack may send both events: the second finds nothing left to do."""
        if team in self._uninstalling:
            return
        self._uninstalling.add(team)
        try:
            await self._uninstall(team)
        finally:
            self._uninstalling.discard(team)

    async def _uninstall(self, team: str) -> None:
        installed = await self._fresh(team, rotate=False) is not None
        enterprise = await self.installations.enterprise_of(team)
        await self.installations.async_delete_all(enterprise_id=enterprise, team_id=team)
        starting = self._starting.get(team)
        if starting is not None:  # it sees the installation gone before it serves (`_start`)
            with contextlib.suppress(Exception):
                await asyncio.shield(starting)
        self._unsaved.pop(team, None)
        redacted = self._redacted.pop(team, [])
        logs.redact_also([], retire=[token for tokens in redacted for token in tokens])
        bot = self.bots.pop(team, None)
        if bot is not None:
            await self._forget(bot.store, team, installed=installed)
            await bot.close()
        else:
            url, schema = workspace_database(self.settings.segmetrics_bot_database_url, team)
            if not installed and not await asyncio.to_thread(database_exists, url, schema):
                return  # nothing was ever kept for it (or a second event)
            store = open_store(url, schema)
            try:
                await self._forget(store, team, installed=installed)
            finally:
                await store.close()
        log.info("workspace %s uninstalled the bot: its tokens and connection keys are removed", team)

    async def _forget(self, store: Any, team: str, *, installed: bool) -> None:
        removed = await store.call(store.store.forget_connections)
        if not installed and not removed:
            return  # a second event for the same uninstall: already in the trail
        store.record(
            AuditEvent(
                operation="app uninstall",
                outcome="succeeded",
                team_id=team,
                detail=f"tokens removed; {removed} connection(s) added in Slack removed, keys and all",
            )
        )
        await store.flush()

    # -- keeping up with other replicas ----------------------------------------------------------

    async def prepare(self) -> None:
        """Start the bot of every installed workspace, then keep up with installations every REFRESH_EVERY s."""
        await self.refresh()
        self._refreshing = asyncio.get_running_loop().create_task(self._refresh_forever(), name="installations")
        log.info("installed by link in %d workspace(s); add it to another at %s", len(self.bots), INSTALL_PATH)

    async def refresh(self) -> None:
        """Start the bots of workspaces installed (through any replica), stop those uninstalled, rotate tokens.
        A workspace that fails is said in the log and skipped: the others are still looked after."""
        serving = set(self.bots)
        installed = set(await self.installations.installed_teams())
        # Together: each start waits on Slack (auth.test, user groups) more than it works.
        await asyncio.gather(*(self.bot_for(team) for team in sorted(installed - serving)))  # contained by `_start`
        for team in sorted(serving - installed):  # uninstalled through another replica
            try:
                if await self._fresh(team, rotate=False) is not None:
                    continue  # installed again meanwhile
                bot = self.bots.pop(team, None)
                if bot is not None:
                    log.info("workspace %s no longer has the bot installed: its bot stops", team)
                    await bot.close()
            except Exception:
                log.exception("could not stop the bot of workspace %s; trying again", team)
        for team, bot in list(self.bots.items()):
            try:
                record = await self._fresh(team)
            except Exception:
                log.exception("could not look at the installation of workspace %s; trying again", team)
                continue
            if record is not None and record.bot_token and record.bot_token != bot.client.token:
                bot.use_token(record.bot_token)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY)
            try:
                await self.refresh()
            except Exception:
                log.exception("could not look at the installations; trying again in %.0f s", REFRESH_EVERY)

    # -- what the server asks ---------------------------------------------------------------------

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while the main database can keep work (checked now). A workspace whose own database cannot is
        named, as its bot last found (`SlackSurface.watch_store`, every few seconds: not one write per workspace
        per probe); its writes are refused until it can, and the replica still serves every other workspace."""
        problem = await self.store.call(self.store.store.health)
        bots = dict(self.bots)
        unwell = sorted(team for team, bot in bots.items() if bot.surface.store_problem)
        details: dict[str, Any] = {
            "workspaces": len(bots),
            "jobs": sum(bot.surface.pending for bot in bots.values()),
            "warm": all(bot.warm for bot in bots.values()),
            "database": problem or "ok",
        }
        if unwell:
            details["workspaces_unwell"] = unwell
        return problem is None, details

    async def metrics_text(self) -> bytes:
        bots = list(self.bots.values())
        summaries = await asyncio.gather(*(bot.surface.outbox_summary() for bot in bots))
        depth = sum(count for count, _ in summaries)
        oldest = max((age for _, age in summaries), default=0.0)
        return self.metrics.exposition(
            queue=sum(bot.surface.pending for bot in bots),
            outbox=depth,
            oldest=math.nan if math.isnan(depth) else oldest,
        )

    @property
    def warmed(self) -> asyncio.Task[None] | None:
        return next((bot.warmed for bot in self.bots.values()), None)

    async def close(self, grace: float | None = None) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
        for task in list(self._starting.values()):
            task.cancel()
        await self.jobs.drain(grace if grace is not None else 10.0)
        await asyncio.gather(*(bot.close(grace) for bot in self.bots.values()))
        self.bots.clear()
        await self.store.close()
        await self._session.close()

    def _derived(self, purpose: str, team: str) -> str:
        """A key for one purpose and workspace, from SEGMETRICS_BOT_SECRET_KEY (its first key)."""
        first = self._secret.split(",")[0].encode()
        return hmac.new(first, f"{purpose}\0{team}".encode(), hashlib.sha256).hexdigest()


def _briefly(error: Exception) -> str:
    """An unexpected error in one line: its type and the first line of its text (a database error goes on to
    quote statements and values)."""
    text = str(error).splitlines()[0][:200] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    """Bolt's page, with one line in the log saying why (an org-wide install, a stale link, Slack refusing)."""
    log.warning("an installation did not complete: %s", args.reason)
    if args.reason == "org_wide_install":
        return BoltResponse(
            status=400,
            body="<html><body><h2>Install it in each workspace</h2><p>This app is installed workspace by workspace, "
            "not for a whole Enterprise Grid organization at once: install it from each workspace that uses "
            "SegMetrics.</p></body></html>",
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
    return await args.default.failure(args)


def _reactions_on(settings: HttpSettings) -> bool:
    """Whether tagging by reaction is on (its scopes are asked for at install): as the manifest reads it."""
    from commands import REGISTRY

    try:
        policy = Policy.load((), policy_for(settings.segmetrics_bot_policy, "default"), REGISTRY)
        return bool(configured(settings.segmetrics_reactions, policy.reactions, REGISTRY))
    except (PolicyError, ReactionsError):
        return False  # said by the workspace's bot when it starts
