"""Does ``hostkit batch`` stay flat in memory as the input grows? (a script, not a test).

Deploys the example model on the ``local`` provider once, writes inputs of 10,000
and 100,000 lines, and runs ``hostkit.batch`` on each in a fresh child process
(so each peak is its own), then once more on the finished 100,000-line output
(a resume that skips every line: the case where the set of done ids is largest).
Each child reports its resident memory just before the batch, its peak resident
memory (``ru_maxrss``), the lines per second and the output line count.

Run: ``python benchmarks/batch_memory.py [--sizes 10000,100000] [--concurrency 32]
[--replicas 2]``. Loopback only; everything started is torn down at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAME = "batch-memory"


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc; else the peak so far)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_mb()


def peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def child(source: str, output: str, concurrency: int) -> None:
    """Run one batch and print what it used as JSON."""
    from hostkit.batch import batch

    before = rss_mb()
    began = time.perf_counter()
    summary = batch(NAME, source, output, concurrency=concurrency)
    took = time.perf_counter() - began
    with open(output, "rb") as handle:
        lines = sum(1 for _ in handle)
    report = {
        "rss_before_mb": before,
        "peak_rss_mb": peak_mb(),
        "seconds": took,
        "ok": summary.ok,
        "skipped": summary.skipped,
        "output_lines": lines,
    }
    print(json.dumps(report))


def write_input(path: Path, count: int) -> None:
    with path.open("w") as handle:
        for i in range(count):
            handle.write(json.dumps({"id": f"row-{i:07d}", "hours": i % 12}) + "\n")


def run_child(source: Path, output: Path, concurrency: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(source), str(output), str(concurrency)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HOSTKIT_STATE_DIR", tempfile.mkdtemp(prefix="hostkit-batchmem-"))
    import hostkit

    dep = hostkit.deploy(
        provider="local",
        model="hostkit_examples.study_score:predict",
        name=NAME,
        replicas=args.replicas,
    )
    folder = Path(tempfile.mkdtemp(prefix="hostkit-batchmem-io-"))
    rows = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            source = folder / f"in-{size}.jsonl"
            output = folder / f"out-{size}.jsonl"
            write_input(source, size)
            rows.append((f"{size:,} lines", run_child(source, output, args.concurrency)))
        rows.append((f"resume {size:,} (all done)", run_child(source, output, args.concurrency)))
    finally:
        hostkit.teardown(dep)
    print(f"concurrency {args.concurrency}, local provider, {args.replicas} replica(s)")
    print(f"{'run':<26}{'lines/s':>9}{'RSS before':>12}{'peak RSS':>10}{'growth':>9}  output")
    for label, r in rows:
        handled = r["ok"] + r["skipped"]
        print(
            f"{label:<26}{handled / r['seconds']:>9.0f}{r['rss_before_mb']:>10.1f}MB"
            f"{r['peak_rss_mb']:>8.1f}MB{r['peak_rss_mb'] - r['rss_before_mb']:>7.1f}MB"
            f"  {int(r['output_lines']):,} lines"
        )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
