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
    assert MANIFEST["settings"]["event_subscriptions"] == {"bot_events": ["app_home_opened"]}


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
