"""The cerebras adapter against recorded Cerebras exchanges (strict replay, no network).

Each scenario has its own cassette in ``cassettes/`` (named by operation and
scenario). Waits between retries go to a recording fake, so nothing sleeps.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostkit_providers.cerebras import CerebrasProvider
from hostkit_providers.cerebras.provider import rate_limits_from, timings_from

import hostkit
from hostkit import errors
from hostkit._api import provider_for
from hostkit._models import Deployment
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes"
MODEL = "gpt-oss-120b"
UNPRICED = "qwen-3.8-27b"
PROMPT = "Say hello in five words."
TEXT = "Hello there, nice to meet!"
FAKE_KEY = "csk-test-not-a-real-key"
#: gpt-oss-120b at $0.35 / $0.75 per million tokens, 76 tokens in and 29 out
INVOKE_COST = (76 * 0.35 + 29 * 0.75) / 1e6


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEREBRAS_API_KEY", FAKE_KEY)
    monkeypatch.delenv("CEREBRAS_BASE_URL", raising=False)
    monkeypatch.delenv("CEREBRAS_CUSTOM_HEADERS", raising=False)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def provider(waits: list[float]) -> CerebrasProvider:
    """The shared instance hostkit's functions use, with recorded (not real) waits."""
    instance = provider_for("cerebras")
    assert isinstance(instance, CerebrasProvider)

    async def asleep(seconds: float) -> None:
        waits.append(seconds)

    instance.retry.sleep = waits.append
    instance.retry.asleep = asleep
    return instance


@pytest.fixture
def dep(provider: CerebrasProvider) -> Deployment:
    """A deployment of gpt-oss-120b without the look-up (for invoke-only scenarios)."""
    return provider.serverless_deployment("chat", MODEL, None, {})


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every socket connection attempt is recorded and refused."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def played(recorded: Any) -> int:
    """How many recorded responses were served (every one of them, in strict replay)."""
    assert recorded.all_played, "the cassette holds requests that were never made"
    return int(recorded.play_count)


# -- registry, construction, credentials ---------------------------------------------
def test_registered_installed_with_capabilities() -> None:
    info = {i.name: i for i in hostkit.available_providers()}["cerebras"]
    assert info.installed
    assert info.target == "hostkit_providers.cerebras:CerebrasProvider"
    assert info.capabilities == {
        "dedicated": False,
        "streaming": True,
        "native_async": True,
        "manual_scaling": False,
        "autoscaling": False,
        "scale_to_zero": False,
    }
    assert info.install_command == 'pip install "hostkit-ml[cerebras]"'
    assert info.description


def test_module_imports_without_the_sdk() -> None:
    """The adapter module needs no SDK to import; using it names the pip command."""
    code = (
        "import sys; sys.modules['cerebras'] = None\n"
        "from hostkit_providers.cerebras import CerebrasProvider\n"
        "assert 'cerebras.cloud.sdk' in CerebrasProvider.missing_modules()\n"
        "import hostkit\n"
        "try:\n"
        "    hostkit.get_provider('cerebras')\n"
        "except hostkit.errors.DependencyMissing as error:\n"
        "    print(error.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert 'pip install "hostkit-ml[cerebras]"' in done.stdout


def test_construction_sends_nothing(no_network: list[Any]) -> None:
    provider = hostkit.get_provider("cerebras")
    assert isinstance(provider, CerebrasProvider)
    client, aclient = provider.client, provider.aclient  # the SDK clients, built now
    assert no_network == []  # no GET /v1/tcp_warming, no connection at all
    # hostkit's retry policy is the only one, and each client is built once
    assert client.max_retries == 0 and aclient.max_retries == 0
    assert provider.client is client and provider.aclient is aclient
    assert client.timeout.read == provider.timeout


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, dep: Deployment) -> None:
    monkeypatch.delenv("CEREBRAS_API_KEY")
    with pytest.raises(errors.AuthenticationError, match="CEREBRAS_API_KEY"):
        hostkit.invoke(dep, PROMPT)


