"""What Slack shows: who did what, values as sent, escaped so nobody gets pinged by a contact's name."""

from __future__ import annotations

import json

import pytest

from bot.context import Context
from bot.problems import CommandError, InputError
from bot.runner import Runner
from bot.segmetrics.errors import BadRequest
from bot.settings import load_settings
from bot.slack import messages
from commands import REGISTRY


@pytest.fixture
async def runner(monkeypatch: pytest.MonkeyPatch) -> Runner:
    for name in ("SEGMETRICS_API_KEY", "SEGMETRICS_ACCOUNT_ID", "SEGMETRICS_INTEGRATION_ID"):
        monkeypatch.delenv(name, raising=False)
    return Runner.from_settings(load_settings(env_file=None))


def test_escape_neutralises_slack_control_sequences() -> None:
    assert messages.escape("<!channel> & <@U1> <https://evil|bank>") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://evil|bank&gt;"
    )


async def test_a_confirmation_says_who_did_what_and_escapes_user_text(runner: Runner) -> None:
    outcome = await runner.run_text(
        'contact add jane@example.com first="<!channel>" last="<@U999>" field.note="<https://evil.example|bank>"',
        zone="America/New_York",
    )
    message = messages.confirmation(outcome, user_id="U123")
    rendered = json.dumps(message.blocks) + message.text
    assert "<!channel>" not in rendered and "<@U999>" not in rendered and "<https://evil" not in rendered
    assert "&lt;!channel&gt;" in rendered
    assert message.blocks[0]["text"]["text"] == "✅ <@U123> saved contact jane@example.com"
    assert message.text == "<@U123> saved contact jane@example.com (sandbox)"
    fields = [field["text"] for block in message.blocks if block.get("fields") for field in block["fields"]]
    assert "*First name*\n&lt;!channel&gt;" in fields
    context = message.blocks[-1]["elements"][0]["text"]
    assert context == messages.SANDBOX_BADGE


async def test_many_facts_are_split_into_sections_of_ten(runner: Runner) -> None:
    outcome = await runner.run_text(
        "contact add jane@example.com first=J last=D status=active created=2026-01-01 updated=2026-01-02 tags=VIP "
        "field.a=1 source=s medium=m campaign=c content=x term=t referrer=https://g.co optin=https://o.co "
        "ip=1.2.3.4 affiliate=A lat=1 lon=2 contact_id=9"
    )
    message = messages.confirmation(outcome, user_id="U1")
    sections = [block for block in message.blocks if block.get("fields")]
    assert [len(block["fields"]) for block in sections] == [10, 10]


async def test_dates_show_the_users_zone_and_the_zone_sent(runner: Runner) -> None:
    outcome = await runner.run_text(
        'order add INV-1 jane@example.com amount=1234.56 product_id=P date="2026-11-20 15:00"', zone="America/New_York"
    )
    message = messages.confirmation(outcome, user_id="U1")
    text = json.dumps(message.blocks)
    assert "$1,234.56" in text
    assert "Fri Nov 20, 2026 3:00 PM EST" in text
    assert "Times shown in America/New_York; sent to SegMetrics in UTC" in text


def test_input_problems_name_each_field_and_hand_the_command_back(ctx: Context) -> None:
    op = REGISTRY.find("order", "add")
    assert op is not None
    with pytest.raises(InputError) as caught:
        op.validate({"id": "INV-1", "email": "a@b.com", "amount": "<!here>", "product_id": "P"}, ctx)
    message = messages.input_problems(caught.value, typed="/segmetrics order add INV-1 a@b.com amount=<!here>")
    text = json.dumps(message.blocks)
    assert "Nothing was sent to SegMetrics" in text
    assert "Order total (`amount`): `&lt;!here&gt;` is not an amount. Example: `$49.99`" in text
    assert "```/segmetrics order add INV-1 a@b.com amount=&lt;!here&gt;```" in text
    assert "<!here>" not in text


def test_segmetrics_rejections_show_the_apis_own_words() -> None:
    op = REGISTRY.find("order", "add")
    assert op is not None
    error = BadRequest(
        "SegMetrics rejected the request: missing 'id' field.", status_code=400, errors=["missing 'id' field"], body={}
    )
    blocks = messages.segmetrics_problem(error, op, typed="/sm-order add x").blocks
    assert blocks[0]["text"]["text"] == "❌ *Add order* was rejected by SegMetrics:\n• missing 'id' field"


def test_grammar_problems_show_usage_escaped() -> None:
    message = messages.command_problem(CommandError("`x` is not expected here.", usage="order add <id>"), typed="/x")
    assert "Usage: `order add &lt;id&gt;`" in message.blocks[0]["text"]["text"]


def test_help_is_escaped_and_fits_slack_limits() -> None:
    from bot.help import overview, resource_help

    for text in (overview(REGISTRY), *(resource_help(REGISTRY, r.name) for r in REGISTRY.resources)):
        message = messages.help_message(text)
        assert len(message.blocks) <= 50
        for block in message.blocks:
            assert len(block["text"]["text"]) <= 3000
            assert "<email|contact_id>" not in block["text"]["text"]
