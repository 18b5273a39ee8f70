"""Installed by link (OAuth) in several workspaces: the "Add to Slack" page, Slack's way back with a code
(`oauth.v2.access` at the fake Slack), each workspace's commands acting with its own token and its own
connections, nothing of one workspace seen from another, an uninstall removing the tokens and keys, a restart
keeping the installations, token rotation. The bot is `segmetrics-bot serve`'s: a `Fleet` behind `HttpService`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.signature import SignatureVerifier

from bot.sandbox import Sandbox, SandboxServer
from bot.settings import HttpSettings, SettingsError, load_settings
from bot.slack.fleet import Fleet
from bot.slack.server import HttpService
from bot.store import Store, workspace_database
from bot.testing import FakeSlack, authorize_link
from tests.e2e.conftest import (
    ACCOUNT,
    API_KEY,
    INTEGRATION,
    SIGNING_SECRET,
    BotFactory,
    Slack,
    settled,
    temporary_database,
)
from tests.e2e.test_modes import free_port, start_bot, stop, wait_healthy
from tests.integration.test_cli import run_cli

CLIENT_ID, CLIENT_SECRET = "1234567890.0987654321", "client-secret-9b8c7d"
SECRET_KEY = Fernet.generate_key().decode()
OTHER_KEY = "sk-other-Secret-41c0ffee"
ACME, GLOBEX = "T0ACME", "T0GLOBEX"
ACME_ADMIN, GLOBEX_ADMIN = "UACME1", "UGLOBEX1"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(
        api_key=API_KEY,
        account_id=ACCOUNT,
        integration_id=INTEGRATION,
        more_integrations=("91",),
        more_keys=(OTHER_KEY,),
    )


def fleet_settings(fake: FakeSlack, server: SandboxServer, database: str, **overrides: Any) -> HttpSettings:
    values: dict[str, Any] = {
        "segmetrics_bot_database_url": database,
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "segmetrics_bot_secret_key": SECRET_KEY,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "segmetrics_import_url": server.import_url,
        "segmetrics_reporting_url": server.reporting_url,
        "segmetrics_bot_state_dir": tempfile.mkdtemp(prefix="segmetrics-state-"),
    }
    settings = load_settings(env_file=None, model=HttpSettings, **{**values, **overrides})
    assert isinstance(settings, HttpSettings)
    return settings


async def install_in_a_browser(served: Served, fake: FakeSlack, team: str, user: str) -> httpx.Response:
    """The whole way, as a browser goes: the install page, its link to Slack's authorize page (where `user` of
    `team` allows), Slack's redirect back to the bot, the cookie sent along."""
    fake.next_install(team, user)
    async with httpx.AsyncClient(timeout=10, follow_redirects=True) as browser:
        page = await browser.get(f"{served.url}/slack/install")
        # Marked Secure, so httpx keeps it for https only: a browser on the bot's https URL sends it back.
        name, _, value = page.headers["set-cookie"].split(";")[0].partition("=")
        browser.cookies.set(name, value, domain="127.0.0.1")
        return await browser.get(authorize_link(page.text))


class Served:
    """One `serve` process installed by link: its fleet, its HTTP server, a browser, Slack's side per workspace."""

    def __init__(self, fleet: Fleet, service: HttpService, fake: FakeSlack) -> None:
        self.fleet, self.service, self.fake = fleet, service, fake
        self.url = f"http://127.0.0.1:{service.port}"
        self.http = httpx.AsyncClient(timeout=10)

    async def install(self, team: str, user: str) -> httpx.Response:
        """A user of `team` opens /slack/install, clicks "Add to Slack", allows, and comes back."""
        page = await self.http.get(f"{self.url}/slack/install")
        assert page.status_code == 200, page.text
        authorize = authorize_link(page.text)
        cookie = page.headers["set-cookie"].split(";")[0]  # Secure: a browser sends it back over https only
        back = self.fake.approve(authorize, team=team, user=user, redirect_url=f"{self.url}/slack/oauth_redirect")
        return await self.http.get(back, headers={"Cookie": cookie})

    def slack(self, team: str) -> Slack:
        return Slack(url=self.url, http=self.http, fake=self.fake, bot=self.fleet.bots[team], team=team)

    async def stop(self) -> None:
        await self.service.stop(grace=2)
        await self.http.aclose()


