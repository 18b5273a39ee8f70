"""What a running bot counts, for `GET /metrics` in Prometheus' text format (prometheus-client).

Per bot process (each replica counts what it handled; scrape them all and sum): Slack requests and their
acknowledgement latency by kind, operations by name and outcome (as the audit trail records them), SegMetrics
calls (each try) by status and latency, and this bot's queue. The outbox's depth and the age of its oldest
pending entry come from the shared database: every replica reports the same numbers for them.

Labels are bounded: kinds and event types from fixed lists, operations from the registry, statuses from HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

METRICS_PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Slack wants its acknowledgement within 3 s; the buckets resolve the few milliseconds a healthy bot takes.
ACK_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
CALL_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
EVENTS = frozenset({"app_home_opened", "function_executed", "reaction_added", "reaction_removed"})
INTERACTIONS = frozenset(
    {"block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion"}
)


def request_kind(body: Mapping[str, Any]) -> str:
    """What a Slack request is, as a bounded label: `command`, `block_actions`, `view_submission`,
    `event:function_executed`, … (`other` for anything else)."""
    if "command" in body:
        return "command"
    kind = str(body.get("type") or "")
    if kind == "event_callback":
        event = str((body.get("event") or {}).get("type") or "")
        return f"event:{event if event in EVENTS else 'other'}"
    if kind in INTERACTIONS or kind == "url_verification":
        return kind
    return "other"


class Metrics:
    def __init__(self) -> None:
        # One registry per bot, not the process-wide default: a test process runs many bots.
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "segmetrics_bot_slack_requests",
            "Slack requests answered, by kind (`refused`: no valid signature, or not a Slack payload).",
            ["kind"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "segmetrics_bot_ack_seconds",
            "Seconds from a Slack request's arrival to its acknowledgement, by kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.operations = Counter(
            "segmetrics_bot_operations",
            "Operations by name and outcome, as the audit trail records them (succeeded, failed, queued, refused…): "
            "commands, forms, buttons, steps, reactions, retries, import rows and imports, connection changes.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.calls = Counter(
            "segmetrics_bot_segmetrics_calls",
            "SegMetrics API calls (each try), by HTTP status (`timeout`, `connection_error` without one).",
            ["status"],
            registry=self.registry,
        )
        self.call_seconds = Histogram(
            "segmetrics_bot_segmetrics_call_seconds",
            "Seconds one SegMetrics API call (one try) took, by HTTP status.",
            ["status"],
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "segmetrics_bot_queue_depth",
            "Work this bot acknowledged and has not finished: queued for its workers, running, or a job.",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "segmetrics_bot_outbox_depth",
            "Journal entries pending in the shared database: being run, or queued for a retry (all bots); NaN "
            "when the database cannot be read.",
            registry=self.registry,
        )
        self.oldest_pending = Gauge(
            "segmetrics_bot_outbox_oldest_pending_seconds",
            "Age in seconds of the oldest pending journal entry (0 when none).",
            registry=self.registry,
        )

    def answered(self, kind: str, seconds: float) -> None:
        self.requests.labels(kind).inc()
        self.ack_seconds.labels(kind).observe(seconds)

    def refused(self) -> None:
        self.requests.labels("refused").inc()

    def audited(self, event: Any) -> None:
        """An audit event (`bot.store.AuditEvent`) as it is recorded: one operation, one outcome."""
        self.operations.labels(event.operation, event.outcome).inc()

    def call(self, status: str, seconds: float) -> None:
        self.calls.labels(status).inc()
        self.call_seconds.labels(status).observe(seconds)

    def exposition(self, *, queue: int, outbox: float, oldest: float) -> bytes:
        """The text a scrape gets, with the gauges read now (NaN: the database could not be read)."""
        self.queue_depth.set(queue)
        self.outbox_depth.set(outbox)
        self.oldest_pending.set(oldest)
        return generate_latest(self.registry)
