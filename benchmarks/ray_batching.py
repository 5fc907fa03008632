"""Does Serve's dynamic batching help a vectorised model on the ``ray`` provider? (a script)

Deploys one model twice on a Ray cluster, once as is and once with
``options.max_batch_size`` (Serve's ``@serve.batch``), and sends the same concurrent
load to each: N requests from C threads through hostkit's ``invoke``. The model is
"vectorised": a call costs a fixed overhead (``--overhead-ms``, standing in for a GPU
kernel launch or a numpy call) plus a little per input, so one call on 16 inputs costs
about what one call on a single input does. Prints requests per second, median and p95
latency for each, the batch sizes the model saw, and the throughput gain.

Run: ``python benchmarks/ray_batching.py [--requests 400] [--concurrency 32]
[--batch 16] [--overhead-ms 20]`` starts a private loopback Ray head (free ports, its
own temp dir) and stops it at the end; ``--address http://HOST:8265 --serve-url
http://HOST:8000`` uses a running cluster instead (the model file must be readable by
its workers at the same path: a single machine, or ship it with options.working_dir).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODEL = '''
"""A vectorised model: a fixed cost per call, a small one per input."""
import os
import time

OVERHEAD_S = float(os.environ.get("HOSTKIT_BENCH_OVERHEAD_S", "0.02"))


def one(x):
    """Unbatched: one input per call."""
    time.sleep(OVERHEAD_S + 0.0002)
    return {"y": x * 2, "batch": 1}


def many(xs):
    """Batched: a list of inputs per call, one output each."""
    time.sleep(OVERHEAD_S + 0.0002 * len(xs))
    return [{"y": x * 2, "batch": len(xs)} for x in xs]
'''


def run_load(ray: Any, deployment: Any, requests: int, concurrency: int) -> dict[str, Any]:
    """Send ``requests`` invokes from ``concurrency`` threads; throughput and latency."""
    from hostkit._http import connection_pool

    def one(i: int) -> tuple[float, int]:
        started = time.perf_counter()
        result = ray.invoke(deployment, i)
        return time.perf_counter() - started, int(result.output["batch"])

    with connection_pool(concurrency), concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm up connections and the replica
        started = time.perf_counter()
        results = list(pool.map(one, range(requests)))
        elapsed = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    batches = [r[1] for r in results]
    return {
        "rps": requests / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "mean_batch": statistics.mean(batches),
        "max_batch": max(batches),
    }


def bench(args: argparse.Namespace, address: str, serve_url: str, folder: Path) -> None:
    import hostkit

    model = folder / "vectorised_model.py"
    model.write_text(MODEL)
    ray = hostkit.get_provider(
        "ray",
        address=address,
        serve_url=serve_url,
        replica_cpus=0.5,
        state_dir=str(folder / "state"),
    )
    common = {"max_ongoing_requests": max(args.concurrency, args.batch * 2)}
    variants = {
        "unbatched": {"model": f"{model}:one", "options": common},
        f"max_batch_size={args.batch}": {
            "model": f"{model}:many",
            "options": {**common, "max_batch_size": args.batch, "batch_wait_timeout_s": 0.01},
        },
    }
    rows = {}
    for label, fields in variants.items():
        name = "bench-batched" if "max_batch" in label else "bench-plain"
        spec = {"name": name, **fields, "env": {"HOSTKIT_BENCH_OVERHEAD_S": str(args.overhead)}}
        deployment = ray.deploy(spec)
        try:
            rows[label] = run_load(ray, deployment, args.requests, args.concurrency)
        finally:
            ray.teardown(name)
    print(
        f"\n{args.requests} requests, {args.concurrency} concurrent, one replica,"
        f" {args.overhead * 1000:.0f} ms per model call"
    )
    print(f"{'variant':<20} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'mean batch':>11}")
    for label, row in rows.items():
        print(
            f"{label:<20} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}"
            f" {row['mean_batch']:>11.1f}"
        )
    plain, batched = rows["unbatched"], rows[f"max_batch_size={args.batch}"]
    print(f"throughput gain with batching: x{batched['rps'] / plain['rps']:.1f}")
    ray.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--overhead-ms", type=float, default=20.0)
    parser.add_argument("--address", help="a running cluster's dashboard (default: start one)")
    parser.add_argument("--serve-url", help="that cluster's Serve proxy")
    args = parser.parse_args()
    args.overhead = args.overhead_ms / 1000
    with tempfile.TemporaryDirectory(prefix="hk-ray-bench-") as tmp:
        if args.address:
            serve_url = args.serve_url or args.address.rsplit(":", 1)[0] + ":8000"
            bench(args, args.address, serve_url, Path(tmp))
        else:
            from hostkit_providers.ray.local_head import local_head

            with local_head(cpus=2) as head:
                bench(args, head.address, head.serve_url, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
