"""A local stand-in for SegMetrics, for tests and for trying the bot without an account."""

from __future__ import annotations

from bot.sandbox.server import SandboxServer, sandbox_transport
from bot.sandbox.state import Fault, RecordedRequest, Sandbox, SandboxResponse

__all__ = ["Fault", "RecordedRequest", "Sandbox", "SandboxResponse", "SandboxServer", "sandbox_transport"]
