"""The Slack app: Bolt's AsyncApp wired to the dispatcher, and the checks made before serving."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.runner import Runner
from bot.settings import Settings
from bot.slack.jobs import Jobs
from bot.slack.listeners import register
from bot.slack.surface import SlackSurface
from bot.slack.users import UserZones

log = logging.getLogger("segmetrics_slack.slack")


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

    async def prepare(self) -> None:
        """Before serving: warm the date parser, check the bot token with Slack, say loudly if sandboxed."""
        self.runner.warm_up()
        try:
            identity = await self.client.auth_test()
        except SlackApiError as error:
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
        if self.settings.sandbox:
            log.warning(
                "SANDBOX MODE: no SegMetrics credentials are set, so nothing reaches SegMetrics and every "
                "confirmation is marked as sandbox. Set SEGMETRICS_API_KEY, SEGMETRICS_ACCOUNT_ID and "
                "SEGMETRICS_INTEGRATION_ID to go live."
            )

    async def close(self, grace: float = 20.0) -> None:
        """Finish acknowledged work (up to `grace` seconds), then release connections."""
        await self.jobs.drain(grace)
        await self.runner.aclose()


def build_bot(settings: Settings, runner: Runner | None = None) -> SlackBot:
    """The bot for these settings. Makes no network call: `prepare()` does, at start-up."""
    if settings.slack_bot_token is None:
        raise StartupError("SLACK_BOT_TOKEN is not set.")
    runner = runner or Runner.from_settings(settings)
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        # Listeners only parse, validate and ack; the slow work runs as jobs. Returning the
        # response as soon as the listener returns avoids Bolt's 10 ms ack polling.
        process_before_response=True,
        logger=logging.getLogger("segmetrics_slack.bolt"),
    )
    jobs = Jobs()
    surface = SlackSurface(runner, client, zones=UserZones(client), jobs=jobs)
    register(app, surface)
    return SlackBot(settings=settings, runner=runner, client=client, app=app, surface=surface, jobs=jobs)