def test_base_url_setting_is_honoured() -> None:
    provider = CerebrasProvider(base_url="https://cerebras-proxy.internal.example/v1", timeout=5)
    assert str(provider.client.base_url).rstrip("/") == "https://cerebras-proxy.internal.example"
    assert provider.endpoint_for(MODEL) == (
        "https://cerebras-proxy.internal.example/v1/chat/completions"
    )
    assert provider.client.timeout.read == 5


def test_sdk_base_url_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEREBRAS_BASE_URL", "https://cerebras-gw.example/")
    assert (
        CerebrasProvider().endpoint_for(MODEL) == "https://cerebras-gw.example/v1/chat/completions"
    )
    setting_wins = CerebrasProvider(base_url="https://other.example")
    assert setting_wins.endpoint_for(MODEL) == "https://other.example/v1/chat/completions"


# -- the whole lifecycle ------------------------------------------------------------
def test_deploy_invoke_stream_cost_teardown(
    provider: CerebrasProvider, no_network: list[Any]
) -> None:
    with cassette(CASSETTES / "deploy.yaml") as recorded:
        dep = hostkit.deploy(provider="cerebras", model=MODEL)
    assert played(recorded) == 1
    assert dep.status == "ready" and dep.model == MODEL
    assert dep.endpoint == "https://api.cerebras.ai/v1/chat/completions"
    assert dep.raw["owned_by"] == "OpenAI"

    # a later call finds the local record: no request
    assert hostkit.get_provider("cerebras").get(dep.name).model == MODEL

    with cassette(CASSETTES / "invoke.yaml") as recorded:
        result = hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 1
    assert result.text == TEXT
    assert result.output["reasoning"].startswith("The user wants")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (76, 29)
    assert result.latency_s > 0 and result.ttft_s is None
    assert result.request_id == "9a2f6c1e4b7d0e10-SJC"
    assert result.raw["id"] == "chatcmpl-3f9c1b2e-7a41-4d7b-9b1e-5c0d2a8e6f10"
    assert result.cost_usd == pytest.approx(INVOKE_COST)
    assert result.timings == {
        "queue_time": 0.000412,
        "prompt_time": 0.00231,
        "completion_time": 0.009844,
        "total_time": 0.01493,
    }
    assert result.rate_limits["remaining_requests"] == 14398
    assert result.rate_limits["remaining_tokens"] == 59712
    assert result.rate_limits["reset_tokens_s"] == pytest.approx(11.382867097854614)
    assert result.rate_limits["reset_requests_day_s"] == pytest.approx(33011.382867097855)

    with cassette(CASSETTES / "stream.yaml") as recorded:
        stream = hostkit.stream(dep, PROMPT, max_tokens=256)
        chunks = list(stream)
    assert played(recorded) == 1
    assert chunks == ["Hello", " there", ",", " nice", " to", " meet", "!"]
    final = stream.result
    assert final is not None and final.text == TEXT
    assert final.ttft_s is not None and 0 < final.ttft_s <= final.latency_s
    assert final.timings["total_time"] == pytest.approx(0.01493)
    assert final.cost_usd == pytest.approx(INVOKE_COST)
    assert final.request_id == "9a2f6c1e4b7d0e12-SJC"

    estimate = hostkit.cost(dep, input_tokens=1_000_000, output_tokens=2_000_000)
    assert estimate.usd == pytest.approx(0.35 + 2 * 0.75)
    assert estimate.source == "https://inference-docs.cerebras.ai/models/openai-oss"
    assert estimate.as_of
    idle = hostkit.cost(dep, hours=24)
    assert idle.usd == 0.0

    hostkit.teardown(dep)
    hostkit.teardown(dep)  # twice is fine: nothing exists on the platform
    with pytest.raises(errors.NotFound):
        hostkit.get_provider("cerebras").get(dep.name)
    assert no_network == []


