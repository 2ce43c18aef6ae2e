"""Group commit: concurrent submissions share a write, each gets its own result or the batch's error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from triagebot.web.group_commit import GroupCommit


def test_concurrent_items_share_writes_and_each_gets_its_own_result() -> None:
    batches: list[list[int]] = []
    first_write_started = threading.Event()
    release_first_write = threading.Event()

    def write(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        first_write_started.set()
        release_first_write.wait(5)  # hold the first commit open while the others arrive
        return [item * 10 for item in items]

    async def run() -> list[int]:
        group: GroupCommit[int, int] = GroupCommit(write)
        first = asyncio.create_task(group.submit(0))
        await asyncio.to_thread(first_write_started.wait, 5)
        rest = [asyncio.create_task(group.submit(n)) for n in range(1, 20)]
        await asyncio.sleep(0)
        assert group.waiting == 20
        release_first_write.set()
        return await asyncio.gather(first, *rest)

    assert asyncio.run(run()) == [n * 10 for n in range(20)]
    assert batches == [[0], list(range(1, 20))]  # the 19 that queued behind one write shared the next


def test_a_failed_write_fails_every_item_of_its_batch_and_the_next_batch_still_runs() -> None:
    calls = 0

    def write(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return list(items)

    async def run() -> None:
        group: GroupCommit[str, str] = GroupCommit(write)
        with pytest.raises(OSError, match="disk full"):
            await group.submit("lost")
        assert await group.submit("kept") == "kept"

    asyncio.run(run())


def test_a_request_cancelled_while_waiting_does_not_stop_the_others() -> None:
    release = threading.Event()
    written: list[str] = []

    def write(items: Sequence[str]) -> list[str]:
        release.wait(5)
        written.extend(items)
        return list(items)

    async def run() -> str:
        group: GroupCommit[str, str] = GroupCommit(write)
        gone = asyncio.create_task(group.submit("client hung up"))
        stays = asyncio.create_task(group.submit("still here"))
        await asyncio.sleep(0.01)
        gone.cancel()
        release.set()
        return await stays

    assert asyncio.run(run()) == "still here"
    assert written == ["client hung up", "still here"]  # stored all the same: nothing is lost
