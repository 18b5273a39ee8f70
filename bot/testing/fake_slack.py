"""A local stand-in for Slack: the Web API, `response_url`, files and a Socket Mode websocket, on 127.0.0.1.

It records every call so tests can assert on what the bot asked Slack to do, and keeps what Slack would keep:
the messages the bot posted and edited, the files users shared (`add_file`) and the files the bot uploaded
(`uploads`). The server runs on its own event loop in a daemon thread, so it serves sync tests, async tests
(whatever loop they run) and benchmark scripts alike, and the bot's own loop is never the one answering it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import itertools
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSMsgType, web

from bot.testing import limits

log = logging.getLogger("segmetrics_slack.fake_slack")

T = TypeVar("T")

# slack-sdk form-encodes some methods, and then these structured arguments arrive as JSON strings.
_JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata", "files", "outputs")
_VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
# A close handshake with a client that never answers must not hold up disconnects or stop().
_SOCKET_CLOSE_TIMEOUT = 1.0
_STOP_SOCKET_GRACE = 0.25
_START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # a Web API method ("chat.postMessage"), or "response_url", or "socket_ack"
    args: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() when received
    path: str = ""


@dataclass(frozen=True)
class Upload:
    """One file the bot uploaded (files.getUploadURLExternal, the upload URL, files.completeUploadExternal)."""

    file_id: str
    filename: str
    title: str
    content: bytes
    channel: str | None  # the channel it was shared in (the first, when several were named); None if private
    channels: tuple[str, ...]
    thread_ts: str | None
    initial_comment: str | None
    ts: str | None  # the ts of the message that shares it in `channel`
    at: float  # time.monotonic() when completed

    @property
    def text(self) -> str:
        """The content as text (UTF-8; a byte order mark is dropped), e.g. a CSV the bot wrote."""
        return self.content.decode("utf-8-sig")


@dataclass
class _File:
    id: str
    name: str
    title: str
    filetype: str
    mimetype: str
    user: str
    content: bytes
    created: int
    shares: dict[str, dict[str, list[dict[str, Any]]]]


@dataclass
class _PendingUpload:
    file_id: str
    filename: str
    length: int
    content: bytes | None = None


# Slack's file type for a file name's extension, where the bot is likely to meet it.
_FILETYPES = {
    "csv": ("csv", "text/csv"),
    "tsv": ("tsv", "text/tab-separated-values"),
    "txt": ("text", "text/plain"),
    "json": ("json", "application/json"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": ("pdf", "application/pdf"),
    "png": ("png", "image/png"),
}
_PRETTY_TYPES = {"csv": "CSV", "tsv": "TSV", "text": "Plain Text", "json": "JSON", "xlsx": "Excel Spreadsheet"}

# What Slack answers a request for a private file without a valid token: not a 401/403, but a 302 to the
# workspace's sign-in page (`https://<team>.slack.com/?redir=%2Ffiles-pri%2F...`) with a tiny "Found" body,
# which a client that follows redirects (aiohttp does by default) receives as a 200 HTML page. Bots that
# save that page as "the file" are a well-known bug (slackapi/node-slack-sdk#1750, slackapi/bolt-js#2585,
# slack-go/slack#1284), so the fake does the same and the bot's own code has to check the status, the
# content type or the redirect.
_LOGIN_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>Sign in | Slack</title></head>'
    '<body><h1>Sign in to Test</h1><form action="/signin" method="post">'
    '<input type="email" name="email"><button type="submit">Sign in</button></form></body></html>'
)


class FakeSlack:
    """Slack's Web API, `response_url` endpoint and Socket Mode server, faked on a free local port."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        default_zone: str = "America/New_York",
        user_zones: Mapping[str, str] | None = None,
        user_locales: Mapping[str, str] | None = None,
        port: int = 0,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        # Every bot token Slack honours, and the workspace it acts in: the one given, and those installs issue.
        self.tokens: dict[str, str] = {bot_token: team_id}
        # Installing by link (`enable_oauth`): the app's credentials, codes handed out by `approve`, refresh
        # tokens by workspace; with `rotation`, tokens expire after `expires_in` s and are renewed by refresh token.
        self.client_id: str | None = None
        self.client_secret: str | None = None
        self.rotation = False
        self.expires_in = 43200
        self.redirect_url: str | None = None
        self.installing: tuple[str, str] | None = None
        self._codes: dict[str, tuple[str, str, str]] = {}  # code → (team, installer, scopes)
        self._refresh_tokens: dict[str, str] = {}  # refresh token → team
        self._token_counter = itertools.count(1)
        self.bot_user_id = bot_user_id
        self.default_zone = default_zone
        self.user_zones: dict[str, str] = dict(user_zones or {})
        # Each user's Slack locale, returned (as Slack does) only when asked with include_locale.
        self.user_locales: dict[str, str] = dict(user_locales or {})
        # Users users.info reports as workspace admins.
        self.admins: set[str] = set()
        # User groups for usergroups.list: handle → (id, member ids).
        self.groups: dict[str, tuple[str, list[str]]] = {}
        self.not_in_channel: set[str] = set()
        self._requested_port = port
        self._port: int | None = None

        # One lock guards calls, failures, delays and the socket list; waiters (sync and async) hang off it.
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        # Bumped by reset(), so a waiter that has already scanned part of the list starts over.
        self._epoch = 0
        self._failures: dict[str, deque[list[Any]]] = {}
        self._delays: dict[str, float] = {}
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._sockets: list[web.WebSocketResponse] = []
        # Slack's own state, guarded by the same lock: messages by (channel, ts), files by id, uploads.
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._files: dict[str, _File] = {}
        self._pending_uploads: dict[str, _PendingUpload] = {}  # by the upload URL's ticket
        self._uploads: list[Upload] = []
        # Workflow step runs completed (functions.completeSuccess / completeError): id → ("success", outputs)
        # or ("error", message).
        self._executions: dict[str, tuple[str, Any]] = {}

        # Identifiers never restart, not even on reset(), so a ts or view id seen once stays unique.
        self._ts_counter = itertools.count(100)
        self._id_counter = itertools.count(1)
        self._socket_counter = itertools.count(1)

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._startup_error: BaseException | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        state = self.url if self._port is not None else "stopped"
        return f"FakeSlack({state})"

    # Lifecycle

    def start(self) -> FakeSlack:
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._startup_error = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-slack", daemon=True)
        self._thread.start()
        if not ready.wait(_START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the fake Slack server did not start within {_START_TIMEOUT} s")
        if self._startup_error is not None:
            error = self._startup_error
            self._thread.join(timeout=5)
            self._thread = self._loop = None
            raise error
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = self._runner = None
        self._port = None
        with self._cond:
            self._sockets.clear()
            self._changed()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the fake Slack server is not running; call start() first")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str = "1") -> str:
        return f"{self.url}/response/{key}"

    # Scripting

    def enable_oauth(
        self, client_id: str, client_secret: str, *, rotation: bool = False, redirect_url: str | None = None
    ) -> None:
        """Let the app be installed by link: oauth.v2.access honours these credentials; `redirect_url` is the
        app's Redirect URL (where the authorize page sends the browser back when the link names none)."""
        self.client_id, self.client_secret, self.rotation = client_id, client_secret, rotation
        self.redirect_url = redirect_url

    def next_install(self, team: str, user: str) -> None:
        """Who is signed in to Slack in the browser: the next visit of the authorize page is `user` of
        workspace `team` clicking Allow (see `_authorize_page`)."""
        self.installing = (team, user)

    def approve(self, authorize_url: str, *, team: str, user: str, redirect_url: str) -> str:
        """What Slack does when `user` of workspace `team` clicks Allow on the "Add to Slack" page at
        `authorize_url`: the URL it sends the browser back to (`redirect_url`, with a one-time code and the
        state). AssertionError when the page is not this Slack's, or asks for another app."""
        page = urlsplit(authorize_url)
        assert f"{page.scheme}://{page.netloc}" == self.url and page.path == "/oauth/v2/authorize", authorize_url
        query = dict(parse_qsl(page.query))
        assert query.get("client_id") == self.client_id, query
        code = f"code-{uuid.uuid4().hex[:12]}"
        with self._cond:
            self._codes[code] = (team, user, query.get("scope", ""))
        return f"{redirect_url}?{urlencode({'code': code, 'state': query.get('state', '')})}"

    def revoke(self, team: str) -> None:
        """The workspace uninstalled the app: its tokens stop working."""
        with self._cond:
            for token in [token for token, owner in self.tokens.items() if owner == team]:
                del self.tokens[token]
            for token in [token for token, owner in self._refresh_tokens.items() if owner == team]:
                del self._refresh_tokens[token]

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`.

        Successive fail() calls for one method queue up, so a test can script "ratelimited, then fatal".
        "file.download" and "file.upload" (the file URLs, which are not Web API methods) answer a scripted
        error with HTTP 500 and no JSON; "file_not_found" makes a download a 404.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._cond:
            self._failures.setdefault(method, deque()).append([error, times])

    def delay(self, method: str, seconds: float) -> None:
        """Hold every answer to `method` for `seconds` (0 clears it)."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        with self._cond:
            if seconds:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def reset(self) -> None:
        """Forget calls, failures, delays, messages, files and uploads; zones, channels and sockets are left alone."""
        with self._cond:
            self._calls = []
            self._epoch += 1
            self._failures.clear()
            self._delays.clear()
            self._messages.clear()
            self._files.clear()
            self._pending_uploads.clear()
            self._uploads = []
            self._executions.clear()
            self._changed()

    def add_file(
        self,
        content: bytes,
        *,
        name: str = "attendees.csv",
        title: str | None = None,
        filetype: str = "csv",
        mimetype: str = "text/csv",
        user: str = "U1",
        channel: str | None = None,
    ) -> str:
        """Register a file a user shared (in `channel`, if given) and return its id (`F…`).

        files.info then describes it, and its `url_private_download` on this server serves `content` to the
        bot token.
        """
        if not isinstance(content, bytes):
            raise TypeError("a file's content is bytes")
        file_id = self._next_file_id()
        shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
        if channel:
            shares = {_share_kind(channel): {channel: [{"ts": self._next_ts(), "team_id": self.team_id}]}}
        stored = _File(
            id=file_id,
            name=name,
            title=name if title is None else title,
            filetype=filetype,
            mimetype=mimetype,
            user=user,
            content=content,
            created=int(time.time()),
            shares=shares,
        )
        with self._cond:
            self._files[file_id] = stored
        return file_id

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U2",
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """A message a user posted (a reply in `thread_ts`, if given); its ts. conversations.history and
        conversations.replies then serve it, as Slack does."""
        ts = self._next_ts()
        message: dict[str, Any] = {"text": text, "user": user, "ts": ts}
        if blocks is not None:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        self._keep_message(channel, ts, message)
        return ts

    def function_result(self, execution_id: str) -> tuple[str, Any] | None:
        """How a workflow step run was completed: ("success", outputs), ("error", message), or None (not yet)."""
        with self._cond:
            return self._executions.get(execution_id)

    # Inspection

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self._calls if call.method == method]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message at `ts` in `channel` as it stands now (posted, then maybe edited), or None.

        It carries `channel`, `ts`, `text`, `blocks`, `user`, and `thread_ts`, `attachments`, `edited` or
        `files` where Slack would.
        """
        with self._cond:
            found = self._messages.get((channel, ts))
            return json.loads(json.dumps(found)) if found is not None else None

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every message the fake knows (in `channel`, if given), oldest first, as message() gives them."""
        with self._cond:
            found = [m for (where, _), m in self._messages.items() if channel is None or where == channel]
            found.sort(key=lambda m: float(m["ts"]))
            return json.loads(json.dumps(found))

    @property
    def uploads(self) -> list[Upload]:
        """Every upload the bot completed with files.completeUploadExternal, in order."""
        with self._cond:
            return list(self._uploads)

    def wait_for_upload(self, predicate: Callable[[Upload], bool] | None = None, timeout: float = 5.0) -> Upload:
        """The first completed upload matching `predicate`, waiting up to `timeout` for one."""
        return self._wait(self._upload_finder(predicate), timeout, lambda: self._missing_upload(timeout))

    async def async_wait_for_upload(
        self, predicate: Callable[[Upload], bool] | None = None, timeout: float = 5.0
    ) -> Upload:
        """Like wait_for_upload(), without blocking the caller's event loop."""
        return await self._async_wait(self._upload_finder(predicate), timeout, lambda: self._missing_upload(timeout))

    def wait_for(self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 5.0) -> Call:
        """The first recorded `method` call matching `predicate`, waiting up to `timeout` for one to arrive."""
        return self._wait(self._call_finder(method, predicate), timeout, lambda: self._missing(method, timeout))

    async def async_wait_for(
        self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 5.0
    ) -> Call:
        """Like wait_for(), without blocking the caller's event loop (which may be the bot's)."""
        return await self._async_wait(
            self._call_finder(method, predicate), timeout, lambda: self._missing(method, timeout)
        )

    # Socket Mode

    def socket_connected(self) -> bool:
        with self._cond:
            return bool(self._sockets)

    def wait_for_socket(self, timeout: float = 5.0) -> None:
        self._wait(self._socket_finder, timeout, lambda: f"no Socket Mode client connected within {timeout} s")

    async def async_wait_for_socket(self, timeout: float = 5.0) -> None:
        await self._async_wait(
            self._socket_finder, timeout, lambda: f"no Socket Mode client connected within {timeout} s"
        )

    def socket_send(self, envelope: Mapping[str, Any]) -> None:
        """Send `envelope` as JSON to the most recently connected Socket Mode client."""
        self._on_server(self._send_envelope(dict(envelope))).result(timeout=5)

    async def async_socket_send(self, envelope: Mapping[str, Any]) -> None:
        await asyncio.wrap_future(self._on_server(self._send_envelope(dict(envelope))))

    def socket_disconnect(self) -> None:
        """Close the server side of every open websocket, so a client's reconnect logic runs.

        Returns once the sockets count as gone; the close handshake finishes in the background, since the
        client that has to answer it may be waiting on this very call.
        """
        self._on_server(self._disconnect_sockets()).result(timeout=5)

    @staticmethod
    def slash_command_envelope(payload: Mapping[str, Any], envelope_id: str | None = None) -> dict[str, Any]:
        return _envelope("slash_commands", payload, envelope_id)

    @staticmethod
    def interactive_envelope(payload: Mapping[str, Any], envelope_id: str | None = None) -> dict[str, Any]:
        return _envelope("interactive", payload, envelope_id)

    # Waiting

    def _call_finder(self, method: str, predicate: Callable[[Call], bool] | None) -> Callable[[], Call | None]:
        # Calls are only ever appended, so each look only scans what arrived since the last one; a benchmark
        # waiting on its 1,000th message should not rescan the first 999 every time.
        scanned = 0
        epoch = self._epoch

        def find() -> Call | None:
            nonlocal scanned, epoch
            if epoch != self._epoch:
                scanned, epoch = 0, self._epoch
            calls = self._calls
            for index in range(scanned, len(calls)):
                call = calls[index]
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            scanned = len(calls)
            return None

        return find

    def _upload_finder(self, predicate: Callable[[Upload], bool] | None) -> Callable[[], Upload | None]:
        def find() -> Upload | None:
            return next((u for u in self._uploads if predicate is None or predicate(u)), None)

        return find

    def _missing_upload(self, timeout: float) -> str:
        done = [(u.filename, u.channel) for u in self._uploads]
        pending = [p.filename for p in self._pending_uploads.values()]
        return f"no matching upload completed within {timeout} s; completed: {done}; started, not completed: {pending}"

    def _socket_finder(self) -> bool | None:
        return True if self._sockets else None

    def _missing(self, method: str, timeout: float) -> str:
        counts = Counter(call.method for call in self._calls)
        seen = ", ".join(f"{name} x{count}" for name, count in counts.items()) or "nothing"
        matching = [call.args for call in self._calls if call.method == method][-3:]
        detail = f"; the last {method} args: {matching}" if matching else ""
        return f"no matching {method} call within {timeout} s; recorded: {seen}{detail}"

    def _wait(self, find: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(describe())
                self._cond.wait(remaining)

    async def _async_wait(self, find: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        # Woken by the server thread through call_soon_threadsafe rather than by polling, so a wait ends as
        # soon as the call lands and a benchmark's waits add no latency of their own.
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        waiter = (loop, wake)
        deadline = loop.time() + timeout
        with self._cond:
            self._async_waiters.add(waiter)
        try:
            while True:
                # Cleared before looking, so a call recorded after the look still sets it.
                wake.clear()
                with self._cond:
                    found = find()
                    if found is not None:
                        return found
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise TimeoutError(describe())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await wake.wait()
        finally:
            with self._cond:
                self._async_waiters.discard(waiter)

    def _changed(self) -> None:
        """Wake every waiter; the caller holds self._cond."""
        self._cond.notify_all()
        for loop, wake in self._async_waiters:
            # The waiter's loop may be shutting down; it will then never look again anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def _record(self, method: str, args: dict[str, Any], token: str | None, path: str) -> None:
        call = Call(method=method, args=args, token=token, at=time.monotonic(), path=path)
        with self._cond:
            self._calls.append(call)
            self._changed()

    def _take_failure(self, method: str) -> str | None:
        with self._cond:
            queue = self._failures.get(method)
            if not queue:
                return None
            entry = queue[0]
            entry[1] -= 1
            if entry[1] <= 0:
                queue.popleft()
            error: str = entry[0]
            return error

    async def _hold(self, method: str) -> None:
        with self._cond:
            seconds = self._delays.get(method, 0.0)
        if seconds > 0:
            await asyncio.sleep(seconds)

    # The server thread

    def _serve(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:
            self._startup_error = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/socket/{number}", self._socket)
        app.router.add_get("/files-pri/{key}/{tail:.+}", self._download)
        app.router.add_post("/upload/v1/{ticket}", self._upload)
        app.router.add_get("/", self._sign_in_page)
        app.router.add_get("/oauth/v2/authorize", self._authorize_page)
        # A short shutdown timeout keeps stop() prompt when a delayed answer is still pending.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def _shutdown(self) -> None:
        with self._cond:
            sockets = list(self._sockets)
        closing = [asyncio.create_task(self._close_socket(ws)) for ws in sockets]
        if closing:
            _, pending = await asyncio.wait(closing, timeout=_STOP_SOCKET_GRACE)
        else:
            pending = set()
        pending |= set(self._background)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def _on_server(self, coro: Any) -> Future[Any]:
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            raise RuntimeError("the fake Slack server is not running; call start() first")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("call the async_ variant from inside the fake's own loop")
        return asyncio.run_coroutine_threadsafe(coro, loop)

    # Web API

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        invalid_json = False
        if request.can_read_body:
            if request.content_type == "application/json":
                raw = await request.text()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except json.JSONDecodeError:
                    invalid_json = True
                else:
                    if isinstance(body, dict):
                        args.update(body)
                    else:
                        invalid_json = True
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    args[key] = value if isinstance(value, str) else value.file.read()
            else:
                # Slack reads an untyped body as a form too.
                raw = await request.text()
                args.update(parse_qsl(raw, keep_blank_values=True))
        for key in _JSON_ARGUMENTS:
            value = args.get(key)
            if isinstance(value, str):
                with contextlib.suppress(json.JSONDecodeError):
                    args[key] = json.loads(value)

        token = _bearer(request.headers.get("Authorization"))
        if token is None and isinstance(args.get("token"), str):
            token = args["token"]
        self._record(method, args, token, request.path)
        await self._hold(method)

        if method == "oauth.v2.access":
            return _json(self._oauth_access(args, request.headers.get("Authorization")))
        if method == "apps.connections.open" and token != self.app_token:
            return _json({"ok": False, "error": "invalid_auth"})
        if method != "apps.connections.open" and token not in self.tokens:
            return _json({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return _json(self._auth_test(str(token)))
        if invalid_json:
            return _json({"ok": False, "error": "invalid_json"})
        error = self._take_failure(method)
        if error is not None:
            if error == "ratelimited":
                # slack-sdk's rate-limit retry handler keys on the status and Retry-After, as Slack sends them.
                return _json({"ok": False, "error": error}, status=429, headers={"Retry-After": "1"})
            return _json({"ok": False, "error": error})
        return _json(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        # Slack refuses what breaks its Block Kit limits; so does the fake, so tests catch it.
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            problems = limits.message_problems(args.get("blocks"), args.get("text"))
        elif method in _VIEW_METHODS and isinstance(args.get("view"), dict):
            problems = limits.view_problems(args["view"])
        else:
            problems = []
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        if method == "users.info":
            user = args.get("user")
            if not user:
                return {"ok": False, "error": "user_not_found"}
            found = self._user(str(user))
            if str(args.get("include_locale", "")).lower() in ("true", "1"):
                found["locale"] = self.user_locales.get(str(user), "en-US")
            return {"ok": True, "user": found}
        if method == "chat.postMessage":
            channel = args.get("channel")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if channel in self.not_in_channel:
                return {"ok": False, "error": "not_in_channel"}
            ts = self._next_ts()
            message = {"text": args.get("text", ""), "blocks": args.get("blocks", []), "user": self.bot_user_id}
            for key in ("thread_ts", "attachments"):
                if args.get(key):
                    message[key] = args[key]
            self._keep_message(str(channel), ts, {**message, "ts": ts})
            return {"ok": True, "channel": channel, "ts": ts, "message": {**message, "ts": ts}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            return self._update_message(args)
        if method == "chat.getPermalink":
            channel, ts = args.get("channel"), str(args.get("message_ts") or "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}",
            }
        if method == "chat.delete":
            with self._cond:
                self._messages.pop((str(args.get("channel")), str(args.get("ts"))), None)
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method in ("functions.completeSuccess", "functions.completeError"):
            return self._complete_function(method, args)
        if method == "conversations.history":
            return self._history(args)
        if method == "conversations.replies":
            return self._replies(args)
        if method == "files.info":
            return self._file_info(args)
        if method == "files.getUploadURLExternal":
            return self._start_upload(args)
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method in _VIEW_METHODS:
            return self._view_answer(method, args)
        if method == "conversations.open":
            users = str(args.get("users") or "")
            if users:
                return {"ok": True, "channel": {"id": "D" + users.split(",")[0].strip()}}
            if args.get("channel"):
                return {"ok": True, "channel": {"id": args["channel"]}}
            return {"ok": False, "error": "invalid_arguments"}
        if method == "usergroups.users.list" and self.groups:
            members = {group_id: users for group_id, users in self.groups.values()}
            if args.get("usergroup") not in members:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(members[args["usergroup"]])}
        if method == "usergroups.users.list":
            return {"ok": True, "users": []}
        if method == "usergroups.list":
            return {
                "ok": True,
                "usergroups": [{"id": group_id, "handle": handle} for handle, (group_id, _) in self.groups.items()],
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket/{next(self._socket_counter)}"}
        return {"ok": False, "error": "unknown_method"}

    def _auth_test(self, token: str) -> dict[str, Any]:
        team = self.tokens.get(token, self.team_id)
        return {
            "ok": True,
            "url": f"https://{team.lower()}.slack.com/",
            "team": "Test" if team == self.team_id else f"Workspace {team}",
            "user": "segmetrics",
            "team_id": team,
            "user_id": self.bot_user_id,
            "bot_id": "B0TEST",
            "is_enterprise_install": False,
        }

    def _oauth_access(self, args: dict[str, Any], authorization: str | None) -> dict[str, Any]:
        """oauth.v2.access: a code from `approve` for the workspace's bot token, or (rotation) a refresh token for
        a new one. The app authenticates with its client id and secret (HTTP Basic, or as form fields)."""
        client_id, secret = args.get("client_id"), args.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            with contextlib.suppress(ValueError):
                client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if self.client_id is None or (client_id, secret) != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id" if client_id != self.client_id else "bad_client_secret"}
        with self._cond:
            if args.get("grant_type") == "refresh_token":
                team = self._refresh_tokens.get(str(args.get("refresh_token")))
                if team is None:
                    return {"ok": False, "error": "invalid_refresh_token"}
                return {"ok": True, "token_type": "bot", **self._issue(team)}
            found = self._codes.pop(str(args.get("code")), None)
            if found is None:
                return {"ok": False, "error": "invalid_code"}
            team, user, scopes = found
            return {
                "ok": True,
                "app_id": "A0TEST",
                "authed_user": {"id": user},
                "scope": scopes,
                "token_type": "bot",
                "bot_user_id": self.bot_user_id,
                "team": {"id": team, "name": f"Workspace {team}"},
                "enterprise": None,
                "is_enterprise_install": False,
                **self._issue(team),
            }

    def _issue(self, team: str) -> dict[str, Any]:
        """A new bot token for `team` (under the lock); with rotation, its refresh token and lifetime."""
        number = next(self._token_counter)
        token = f"{'xoxe.' if self.rotation else ''}xoxb-{team}-{number}"
        self.tokens[token] = team
        if not self.rotation:
            return {"access_token": token}
        refresh = f"xoxe-1-{team}-{number}"
        self._refresh_tokens[refresh] = team
        return {"access_token": token, "refresh_token": refresh, "expires_in": self.expires_in}

    def _user(self, user: str) -> dict[str, Any]:
        zone = self.user_zones.get(user, self.default_zone)
        try:
            now = datetime.now(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # Passed through as given, so a test can feed the bot a zone name it must cope with.
            label, offset = zone, 0
        else:
            utc_offset = now.utcoffset()
            label = now.tzname() or zone
            offset = int(utc_offset.total_seconds()) if utc_offset is not None else 0
        return {
            "id": user,
            "team_id": self.team_id,
            "name": user.lower(),
            "real_name": f"User {user}",
            "tz": zone,
            "tz_label": label,
            "tz_offset": offset,
            "is_bot": False,
            "is_admin": user in self.admins,
            "is_owner": False,
            "deleted": False,
        }

    def _view_answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if method == "views.open" and not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        number = next(self._id_counter)
        view_id = args.get("view_id") if method == "views.update" else None
        return {
            "ok": True,
            "view": {
                **view,
                "id": view_id or f"V{number:08X}",
                "hash": f"h{number:08x}",
                "state": {"values": {}},
            },
        }

    def _next_ts(self) -> str:
        n = next(self._ts_counter)
        return f"{1_700_000_000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _next_file_id(self) -> str:
        return f"F{next(self._id_counter):010X}"

    # Messages

    def _keep_message(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        with self._cond:
            self._messages[(channel, ts)] = {"type": "message", "channel": channel, **message, "ts": ts}

    def _update_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        key = (str(channel), str(ts))
        with self._cond:
            # Slack answers message_not_found for a ts it never saw; the fake cannot know messages that reached
            # Slack some other way (a user's, one posted through a response_url, one a test made up for a
            # button payload), so it starts keeping the message at its first edit instead.
            message = self._messages.get(key) or {"type": "message", "channel": key[0], "ts": key[1], "text": ""}
            # Like Slack: text is replaced when given; blocks and attachments are kept unless given (an empty
            # list clears them).
            if "text" in args:
                message["text"] = args["text"]
            for field in ("blocks", "attachments"):
                if field in args:
                    message[field] = args[field]
            message.setdefault("blocks", [])
            message.setdefault("user", self.bot_user_id)
            message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            self._messages[key] = message
            shown = {k: v for k, v in message.items() if k != "channel"}
        return {"ok": True, "channel": channel, "ts": ts, "text": shown.get("text", ""), "message": shown}

    def _listed(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        """`latest` / `oldest` / `inclusive`, as Slack filters a conversation's messages."""
        inclusive = str(args.get("inclusive", "")).lower() in ("true", "1")
        latest, oldest = args.get("latest"), args.get("oldest")
        kept = []
        for message in messages:
            ts = float(message["ts"])
            if latest is not None and (ts > float(latest) or (ts == float(latest) and not inclusive)):
                continue
            if oldest is not None and (ts < float(oldest) or (ts == float(oldest) and not inclusive)):
                continue
            kept.append({key: value for key, value in message.items() if key != "channel"})
        return kept

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        with self._cond:
            # A channel's history holds its top-level messages (a thread's replies only in the thread), newest first.
            found = [
                message
                for (where, ts), message in self._messages.items()
                if where == channel and message.get("thread_ts") in (None, ts)
            ]
        found.sort(key=lambda message: float(message["ts"]), reverse=True)
        limit = int(args.get("limit") or 100)
        return {"ok": True, "messages": self._listed(found, args)[:limit], "has_more": False}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        with self._cond:
            asked = self._messages.get((channel, ts))
            if asked is None:
                return {"ok": False, "error": "thread_not_found"}
            root = str(asked.get("thread_ts") or ts)
            found = [
                message
                for (where, at), message in self._messages.items()
                if where == channel and (at == root or message.get("thread_ts") == root)
            ]
        found.sort(key=lambda message: float(message["ts"]))  # the parent first, then the replies
        limit = int(args.get("limit") or 1000)
        return {"ok": True, "messages": self._listed(found, args)[:limit], "has_more": False}

    def _complete_function(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        execution = args.get("function_execution_id")
        if not execution:
            return {"ok": False, "error": "invalid_arguments"}
        if method == "functions.completeSuccess":
            outputs = args.get("outputs")
            if not isinstance(outputs, dict):
                return {"ok": False, "error": "invalid_arguments"}
            result: tuple[str, Any] = ("success", outputs)
        else:
            error = args.get("error")
            if not isinstance(error, str) or not error:
                return {"ok": False, "error": "invalid_arguments"}
            result = ("error", error)
        with self._cond:
            if execution in self._executions:  # like Slack: a run completes once
                return {"ok": False, "error": "execution_not_in_running_state"}
            self._executions[str(execution)] = result
        return {"ok": True}

    # Files

    def _file_object(self, stored: _File) -> dict[str, Any]:
        base = f"{self.url}/files-pri/{self.team_id}-{stored.id}"
        name = quote(stored.name)
        return {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.name,
            "title": stored.title,
            "mimetype": stored.mimetype,
            "filetype": stored.filetype,
            "pretty_type": _PRETTY_TYPES.get(stored.filetype, stored.filetype.upper()),
            "user": stored.user,
            "user_team": self.team_id,
            "editable": False,
            "size": len(stored.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": "public" in stored.shares,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}/{name}",
            "url_private_download": f"{base}/download/{name}",
            "permalink": f"https://test.slack.com/files/{stored.user}/{stored.id}/{name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{stored.id}-{stored.id.lower()}",
            "is_starred": False,
            "shares": json.loads(json.dumps(stored.shares)),
            "channels": list(stored.shares.get("public", {})),
            "groups": [c for c in stored.shares.get("private", {}) if not c.startswith("D")],
            "ims": [c for c in stored.shares.get("private", {}) if c.startswith("D")],
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def _file_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = args.get("file")
        if not file_id:
            return {"ok": False, "error": "invalid_arguments"}
        with self._cond:
            stored = self._files.get(str(file_id))
        if stored is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self._file_object(stored), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _start_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        if not filename or not isinstance(filename, str):
            return {"ok": False, "error": "invalid_arguments"}
        try:
            length = int(str(args.get("length", "")).strip())
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if length <= 0:
            # Slack's own words: "Typically only occurs when the length provided is 0."
            return {"ok": False, "error": "missing_argument"}
        ticket = uuid.uuid4().hex
        pending = _PendingUpload(file_id=self._next_file_id(), filename=filename, length=length)
        with self._cond:
            self._pending_uploads[ticket] = pending
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{ticket}", "file_id": pending.file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
            return {"ok": False, "error": "invalid_arguments"}
        named = [str(args["channel_id"])] if args.get("channel_id") else []
        named += str(args.get("channels") or "").split(",")
        channels = list(dict.fromkeys(c.strip() for c in named if c.strip()))
        for channel in channels:
            if channel in self.not_in_channel:
                return {"ok": False, "error": "not_in_channel"}
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts is not None and len(channels) > 1:
            return {"ok": False, "error": "invalid_arguments"}
        comment = str(args["initial_comment"]) if args.get("initial_comment") else None
        with self._cond:
            by_file = {p.file_id: (ticket, p) for ticket, p in self._pending_uploads.items()}
            chosen: list[tuple[str, _PendingUpload, str]] = []
            for entry in files:
                found = by_file.get(str(entry["id"]))
                # Unknown, already completed, or never sent to its upload URL: Slack cannot find the file.
                if found is None or found[1].content is None:
                    return {"ok": False, "error": "file_not_found"}
                title = entry.get("title")
                chosen.append((found[0], found[1], str(title) if title else found[1].filename))
            # One message per channel shares every file, with the comment as its text.
            share_ts = {channel: self._next_ts() for channel in channels}
            completed = []
            for ticket, pending, title in chosen:
                del self._pending_uploads[ticket]
                assert pending.content is not None
                filetype, mimetype = _FILETYPES.get(
                    pending.filename.rsplit(".", 1)[-1].lower() if "." in pending.filename else "",
                    ("binary", "application/octet-stream"),
                )
                shares: dict[str, dict[str, list[dict[str, Any]]]] = {}
                for channel, ts in share_ts.items():
                    share: dict[str, Any] = {"ts": ts, "team_id": self.team_id, "reply_count": 0}
                    if thread_ts is not None:
                        share["thread_ts"] = thread_ts
                    shares.setdefault(_share_kind(channel), {})[channel] = [share]
                stored = _File(
                    id=pending.file_id,
                    name=pending.filename,
                    title=title,
                    filetype=filetype,
                    mimetype=mimetype,
                    user=self.bot_user_id,
                    content=pending.content,
                    created=int(time.time()),
                    shares=shares,
                )
                self._files[stored.id] = stored
                completed.append(stored)
                self._uploads.append(
                    Upload(
                        file_id=stored.id,
                        filename=stored.name,
                        title=title,
                        content=stored.content,
                        channel=channels[0] if channels else None,
                        channels=tuple(channels),
                        thread_ts=thread_ts,
                        initial_comment=comment,
                        ts=share_ts[channels[0]] if channels else None,
                        at=time.monotonic(),
                    )
                )
            objects = [self._file_object(stored) for stored in completed]
            for channel, ts in share_ts.items():
                message: dict[str, Any] = {"text": comment or "", "blocks": [], "user": self.bot_user_id}
                message["files"] = [{"id": o["id"], "name": o["name"], "title": o["title"]} for o in objects]
                if thread_ts is not None:
                    message["thread_ts"] = thread_ts
                self._keep_message(channel, ts, message)
            self._changed()
        return {"ok": True, "files": objects}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        key, tail = request.match_info["key"], request.match_info["tail"]
        file_id = key.removeprefix(f"{self.team_id}-")
        token = _bearer(request.headers.get("Authorization"))
        download = tail.startswith("download/")
        self._record("file.download", {"file": file_id, "download": download}, token, request.path)
        await self._hold("file.download")
        if token not in self.tokens:
            # See _LOGIN_PAGE: Slack redirects to its sign-in page rather than refusing with 401/403.
            target = f"{self.url}/?redir={quote(request.path, safe='')}"
            return web.Response(
                status=302,
                text=f'<a href="{target}">Found</a>.',
                content_type="text/html",
                headers={"Location": target},
            )
        error = self._take_failure("file.download")
        with self._cond:
            stored = self._files.get(file_id)
        if error is not None or stored is None or not key.startswith(f"{self.team_id}-"):
            status = 404 if error in (None, "file_not_found") else 500
            return web.Response(
                status=status, text=f"<html><body>{error or 'File not found'}</body></html>", content_type="text/html"
            )
        headers = {}
        if download:
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stored.name)}"
        return web.Response(body=stored.content, headers={"Content-Type": stored.mimetype, **headers})

    async def _authorize_page(self, request: web.Request) -> web.Response:
        """Slack's "Add to Slack" page, as a browser meets it: the person `next_install` named allows at once, and
        the browser is sent back (302) to the link's redirect_uri, else the app's Redirect URL."""
        self._record("oauth.authorize", dict(request.query), None, request.path)
        redirect = request.query.get("redirect_uri") or self.redirect_url
        if self.installing is None or redirect is None or request.query.get("client_id") != self.client_id:
            return web.Response(status=400, text="invalid_client_id, no redirect URL, or nobody signed in")
        team, user = self.installing
        back = self.approve(f"{self.url}{request.path_qs}", team=team, user=user, redirect_url=redirect)
        return web.Response(status=302, headers={"Location": back})

    async def _sign_in_page(self, request: web.Request) -> web.Response:
        return web.Response(text=_LOGIN_PAGE, content_type="text/html")

    async def _upload(self, request: web.Request) -> web.Response:
        # The upload URL is pre-signed, like Slack's https://files.slack.com/upload/v1/...: it needs no token.
        # slack-sdk POSTs the raw bytes; Slack also takes a multipart form with the file in it.
        ticket = request.match_info["ticket"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            parts = [value.file.read() for value in form.values() if not isinstance(value, str)]
            content = parts[0] if parts else b""
        else:
            content = await request.read()
        with self._cond:
            pending = self._pending_uploads.get(ticket)
        args = {"file": pending.file_id if pending else None, "length": len(content)}
        self._record("file.upload", args, _bearer(request.headers.get("Authorization")), request.path)
        await self._hold("file.upload")
        if pending is None:
            return web.Response(status=404, text="not found", content_type="text/plain")
        error = self._take_failure("file.upload")
        if error is not None:
            return web.Response(status=500, text=error, content_type="text/plain")
        if len(content) != pending.length:
            # files.getUploadURLExternal's length is "the size in bytes of the file being uploaded"; the fake
            # refuses any other size outright, so a wrong length (characters counted, not bytes) shows at once.
            return web.Response(
                status=400,
                text=f"length mismatch: expected {pending.length} bytes, got {len(content)}",
                content_type="text/plain",
            )
        with self._cond:
            pending.content = content
        # slack-sdk reads a text/plain answer as the upload's result and checks only for status 200.
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    # response_url

    async def _response_url(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        raw = await request.text()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            body = {"body": raw}
        args = {**body, "key": key} if isinstance(body, dict) else {"body": body, "key": key}
        self._record("response_url", args, _bearer(request.headers.get("Authorization")), request.path)
        await self._hold("response_url")
        error = self._take_failure("response_url")
        if error is not None:
            return web.Response(status=404, text=error)
        problems = limits.message_problems(args.get("blocks"), args.get("text")) if isinstance(body, dict) else []
        if problems:
            return web.Response(status=400, text="invalid_blocks: " + "; ".join(problems))
        return web.Response(text="ok")

    # Socket Mode

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        # autoping (the default) answers the client's pings, which is how slack-sdk judges the session alive.
        ws = web.WebSocketResponse(timeout=_SOCKET_CLOSE_TIMEOUT)
        await ws.prepare(request)
        # Hello goes out before the socket counts as connected, so nothing a test sends can overtake it.
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake"},
                "connection_info": {"app_id": "A0TEST"},
            }
        )
        with self._cond:
            self._sockets.append(ws)
            self._changed()
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                try:
                    args = json.loads(message.data)
                except json.JSONDecodeError:
                    args = {"raw": message.data}
                if not isinstance(args, dict):
                    args = {"raw": args}
                self._record("socket_ack", args, None, request.path)
        finally:
            with self._cond:
                if ws in self._sockets:
                    self._sockets.remove(ws)
                    self._changed()
        return ws

    async def _send_envelope(self, envelope: dict[str, Any]) -> None:
        with self._cond:
            ws = self._sockets[-1] if self._sockets else None
        if ws is None:
            raise RuntimeError("no Socket Mode client is connected to the fake Slack")
        await ws.send_json(envelope)

    async def _disconnect_sockets(self) -> None:
        with self._cond:
            sockets = list(self._sockets)
            self._sockets.clear()
            self._changed()
        for ws in sockets:
            task = asyncio.create_task(self._close_socket(ws))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    @staticmethod
    async def _close_socket(ws: web.WebSocketResponse) -> None:
        with contextlib.suppress(Exception):
            await ws.close()


def authorize_link(install_page: str) -> str:
    """The "Add to Slack" link of a bot's install page (Bolt's), as a browser would follow it."""
    link = re.search(r'href="([^"]+/oauth/v2/authorize[^"]*)"', install_page)
    if link is None:
        raise AssertionError(f"no link to Slack's authorize page in: {install_page[:500]}")
    return html.unescape(link.group(1))


def _envelope(kind: str, payload: Mapping[str, Any], envelope_id: str | None) -> dict[str, Any]:
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "type": kind,
        "accepts_response_payload": True,
        "payload": dict(payload),
    }


def _share_kind(channel: str) -> str:
    return "public" if channel.startswith("C") else "private"


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _json(body: dict[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", charset="utf-8", headers=headers
    )
