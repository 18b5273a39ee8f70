"""The raw API call: any Import API endpoint, for what the other operations do not cover."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

from pydantic import model_validator

from bot.context import Context
from bot.fields import Headers, JsonBody, Path, choice
from bot.operation import Fact, Input, Resource, operation, param
from bot.segmetrics.paths import resolve_raw_path
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
        hint="One per line as `Name: value`; Authorization and Host cannot be set. In chat: header.X-Name=value",
        examples=["X-Request-Source: slack"],
        prefix="header",
    )

    @model_validator(mode="after")
    def _no_body_on_reads(self) -> ApiCallInput:
        if self.body is not None and self.method in ("GET", "DELETE"):
            raise self.problem("body", f"cannot go with {self.method}; use POST, PUT or PATCH", example="POST")
        return self


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
