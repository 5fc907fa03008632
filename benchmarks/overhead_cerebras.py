"""Per-call overhead of ``hostkit.invoke`` on cerebras over a direct SDK call (a script).

Both sides get the same recorded answer (``providers/cerebras/tests/cassettes/invoke.yaml``:
status, headers and body), served in-process by respx at the httpx transport, so no
network is involved and only the client-side work differs:

* direct: ``Cerebras(max_retries=0, warm_tcp_connection=False).chat.completions.create(...)``,
  the SDK parsing the answer into its ``ChatCompletion`` type;
* hostkit: ``hostkit.invoke(dep, ...)`` on a cerebras deployment, returning an
  ``InvokeResult`` with usage, cost, timings and rate limits filled in.

Rounds are interleaved (the order alternates each round) and the medians of the
per-call times are compared.

Run: ``python benchmarks/overhead_cerebras.py [--rounds N] [--calls N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASSETTE = ROOT / "providers" / "cerebras" / "tests" / "cassettes" / "invoke.yaml"
URL = "https://api.cerebras.ai/v1/chat/completions"
MODEL = "gpt-oss-120b"
PROMPT = "Say hello in five words."


def recorded_answer() -> tuple[int, dict[str, str], bytes]:
    from hostkit.testing import load_cassette

    response = load_cassette(CASSETTE)[0].response
    headers = {name: values[0] for name, values in response.headers.items()}
    return response.status, headers, response.body.encode()


def per_call(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def measure(rounds: int, calls: int) -> tuple[float, float]:
    import httpx
    import respx
    from cerebras.cloud.sdk import Cerebras

    import hostkit

    status, headers, body = recorded_answer()
    key = "csk-benchmark-not-a-real-key"
    os.environ["CEREBRAS_API_KEY"] = key
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(
            side_effect=lambda request: httpx.Response(status, headers=headers, content=body)
        )
        sdk = Cerebras(api_key=key, max_retries=0, warm_tcp_connection=False)
        provider = hostkit.get_provider("cerebras")
        dep = provider.serverless_deployment("bench", MODEL, None, {})  # type: ignore[attr-defined]

        def direct() -> Any:
            return sdk.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": PROMPT}], max_tokens=256
            )

        def via_hostkit() -> Any:
            return hostkit.invoke(dep, PROMPT, max_tokens=256)

        assert direct().choices[0].message.content == via_hostkit().text  # same answer
        for _ in range(200):  # warm both paths
            direct()
            via_hostkit()
        sdk_times, hostkit_times = [], []
        for index in range(rounds):
            if index % 2:
                hostkit_times.append(per_call(via_hostkit, calls))
                sdk_times.append(per_call(direct, calls))
            else:
                sdk_times.append(per_call(direct, calls))
                hostkit_times.append(per_call(via_hostkit, calls))
        sdk.close()
        provider.close()
    return statistics.median(hostkit_times), statistics.median(sdk_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=300, help="calls per round and side")
    args = parser.parse_args()
    os.environ.setdefault("HOSTKIT_STATE_DIR", tempfile.mkdtemp(prefix="hostkit-bench-"))
    sys.path.insert(0, str(ROOT / "src"))
    from importlib.metadata import version

    hk, sdk = measure(args.rounds, args.calls)
    print(
        f"cerebras (cerebras-cloud-sdk {version('cerebras-cloud-sdk')}): hostkit.invoke"
        f" {hk * 1e6:.0f} us/call, direct SDK call {sdk * 1e6:.0f} us/call; overhead"
        f" {(hk - sdk) * 1e6:+.0f} us/call (ratio {hk / sdk:.3f})"
        f" [{args.rounds} interleaved rounds x {args.calls} calls, medians; same recorded"
        " response served by respx to both]"
    )


if __name__ == "__main__":
    main()
