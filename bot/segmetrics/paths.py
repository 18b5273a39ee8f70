"""Where a raw API call may go: only under the configured Import API, never elsewhere."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from bot.problems import InvalidValue
from bot.segmetrics.request import Api

PATH_EXAMPLE = ("contact", "/v1/{account_id}/{integration_id}/contact")
HEADER_EXAMPLE = "X-Request-Source: slack"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def resolve_raw_path(path: str, *, account_id: str, integration_id: str) -> tuple[Api, str]:
    """Turn what a user typed into (`root` or `import`, encoded relative path), or refuse it.

    `/v1/...` is relative to the Import API root; anything else to the integration
    (`contact` → `/v1/{account}/{integration}/contact`). `{account_id}` and `{integration_id}` are filled in.
    """
    raw = path.strip()
    if not raw:
        raise InvalidValue("is empty", example=PATH_EXAMPLE)
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or raw.startswith("//") or "\\" in raw:
        raise InvalidValue(
            f"`{raw}` is a full URL; only paths under the SegMetrics Import API can be called",
            example=PATH_EXAMPLE,
        )

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "account_id":
            return quote(account_id, safe="")
        if name == "integration_id":
            return quote(integration_id, safe="")
        raise InvalidValue(
            f"`{{{name}}}` is not a placeholder; use {{account_id}} or {{integration_id}}",
            example=PATH_EXAMPLE,
        )

    filled = _PLACEHOLDER.sub(fill, parts.path)
    segments = [segment for segment in filled.split("/") if segment]
    if any(unquote(segment) in (".", "..") or "/" in unquote(segment) for segment in segments):
        raise InvalidValue(f"`{raw}` climbs out of the API with `..`", example=PATH_EXAMPLE)
    if not segments:
        raise InvalidValue(f"`{raw}` names no endpoint", example=PATH_EXAMPLE)
    api: Api = "import"
    if segments[0] == "v1" and filled.startswith("/"):
        api, segments = "root", segments[1:]
        if not segments:
            raise InvalidValue(f"`{raw}` names no endpoint", example=PATH_EXAMPLE)
    encoded = "/".join(quote(segment, safe="%@:+!$&'()*,;=-._~") for segment in segments)
    if parts.query:
        encoded += "?" + quote(parts.query, safe="%=&+:@,;/?!$'()*-._~")
    return api, encoded


def check_header(name: str) -> str:
    """Return the header name if a user may add it: only `X-…` headers. Authorization, Host,
    Content-Type and the like are the bot's own and cannot be replaced."""
    clean = name.strip()
    if not _HEADER_NAME.fullmatch(clean):
        raise InvalidValue(f"`{clean}` is not a valid header name", example=HEADER_EXAMPLE)
    if not clean.lower().startswith("x-"):
        raise InvalidValue(
            f"the `{clean}` header is set by the bot; only `X-…` headers can be added", example=HEADER_EXAMPLE
        )
    return clean