class Fleets:
    def __init__(self, fake: FakeSlack, server: SandboxServer) -> None:
        self.fake, self.server = fake, server
        self.running: list[Served] = []

    async def start(self, database: str, **overrides: Any) -> Served:
        fleet = Fleet(fleet_settings(self.fake, self.server, database, **overrides))
        service = HttpService(fleet, host="127.0.0.1", port=0)
        await fleet.prepare()
        await service.start()
        served = Served(fleet, service, self.fake)
        self.running.append(served)
        return served

    async def stop(self, served: Served) -> None:
        self.running.remove(served)
        await served.stop()


@pytest.fixture
async def fleets(fake_slack: FakeSlack, segmetrics: SandboxServer) -> AsyncIterator[Fleets]:
    fake_slack.enable_oauth(CLIENT_ID, CLIENT_SECRET)
    factory = Fleets(fake_slack, segmetrics)
    yield factory
    for served in list(factory.running):
        await factory.stop(served)


async def add_connection(slack: Slack, user: str, **typed: Any) -> None:
    """The workspace's admin adds a connection in the App Home, the default for every resource."""
    since = time.monotonic()
    await slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
    await slack.fake.async_wait_for("views.publish", lambda call: call.at >= since and call.args["user_id"] == user)
    await slack.click("connection_add", "add", user=user, message=None)
    form = await slack.opened_view(after=since)
    values = {"resources": [option["value"] for option in _options(form, "resources")], **typed}
    assert (await slack.submit(form, values, user=user)).text == ""
    await slack.posted(lambda call: call.at >= since and "Added the connection" in call.args.get("text", ""))


def _options(view: dict[str, Any], block_id: str) -> list[dict[str, Any]]:
    block = next(block for block in view["blocks"] if block.get("block_id") == block_id)
    return list(block["element"]["options"])


def names(slack: Slack) -> set[str]:
    return {connection.name for connection in slack.bot.runner.connections}


def tokens_of(fake: FakeSlack, team: str) -> set[str]:
    return {token for token, owner in fake.tokens.items() if owner == team}


async def test_two_workspaces_install_by_link_and_each_acts_with_its_own_token_and_connections(
    fleets: Fleets, fake_slack: FakeSlack, sandbox: Sandbox
) -> None:
    database = temporary_database()
    served = await fleets.start(database)
    page = await served.http.get(f"{served.url}/slack/install")
    authorize = urlsplit(authorize_link(page.text))
    asked = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}" == fake_slack.url  # the Slack of SLACK_API_URL
    assert {"commands", "chat:write", "users:read"} <= set(asked["scope"][0].split(","))
    assert "reactions:read" not in asked["scope"][0]  # reactions are not configured: their scopes are not asked

    for team, admin in ((ACME, ACME_ADMIN), (GLOBEX, GLOBEX_ADMIN)):
        done = await served.install(team, admin)
        assert done.status_code == 200 and "error" not in done.text.lower(), done.text
    assert sorted(served.fleet.bots) == [ACME, GLOBEX]
    assert [call.args.get("code") is not None for call in fake_slack.calls_to("oauth.v2.access")] == [True, True]
    acme, globex = served.slack(ACME), served.slack(GLOBEX)

    # Each installer is its workspace's admin, and adds its own connection.
    await add_connection(acme, ACME_ADMIN, name="acme", api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION)
    await add_connection(
        globex, GLOBEX_ADMIN, name="globex", api_key=OTHER_KEY, account_id=ACCOUNT, integration_id="91"
    )

    sandbox.reset_requests()
    since = time.monotonic()
    await acme.command("contact add jane@acme.example", user=ACME_ADMIN)
    await globex.command("contact add joe@globex.example", user=GLOBEX_ADMIN)
    said_acme = await acme.posted(lambda call: call.at >= since and "jane@acme.example" in call.args.get("text", ""))
    said_globex = await globex.posted(
        lambda call: call.at >= since and "joe@globex.example" in call.args.get("text", "")
    )
    assert said_acme.token in tokens_of(fake_slack, ACME)
    assert said_globex.token in tokens_of(fake_slack, GLOBEX)
    await settled(acme)
    await settled(globex)
    sent = {(r.path.split("/")[4], r.json.get("email")) for r in sandbox.requests if r.method == "POST"}
    assert sent == {(INTEGRATION, "jane@acme.example"), ("91", "joe@globex.example")}
    for request in sandbox.requests:
        key = API_KEY if f"/{INTEGRATION}/" in request.path else OTHER_KEY
        assert any(key in value for value in request.headers.values())

    # Nothing of one workspace is seen from the other: connections, admins, audit trail.
    assert names(acme) == {"default", "acme"} and names(globex) == {"default", "globex"}
    assert not await acme.bot.surface.safety.is_admin(GLOBEX_ADMIN)
    # What they share is the process: its metrics, and one lane, so that any workspace's acknowledgement goes
    # before every workspace's background work (`bench.workspaces`: half the acks/s with a lane each).
    assert acme.bot.surface.lane is globex.bot.surface.lane and acme.bot.metrics is globex.bot.metrics
    acme_audit = {row["user_id"] for row in acme.bot.store.store.audit_rows()}
    globex_audit = {row["user_id"] for row in globex.bot.store.store.audit_rows()}
    assert GLOBEX_ADMIN not in acme_audit and ACME_ADMIN not in globex_audit
    since = time.monotonic()
    await globex.event({"type": "app_home_opened", "user": GLOBEX_ADMIN, "channel": "DG", "tab": "home"})
    home = await fake_slack.async_wait_for("views.publish", lambda call: call.at >= since)
    assert home.token in tokens_of(fake_slack, GLOBEX)
    assert "acme" not in str(home.args["view"]) and "globex" in str(home.args["view"])

    # One /healthz and one /metrics for the process, over every workspace.
    health = (await served.http.get(f"{served.url}/healthz")).json()
    assert health["status"] == "ok" and health["workspaces"] == 2
    scraped = (await served.http.get(f"{served.url}/metrics")).text
    added = [
        sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "segmetrics_bot_operations_total" and sample.labels["operation"] == "contact add"
    ]
    assert sum(added) == 2

    # The tokens are kept encrypted in the bot's database.
    raw = sqlite3.connect(database.removeprefix("sqlite:///"))
    kept = [row[0] for row in raw.execute("SELECT bot_token FROM slack_bots")]
    raw.close()
    assert len(kept) == 2 and not any("xoxb" in token for token in kept)
    assert not any(
        token in Path(database.removeprefix("sqlite:///")).read_bytes().decode("latin-1") for token in fake_slack.tokens
    )


