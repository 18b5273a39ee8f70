"""Run operations: chat text or form values → validated input → SegMetrics request → confirmation."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import SecretStr

from bot.changes import apply
from bot.chat import ParsedCommand, parse_command
from bot.context import Context, Habits
from bot.dates import DateReader
from bot.money import Currency, MoneyReader
from bot.operation import Operation, RawInput, Registry, Summary, given
from bot.records import Records
from bot.segmetrics.client import Credentials, SegMetricsClient
from bot.segmetrics.errors import NotFound
from bot.segmetrics.request import ApiRequest, ApiResponse
from bot.segmetrics.retry import RetryPolicy
from bot.settings import Settings
from bot.store import AsyncStore

log = logging.getLogger("segmetrics_slack.runner")

SANDBOX_URL = "http://sandbox.invalid"
UNREAD = object()  # `Runner.read`: look the record up


@dataclass(frozen=True)
class Outcome:
    """What running one operation did: the request as sent, SegMetrics' answer, and the confirmation."""

    operation: Operation
    input: Any
    request: ApiRequest
    response: ApiResponse | None
    summary: Summary
    found: bool = True
    sandbox: bool = False


class Runner:
    """Parses, validates and runs the registry's operations against one SegMetrics client."""

    def __init__(
        self, registry: Registry, client: SegMetricsClient, settings: Settings, *, sandbox: Any = None
    ) -> None:
        self.registry = registry
        self.client = client
        self.settings = settings
        # The in-process sandbox when no credentials are configured (None when live).
        self.sandbox = sandbox
        # Records of what the bot sent, for changes of known objects (none: every change asks for the whole record).
        self.records: Records | None = None
        self.dates = DateReader(settings.date_languages, settings.date_order)
        self.money = MoneyReader(Currency.of(settings.segmetrics_currency), settings.decimal_mark)
        self.api_zone = settings.api_zone

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        registry: Registry | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Runner:
        """The runner for these settings: live SegMetrics, or the in-process sandbox without credentials."""
        if registry is None:
            from commands import REGISTRY

            registry = REGISTRY
        sandbox = None
        if settings.sandbox:
            from bot.sandbox import Sandbox, sandbox_transport

            sandbox = Sandbox()
            credentials = Credentials(SecretStr(sandbox.api_key), sandbox.account_id, sandbox.integration_id)
            import_url, reporting_url = f"{SANDBOX_URL}/api/v1", f"{SANDBOX_URL}/reporting"
            transport = transport or sandbox_transport(sandbox)
        else:
            assert settings.segmetrics_api_key and settings.segmetrics_account_id and settings.segmetrics_integration_id
            credentials = Credentials(
                settings.segmetrics_api_key,
                settings.segmetrics_account_id,
                settings.segmetrics_integration_id,
            )
            import_url, reporting_url = settings.segmetrics_import_url, settings.segmetrics_reporting_url
        client = SegMetricsClient(
            credentials,
            import_url=import_url,
            reporting_url=reporting_url,
            timeout=settings.segmetrics_timeout,
            retry=RetryPolicy(max_attempts=settings.segmetrics_max_attempts, budget=settings.segmetrics_retry_budget),
            max_connections=settings.segmetrics_max_connections,
            transport=transport,
        )
        return cls(registry, client, settings, sandbox=sandbox)

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def warm_up(self) -> None:
        """Pay the first-use costs (the date parser's language data, the e-mail checker) before a user's
        command has to: the Slack bot runs this in the background right after it starts serving."""
        self.dates.warm_up()
        self.money.warm_up()
        from email_validator import validate_email

        validate_email("warm-up@example.com", check_deliverability=False)

    def context(self, who: Habits | str | ZoneInfo | None = None, *, now: datetime | None = None) -> Context:
        """The context for a user: their `Habits` (zone and locale), or just a zone (an IANA name); the zone
        defaults to SEGMETRICS_TIMEZONE, the locale to none (DATE_ORDER decides)."""
        habits = who if isinstance(who, Habits) else Habits(zone=who.key if isinstance(who, ZoneInfo) else who)
        return Context(
            now=now or datetime.now(UTC),
            zone=self.zone(habits.zone),
            locale=habits.locale,
            api_zone=self.api_zone,
            money=self.money,
            dates=self.dates,
            account_id=self.client.credentials.account_id,
            integration_id=self.client.credentials.integration_id,
        )

    def zone(self, name: str | ZoneInfo | None) -> ZoneInfo:
        """The user's zone, or SEGMETRICS_TIMEZONE when none is known (or the name is unknown here)."""
        if isinstance(name, ZoneInfo):
            return name
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown time zone %r; using %s", name, self.api_zone.key)
        return self.api_zone

    def parse(self, text: str, *, slack: bool = False) -> ParsedCommand:
        """Chat text → operation and raw values; raises `CommandError`."""
        return parse_command(text, self.registry, slack=slack)

    def keep_records(self, store: AsyncStore) -> None:
        """Keep a record of every object the registry's upserts send, in `store`."""
        self.records = Records(store, self.registry.record_kinds)

    async def read(
        self, operation: Operation, raw: RawInput, ctx: Context, *, known: Any = UNREAD, whole: bool = False
    ) -> Any:
        """Raw values → the operation's validated input; raises `InputError`, nothing sent. A change of a
        known record is read against that record (`known`: a body already looked up, None for none; `whole`:
        the values are a whole record, from its form) and raises `AskInForm` when what was said is not enough."""
        data = operation.validate(raw, ctx)
        if operation.changes is None:
            return data
        if known is UNREAD:
            known = await self.known(operation, data.id, ctx)
        return apply(operation, data, known, ctx, self.registry.editor(operation.changes), whole=whole)

    async def known(self, operation: Operation, object_id: str, ctx: Context) -> dict[str, Any] | None:
        """The record a change starts from, when the bot keeps records and has one."""
        assert operation.changes is not None and operation.changes.record
        if self.records is None:
            return None
        return await self.records.known(operation.changes.record, object_id, ctx)

    async def run(self, operation: Operation, raw: RawInput, ctx: Context) -> Outcome:
        """Validate raw values (raises `InputError`, nothing sent) and run the operation."""
        return await self.execute(operation, await self.read(operation, raw, ctx), ctx, given=given(raw).keys())

    async def run_text(
        self,
        text: str,
        *,
        zone: str | ZoneInfo | None = None,
        who: Habits | None = None,
        now: datetime | None = None,
    ) -> Outcome:
        """Run one chat command, e.g. `tag add jane@example.com VIP`, for a user in `zone` (or with `who`'s
        zone and locale)."""
        parsed = self.parse(text)
        return await self.run(parsed.operation, parsed.raw, self.context(who or zone, now=now))

    async def execute(
        self,
        operation: Operation,
        data: Any,
        ctx: Context,
        *,
        given: Collection[str] | None = None,
        request: ApiRequest | None = None,
    ) -> Outcome:
        """Send a validated input; raises `SegMetricsError` (a delete of nothing is an outcome, not an error),
        and for a change whose record changed since it was read, `RecordChanged` (nothing sent).

        `given` names the fields the user typed, so the confirmation can say which were defaulted;
        `request` is the input already built, when the caller has it."""
        request = request or operation.request(data, ctx)
        if operation.changes is not None and self.records is not None:
            async with self.records.changing(operation, data, ctx):
                return await self._send(operation, data, ctx, request, given)
        return await self._send(operation, data, ctx, request, given)

    async def _send(
        self, operation: Operation, data: Any, ctx: Context, request: ApiRequest, given: Collection[str] | None
    ) -> Outcome:
        sandbox = self.sandbox is not None
        try:
            response = await self.client.send(request)
        except NotFound as error:
            if operation.not_found is None:
                raise
            if self.records is not None and request.method == "DELETE":
                await self.records.after(operation, request, ctx)
            if request.method == "DELETE" and error.maybe_applied:
                # A try's answer was lost and the retry found nothing: that try deleted it.
                summary = operation.describe(data, None, ctx, given=given)
                note = "SegMetrics' first answer was lost; a retry found nothing left, so it was deleted"
                summary = Summary(summary.headline, summary.facts, (*summary.notes, note))
                return Outcome(operation, data, request, None, summary, sandbox=sandbox)
            summary = Summary(headline=operation.fill(operation.not_found, data, ctx))
            return Outcome(operation, data, request, None, summary, found=False, sandbox=sandbox)
        log.info("%s done for %s (attempts: %d)", operation.name, data.contact or "-", response.attempts)
        if self.records is not None:
            await self.records.after(operation, request, ctx)
        summary = operation.describe(data, response, ctx, given=given)
        return Outcome(operation, data, request, response, summary, sandbox=sandbox)