async def test_ainvoke(provider: CerebrasProvider, dep: Deployment) -> None:
    with cassette(CASSETTES / "ainvoke.yaml") as recorded:
        result = await hostkit.ainvoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 1
    assert result.text == TEXT
    assert (result.usage.input_tokens, result.usage.output_tokens) == (76, 29)
    assert result.request_id == "9a2f6c1e4b7d0e11-SJC"
    assert result.cost_usd == pytest.approx(INVOKE_COST)
    assert result.rate_limits["remaining_requests"] == 14397
    assert result.timings["queue_time"] == pytest.approx(0.000412)
    await provider.aclose()


def test_ainvoke_from_two_event_loops(provider: CerebrasProvider, dep: Deployment) -> None:
    """A second ``asyncio.run`` gets a client of its own (pooled connections are per loop)."""
    import asyncio

    with cassette(CASSETTES / "ainvoke.yaml"):
        first = asyncio.run(hostkit.ainvoke(dep, PROMPT, max_tokens=256))
    client = provider._clients.current_async
    with cassette(CASSETTES / "invoke.yaml"):  # the same request, answered again
        second = asyncio.run(hostkit.ainvoke(dep, PROMPT, max_tokens=256))
    assert first.text == second.text == TEXT
    assert client is not None and provider._clients.current_async is not client


def test_stream_and_invoke_agree(dep: Deployment) -> None:
    with cassette(CASSETTES / "invoke.yaml"):
        whole = hostkit.invoke(dep, PROMPT, max_tokens=256)
    with cassette(CASSETTES / "stream.yaml"):
        stream = hostkit.stream(dep, PROMPT, max_tokens=256)
        text = stream.text()
    assert stream.result is not None
    assert text == whole.text
    assert stream.result.usage == whole.usage
    assert stream.result.cost_usd == pytest.approx(whole.cost_usd)
    assert stream.result.timings.keys() == whole.timings.keys()
    assert stream.result.output["reasoning"] == whole.output["reasoning"]


def test_unknown_model_names_closest_served(provider: CerebrasProvider) -> None:
    with (
        cassette(CASSETTES / "deploy_not_found.yaml") as recorded,
        pytest.raises(errors.NotFound) as caught,
    ):
        hostkit.deploy(provider="cerebras", model="gpt-oss-20b")
    assert played(recorded) == 2  # the look-up, then the list for suggestions
    message = caught.value.message
    assert "closest served models: gpt-oss-120b" in message
    assert "does not exist or you do not have access to it" in message  # Cerebras' words
    assert caught.value.status_code == 404
    assert caught.value.request_id == "9a2f6c1e4b7d0e02-SJC"
    assert provider.find("gpt-oss-20b") is None  # nothing left behind


def test_unpriced_model_warns_once(provider: CerebrasProvider) -> None:
    with cassette(CASSETTES / "invoke_unpriced.yaml") as recorded:
        dep = hostkit.deploy(provider="cerebras", model=UNPRICED)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first = hostkit.invoke(dep, PROMPT, max_tokens=256)
            second = hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 3
    assert first.cost_usd is None and second.cost_usd is None
    assert first.usage.input_tokens == 18  # usage is still reported
    price_warnings = [w for w in caught if issubclass(w.category, errors.PriceUnknown)]
    assert len(price_warnings) == 1
    assert f'[prices.cerebras."{UNPRICED}"]' in str(price_warnings[0].message)


def test_config_price_override(provider: CerebrasProvider) -> None:
    Path("hostkit.toml").write_text(
        f'[prices.cerebras."{UNPRICED}"]\ninput_per_million = 1.0\noutput_per_million = 2.0\n',
        encoding="utf-8",
    )
    configured = hostkit.get_provider("cerebras")
    spec = {"provider": "cerebras", "model": UNPRICED}
    estimate = hostkit.cost(spec, input_tokens=500_000, output_tokens=250_000)
    assert estimate.usd == pytest.approx(1.0)
    assert "hostkit.toml" in (estimate.source or "")
    row = configured.prices.find(MODEL)
    assert row is not None and row.input_per_million == 0.35  # shipped rows stay


