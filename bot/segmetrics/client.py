"""The thin SegMetrics client: one request funnel (`send`), retries, and errors by HTTP status."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import SecretStr

from bot.problems import InvalidValue
from bot.secrets import redact
from bot.segmetrics.errors import (
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    NotFound,
    RateLimited,
    SegMetricsError,
    ServerError,
    StatusError,
    TimedOut,
    UnexpectedResponse,
    UnsafeRequest,
)
from bot.segmetrics.paths import check_header, check_header_value, resolve_raw_path
from bot.segmetrics.request import ApiRequest, ApiResponse, segment
from bot.segmetrics.retry import RetryPolicy, parse_retry_after
from bot.settings import DEFAULT_IMPORT_URL, DEFAULT_REPORTING_URL

log = logging.getLogger("segmetrics_slack.segmetrics")

USER_AGENT = "segmetrics-slack/0.1 (+https://github.com/segmetrics-slack)"
# With less than this left of the retry budget (seconds), another try is not worth starting.
MIN_USEFUL_TRY = 1.0
# Idle pooled connections are closed after this (seconds): SegMetrics' own idle timeout is unknown.
KEEPALIVE = 5.0
CONTACT_EXTENSIONS = ("tags", "orders", "subscriptions")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_\-.%@+~]+(/[A-Za-z0-9_\-.%@+~]+)*")


def _plain(path: str) -> bool:
    """Segments of safe characters, none of them `.` or `..`: appending such a path cannot leave the base."""
    return bool(_PLAIN_PATH.fullmatch(path)) and all(part.strip(".") for part in path.split("/"))


def _session_factory(max_connections: int) -> Callable[[], aiohttp.ClientSession]:
    """aiohttp's session for SegMetrics, made on first use (inside the event loop)."""

    def make() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=KEEPALIVE)
        session = aiohttp.ClientSession(connector=connector)
        # aiohttp silently sends an idempotent request again when a kept-alive connection breaks under
        # it (aiohttp's own test client turns this off the same way). The funnel counts and reports its
        # tries itself: a DELETE resent after a lost answer finds nothing, which must read "deleted".
        session._retry_connection = False
        return session

    return make


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def _timed_out(exc: httpx.TransportError) -> bool:
    """A timeout, not a refused or broken connection (aiohttp's errors reach httpx all as timeouts)."""
    causes = _causes(exc)
    if any(isinstance(cause, aiohttp.ClientError) for cause in causes):
        return any(isinstance(cause, TimeoutError) for cause in causes)
    return isinstance(exc, httpx.TimeoutException)


def _never_sent(exc: BaseException) -> bool:
    """Whether the request surely never left: no connection was made (refused, unknown host, connecting)."""
    return any(
        isinstance(cause, ConnectionRefusedError | socket.gaierror | httpx.ConnectError | aiohttp.ClientConnectorError)
        for cause in _causes(exc)
    )


def _dropped(exc: BaseException) -> bool:
    """Whether the connection broke under a request (aiohttp's disconnects reach httpx as timeouts)."""
    return any(
        isinstance(cause, aiohttp.ServerDisconnectedError | ConnectionResetError | BrokenPipeError)
        for cause in _causes(exc)
    )


@dataclass(frozen=True, repr=False)
class Credentials:
    """Who the bot is at SegMetrics. The key only leaves this object in the Authorization header."""

    api_key: SecretStr
    account_id: str
    integration_id: str

    def __repr__(self) -> str:
        return f"Credentials(account_id={self.account_id!r}, integration_id={self.integration_id!r}, api_key=***)"


