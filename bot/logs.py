"""Logging: text for people, or one JSON object per line (`LOG_FORMAT=json`) for machines; every record
carries the Slack request it serves and the operation; secrets are redacted whatever logged them.

The request id and operation live in context variables: a job started for a request inherits them, so
its log lines can be followed across the acknowledgement and the work after it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

from bot.secrets import REDACTED as REDACTED  # re-exported: it was defined here
from bot.secrets import Redactor

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
operation: ContextVar[str | None] = ContextVar("operation", default=None)

QUIET = ("httpx", "httpcore", "slack_sdk", "slack_bolt", "aiohttp.access", "asyncio", "sqlalchemy")


def new_request(name: str | None = None) -> str:
    """Start a request's context (in the current task and the jobs it starts)."""
    # Only for finding one request's lines: no need for the OS's randomness (a system call each).
    identifier = f"{random.getrandbits(48):012x}"
    request_id.set(identifier)
    operation.set(name)
    return identifier


@contextlib.contextmanager
def for_operation(name: str) -> Iterator[None]:
    token = operation.set(name)
    try:
        yield
    finally:
        operation.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.operation = operation.get()
        return True


class RedactFilter(logging.Filter):
    """Replaces any secret in a record's message, arguments and exception text, in any of the forms a server
    or library may echo it in (`bot.secrets`: other case, URL-encoded, JSON-escaped, hex, base64)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self._clean = Redactor(())
        self.add(secrets)

    def add(self, secrets: Iterable[str], *, retire: Iterable[str] = ()) -> None:
        """Redact these too (a connection's key, known only once the bot reads it from its database); no longer
        `retire` (a workspace's token rotated out twice, or uninstalled): the list does not grow forever."""
        # Shorter "secrets" are left alone: they would wipe ordinary words from every line.
        wanted = {secret for secret in [*self.secrets, *secrets] if secret and len(secret) >= 6} - set(retire)
        if wanted != set(self.secrets):
            self.secrets = sorted(wanted, key=len, reverse=True)
            self._clean = Redactor(self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._clean:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self._clean(message), ()
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "operation": getattr(record, "operation", None),
        }
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(operation)s]: %(message)s"


def redact_also(secrets: Iterable[str], *, retire: Iterable[str] = ()) -> None:
    """Add secrets to the redaction of every handler `configure` set up (none: nothing to do), and take the
    `retire`d ones out."""
    secrets, retire = list(secrets), list(retire)
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactFilter):
                found.add(secrets, retire=retire)


def configure(*, format: str = "text", secrets: Iterable[str] = (), level: int = logging.INFO) -> logging.Handler:
    """Log to stderr in `format`, with context and redaction on every record, whatever logger made it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter(secrets))
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