def test_scale_is_unsupported_and_says_why(dep: Deployment) -> None:
    with pytest.raises(errors.Unsupported) as caught:
        hostkit.scale(dep, 2)
    assert "scales automatically" in caught.value.message
    assert "Dedicated Inference" in caught.value.message


def test_offerings_are_the_priced_models(provider: CerebrasProvider) -> None:
    offerings = {o.name: o for o in provider.offerings()}
    assert MODEL in offerings
    assert offerings[MODEL].usd_per_million_input == 0.35
    assert offerings[MODEL].usd_per_million_output == 0.75
    assert all(o.source and o.as_of for o in offerings.values())


# -- errors -------------------------------------------------------------------------------
def test_error_401(dep: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_401.yaml") as recorded,
        pytest.raises(errors.AuthenticationError) as caught,
    ):
        hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 1 and waits == []
    assert caught.value.message == "Wrong API Key"
    assert caught.value.status_code == 401
    assert caught.value.request_id == "9a2f6c1e4b7d0e20-SJC"
    assert FAKE_KEY not in str(caught.value)


def test_error_404(provider: CerebrasProvider) -> None:
    missing = provider.serverless_deployment("gone", "gpt-oss-20b", None, {})
    with (
        cassette(CASSETTES / "error_404.yaml") as recorded,
        pytest.raises(errors.NotFound) as caught,
    ):
        hostkit.invoke(missing, PROMPT, max_tokens=256)
    assert played(recorded) == 1
    assert "gpt-oss-20b does not exist" in caught.value.message
    assert caught.value.request_id == "9a2f6c1e4b7d0e21-SJC"


def test_error_429_then_ok(dep: Deployment, waits: list[float]) -> None:
    with cassette(CASSETTES / "error_429_then_ok.yaml") as recorded:
        result = hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 2  # one 429, one retry: never doubled by the SDK
    assert waits == [1.0]  # retry-after: 1
    assert result.text == TEXT
    assert result.request_id == "9a2f6c1e4b7d0e23-SJC"
    assert result.latency_s < 1.0  # the request's own time, not the wait before it


def test_error_429_exhausted(dep: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_429_exhausted.yaml") as recorded,
        pytest.raises(errors.RateLimited) as caught,
    ):
        hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 4  # 1 try + 3 retries (max_retries=3), SDK retries off
    assert waits == [2.0, 2.0, 2.0]
    assert caught.value.retry_after == 2.0
    assert caught.value.message.startswith("Requests per minute limit exceeded")
    assert caught.value.request_id == "9a2f6c1e4b7d0e33-SJC"


async def test_error_429_then_ok_async(dep: Deployment, waits: list[float]) -> None:
    with cassette(CASSETTES / "error_429_then_ok.yaml") as recorded:
        result = await hostkit.ainvoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 2
    assert waits == [1.0]
    assert result.text == TEXT


def test_error_5xx(dep: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_5xx.yaml") as recorded,
        pytest.raises(errors.ProviderError) as caught,
    ):
        hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 4
    assert len(waits) == 3 and all(0 < w <= 20 for w in waits)  # backoff, no retry-after
    assert caught.value.status_code == 503
    assert caught.value.retryable
    assert "Service temporarily unavailable" in caught.value.message
    assert caught.value.request_id == "9a2f6c1e4b7d0e43-SJC"


def test_daily_quota_is_quota_exceeded(dep: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_quota_exceeded.yaml") as recorded,
        pytest.raises(errors.QuotaExceeded) as caught,
    ):
        hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 1 and waits == []  # waiting seconds would not help
    assert "Tokens per day limit exceeded" in caught.value.message
    assert "daily tokens quota" in caught.value.message
    assert "resets in 9h10m" in caught.value.message
    assert not caught.value.retryable


