"""The fake Slack against real slack-sdk clients: Web API, response_url and a Socket Mode session."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.testing import Call, FakeSlack, Upload

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


async def test_chat_update_keeps_the_latest_text_and_blocks_by_ts(fake: FakeSlack, web: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Importing… 0/3"}}]
    posted = await web.chat_postMessage(channel="C1", text="Importing… 0/3", blocks=blocks, thread_ts="1.000001")
    ts = posted["ts"]
    assert fake.message("C1", ts) == {
        "type": "message",
        "channel": "C1",
        "ts": ts,
        "text": "Importing… 0/3",
        "blocks": blocks,
        "user": "UBOT",
        "thread_ts": "1.000001",
    }

    # Text only: Slack keeps the blocks; an empty list clears them.
    await web.chat_update(channel="C1", ts=ts, text="Importing… 2/3")
    kept = fake.message("C1", ts)
    assert kept is not None
    assert (kept["text"], kept["blocks"], kept["edited"]["user"]) == ("Importing… 2/3", blocks, "UBOT")
    done = await web.chat_update(channel="C1", ts=ts, text="Imported 3", blocks=[])
    assert done["message"]["text"] == "Imported 3"
    assert fake.message("C1", ts)["blocks"] == []  # type: ignore[index]
    assert [m["text"] for m in fake.messages("C1")] == ["Imported 3"]
    assert fake.message("C2", ts) is None

    # A message the fake never saw (a user's, or one a test made up) is kept from its first edit on.
    await web.chat_update(channel="C1", ts="1700000000.000007", text="edited")
    assert fake.message("C1", "1700000000.000007")["text"] == "edited"  # type: ignore[index]
    await web.chat_delete(channel="C1", ts=ts)
    assert fake.message("C1", ts) is None

    fake.reset()
    assert fake.messages() == []


async def test_files_info_describes_a_shared_file_like_slack(fake: FakeSlack, web: AsyncWebClient) -> None:
    content = "email,first name\nrenee@example.com,Renée\n".encode()
    file_id = fake.add_file(content, name="attendees.csv", user="U7", channel="C1")

    info = await web.files_info(file=file_id)

    file = info["file"]
    assert file_id.startswith("F")
    assert (file["id"], file["name"], file["title"], file["user"]) == (file_id, "attendees.csv", "attendees.csv", "U7")
    assert (file["filetype"], file["mimetype"], file["pretty_type"], file["size"]) == (
        "csv",
        "text/csv",
        "CSV",
        len(content),
    )
    assert file["url_private_download"] == f"{fake.url}/files-pri/T0TEST-{file_id}/download/attendees.csv"
    assert file["url_private"] == f"{fake.url}/files-pri/T0TEST-{file_id}/attendees.csv"
    assert list(file["shares"]["public"]) == ["C1"]
    assert file["channels"] == ["C1"]
    assert fake.calls_to("files.info")[0].args == {"file": file_id}


async def test_a_private_file_downloads_only_with_the_bot_token(fake: FakeSlack, web: AsyncWebClient) -> None:
    content = b"email\njane@example.com\n"
    file_id = fake.add_file(content, name="list.csv")
    url = (await web.files_info(file=file_id))["file"]["url_private_download"]

    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {fake.bot_token}"}) as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            assert "attachment" in response.headers["Content-Disposition"]
            assert await response.read() == content
        # Without the token Slack sends its sign-in page, with a 200 once the redirect is followed.
        async with http.get(url) as response:
            assert (response.status, response.content_type) == (200, "text/html")
            assert [r.status for r in response.history] == [302]
            assert "Sign in" in await response.text()
    # Not following redirects, the answer is the 302 itself; a wrong token fares no better.
    async with httpx.AsyncClient() as http:
        wrong = await http.get(url, headers={"Authorization": "Bearer xoxb-wrong"})
        assert wrong.status_code == 302
        assert wrong.headers["location"].startswith(f"{fake.url}/?redir=%2Ffiles-pri%2F")
        assert wrong.headers["content-type"].startswith("text/html")
        missing = await http.get(
            f"{fake.url}/files-pri/T0TEST-FNOPE/download/x.csv", headers={"Authorization": f"Bearer {fake.bot_token}"}
        )
        assert missing.status_code == 404

    downloads = fake.calls_to("file.download")
    assert [(c.args["file"], c.token) for c in downloads] == [
        (file_id, fake.bot_token),
        (file_id, None),
        (file_id, "xoxb-wrong"),
        ("FNOPE", fake.bot_token),
    ]
    assert all(c.args["download"] for c in downloads)
    assert downloads[0].path == f"/files-pri/T0TEST-{file_id}/download/list.csv"


async def test_files_info_for_an_unknown_file_is_file_not_found(fake: FakeSlack, web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await web.files_info(file="F0NOPE")
    assert raised.value.response["error"] == "file_not_found"

    fake.fail("files.info", "ratelimited")
    file_id = fake.add_file(b"x")
    with pytest.raises(SlackApiError) as raised:
        await web.files_info(file=file_id)
    assert raised.value.response.status_code == 429


async def test_files_upload_v2_into_a_thread_can_be_read_back(fake: FakeSlack, web: AsyncWebClient) -> None:
    parent = await web.chat_postMessage(channel="C1", text="Importing attendees.csv")
    report = "email,result\njane@example.com,added\nbob@example,invalid email\n"

    response = await web.files_upload_v2(
        channel="C1",
        thread_ts=parent["ts"],
        filename="import-report.csv",
        title="Import report",
        content=report,
        initial_comment="2 rows: 1 added, 1 refused",
    )

    upload = await fake.async_wait_for_upload()
    assert isinstance(upload, Upload)
    assert (upload.filename, upload.title, upload.channel, upload.thread_ts) == (
        "import-report.csv",
        "Import report",
        "C1",
        parent["ts"],
    )
    assert upload.initial_comment == "2 rows: 1 added, 1 refused"
    assert upload.text == report
    assert upload.content == report.encode()
    assert fake.uploads == [upload]
    # The answer is Slack's file object; slack-sdk adds `file` for a single upload.
    file = response["file"]
    assert (file["id"], file["name"], file["title"], file["filetype"]) == (
        upload.file_id,
        "import-report.csv",
        "Import report",
        "csv",
    )
    share = file["shares"]["public"]["C1"][0]
    assert (share["ts"], share["thread_ts"]) == (upload.ts, parent["ts"])
    # The share is a reply in the thread, and the uploaded file is a file like any other.
    assert upload.ts is not None
    shared = fake.message("C1", upload.ts)
    assert shared is not None
    assert (shared["text"], shared["thread_ts"], shared["files"][0]["id"]) == (
        "2 rows: 1 added, 1 refused",
        parent["ts"],
        upload.file_id,
    )
    assert (await web.files_info(file=upload.file_id))["file"]["size"] == len(report.encode())

    # Exactly the three steps slack-sdk takes, in order, the byte upload without a token.
    steps = [c for c in fake.calls if c.method.startswith("file")][:3]
    assert [c.method for c in steps] == ["files.getUploadURLExternal", "file.upload", "files.completeUploadExternal"]
    assert steps[0].args["filename"] == "import-report.csv"
    assert int(steps[0].args["length"]) == len(report.encode())
    assert steps[1].token is None
    assert steps[1].args == {"file": upload.file_id, "length": len(report.encode())}
    assert steps[2].args["files"] == [{"id": upload.file_id, "title": "Import report"}]
    assert steps[2].args["channel_id"] == "C1"


async def test_an_upload_must_send_the_length_it_announced(fake: FakeSlack, web: AsyncWebClient) -> None:
    started = await web.files_getUploadURLExternal(filename="a.csv", length=10)
    assert started["upload_url"].startswith(f"{fake.url}/upload/v1/")
    assert started["file_id"].startswith("F")

    async with httpx.AsyncClient() as http:
        short = await http.post(started["upload_url"], content=b"12345")
        assert (short.status_code, short.headers["content-type"]) == (400, "text/plain; charset=utf-8")
        exact = await http.post(started["upload_url"], content=b"0123456789")
        assert (exact.status_code, exact.text) == (200, "OK - 10")
        unknown = await http.post(f"{fake.url}/upload/v1/nope", content=b"x")
        assert unknown.status_code == 404

    with pytest.raises(SlackApiError) as raised:
        await web.files_getUploadURLExternal(filename="a.csv", length=0)
    assert raised.value.response["error"] == "missing_argument"


async def test_completing_an_unknown_or_unsent_upload_fails(fake: FakeSlack, web: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await web.files_completeUploadExternal(files=[{"id": "F0NOPE", "title": "x"}], channel_id="C1")
    assert raised.value.response["error"] == "file_not_found"

    # Announced but the bytes never sent: nothing to complete either.
    started = await web.files_getUploadURLExternal(filename="a.csv", length=3)
    with pytest.raises(SlackApiError) as raised:
        await web.files_completeUploadExternal(files=[{"id": started["file_id"]}], channel_id="C1")
    assert raised.value.response["error"] == "file_not_found"

    # Completed once, a file cannot be completed again.
    done = await web.files_upload_v2(channel="C1", filename="b.csv", content="a,b")
    with pytest.raises(SlackApiError) as raised:
        await web.files_completeUploadExternal(files=[{"id": done["file"]["id"]}], channel_id="C1")
    assert raised.value.response["error"] == "file_not_found"
    assert [u.filename for u in fake.uploads] == ["b.csv"]

    # slack-sdk turns a refused byte upload into a SlackRequestError before completing anything.
    fake.fail("file.upload", "upstream_error")
    with pytest.raises(SlackRequestError, match="status: 500"):
        await web.files_upload_v2(channel="C1", filename="c.csv", content="x")
    assert fake.calls_to("files.completeUploadExternal")[-1].args["files"][0]["id"] == done["file"]["id"]

    fake.not_in_channel.add("CPRIVATE")
    with pytest.raises(SlackApiError) as raised:
        await web.files_upload_v2(channel="CPRIVATE", filename="d.csv", content="x")
    assert raised.value.response["error"] == "not_in_channel"
    with pytest.raises(TimeoutError, match=r"d\.csv"):
        fake.wait_for_upload(lambda u: u.filename == "d.csv", timeout=0.05)


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
