"""Where answers go: confirmations into the conversation, problems only to the person concerned."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.messages import Message

log = logging.getLogger("segmetrics_slack.replies")

SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com"})


def slack_response_url(url: str, api_url: str) -> bool:
    """Whether `url` is one Slack gives for answering: https on hooks.slack.com, or on the host of an
    overridden SLACK_API_URL (a test's fake Slack, a proxy the operator configured)."""
    parts, api = urlsplit(url), urlsplit(api_url)
    if parts.scheme == "https" and parts.hostname in SLACK_RESPONSE_HOSTS:
        return True
    overridden = api.hostname is not None and not (api.hostname == "slack.com" or api.hostname.endswith(".slack.com"))
    return overridden and (parts.scheme, parts.hostname, parts.port) == (api.scheme, api.hostname, api.port)


class Undelivered(Exception):
    """Slack took none of the ways to deliver a message."""


@dataclass(frozen=True)
class Conversation:
    """One user in one conversation, with every way Slack gives to answer them."""

    client: AsyncWebClient
    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    # A message's thread, when the answer belongs under that message (shortcuts on a message).
    thread_ts: str | None = None

    async def post(self, message: Message) -> tuple[str, str] | None:
        """For everyone in the conversation: as the bot, else through the response_url (a DM, a channel
        the bot is not in, Slack refusing the post), else as a DM to the user. Raises `Undelivered`.
        Returns (channel, ts) of the message when the bot posted it itself."""
        if self.channel_id:
            try:
                posted = await self.client.chat_postMessage(
                    channel=self.channel_id, thread_ts=self.thread_ts, text=message.text, blocks=message.blocks
                )
                return str(posted.get("channel")), str(posted.get("ts"))
            except SlackApiError as error:
                log.info(
                    "cannot post in %s (%s); trying the response_url", self.channel_id, error.response.get("error")
                )
        if self.response_url and await self._respond(message.in_channel()):
            return None
        return await self._direct(message)

    async def tell(self, message: Message) -> None:
        """Only for this user: an ephemeral reply, else an ephemeral post, else a DM."""
        if self.response_url and await self._respond(message.ephemeral()):
            return
        if self.channel_id:
            try:
                await self.client.chat_postEphemeral(
                    channel=self.channel_id,
                    user=self.user_id,
                    thread_ts=self.thread_ts,
                    text=message.text,
                    blocks=message.blocks,
                )
                return
            except SlackApiError as error:
                log.info("cannot post ephemeral in %s (%s)", self.channel_id, error.response.get("error"))
        await self._direct(message)

    async def replace(self, message: Message) -> bool:
        """Replace the message an interaction came from (through its response_url)."""
        if not self.response_url:
            return False
        return await self._respond({"replace_original": True, "text": message.text, "blocks": message.blocks})

    async def _respond(self, payload: dict[str, object]) -> bool:
        assert self.response_url
        if not slack_response_url(self.response_url, self.client.base_url):
            # Slack's response_urls are on hooks.slack.com: one elsewhere (a forged payload, even signed by a
            # leaked secret) would have the bot post what it says to someone else's server.
            log.warning("ignored a response_url outside Slack (host %s)", urlsplit(self.response_url).hostname)
            return False
        try:
            response = await AsyncWebhookClient(self.response_url, session=self.client.session).send_dict(payload)
        except Exception as error:  # any failure here has a fallback
            log.info("response_url failed (%s)", type(error).__name__)
            return False
        if response.status_code != 200:
            log.info("response_url answered %s (%s)", response.status_code, response.body[:80])
            return False
        return True

    async def _direct(self, message: Message) -> tuple[str, str]:
        try:
            opened = await self.client.conversations_open(users=self.user_id)
            channel = (opened.get("channel") or {}).get("id")
            posted = await self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
        except SlackApiError as error:
            raise Undelivered(str(error.response.get("error"))) from None
        return str(posted.get("channel")), str(posted.get("ts"))
