"""GroupCommit: requests queued while a batch commits share the next one; a bad item fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from triagebot.group_commit import AsyncGroupCommit, GroupCommit


def test_requests_arriving_during_a_commit_share_the_next_batch() -> None:
    batches: list[list[int]] = []
    first_started, release = threading.Event(), threading.Event()

    def apply_batch(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            first_started.set()
            release.wait(10)  # hold the first commit until the others are queued
        return [item * 10 for item in items]

    writer: GroupCommit[int, int] = GroupCommit(apply_batch, lambda item: item * 10, idle_seconds=0.2)

    async def scenario() -> list[int]:
        first = asyncio.ensure_future(writer.submit(0))
        await asyncio.to_thread(first_started.wait, 10)
        rest = [asyncio.ensure_future(writer.submit(n)) for n in range(1, 9)]
        await asyncio.sleep(0)
        release.set()
        return await asyncio.gather(first, *rest)

    results = asyncio.run(scenario())

    assert results == [n * 10 for n in range(9)]
    assert batches == [[0], list(range(1, 9))]
    assert writer.batches == 2


def test_a_failing_batch_is_retried_one_by_one_so_only_the_bad_item_fails() -> None:
    def apply_batch(items: Sequence[str]) -> list[str]:
        if "poison" in items:
            raise ValueError("the batch hit a bad item")
        return [item.upper() for item in items]

    def apply_one(item: str) -> str:
        if item == "poison":
            raise ValueError(f"{item} cannot be stored")
        return item.upper()

    writer: GroupCommit[str, str] = GroupCommit(apply_batch, apply_one, idle_seconds=0.2)
    release = threading.Event()
    original = writer._apply_batch

    def held(items: Sequence[str]) -> Sequence[str]:
        release.wait(10)
        return original(items)

    writer._apply_batch = held

    async def scenario() -> list[str | BaseException]:
        tasks = [asyncio.ensure_future(writer.submit(item)) for item in ("a", "poison", "b")]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    a, poison, b = asyncio.run(scenario())

    assert (a, b) == ("A", "B")
    assert isinstance(poison, ValueError) and "poison cannot be stored" in str(poison)


def test_the_writer_thread_stops_when_idle_and_starts_again() -> None:
    writer: GroupCommit[int, int] = GroupCommit(
        lambda items: list(items), lambda item: item, idle_seconds=0.05
    )

    def writers() -> list[threading.Thread]:
        return [thread for thread in threading.enumerate() if thread.name == "idle-test"]

    writer._name = "idle-test"
    assert asyncio.run(writer.submit(1)) == 1
    for thread in writers():
        thread.join(5)
    assert writers() == []
    assert asyncio.run(writer.submit(2)) == 2


@pytest.mark.parametrize("size", [1, 300])
def test_batches_never_exceed_the_limit(size: int) -> None:
    seen: list[int] = []

    def apply_batch(items: Sequence[int]) -> list[int]:
        seen.append(len(items))
        return list(items)

    writer: GroupCommit[int, int] = GroupCommit(
        apply_batch, lambda item: item, max_batch=64, idle_seconds=0.2
    )

    async def scenario() -> list[int]:
        return await asyncio.gather(*(writer.submit(n) for n in range(size)))

    assert asyncio.run(scenario()) == list(range(size))
    assert sum(seen) == size and max(seen) <= 64


def test_on_the_loop_requests_arriving_during_a_commit_share_the_next_batch() -> None:
    batches: list[list[int]] = []

    async def scenario() -> list[int]:
        release = asyncio.Event()

        async def apply_batch(items: Sequence[int]) -> list[int]:
            batches.append(list(items))
            if len(batches) == 1:
                await release.wait()  # hold the first commit until the others are queued
            return [item * 10 for item in items]

        writer: AsyncGroupCommit[int, int] = AsyncGroupCommit(apply_batch, idle_seconds=0.2)
        first = asyncio.ensure_future(writer.submit(0))
        while not batches:
            await asyncio.sleep(0)
        rest = [asyncio.ensure_future(writer.submit(n)) for n in range(1, 9)]
        await asyncio.sleep(0)
        assert not first.done()  # nobody hears back before the commit
        release.set()
        results = await asyncio.gather(first, *rest)
        assert writer.batches == 2
        return results

    assert asyncio.run(scenario()) == [n * 10 for n in range(9)]
    assert batches == [[0], list(range(1, 9))]


def test_on_the_loop_a_failing_batch_is_retried_one_by_one() -> None:
    async def apply_batch(items: Sequence[str]) -> list[str]:
        if "poison" in items:
            raise ValueError(f"{'poison' if len(items) == 1 else 'the batch'} cannot be stored")
        return [item.upper() for item in items]

    async def scenario() -> list[str | BaseException]:
        writer: AsyncGroupCommit[str, str] = AsyncGroupCommit(apply_batch, idle_seconds=0.2)
        return await asyncio.gather(
            *(writer.submit(item) for item in ("a", "poison", "b")), return_exceptions=True
        )

    a, poison, b = asyncio.run(scenario())

    assert (a, b) == ("A", "B")
    assert isinstance(poison, ValueError) and "poison cannot be stored" in str(poison)


def test_on_the_loop_the_task_stops_when_idle_and_a_new_loop_gets_its_own() -> None:
    async def apply_batch(items: Sequence[int]) -> list[int]:
        return list(items)

    writer: AsyncGroupCommit[int, int] = AsyncGroupCommit(apply_batch, idle_seconds=0.05)

    async def idle_out() -> bool:
        assert await writer.submit(1) == 1
        assert writer._task is not None
        await asyncio.wait_for(writer._task, 5)
        return writer._task.done()

    assert asyncio.run(idle_out())
    assert asyncio.run(writer.submit(2)) == 2  # another loop (as a test client makes) is served too
