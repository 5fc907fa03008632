"""The ``huggingface`` provider (Inference Providers router) against recorded cassettes.

Every test replays its cassette strictly: a request the cassette does not hold fails
the test, and nothing reaches the network. The cassettes are hand-built in the
router's wire format; the ``test_*_sdk_*`` tests let huggingface_hub's own types and
``hf_raise_for_status`` parse every body, so the fixtures stay honest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hostkit_providers.huggingface import HuggingFaceProvider
from hostkit_providers.huggingface._errors import error_from_status, rate_limits_from, translate

import hostkit
from hostkit import Deployment, Provider, errors
from hostkit._api import provider_for
from hostkit.testing import REDACTED, cassette, cassette_requests, load_cassette
from hostkit.testing.compliance import (
    MAY_BE_SILENT,
    ProviderComplianceTests,
    ProviderFixtures,
    ScenarioRun,
)

CASSETTES = Path(__file__).parent / "cassettes"
FAKE_TOKEN = "hf_hostkitFakeTestToken00"
MODEL = "meta-llama/Llama-3.3-70B-Instruct"
PROMPT = "Say hello in five words."
TEXT = "Hello there, nice to meet you!"
#: what one invoke.yaml call costs at groq's live price in deploy.yaml (0.59 / 0.79 per M)
INVOKE_USD = (43 * 0.59 + 9 * 0.79) / 1e6


# -- fixtures ------------------------------------------------------------------
@pytest.fixture(autouse=True)
def hf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def provider() -> HuggingFaceProvider:
    found = provider_for("huggingface")
    assert isinstance(found, HuggingFaceProvider)
    return found


@pytest.fixture
def waits(provider: HuggingFaceProvider) -> list[float]:
    """The retry policy's waits, recorded instead of slept."""
    recorded: list[float] = []
    provider.retry.sleep = recorded.append

    async def asleep(seconds: float) -> None:
        recorded.append(seconds)

    provider.retry.asleep = asleep
    return recorded


@pytest.fixture
def deployment(provider: HuggingFaceProvider) -> Deployment:
    with cassette(CASSETTES / "deploy.yaml") as played:
        dep = provider.deploy({"provider": "huggingface", "model": MODEL})
    assert played.play_count == 1 and dep._provider is provider
    return dep


def rid(name: str, index: int = -1) -> str | None:
    """The x-request-id of one recorded response (the last one by default)."""
    return load_cassette(CASSETTES / name)[index].response.header("x-request-id")


def bare(provider: HuggingFaceProvider, model: str) -> Deployment:
    """A deployment record for ``model`` with no look-up (as a hand-written record would be)."""
    return provider.serverless_deployment(model.split("/")[-1][:60], model, None, {})


def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"unexpected connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


# -- registration and construction ------------------------------------------------
def test_registered_installed_with_capabilities() -> None:
    info = {p.name: p for p in hostkit.available_providers()}["huggingface"]
    assert info.installed and info.error is None
    # both halves: the router (serverless) and Inference Endpoints (dedicated, scalable)
    assert info.capabilities == {
        "dedicated": True,
        "streaming": True,
        "native_async": True,
        "manual_scaling": True,
        "autoscaling": True,
        "scale_to_zero": True,
    }
    assert info.install_command == 'pip install "hostkit-ml[huggingface]"'
    assert HuggingFaceProvider.credential_env == "HF_TOKEN"
    assert HuggingFaceProvider.requires == ("huggingface_hub",)


def test_construction_sends_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    attempts = no_network(monkeypatch)
    empty = tmp_path / "empty.yaml"
    empty.write_text("version: 1\ninteractions: []\n")
    with cassette(empty) as played:
        built = hostkit.get_provider("huggingface")
        assert isinstance(built, HuggingFaceProvider)
        assert built.router._client is None and built.router._aclient is None
        assert repr(built)  # no secrets, no I/O
    assert played.play_count == 0 and attempts == []


def test_missing_key_names_hf_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN")
    attempts = no_network(monkeypatch)
    fresh = hostkit.get_provider("huggingface")
    assert isinstance(fresh, HuggingFaceProvider)
    dep = bare(fresh, MODEL)
    with pytest.raises(errors.AuthenticationError, match="HF_TOKEN"):
        fresh.invoke(dep, PROMPT)
    assert attempts == []


def test_no_hub_side_request_on_first_use(
    monkeypatch: pytest.MonkeyPatch, deployment: Deployment
) -> None:
    """huggingface_hub's build_hf_headers fetches /api/agent-harnesses; hostkit never calls it."""
    from huggingface_hub.utils import _detect_agent
    from huggingface_hub.utils._headers import build_hf_headers

    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return _detect_agent._EMPTY_REGISTRY

    monkeypatch.setattr(_detect_agent, "_registry", None)
    monkeypatch.setattr(_detect_agent, "_load_registry", load)
    with cassette(CASSETTES / "invoke.yaml") as played:
        hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert played.play_count == 1 and loads == []
    # what InferenceClient would have done: its headers run the agent detection
    build_hf_headers(token=FAKE_TOKEN)
    assert loads == [1]


