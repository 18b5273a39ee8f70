"""GET /metrics: Prometheus' text format, parsed with prometheus_client's own parser, moving with traffic."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.sandbox import Fault, Sandbox
from tests.e2e.conftest import FAST, USER, BotFactory, Slack, settled


async def scrape(slack: Slack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await slack.http.get(f"{slack.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_move_with_traffic(slack: Slack, sandbox: Sandbox) -> None:
    before = await scrape(slack)
    assert value(before, "segmetrics_bot_slack_requests_total", kind="command") == 0
    await slack.command("contact add jane@example.com first=Jane")
    await slack.posted(lambda call: "saved contact" in call.args.get("text", ""))
    await slack.command("contact add 'not an address")  # refused before anything is sent
    await slack.post("payload=forged", secret="not-the-secret")
    await settled(slack)
    after = await scrape(slack)
    assert value(after, "segmetrics_bot_slack_requests_total", kind="command") == 2
    assert value(after, "segmetrics_bot_slack_requests_total", kind="refused") == 1
    assert value(after, "segmetrics_bot_ack_seconds_count", kind="command") == 2
    assert 0 < value(after, "segmetrics_bot_ack_seconds_sum", kind="command") < 3
    assert value(after, "segmetrics_bot_operations_total", operation="contact add", outcome="succeeded") == 1
    assert value(after, "segmetrics_bot_segmetrics_calls_total", status="200") == 1
    assert value(after, "segmetrics_bot_segmetrics_call_seconds_count", status="200") == 1
    assert value(after, "segmetrics_bot_outbox_depth") == 0
    assert value(after, "segmetrics_bot_queue_depth") == 0


async def test_queued_work_shows_in_the_outbox_gauges(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**{**FAST, "segmetrics_outbox_first_retry": 60.0})
    sandbox.add_fault(Fault(status=503, times=10))
    await slack.command("contact add late@example.com")
    await slack.posted(lambda call: "queued" in call.args.get("text", ""), method="response_url", timeout=10)
    await settled(slack)
    samples = await scrape(slack)
    assert value(samples, "segmetrics_bot_outbox_depth") == 1
    assert value(samples, "segmetrics_bot_outbox_oldest_pending_seconds") > 0
    assert value(samples, "segmetrics_bot_operations_total", operation="contact add", outcome="queued") == 1
    assert value(samples, "segmetrics_bot_segmetrics_calls_total", status="503") == 2  # both tries


async def test_steps_and_events_are_counted_by_kind(slack: Slack) -> None:
    _, run = await slack.step("contact_add", {"user_id": USER, "email": "jane@example.com"})
    await slack.step_result(run)
    await slack.event({"type": "app_home_opened", "user": USER, "tab": "home"})
    await settled(slack)
    samples = await scrape(slack)
    assert value(samples, "segmetrics_bot_slack_requests_total", kind="event:function_executed") == 1
    assert value(samples, "segmetrics_bot_slack_requests_total", kind="event:app_home_opened") == 1