def test_context_length_names_the_limit(dep: Deployment, waits: list[float]) -> None:
    with (
        cassette(CASSETTES / "error_context_length.yaml") as recorded,
        pytest.raises(errors.ProviderError) as caught,
    ):
        hostkit.invoke(dep, PROMPT, max_tokens=256)
    assert played(recorded) == 1 and waits == []
    assert "context limit of 131,072 tokens" in caught.value.message
    assert "Current length is 140312" in caught.value.message  # the platform's words
    assert caught.value.status_code == 400 and not caught.value.retryable


def test_error_event_mid_stream(dep: Deployment, waits: list[float]) -> None:
    received: list[str] = []
    with (
        cassette(CASSETTES / "stream_error.yaml") as recorded,
        pytest.raises(errors.ProviderError) as caught,
    ):
        for piece in hostkit.stream(dep, PROMPT, max_tokens=256):
            received.append(piece)
    assert played(recorded) == 1 and waits == []  # text had arrived: never retried
    assert received == ["Hello", " there", ","]
    assert caught.value.message == (
        "error in stream: Encountered a server error while generating; please retry the request."
    )
    assert caught.value.status_code == 500
    assert caught.value.request_id == "9a2f6c1e4b7d0e13-SJC"
    assert not caught.value.retryable


def test_stream_cut_mid_way(dep: Deployment) -> None:
    received: list[str] = []
    with cassette(CASSETTES / "stream_cut.yaml"), pytest.raises(errors.ProviderError) as caught:
        for piece in hostkit.stream(dep, PROMPT, max_tokens=256):
            received.append(piece)
    assert received == ["Hello", " there", ",", " nice"]  # what arrived before the cut
    assert "ended before the model finished" in caught.value.message
    assert caught.value.request_id == "9a2f6c1e4b7d0e14-SJC"


def test_stream_param_on_invoke_is_refused(dep: Deployment) -> None:
    with pytest.raises(errors.ConfigError, match=r"hostkit\.stream"):
        hostkit.invoke(dep, PROMPT, stream=True)


def test_parameters_pass_through(provider: CerebrasProvider, dep: Deployment) -> None:
    kwargs = provider._create_kwargs(
        dep,
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        {
            "max_tokens": 8,
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["\n"],
            "seed": 7,
            "response_format": {"type": "json_object"},
            "tools": [],
            "brand_new_field": {"a": 1},
        },
        stream=False,
    )
    assert kwargs["model"] == MODEL and kwargs["messages"][0]["role"] == "system"
    for name in ("max_tokens", "temperature", "top_p", "stop", "seed", "response_format", "tools"):
        assert name in kwargs
    assert kwargs["extra_body"] == {"brand_new_field": {"a": 1}}  # unknown to the SDK: passed on


# -- every SDK exception is mapped (like httpx's test_exceptions) -------------------------------
def _sdk_error(cls: type[Exception], status: int = 400) -> Exception:
    import cerebras.cloud.sdk as sdk

    request = httpx.Request("POST", "https://api.cerebras.ai/v1/chat/completions")
    response = httpx.Response(
        status,
        request=request,
        headers={"cf-ray": "9a2f6c1e4b7d0eff-SJC"},
        json={"message": "m", "type": "t", "param": None, "code": "c"},
    )
    body = {"message": "m", "type": "t", "param": None, "code": "c"}
    if issubclass(cls, sdk.APIStatusError):
        return cls("m", response=response, body=body)
    if issubclass(cls, sdk.APIResponseValidationError):
        return cls(response=response, body=body)
    if issubclass(cls, sdk.APITimeoutError):
        return cls(request=request)
    if issubclass(cls, sdk.APIConnectionError):
        return cls(request=request)
    if issubclass(cls, sdk.APIError):
        return cls("m", request, body=None)
    return cls("m")


