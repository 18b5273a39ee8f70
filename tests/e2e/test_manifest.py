"""manifest.yml creates the app the code expects: same commands, scopes and settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.manifest import manifest, manifest_yaml
from commands import REGISTRY

ROOT = Path(__file__).resolve().parent.parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_the_file_is_what_the_code_generates() -> None:
    assert (ROOT / "manifest.yml").read_text() == manifest_yaml(REGISTRY), "run: segmetrics-bot manifest > manifest.yml"


async def test_manifest_and_code_register_the_same_commands_and_callback_ids() -> None:
    from bot.settings import HttpSettings, load_settings
    from bot.slack.app import build_bot
    from tests.e2e.conftest import temporary_database

    settings = load_settings(
        env_file=None,
        model=HttpSettings,
        slack_bot_token="xoxb-1",
        slack_signing_secret="s",
        segmetrics_bot_database_url=temporary_database(),
    )
    bot = build_bot(settings)
    in_manifest = {entry["command"] for entry in MANIFEST["features"]["slash_commands"]}
    in_code = set(bot.surface.commands)
    steps_in_code = set(bot.surface.steps.by_callback)
    await bot.close(grace=0)
    assert (
        in_manifest
        == in_code
        == {"/segmetrics", "/sm-contact", "/sm-tag", "/sm-order", "/sm-subscription", "/sm-ad", "/sm-api"}
    )
    from bot.slack.shortcuts import MESSAGE_SHORTCUTS

    shortcuts = {(entry["type"], entry["callback_id"]) for entry in MANIFEST["features"]["shortcuts"]}
    registered = {("message", item.callback_id) for item in MESSAGE_SHORTCUTS}
    registered |= {("global", op.shortcut) for op in REGISTRY if op.shortcut}
    assert shortcuts == registered
    assert {"tag_contacts_from_message", "contact_from_message"} <= {callback for _, callback in shortcuts}
    names = {entry["name"] for entry in MANIFEST["features"]["shortcuts"] if entry["type"] == "global"}
    assert names == {"Add or update contact", "Tag a contact", "Add order", "Add subscription", "Record ad spend"}
    assert all(len(entry["name"]) <= 24 for entry in MANIFEST["features"]["shortcuts"])
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["event_subscriptions"] == {"bot_events": ["app_home_opened", "function_executed"]}
    # Every step the code answers is declared, and nothing else: callback ids are `<resource>_<verb>`.
    assert set(MANIFEST["functions"]) == steps_in_code
    assert {"contact_add", "contact_show", "tag_add", "tag_remove", "order_add", "order_refund", "ad_record"} <= (
        steps_in_code
    )
    assert not {"contact_delete", "order_delete", "subscription_delete"} & steps_in_code  # they ask a person first
    assert MANIFEST["settings"]["function_runtime"] == "remote"
    assert MANIFEST["settings"]["org_deploy_enabled"] is True


def test_steps_are_derived_from_the_declarations() -> None:
    functions = MANIFEST["functions"]
    order = functions["order_add"]
    assert order["title"] == REGISTRY["order add"].title
    inputs = order["input_parameters"]
    # Named like the API fields and the form's block ids, typed for Workflow Builder.
    assert inputs["user_id"] == {
        "type": "slack#/types/user_id",
        "title": "Run as",
        "description": inputs["user_id"]["description"],
        "is_required": True,
        "name": "user_id",
    }
    assert inputs["id"]["type"] == "string" and inputs["id"]["is_required"] is True
    assert inputs["amount"]["type"] == "string"  # money as text, read like chat
    assert inputs["date_created"]["type"] == "slack#/types/timestamp"
    assert inputs["date_created_text"]["type"] == "string"
    assert inputs["items"] == {**inputs["items"], "type": "array", "items": {"type": "string"}}
    assert inputs["is_refunded"]["type"] == "string" and inputs["is_refunded"]["enum"] == ["yes", "no"]
    assert inputs["email"]["is_required"] is False and inputs["contact_id"]["is_required"] is False
    assert set(order["output_parameters"]) >= {"confirmation", "link", "invoice_id", "email", "contact_id"}
    tag = functions["tag_add"]["input_parameters"]
    assert tag["tags"]["type"] == "array" and tag["tags"]["is_required"] is True
    subscription = functions["subscription_add"]["input_parameters"]
    assert set(subscription["billing_cycle"]["enum"]) == {"year", "month", "week", "day"}
    assert subscription["frequency"]["type"] == "integer"
    assert functions["ad_record"]["input_parameters"]["date"]["type"] == "slack#/types/date"
    assert set(functions["contact_show"]["output_parameters"]) >= {"found", "contact_id", "email", "tags"}
    assert functions["contact_add"]["input_parameters"]["geo_lat"]["type"] == "number"


def test_reaction_scopes_only_once_reactions_are_configured() -> None:
    history = {"reactions:read", "channels:history", "groups:history", "im:history", "mpim:history"}
    assert not history & set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert "reaction_added" not in MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    configured = manifest(REGISTRY, reactions=True)
    assert history <= set(configured["oauth_config"]["scopes"]["bot"])
    assert {"reaction_added", "reaction_removed"} <= set(configured["settings"]["event_subscriptions"]["bot_events"])


def test_socket_mode_manifest_fits_slack_limits() -> None:
    assert len(MANIFEST["display_information"]["name"]) <= 35
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["settings"]["interactivity"] == {"is_enabled": True}
    assert {"commands", "chat:write", "users:read"} <= set(MANIFEST["oauth_config"]["scopes"]["bot"])
    for entry in MANIFEST["features"]["slash_commands"]:
        assert 2 <= len(entry["command"]) <= 32 and entry["command"].startswith("/")
        assert entry["should_escape"] is True
        assert "url" not in entry


def test_http_mode_variant_has_request_urls() -> None:
    http = manifest(REGISTRY, request_url="https://bot.example.com/")
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["interactivity"]["request_url"] == "https://bot.example.com/slack/events"
    assert {entry["url"] for entry in http["features"]["slash_commands"]} == {"https://bot.example.com/slack/events"}
    assert http["settings"]["event_subscriptions"]["request_url"] == "https://bot.example.com/slack/events"
    # Installable by link: Slack's way back, and the events that end an installation.
    assert http["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(http["settings"]["event_subscriptions"]["bot_events"])
