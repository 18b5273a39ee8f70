"""The floor for `bench/ack.py`: a Bolt AsyncApp that only acknowledges, served the same way as the bot
(aiohttp, `process_before_response`), so the ratio measures what the bot adds."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


async def main(port: int, api_url: str, token: str, secret: str) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url), signing_secret=secret, process_before_response=True
    )

    @app.command("/segmetrics")
    async def acknowledge(ack):  # type: ignore[no-untyped-def]
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    application = web.Application()
    application.router.add_post("/slack/events", events)
    application.router.add_get("/healthz", healthz)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