def _public_exceptions() -> list[type[Exception]]:
    import cerebras.cloud.sdk as sdk

    found = [getattr(sdk, name) for name in sdk.__all__]
    return [c for c in found if isinstance(c, type) and issubclass(c, Exception)]


def test_every_public_sdk_exception_is_mapped(provider: CerebrasProvider) -> None:
    classes = _public_exceptions()
    assert len(classes) >= 14  # the SDK's whole tree, from CerebrasError down
    for cls in classes:
        mapped = provider.translate_error(_sdk_error(cls, getattr(cls, "status_code", 400)))
        assert isinstance(mapped, errors.HostkitError), cls.__name__
        assert mapped.provider == "cerebras"


@pytest.mark.parametrize(
    ("name", "status", "expected", "retryable"),
    [
        ("BadRequestError", 400, errors.ProviderError, False),
        ("AuthenticationError", 401, errors.AuthenticationError, False),
        ("APIStatusError", 402, errors.QuotaExceeded, False),
        ("PermissionDeniedError", 403, errors.AuthenticationError, False),
        ("NotFoundError", 404, errors.NotFound, False),
        ("ConflictError", 409, errors.ProviderError, False),
        ("APIStatusError", 413, errors.ProviderError, False),
        ("UnprocessableEntityError", 422, errors.ProviderError, False),
        ("RateLimitError", 429, errors.RateLimited, True),
        ("InternalServerError", 500, errors.ProviderError, True),
        ("InternalServerError", 503, errors.ProviderError, True),
        ("APITimeoutError", 0, errors.Timeout, True),
        ("APIConnectionError", 0, errors.ProviderError, True),
        ("APIResponseValidationError", 200, errors.ProviderError, False),
        ("APIError", 0, errors.ProviderError, False),
        ("CerebrasError", 0, errors.ProviderError, False),
    ],
)
def test_sdk_exception_mapping(
    provider: CerebrasProvider, name: str, status: int, expected: type, retryable: bool
) -> None:
    import cerebras.cloud.sdk as sdk

    mapped = provider.translate_error(_sdk_error(getattr(sdk, name), status or 400))
    assert type(mapped) is expected
    assert mapped.retryable is retryable
    if status >= 400:
        assert mapped.status_code == status
        assert mapped.request_id == "9a2f6c1e4b7d0eff-SJC"


def test_broken_connection_mid_body_is_mapped(provider: CerebrasProvider) -> None:
    mapped = provider.translate_error(httpx.RemoteProtocolError("peer closed connection"))
    assert isinstance(mapped, errors.ProviderError) and not mapped.retryable
    assert "broke mid-response" in mapped.message


# -- the cassettes are what the SDK expects: it parses every one of them --------------------------
def _no_unknown_fields(model: Any, where: str) -> None:
    """Every field of a (nested) SDK model is declared by the SDK's type: no typos."""
    from pydantic import BaseModel

    if isinstance(model, BaseModel):
        assert not model.model_extra, f"{where}: fields the SDK does not know: {model.model_extra}"
        for name in type(model).model_fields:
            _no_unknown_fields(getattr(model, name), f"{where}.{name}")
    elif isinstance(model, list):
        for index, item in enumerate(model):
            _no_unknown_fields(item, f"{where}[{index}]")


def _cassette_responses() -> Iterator[tuple[str, Any]]:
    for path in sorted(CASSETTES.glob("*.yaml")):
        for index, interaction in enumerate(load_cassette(path)):
            yield f"{path.name}#{index}", interaction