async def test_an_uninstall_removes_the_workspaces_tokens_and_keys_and_keeps_its_audit_trail(
    fleets: Fleets, fake_slack: FakeSlack, sandbox: Sandbox
) -> None:
    database = temporary_database()
    served = await fleets.start(database)
    await served.install(ACME, ACME_ADMIN)
    await served.install(GLOBEX, GLOBEX_ADMIN)
    acme, globex = served.slack(ACME), served.slack(GLOBEX)
    await add_connection(acme, ACME_ADMIN, name="acme", api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION)
    await acme.command("contact add jane@acme.example", user=ACME_ADMIN)
    await acme.posted(lambda call: "jane@acme.example" in call.args.get("text", ""))
    await settled(acme)

    fake_slack.revoke(ACME)
    answer = await acme.event({"type": "app_uninstalled"})
    assert answer.status_code == 200
    # Slack also says the bot's token was revoked: nothing more to do, nothing said twice.
    await acme.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}})
    deadline = time.monotonic() + 5
    while ACME in served.fleet.bots and time.monotonic() < deadline:
        await _tick()
    assert ACME not in served.fleet.bots and GLOBEX in served.fleet.bots
    installations = served.fleet.installations.sync
    assert installations.find_bot(enterprise_id=None, team_id=ACME) is None
    assert installations.find_installation(enterprise_id=None, team_id=ACME) is None
    assert installations.find_bot(enterprise_id=None, team_id=GLOBEX) is not None

    url, schema = workspace_database(database, ACME)
    kept = Store(url, schema=schema)
    try:
        assert kept.stored_connections() == []  # the key is gone with the connection
        operations = [row["operation"] for row in kept.audit_rows()]
    finally:
        kept.close()
    assert "contact add" in operations and operations[-1] == "app uninstall"
    assert operations.count("app uninstall") == 1

    # The other workspace goes on; a request from the uninstalled one is not answered by anyone.
    since = time.monotonic()
    await globex.command("contact add joe@globex.example", user=GLOBEX_ADMIN)
    await globex.posted(lambda call: call.at >= since and "joe@globex.example" in call.args.get("text", ""))
    late = await acme.command("contact add late@acme.example", user=ACME_ADMIN)
    assert late.status_code == 200 and late.text == ""

    # Installed again: a new token, no connection (its keys were removed), the old audit trail still there.
    await served.install(ACME, ACME_ADMIN)
    again = served.slack(ACME)
    assert names(again) == {"default"}
    assert len(again.bot.store.store.audit_rows()) >= len(operations)


