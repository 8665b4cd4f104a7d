"""Helpers that let one scenario run in all three delivery modes.

A scenario is an ``async def`` taking the runtime. In sync and threads modes ``ask`` and ``send``
return plain values, in asyncio mode awaitables; ``aw()`` takes either, so the scenario reads the
same in every mode. Threads-mode calls block the event loop thread, which that mode never uses.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from perfkit_runtime import Runtime

T = TypeVar("T")


async def aw(value: Any) -> Any:
    """Await ``value`` if it is awaitable, else return it."""
    if inspect.isawaitable(value):
        return await value
    return value


async def idle(rt: Runtime, timeout: float = 5.0) -> None:
    """Wait until every mailbox of ``rt`` is empty."""
    if rt.mode == "asyncio":
        assert await rt.wait_idle_async(timeout)
    else:
        assert rt.wait_idle(timeout)


def run_in(mode: str, scenario: Callable[[Runtime], Awaitable[T]], **options: Any) -> T:
    """Run ``scenario`` against a fresh runtime of ``mode``, closing it afterwards."""

    async def main() -> T:
        rt = Runtime(mode, **options)
        if mode == "asyncio":
            async with rt:
                return await scenario(rt)
        with rt:
            return await scenario(rt)

    return asyncio.run(main())


# The in-process modes: these scenarios read agents' state through their refs. Processes mode has
# its own tests (test_processes.py), ray mode its own session (tests_ray/).
LOCAL_MODES = ("sync", "threads", "asyncio")


@pytest.fixture(params=LOCAL_MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(mode: str) -> Callable[..., Any]:
    """``run(scenario, **runtime_options)`` in the test's mode."""
    return lambda scenario, **options: run_in(mode, scenario, **options)


@pytest.fixture(name="aw")
def aw_fixture() -> Callable[[Any], Awaitable[Any]]:
    return aw


@pytest.fixture(name="idle")
def idle_fixture() -> Callable[..., Awaitable[None]]:
    return idle
