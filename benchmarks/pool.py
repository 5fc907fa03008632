"""Does the connection pool follow the caller's concurrency? (a script, not a test).

Against one ``local`` deployment of the example model, 256 concurrent workers send
requests back to back, and the requests per second are printed for

* ``hostkit.ainvoke`` with the pool every hostkit client had before issue #13 (httpx's
  default: 100 connections, 20 kept alive), reproduced by patching the client,
* ``hostkit.ainvoke`` with the provider's own pool (``max_connections``, default 100,
  all kept alive),
* ``hostkit.ainvoke`` inside ``connection_pool(256)`` (what ``bench``, ``compare`` and
  ``batch`` do with their concurrency),
* a bare ``httpx.AsyncClient`` with httpx's default pool and with a 256/256 pool,

interleaved over several rounds (medians). Issue #13 measured about 160 req/s at
256 concurrent with the default pool.

Run: ``python benchmarks/pool.py [--concurrency 256] [--requests 4000] [--rounds 3]
[--replicas 2]``. Loopback only; everything started is torn down at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

REQUEST = {"hours": [2, 5, 8]}


async def drive(send: Callable[[], Awaitable[Any]], concurrency: int, requests: int) -> float:
    """Requests per second of ``concurrency`` workers sending ``requests`` in all."""
    await send()  # warm-up
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < requests:
            issued += 1
            await send()

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - begin)


async def with_hostkit(
    dep: Any, concurrency: int, requests: int, *, sized: bool, old: bool = False
) -> float:
    import httpx

    import hostkit
    from hostkit.adapters import NO_DELAY, HttpClient, connection_pool

    async def send() -> None:
        await hostkit.ainvoke(dep, REQUEST)

    if old:  # the limits HttpClient used before: httpx's defaults
        patched = HttpClient._transport_options
        HttpClient._transport_options = lambda self, size: {  # type: ignore[method-assign]
            "socket_options": NO_DELAY,
            "limits": httpx.Limits(max_connections=100, max_keepalive_connections=20),
        }
        try:
            return await drive(send, concurrency, requests)
        finally:
            HttpClient._transport_options = patched  # type: ignore[method-assign]
    if not sized:
        return await drive(send, concurrency, requests)
    with connection_pool(concurrency):
        return await drive(send, concurrency, requests)


async def with_httpx(endpoint: str, concurrency: int, requests: int, *, sized: bool) -> float:
    import httpx

    limits = (
        httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        if sized
        else httpx.Limits(max_connections=100, max_keepalive_connections=20)
    )
    async with httpx.AsyncClient(base_url=endpoint, limits=limits, timeout=60) as client:

        async def send() -> None:
            (await client.post("/invoke", json={"input": REQUEST})).raise_for_status()

        return await drive(send, concurrency, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HOSTKIT_STATE_DIR", tempfile.mkdtemp(prefix="hostkit-pool-"))

    import hostkit

    dep = hostkit.deploy(
        provider="local",
        model="hostkit_examples.study_score:predict",
        name="pool",
        replicas=args.replicas,
    )
    assert dep.endpoint is not None
    runs: dict[str, list[float]] = {
        "hostkit, old pool (100/20)": [],
        "hostkit, provider pool (100/100)": [],
        f"hostkit, connection_pool({args.concurrency})": [],
        "bare httpx, default pool (100/20)": [],
        f"bare httpx, {args.concurrency}/{args.concurrency} pool": [],
    }
    labels = list(runs)
    c, n = args.concurrency, args.requests
    try:
        for _ in range(args.rounds):
            runs[labels[0]].append(asyncio.run(with_hostkit(dep, c, n, sized=False, old=True)))
            runs[labels[1]].append(asyncio.run(with_hostkit(dep, c, n, sized=False)))
            runs[labels[2]].append(asyncio.run(with_hostkit(dep, c, n, sized=True)))
            runs[labels[3]].append(asyncio.run(with_httpx(dep.endpoint, c, n, sized=False)))
            runs[labels[4]].append(asyncio.run(with_httpx(dep.endpoint, c, n, sized=True)))
    finally:
        hostkit.teardown(dep)
    print(
        f"local deployment, {args.replicas} worker(s), concurrency {c},"
        f" {n} requests x {args.rounds} rounds (medians)"
    )
    for label, values in runs.items():
        rounded = [round(v) for v in values]
        print(f"  {label:<36} {statistics.median(values):8.0f} req/s   rounds: {rounded}")


if __name__ == "__main__":
    main()
