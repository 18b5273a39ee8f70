"""The fake Slack against real slack-sdk clients: Web API, response_url and a Socket Mode session."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.testing import Call, FakeSlack

VIEW: dict[str, Any] = {
    "type": "modal",
    "callback_id": "import_contact",
    "title": {"type": "plain_text", "text": "Import"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack(user_zones={"UPARIS": "Europe/Paris"}) as running:
        yield running


@pytest.fixture
def fake(server: FakeSlack) -> FakeSlack:
    server.reset()
    server.user_zones = {"UPARIS": "Europe/Paris"}
    server.not_in_channel.clear()
    return server


@pytest.fixture
def web(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def test_auth_test_answers_like_slack_and_records_the_token(fake: FakeSlack, web: AsyncWebClient) -> None:
    response = await web.auth_test()

    assert response["ok"] is True
    assert response["team_id"] == "T0TEST"
    assert response["user_id"] == "UBOT"
    assert response["bot_id"] == "B0TEST"
    assert response["is_enterprise_install"] is False
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    [call] = fake.calls
    assert (call.method, call.token, call.path) == ("auth.test", fake.bot_token, "/api/auth.test")


async def test_users_info_reports_the_default_zone_or_a_user_override(fake: FakeSlack, web: AsyncWebClient) -> None:
    fake.user_zones["UTOKYO"] = "Asia/Tokyo"
    fake.user_zones["UODD"] = "Mars/Olympus_Mons"

    default = (await web.users_info(user="U1"))["user"]
    paris = (await web.users_info(user="UPARIS"))["user"]
    tokyo = (await web.users_info(user="UTOKYO"))["user"]
    odd = (await web.users_info(user="UODD"))["user"]

    assert default["id"] == "U1"
    assert default["tz"] == "America/New_York"
    offset = datetime.now(ZoneInfo("America/New_York")).utcoffset()
    assert offset is not None
    assert default["tz_offset"] == int(offset.total_seconds())
    assert paris["tz"] == "Europe/Paris"
    assert tokyo["tz"] == "Asia/Tokyo"
    assert tokyo["tz_offset"] == 9 * 3600
    assert (odd["tz"], odd["tz_offset"]) == ("Mars/Olympus_Mons", 0)
    assert [call.args["user"] for call in fake.calls_to("users.info")] == ["U1", "UPARIS", "UTOKYO", "UODD"]


async def test_post_message_answers_increasing_ts_and_records_the_blocks(fake: FakeSlack, web: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Done*"}}]

    first = await web.chat_postMessage(channel="C1", text="Done", blocks=blocks)
    second = await web.chat_postMessage(channel="C1", text="Again")

    assert first["channel"] == "C1"
    assert first["message"]["user"] == "UBOT"
    assert first["message"]["blocks"] == blocks
    assert first["message"]["ts"] == first["ts"]
    assert float(second["ts"]) > float(first["ts"])
    call = fake.wait_for("chat.postMessage", lambda c: c.args.get("text") == "Done")
    assert call.args["blocks"] == blocks


async def test_form_encoded_json_arguments_are_decoded(fake: FakeSlack, web: AsyncWebClient) -> None:
    await web.api_call(
        "chat.postMessage",
        data={"channel": "C1", "text": "hi", "blocks": '[{"type": "divider"}]', "metadata": '{"event_type": "x"}'},
    )

    call = await fake.async_wait_for("chat.postMessage")
    assert call.args == {
        "channel": "C1",
        "text": "hi",
        "blocks": [{"type": "divider"}],
        "metadata": {"event_type": "x"},
    }


async def test_post_message_to_a_channel_without_the_bot_fails(fake: FakeSlack, web: AsyncWebClient) -> None:
    fake.not_in_channel.add("CPRIVATE")

    with pytest.raises(SlackApiError) as raised:
        await web.chat_postMessage(channel="CPRIVATE", text="hello")

    assert raised.value.response["error"] == "not_in_channel"
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_views_open_echoes_the_view_with_an_id_and_needs_a_trigger(fake: FakeSlack, web: AsyncWebClient) -> None:
    opened = (await web.views_open(trigger_id="trig-1", view=VIEW))["view"]
    pushed = (await web.views_push(trigger_id="trig-2", view=VIEW))["view"]
    updated = (await web.views_update(view_id=opened["id"], view=VIEW))["view"]

    assert opened["callback_id"] == "import_contact"
    assert opened["blocks"] == VIEW["blocks"]
    assert opened["id"].startswith("V")
    assert opened["hash"].startswith("h")
    assert opened["state"] == {"values": {}}
    assert pushed["id"] != opened["id"]
    assert updated["id"] == opened["id"]
    assert fake.calls_to("views.open")[0].args["view"] == VIEW

    with pytest.raises(SlackApiError) as raised:
        await web.api_call("views.open", json={"view": VIEW})
    assert raised.value.response["error"] == "invalid_arguments"


async def test_the_other_methods_answer_realistically(fake: FakeSlack, web: AsyncWebClient) -> None:
    assert (await web.chat_postEphemeral(channel="C1", user="U1", text="psst"))["message_ts"]
    updated = await web.chat_update(channel="C1", ts="1700000000.000100", text="edited")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", "1700000000.000100", "edited")
    deleted = await web.chat_delete(channel="C1", ts="1700000000.000100")
    assert (deleted["channel"], deleted["ts"]) == ("C1", "1700000000.000100")
    assert (await web.conversations_open(users=["U7", "U8"]))["channel"]["id"] == "DU7"
    assert (await web.usergroups_users_list(usergroup="S1"))["users"] == []
    with pytest.raises(SlackApiError) as raised:
        await web.api_call("chat.teleport")
    assert raised.value.response["error"] == "unknown_method"


async def test_a_wrong_or_missing_token_is_invalid_auth_and_still_recorded(fake: FakeSlack) -> None:
    for token in ("xoxb-wrong", None):
        with pytest.raises(SlackApiError) as raised:
            await AsyncWebClient(token=token, base_url=fake.api_url).auth_test()
        assert raised.value.response["error"] == "invalid_auth"
    # The bot token cannot open a Socket Mode connection; that takes the app-level token.
    with pytest.raises(SlackApiError) as raised:
        await AsyncWebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.bot_token)
    assert raised.value.response["error"] == "invalid_auth"

    assert [(call.method, call.token) for call in fake.calls] == [
        ("auth.test", "xoxb-wrong"),
        ("auth.test", None),
        ("apps.connections.open", fake.bot_token),
    ]


async def test_a_token_argument_is_accepted_in_place_of_the_header(fake: FakeSlack) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{fake.api_url}auth.test", data={"token": fake.bot_token})

    assert response.json()["ok"] is True
    assert fake.calls[0].token == fake.bot_token


async def test_fail_answers_the_next_calls_with_the_error_then_recovers(fake: FakeSlack, web: AsyncWebClient) -> None:
    fake.fail("chat.postMessage", "channel_not_found", times=2)
    fake.fail("chat.postMessage", "ratelimited")

    errors = []
    for _ in range(3):
        with pytest.raises(SlackApiError) as raised:
            await web.chat_postMessage(channel="C1", text="x")
        errors.append((raised.value.response.status_code, raised.value.response["error"]))
    recovered = await web.chat_postMessage(channel="C1", text="x")

    assert errors == [(200, "channel_not_found"), (200, "channel_not_found"), (429, "ratelimited")]
    assert recovered["ok"] is True
    assert len(fake.calls_to("chat.postMessage")) == 4


async def test_delay_holds_the_answer_but_not_the_record(fake: FakeSlack, web: AsyncWebClient) -> None:
    fake.delay("auth.test", 0.2)
    started = time.monotonic()

    pending = asyncio.create_task(web.auth_test())
    call = await fake.async_wait_for("auth.test")
    assert not pending.done()
    assert (await pending)["ok"] is True
    assert time.monotonic() - started >= 0.2
    assert call.at - started < 0.2

    fake.delay("auth.test", 0)
    started = time.monotonic()
    await web.auth_test()
    assert time.monotonic() - started < 0.2


async def test_async_wait_for_leaves_the_callers_loop_free(fake: FakeSlack, web: AsyncWebClient) -> None:
    # The call being waited for is made on the waiter's own loop; a blocking wait would never see it.
    waiter = asyncio.create_task(fake.async_wait_for("chat.postMessage", lambda c: c.args["channel"] == "C9"))
    await asyncio.sleep(0)
    await web.chat_postMessage(channel="C8", text="not this one")
    await web.chat_postMessage(channel="C9", text="this one")

    assert (await waiter).args["text"] == "this one"


def test_wait_for_blocks_until_another_thread_makes_the_call(fake: FakeSlack) -> None:
    def post_later() -> None:
        fake.wait_for("auth.test")
        httpx.post(f"{fake.api_url}chat.postMessage", json={"channel": "C1", "text": "late", "token": fake.bot_token})

    worker = threading.Thread(target=post_later)
    worker.start()
    httpx.post(f"{fake.api_url}auth.test", headers={"Authorization": f"Bearer {fake.bot_token}"})

    call = fake.wait_for("chat.postMessage", timeout=5)
    worker.join()
    assert call.args["text"] == "late"


async def test_waits_time_out_naming_what_was_recorded(fake: FakeSlack, web: AsyncWebClient) -> None:
    await web.auth_test()

    with pytest.raises(TimeoutError, match=r"chat\.postMessage.*auth\.test x1"):
        fake.wait_for("chat.postMessage", timeout=0.05)
    with pytest.raises(TimeoutError, match=r"views\.open.*auth\.test x1"):
        await fake.async_wait_for("views.open", timeout=0.05)


async def test_reset_forgets_calls_failures_and_delays(fake: FakeSlack, web: AsyncWebClient) -> None:
    await web.auth_test()
    fake.fail("auth.test", "account_inactive")
    fake.delay("auth.test", 5)

    fake.reset()
    started = time.monotonic()
    response = await web.auth_test()

    assert response["ok"] is True
    assert time.monotonic() - started < 1
    assert [call.method for call in fake.calls] == ["auth.test"]


async def test_response_url_records_the_body_with_its_key(fake: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake.response_url("k"))

    response = await webhook.send(text="Imported 3 contacts", response_type="ephemeral", replace_original=True)

    assert (response.status_code, response.body) == (200, "ok")
    call: Call = await fake.async_wait_for("response_url")
    assert call.args == {
        "text": "Imported 3 contacts",
        "response_type": "ephemeral",
        "replace_original": True,
        "key": "k",
    }
    assert call.path == "/response/k"


async def test_an_expired_response_url_answers_404(fake: FakeSlack) -> None:
    fake.fail("response_url", "expired_url")
    webhook = AsyncWebhookClient(fake.response_url())

    expired = await webhook.send(text="late")
    fresh = await webhook.send(text="on time")

    assert (expired.status_code, expired.body) == (404, "expired_url")
    assert fresh.status_code == 200
    assert [call.args["key"] for call in fake.calls_to("response_url")] == ["1", "1"]


async def test_socket_mode_round_trip_and_reconnect(fake: FakeSlack) -> None:
    requests: asyncio.Queue[SocketModeRequest] = asyncio.Queue()

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await requests.put(request)

    client = SocketModeClient(
        app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url), ping_interval=0.2
    )
    client.socket_mode_request_listeners.append(listener)
    try:
        await client.connect()
        await fake.async_wait_for_socket()
        assert fake.socket_connected()
        assert fake.calls_to("apps.connections.open")[0].token == fake.app_token

        await fake.async_socket_send(
            FakeSlack.slash_command_envelope({"command": "/segmetrics", "text": "help"}, envelope_id="env-1")
        )
        request = await asyncio.wait_for(requests.get(), timeout=5)
        assert (request.type, request.envelope_id, request.payload["text"]) == ("slash_commands", "env-1", "help")
        assert request.accepts_response_payload is True
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        ack = await fake.async_wait_for("socket_ack")
        assert ack.args == {"envelope_id": "env-1"}
        assert ack.path.startswith("/socket/")

        disconnected_at = time.monotonic()
        fake.socket_disconnect()
        assert not fake.socket_connected()
        await fake.async_wait_for("apps.connections.open", lambda c: c.at > disconnected_at)
        await fake.async_wait_for_socket()

        # The new session carries traffic both ways.
        fake.socket_send(FakeSlack.interactive_envelope({"type": "block_actions"}, envelope_id="env-2"))
        request = await asyncio.wait_for(requests.get(), timeout=5)
        assert (request.type, request.envelope_id) == ("interactive", "env-2")
        await client.send_socket_mode_response(SocketModeResponse(envelope_id="env-2", payload={"text": "ok"}))
        ack = await fake.async_wait_for("socket_ack", lambda c: c.args["envelope_id"] == "env-2")
        assert ack.args["payload"] == {"text": "ok"}
        assert ack.path != fake.calls_to("socket_ack")[0].path
    finally:
        await client.close()


def test_socket_send_without_a_client_raises(fake: FakeSlack) -> None:
    with pytest.raises(RuntimeError, match="no Socket Mode client"):
        fake.socket_send(FakeSlack.slash_command_envelope({"command": "/segmetrics"}))
    with pytest.raises(TimeoutError, match="Socket Mode"):
        fake.wait_for_socket(timeout=0.05)


async def test_stop_is_prompt_even_with_a_client_connected() -> None:
    fake = FakeSlack().start()
    client = SocketModeClient(
        app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url), auto_reconnect_enabled=False
    )
    try:
        await client.connect()
        await fake.async_wait_for_socket()
        started = time.monotonic()
        # Stopped from the client's own loop, so the client cannot answer the close handshake meanwhile.
        fake.stop()
        assert time.monotonic() - started < 1
        assert not fake.socket_connected()
        with pytest.raises(RuntimeError, match="not running"):
            _ = fake.url
    finally:
        await client.close()
        fake.stop()


def test_a_stopped_fake_can_start_again() -> None:
    fake = FakeSlack()
    with fake:
        assert httpx.get(f"{fake.api_url}auth.test").json() == {"ok": False, "error": "invalid_auth"}
    with fake:
        headers = {"Authorization": f"Bearer {fake.bot_token}"}
        assert httpx.get(f"{fake.api_url}auth.test", headers=headers).json()["ok"] is True
        assert [call.token for call in fake.calls] == [None, fake.bot_token]
