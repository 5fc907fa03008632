"""The ``groq`` adapter against recorded Groq responses (strict replay; no network).

Every cassette in ``cassettes/`` is one scenario (deploy, invoke, stream, errors...).
The bodies were built from the groq SDK's own types and are proven realistic by
:func:`test_cassette_bodies_parse_with_the_official_sdk`.
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

import groq
import httpx
import pytest
from groq.types import Model
from groq.types.chat import ChatCompletion, ChatCompletionChunk
from groq.types.model_list_response import ModelListResponse
from groq.types.shared import ErrorObject
from hostkit_providers.groq import GroqProvider
from hostkit_providers.groq.provider import rate_limits_from, timings_from

import hostkit
from hostkit import DeploymentSpec, errors
from hostkit.testing import cassette, load_cassette
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

CASSETTES = Path(__file__).parent / "cassettes"
FAKE_KEY = "gsk_testFakeKey000000"
MODEL = "openai/gpt-oss-120b"
PROMPT = "Say hello in five words."
PARAMS: dict[str, Any] = {"max_tokens": 64, "temperature": 0}
TEXT = "Hello there, nice meeting you!"
MODEL_INFO = {
    "id": MODEL,
    "object": "model",
    "created": 1754408224,
    "owned_by": "OpenAI",
    "active": True,
    "context_window": 131072,
    "public_apps": None,
    "max_completion_tokens": 65536,
}


# -- fixtures --------------------------------------------------------------------
@pytest.fixture(autouse=True)
def groq_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    for name in ("GROQ_BASE_URL", "GROQ_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


class Waits:
    """A recording stand-in for the retry policy's sleep (tests never really sleep)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def provider(waits: Waits) -> Iterator[GroqProvider]:
    made = hostkit.get_provider("groq")
    assert isinstance(made, GroqProvider)
    made.retry.sleep = waits
    made.retry.asleep = waits.asleep
    yield made
    made.close()


@pytest.fixture
def dep(provider: GroqProvider) -> hostkit.Deployment:
    """A deployment of the priced model as ``deploy`` records it (no request made)."""
    return provider.serverless_deployment("chat", MODEL, None, dict(MODEL_INFO))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail any attempt to open a socket connection (and remember it)."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"unexpected network connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def replay(name: str) -> Any:
    return cassette(CASSETTES / name)


# -- the compliance kit: the same scenarios every provider runs ---------------------------
class GroqFixtures(ProviderFixtures):
    provider_name = "groq"
    credentials = {"GROQ_API_KEY": FAKE_KEY}
    cassette_folder = CASSETTES
    spec_fields = {"model": MODEL}
    invoke_request = PROMPT
    invoke_params = PARAMS


class TestGroqCompliance(GroqFixtures, ProviderComplianceTests):
    """deploy, get, invoke/stream/ainvoke, scale, teardown, errors, secrets."""


