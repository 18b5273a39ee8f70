"""The one module that registers Bolt listeners: every slash command and every form go to the dispatcher."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.slack.modals import CALLBACK_PREFIX
from bot.slack.surface import SlackSurface


def register(app: AsyncApp, surface: SlackSurface) -> None:
    for command in surface.commands:
        app.command(command)(surface.on_command)
    app.view_submission(re.compile(f"^{re.escape(CALLBACK_PREFIX)}"))(surface.on_submission)
    app.error(surface.on_error)