class SegMetricsClient:
    """Async client for the Import API (writes) and the Reporting API (reads)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        import_url: str = DEFAULT_IMPORT_URL,
        reporting_url: str = DEFAULT_REPORTING_URL,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.credentials = credentials
        self.import_url = httpx.URL(import_url.rstrip("/") + "/")
        self.reporting_url = httpx.URL(reporting_url.rstrip("/") + "/")
        # Joined once: httpx's URL.join costs more than the rest of a request's preparation.
        account = segment(credentials.account_id)
        self._bases = {
            "import": self.import_url.join(f"{account}/{segment(credentials.integration_id)}/"),
            "reporting": self.reporting_url.join(f"{account}/"),
        }
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        # Told of every try: its status (`timeout`, `connection_error` without one) and seconds (bot.metrics).
        self.observe: Callable[[str, float], None] | None = None
        # Calls beyond the pool wait here, in order, rather than in the connection pool's own queue.
        self._slots = asyncio.Semaphore(max_connections)
        # httpx's interface over aiohttp's connection pool (as the Anthropic SDK offers): measured here,
        # httpcore's pool spends 2.5 times the CPU per call, most of it rescanning idle connections.
        # Timeouts are set per try (`_attempt`); the pool's size is the connector's (`_session_factory`).
        self._http = httpx.AsyncClient(
            transport=transport or AiohttpTransport(client=_session_factory(max_connections)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return (
            f"SegMetricsClient(import_url={str(self.import_url)!r}, reporting_url={str(self.reporting_url)!r}, "
            f"account_id={self.credentials.account_id!r})"
        )

    async def __aenter__(self) -> SegMetricsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the funnel ---------------------------------------------------------------------------

    def url_for(self, request: ApiRequest) -> httpx.URL:
        base = self._bases.get(request.api, self.import_url)
        # `.` and `..` (plain or percent-encoded: aiohttp decodes and resolves both) would leave the endpoint
        # the path names, for the integration's root or another API; no id of ours is made of dots.
        path = request.path.split("?", 1)[0]
        if any(unquote(part) in (".", "..") for part in path.split("/")):
            raise UnsafeRequest(f"Refused to call `{request.path}`: a `.` or `..` in it would leave its endpoint.")
        # Paths we build are plain segments: appended as text. Anything else (the raw API call) is joined
        # the way a browser would, then checked.
        url = httpx.URL(str(base) + request.path) if _plain(request.path) else base.join(request.path)
        # The path was built or checked by us; this is the last line of defence for the raw API call.
        if url.host != base.host or url.port != base.port or not url.raw_path.startswith(base.raw_path):
            raise UnsafeRequest(f"Refused to call {url.host}{url.path}: outside the SegMetrics API.")
        return url

    async def send(self, request: ApiRequest) -> ApiResponse:
        """Send one request, retrying transient failures; return the answer or raise a `SegMetricsError`."""
        url = self.url_for(request)
        headers = self._headers(request.headers)
        started = time.monotonic()
        attempt, timeout, lost = 0, self.timeout, False
        while True:
            attempt += 1
            async with self._slots:
                began = time.monotonic()
                outcome = await self._attempt(request, url, headers, attempt, started, timeout)
            if self.observe is not None:
                self.observe(_status_label(outcome), time.monotonic() - began)
            if isinstance(outcome, ApiResponse):
                return outcome
            error = outcome
            elapsed = time.monotonic() - started
            wait = self._wait_before_retry(error, attempt, elapsed)
            if wait is None:
                error.maybe_applied = lost or error.maybe_applied
                raise self._final(error, attempt, elapsed)
            lost = lost or error.maybe_applied
            log.warning(
                "segmetrics %s %s failed (%s); retry %d in %.2fs",
                request.method,
                request.path,
                type(error).__name__,
                attempt,
                wait,
            )
            await self._sleep(wait)
            # A last try gets what is left of the budget, not a full timeout beyond it.
            timeout = min(self.timeout, self.retry.budget - (time.monotonic() - started))

    async def _attempt(
        self,
        request: ApiRequest,
        url: httpx.URL,
        headers: dict[str, str],
        attempt: int,
        started: float,
        timeout: float,
    ) -> ApiResponse | SegMetricsError:
        try:
            response = await self._http.request(
                request.method,
                url,
                json=request.json,
                params=dict(request.params) or None,
                headers=headers,
                # Waiting for a free pooled connection is queueing, not SegMetrics being slow.
                timeout=httpx.Timeout(timeout, connect=min(5.0, timeout), pool=None),
            )
        except httpx.TransportError as exc:
            failure: ConnectionFailed = (
                TimedOut(f"SegMetrics did not answer within {timeout:g} s")
                if _timed_out(exc)
                else ConnectionFailed(f"Could not reach SegMetrics at {url.host} ({self._reason(exc)})")
            )
            failure.maybe_applied = not _never_sent(exc)
            return failure
        except TimeoutError:
            failure = TimedOut(f"SegMetrics did not answer within {timeout:g} s")
            failure.maybe_applied = True
            return failure
        except aiohttp.ClientError as exc:  # one the transport does not translate
            failure = ConnectionFailed(f"Could not reach SegMetrics at {url.host} ({type(exc).__name__})")
            failure.maybe_applied = not _never_sent(exc)
            return failure
        body = self._scrub(_body(response))
        log.info(
            "segmetrics %s %s -> %d in %.0f ms (attempt %d)",
            request.method,
            request.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            attempt,
        )
        error = self._status_error(request, response, body, attempt) or self._unexpected(request, response, body)
        if error is not None:
            return error
        return ApiResponse(status_code=response.status_code, body=body, attempts=attempt)

    def _headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        # Checked here too, whatever surface built the request: a value with a line break would add a header.
        for name, value in extra.items():
            try:
                check_header_value(check_header(name), value)
            except InvalidValue as exc:
                raise UnsafeRequest(f"Refused the header {name!r}: {exc.message}.") from None
        return {**extra, "Authorization": self.credentials.api_key.get_secret_value()}

    def _wait_before_retry(self, error: SegMetricsError, attempt: int, elapsed: float) -> float | None:
        """Seconds to wait before trying again, or None to give up."""
        if not error.transient or attempt >= self.retry.max_attempts:
            return None
        retry_after = error.retry_after if isinstance(error, StatusError) else None
        wait = retry_after if retry_after is not None else self.retry.backoff(attempt)
        # Give up unless the next try still has a useful time to run within the budget.
        if self.retry.budget - (elapsed + wait) < min(self.timeout, MIN_USEFUL_TRY):
            return None
        return wait

    def _unexpected(self, request: ApiRequest, response: httpx.Response, body: Any) -> UnexpectedResponse | None:
        """A success status must carry SegMetrics' JSON; anything else means the URL is not SegMetrics."""
        wants_object = request.api in ("import", "reporting")
        if isinstance(body, dict) if wants_object else not isinstance(body, str):
            return None
        setting = "SEGMETRICS_REPORTING_URL" if request.api == "reporting" else "SEGMETRICS_IMPORT_URL"
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        return UnexpectedResponse(
            f"SegMetrics answered HTTP {response.status_code} with {kind} instead of its JSON, so nothing "
            f"can be confirmed: whoever runs the bot should check {setting}."
        )

    def _status_error(
        self, request: ApiRequest, response: httpx.Response, body: Any, attempt: int
    ) -> StatusError | None:
        status = response.status_code
        said_error = isinstance(body, dict) and str(body.get("status", "")).lower() == "error"
        if status < 300 and not said_error:
            return None
        errors = self._redact_all(_error_strings(body))
        common: dict[str, Any] = {"status_code": status, "errors": errors, "body": body, "attempts": attempt}
        where = f"{request.method} {request.path}"
        if status < 300 or status in (400, 422):
            reasons = "; ".join(errors) if errors else f"HTTP {status}, no reason given"
            return BadRequest(f"SegMetrics rejected the request: {reasons}.", **common)
        if status in (401, 403):
            return AuthenticationFailed(
                f"SegMetrics refused the bot's credentials (HTTP {status}): whoever runs the bot should check "
                "SEGMETRICS_API_KEY, SEGMETRICS_ACCOUNT_ID and SEGMETRICS_INTEGRATION_ID.",
                **common,
            )
        if status == 404:
            return NotFound(f"SegMetrics has nothing at {where} (HTTP 404).", **common)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return RateLimited(
                "SegMetrics is limiting how fast the bot may call it (HTTP 429)",
                retry_after=retry_after,
                **common,
            )
        if status >= 500:
            return ServerError(f"SegMetrics had a server error (HTTP {status})", retry_after=retry_after, **common)
        return StatusError(f"SegMetrics answered HTTP {status} to {where}.", **common)

    def _final(self, error: SegMetricsError, attempts: int, elapsed: float) -> SegMetricsError:
        error.attempts = attempts
        if error.transient:
            tries = f" (tried {attempts} times over {elapsed:.1f} s)" if attempts > 1 else ""
            advice = (
                f"try again in {error.retry_after:.0f} s."
                if isinstance(error, RateLimited) and error.retry_after
                else "try again in a few minutes; repeating is safe, every write is an upsert."
            )
            error.message = f"{error.message}{tries}; {advice}"
        error.message = self._redact(error.message)
        error.reason = self._redact(error.reason)
        error.args = (error.message,)
        return error

    def _reason(self, exc: httpx.TransportError) -> str:
        """A few words on why the connection failed, from the root cause httpx wraps."""
        causes = _causes(exc)
        if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
            return "connection refused"
        if any(isinstance(cause, socket.gaierror) for cause in causes):
            return "host name not found"
        if _dropped(exc) or isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return "the connection was dropped"
        return self._redact(str(exc) or type(exc).__name__)[:120]

    def _redact(self, text: str) -> str:
        """`text` without the key, in any form a server may echo it in (`bot.secrets`: another case,
        URL-encoded, JSON-escaped, hex, base64 even inside a longer blob)."""
        key = self.credentials.api_key.get_secret_value()
        return redact(text, key) if key else text

    def _scrub(self, value: Any) -> Any:
        """The body with the key redacted wherever a server echoed it back."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        if isinstance(value, dict):
            return {self._scrub(key): self._scrub(item) for key, item in value.items()}
        return value

    def _redact_all(self, texts: Iterable[str]) -> list[str]:
        return [self._redact(text) for text in texts]

    # -- one thin wrapper per endpoint ------------------------------------------------------------

    async def upsert_contact(self, contact: Mapping[str, Any]) -> ApiResponse:
        return await self.send(ApiRequest.post("contact", dict(contact)))

    async def delete_contact(self, contact_id_or_email: str) -> ApiResponse:
        return await self.send(ApiRequest.delete("contact", contact_id_or_email))

    async def add_tags(self, payload: Mapping[str, Any]) -> ApiResponse:
        return await self.send(ApiRequest.post("tags/add", dict(payload)))

    async def remove_tags(self, payload: Mapping[str, Any]) -> ApiResponse:
        return await self.send(ApiRequest.post("tags/remove", dict(payload)))

    async def upsert_invoice(self, invoice: Mapping[str, Any]) -> ApiResponse:
        return await self.send(ApiRequest.post("invoice", dict(invoice)))

    async def delete_invoice(self, invoice_id: str) -> ApiResponse:
        return await self.send(ApiRequest.delete("invoice", invoice_id))

    async def upsert_subscription(self, subscription: Mapping[str, Any]) -> ApiResponse:
        return await self.send(ApiRequest.post("subscription", dict(subscription)))

    async def delete_subscription(self, subscription_id: str) -> ApiResponse:
        return await self.send(ApiRequest.delete("subscription", subscription_id))

    async def record_ad_performance(self, performance: Mapping[str, Any]) -> ApiResponse:
        return await self.send(ApiRequest.post("ad/performance", dict(performance)))

    async def upsert_product(self, product_id: str, name: str) -> ApiResponse:
        return await self.send(ApiRequest.post("product", {"id": product_id, "name": name}))

    async def get_contact(self, contact_id_or_email: str, extend: Iterable[str] = CONTACT_EXTENSIONS) -> ApiResponse:
        """Reporting API look-up; the contact is `response.body["data"]`."""
        return await self.send(contact_lookup_request(contact_id_or_email, extend))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """A raw Import API call: `path` is relative to the integration, or to the API root when it
        starts with `/v1/`; `{account_id}` and `{integration_id}` are filled in."""
        try:
            api, relative = resolve_raw_path(
                path, account_id=self.credentials.account_id, integration_id=self.credentials.integration_id
            )
        except InvalidValue as exc:
            raise UnsafeRequest(f"Refused the path {path!r}: {exc.message}.") from None
        return await self.send(ApiRequest(method.upper(), relative, json, api=api, headers=dict(headers or {})))


def contact_lookup_request(contact_id_or_email: str, extend: Iterable[str] = CONTACT_EXTENSIONS) -> ApiRequest:
    return ApiRequest(
        "GET",
        f"contact/{segment(contact_id_or_email)}",
        api="reporting",
        params={"extend": ",".join(extend)},
    )


def _status_label(outcome: ApiResponse | SegMetricsError) -> str:
    """A try's outcome as the metrics label it: the HTTP status, else what kept one from coming."""
    if isinstance(outcome, ApiResponse | StatusError):
        return str(outcome.status_code)
    if isinstance(outcome, UnexpectedResponse):
        return "unexpected_body"  # a success status with something else than SegMetrics' JSON
    return "timeout" if isinstance(outcome, TimedOut) else "connection_error"


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _error_strings(body: Any) -> list[str]:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            return [str(item).strip() for item in errors if str(item).strip()]
        if isinstance(errors, str) and errors.strip():
            return [errors.strip()]
        for key in ("message", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                return [body[key].strip()]
    if isinstance(body, str) and body.strip() and len(body) < 300 and "<" not in body:
        return [body.strip()]
    return []
