"""Run operations: chat text or form values → validated input → SegMetrics request → confirmation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import SecretStr

from bot import logs
from bot.changes import apply
from bot.chat import ParsedCommand, parse_command
from bot.connections import DEFAULT, Connection, Connections
from bot.context import Context, Habits
from bot.dates import DateReader
from bot.money import Currency, MoneyReader
from bot.operation import Operation, RawInput, Registry, Summary, given
from bot.problems import CommandError, FieldError, InputError, InvalidValue
from bot.records import Records
from bot.segmetrics.client import Credentials, SegMetricsClient
from bot.segmetrics.errors import NotFound
from bot.segmetrics.request import ApiRequest, ApiResponse
from bot.segmetrics.retry import RetryPolicy
from bot.settings import Settings
from bot.store import AsyncStore

log = logging.getLogger("segmetrics_slack.runner")

SANDBOX_URL = "http://sandbox.invalid"
SANDBOX_KEY, SANDBOX_ID = "sandbox-key", "sandbox"  # the in-process sandbox's own
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
    # The connection it went through, when the bot has several (for "via ads"); None when it has one.
    via: str | None = None
    # The connection it went through, always, and its fingerprint (what a card's buttons act through).
    connection: str = DEFAULT
    fingerprint: str = ""


class ConnectionChanged(InputError):
    """The connection a piece of work was routed to was changed since (another account, integration, zone or
    currency): it is not sent through the changed one."""

    def __init__(self, name: str) -> None:
        message = (
            f"the connection `{name}` was changed (its account, integration, zone or currency) after this was asked "
            "for, so nothing was sent; run it again to send it through the connection as it is now"
        )
        super().__init__([FieldError("via", "Connection", message, ())])


class ConnectionGone(InputError):
    """The connection a piece of work was routed to is no longer configured (an admin removed it)."""

    def __init__(self, name: str) -> None:
        message = f"the connection `{name}` no longer exists, so nothing was sent; run it again with another one"
        super().__init__([FieldError("via", "Connection", message, ())])


@dataclass
class Link:
    """A connection at work: its own client (pool, retries, credentials) and its account's zone and currency."""

    connection: Connection
    client: SegMetricsClient
    money: MoneyReader
    api_zone: ZoneInfo
    # The in-process sandbox, for the connection that is one (None when live).
    sandbox: Any = None


