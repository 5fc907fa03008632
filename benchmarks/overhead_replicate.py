"""Per-call overhead of ``hostkit.invoke`` on Replicate over a direct replicate-python call.

Both sides send the same prediction (``POST /v1/models/meta/meta-llama-3-8b-instruct/
predictions`` with ``Prefer: wait``) and get the same recorded answer
(``providers/replicate/tests/cassettes/invoke.yaml``), served in-process by respx, which
mocks the httpx transport underneath both. What differs is only the work each side
does: replicate-python builds the request and parses a pydantic ``Prediction``;
hostkit builds the input, runs its retry and error seams and fills an ``InvokeResult``
(text, usage, timings, rate limits, cost).

Rounds are interleaved (the order alternates each round) and the figure is the median
of the per-round means. Run: ``python benchmarks/overhead_replicate.py [--rounds N]
[--calls N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "providers" / "replicate" / "tests" / "cassettes"
MODEL = "meta/meta-llama-3-8b-instruct"
PROMPT = "Say hello in five words."
FAKE_TOKEN = "r8_benchFakeToken0000"


def recorded(name: str) -> tuple[str, int, dict[str, str], bytes]:
    """Method+URL, status, headers and body of a cassette's first interaction."""
    from hostkit.testing import load_cassette

    interaction = load_cassette(CASSETTES / name)[0]
    response = interaction.response
    headers = {k: v[0] for k, v in response.headers.items()}
    return interaction.request.uri, response.status, headers, response.body.encode("utf-8")


def timed(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def measure(rounds: int, calls: int) -> tuple[float, float, str]:
    import httpx
    import respx
    from replicate.__about__ import __version__ as sdk_version
    from replicate.client import Client

    import hostkit

    lookup_url, lookup_status, lookup_headers, lookup_body = recorded("deploy.yaml")
    create_url, create_status, create_headers, create_body = recorded("invoke.yaml")

    def answer(status: int, headers: dict[str, str], body: bytes) -> Callable[..., Any]:
        return lambda request: httpx.Response(status, headers=headers, content=body)

    with respx.mock(assert_all_called=False) as router:
        router.get(lookup_url).mock(side_effect=answer(lookup_status, lookup_headers, lookup_body))
        router.post(create_url).mock(side_effect=answer(create_status, create_headers, create_body))

        dep = hostkit.deploy(provider="replicate", model=MODEL, name="benchmark-overhead")
        client = Client(api_token=FAKE_TOKEN)

        def direct() -> str:
            prediction = client.models.predictions.create(
                model=MODEL, input={"prompt": PROMPT, "max_tokens": 32}, wait=60
            )
            return "".join(prediction.output or [])

        def via_hostkit() -> str | None:
            return hostkit.invoke(dep, PROMPT, max_tokens=32).text

        assert direct() == via_hostkit() == "Hello! Nice to meet you!"
        for _ in range(200):  # warm both paths
            direct()
            via_hostkit()
        per_hostkit, per_sdk = [], []
        for index in range(rounds):
            if index % 2:
                per_hostkit.append(timed(via_hostkit, calls))
                per_sdk.append(timed(direct, calls))
            else:
                per_sdk.append(timed(direct, calls))
                per_hostkit.append(timed(via_hostkit, calls))
        hostkit.teardown(dep)
    return statistics.median(per_hostkit), statistics.median(per_sdk), sdk_version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    os.environ["REPLICATE_API_TOKEN"] = FAKE_TOKEN
    warnings.simplefilter("ignore")  # the recorded model is unpriced: one PriceUnknown
    with tempfile.TemporaryDirectory() as state:
        os.environ["HOSTKIT_STATE_DIR"] = state
        via_hostkit, direct, version = measure(args.rounds, args.calls)
    overhead = via_hostkit - direct
    print(f"replicate-python {version}, {args.rounds} interleaved rounds x {args.calls} calls")
    print(f"  direct SDK call   {direct * 1e6:8.1f} us/call (median of round means)")
    print(f"  hostkit.invoke    {via_hostkit * 1e6:8.1f} us/call")
    print(f"  overhead          {overhead * 1e6:+8.1f} us/call ({via_hostkit / direct:.2f}x)")


if __name__ == "__main__":
    main()
