"""The raw API call: any Import API endpoint, for what the other operations do not cover."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from bot.context import Context
from bot.fields import ERROR_TYPE, Headers, JsonBody, Path, choice
from bot.operation import Fact, Input, Resource, operation, param
from bot.problems import InvalidValue
from bot.segmetrics.paths import HEADER_EXAMPLE, check_header_value, resolve_raw_path
from bot.segmetrics.request import ApiRequest, ApiResponse

RESOURCE = Resource("api", "Raw API call", command="/sm-api", default_verb="call")

METHOD = choice(("GET", "GET"), ("POST", "POST"), ("PUT", "PUT"), ("PATCH", "PATCH"), ("DELETE", "DELETE"))
RESPONSE_LIMIT = 2_500


class ApiCallInput(Input):
    method: Annotated[str, METHOD] = param(title="Method", examples=["POST"])
    path: Path = param(
        title="Path",
        hint="Relative to the integration (`contact`), or to the API root when it starts with /v1/. "
        "{account_id} and {integration_id} are filled in.",
        examples=["contact", "/v1/{account_id}/{integration_id}/tags/add"],
    )
    body: JsonBody | None = param(None, title="JSON body", examples=['{"email": "jane@example.com"}'])
    headers: Headers | None = param(
        None,
        title="Extra headers",
        hint="One per line as `Name: value`; only `X-…` headers (Authorization, Content-Type and the rest are the "
        "bot's). In chat: header.X-Name=value",
        examples=["X-Request-Source: slack"],
        prefix="header",
    )

    @field_validator("headers", mode="before")
    @classmethod
    def _values_on_one_line(cls, raw: object) -> object:
        """A value with a line break in it (quoted in chat) would be read as a second `Name: value` line and
        refused as one: say that the value goes on to another line."""
        for entry in [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []:
            lines = [line.strip() for line in str(entry).splitlines() if line.strip()]
            for previous, line in itertools.pairwise(lines):
                if ":" in previous and ":" not in line:
                    name = previous.partition(":")[0].strip()
                    raise _refused(
                        f"the value of `{name}` goes on to another line (`{line}`); a header value is one line, "
                        "without line breaks",
                        (HEADER_EXAMPLE,),
                    )
        return raw

    @field_validator("headers")
    @classmethod
    def _sendable_values(cls, headers: dict[str, str | None] | None) -> dict[str, str | None] | None:
        """Names are checked as they are read (`check_header`); values here, once each is paired with its name."""
        for name, value in (headers or {}).items():
            try:
                check_header_value(name, value or "")
            except InvalidValue as problem:
                raise _refused(problem.message, problem.examples) from None
        return headers

    @model_validator(mode="after")
    def _no_body_on_reads(self) -> ApiCallInput:
        if self.body is not None and self.method in ("GET", "DELETE"):
            raise self.problem("body", f"cannot go with {self.method}; use POST, PUT or PATCH", example="POST")
        return self


def _refused(message: str, examples: tuple[str, ...]) -> PydanticCustomError:
    """A problem of a field, as the operation reports those of its kinds (see `Kind._validate`)."""
    return PydanticCustomError(ERROR_TYPE, "{message}", {"message": message, "examples": examples})


def _response(call: ApiCallInput, response: ApiResponse, ctx: Context) -> Sequence[Fact]:
    text = response.body if isinstance(response.body, str) else json.dumps(response.body, ensure_ascii=False, indent=1)
    if len(text) > RESPONSE_LIMIT:
        text = text[: RESPONSE_LIMIT - 1] + "…"
    return [
        Fact("Request", f"{call.method} {call.path}"),
        Fact("Status", str(response.status_code)),
        Fact("Response", text or "(empty)"),
    ]


@operation(
    "api",
    "call",
    title="Make an API call",
    positional=["method", "path", "body"],
    done="called {method} {path}",
    summarize=_response,
    examples=[
        'api POST contact {"email": "jane@example.com", "first_name": "Jane"}',
        "api DELETE /v1/{account_id}/{integration_id}/invoice/INV-1001",
    ],
)
def call_api(call: ApiCallInput, ctx: Context) -> ApiRequest:
    """Call any Import API endpoint with the bot's credentials. Only the configured Import API is reachable."""
    api, path = resolve_raw_path(call.path, account_id=ctx.account_id, integration_id=ctx.integration_id)
    return ApiRequest(call.method, path, call.body, api=api, headers=dict(call.headers or {}))