def test_client_built_once_and_reused(
    deployment: Deployment, provider: HuggingFaceProvider
) -> None:
    with cassette(CASSETTES / "invoke_unpriced.yaml"):
        dep = bare(provider, "Qwen/Qwen3-32B")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", errors.PriceUnknown)
            provider.invoke(dep, PROMPT, max_tokens=32)
            first = provider.router._client
            provider.invoke(dep, PROMPT, max_tokens=32)
    assert first is not None and provider.router._client is first


# -- deploy / get / teardown --------------------------------------------------------
def test_deploy_checks_the_model_and_creates_nothing(deployment: Deployment) -> None:
    assert deployment.status == "ready"
    assert deployment.provider == "huggingface"
    assert deployment.endpoint == "https://router.huggingface.co/v1/chat/completions"
    info = deployment.raw["model_info"]
    assert info["id"] == MODEL
    assert [p["provider"] for p in info["providers"]] == [
        "groq",
        "together",
        "novita",
        "featherless-ai",
    ]
    assert deployment.raw["price_source"] == "https://router.huggingface.co/v1/models"
    (request,) = cassette_requests(CASSETTES / "deploy.yaml")
    assert request.method == "GET" and request.path == f"/v1/models/{MODEL}"
    # get() works from the local record (no request), teardown releases it
    again = hostkit.get_provider("huggingface").get(deployment.name)
    assert again.model == MODEL and again.status == "ready"
    hostkit.teardown(deployment)
    with pytest.raises(errors.NotFound):
        hostkit.get_provider("huggingface").get(deployment.name)
    hostkit.teardown(deployment.name)  # a second teardown is fine


def test_deploy_unknown_model_names_closest(provider: HuggingFaceProvider) -> None:
    with (
        cassette(CASSETTES / "deploy_not_found.yaml") as played,
        pytest.raises(errors.NotFound) as caught,
    ):
        hostkit.deploy(provider="huggingface", model="meta-llama/Llama-3.3-70B-Instrukt")
    assert played.play_count == 2
    error = caught.value
    assert "closest served models: meta-llama/Llama-3.3-70B-Instruct" in error.message
    assert "Model 'meta-llama/Llama-3.3-70B-Instrukt' not found" in error.message  # the router's
    assert error.status_code == 404 and error.request_id == rid("deploy_not_found.yaml", 0)
    assert provider.records.load("Llama-3.3-70B-Instrukt") is None  # nothing kept


def test_deploy_provider_suffix_must_serve_the_model() -> None:
    with (
        cassette(CASSETTES / "deploy.yaml"),
        pytest.raises(errors.NotFound, match="groq, together, novita, featherless-ai"),
    ):
        hostkit.deploy(provider="huggingface", model=f"{MODEL}:cerebras")
    with cassette(CASSETTES / "deploy.yaml"):
        dep = hostkit.deploy(provider="huggingface", model=f"{MODEL}:groq", name="pinned")
    assert dep.status == "ready" and dep.model == f"{MODEL}:groq"
    with cassette(CASSETTES / "deploy.yaml"):
        dep = hostkit.deploy(provider="huggingface", model=f"{MODEL}:cheapest", name="policy")
    assert dep.status == "ready"


