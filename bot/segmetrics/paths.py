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
    Content-Type and the like are the bot's own and cannot be replaced; any other header is refused too,
    as the bot adds only custom ones."""
    clean = name.strip()
    if not _HEADER_NAME.fullmatch(clean):
        raise InvalidValue(_bad_name(clean), example=HEADER_EXAMPLE)
    reason = _BOTS_OWN.get(clean.lower())
    if reason is not None:
        raise InvalidValue(
            f"the `{clean}` header is set by the bot ({reason}); only `X-…` headers can be added",
            example=HEADER_EXAMPLE,
        )
    if not clean.lower().startswith("x-"):
        raise InvalidValue(f"`{clean}` is not an `X-…` header; only `X-…` headers can be added", example=HEADER_EXAMPLE)
    if len(clean) == 2:
        raise InvalidValue(f"`{clean}` is only the prefix: name the header after it", example=HEADER_EXAMPLE)
    return clean


# The headers the bot (or its HTTP client) sets on every call, and what each is for.
_BOTS_OWN = {
    "authorization": "it carries the bot's SegMetrics API key",
    "host": "it names the SegMetrics Import API",
    "content-type": "it says the body is JSON",
    "content-length": "it is the size of the body",
    "transfer-encoding": "it says how the body is sent",
    "accept": "it asks SegMetrics for JSON",
    "accept-encoding": "it says which compressions the bot reads",
    "connection": "the bot manages its connections",
    "user-agent": "it names the bot",
}
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed in a header value
_CONTROL_NAMES = {"\x00": "a NUL character", "\r": "a carriage return (CR)", "\n": "a line break (LF)"}


def _bad_name(name: str) -> str:
    if not name:
        return "a header needs a name"
    if any(char.isspace() for char in name):
        return f"`{name}` has a space in it; a header name is one word"
    char = next(char for char in name if not _HEADER_NAME.fullmatch(char))
    shown = f"`{char}`" if char.isprintable() else f"U+{ord(char):04X}"
    return f"`{name}` is not a header name: {shown} cannot be in one (letters, digits and `-` can)"


def check_header_value(name: str, value: str) -> str:
    """Return the value if it can be sent in the header `name`: one line of ASCII text. A control character
    (NUL, CR, LF, …) could end the header early or add another; the HTTP client sends only ASCII."""
    control = _CONTROL.search(value)
    if control is not None:
        char = control.group()
        what = _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
        raise InvalidValue(
            f"the value of `{name}` holds {what}; a header value is one line of text without control characters",
            example=HEADER_EXAMPLE,
        )
    other = next((char for char in value if not char.isascii()), None)
    if other is not None:
        raise InvalidValue(
            f"the value of `{name}` holds `{other}`, which a header cannot carry: header values are ASCII "
            "(no accented letters, curly quotes or emoji)",
            example=HEADER_EXAMPLE,
        )
    return value
