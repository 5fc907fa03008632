"""Is hostkit's load generator the bottleneck? (a script, not a test).

Against one ``local`` deployment of the example model, at the same concurrency and
request count, it measures the requests per second that

* ``hostkit.bench`` drives (closed loop, ``hostkit.ainvoke`` underneath), and
* a bare ``httpx.AsyncClient`` drives (N workers POSTing ``/invoke`` back to back),

interleaved over several rounds, and prints the medians and their ratio. A ratio
near 1.0 means the generator keeps up with what the server can take.

Run: ``python benchmarks/loadgen.py [--concurrency 16] [--requests 2000] [--rounds 3]
[--replicas 2]``. Loopback only; everything started is torn down at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

REQUEST = {"hours": [2, 5, 8]}


async def bare_httpx(endpoint: str, concurrency: int, requests: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=endpoint, limits=limits, timeout=60) as client:
        await client.post("/invoke", json={"input": REQUEST})  # warm-up, as bench does
        issued = 0

        async def worker() -> None:
            nonlocal issued
            while issued < requests:
                issued += 1
                response = await client.post("/invoke", json={"input": REQUEST})
                response.raise_for_status()

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - begin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HOSTKIT_STATE_DIR", tempfile.mkdtemp(prefix="hostkit-loadgen-"))

    import hostkit
    from hostkit.bench import bench

    dep = hostkit.deploy(
        provider="local",
        model="hostkit_examples.study_score:predict",
        name="loadgen",
        replicas=args.replicas,
    )
    assert dep.endpoint is not None
    ours: list[float] = []
    bare: list[float] = []
    try:
        for _ in range(args.rounds):
            result = bench(
                dep, REQUEST, concurrency=[args.concurrency], requests_per_step=args.requests
            )
            step = result.steps[0]
            assert step.error_rate == 0, step.errors
            ours.append(step.requests / step.duration_s)
            bare.append(asyncio.run(bare_httpx(dep.endpoint, args.concurrency, args.requests)))
    finally:
        hostkit.teardown(dep)
    ours_median, bare_median = statistics.median(ours), statistics.median(bare)
    print(
        f"local deployment, {args.replicas} worker(s), concurrency {args.concurrency},"
        f" {args.requests} requests x {args.rounds} rounds (medians)"
    )
    print(f"  hostkit bench   {ours_median:8.0f} req/s   rounds: {[round(x) for x in ours]}")
    print(f"  bare httpx      {bare_median:8.0f} req/s   rounds: {[round(x) for x in bare]}")
    print(f"  ratio           {ours_median / bare_median:8.2f}  (hostkit / bare httpx)")


if __name__ == "__main__":
    main()