class Runner:
    """Parses, validates and runs the registry's operations, each through its connection's client."""

    def __init__(
        self,
        registry: Registry,
        links: Iterable[Link],
        settings: Settings,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.links: dict[str, Link] = {link.connection.name: link for link in links}
        self.connections = Connections(link.connection for link in self.links.values())
        # Clients of connections replaced or removed while running, closed after a grace period.
        self._retired: set[asyncio.Task[None]] = set()
        self._retired_links: list[Link] = []
        # Records of what the bot sent, for changes of known objects (none: every change asks for the whole record).
        self.records: Records | None = None
        self.dates = DateReader(settings.date_languages, settings.date_order)
        # Told of every SegMetrics call's try (bot.metrics), whichever connection made it.
        self._observe: Callable[[str, float], None] | None = None

    def observe_calls(self, observe: Callable[[str, float], None]) -> None:
        """Tell `observe` of every SegMetrics call's try: its status and seconds (connections added later too)."""
        self._observe = observe
        for link in self.links.values():
            link.client.observe = observe

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        registry: Registry | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Runner:
        """The runner for these settings: the `default` connection (live SegMetrics, or the in-process sandbox
        without credentials) and those of SEGMETRICS_CONNECTIONS. `transport` is the default's."""
        if registry is None:
            from commands import REGISTRY

            registry = REGISTRY
        links = [
            link_for(connection, settings, transport=transport if connection.name == DEFAULT else None)
            for connection in declared_connections(settings)
        ]
        return cls(registry, links, settings)

    @property
    def default(self) -> Link:
        return self.links[DEFAULT]

    @property
    def client(self) -> SegMetricsClient:
        """The default connection's client."""
        return self.default.client

    @property
    def sandbox(self) -> Any:
        """The in-process sandbox when the default connection is one (None when live)."""
        return self.default.sandbox

    @property
    def money(self) -> MoneyReader:
        return self.default.money

    @property
    def api_zone(self) -> ZoneInfo:
        return self.default.api_zone

    def link(self, name: str | None) -> Link:
        """The connection `name` at work (`default` for None); `ConnectionGone` when it no longer exists."""
        found = self.links.get(name or DEFAULT)
        if found is None:
            raise ConnectionGone(name or DEFAULT)
        return found

    def route(
        self, op: Operation, *, via: str | None = None, channel_id: str | None = None, channel_name: str | None = None
    ) -> str:
        """The name of the connection `op` goes through (see `Connections.route`); `InvalidValue` for an
        unknown `via`."""
        return self.connections.route(op.resource, via=via, channel_id=channel_id, channel_name=channel_name).name

    def add_connection(self, connection: Connection) -> None:
        """Add a connection before serving (those added in Slack, read from the database at start)."""
        assert connection.name not in self.links
        self.links[connection.name] = self._link_for(connection)
        self.connections.put(connection)

    async def put_connection(self, connection: Connection) -> None:
        """Add or replace a connection while running (App Home): a new client; the old one is retired."""
        old = self.links.get(connection.name)
        self.links[connection.name] = self._link_for(connection)
        self.connections.put(connection)
        if old is not None:
            self._retire(old)

    def _link_for(self, connection: Connection) -> Link:
        link = link_for(connection, self.settings)
        link.client.observe = self._observe
        return link

    async def remove_connection(self, name: str) -> None:
        link = self.links.pop(name, None)
        self.connections.remove(name)
        if link is not None:
            self._retire(link)

    def _retire(self, link: Link) -> None:
        """Close a replaced client once the calls it may be making have had their time (retries included)."""
        grace = self.settings.segmetrics_timeout + self.settings.segmetrics_retry_budget

        async def close_later() -> None:
            await asyncio.sleep(grace)
            await link.client.aclose()
            self._retired_links.remove(link)

        task = asyncio.get_running_loop().create_task(close_later(), name="retire a client")
        task.add_done_callback(self._retired.discard)
        self._retired.add(task)
        self._retired_links.append(link)

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for task in self._retired:
            task.cancel()
        for link in [*self.links.values(), *self._retired_links]:
            await link.client.aclose()

    def warm_up(self) -> None:
        """Pay the first-use costs (the date parser's language data, the e-mail checker) before a user's
        command has to: the Slack bot runs this in the background right after it starts serving."""
        self.dates.warm_up()
        for link in list(self.links.values()):
            link.money.warm_up()
        from email_validator import validate_email

        validate_email("warm-up@example.com", check_deliverability=False)

    def context(
        self,
        who: Habits | str | ZoneInfo | None = None,
        *,
        now: datetime | None = None,
        connection: str | None = None,
        fingerprint: str | None = None,
    ) -> Context:
        """The context for a user: their `Habits` (zone and locale), or just a zone (an IANA name); the zone
        defaults to the connection's time zone, the locale to none (DATE_ORDER decides). `connection`: the
        one the work goes through (`default` for None; `ConnectionGone` when it no longer exists);
        `fingerprint`: what it was when the work was asked for (`ConnectionChanged` when it is no more)."""
        habits = who if isinstance(who, Habits) else Habits(zone=who.key if isinstance(who, ZoneInfo) else who)
        link = self.link(connection)
        if fingerprint and fingerprint != link.connection.fingerprint:
            raise ConnectionChanged(link.connection.name)
        return Context(
            now=now or datetime.now(UTC),
            zone=self.zone(habits.zone, link.api_zone),
            locale=habits.locale,
            api_zone=link.api_zone,
            money=link.money,
            dates=self.dates,
            account_id=link.connection.account_id,
            integration_id=link.connection.integration_id,
            connection=link.connection.name,
            fingerprint=link.connection.fingerprint,
        )

    def zone(self, name: str | ZoneInfo | None, fallback: ZoneInfo | None = None) -> ZoneInfo:
        """The user's zone, or the connection's (SEGMETRICS_TIMEZONE for `default`) when none is known (or
        the name is unknown here)."""
        fallback = fallback or self.api_zone
        if isinstance(name, ZoneInfo):
            return name
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown time zone %r; using %s", name, fallback.key)
        return fallback

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
        try:
            connection = self.route(parsed.operation, via=parsed.via)
        except InvalidValue as error:
            raise CommandError(f"`via={parsed.via}`: {error.message}", usage=parsed.operation.usage()) from None
        ctx = self.context(who or zone, now=now, connection=connection)
        return await self.run(parsed.operation, parsed.raw, ctx)

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
        link = self.link(ctx.connection)
        if ctx.fingerprint and link.connection.fingerprint != ctx.fingerprint:  # changed while this was being read
            raise ConnectionChanged(ctx.connection)
        sandbox = link.sandbox is not None
        try:
            response = await link.client.send(request)
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
                return Outcome(operation, data, request, None, summary, sandbox=sandbox, **self._through(ctx))
            summary = Summary(headline=operation.fill(operation.not_found, data, ctx))
            return Outcome(operation, data, request, None, summary, found=False, sandbox=sandbox, **self._through(ctx))
        log.info("%s done for %s (attempts: %d)", operation.name, data.contact or "-", response.attempts)
        if self.records is not None:
            await self.records.after(operation, request, ctx)
        summary = operation.describe(data, response, ctx, given=given)
        return Outcome(operation, data, request, response, summary, sandbox=sandbox, **self._through(ctx))

    def _through(self, ctx: Context) -> dict[str, Any]:
        """An outcome's connection; named in its confirmation (`via`) only when the bot has more than one."""
        via = ctx.connection if len(self.links) > 1 else None
        return {"via": via, "connection": ctx.connection, "fingerprint": ctx.fingerprint}


def declared_connections(settings: Settings) -> list[Connection]:
    """The connections the settings declare: `default` (from the environment, unless the file defines it) and
    those of SEGMETRICS_CONNECTIONS."""
    declared = settings.file_connections()
    if DEFAULT in {connection.name for connection in declared}:
        return declared
    return [default_connection(settings), *declared]


def default_connection(settings: Settings) -> Connection:
    """`default` from the environment (SEGMETRICS_API_KEY, …), or the sandbox when it has no credentials."""
    if settings.sandbox:
        return Connection(
            DEFAULT,
            SecretStr(SANDBOX_KEY),
            SANDBOX_ID,
            SANDBOX_ID,
            settings.segmetrics_timezone,
            settings.segmetrics_currency,
            source="sandbox",
        )
    assert settings.segmetrics_api_key and settings.segmetrics_account_id and settings.segmetrics_integration_id
    return Connection(
        DEFAULT,
        settings.segmetrics_api_key,
        settings.segmetrics_account_id,
        settings.segmetrics_integration_id,
        settings.segmetrics_timezone,
        settings.segmetrics_currency,
    )


def link_for(connection: Connection, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> Link:
    """A connection's client and readers. The sandbox connection talks to an in-process sandbox."""
    sandbox = None
    import_url, reporting_url = settings.segmetrics_import_url, settings.segmetrics_reporting_url
    if connection.sandbox:
        from bot.sandbox import Sandbox, sandbox_transport

        sandbox = Sandbox(
            api_key=connection.api_key.get_secret_value(),
            account_id=connection.account_id,
            integration_id=connection.integration_id,
            # One sandbox for the machine: the terminal and the bot without credentials see the same contacts.
            state_file=settings.sandbox_file,
        )
        import_url, reporting_url = f"{SANDBOX_URL}/api/v1", f"{SANDBOX_URL}/reporting"
        transport = transport or sandbox_transport(sandbox)
    client = SegMetricsClient(
        Credentials(connection.api_key, connection.account_id, connection.integration_id),
        import_url=import_url,
        reporting_url=reporting_url,
        timeout=settings.segmetrics_timeout,
        retry=RetryPolicy(max_attempts=settings.segmetrics_max_attempts, budget=settings.segmetrics_retry_budget),
        max_connections=settings.segmetrics_max_connections,
        transport=transport,
    )
    money = MoneyReader(Currency.of(connection.currency), settings.decimal_mark)
    logs.redact_also([connection.api_key.get_secret_value()])
    return Link(connection, client, money, ZoneInfo(connection.timezone), sandbox)