@pytest.mark.parametrize(
    ("where", "interaction"),
    list(_cassette_responses()),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_sdk_parses_every_recorded_body(where: str, interaction: Any) -> None:
    from cerebras.cloud.sdk import Cerebras
    from cerebras.cloud.sdk.types.chat.chat_completion import (
        ChatChunkResponse,
        ChatCompletionResponse,
        ErrorChunkResponse,
    )
    from cerebras.cloud.sdk.types.model_list_response import ModelMetadataList
    from cerebras.cloud.sdk.types.model_retrieve_response import ModelMetadata

    request, response = interaction.request, interaction.response
    assert request.header("authorization") == "REDACTED"
    assert response.header("cf-ray")  # every answer carries its request id
    client = Cerebras(api_key=FAKE_KEY, max_retries=0, warm_tcp_connection=False)
    http_response = httpx.Response(
        response.status,
        headers={k: v[0] for k, v in response.headers.items()},
        content=response.body.encode(),
        request=httpx.Request(request.method, request.uri),
    )
    if response.status >= 400:
        # the SDK builds its own exception from the body, with the platform's message
        error = client._make_status_error_from_response(http_response)
        assert error.status_code == response.status
        assert isinstance(error.body, dict) and error.body["message"] in str(error)
        assert set(error.body) == {"message", "type", "param", "code"}  # flat, no wrapper
        return
    if request.path == "/v1/models":
        _no_unknown_fields(ModelMetadataList.model_validate(response.json()), where)
    elif request.path.startswith("/v1/models/"):
        _no_unknown_fields(ModelMetadata.model_validate(response.json()), where)
    elif (response.header("content-type") or "").startswith("text/event-stream"):
        events = list(client._make_sse_decoder().iter_bytes(iter([response.body.encode()])))
        assert events, where
        for event in events:
            data = event.json()
            kind = ErrorChunkResponse if "error" in data else ChatChunkResponse
            _no_unknown_fields(kind.model_validate(data), where)
    else:
        parsed = ChatCompletionResponse.model_validate(response.json())
        _no_unknown_fields(parsed, where)
        assert parsed.usage is not None and parsed.time_info is not None
    client.close()


def test_recorded_requests_are_json_chat_bodies() -> None:
    """Every recorded POST is a JSON chat body (matched as JSON, whatever the key order)."""
    for where, interaction in _cassette_responses():
        if interaction.request.method == "POST":
            body = json.loads(interaction.request.body or "{}")
            assert body["messages"] == [{"role": "user", "content": PROMPT}], where
            assert interaction.request.header("content-type") == "application/json", where


# -- header and timing parsing -------------------------------------------------------------
def test_rate_limit_headers() -> None:
    limits = rate_limits_from(
        {
            "x-ratelimit-limit-requests-day": "14400",
            "X-RateLimit-Remaining-Requests-Day": "0",
            "x-ratelimit-reset-requests-day": "33011.382867097855",
            "x-ratelimit-remaining-tokens-minute": "59712",
            "x-ratelimit-reset-tokens-minute": "11.38",
            "x-ratelimit-remaining-requests-hour": "875",
            "x-ratelimit-reset-tokens-hour": "not a number",
            "content-type": "application/json",
        }
    )
    assert limits == {
        "limit_requests_day": 14400,
        "limit_requests": 14400,
        "remaining_requests_day": 0,
        "remaining_requests": 0,
        "reset_requests_day_s": 33011.382867097855,
        "reset_requests_s": 33011.382867097855,
        "remaining_tokens_minute": 59712,
        "remaining_tokens": 59712,
        "reset_tokens_minute_s": 11.38,
        "reset_tokens_s": 11.38,
        "remaining_requests_hour": 875,
    }


def test_timings_keep_durations_only() -> None:
    assert timings_from(
        {
            "queue_time": 0.1,
            "prompt_time": 0.2,
            "completion_time": 0.3,
            "total_time": 0.7,
            "created": 1795145412.09,
        }
    ) == {"queue_time": 0.1, "prompt_time": 0.2, "completion_time": 0.3, "total_time": 0.7}
    assert timings_from(None) == {}
