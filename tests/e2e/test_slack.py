"""How the bot behaves in Slack around the operations: help, refusals, signatures, speed, fallbacks."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from bot.sandbox import Fault, Sandbox, SandboxServer
from bot.slack.app import build_bot
from bot.slack.server import HttpService
from bot.testing import FakeSlack
from tests.e2e.conftest import API_KEY, Slack, bot_settings, settled


async def test_help_is_an_ephemeral_overview(slack: Slack) -> None:
    for command, text in (("/segmetrics", ""), ("/segmetrics", "help")):
        response = await slack.command(text, command=command)
        body = response.json()
        assert body["response_type"] == "ephemeral"
        shown = json.dumps(body["blocks"], ensure_ascii=False)
        assert "tag add jane@example.com VIP" in shown
        assert "order add INV-1001 jane@example.com" in shown


async def test_help_for_a_resource_lists_every_key(slack: Slack) -> None:
    for command, text in (("/segmetrics", "help order"), ("/sm-order", ""), ("/sm-order", "help")):
        body = (await slack.command(text, command=command)).json()
        shown = json.dumps(body["blocks"], ensure_ascii=False)
        assert "`amount` / `total`" in shown and "`shipping`" in shown and "&lt;email|contact_id&gt;" in shown


async def test_bad_input_is_refused_only_to_the_user(slack: Slack, sandbox: Sandbox) -> None:
    # Acknowledged at once; the values are read just after, and what is wrong goes to the user alone.
    response = await slack.command("order add INV-1 jane@example.com amount=45.999 product_id=P")
    assert response.status_code == 200 and response.text == ""
    told = await slack.posted(method="response_url")
    assert told.args["response_type"] == "ephemeral"
    shown = json.dumps(told.args["blocks"], ensure_ascii=False)
    assert "Nothing was sent to SegMetrics" in shown
    assert "Order total (`amount`): `45.999` has 3 decimals" in shown
    assert "/segmetrics order add INV-1 jane@example.com amount=45.999 product_id=P" in shown
    # A key that does not exist is refused in the acknowledgement itself: nothing needs reading.
    response = await slack.command("order add INV-1 jane@example.com amont=5", command="/segmetrics")
    assert "did you mean `amount`" in json.dumps(response.json()["blocks"])
    await settled(slack)
    assert sandbox.requests == []
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.bot.store.store.pending() == []  # journaled, then dropped: never resumed


async def test_a_form_with_bad_values_shows_errors_beside_the_fields(slack: Slack, sandbox: Sandbox) -> None:
    since = time.monotonic()
    await slack.command("order add INV-7")
    view = await slack.opened_view(after=since)
    response = await slack.submit(view, {"email": "not-an-email", "amount": "12.345", "items": "Course | C-1"})
    body = response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"email", "amount", "items"}
    assert body["errors"]["amount"].startswith("`12.345` has 3 decimals")
    assert sandbox.requests == []
    # Fixed, the same form goes through.
    response = await slack.submit(
        view, {"email": "jane@example.com", "amount": "12.34", "items": "Course | C-1 | 12.34"}
    )
    assert response.status_code == 200 and response.text == ""
    await slack.posted()
    assert sandbox.requests[-1].json["amount"] == 1234


@pytest.mark.parametrize("forgery", ["secret", "stale", "tampered"])
async def test_unsigned_or_forged_requests_get_401(slack: Slack, sandbox: Sandbox, forgery: str) -> None:
    body = slack.command_body("contact add jane@example.com")
    if forgery == "secret":
        response = await slack.post(body, secret="not-the-secret")
    elif forgery == "stale":
        response = await slack.post(body, timestamp=int(time.time()) - 600)
    else:
        stamp = str(int(time.time()))
        response = await slack.http.post(
            f"{slack.url}/slack/events",
            content=body.replace("jane", "mallory"),
            headers={
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": "v0=" + "0" * 64,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
    assert response.status_code == 401
    assert sandbox.requests == []


async def test_a_slow_segmetrics_does_not_delay_acknowledgements(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text("contact add jane@example.com")
    sandbox.latency = 3.0
    started = time.monotonic()
    responses = await asyncio.gather(
        *(slack.command(f"tag add jane@example.com T{n}") for n in range(10)), slack.command("help")
    )
    acknowledged = time.monotonic() - started
    assert all(response.status_code == 200 for response in responses)
    assert acknowledged < 1.0, f"11 acknowledgements took {acknowledged:.2f} s behind a 3 s SegMetrics"
    for n in range(10):
        await slack.posted(lambda call, n=n: f"with T{n}" in call.args["text"], timeout=10)
    assert time.monotonic() - started >= 3.0


async def test_when_the_bot_cannot_post_it_answers_through_the_response_url(slack: Slack) -> None:
    slack.fake.not_in_channel.add("CPRIVATE")
    await slack.command("contact add jane@example.com", channel="CPRIVATE")
    call = await slack.posted(method="response_url")
    assert call.args["response_type"] == "in_channel"
    assert call.args["text"] == "<@U1> saved contact jane@example.com"


async def test_segmetrics_rejections_reach_only_the_user_in_its_own_words(slack: Slack) -> None:
    await slack.command("tag add nobody@example.com VIP")
    call = await slack.posted(method="response_url")
    assert call.args["response_type"] == "ephemeral"
    shown = json.dumps(call.args["blocks"])
    assert "contact nobody@example.com not found" in shown
    assert "/segmetrics tag add nobody@example.com VIP" in shown
    assert API_KEY not in json.dumps([c.args for c in slack.fake.calls])
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_the_users_zone_is_looked_up_once(slack: Slack, sandbox: Sandbox) -> None:
    slack.fake.user_zones["U7"] = "Asia/Tokyo"
    for n in (1, 2):
        await slack.command(
            f'order add INV-{n} jane@example.com amount=5 product_id=P date="2026-11-20 09:00"', user="U7"
        )
        await slack.posted(lambda call, n=n: f"INV-{n}" in call.args["text"])
    assert sandbox.requests[-1].json["date_created"] == "2026-11-20 00:00:00"  # 09:00 in Tokyo
    assert len(slack.fake.calls_to("users.info")) == 1


async def test_mentions_in_user_text_ping_nobody(slack: Slack) -> None:
    # Slack escapes what users type (`<!channel>` arrives as `&lt;!channel&gt;`); the bot must too.
    await slack.command("contact add jane@example.com first=<!channel> last=<@U999>")
    call = await slack.posted()
    shown = call.args["text"] + json.dumps(call.args["blocks"])
    assert "<!channel>" not in shown and "<@U999>" not in shown
    assert "&lt;!channel&gt;" in shown
    response = await slack.command("<!here> add x")
    body = response.json()
    assert "<!here>" not in body["text"] + json.dumps(body["blocks"])


async def test_a_form_that_cannot_open_in_time_tells_the_user(slack: Slack) -> None:
    slack.fake.fail("views.open", "expired_trigger_id")
    await slack.command("order add INV-1")
    call = await slack.posted(method="response_url")
    assert "did not let the bot open the form in time" in call.args["text"]
    assert "/segmetrics order add INV-1" in json.dumps(call.args["blocks"])


async def test_health(slack: Slack) -> None:
    response = await slack.http.get(f"{slack.url}/healthz")
    assert response.status_code == 200
    await asyncio.wait_for(asyncio.shield(slack.bot.warmed), 10)  # type: ignore[arg-type]
    response = await slack.http.get(f"{slack.url}/healthz")
    assert response.json() == {
        "status": "ok",
        "mode": "http",
        "sandbox": False,
        "jobs": 0,
        "warm": True,
        "database": "ok",
    }


async def test_without_credentials_every_confirmation_says_sandbox(sandboxed: Slack) -> None:
    await sandboxed.command("contact add jane@example.com")
    call = await sandboxed.posted()
    assert call.args["text"].endswith("(sandbox)")
    assert "🧪 *Sandbox*" in json.dumps(call.args["blocks"], ensure_ascii=False)


async def test_a_wrong_bot_token_stops_start_up(fake_slack: FakeSlack, segmetrics: SandboxServer) -> None:
    from bot.slack.app import StartupError

    settings = bot_settings(fake_slack, segmetrics, slack_bot_token="xoxb-wrong")
    bot = build_bot(settings)
    with pytest.raises(StartupError, match="Slack refused SLACK_BOT_TOKEN \\(invalid_auth\\)"):
        await bot.prepare()
    await bot.close(grace=0)


async def test_transient_segmetrics_failures_are_retried_before_confirming(slack: Slack, sandbox: Sandbox) -> None:
    sandbox.add_fault(Fault(status=503, times=1))
    await slack.command("contact add jane@example.com")
    await slack.posted(timeout=10)
    assert [request.status for request in sandbox.requests] == [503, 200]


async def test_the_command_handed_back_is_what_the_user_typed(slack: Slack) -> None:
    # Slack sends the e-mail as <mailto:…> and & as &amp;: the user gets back what they typed, runnable.
    await slack.command("order add INV-1 jane@example.com amount=45.999 product_id=R&D")
    shown = json.dumps((await slack.posted(method="response_url")).args["blocks"], ensure_ascii=False)
    assert "```/segmetrics order add INV-1 jane@example.com amount=45.999 product_id=R&amp;D```" in shown
    assert "mailto" not in shown


async def test_a_prefill_too_long_for_a_form_is_refused_not_cut(slack: Slack) -> None:
    items = " ".join(f'item="{"x" * 80} | C-{n:02d} | 1.00"' for n in range(50))
    await slack.command(f"order add INV-9 amount=50 {items}")
    body = (await slack.posted(method="response_url")).args
    assert "too long for a form (Items" in body["text"]
    assert slack.fake.calls_to("views.open") == []
    shown = "".join(block["text"]["text"] for block in body["blocks"])
    assert shown.count("C-") == 50  # the whole command is handed back, in parts


async def test_when_nothing_else_works_the_confirmation_goes_by_dm(slack: Slack) -> None:
    slack.fake.not_in_channel.add("CPRIVATE")
    slack.fake.fail("response_url", "expired_url")
    await slack.command("contact add jane@example.com", channel="CPRIVATE")
    await slack.posted(method="conversations.open")
    posted = await slack.posted(lambda call: call.args["channel"] == "DU1")
    assert posted.args["text"] == "<@U1> saved contact jane@example.com"


async def test_a_problem_falls_back_to_an_ephemeral_post(slack: Slack) -> None:
    slack.fake.fail("response_url", "expired_url")
    await slack.command("tag add nobody@example.com VIP")
    call = await slack.posted(method="chat.postEphemeral")
    assert call.args["user"] == "U1" and call.args["channel"] == "C1"
    assert "contact nobody@example.com not found" in json.dumps(call.args["blocks"])


async def test_a_refused_confirmation_does_not_read_as_a_failure(slack: Slack, sandbox: Sandbox) -> None:
    slack.fake.fail("chat.postMessage", "invalid_blocks", times=2)  # in the channel, then by DM
    slack.fake.fail("response_url", "expired_url", times=2)
    await slack.command("contact add jane@example.com")
    call = await slack.posted(method="chat.postEphemeral")
    assert call.args["text"].startswith("✅ Done in SegMetrics (saved contact jane@example.com), but Slack refused")
    assert sandbox.contact("jane@example.com") is not None


async def test_a_form_from_a_channel_the_bot_is_not_in_confirms_through_the_response_url(slack: Slack) -> None:
    slack.fake.not_in_channel.add("CPRIVATE")
    since = time.monotonic()
    await slack.command("tag add", channel="CPRIVATE")
    await slack.bot.runner.run_text("contact add jane@example.com")
    view = await slack.opened_view(after=since)
    await slack.submit(view, {"email": "jane@example.com", "tags": "VIP"})
    call = await slack.posted(method="response_url")
    assert call.args["response_type"] == "in_channel"
    assert call.args["text"] == "<@U1> tagged jane@example.com with VIP"


async def test_an_unexpected_failure_is_a_reference_not_a_stack_trace(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    since = time.monotonic()
    await slack.command("order add INV-1")
    view = await slack.opened_view(after=since)
    monkeypatch.setattr(slack.bot.runner, "parse", broken)
    body = (await slack.command("contact add jane@example.com")).json()
    assert body["text"].startswith("The bot hit an unexpected problem (reference ")
    assert "secret internals" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    monkeypatch.setattr(slack.bot.surface, "_submission", broken)
    body = (await slack.submit(view, {"email": "jane@example.com"})).json()
    assert body["response_action"] == "errors"
    assert body["errors"]["id"].startswith("The bot hit an unexpected problem (reference ")


async def test_bolt_never_waits_for_slack_before_acknowledging(slack: Slack) -> None:
    slack.fake.delay("auth.test", 5)
    started = time.monotonic()
    await slack.command("help")
    assert time.monotonic() - started < 1
    assert len(slack.fake.calls_to("auth.test")) == 1  # the start-up check only


async def test_stopping_mid_call_tells_the_user(
    fake_slack: FakeSlack, segmetrics: SandboxServer, sandbox: Sandbox
) -> None:
    bot = build_bot(bot_settings(fake_slack, segmetrics))
    await bot.prepare()
    service = HttpService(bot, port=0)
    await service.start()
    sandbox.latency = 5
    async with httpx.AsyncClient() as http:
        slack = Slack(url=f"http://127.0.0.1:{service.port}", http=http, fake=fake_slack, bot=bot)
        await slack.command("contact add jane@example.com")
        await asyncio.sleep(0)  # let the job start
        await service.stop(grace=0.2)
    call = await fake_slack.async_wait_for("response_url")
    assert "stopped while running this" in call.args["text"]
    assert "/segmetrics contact add jane@example.com" in json.dumps(call.args["blocks"])


async def test_an_oversized_request_is_refused(slack: Slack, sandbox: Sandbox) -> None:
    response = await slack.post("text=" + "x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert sandbox.requests == []
