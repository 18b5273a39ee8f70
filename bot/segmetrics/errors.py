"""SegMetrics errors, one class per meaningful HTTP status. `str(error)` is a sentence a user can act on."""

from __future__ import annotations

from typing import Any, ClassVar


class SegMetricsError(Exception):
    """Base of every error the client raises."""

    # True when the same request may well succeed later (connection trouble, 429, 5xx).
    transient: ClassVar[bool] = False
    # Set by the client when one of its tries may have reached SegMetrics without the answer coming back
    # (a timeout, a dropped connection): "nothing there" afterwards may be that try's doing.
    maybe_applied: bool = False

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        # What went wrong, without the advice the final message adds ("try again in a few minutes").
        self.reason = message
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message


class ConnectionFailed(SegMetricsError):
    """SegMetrics could not be reached at all, or the connection broke."""

    transient = True


class TimedOut(ConnectionFailed):
    """SegMetrics did not answer in time."""


class StatusError(SegMetricsError):
    """SegMetrics answered with an error status (or a 200 whose body says `"status": "error"`)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: list[str],
        body: Any,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.status_code = status_code
        self.errors = errors
        self.body = body
        self.retry_after = retry_after


class BadRequest(StatusError):
    """400, or a 200 with `"status": "error"`: SegMetrics rejected the data. Never retried."""


class AuthenticationFailed(StatusError):
    """401/403: the API key or account id is wrong."""


class NotFound(StatusError):
    """404: no such object (on a delete: nothing to delete) or no such path."""


class RateLimited(StatusError):
    """429, still after the retries."""

    transient = True


class ServerError(StatusError):
    """5xx, still after the retries."""

    transient = True


class UnexpectedResponse(SegMetricsError):
    """A success status whose body is not SegMetrics' JSON: most likely a misconfigured URL."""


class UnsafeRequest(SegMetricsError):
    """A raw API call that would leave the Import API or override a protected header; nothing was sent."""