async def test_a_revoked_user_token_leaves_the_installation_alone(fleets: Fleets, fake_slack: FakeSlack) -> None:
    served = await fleets.start(temporary_database())
    await served.install(ACME, ACME_ADMIN)
    acme = served.slack(ACME)
    await acme.event({"type": "tokens_revoked", "tokens": {"oauth": [ACME_ADMIN], "bot": []}})
    await acme.event({"type": "app_home_opened", "user": ACME_ADMIN, "channel": "DA", "tab": "home"})
    await fake_slack.async_wait_for("views.publish", lambda call: call.args["user_id"] == ACME_ADMIN)
    assert ACME in served.fleet.bots


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_installations_survive_a_restart_and_replicas_pick_up_each_others_installs(
    fleets: Fleets, fake_slack: FakeSlack, backend: str, request: pytest.FixtureRequest
) -> None:
    database = temporary_database() if backend == "sqlite" else request.getfixturevalue("fresh_postgres")
    first = await fleets.start(database)
    second = await fleets.start(database)  # a replica on the same database, started before the installs
    await first.install(ACME, ACME_ADMIN)
    # The second learns of it by the first request from that workspace (or its next look at the installations).
    from_second = Slack(url=second.url, http=second.http, fake=fake_slack, bot=None, team=ACME)  # type: ignore[arg-type]
    since = time.monotonic()
    await from_second.command("contact add jane@acme.example", user=ACME_ADMIN)
    said = await fake_slack.async_wait_for(
        "chat.postMessage", lambda call: call.at >= since and "jane@acme.example" in call.args.get("text", "")
    )
    assert said.token in tokens_of(fake_slack, ACME)
    assert ACME in second.fleet.bots
    await fleets.stop(first)
    await fleets.stop(second)

    restarted = await fleets.start(database)
    assert sorted(restarted.fleet.bots) == [ACME]
    since = time.monotonic()
    await restarted.slack(ACME).command("contact show jane@acme.example", user=ACME_ADMIN)
    await fake_slack.async_wait_for("response_url", lambda call: call.at >= since)


async def test_a_rotating_token_is_renewed_before_it_expires_and_used_at_once(
    fleets: Fleets, fake_slack: FakeSlack
) -> None:
    fake_slack.enable_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    fake_slack.expires_in = 12 * 3600
    served = await fleets.start(temporary_database())
    await served.install(ACME, ACME_ADMIN)
    acme = served.slack(ACME)
    first = acme.bot.client.token
    assert first is not None and first.startswith("xoxe.xoxb-")

    await served.fleet.refresh()  # hours left: nothing to do
    assert acme.bot.client.token == first
    assert not [call for call in fake_slack.calls_to("oauth.v2.access") if call.args.get("grant_type")]

    # An hour left: renewed by the refresh token, kept (encrypted) for every replica, used from now on.
    installations = served.fleet.installations.sync
    record = installations.find_bot(enterprise_id=None, team_id=ACME)
    assert record is not None
    record.bot_token_expires_at = int(time.time()) + 3600
    installations.save_bot(record)
    await served.fleet.refresh()
    renewed = acme.bot.client.token
    assert renewed != first and renewed in tokens_of(fake_slack, ACME)
    assert installations.find_bot(enterprise_id=None, team_id=ACME).bot_token == renewed  # type: ignore[union-attr]
    since = time.monotonic()
    await acme.command("contact add jane@acme.example", user=ACME_ADMIN)
    said = await acme.posted(lambda call: call.at >= since and "jane@acme.example" in call.args.get("text", ""))
    assert said.token == renewed