def test_spec_with_instance_needs_a_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec with instance is an Inference Endpoint: without a namespace, nothing is sent."""
    attempts = no_network(monkeypatch)
    with pytest.raises(errors.ConfigError, match="'namespace' setting") as caught:
        hostkit.deploy(provider="huggingface", model=MODEL, name="llama", instance="nvidia-l4")
    assert "Inference Endpoint" in caught.value.message
    assert attempts == []


def test_scale_is_unsupported_and_names_the_dedicated_option(deployment: Deployment) -> None:
    with pytest.raises(errors.Unsupported) as caught:
        hostkit.scale(deployment, 2)
    assert "scales automatically" in caught.value.message
    assert "Inference Endpoint" in caught.value.message


def test_status_re_checks_the_model(deployment: Deployment) -> None:
    with cassette(CASSETTES / "deploy.yaml") as played:
        fresh = deployment.refresh()
    assert played.play_count == 1 and fresh.status == "ready"


# -- invoke / ainvoke / stream --------------------------------------------------------
def test_invoke(deployment: Deployment) -> None:
    with cassette(CASSETTES / "invoke.yaml") as played:
        result = hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert played.play_count == 1
    assert result.text == TEXT
    assert result.output == {"role": "assistant", "content": TEXT}
    assert (result.usage.input_tokens, result.usage.output_tokens) == (43, 9)
    assert result.provider == "huggingface"
    assert result.model == f"{MODEL}:groq"  # the provider that served it (x-inference-provider)
    assert result.request_id == rid("invoke.yaml")
    assert 0 < result.latency_s < 5 and result.ttft_s is None
    assert result.timings == {
        "queue_time": 0.051829,
        "prompt_time": 0.002291,
        "completion_time": 0.0325,
        "total_time": 0.034791,
    }
    assert result.rate_limits == {
        "remaining_requests": 999,
        "reset_requests_s": 202.0,
        "limit_requests": 1000,
        "window_s": 300.0,
    }
    assert result.cost_usd == pytest.approx(INVOKE_USD)
    body = cassette_requests(CASSETTES / "invoke.yaml")[0]
    assert body.header("authorization") == REDACTED
    assert body.json() == {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 32,
    }


def test_invoke_takes_messages_and_passes_parameters_through(provider: HuggingFaceProvider) -> None:
    sent: list[dict[str, Any]] = []
    answer = load_cassette(CASSETTES / "invoke.yaml")[0].response

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        return httpx2.Response(200, headers={"x-inference-provider": "groq"}, content=answer.body)

    provider.router.transport = httpx2.MockTransport(handler)
    dep = bare(provider, MODEL)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    provider.invoke(dep, messages, temperature=0.2, top_p=0.9, stop=["\n"], seed=7, tools=tools)
    assert sent == [
        {
            "model": MODEL,
            "messages": messages,
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["\n"],
            "seed": 7,
            "tools": tools,
        }
    ]
    with pytest.raises(errors.ConfigError):
        provider.invoke(dep, 42)


async def test_ainvoke(deployment: Deployment, provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "ainvoke.yaml") as played:
        result = await hostkit.ainvoke(deployment, PROMPT, max_tokens=32)
        client = provider.router._aclient
    assert played.play_count == 1
    assert result.text == TEXT and result.usage.output_tokens == 9
    assert result.request_id == rid("ainvoke.yaml")
    assert result.rate_limits["remaining_requests"] == 998
    assert result.cost_usd == pytest.approx(INVOKE_USD)
    assert client is not None
    await provider.aclose()


async def test_ainvoke_retries_with_async_waits(
    deployment: Deployment, provider: HuggingFaceProvider, waits: list[float]
) -> None:
    with cassette(CASSETTES / "error_429_then_ok.yaml") as played:
        result = await hostkit.ainvoke(deployment, PROMPT, max_tokens=32)
    assert played.play_count == 2 and waits == [1.0] and result.text == TEXT
    await provider.aclose()


def test_stream(deployment: Deployment) -> None:
    with cassette(CASSETTES / "stream.yaml") as played:
        stream = hostkit.stream(deployment, PROMPT, max_tokens=32)
        chunks = list(stream)
    assert played.play_count == 1
    assert chunks == ["Hello", " there,", " nice to meet", " you!"]
    result = stream.result
    assert result is not None
    assert result.text == TEXT
    assert (result.usage.input_tokens, result.usage.output_tokens) == (43, 9)
    assert result.ttft_s is not None and 0 <= result.ttft_s <= result.latency_s
    assert result.request_id == rid("stream.yaml")
    assert result.timings["total_time"] == 0.034791
    assert result.rate_limits["remaining_requests"] == 997
    assert result.cost_usd == pytest.approx(INVOKE_USD)
    sent = cassette_requests(CASSETTES / "stream.yaml")[0].json()
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


def test_stream_and_invoke_agree(deployment: Deployment) -> None:
    with cassette(CASSETTES / "invoke.yaml"):
        invoked = hostkit.invoke(deployment, PROMPT, max_tokens=32)
    with cassette(CASSETTES / "stream.yaml"):
        streamed = hostkit.stream(deployment, PROMPT, max_tokens=32)
        text = streamed.text()
    assert streamed.result is not None
    assert text == invoked.text
    assert streamed.result.usage == invoked.usage
    assert streamed.result.cost_usd == pytest.approx(invoked.cost_usd)
    assert streamed.result.timings == invoked.timings
    assert streamed.result.model == invoked.model


def test_stream_error_mid_way_raises_with_platform_message(deployment: Deployment) -> None:
    with cassette(CASSETTES / "stream_error.yaml") as played:
        stream = hostkit.stream(deployment, PROMPT, max_tokens=32)
        received = []
        with pytest.raises(errors.ProviderError) as caught:
            for chunk in stream:
                received.append(chunk)
    assert played.play_count == 1
    assert received == ["Hello", " there,"]
    error = caught.value
    assert "upstream provider closed the connection" in error.message
    assert "generation" in error.message
    assert error.request_id == rid("stream_error.yaml")
    assert not error.retryable


def test_stream_cut_mid_way_raises(deployment: Deployment) -> None:
    with cassette(CASSETTES / "stream_cut.yaml"):
        stream = hostkit.stream(deployment, PROMPT, max_tokens=32)
        with pytest.raises(errors.ProviderError, match="cut mid-way") as caught:
            stream.text()
    assert caught.value.request_id == rid("stream_cut.yaml")


def test_stream_retries_the_connection_attempt(
    provider: HuggingFaceProvider, waits: list[float]
) -> None:
    """A 429 before the first byte is retried (the error body is read first); the body is not."""
    limited = load_cassette(CASSETTES / "error_429_then_ok.yaml")[0].response
    (ok,) = load_cassette(CASSETTES / "stream.yaml")
    answers = [
        httpx2.Response(429, headers={"retry-after": "1"}, content=limited.body.encode()),
        httpx2.Response(
            200,
            headers={"x-request-id": "rid-2", "x-inference-provider": "groq"},
            content=ok.response.body.encode(),
        ),
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return answers.pop(0)

    provider.router.transport = httpx2.MockTransport(handler)
    stream = provider.stream(bare(provider, MODEL), PROMPT)
    assert stream.text() == TEXT and waits == [1.0] and answers == []
    assert stream.result is not None and stream.result.request_id == "rid-2"


async def test_ainvoke_maps_errors(provider: HuggingFaceProvider, waits: list[float]) -> None:
    (unauthorized,) = load_cassette(CASSETTES / "error_401.yaml")
    recorded = unauthorized.response
    headers = [(k, v) for k, values in recorded.headers.items() for v in values]

    async def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, headers=headers, content=recorded.body.encode())

    provider.router.async_transport = httpx2.MockTransport(handler)
    with pytest.raises(errors.AuthenticationError, match="Invalid credentials") as caught:
        await provider.ainvoke(bare(provider, MODEL), PROMPT)
    assert caught.value.request_id == recorded.header("x-request-id") and waits == []
    await provider.aclose()


def test_stream_connection_dropped_is_a_hostkit_error(provider: HuggingFaceProvider) -> None:
    class Dropping(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
            raise httpx2.RemoteProtocolError("peer closed connection without sending complete body")

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"x-request-id": "rid-1"}, stream=Dropping())

    provider.router.transport = httpx2.MockTransport(handler)
    stream = provider.stream(bare(provider, MODEL), PROMPT)
    assert next(stream) == "Hel"
    with pytest.raises(errors.ProviderError, match="RemoteProtocolError") as caught:
        next(stream)
    assert caught.value.request_id == "rid-1"


# -- errors ---------------------------------------------------------------------------
def test_error_401(deployment: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_401.yaml") as played,
        pytest.raises(errors.AuthenticationError) as caught,
    ):
        hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert played.play_count == 1 and waits == []
    error = caught.value
    assert error.message.startswith("Invalid credentials in Authorization header")
    assert "HF_TOKEN" in error.message
    assert error.status_code == 401
    assert error.request_id == rid("error_401.yaml")
    assert FAKE_TOKEN not in str(error)


def test_error_404(provider: HuggingFaceProvider, waits: list[float]) -> None:
    dep = bare(provider, "meta-llama/Llama-3.3-70B-Instrukt")
    with cassette(CASSETTES / "error_404.yaml") as played, pytest.raises(errors.NotFound) as caught:
        provider.invoke(dep, PROMPT, max_tokens=32)
    assert played.play_count == 1 and waits == []
    assert "does not exist" in caught.value.message
    assert caught.value.request_id == rid("error_404.yaml")


def test_model_not_supported_is_not_found_with_hint(provider: HuggingFaceProvider) -> None:
    dep = bare(provider, "my-org/my-finetune-7b")
    with (
        cassette(CASSETTES / "error_model_not_supported.yaml") as played,
        pytest.raises(errors.NotFound) as caught,
    ):
        provider.invoke(dep, PROMPT, max_tokens=32)
    assert played.play_count == 1
    message = caught.value.message
    assert "is not supported by any provider you have enabled" in message
    assert "settings/inference-providers" in message
    assert caught.value.status_code == 400


def test_error_429_then_ok(deployment: Deployment, waits: list[float]) -> None:
    with cassette(CASSETTES / "error_429_then_ok.yaml") as played:
        result = hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert played.play_count == 2 and played.all_played
    assert waits == [1.0]  # the platform's retry-after, honoured
    assert result.text == TEXT


def test_error_429_exhausted(deployment: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_429_exhausted.yaml") as played,
        pytest.raises(errors.RateLimited) as caught,
    ):
        hostkit.invoke(deployment, PROMPT, max_tokens=32)
    # 1 try + 3 retries: exactly the four recorded requests, never doubled by the SDK
    assert played.play_count == 4 and played.all_played
    assert len(cassette_requests(CASSETTES / "error_429_exhausted.yaml")) == 4
    assert waits == [2.0, 2.0, 2.0]
    error = caught.value
    assert error.retry_after == 2.0 and error.status_code == 429
    assert error.message.startswith("Rate limit reached for Inference Providers requests")
    assert error.request_id == rid("error_429_exhausted.yaml")


def test_error_5xx(deployment: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_5xx.yaml") as played,
        pytest.raises(errors.ProviderError) as caught,
    ):
        hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert played.play_count == 4 and played.all_played
    assert len(waits) == 3 and all(0 < w <= 20 for w in waits)
    error = caught.value
    assert error.status_code == 503 and error.retryable
    assert "provider groq is temporarily unavailable" in error.message
    assert error.request_id == rid("error_5xx.yaml")


def test_quota_exhausted_is_not_retried(deployment: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_402_quota.yaml") as played,
        pytest.raises(errors.QuotaExceeded) as caught,
    ):
        hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert played.play_count == 1 and waits == []
    assert "depleted your monthly included credits" in caught.value.message
    assert caught.value.status_code == 402 and not caught.value.retryable


def test_context_length_error_names_the_limit(deployment: Deployment, waits: list[float]) -> None:
    prompt = "Summarise this report: " + "lorem ipsum dolor sit amet " * 40
    with (
        cassette(CASSETTES / "error_context_length.yaml") as played,
        pytest.raises(errors.ProviderError) as caught,
    ):
        hostkit.invoke(deployment, prompt, max_tokens=131072)
    assert played.play_count == 1 and waits == []
    message = caught.value.message
    assert "context window" in message and "131072 tokens" in message
    assert "Please reduce the length of the messages or completion." in message
    assert not caught.value.retryable


def test_413_names_the_request_size_limit() -> None:
    error = error_from_status(413, {"x-request-id": "rid"}, b'{"error":"Request Entity Too Large"}')
    assert isinstance(error, errors.ProviderError) and not error.retryable
    assert "413" in error.message and "request-size limit" in error.message
    assert "Request Entity Too Large" in error.message and error.request_id == "rid"


def test_context_error_with_a_number_in_the_message() -> None:
    body = json.dumps({"error": {"message": "This model's maximum context length is 8192 tokens."}})
    error = error_from_status(400, {}, body, model="org/small")
    assert "8192 tokens" in error.message and "org/small" in error.message


def test_daily_quota_429_is_quota_exceeded() -> None:
    body = json.dumps(
        {"error": {"message": "Rate limit reached on tokens per day (TPD): Limit 500000"}}
    )
    error = error_from_status(429, {"retry-after": "3600"}, body)
    assert isinstance(error, errors.QuotaExceeded)


def test_rate_limit_reset_used_when_no_retry_after() -> None:
    error = error_from_status(429, {"ratelimit": '"api";r=0;t=12'}, b'{"error":"slow down"}')
    assert isinstance(error, errors.RateLimited) and error.retry_after == 12.0
    error = error_from_status(429, {"retry-after-ms": "1500"}, b"{}")
    assert isinstance(error, errors.RateLimited) and error.retry_after == 1.5


def test_offline_mode_is_a_config_error(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, waits: list[float]
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    attempts = no_network(monkeypatch)
    with pytest.raises(errors.ConfigError, match="HF_HUB_OFFLINE"):
        hostkit.invoke(deployment, PROMPT)
    assert attempts == [] and waits == []


@pytest.mark.parametrize(
    ("failure", "expected", "not_sent"),
    [
        (httpx2.ReadTimeout("timed out"), errors.Timeout, False),
        (httpx2.ConnectTimeout("timed out"), errors.Timeout, True),
        (httpx2.ConnectError("refused"), errors.ProviderError, True),
        (httpx2.RemoteProtocolError("reset"), errors.ProviderError, False),
    ],
)
def test_transport_failures_are_retried_then_raised(
    provider: HuggingFaceProvider,
    waits: list[float],
    failure: Exception,
    expected: type[errors.HostkitError],
    not_sent: bool,
) -> None:
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        raise failure

    provider.router.transport = httpx2.MockTransport(handler)
    with pytest.raises(expected) as caught:
        provider.invoke(bare(provider, MODEL), PROMPT)
    assert len(calls) == 4 and len(waits) == 3
    assert caught.value.retryable
    assert getattr(caught.value, "request_not_sent", False) is not_sent


# -- cost -----------------------------------------------------------------------------
def test_cost_of_a_pinned_model_uses_the_router_price(provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "deploy.yaml"):
        dep = hostkit.deploy(provider="huggingface", model=f"{MODEL}:together", name="pinned")
    estimate = hostkit.cost(dep, input_tokens=2_000_000, output_tokens=1_000_000)
    assert estimate.usd == pytest.approx(2 * 0.88 + 0.88)
    assert estimate.source == "https://router.huggingface.co/v1/models"
    assert estimate.as_of == dep.raw["read_on"]
    idle = hostkit.cost(dep, hours=24)
    assert idle.usd == 0.0


def test_cost_of_a_pinned_spec_falls_back_to_the_shipped_table() -> None:
    spec = {"provider": "huggingface", "model": f"{MODEL}:groq"}
    estimate = hostkit.cost(spec, input_tokens=1_000_000, output_tokens=1_000_000)
    assert estimate.usd == pytest.approx(0.59 + 0.79)
    assert estimate.source == "https://groq.com/pricing" and estimate.as_of == "2026-06-08"


def test_cost_of_an_unpinned_model_is_unknown_and_says_why(deployment: Deployment) -> None:
    with pytest.warns(errors.PriceUnknown) as caught:
        estimate = hostkit.cost(deployment, input_tokens=1000, output_tokens=1000)
    assert estimate.usd is None
    (message,) = estimate.warnings
    assert "router picks the provider per request" in message
    assert "groq $0.59/$0.79" in message and "together $0.88/$0.88" in message
    assert f"'{MODEL}:novita'" in message  # the cheapest known, as a way to pin
    assert len(caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idle = hostkit.cost(deployment, hours=24)  # idle time is free whoever serves
    assert idle.usd == 0.0 and idle.breakdown[0].quantity == 24
    with pytest.warns(errors.PriceUnknown, match="bills per token"):
        assert hostkit.cost(deployment, requests=10).usd is None
    with pytest.raises(errors.ConfigError):
        hostkit.cost(deployment, input_tokens=-1)


def test_cost_of_an_unpinned_model_after_a_call_prices_the_serving_provider(
    deployment: Deployment,
) -> None:
    with cassette(CASSETTES / "invoke.yaml"):
        result = hostkit.invoke(deployment, PROMPT, max_tokens=32)
    estimate = hostkit.cost(deployment, input_tokens=43, output_tokens=9)
    assert estimate.usd == pytest.approx(result.cost_usd)
    assert estimate.breakdown[0].description.startswith(f"{MODEL}:groq")  # names who served
    assert estimate.source == "https://router.huggingface.co/v1/models"


def test_config_price_overrides_the_router(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (Path.cwd() / "hostkit.toml").write_text(
        f'[prices.huggingface."{MODEL}:groq"]\n'
        "input_per_million = 1.0\noutput_per_million = 2.0\n"
        'source = "contract with Hugging Face"\n'
    )
    with cassette(CASSETTES / "deploy.yaml"):
        dep = hostkit.deploy(provider="huggingface", model=MODEL)
    with cassette(CASSETTES / "invoke.yaml"):
        result = hostkit.invoke(dep, PROMPT, max_tokens=32)
    assert result.cost_usd == pytest.approx((43 * 1.0 + 9 * 2.0) / 1e6)
    estimate = hostkit.cost(
        {"provider": "huggingface", "model": f"{MODEL}:groq"}, input_tokens=10**6
    )
    assert estimate.usd == pytest.approx(1.0) and estimate.source == "contract with Hugging Face"


def test_unpriced_model_gives_none_and_one_warning(provider: HuggingFaceProvider) -> None:
    dep = bare(provider, "Qwen/Qwen3-32B")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with cassette(CASSETTES / "invoke_unpriced.yaml") as played:
            first = provider.invoke(dep, PROMPT, max_tokens=32)
            second = provider.invoke(dep, PROMPT, max_tokens=32)
    assert played.play_count == 2
    assert first.cost_usd is None and second.cost_usd is None
    assert first.usage.input_tokens == 15
    unknown = [w for w in caught if issubclass(w.category, errors.PriceUnknown)]
    assert len(unknown) == 1
    assert "Qwen/Qwen3-32B:groq" in str(unknown[0].message)


def test_offerings_list_priced_models_with_sources(provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "offerings.yaml") as played:
        offerings = hostkit.get_provider("huggingface").offerings()
    assert played.play_count == 1
    by_name = {o.name: o for o in offerings}
    groq = by_name[f"{MODEL}:groq"]
    assert (groq.usd_per_million_input, groq.usd_per_million_output) == (0.59, 0.79)
    assert groq.source == "https://router.huggingface.co/v1/models" and groq.kind == "model"
    assert by_name["deepseek-ai/DeepSeek-V4-Pro:novita"].usd_per_million_output == 3.38
    assert f"{MODEL}:featherless-ai" not in by_name  # no price reported: not offered as priced
    assert all(o.source and o.as_of for o in offerings)


# -- the translation seam ---------------------------------------------------------------
def _response(status: int, body: bytes = b'{"error":"boom"}') -> httpx2.Response:
    request = httpx2.Request("POST", "https://router.huggingface.co/v1/chat/completions")
    return httpx2.Response(status, headers={"x-request-id": "rid-7"}, content=body, request=request)


def _exception_classes() -> list[type[BaseException]]:
    from huggingface_hub import errors as hf

    found: list[type[BaseException]] = [
        obj
        for obj in vars(hf).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and obj.__module__ == hf.__name__
    ]
    found += [getattr(httpx2, name) for name in httpx2._exceptions.__all__]
    return found


def _instance(cls: type[BaseException]) -> BaseException:
    from huggingface_hub import errors as hf

    if issubclass(cls, hf.HfHubHTTPError):
        return cls("boom", response=_response(503))
    if issubclass(cls, httpx2.HTTPStatusError):
        response = _response(503)
        return cls("boom", request=response.request, response=response)
    try:
        return cls("boom")
    except TypeError:
        error = cls.__new__(cls)
        Exception.__init__(error, "boom")
        return error


@pytest.mark.parametrize("cls", _exception_classes(), ids=lambda c: c.__name__)
def test_every_sdk_exception_is_mapped(cls: type[BaseException]) -> None:
    mapped = translate(_instance(cls))
    assert isinstance(mapped, errors.HostkitError), f"{cls.__name__} is not mapped"
    assert mapped.provider == "huggingface"


def test_translation_of_the_important_classes() -> None:
    from huggingface_hub import errors as hf

    assert isinstance(
        translate(hf.HfHubHTTPError("x", response=_response(401))), errors.AuthenticationError
    )
    assert isinstance(
        translate(hf.RepositoryNotFoundError("x", response=_response(404))), errors.NotFound
    )
    unavailable = translate(hf.HfHubHTTPError("x", response=_response(503)))
    assert isinstance(unavailable, errors.ProviderError) and unavailable.retryable
    assert unavailable.request_id == "rid-7" and unavailable.message == "boom"
    assert isinstance(translate(hf.InferenceTimeoutError("slow")), errors.Timeout)
    assert isinstance(translate(hf.OfflineModeIsEnabled("offline")), errors.ConfigError)
    assert isinstance(translate(hf.LocalTokenNotFoundError("none")), errors.AuthenticationError)
    overloaded = translate(hf.OverloadedError("busy"))
    assert isinstance(overloaded, errors.ProviderError) and overloaded.retryable
    assert isinstance(translate(httpx2.InvalidURL("bad")), errors.ConfigError)
    assert translate(ValueError("not ours")) is None


def test_rate_limit_headers_both_families() -> None:
    limits = rate_limits_from(
        {
            "ratelimit": '"api";r=41;t=55',
            "ratelimit-policy": '"fixed window";"api";q=500;w=300',
            "x-ratelimit-remaining-tokens": "5940",
            "x-ratelimit-limit-tokens": "6000",
            "x-ratelimit-reset-tokens": "2m59.56s",
        }
    )
    assert limits == {
        "remaining_requests": 41,
        "reset_requests_s": 55.0,
        "limit_requests": 500,
        "window_s": 300.0,
        "remaining_tokens": 5940,
        "limit_tokens": 6000,
        "reset_tokens_s": pytest.approx(179.56),
    }
    assert rate_limits_from({}) == {}


# -- realism: huggingface_hub parses every cassette body -----------------------------------
def _sse_payloads(body: str) -> list[str]:
    return [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]


@pytest.mark.parametrize(
    "name", ["invoke.yaml", "ainvoke.yaml", "error_429_then_ok.yaml", "invoke_unpriced.yaml"]
)
def test_completion_bodies_parse_with_the_sdk_types(name: str) -> None:
    from huggingface_hub.inference._generated.types.chat_completion import ChatCompletionOutput

    successes = [i for i in load_cassette(CASSETTES / name) if i.response.status == 200]
    assert successes
    for interaction in successes:
        parsed = ChatCompletionOutput.parse_obj_as_instance(interaction.response.body)
        for field in ("id", "created", "model", "system_fingerprint", "choices", "usage"):
            assert getattr(parsed, field) is not None, field
        (choice,) = parsed.choices
        assert choice.message.role == "assistant" and choice.finish_reason == "stop"
        assert (
            parsed.usage.total_tokens == parsed.usage.prompt_tokens + parsed.usage.completion_tokens
        )
        assert interaction.response.header("x-request-id")


@pytest.mark.parametrize("name", ["stream.yaml", "stream_error.yaml", "stream_cut.yaml"])
def test_stream_bodies_parse_with_the_sdk_stream_types(name: str) -> None:
    from huggingface_hub.inference._generated.types.chat_completion import (
        ChatCompletionStreamOutput,
    )

    (interaction,) = load_cassette(CASSETTES / name)
    content_type = interaction.response.header("content-type") or ""
    assert content_type.startswith("text/event-stream")
    for payload in _sse_payloads(interaction.response.body):
        if payload == "[DONE]" or "error" in json.loads(payload):
            continue
        chunk = ChatCompletionStreamOutput.parse_obj_as_instance(payload)
        assert chunk.id and chunk.created and chunk.model and chunk.system_fingerprint
        assert chunk.object == "chat.completion.chunk"  # type: ignore[attr-defined]


def test_stream_body_read_by_the_sdk_stream_parser() -> None:
    from huggingface_hub.errors import GenerationError
    from huggingface_hub.inference._common import _stream_chat_completion_response

    (ok,) = load_cassette(CASSETTES / "stream.yaml")
    outputs = list(_stream_chat_completion_response(ok.response.body.splitlines()))
    text = "".join(c.choices[0].delta.content or "" for c in outputs if c.choices)
    assert text == TEXT
    assert outputs[-1].usage is not None and outputs[-1].usage.completion_tokens == 9

    (bad,) = load_cassette(CASSETTES / "stream_error.yaml")
    with pytest.raises(GenerationError, match="upstream provider closed the connection"):
        list(_stream_chat_completion_response(bad.response.body.splitlines()))


ERROR_CASSETTES = {
    "error_401.yaml": "Invalid credentials in Authorization header",
    "error_404.yaml": "does not exist",
    "error_model_not_supported.yaml": "is not supported by any provider you have enabled",
    "error_402_quota.yaml": "You have depleted your monthly included credits",
    "error_context_length.yaml": "Please reduce the length of the messages or completion.",
    "error_429_then_ok.yaml": "Rate limit reached for Inference Providers requests",
    "error_429_exhausted.yaml": "Rate limit reached for Inference Providers requests",
    "error_5xx.yaml": "Internal Server Error",
    "deploy_not_found.yaml": "not found",
}


@pytest.mark.parametrize("name", sorted(ERROR_CASSETTES))
def test_error_bodies_raise_through_hf_raise_for_status(name: str) -> None:
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils._http import hf_raise_for_status

    failures = [i for i in load_cassette(CASSETTES / name) if i.response.status >= 400]
    assert failures
    for interaction in failures:
        recorded = interaction.response
        headers = [(k, v) for k, values in recorded.headers.items() for v in values]
        request = httpx2.Request(interaction.request.method, interaction.request.uri)
        response = httpx2.Response(
            recorded.status, headers=headers, content=recorded.body.encode(), request=request
        )
        with pytest.raises(HfHubHTTPError) as caught:
            hf_raise_for_status(response)
        assert caught.value.request_id == recorded.header("x-request-id")
        assert caught.value.server_message
        if interaction is failures[0]:
            assert ERROR_CASSETTES[name] in caught.value.server_message
        # and hostkit keeps the platform's own words
        mapped = translate(caught.value)
        assert mapped is not None and mapped.request_id == recorded.header("x-request-id")
        assert json.loads(recorded.body)  # every error body is JSON


def test_model_list_bodies_have_the_documented_fields() -> None:
    documented = {
        "provider",
        "status",
        "context_length",
        "pricing",
        "supports_tools",
        "supports_structured_output",
        "first_token_latency_ms",
        "throughput",
        "is_model_author",
    }
    bodies = [load_cassette(CASSETTES / "deploy.yaml")[0].response.json()]
    for name in ("offerings.yaml", "deploy_not_found.yaml"):
        listing = load_cassette(CASSETTES / name)[-1].response.json()
        assert listing["object"] == "list"
        bodies += listing["data"]
    for model in bodies:
        assert {"id", "object", "created", "owned_by", "architecture", "providers"} <= set(model)
        assert model["object"] == "model" and model["id"].startswith(model["owned_by"] + "/")
        for entry in model["providers"]:
            assert set(entry) <= documented and {"provider", "status"} <= set(entry)
            assert entry["status"] in ("live", "error")
            if "pricing" in entry:
                assert set(entry["pricing"]) == {"input", "output"}


def test_cassettes_hold_no_secrets() -> None:
    for path in sorted(CASSETTES.glob("*.yaml")):
        text = path.read_text()
        assert text.startswith("#"), f"{path.name} needs its comment header"
        assert FAKE_TOKEN not in text and not re.search(r"hf_[A-Za-z0-9]{16,}", text)
        for interaction in load_cassette(path):
            assert interaction.request.header("authorization") == REDACTED


def test_deployment_round_trips_and_prices_in_a_later_process(deployment: Deployment) -> None:
    """A deployment read back from JSON (another process) still knows the look-up's prices."""
    copy = Deployment.from_json(deployment.to_json())
    later = hostkit.get_provider("huggingface")  # a fresh instance: nothing cached
    with cassette(CASSETTES / "invoke.yaml"):
        result = later.invoke(copy, PROMPT, max_tokens=32)
    assert result.cost_usd == pytest.approx(INVOKE_USD)


