"""Per-call overhead of ``hostkit.invoke`` on huggingface over a direct SDK call (a script).

Both sides get the same recorded answer (``providers/huggingface/tests/cassettes/invoke.yaml``:
status, headers and body), served in-process by an ``httpx2.MockTransport``
(huggingface_hub 2.x sends through the httpx2 fork, which respx cannot intercept), so
no network is involved and only the client-side work differs:

* direct: ``InferenceClient(api_key=...).chat_completion(...)`` on the router (the hub's
  shared session, built by ``huggingface_hub.utils.set_client_factory`` with the mock
  transport), the SDK parsing the answer into its ``ChatCompletionOutput`` type;
* hostkit: ``hostkit.invoke(dep, ...)`` on a huggingface deployment (its own httpx2
  client, given the same mock transport), returning an ``InvokeResult`` with usage,
  cost, timings and rate limits filled in.

Rounds are interleaved (the order alternates each round) and the medians of the
per-call times are compared.

Run: ``python benchmarks/overhead_huggingface.py [--rounds N] [--calls N]``.
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
CASSETTE = ROOT / "providers" / "huggingface" / "tests" / "cassettes" / "invoke.yaml"
URL = "https://router.huggingface.co/v1/chat/completions"
MODEL = "meta-llama/Llama-3.3-70B-Instruct"
PROMPT = "Say hello in five words."


def recorded_answer() -> tuple[int, list[tuple[str, str]], bytes]:
    from hostkit.testing import load_cassette

    response = load_cassette(CASSETTE)[0].response
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return response.status, headers, response.body.encode()


def per_call(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def measure(rounds: int, calls: int) -> tuple[float, float]:
    import httpx2
    from huggingface_hub import InferenceClient
    from huggingface_hub.utils import set_client_factory
    from huggingface_hub.utils._http import hf_request_event_hook

    import hostkit

    status, headers, body = recorded_answer()

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and str(request.url) == URL:
            return httpx2.Response(status, headers=headers, content=body)
        return httpx2.Response(404, json={"error": "not part of this benchmark"})

    transport = httpx2.MockTransport(answer)
    key = "hf_benchmarkFakeToken00"
    os.environ["HF_TOKEN"] = key
    # the hub's shared session, as its default factory builds it, on the mock transport
    set_client_factory(
        lambda: httpx2.Client(
            transport=transport,
            event_hooks={"request": [hf_request_event_hook]},
            follow_redirects=True,
            timeout=None,
        )
    )
    sdk = InferenceClient(api_key=key)
    provider = hostkit.get_provider("huggingface")
    provider.router.transport = transport  # type: ignore[attr-defined]
    dep = provider.serverless_deployment("bench", MODEL, None, {})  # type: ignore[attr-defined]
    messages = [{"role": "user", "content": PROMPT}]

    def direct() -> Any:
        return sdk.chat_completion(messages, model=MODEL, max_tokens=32)

    def via_hostkit() -> Any:
        return hostkit.invoke(dep, PROMPT, max_tokens=32)

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
    # keep the hub's caches (its agent-harness registry) away from the user's HF_HOME
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hostkit-bench-hf-")
    sys.path.insert(0, str(ROOT / "src"))
    from importlib.metadata import version

    hk, sdk = measure(args.rounds, args.calls)
    print(
        f"huggingface (huggingface-hub {version('huggingface-hub')}): hostkit.invoke"
        f" {hk * 1e6:.0f} us/call, direct SDK call {sdk * 1e6:.0f} us/call; overhead"
        f" {(hk - sdk) * 1e6:+.0f} us/call (ratio {hk / sdk:.3f})"
        f" [{args.rounds} interleaved rounds x {args.calls} calls, medians; same recorded"
        " response served in-process by an httpx2.MockTransport to both]"
    )


if __name__ == "__main__":
    main()
