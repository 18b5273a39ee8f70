"""Ways to reach a `Sandbox`: an in-process httpx transport, and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.sandbox.state import Sandbox

log = logging.getLogger("segmetrics_slack.sandbox")


def sandbox_transport(sandbox: Sandbox) -> httpx.AsyncBaseTransport:
    """An httpx transport that answers from `sandbox` without a socket."""

    async def handler(request: httpx.Request) -> httpx.Response:
        raw = request.url.raw_path.decode("ascii")
        path, _, query = raw.partition("?")
        body = await request.aread()
        response = sandbox.handle(request.method, path, query, dict(request.headers), body)
        if response.delay > 0:
            # MockTransport bypasses httpx's network timeouts, so honour the read timeout here;
            # otherwise a delay fault could never make the client time out in-process.
            read_timeout = request.extensions.get("timeout", {}).get("read")
            if read_timeout is not None and response.delay > read_timeout:
                await asyncio.sleep(read_timeout)
                raise httpx.ReadTimeout("sandbox: no answer within the read timeout", request=request)
            await asyncio.sleep(response.delay)
        if response.disconnect:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(response.status, headers=response.headers, content=response.body)

    return httpx.MockTransport(handler)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        # The most connections a client held open at once: how benchmarks see the bot's bound on SegMetrics.
        self.peak_connections = 0
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS look-up (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)
            self.peak_connections = max(self.peak_connections, len(self._connections))

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def drop_connections(self) -> None:
        """Wake handler threads parked on idle keep-alive connections so they end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is routine here (timeouts are provoked on purpose).
        log.debug("sandbox connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; without this, Nagle and delayed ACKs add ~40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox %s - " + format, self.address_string(), *args)

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        target = self.path
        if not target.startswith("/"):
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.sandbox.handle(self.command, path, query, headers, body)
        if response.delay > 0 and self.server.stopping.wait(response.delay):
            self._drop()
            return
        if response.disconnect:
            self._drop()
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(400, "bad Content-Length")
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A `Sandbox` behind a real HTTP server, for clients that need a URL (or a separate process)."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"SandboxServer({state})"

    def start(self) -> SandboxServer:
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), self.sandbox)
        self.port = int(server.server_address[1])
        self._server = server
        # A short poll interval keeps stop() prompt; the default 0.5 s would add up across tests.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="segmetrics-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.stopping.set()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def peak_connections(self) -> int:
        """The most connections open at once since start: a bound on concurrent calls, seen from outside."""
        return self._server.peak_connections if self._server is not None else 0

    @property
    def import_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def reporting_url(self) -> str:
        return f"{self.url}/reporting"


def main(argv: list[str] | None = None) -> int:
    """Serve a sandbox until Ctrl-C, so the bot can be tried without a SegMetrics account."""
    parser = argparse.ArgumentParser(
        prog="segmetrics-bot sandbox", description="Run a local stand-in for the SegMetrics API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--api-key", default="sandbox-key", help="the key the sandbox accepts")
    parser.add_argument("--account", default="sandbox", help="the account id the sandbox accepts")
    parser.add_argument("--integration", default="sandbox", help="the integration id the sandbox accepts")
    args = parser.parse_args(argv)
    if args.latency < 0:
        parser.error("--latency cannot be negative")

    sandbox = Sandbox(
        api_key=args.api_key, account_id=args.account, integration_id=args.integration, latency=args.latency
    )
    try:
        server = SandboxServer(sandbox, host=args.host, port=args.port).start()
    except OSError as exc:
        print(f"Could not listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        print(f"SegMetrics sandbox listening on {server.url} (Ctrl-C to stop). Point the bot at it with:")
        print(f"SEGMETRICS_IMPORT_URL={server.import_url}")
        print(f"SEGMETRICS_REPORTING_URL={server.reporting_url}")
        print(f"SEGMETRICS_API_KEY={args.api_key}")
        print(f"SEGMETRICS_ACCOUNT_ID={args.account}")
        print(f"SEGMETRICS_INTEGRATION_ID={args.integration}", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopping the sandbox.", flush=True)
    finally:
        server.stop()
    return 0
