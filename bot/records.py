"""What SegMetrics holds for each object the bot upserts, as far as the bot knows: the last full request it
sent for that object and SegMetrics accepted, per account and integration.

SegMetrics has no look-up of an order or a subscription by its id, and its upserts need whole records:
this is what lets `order update INV-7 refunded=yes` change only that. A request that changes an object some
other way (a raw API call, a delete) makes its record unknown again rather than wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.context import Context
from bot.operation import Operation
from bot.problems import InputError
from bot.segmetrics.request import ApiRequest
from bot.store import AsyncStore, RecordPlace

log = logging.getLogger("segmetrics_slack.records")


class RecordChanged(InputError):
    """The record a change was read against is no longer the bot's record of that object: another change
    went first. Nothing is sent; run again, the change applies to the record as it is now."""


class Records:
    def __init__(self, store: AsyncStore, kinds: Collection[str]) -> None:
        self.store = store
        self.kinds = frozenset(kinds)
        # One lock per object being changed, with how many changes hold or wait for it.
        self._locks: dict[RecordPlace, tuple[asyncio.Lock, int]] = {}

    async def known(self, kind: str, object_id: str, ctx: Context) -> dict[str, Any] | None:
        """The last accepted full request for this object in the context's account and integration."""
        place = RecordPlace(ctx.account_id, ctx.integration_id, kind, object_id)
        return await self.store.call(self.store.store.record_of, place)

    @contextlib.asynccontextmanager
    async def changing(self, op: Operation, data: Any, ctx: Context) -> AsyncIterator[None]:
        """Around sending a change: one change of an object at a time, and only if the record it was read
        against is still the record (else `RecordChanged`): two changes typed at once never undo each other."""
        assert op.changes is not None and op.changes.record
        place = RecordPlace(ctx.account_id, ctx.integration_id, op.changes.record, str(data.patch.id))
        lock, users = self._locks.get(place, (asyncio.Lock(), 0))
        self._locks[place] = (lock, users + 1)
        try:
            async with lock:
                current = await self.store.call(self.store.store.record_of, place)
                if current != (dict(data.known) if data.known is not None else None):
                    what = f"{op.changes.resource} {data.patch.id}"
                    problem = (
                        f"changed since you asked: another change of {what} was sent first, and this one, made of "
                        f"the {op.changes.resource} as it was, would undo it. Nothing was sent; run it again to "
                        "change it as it is now"
                    )
                    raise RecordChanged([data.patch.field_error("id", problem, example=())])
                yield
        finally:
            lock, users = self._locks[place]
            if users == 1:
                del self._locks[place]
            else:
                self._locks[place] = (lock, users - 1)

    async def after(self, op: Operation, request: ApiRequest, ctx: Context) -> None:
        """After SegMetrics accepted `request`: keep it as the object's record when it is a full upsert by
        the operation that declares the record; otherwise forget what it touched."""
        if request.method == "GET":
            return
        place = self._place(request, ctx)
        if place is None:
            return
        upsert = op.changes or op
        if request.method == "POST" and request.api == "import" and upsert.record == place.kind and place.object_id:
            await self.store.call(self.store.store.keep_record, place, request.json)
        else:
            await self.forget(place, op)

    async def unsure(self, op: Operation, request: ApiRequest, ctx: Context) -> None:
        """`request` may or may not have been applied (its answer was lost, then the bot gave up): what
        SegMetrics holds is unknown, so the record goes."""
        if request.method == "GET":
            return
        place = self._place(request, ctx)
        if place is not None:
            await self.forget(place, op)

    async def forget(self, place: RecordPlace, op: Operation) -> None:
        await self.store.call(self.store.store.forget_record, place)
        log.info("%s touched %s %s: its record is forgotten", op.name, place.kind, place.object_id or "(any)")

    def _place(self, request: ApiRequest, ctx: Context) -> RecordPlace | None:
        """The object a request touches: `invoice/INV-7`, or `invoice` with the id in its body; an object of
        a kept kind it cannot tell (a list body) is `object_id=""`: every record of that kind."""
        path = urlsplit(request.path).path
        segments = [unquote(part) for part in path.strip("/").split("/")]
        at = next((index for index, part in enumerate(segments) if part in self.kinds), None)
        if at is None:
            return None
        body = request.json if isinstance(request.json, Mapping) else {}
        object_id = segments[at + 1] if at + 1 < len(segments) else body.get("id")
        return RecordPlace(ctx.account_id, ctx.integration_id, segments[at], str(object_id or ""))
