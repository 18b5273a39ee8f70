"""What SegMetrics holds for each object the bot upserts, as far as the bot knows: the last full request it
sent for that object and SegMetrics accepted, per account and integration.

SegMetrics has no look-up of an order or a subscription by its id, and its upserts need whole records:
this is what lets `order update INV-7 refunded=yes` change only that. A request that changes an object some
other way (a raw API call, a delete) makes its record unknown again rather than wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import unquote

from bot.context import Context
from bot.operation import Operation
from bot.segmetrics.request import ApiRequest
from bot.store import AsyncStore, RecordPlace

log = logging.getLogger("segmetrics_slack.records")


class Records:
    def __init__(self, store: AsyncStore, kinds: Collection[str]) -> None:
        self.store = store
        self.kinds = frozenset(kinds)

    async def known(self, kind: str, object_id: str, ctx: Context) -> dict[str, Any] | None:
        """The last accepted full request for this object in the context's account and integration."""
        place = RecordPlace(ctx.account_id, ctx.integration_id, kind, object_id)
        return await self.store.call(self.store.store.record_of, place)

    async def after(self, op: Operation, request: ApiRequest, ctx: Context) -> None:
        """After SegMetrics accepted `request`: keep it as the object's record when it is a full upsert by
        the operation that declares the record; otherwise forget what it touched."""
        if request.method == "GET":
            return
        place = self._place(request, ctx)
        if place is None:
            return
        upsert = op.changes or op
        if request.method == "POST" and request.api == "import" and upsert.record == place.kind:
            await self.store.call(self.store.store.keep_record, place, request.json)
        else:
            await self.store.call(self.store.store.forget_record, place)
            log.info("%s changed %s %s: its record is forgotten", op.name, place.kind, place.object_id)

    def _place(self, request: ApiRequest, ctx: Context) -> RecordPlace | None:
        segments = [unquote(part) for part in request.path.strip("/").split("/")]
        at = next((index for index, part in enumerate(segments) if part in self.kinds), None)
        if at is None:
            return None
        body = request.json if isinstance(request.json, Mapping) else {}
        object_id = segments[at + 1] if at + 1 < len(segments) else body.get("id")
        if object_id in (None, ""):
            return None
        return RecordPlace(ctx.account_id, ctx.integration_id, segments[at], str(object_id))