def test_close_releases_clients(deployment: Deployment, provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "invoke.yaml"):
        hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert _has_client(provider)
    provider.close()
    assert not _has_client(provider)
    asyncio.run(provider.aclose())


def _has_client(provider: HuggingFaceProvider) -> bool:
    return provider.router._client is not None


# -- the compliance kit ------------------------------------------------------------------
class HuggingFaceFixtures(ProviderFixtures):
    provider_name = "huggingface"
    credentials = {"HF_TOKEN": FAKE_TOKEN}
    cassette_folder = CASSETTES
    spec_fields = {"model": MODEL}
    invoke_params = {"max_tokens": 32}

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        if scenario == "error_404":  # a model id the router does not know
            assert isinstance(provider, HuggingFaceProvider)
            deployment = bare(provider, "meta-llama/Llama-3.3-70B-Instrukt")
        return provider.invoke(deployment, self.invoke_request, **self.invoke_params)


class TestHuggingFaceCompliance(HuggingFaceFixtures, ProviderComplianceTests):
    """The router half. The class-level capabilities cover both halves (dedicated=True), so
    the scenarios the kit lets a serverless provider run silently are declared silent here:
    the router half creates nothing and sends nothing for them."""

    @contextlib.contextmanager
    def scenario(
        self, provider: Provider, name: str, *, may_be_silent: bool = False
    ) -> Iterator[ScenarioRun]:
        silent = may_be_silent or name in MAY_BE_SILENT
        with super().scenario(provider, name, may_be_silent=silent) as run:
            yield run

    def test_failed_deploy_raises_with_the_reason_and_cleans_up(self, provider: Provider) -> None:
        """The router half creates nothing: a model it does not serve fails with the router's
        reason and leaves no record."""
        with (
            cassette(CASSETTES / "deploy_not_found.yaml"),
            pytest.raises(errors.NotFound) as caught,
        ):
            provider.deploy(
                {"provider": "huggingface", "model": "meta-llama/Llama-3.3-70B-Instrukt"}
            )
        assert caught.value.message
        assert provider.find("Llama-3.3-70B-Instrukt") is None