async def test_a_wrong_or_stale_way_back_installs_nothing(fleets: Fleets, fake_slack: FakeSlack) -> None:
    served = await fleets.start(temporary_database())
    page = await served.http.get(f"{served.url}/slack/install")
    authorize = authorize_link(page.text)
    back = fake_slack.approve(authorize, team=ACME, user=ACME_ADMIN, redirect_url=f"{served.url}/slack/oauth_redirect")
    # Without the browser's cookie (another browser, or a forged link): refused.
    refused = await served.http.get(back)
    assert refused.status_code == 400
    assert served.fleet.bots == {}
    # Slack reporting that the user cancelled.
    cancelled = await served.http.get(f"{served.url}/slack/oauth_redirect?error=access_denied")
    assert cancelled.status_code == 200 and served.fleet.bots == {}
    assert fake_slack.calls_to("oauth.v2.access") == []


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"slack_bot_token": "xoxb-1"}, "SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID"),
        ({"segmetrics_bot_secret_key": None}, "needs SEGMETRICS_BOT_SECRET_KEY"),
        ({"slack_client_secret": None}, "needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"),
        ({"segmetrics_api_key": API_KEY, "segmetrics_account_id": ACCOUNT, "segmetrics_integration_id": "9"}, "shared"),
        ({"slack_client_id": "my-app"}, "SLACK_CLIENT_ID: is not a Slack client id"),
        ({"segmetrics_audit_channel": "C0AUDIT12"}, "SEGMETRICS_AUDIT_CHANNEL names a channel of one workspace"),
        ({"segmetrics_bot_database_url": "mysql+pymysql://bot:pw@db/segmetrics"}, "SQLite files or PostgreSQL schemas"),
    ],
)
def test_settings_for_installing_by_link_say_what_to_fix(
    fake_slack: FakeSlack, segmetrics: SandboxServer, overrides: dict[str, Any], said: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        fleet_settings(fake_slack, segmetrics, temporary_database(), **overrides)
    assert said in str(raised.value)
    assert CLIENT_SECRET not in str(raised.value) and SECRET_KEY not in str(raised.value)


def test_one_workspaces_token_setup_still_needs_its_token(fake_slack: FakeSlack, segmetrics: SandboxServer) -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN: is not set"):
        load_settings(env_file=None, model=HttpSettings, slack_signing_secret=SIGNING_SECRET)


async def _tick() -> None:
    await asyncio.sleep(0.02)


async def test_on_postgresql_each_workspace_has_a_schema_of_its_own(
    fleets: Fleets, fake_slack: FakeSlack, fresh_postgres: str
) -> None:
    served = await fleets.start(fresh_postgres)
    await served.install(ACME, ACME_ADMIN)
    await served.install(GLOBEX, GLOBEX_ADMIN)
    for team, user, email in ((ACME, ACME_ADMIN, "jane@acme.example"), (GLOBEX, GLOBEX_ADMIN, "joe@globex.example")):
        slack = served.slack(team)
        since = time.monotonic()
        await slack.command(f"contact add {email}", user=user)
        said = await slack.posted(
            lambda call, email=email, since=since: call.at >= since and email in call.args.get("text", "")
        )
        assert said.token in tokens_of(fake_slack, team)
        await settled(slack)

    with psycopg.connect(fresh_postgres.replace("postgresql+psycopg", "postgresql")) as connection:
        schemas = {row[0] for row in connection.execute("SELECT schema_name FROM information_schema.schemata")}
        acme_users = {row[0] for row in connection.execute("SELECT user_id FROM team_t0acme.audit")}
        globex_users = {row[0] for row in connection.execute("SELECT user_id FROM team_t0globex.audit")}
        kept = [row[0] for row in connection.execute("SELECT bot_token FROM public.slack_bots")]
    assert {"team_t0acme", "team_t0globex"} <= schemas
    assert ACME_ADMIN in acme_users and GLOBEX_ADMIN not in acme_users
    assert GLOBEX_ADMIN in globex_users and ACME_ADMIN not in globex_users
    assert len(kept) == 2 and not any("xoxb" in token for token in kept)


async def test_the_one_workspace_bot_answers_an_uninstall_and_says_what_to_do(
    bots: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    slack = await bots.start()
    answer = await slack.event({"type": "app_uninstalled"})
    assert answer.status_code == 200
    assert "SLACK_BOT_TOKEN no longer works" in caplog.text


def test_serve_installed_by_link_as_a_user_starts_it(
    fake_slack: FakeSlack, segmetrics: SandboxServer, tmp_path: Path
) -> None:
    """`segmetrics-bot serve` with the client id and secret: installed in a workspace from a browser, it answers
    that workspace's command with that workspace's token, and no secret reaches its log."""
    fake_slack.enable_oauth(CLIENT_ID, CLIENT_SECRET)
    port = free_port()
    env = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SEGMETRICS_BOT_SECRET_KEY": SECRET_KEY,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "SEGMETRICS_BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "SEGMETRICS_BOT_STATE_DIR": str(tmp_path / "state"),
    }
    process = start_bot(["serve", "--port", str(port)], env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz", process)
        page = httpx.get(f"{base}/slack/install")
        cookie = page.headers["set-cookie"].split(";")[0]
        back = fake_slack.approve(
            authorize_link(page.text), team=ACME, user=ACME_ADMIN, redirect_url=f"{base}/slack/oauth_redirect"
        )
        assert httpx.get(back, headers={"Cookie": cookie}).status_code == 200
        assert httpx.get(f"{base}/healthz").json()["workspaces"] == 1
        body = f"command=%2Fsegmetrics&text=contact+add+jane%40acme.example&user_id={ACME_ADMIN}&channel_id=C1"
        body += f"&team_id={ACME}&response_url={fake_slack.response_url('cli')}&trigger_id=t1"
        stamp = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        assert httpx.post(f"{base}/slack/events", content=body, headers=headers).status_code == 200
        said = fake_slack.wait_for("chat.postMessage", lambda call: "jane@acme.example" in call.args.get("text", ""))
        assert said.token in tokens_of(fake_slack, ACME)
        assert said.args["text"].endswith("(sandbox)")  # no connection added yet: the workspace's own sandbox
    finally:
        stderr = stop(process)
    assert "workspace T0ACME" in stderr
    for secret in (CLIENT_SECRET, SECRET_KEY, SIGNING_SECRET, *fake_slack.tokens):
        assert secret not in stderr


async def test_each_workspace_follows_its_own_policy_file(
    fleets: Fleets, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    # Acme lets only its admins add contacts; every other workspace follows default.toml, which does not.
    (policies / f"{ACME}.toml").write_text('[operations."contact add"]\nallow = ["admins"]\n')
    (policies / "default.toml").write_text('[operations."contact add"]\nallow = ["everyone"]\n')
    served = await fleets.start(temporary_database(), segmetrics_bot_policy=str(policies))
    await served.install(ACME, ACME_ADMIN)
    await served.install(GLOBEX, GLOBEX_ADMIN)
    acme, globex = served.slack(ACME), served.slack(GLOBEX)
    since = time.monotonic()
    refused = (await acme.command("contact add jane@acme.example", user="UACME2")).json()
    assert "is not open to you" in refused["text"] and f"<@{ACME_ADMIN}>" in refused["text"], refused
    await globex.command("contact add joe@globex.example", user="UGLOBEX2")
    said = await globex.posted(lambda call: call.at >= since and "joe@globex.example" in call.args.get("text", ""))
    assert said.token in tokens_of(fake_slack, GLOBEX)
    # The installer is Acme's admin, so may.
    await acme.command("contact add jane@acme.example", user=ACME_ADMIN)
    await acme.posted(lambda call: call.at >= since and "jane@acme.example" in call.args.get("text", ""))


def test_a_policy_directory_is_for_a_bot_installed_by_link(
    fake_slack: FakeSlack, segmetrics: SandboxServer, tmp_path: Path
) -> None:
    (tmp_path / "default.toml").write_text('[operations."contact add"]\nallow = ["admins"]\n')
    from bot.slack.app import StartupError, build_bot
    from tests.e2e.conftest import bot_settings

    with pytest.raises(StartupError, match="a policy per workspace"):
        build_bot(bot_settings(fake_slack, segmetrics, segmetrics_bot_policy=str(tmp_path)))
    (tmp_path / "T0BAD.toml").write_text("[operations.nope]\nallow = 3\n")
    with pytest.raises(SettingsError, match=r"T0BAD\.toml"):
        fleet_settings(fake_slack, segmetrics, temporary_database(), segmetrics_bot_policy=str(tmp_path))


async def test_a_workspace_that_cannot_start_leaves_the_others_served(
    fleets: Fleets, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    database = temporary_database()
    first = await fleets.start(database)
    await first.install(ACME, ACME_ADMIN)
    await first.install(GLOBEX, GLOBEX_ADMIN)
    await fleets.stop(first)
    # Acme's database is unusable (a directory where its file was): the bot still starts, for Globex.
    url, _ = workspace_database(database, ACME)
    kept = Path(url.removeprefix("sqlite:///"))
    for path in kept.parent.glob(f"{kept.name}*"):
        path.unlink()
    kept.mkdir()
    served = await fleets.start(database)
    assert sorted(served.fleet.bots) == [GLOBEX]
    assert f"the bot of workspace {ACME} cannot start" in caplog.text
    health = (await served.http.get(f"{served.url}/healthz")).json()
    assert health["status"] == "ok" and health["workspaces"] == 1
    since = time.monotonic()
    await served.slack(GLOBEX).command("contact add joe@globex.example", user=GLOBEX_ADMIN)
    await fake_slack.async_wait_for(
        "chat.postMessage", lambda call: call.at >= since and "joe@globex.example" in call.args.get("text", "")
    )
    # A request from Acme is not answered by anyone (and tries its start again, said once in the log).
    assert (await served.fleet.bot_for(ACME)) is None
    assert caplog.text.count(f"the bot of workspace {ACME} cannot start") == 1


async def test_replicas_rotate_a_token_once(fleets: Fleets, fake_slack: FakeSlack) -> None:
    fake_slack.enable_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    database = temporary_database()
    first = await fleets.start(database)
    second = await fleets.start(database)
    await first.install(ACME, ACME_ADMIN)
    await second.fleet.refresh()
    installations = first.fleet.installations.sync
    record = installations.find_bot(enterprise_id=None, team_id=ACME)
    assert record is not None
    record.bot_token_expires_at = int(time.time()) + 3600
    installations.save_bot(record)
    await asyncio.gather(first.fleet.refresh(), second.fleet.refresh())
    refreshed = [call for call in fake_slack.calls_to("oauth.v2.access") if call.args.get("grant_type")]
    assert len(refreshed) == 1
    await first.fleet.refresh()
    await second.fleet.refresh()
    renewed = installations.find_bot(enterprise_id=None, team_id=ACME)
    assert renewed is not None and renewed.bot_token != record.bot_token
    assert first.fleet.bots[ACME].client.token == second.fleet.bots[ACME].client.token == renewed.bot_token


async def test_install_page_visits_leave_no_pile_of_states(fleets: Fleets) -> None:
    served = await fleets.start(temporary_database())
    for _ in range(3):
        assert (await served.http.get(f"{served.url}/slack/install")).status_code == 200
    states = served.fleet.flow.settings.state_store.sync  # type: ignore[attr-defined]
    with states.engine.begin() as connection:
        assert len(connection.execute(states.oauth_states.select()).all()) == 3
        connection.execute(states.oauth_states.update().values(expire_at=datetime(2000, 1, 1)))
    await served.http.get(f"{served.url}/slack/install")
    with states.engine.begin() as connection:
        assert len(connection.execute(states.oauth_states.select()).all()) == 1


async def test_audit_exports_one_workspaces_trail(fleets: Fleets, tmp_path: Path) -> None:
    database = temporary_database()
    served = await fleets.start(database)
    await served.install(ACME, ACME_ADMIN)
    acme = served.slack(ACME)
    await acme.command("contact add jane@acme.example", user=ACME_ADMIN)
    await acme.posted(lambda call: "jane@acme.example" in call.args.get("text", ""))
    await settled(acme)
    env = {"SEGMETRICS_BOT_DATABASE_URL": database}
    exported = run_cli("audit", "--team", ACME, "--format", "json", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    assert [row["operation"] for row in json.loads(exported.stdout)] == ["contact add"]
    unknown = run_cli("audit", "--team", GLOBEX, cwd=tmp_path, env=env)
    assert unknown.returncode == 2 and "no workspace of that id" in unknown.stderr
    assert not list(Path(database.removeprefix("sqlite:///")).parent.glob(f"*{GLOBEX}*"))  # not made by asking
    wrong = run_cli("audit", "--team", "../etc", cwd=tmp_path, env=env)
    assert wrong.returncode == 2 and "is not a Slack workspace id" in wrong.stderr


async def test_a_browser_installs_the_app_by_following_the_links(fleets: Fleets, fake_slack: FakeSlack) -> None:
    served = await fleets.start(temporary_database())
    fake_slack.redirect_url = f"{served.url}/slack/oauth_redirect"  # the app's Redirect URL, as the manifest says
    done = await install_in_a_browser(served, fake_slack, ACME, ACME_ADMIN)
    assert done.status_code == 200 and str(done.url).startswith(f"{served.url}/slack/oauth_redirect")
    assert sorted(served.fleet.bots) == [ACME]
    assert served.fleet.bots[ACME].client.token in tokens_of(fake_slack, ACME)
