"""Per-call overhead of ``hostkit.invoke`` on Groq over a direct ``groq`` SDK call (a script).

Both sides get the same recorded answer (``providers/groq/tests/cassettes/invoke.yaml``),
served in-process by respx at the httpx transport layer, so no network is involved
and the difference is only what each side does around the HTTP exchange: the SDK's
request building and response parsing, plus hostkit's request mapping, error seam,
retry policy, rate-limit headers, timings and cost. Rounds are interleaved (the side
that goes first alternates) and the figures are medians over rounds.

Run: ``python benchmarks/overhead_groq.py [--rounds N] [--calls N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

CASSETTE = Path(__file__).parents[1] / "providers/groq/tests/cassettes/invoke.yaml"
MODEL = "openai/gpt-oss-120b"
PROMPT = "Say hello in five words."
FAKE_KEY = "gsk_benchmarkFakeKey00"


def recorded_answer() -> tuple[int, list[tuple[str, str]], bytes]:
    from hostkit.testing import load_cassette

    (interaction,) = load_cassette(CASSETTE)
    response = interaction.response
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return response.status, headers, response.body.encode()


def measure(rounds: int, calls: int) -> tuple[float, float]:
    import groq
    import httpx
    import respx

    import hostkit

    status, headers, body = recorded_answer()
    model_info = (
        b'{"id":"openai/gpt-oss-120b","object":"model","created":1754408224,"owned_by":"OpenAI",'
        b'"active":true,"context_window":131072,"public_apps":null,"max_completion_tokens":65536}'
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    with respx.mock(assert_all_called=False) as router:
        router.post("https://api.groq.com/openai/v1/chat/completions").mock(side_effect=answer)
        router.get("https://api.groq.com/openai/v1/models/openai%2Fgpt-oss-120b").mock(
            return_value=httpx.Response(200, content=model_info)
        )
        dep = hostkit.deploy(provider="groq", model=MODEL, name="bench")
        direct = groq.Groq(api_key=FAKE_KEY, max_retries=0)
        messages: Any = [{"role": "user", "content": PROMPT}]

        def via_hostkit() -> None:
            result = hostkit.invoke(dep, PROMPT, max_tokens=64, temperature=0)
            assert result.text and result.cost_usd

        def via_sdk() -> None:
            completion = direct.chat.completions.create(
                model=MODEL, messages=messages, max_completion_tokens=64, temperature=0
            )
            assert completion.choices[0].message.content and completion.usage

        for _ in range(100):  # warm both paths (imports, pools, caches)
            via_hostkit()
            via_sdk()
        hostkit_times: list[float] = []
        sdk_times: list[float] = []
        for index in range(rounds):
            order = [(via_hostkit, hostkit_times), (via_sdk, sdk_times)]
            if index % 2:
                order.reverse()
            for call, times in order:
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                times.append((time.perf_counter() - start) / calls)
        direct.close()
        hostkit.teardown(dep)
    return statistics.median(hostkit_times), statistics.median(sdk_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=300, help="calls per round and side")
    args = parser.parse_args()
    os.environ.setdefault("HOSTKIT_STATE_DIR", tempfile.mkdtemp(prefix="hostkit-bench-"))
    os.environ["GROQ_API_KEY"] = FAKE_KEY
    os.environ.pop("GROQ_BASE_URL", None)
    import groq

    hk, sdk = measure(args.rounds, args.calls)
    print(
        f"groq {groq.__version__}: hostkit.invoke {hk * 1e6:.0f} us/call, direct SDK call"
        f" {sdk * 1e6:.0f} us/call: overhead {(hk - sdk) * 1e6:+.0f} us/call, ratio"
        f" {hk / sdk:.3f} [{args.rounds} interleaved rounds x {args.calls} calls, medians;"
        " same recorded response, served in-process by respx]"
    )


if __name__ == "__main__":
    main()
