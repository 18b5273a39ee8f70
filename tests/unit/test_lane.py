"""The lane: background turns in order, one at a time, paced while Slack requests are being answered."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.slack.lane import Lane


async def test_turns_come_in_order_one_per_loop_iteration() -> None:
    lane = Lane()
    order: list[int] = []

    async def worker(n: int) -> None:
        await lane.turn()
        order.append(n)

    tasks = [asyncio.create_task(worker(n)) for n in range(5)]
    await asyncio.sleep(0)  # every worker is waiting now
    seen = []
    for _ in range(20):
        await asyncio.sleep(0)
        seen.append(len(order))
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(seen))


async def test_while_answering_turns_are_paced_and_resume_at_once_after() -> None:
    lane = Lane(pace=0.05)
    done: list[float] = []

    async def worker() -> None:
        await lane.turn()
        done.append(time.monotonic())

    with lane.answer():
        started = time.monotonic()
        tasks = [asyncio.create_task(worker()) for _ in range(4)]
        while len(done) < 2:
            await asyncio.sleep(0.005)
        # Two turns in at least one pace: the second waited for it.
        assert done[1] - done[0] >= 0.04
        assert lane.waiting == 2
    # No request any more: the rest soon go, and once it has been quiet for a pace, turns come at once.
    released = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert done[-1] - released < 2 * 0.05 + 0.03 and started < done[0]
    await asyncio.sleep(0.06)
    quiet = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(5))), 1)
    assert done[-1] - quiet < 0.02


async def test_a_cancelled_waiter_gives_up_its_turn() -> None:
    lane = Lane()
    first = asyncio.create_task(lane.turn())
    second = asyncio.create_task(lane.turn())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.wait_for(second, 1)
    assert second.done() and not second.cancelled()
