"""The one module that registers Bolt listeners: commands, forms, shortcuts, buttons, App Home, workflow
steps and reactions all go to the dispatcher or to the surface it hands them to."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.reactions import Reactions
from bot.slack.cards import ACTION_PREFIX as CARD_ACTIONS
from bot.slack.cards import Cards
from bot.slack.connection_admin import ACTIONS as CONNECTION_ACTIONS
from bot.slack.connection_admin import FORM as CONNECTION_FORM
from bot.slack.connection_admin import ConnectionAdmin
from bot.slack.home import OPEN_PREFIX, Home
from bot.slack.imports import CANCEL as IMPORT_CANCEL
from bot.slack.imports import FORM as IMPORT_FORM
from bot.slack.imports import FROM_HOME as IMPORT_FROM_HOME
from bot.slack.imports import FROM_MESSAGE as IMPORT_FROM_MESSAGE
from bot.slack.imports import PREVIEW as IMPORT_PREVIEW
from bot.slack.imports import UPDATE as IMPORT_UPDATE
from bot.slack.imports import Imports
from bot.slack.modals import CALLBACK_PREFIX
from bot.slack.reactions import ReactionTags
from bot.slack.safety import CANCEL, CONFIRM, RESTORE, RETRY
from bot.slack.shortcuts import CONTACT_FROM_MESSAGE, TAG_CONTACTS_VIEW, TAG_FROM_MESSAGE, Shortcuts
from bot.slack.steps import Steps, step_pattern
from bot.slack.surface import SlackSurface
from bot.slack.undo import UNDO_ACTION, Undo


def register(
    app: AsyncApp, surface: SlackSurface, admin: ConnectionAdmin, *, reactions: Reactions | None = None
) -> None:
    shortcuts, cards, home, undo = Shortcuts(surface), Cards(surface), Home(surface, admin), Undo(surface)
    imports = surface.imports = Imports(surface)
    steps = surface.steps = Steps(surface)

    # One listener for every command: Bolt tries listeners in turn, each try costing an argument injection.
    every_command = "|".join(re.escape(command) for command in surface.commands)
    app.command(re.compile(f"^(?:{every_command})$"))(surface.on_command)
    app.view_submission(re.compile(f"^{re.escape(CALLBACK_PREFIX)}"))(surface.on_submission)
    app.view_submission(TAG_CONTACTS_VIEW)(shortcuts.on_tag_submission)
    app.message_shortcut(TAG_FROM_MESSAGE)(shortcuts.on_tag_from_message)
    app.message_shortcut(CONTACT_FROM_MESSAGE)(shortcuts.on_contact_from_message)
    every_shortcut = "|".join(re.escape(op.shortcut) for op in surface.runner.registry if op.shortcut)
    app.global_shortcut(re.compile(f"^(?:{every_shortcut})$"))(shortcuts.on_global)
    app.action(UNDO_ACTION)(undo.on_action)
    app.action(CONFIRM)(surface.safety.on_confirm)
    app.action(CANCEL)(surface.safety.on_cancel)
    app.action(RESTORE)(surface.safety.on_restore)
    app.action(RETRY)(surface.safety.on_retry)
    app.action(re.compile(f"^{CARD_ACTIONS}"))(cards.on_action)
    app.action(re.compile(f"^{re.escape(OPEN_PREFIX)}"))(home.on_action)
    app.event("app_home_opened")(home.on_opened)
    app.action(re.compile(f"^(?:{'|'.join(CONNECTION_ACTIONS)})$"))(admin.on_action)
    app.view_submission(CONNECTION_FORM)(admin.on_submission)
    app.view_submission(IMPORT_FORM)(imports.on_form)
    app.view_submission(IMPORT_PREVIEW)(imports.on_run)
    app.action(IMPORT_UPDATE)(imports.on_update)
    app.action(IMPORT_CANCEL)(imports.on_cancel)
    app.action(IMPORT_FROM_HOME)(imports.on_home)
    app.message_shortcut(IMPORT_FROM_MESSAGE)(imports.on_message_shortcut)
    # Workflow Builder steps: Bolt acknowledges function_executed itself; the step completes later.
    app.function(step_pattern(steps.steps), auto_acknowledge=True)(steps.on_function)
    # Off (and its scopes left out of the manifest) until configured; a reaction event that arrives all the
    # same (the app still subscribed after reactions were unset) is acknowledged and ignored, not answered 404.
    tagging = ReactionTags(surface, shortcuts, undo, reactions or {})
    app.event("reaction_added")(tagging.on_added)
    app.event("reaction_removed")(tagging.on_removed)
    app.error(surface.on_error)