# -- declarations and registration ------------------------------------------------
def test_module_imports_without_loading_the_sdk() -> None:
    code = (
        "import sys, hostkit_providers.groq as g; g.GroqProvider;"
        " print('groq' in sys.modules, 'httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_declarations() -> None:
    assert GroqProvider.name == "groq"
    assert GroqProvider.requires == ("groq",)
    assert GroqProvider.install_extra == "groq"
    assert GroqProvider.credential_env == "GROQ_API_KEY"
    assert GroqProvider.description and "\n" not in GroqProvider.description
    scale = GroqProvider.unsupported["scale"]
    assert "scales automatically" in scale and "dedicated" in scale
    caps = GroqProvider.capabilities
    assert not caps.dedicated and caps.streaming and caps.native_async


def test_registered_installed_with_capabilities(capsys: pytest.CaptureFixture[str]) -> None:
    info = {p.name: p for p in hostkit.available_providers()}["groq"]
    assert info.installed and info.target == "hostkit_providers.groq:GroqProvider"
    assert info.capabilities["streaming"] and not info.capabilities["dedicated"]
    from hostkit import cli

    assert cli.main(["providers", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed["groq"]["installed"] is True


# -- construction, credentials, clients --------------------------------------------------
def test_construction_sends_no_request(no_network: list[Any]) -> None:
    made = hostkit.get_provider("groq")
    assert isinstance(made, GroqProvider)
    made.client  # noqa: B018 - building the SDK clients sends nothing either
    made.aclient  # noqa: B018
    assert no_network == []


def test_construction_in_strict_replay_of_an_empty_cassette(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("version: 1\ninteractions: []\n")
    with cassette(empty) as recorded:
        made = hostkit.get_provider("groq")
        assert isinstance(made, GroqProvider)
        made.client  # noqa: B018
    assert recorded.play_count == 0


def test_missing_key_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, no_network: list[Any]
) -> None:
    monkeypatch.delenv("GROQ_API_KEY")
    made = hostkit.get_provider("groq")  # construction still works
    with pytest.raises(errors.AuthenticationError, match="GROQ_API_KEY"):
        made.deploy({"model": MODEL})
    assert no_network == []


def test_one_client_each_retries_off_base_url_and_timeout() -> None:
    made = hostkit.get_provider("groq", base_url="https://groq.example.test/openai/v1", timeout=7)
    assert isinstance(made, GroqProvider)
    client = made.client
    assert made.client is client  # one per instance, reused (connection pooling)
    assert made.aclient is made.aclient
    assert client.max_retries == 0 and made.aclient.max_retries == 0
    assert str(client.base_url).rstrip("/") == "https://groq.example.test"
    assert client.timeout.read == 7  # type: ignore[union-attr]
    assert client.api_key == FAKE_KEY


# -- the lifecycle ----------------------------------------------------------------------
def test_deploy_invoke_stream_cost_teardown() -> None:
    with replay("deploy.yaml") as recorded:
        dep = hostkit.deploy(provider="groq", model=MODEL, name="chat")
    assert recorded.play_count == 1
    assert dep.status == "ready" and dep.model == MODEL
    assert dep.endpoint == "https://api.groq.com/openai/v1/chat/completions"
    assert dep.raw["context_window"] == 131072 and dep.raw["serverless"] is True

    with replay("invoke.yaml"):
        result = hostkit.invoke(dep, PROMPT, **PARAMS)
    assert result.text == TEXT and result.provider == "groq" and result.model == MODEL
    assert result.output["reasoning"].startswith("The user wants")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (77, 29)
    assert result.request_id == "req_01kak2f0b7w3x9d5n1q8ze6mtc"
    assert 0 < result.latency_s < 5 and result.ttft_s is None
    assert result.cost_usd == pytest.approx((77 * 0.15 + 29 * 0.60) / 1e6)
    assert result.timings == {
        "queue_time": 0.049621843,
        "prompt_time": 0.004207611,
        "completion_time": 0.05842231,
        "total_time": 0.062629921,
    }
    assert result.rate_limits == {
        "limit_requests": 1000,
        "limit_tokens": 8000,
        "remaining_requests": 999,
        "remaining_tokens": 7946,
        "reset_requests_s": pytest.approx(86.4),
        "reset_tokens_s": pytest.approx(0.405),
    }

    with replay("stream.yaml"):
        stream = hostkit.stream(dep, PROMPT, **PARAMS)
        chunks = list(stream)
    assert "".join(chunks) == TEXT and len(chunks) == 7
    assert stream.result is not None and stream.result.ttft_s is not None
    assert 0 < stream.result.ttft_s <= stream.result.latency_s

    estimate = hostkit.cost(dep, input_tokens=1_000_000, output_tokens=1_000_000)
    assert estimate.usd == pytest.approx(0.75)
    assert estimate.source == "https://groq.com/pricing/" and estimate.as_of == "2026-06-04"
    assert hostkit.cost(dep, hours=24).usd == 0.0  # idle time is free on a serverless platform

    # found again by name from "another process" (the local record), without a request
    again = hostkit.get_provider("groq").get("chat")
    assert again.model == MODEL and again.status == "ready"

    hostkit.teardown(dep)
    assert dep.to_dict()["status"] == "deleted"
    hostkit.teardown(dep)  # twice is fine
    hostkit.teardown("chat")  # and by a name that no longer exists
    with pytest.raises(errors.NotFound):
        hostkit.get_provider("groq").get("chat")


@pytest.mark.vcr
@pytest.mark.default_cassette("ainvoke.yaml")
async def test_ainvoke_uses_the_native_async_client(dep: hostkit.Deployment) -> None:
    result = await hostkit.ainvoke(dep, PROMPT, **PARAMS)
    assert result.text == TEXT
    assert result.request_id == "req_01kak2g6c2n8y4e0p7r3vk1hbd"
    assert result.rate_limits["remaining_tokens"] == 7893
    assert result.timings["total_time"] == pytest.approx(0.062629921)
    assert result.cost_usd == pytest.approx((77 * 0.15 + 29 * 0.60) / 1e6)


async def test_ainvoke_retries_under_the_same_policy(dep: hostkit.Deployment, waits: Waits) -> None:
    with replay("error_429_then_ok.yaml") as recorded:
        result = await hostkit.ainvoke(dep, PROMPT, **PARAMS)
    assert result.text == TEXT
    assert recorded.play_count == 2 and waits.seconds == [1.0]


def test_each_event_loop_gets_its_own_async_client(dep: hostkit.Deployment) -> None:
    import asyncio

    provider = dep._provider
    assert isinstance(provider, GroqProvider)

    async def one_call() -> Any:
        await provider.ainvoke(dep, PROMPT, **PARAMS)
        return provider.aclient

    with replay("ainvoke.yaml"):
        first = asyncio.run(one_call())
    with replay("ainvoke.yaml"):
        second = asyncio.run(one_call())  # a second asyncio.run: a new loop, a new pool
    assert first is not second


def test_stream_and_invoke_agree(dep: hostkit.Deployment) -> None:
    with replay("invoke.yaml"):
        invoked = hostkit.invoke(dep, PROMPT, **PARAMS)
    with replay("stream.yaml"):
        stream = hostkit.stream(dep, PROMPT, **PARAMS)
        streamed = stream.text()
    result = stream.result
    assert result is not None
    assert streamed == invoked.text == result.text
    assert result.usage == invoked.usage
    assert result.cost_usd == invoked.cost_usd
    assert result.output == invoked.output  # reasoning gathered from the deltas too
    assert set(result.timings) == set(invoked.timings)  # from x_groq.usage on the last chunk
    assert result.request_id == "req_01kak2h3r9t5z1f7k2w6xb4nqe"
    assert result.rate_limits["reset_requests_s"] == pytest.approx(257.2)


def test_messages_and_mapping_requests_send_the_same_body(dep: hostkit.Deployment) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    with replay("invoke.yaml"):
        assert hostkit.invoke(dep, messages, **PARAMS).text == TEXT
    with replay("invoke.yaml"):
        assert hostkit.invoke(dep, {"messages": messages, **PARAMS}).text == TEXT


def test_deploy_of_an_unknown_model_names_the_closest_served_ones() -> None:
    with replay("deploy_not_found.yaml") as recorded, pytest.raises(errors.NotFound) as caught:
        hostkit.deploy(provider="groq", model="llama-3.1-8b")
    assert recorded.play_count == 2
    error = caught.value
    assert "llama-3.1-8b-instant" in error.message.split("closest served models:")[1]
    assert error.status_code == 404 and error.request_id == "req_01kak2e4s8p0hy2n6b9rjd3wqm"
    assert hostkit.get_provider("groq").records.names() == []  # nothing recorded


# -- errors -------------------------------------------------------------------------------
ERROR_SCENARIOS = [
    # cassette, hostkit error, Groq's words, request id, requests made
    ("error_401.yaml", errors.AuthenticationError, "Invalid API Key", "m5a0f3d9k6q2v8hb1xre", 1),
    ("error_5xx.yaml", errors.ProviderError, "Internal Server Error", "ch1v2r5y8c3g0wp5jds", 4),
    ("error_429_exhausted.yaml", errors.RateLimited, "(RPM): Limit 30", "jz2q5m8t4y9c6rj1ezn", 4),
    (
        "error_quota_daily.yaml",
        errors.QuotaExceeded,
        "(TPD): Limit 200000",
        "k3w4s7z9d4h1xq6kfv",
        1,
    ),
]


@pytest.mark.parametrize(
    ("name", "kind", "message", "request_id", "requests"),
    ERROR_SCENARIOS,
    ids=[s[0] for s in ERROR_SCENARIOS],
)
def test_errors_map_with_the_platform_message_and_request_id(
    dep: hostkit.Deployment,
    name: str,
    kind: type[errors.HostkitError],
    message: str,
    request_id: str,
    requests: int,
) -> None:
    with replay(name) as recorded, pytest.raises(kind) as caught:
        hostkit.invoke(dep, PROMPT, **PARAMS)
    error = caught.value
    assert message in error.message
    assert error.request_id and error.request_id.endswith(request_id)
    assert error.provider == "groq" and error.status_code is not None
    assert recorded.play_count == requests and recorded.all_played  # never doubled by the SDK
    assert not isinstance(error.__cause__, errors.HostkitError)  # the SDK error is chained


def test_401_says_which_key_to_check(dep: hostkit.Deployment) -> None:
    with replay("error_401.yaml"), pytest.raises(errors.AuthenticationError) as caught:
        hostkit.invoke(dep, PROMPT, **PARAMS)
    assert "check GROQ_API_KEY" in str(caught.value) and "HTTP 401" in str(caught.value)


def test_404_on_invoke_is_not_found(dep: hostkit.Deployment) -> None:
    with replay("error_404.yaml") as recorded, pytest.raises(errors.NotFound) as caught:
        hostkit.invoke(dep, PROMPT, **PARAMS)
    assert f"`{MODEL}` does not exist or you do not have access to it" in caught.value.message
    assert caught.value.request_id == "req_01kak2n2g7h4e0m8r3w9jc5ytf"
    assert recorded.play_count == 1


def test_429_then_ok_waits_retry_after_once(dep: hostkit.Deployment, waits: Waits) -> None:
    with replay("error_429_then_ok.yaml") as recorded:
        result = hostkit.invoke(dep, PROMPT, **PARAMS)
    assert result.text == TEXT and result.request_id == "req_01kak2q0m8k6g3p1t5y2me7avh"
    assert recorded.play_count == 2 and recorded.all_played
    assert waits.seconds == [1.0]


def test_429_exhausted_honours_each_retry_after(dep: hostkit.Deployment, waits: Waits) -> None:
    with (
        replay("error_429_exhausted.yaml") as recorded,
        pytest.raises(errors.RateLimited) as caught,
    ):
        hostkit.invoke(dep, PROMPT, **PARAMS)
    assert recorded.play_count == 4  # 1 try + max_retries=3
    assert waits.seconds == [2.0, 1.0, 3.0]
    assert caught.value.retry_after == 2.0


def test_5xx_backs_off_then_raises(dep: hostkit.Deployment, waits: Waits) -> None:
    with replay("error_5xx.yaml") as recorded, pytest.raises(errors.ProviderError) as caught:
        hostkit.invoke(dep, PROMPT, **PARAMS)
    assert recorded.play_count == 4 and len(waits.seconds) == 3
    assert all(0 < wait <= 20 for wait in waits.seconds)
    assert caught.value.status_code == 500 and caught.value.retryable


def test_daily_quota_is_not_retried(dep: hostkit.Deployment, waits: Waits) -> None:
    with (
        replay("error_quota_daily.yaml") as recorded,
        pytest.raises(errors.QuotaExceeded) as caught,
    ):
        hostkit.invoke(dep, PROMPT, **PARAMS)
    assert recorded.play_count == 1 and waits.seconds == []
    assert not caught.value.retryable and "15m37.44s" in caught.value.message


def test_413_names_the_limit_and_is_not_retried(dep: hostkit.Deployment, waits: Waits) -> None:
    prompt = "Write a long story about a lighthouse keeper."
    with replay("error_413.yaml") as recorded, pytest.raises(errors.ProviderError) as caught:
        hostkit.invoke(dep, prompt, max_tokens=9000)
    error = caught.value
    assert "tokens per minute (TPM) limit is 8000, this request needs 9081" in error.message
    assert "Request too large for model" in error.message  # Groq's own words kept
    assert error.status_code == 413 and not error.retryable
    assert error.request_id == "req_01kak2v6n5x6t9a1e5j2yr7mgw"
    assert recorded.play_count == 1 and waits.seconds == []


def test_context_length_names_the_models_window(provider: GroqProvider, waits: Waits) -> None:
    small = provider.serverless_deployment(
        "allam", "allam-2-7b", None, {"context_window": 4096, "max_completion_tokens": 4096}
    )
    with (
        replay("error_context_length.yaml") as recorded,
        pytest.raises(errors.ProviderError) as caught,
    ):
        provider.invoke(small, "Summarise the history of lighthouses.", max_tokens=4096)
    error = caught.value
    assert "context length exceeded" in error.message
    assert "Please reduce the length of the messages or completion." in error.message
    assert "allam-2-7b reads at most 4096 tokens" in error.message
    assert error.status_code == 400 and error.request_id == "req_01kak2w2q7y8v1b3f6k3zs8nhx"
    assert recorded.play_count == 1 and waits.seconds == []


def test_error_mid_stream_raises_with_the_platform_message(dep: hostkit.Deployment) -> None:
    received: list[str] = []
    with replay("stream_error.yaml"), pytest.raises(errors.ProviderError) as caught:
        for chunk in hostkit.stream(dep, PROMPT, **PARAMS):
            received.append(chunk)
    assert received == ["Hello", " there", ","]
    error = caught.value
    assert "error in stream" in error.message and "is currently over capacity" in error.message
    assert error.request_id == "req_01kak2j8d4v0b6h2m9s5yc7fpa"
    assert error.retryable  # server-side trouble: sending the request again may work
    assert isinstance(error.__cause__, groq.APIError)


def test_stream_cut_mid_way_is_an_error_not_a_short_answer(dep: hostkit.Deployment) -> None:
    with replay("stream_cut.yaml"):
        stream = hostkit.stream(dep, PROMPT, **PARAMS)
        received: list[str] = []
        with pytest.raises(errors.ProviderError, match="ended before the model finished") as caught:
            received.extend(stream)
    assert "".join(received) == "Hello there, nice"
    assert caught.value.request_id == "req_01kak2k1w6e2c8j4p0t7zd9gnb"
    assert stream.result is None


def test_unpriced_model_costs_none_with_exactly_one_warning(provider: GroqProvider) -> None:
    cheap = provider.serverless_deployment("fast", "qwen/qwen3-32b", None, {})
    with replay("invoke_unpriced.yaml") as recorded, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        first = provider.invoke(cheap, PROMPT, **PARAMS)
        second = provider.invoke(cheap, PROMPT, **PARAMS)
    assert recorded.play_count == 2
    assert first.cost_usd is None and second.cost_usd is None
    assert first.usage.total_tokens == 51 and first.text == "Hello, how are you today?"
    price_warnings = [w for w in seen if issubclass(w.category, errors.PriceUnknown)]
    assert len(price_warnings) == 1
    assert 'prices.groq."qwen/qwen3-32b"' in str(price_warnings[0].message)
    assert first.rate_limits["limit_requests"] == 14400


def test_config_price_override_fills_cost() -> None:
    # the isolated working dir of this test is where hostkit looks for hostkit.toml
    Path("hostkit.toml").write_text(
        '[prices.groq."qwen/qwen3-32b"]\n'
        "input_per_million = 0.29\noutput_per_million = 0.59\n"
        'source = "https://groq.com/pricing/"\n'
    )
    made = hostkit.get_provider("groq")
    cheap = made.serverless_deployment("fast", "qwen/qwen3-32b", None, {})  # type: ignore[attr-defined]
    with replay("invoke_unpriced.yaml"), warnings.catch_warnings():
        warnings.simplefilter("error", errors.PriceUnknown)
        result = made.invoke(cheap, PROMPT, **PARAMS)
    assert result.cost_usd == pytest.approx((43 * 0.29 + 8 * 0.59) / 1e6)
    offered = {o.name: o for o in made.offerings()}
    assert offered["qwen/qwen3-32b"].usd_per_million_output == 0.59
    assert offered["qwen/qwen3-32b"].source == "https://groq.com/pricing/"
    assert offered[MODEL].usd_per_million_input == 0.15  # the shipped rows stay


# -- operations a serverless platform does not have ------------------------------------
def test_scale_is_unsupported_and_names_the_dedicated_option(dep: hostkit.Deployment) -> None:
    with pytest.raises(errors.Unsupported, match=r"scales automatically.*dedicated"):
        hostkit.scale(dep, 2)


def test_dedicated_fields_are_refused(provider: GroqProvider, no_network: list[Any]) -> None:
    with pytest.raises(errors.ConfigError, match="instance is not used by groq"):
        provider.deploy(DeploymentSpec(provider="groq", model=MODEL, instance="gpu-a100"))
    assert no_network == []


# -- request building -------------------------------------------------------------------
def test_parameters_and_pass_through(provider: GroqProvider, dep: hostkit.Deployment) -> None:
    create = provider.client.chat.completions
    schema = {"type": "json_object"}
    kwargs = provider._request(
        dep,
        PROMPT,
        {"max_tokens": 5, "top_p": 0.9, "stop": ["\n"], "seed": 7, "response_format": schema,
         "stream_options": {"include_usage": True}},
        create,
    )  # fmt: skip
    assert kwargs["model"] == MODEL and kwargs["messages"] == [{"role": "user", "content": PROMPT}]
    assert kwargs["max_completion_tokens"] == 5 and "max_tokens" not in kwargs
    assert (kwargs["top_p"], kwargs["stop"], kwargs["seed"]) == (0.9, ["\n"], 7)
    assert kwargs["response_format"] == schema
    assert kwargs["extra_body"] == {"stream_options": {"include_usage": True}}  # unknown: body
    with pytest.raises(errors.ConfigError, match=r"hostkit\.stream"):
        provider._request(dep, PROMPT, {"stream": True}, create)
    with pytest.raises(errors.ConfigError, match="fixed by the deployment"):
        provider._request(dep, PROMPT, {"model": "other"}, create)
    with pytest.raises(errors.ConfigError, match="prompt string"):
        provider._request(dep, 42, {}, create)


# -- error translation, exhaustively ------------------------------------------------------
def _response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://api.groq.com/openai/v1/chat/completions")
    return httpx.Response(status, json=body, headers=headers or {}, request=request)


def _sdk_error(cls: type[Exception]) -> Exception:
    request = httpx.Request("POST", "https://api.groq.com/openai/v1/chat/completions")
    if cls is groq.APIResponseValidationError:
        return cls(response=_response(200, {}), body={})
    if issubclass(cls, groq.APIStatusError):
        status = getattr(cls, "status_code", 500) if cls is not groq.APIStatusError else 418
        if cls is groq.InternalServerError:
            status = 502
        body = {"error": {"message": "boom", "type": "x"}}
        return cls("boom", response=_response(status, body), body=body)
    if cls is groq.APITimeoutError:
        return cls(request=request)
    if cls is groq.APIConnectionError:
        return cls(request=request)
    if cls is groq.APIError:
        return cls("boom", request, body={"message": "boom"})
    return cls("boom")


SDK_EXCEPTIONS = sorted(
    (getattr(groq, name) for name in groq.__all__),
    key=lambda c: c.__name__ if isinstance(c, type) else "",
)
SDK_EXCEPTIONS = [c for c in SDK_EXCEPTIONS if isinstance(c, type) and issubclass(c, Exception)]


def test_the_sdk_exports_the_exceptions_we_expect() -> None:
    assert len(SDK_EXCEPTIONS) == 14  # a new one in a new SDK version fails here first


@pytest.mark.parametrize("cls", SDK_EXCEPTIONS, ids=lambda c: c.__name__)
def test_every_public_sdk_exception_is_mapped(provider: GroqProvider, cls: type[Exception]) -> None:
    mapped = provider.translate_error(_sdk_error(cls))
    assert isinstance(mapped, errors.HostkitError), cls
    assert mapped.provider == "groq"
    if cls not in (groq.APITimeoutError, groq.APIConnectionError, groq.APIResponseValidationError):
        assert "boom" in mapped.message  # the SDK's / platform's message reaches the user
    expected: dict[type[Exception], type[errors.HostkitError]] = {
        groq.AuthenticationError: errors.AuthenticationError,
        groq.PermissionDeniedError: errors.AuthenticationError,
        groq.NotFoundError: errors.NotFound,
        groq.RateLimitError: errors.RateLimited,
        groq.APITimeoutError: errors.Timeout,
    }
    assert isinstance(mapped, expected.get(cls, errors.HostkitError))
    if cls in (groq.InternalServerError, groq.APIConnectionError):
        assert mapped.retryable
    if cls in (groq.BadRequestError, groq.UnprocessableEntityError, groq.ConflictError):
        assert not mapped.retryable


def test_httpx_failures_while_reading_a_stream_are_mapped(provider: GroqProvider) -> None:
    cut = provider.translate_error(httpx.RemoteProtocolError("peer closed connection"))
    assert isinstance(cut, errors.ProviderError) and cut.retryable
    slow = provider.translate_error(httpx.ReadTimeout("read timed out"))
    assert isinstance(slow, errors.Timeout)
    assert provider.translate_error(ValueError("not ours")) is None


def test_rate_limit_reset_durations_give_retry_after(provider: GroqProvider) -> None:
    body = {"error": {"message": "Rate limit reached", "type": "requests"}}
    headers = {"x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-reset-tokens": "7.66s"}
    error = groq.RateLimitError("x", response=_response(429, body, headers), body=body)
    mapped = provider.translate_error(error)
    assert isinstance(mapped, errors.RateLimited) and mapped.retry_after == pytest.approx(179.56)
    body["error"]["type"] = "tokens"
    mapped = provider.translate_error(
        groq.RateLimitError("x", response=_response(429, body, headers), body=body)
    )
    assert isinstance(mapped, errors.RateLimited) and mapped.retry_after == pytest.approx(7.66)
    with_ms = {**headers, "retry-after-ms": "1500"}
    mapped = provider.translate_error(
        groq.RateLimitError("x", response=_response(429, body, with_ms), body=body)
    )
    assert isinstance(mapped, errors.RateLimited) and mapped.retry_after == 1.5


def test_helpers_read_headers_and_usage() -> None:
    assert rate_limits_from({"x-ratelimit-reset-tokens": "2m59.56s"}) == {
        "reset_tokens_s": pytest.approx(179.56)
    }
    assert timings_from(None) == {} and timings_from({"queue_time": 0.5, "x": 1}) == {
        "queue_time": 0.5
    }


# -- the cassettes are what Groq sends: the official SDK parses every body ----------------
def _sse_events(body: str) -> list[tuple[str | None, str]]:
    from groq._streaming import SSEDecoder

    return [(e.event, e.data) for e in SSEDecoder().iter_bytes(iter([body.encode()]))]


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.name)
def test_cassette_bodies_parse_with_the_official_sdk(path: Path) -> None:
    client = groq.Groq(api_key=FAKE_KEY, max_retries=0)
    assert path.read_text().startswith("# "), "every cassette starts with a comment header"
    for interaction in load_cassette(path):
        request, response = interaction.request, interaction.response
        assert request.header("authorization") == "REDACTED"
        assert str(response.header("x-request-id")).startswith("req_")
        if request.method == "POST":
            assert request.path == "/openai/v1/chat/completions"
            sent = request.json()
            assert isinstance(sent["messages"], list) and sent["model"]
        if response.status >= 400:
            body = response.json()
            ErrorObject.model_validate(body["error"])  # Groq's error envelope
            raw = httpx.Response(
                response.status,
                headers={k: v[0] for k, v in response.headers.items()},
                content=response.body.encode(),
                request=httpx.Request(request.method, request.uri),
            )
            error = client._make_status_error_from_response(raw)
            assert error.status_code == response.status and error.body == body
        elif response.header("content-type") == "text/event-stream":
            events = _sse_events(response.body)
            for event, data in events:
                if data == "[DONE]":
                    continue
                parsed = json.loads(data)
                if event == "error" or "error" in parsed:
                    ErrorObject.model_validate(parsed["error"])
                else:
                    chunk = ChatCompletionChunk.model_validate(parsed)
                    assert chunk.object == "chat.completion.chunk"
        elif request.path.endswith("/models"):
            assert ModelListResponse.model_validate(response.json()).data
        elif "/models/" in request.path:
            assert Model.model_validate(response.json()).object == "model"
        else:
            completion = ChatCompletion.model_validate(response.json())
            assert completion.usage is not None and completion.usage.total_time is not None
            assert completion.x_groq is not None and completion.x_groq.id == response.header(
                "x-request-id"
            )


def test_stream_usage_is_on_the_final_chunk_in_x_groq() -> None:
    (interaction,) = load_cassette(CASSETTES / "stream.yaml")
    events = [e for e in _sse_events(interaction.response.body) if e[1] != "[DONE]"]
    chunks = [ChatCompletionChunk.model_validate(json.loads(data)) for _, data in events]
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.x_groq and last.x_groq.usage
    assert all(c.x_groq is None or c.x_groq.usage is None for c in chunks[:-1])
    assert _sse_events(interaction.response.body)[-1][1] == "[DONE]"


def test_retired_model_and_flex_capacity_are_mapped(provider: GroqProvider) -> None:
    gone = {
        "error": {
            "message": "The model `llama3-70b-8192` has been decommissioned and is no longer"
            " supported.",
            "type": "invalid_request_error",
            "code": "model_decommissioned",
        }
    }
    mapped = provider.translate_error(
        groq.BadRequestError("x", response=_response(400, gone), body=gone)
    )
    assert isinstance(mapped, errors.NotFound) and "decommissioned" in mapped.message
    flex = {"error": {"message": "Flex tier capacity exceeded.", "type": "capacity_exceeded"}}
    mapped = provider.translate_error(
        groq.APIStatusError("x", response=_response(498, flex), body=flex)
    )
    assert isinstance(mapped, errors.CapacityUnavailable) and mapped.retryable
    assert mapped.status_code == 498 and "Flex tier" in mapped.message
