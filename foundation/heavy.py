"""Work that keeps a core busy for a while (decoding and scaling photos, rendering PDFs, building spreadsheets),
run off the event loop on a small pool of threads of its own (`heavy_work_threads`), apart from the default pool
that short blocking calls use (a blob's rename or read, often inside a request's transaction). Sharing one pool, a
burst of photo uploads filled it, and a transaction holding SQLite's write turn waited behind them for a rename of a
few microseconds, with every other writer of the process queued behind that transaction."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")


@lru_cache(maxsize=1)
def heavy_pool() -> ThreadPoolExecutor:
    from foundation.settings import get_settings

    return ThreadPoolExecutor(max_workers=get_settings().heavy_work_threads, thread_name_prefix="heavy-work")


async def run_on(pool: Executor, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`work(*args, **kwargs)` on a pool of threads of its own; its answer (or its exception) here."""
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(work, *args, **kwargs))


async def off_loop(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`work(*args, **kwargs)` on the heavy-work pool."""
    return await run_on(heavy_pool(), work, *args, **kwargs)
