"""What the bot asks of SegMetrics, as plain data, and what it answered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

Api = Literal["import", "reporting", "root"]


def segment(value: str) -> str:
    """Percent-encode one path segment: `a+b@x.com` → `a%2Bb@x.com`, `a/b` → `a%2Fb`. `@` is kept: it is
    allowed in a path (RFC 3986), and aiohttp would send it decoded anyway."""
    return quote(value, safe="@")


@dataclass(frozen=True)
class ApiRequest:
    """One call to SegMetrics.

    `path` is already percent-encoded and relative to the API it names:
    - `import`: `{SEGMETRICS_IMPORT_URL}/{account}/{integration}/{path}` (every write);
    - `reporting`: `{SEGMETRICS_REPORTING_URL}/{account}/{path}` (reads);
    - `root`: `{SEGMETRICS_IMPORT_URL}/{path}` (the raw API call, account and integration in the path).
    """

    method: str
    path: str
    json: Any = None
    api: Api = "import"
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def post(cls, path: str, json: Any) -> ApiRequest:
        return cls("POST", path, json)

    @classmethod
    def delete(cls, resource: str, key: str) -> ApiRequest:
        return cls("DELETE", f"{resource}/{segment(key)}")


@dataclass(frozen=True)
class ApiResponse:
    """SegMetrics' answer: HTTP status, the parsed JSON body (or text), and how many tries it took."""

    status_code: int
    body: Any
    attempts: int = 1
