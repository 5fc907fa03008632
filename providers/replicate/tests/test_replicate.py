"""The replicate provider against recorded fixtures (strict replay: nothing reaches the network).

Each cassette in ``cassettes/`` is one scenario; ``_replay`` asserts that every recorded
request was made, so a cassette is also the count of what the platform saw (retries,
polls, cancels). The last tests let replicate-python's own types parse every recorded
body, to prove the fixtures are in the platform's real format.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hostkit_providers.replicate import ReplicateProvider
from hostkit_providers.replicate.predictions import (
    ModelRef,
    SseDecoder,
    build_input,
    cancel_after,
    output_text,
    text_output_from_schema,
)

import hostkit
from hostkit import errors
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes"
MODEL = "meta/meta-llama-3-8b-instruct"
PROMPT = "Say hello in five words."
TEXT = "Hello! Nice to meet you!"
FAKE_TOKEN = "r8_testsFakeToken0000"
SDXL = "stability-ai/sdxl:7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"


# -- fixtures -------------------------------------------------------------------------
@contextmanager
def _replay(name: str) -> Iterator[Any]:
    """Strict replay of ``cassettes/<name>``; every recorded request must be made."""
    with cassette(CASSETTES / name) as tape:
        yield tape
    assert tape.all_played, f"{name}: {tape.play_count} of {len(tape.data)} requests were made"


def _cf_ray(name: str, index: int = -1) -> str | None:
    return load_cassette(CASSETTES / name)[index].response.header("cf-ray")


class Waits:
    """Records what the provider would have slept (retry waits and poll delays)."""

    def __init__(self) -> None:
        self.retries: list[float] = []
        self.polls: list[float] = []

    def install(self, provider: ReplicateProvider) -> None:
        async def aretry(seconds: float) -> None:
            self.retries.append(seconds)

        async def apoll(seconds: float) -> None:
            self.polls.append(seconds)

        provider.retry.sleep = self.retries.append
        provider.retry.asleep = aretry
        provider.sleep = self.polls.append
        provider.asleep = apoll


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REPLICATE_API_TOKEN", FAKE_TOKEN)
    return FAKE_TOKEN


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def provider(token: str, waits: Waits) -> Iterator[ReplicateProvider]:
    built = hostkit.get_provider("replicate")
    assert isinstance(built, ReplicateProvider)
    waits.install(built)
    yield built
    built.close()


@pytest.fixture
def dep(provider: ReplicateProvider) -> hostkit.Deployment:
    with _replay("deploy.yaml"):
        deployed: hostkit.Deployment = provider.deploy({"model": MODEL})
    return deployed


def _no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(sock: socket.socket, address: Any) -> Any:
        attempts.append(address)
        raise OSError("this test must not connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


# -- construction, credentials, registry ------------------------------------------------
def test_adapter_imports_without_the_sdk() -> None:
    code = (
        "import sys; sys.modules['replicate'] = None\n"
        "from hostkit_providers.replicate import ReplicateProvider as P\n"
        "assert 'httpx' not in sys.modules, 'importing the adapter must not import httpx'\n"
        "print(P.name, P.missing_modules())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "replicate ['replicate']"


def test_construction_sends_no_request_and_builds_no_client(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = _no_connections(monkeypatch)
    provider = hostkit.get_provider("replicate")
    assert isinstance(provider, ReplicateProvider)
    assert provider._client is None and attempts == []


def test_missing_token_is_named_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    attempts = _no_connections(monkeypatch)
    with pytest.raises(errors.AuthenticationError) as caught:
        hostkit.deploy(provider="replicate", model=MODEL)
    assert "REPLICATE_API_TOKEN" in str(caught.value) and attempts == []


def test_one_sdk_client_with_its_own_retries_off(provider: ReplicateProvider) -> None:
    client = provider.sdk()
    assert provider.sdk() is client and provider.http() is provider.http()
    assert provider.ahttp() is provider.ahttp()
    url = httpx.URL("https://api.replicate.com/v1/models/meta/x")
    for http in (provider.http(), provider.ahttp()):
        used = http._transport_for_url(url)
        assert type(used).__name__ == "DirectTransport", "the SDK's RetryTransport must be bypassed"
        assert http.headers["authorization"] == f"Bearer {FAKE_TOKEN}"


def test_ainvoke_from_two_event_loops_uses_a_client_per_loop(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    with _replay("ainvoke.yaml"):
        first = asyncio.run(provider.ainvoke(dep, PROMPT, max_tokens=32))
    client = provider._ahttp
    assert client is not None
    with _replay("ainvoke.yaml"):
        second = asyncio.run(provider.ainvoke(dep, PROMPT, max_tokens=32))
    assert first.text == second.text == TEXT
    assert provider._ahttp is not client, "pooled connections belong to their event loop"


def test_close_then_use_again(provider: ReplicateProvider, dep: hostkit.Deployment) -> None:
    provider.close()
    with _replay("invoke.yaml"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        assert provider.invoke(dep, PROMPT, max_tokens=32).text == TEXT
    asyncio.run(provider.aclose())


def test_settings_base_url_timeout_and_wait(token: str) -> None:
    provider = hostkit.get_provider(
        "replicate", base_url="https://replicate.example.test/", timeout=90, wait=15
    )
    assert isinstance(provider, ReplicateProvider)
    assert provider.endpoint_for(MODEL) == (
        "https://replicate.example.test/v1/models/meta/meta-llama-3-8b-instruct/predictions"
    )
    assert provider.endpoint_for(SDXL) == "https://replicate.example.test/v1/predictions"
    assert provider.http().base_url.host == "replicate.example.test"
    assert provider.http().timeout.read == 90 and provider.wait_seconds == 15
    with pytest.raises(errors.ConfigError, match="1 to 60 seconds"):
        hostkit.get_provider("replicate", wait=120)


def test_registered_installed_with_its_capabilities() -> None:
    info = {p.name: p for p in hostkit.available_providers()}["replicate"]
    assert info.installed and info.install_command == 'pip install "hostkit-ml[replicate]"'
    assert info.capabilities["streaming"] and info.capabilities["native_async"]
    assert not info.capabilities["dedicated"]
    assert ReplicateProvider.credential_env == "REPLICATE_API_TOKEN"


# -- the whole lifecycle ---------------------------------------------------------------
def test_deploy_invoke_ainvoke_stream_cost_teardown(token: str, monkeypatch: Any) -> None:
    with _replay("deploy.yaml"):
        dep = hostkit.deploy(provider="replicate", model=MODEL)
    assert dep.status == "ready" and dep.model == MODEL and dep.name == "meta-llama-3-8b-instruct"
    assert (
        dep.endpoint
        == "https://api.replicate.com/v1/models/meta/meta-llama-3-8b-instruct/predictions"
    )
    assert dep.raw["text_output"] is True and dep.raw["serverless"] is True
    assert dep.raw["version"].startswith("5a6809ca")

    with _replay("invoke.yaml"), pytest.warns(errors.PriceUnknown):
        result = hostkit.invoke(dep, PROMPT, max_tokens=32)
    assert result.text == TEXT and result.output == [
        "Hello",
        "!",
        " Nice",
        " to",
        " meet",
        " you",
        "!",
    ]
    assert (result.usage.input_tokens, result.usage.output_tokens) == (18, 7)
    assert result.request_id == "3kz2mzd2ndrm80ckm7hv1ywbmr" and result.provider == "replicate"
    assert result.latency_s > 0 and result.cost_usd is None

    with _replay("ainvoke.yaml"):
        again = asyncio.run(hostkit.ainvoke(dep, PROMPT, max_tokens=32))
    assert again.text == TEXT and again.usage == result.usage

    with _replay("stream.yaml") as tape:
        stream = hostkit.stream(dep, PROMPT, max_tokens=32)
        chunks = list(stream)
    assert tape.play_count == 3
    assert chunks == ["Hello", "!", " Nice", " to", " meet", " you", "!"]
    assert stream.result is not None and stream.result.text == TEXT
    assert stream.result.ttft_s is not None and 0 < stream.result.ttft_s <= stream.result.latency_s

    with pytest.warns(errors.PriceUnknown):
        estimate = hostkit.cost(dep, input_tokens=1000, output_tokens=1000)
    assert estimate.usd is None and estimate.warnings

    _no_connections(monkeypatch)
    later = hostkit.get_provider("replicate").get(dep.name)  # as from another process
    assert later.model == MODEL and later.fingerprint == dep.fingerprint
    hostkit.teardown(dep)
    hostkit.teardown(dep)  # a second teardown is not an error
    assert hostkit.get_provider("replicate").find(dep.name) is None


def test_stream_and_invoke_agree_on_text_and_usage(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    with _replay("invoke.yaml"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        invoked = provider.invoke(dep, PROMPT, max_tokens=32)
    with _replay("stream.yaml"):
        streamed = provider.stream(dep, PROMPT, max_tokens=32)
        assert streamed.text() == invoked.text
    assert streamed.result is not None
    assert streamed.result.usage == invoked.usage
    assert streamed.result.timings == invoked.timings


def test_timings_and_rate_limits_are_read(provider: ReplicateProvider, dep: Any) -> None:
    with _replay("invoke.yaml"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        result = provider.invoke(dep, PROMPT, max_tokens=32)
    assert result.timings == {
        "predict_time": 0.184521,
        "total_time": 0.213947,
        "time_to_first_token": 0.031277,
    }
    assert result.rate_limits == {"remaining_requests": 599, "reset_requests_s": 1.0}


def test_prediction_still_running_after_the_wait_is_polled(
    provider: ReplicateProvider, dep: Any, waits: Waits
) -> None:
    with _replay("invoke_poll.yaml") as tape, warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        result = provider.invoke(dep, PROMPT, max_tokens=32)
    assert tape.play_count == 3 and result.text == TEXT
    assert waits.polls == [0.5, 1.0] and waits.retries == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_timeout_cancels_the_prediction(token: str) -> None:
    provider = hostkit.get_provider("replicate", timeout=2)
    assert isinstance(provider, ReplicateProvider)
    clock = FakeClock()
    provider.predictions.clock = clock
    provider.sleep = clock.advance
    with _replay("deploy.yaml"):
        dep = provider.deploy({"model": MODEL})
    with _replay("invoke_timeout_cancel.yaml") as tape, pytest.raises(errors.Timeout) as caught:
        provider.invoke(dep, PROMPT, max_tokens=32)
    assert tape.play_count == 5  # create, three polls, cancel
    assert tape.requests[-1].method == "POST" and tape.requests[-1].path.endswith("/cancel")
    assert "was canceled" in caught.value.message
    assert caught.value.request_id == "a7e2rbbyw5rmc0ckm7hwr3m6tc"


def test_async_timeout_cancels_the_prediction(token: str) -> None:
    provider = hostkit.get_provider("replicate", timeout=2)
    assert isinstance(provider, ReplicateProvider)
    clock = FakeClock()
    provider.predictions.clock = clock

    async def asleep(seconds: float) -> None:
        clock.advance(seconds)

    provider.asleep = asleep
    with _replay("deploy.yaml"):
        dep = provider.deploy({"model": MODEL})
    with _replay("invoke_timeout_cancel.yaml"), pytest.raises(errors.Timeout):
        asyncio.run(provider.ainvoke(dep, PROMPT, max_tokens=32))


def test_keyboard_interrupt_cancels_the_prediction(provider: ReplicateProvider, dep: Any) -> None:
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    provider.sleep = interrupt
    with _replay("invoke_interrupt_cancel.yaml") as tape, pytest.raises(KeyboardInterrupt):
        provider.invoke(dep, PROMPT, max_tokens=32)
    assert [r.method for r in tape.requests] == ["POST", "POST"]
    assert tape.requests[-1].path.endswith("/cancel")


# -- streams that go wrong ----------------------------------------------------------------
def test_error_mid_stream_raises_with_the_platform_message(
    provider: ReplicateProvider, dep: Any
) -> None:
    with _replay("stream_error.yaml") as tape:
        stream = provider.stream(dep, PROMPT, max_tokens=32)
        received = []
        with pytest.raises(errors.ProviderError) as caught:
            for chunk in stream:
                received.append(chunk)
    assert received == ["Hello", "!"]
    assert "error in stream" in caught.value.message
    assert "CUDA error: an illegal memory access was encountered" in caught.value.message
    assert caught.value.request_id == "d1pr6q3w2hrmc0ckm7hvm0z1yc"
    assert tape.play_count == 2, "a failed prediction needs no cancel"


def test_stream_cut_mid_way_raises_and_cancels(provider: ReplicateProvider, dep: Any) -> None:
    with _replay("stream_cut.yaml") as tape:
        stream = provider.stream(dep, PROMPT, max_tokens=32)
        with pytest.raises(errors.ProviderError, match="ended before the prediction finished"):
            list(stream)
    assert tape.requests[-1].path.endswith("/cancel")


def test_closing_a_stream_early_cancels_the_prediction(
    provider: ReplicateProvider, dep: Any
) -> None:
    with _replay("stream_closed_early.yaml") as tape:
        with provider.stream(dep, PROMPT, max_tokens=32) as stream:
            assert next(stream) == "Hello"
        stream.close()  # closing twice sends nothing more
    assert [r.method for r in tape.requests] == ["POST", "GET", "POST"]
    assert tape.requests[-1].path.endswith("/cancel")


# -- money --------------------------------------------------------------------------------
def test_unpriced_model_costs_none_with_exactly_one_warning(
    provider: ReplicateProvider, dep: Any
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            with _replay("invoke.yaml"):
                assert provider.invoke(dep, PROMPT, max_tokens=32).cost_usd is None
    unknown = [w for w in caught if issubclass(w.category, errors.PriceUnknown)]
    assert len(unknown) == 1
    assert "meta/meta-llama-3-8b-instruct" in str(unknown[0].message)
    assert "[prices.replicate." in str(unknown[0].message)


def test_config_price_prices_tokens(token: str, tmp_path: Path) -> None:
    Path("hostkit.toml").write_text(
        '[prices.replicate."meta/meta-llama-3-8b-instruct"]\n'
        "input_per_million = 1.0\noutput_per_million = 2.0\n",
        encoding="utf-8",
    )
    with _replay("deploy.yaml"):
        dep = hostkit.deploy(provider="replicate", model=MODEL)
    with _replay("invoke.yaml"), warnings.catch_warnings():
        warnings.simplefilter("error", errors.PriceUnknown)
        result = hostkit.invoke(dep, PROMPT, max_tokens=32)
    assert result.cost_usd == pytest.approx((18 * 1.0 + 7 * 2.0) / 1e6)
    estimate = hostkit.cost(dep, input_tokens=18, output_tokens=7)
    assert estimate.usd == pytest.approx(result.cost_usd)
    assert estimate.source and "hostkit.toml" in estimate.source and estimate.as_of
    assert hostkit.cost(dep, hours=24).usd == 0.0  # idle time is free


def test_pinned_version_is_priced_per_second_of_its_hardware(provider: ReplicateProvider) -> None:
    spec = {"model": SDXL, "name": "sdxl", "options": {"hardware": "gpu-a100-large"}}
    with _replay("deploy_version.yaml"):
        dep = provider.deploy(spec)
    assert dep.endpoint == "https://api.replicate.com/v1/predictions"
    assert dep.raw["text_output"] is False and dep.raw["hardware"] == "gpu-a100-large"
    request = {"prompt": "A lighthouse at dawn, oil painting", "width": 768, "height": 768}
    with _replay("invoke_version.yaml"), warnings.catch_warnings():
        warnings.simplefilter("error", errors.PriceUnknown)
        result = provider.invoke(dep, request)
    assert result.text is None and result.output[0].endswith("/out-0.png")
    assert result.usage.total_tokens is None
    assert result.cost_usd == pytest.approx(4.263981 * 0.0014)
    assert result.timings == {"predict_time": 4.263981, "total_time": 4.318455}
    hour = provider.cost(dep, hours=1)
    assert hour.usd == pytest.approx(5.04) and hour.source == "https://replicate.com/pricing"
    assert hour.as_of == "2026-03-09"
    with pytest.warns(errors.PriceUnknown):
        assert provider.cost(dep, input_tokens=10, output_tokens=10).usd is None


def test_shipped_prices_have_sources_and_offerings_list_them(
    provider: ReplicateProvider,
) -> None:
    rows = provider.prices.rows()
    assert rows, "the price table ships at least the hardware it can source"
    for row in rows:
        assert row.source.startswith("https://") and row.as_of
    offers = {o.name: o for o in provider.offerings()}
    assert offers["gpu-a100-large"].kind == "instance"
    assert offers["gpu-a100-large"].usd_per_hour == pytest.approx(5.04)
    assert all(o.source and o.as_of for o in offers.values())


# -- serverless and dedicated: the rule the spec's instance decides ---------------------------
def test_scale_is_unsupported_and_names_deployments(provider: ReplicateProvider, dep: Any) -> None:
    with pytest.raises(errors.Unsupported) as caught:
        provider.scale(dep, 2)
    assert "scales automatically" in caught.value.message
    assert "Replicate deployment" in caught.value.message


def test_a_spec_with_instance_is_a_replicate_deployment(
    provider: ReplicateProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_connections(monkeypatch)  # checked before anything is sent
    with pytest.raises(errors.ConfigError, match="region is not used by a Replicate deployment"):
        provider.deploy({"model": MODEL, "instance": "gpu-l40s", "region": "us"})
    serverless = hostkit.Deployment(name="x", provider="replicate", model=MODEL, status="ready")
    assert not provider.capabilities_for(serverless).dedicated
    dedicated = hostkit.Deployment(
        name="x", provider="replicate", model=MODEL, status="ready", instance="gpu-l40s"
    )
    assert provider.capabilities_for(dedicated).autoscaling


def test_spec_fields_and_options_are_checked(provider: ReplicateProvider) -> None:
    with pytest.raises(errors.ConfigError, match="replicas"):
        provider.deploy({"model": MODEL, "replicas": 2})
    with pytest.raises(errors.ConfigError, match="allowed: hardware"):
        provider.deploy({"model": MODEL, "options": {"gpu": "a100"}})
    with pytest.raises(errors.ConfigError, match="owner/name"):
        provider.deploy({"model": "llama-3-8b"})


# -- deploy of an unknown model ---------------------------------------------------------------
def test_unknown_model_names_the_closest_served_models(provider: ReplicateProvider) -> None:
    with _replay("deploy_not_found.yaml") as tape, pytest.raises(errors.NotFound) as caught:
        provider.deploy({"model": "meta/meta-llama-3-8b-instrukt"})
    assert (
        tape.requests[1].method == "QUERY" and tape.requests[1].body == b"meta-llama-3-8b-instrukt"
    )
    message = caught.value.message
    assert "meta/meta-llama-3-8b-instrukt" in message
    assert "closest public models: meta/meta-llama-3-8b-instruct" in message
    assert caught.value.status_code == 404
    assert caught.value.request_id == _cf_ray("deploy_not_found.yaml", 0)
    assert provider.find("meta-llama-3-8b-instrukt") is None, "nothing is recorded"


# -- errors ---------------------------------------------------------------------------------------
def _fails(
    provider: ReplicateProvider,
    dep: Any,
    name: str,
    error: type[errors.HostkitError],
    request: Any = PROMPT,
    params: dict[str, Any] | None = None,
) -> tuple[errors.HostkitError, Any]:
    params = {"max_tokens": 32} if params is None else params
    with _replay(name) as tape, pytest.raises(error) as caught:
        provider.invoke(dep, request, **params)
    assert caught.value.provider == "replicate"
    return caught.value, tape


def test_401_is_authentication_error(provider: ReplicateProvider, dep: Any, waits: Waits) -> None:
    error, tape = _fails(provider, dep, "error_401.yaml", errors.AuthenticationError)
    assert "You did not pass a valid authentication token" in error.message
    assert error.status_code == 401 and error.request_id == _cf_ray("error_401.yaml")
    assert tape.play_count == 1 and waits.retries == []
    assert FAKE_TOKEN not in str(error) + repr(error)


def test_404_is_not_found_with_a_hint(provider: ReplicateProvider, dep: Any) -> None:
    error, tape = _fails(provider, dep, "error_404.yaml", errors.NotFound)
    assert "Not found." in error.message and "pin a version" in error.message
    assert error.request_id == _cf_ray("error_404.yaml") and tape.play_count == 1


def test_429_then_ok_retries_once_after_retry_after(
    provider: ReplicateProvider, dep: Any, waits: Waits
) -> None:
    with _replay("error_429_then_ok.yaml") as tape, warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        result = provider.invoke(dep, PROMPT, max_tokens=32)
    assert result.text == TEXT and result.request_id == "c8f2k1vt0nrmc0ckm7hxb5e5jg"
    assert tape.play_count == 2 and waits.retries == [1.0]


def test_429_exhausted_is_rate_limited_after_exactly_four_requests(
    provider: ReplicateProvider, dep: Any, waits: Waits
) -> None:
    error, tape = _fails(provider, dep, "error_429_exhausted.yaml", errors.RateLimited)
    assert tape.play_count == 4, "1 try + 3 retries, never doubled by the SDK"
    assert waits.retries == [1.0, 1.0, 1.0]
    assert isinstance(error, errors.RateLimited) and error.retry_after == 1.0
    assert "Request was throttled" in error.message
    assert error.request_id == _cf_ray("error_429_exhausted.yaml")


def test_async_429_exhausted_is_retried_the_same(
    provider: ReplicateProvider, dep: Any, waits: Waits
) -> None:
    with _replay("error_429_exhausted.yaml") as tape, pytest.raises(errors.RateLimited):
        asyncio.run(provider.ainvoke(dep, PROMPT, max_tokens=32))
    assert tape.play_count == 4 and waits.retries == [1.0, 1.0, 1.0]


def test_5xx_on_a_look_up_is_retried_then_provider_error(
    provider: ReplicateProvider, waits: Waits
) -> None:
    with _replay("error_5xx.yaml") as tape, pytest.raises(errors.ProviderError) as caught:
        provider.deploy({"model": MODEL})
    assert tape.play_count == 4 and len(waits.retries) == 3
    assert caught.value.status_code == 503
    assert "temporarily unavailable" in caught.value.message
    assert caught.value.request_id == _cf_ray("error_5xx.yaml")


def test_5xx_on_create_is_not_retried(provider: ReplicateProvider, dep: Any, waits: Waits) -> None:
    error, tape = _fails(provider, dep, "error_5xx_create.yaml", errors.ProviderError)
    assert error.status_code == 500 and "An unexpected error occurred." in error.message
    assert tape.play_count == 1 and waits.retries == [], "a create may have happened: no retry"


def test_no_credit_is_quota_exceeded(provider: ReplicateProvider, dep: Any, waits: Waits) -> None:
    error, tape = _fails(provider, dep, "error_quota_exceeded.yaml", errors.QuotaExceeded)
    assert "Insufficient credit" in error.message and "purchase credit" in error.message
    assert error.status_code == 402 and tape.play_count == 1 and waits.retries == []


def test_413_names_the_limit(provider: ReplicateProvider, dep: Any) -> None:
    request = {"prompt": "Describe this image.", "image": "data:image/png;base64,iVBORw0KGgo="}
    error, tape = _fails(provider, dep, "error_413.yaml", errors.ProviderError, request, {})
    assert "413 Request Entity Too Large" in error.message and "https URLs" in error.message
    assert error.status_code == 413 and not error.retryable and tape.play_count == 1


def test_context_length_failure_names_the_limit(provider: ReplicateProvider, dep: Any) -> None:
    prompt = "Summarize: " + "lorem ipsum " * 8
    error, _ = _fails(provider, dep, "error_context_length.yaml", errors.ProviderError, prompt)
    assert "longer than meta/meta-llama-3-8b-instruct accepts" in error.message
    assert "exceeds maximum input length (8192)" in error.message
    assert error.request_id == "r9vbz4x1kdrmc0ckm7hy0eh9fc"


def _instances_of(
    module: Any, special: Mapping[str, Callable[[], BaseException]]
) -> Iterator[tuple[type[BaseException], BaseException]]:
    """One instance of every exception class the module defines (or exports)."""
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if not issubclass(cls, Exception) or not cls.__module__.startswith(module.__name__):
            continue
        if cls.__name__ in special:
            yield cls, special[cls.__name__]()
            continue
        for args in (("boom",), ()):
            try:
                yield cls, cls(*args)
                break
            except TypeError:
                continue
        else:
            raise AssertionError(f"could not build {cls.__name__}")


def test_every_exception_the_sdk_can_raise_is_translated(provider: ReplicateProvider) -> None:
    import replicate.exceptions

    expected: dict[str, type[errors.HostkitError]] = {
        "ModelError": errors.ProviderError,
        "ReplicateError": errors.ProviderError,
        "ReplicateException": errors.ProviderError,
        "ConnectTimeout": errors.Timeout,
        "PoolTimeout": errors.Timeout,
        "ReadTimeout": errors.Timeout,
        "WriteTimeout": errors.Timeout,
        "TimeoutException": errors.Timeout,
        "InvalidURL": errors.ConfigError,
    }
    failed = SimpleNamespace(id="p1", model=MODEL, error="boom")
    built = list(
        _instances_of(
            replicate.exceptions,
            {"ModelError": lambda: replicate.exceptions.ModelError(failed)},  # type: ignore[arg-type]
        )
    )
    request = httpx.Request("GET", "https://api.replicate.com/v1/models")
    status = {
        "HTTPStatusError": lambda: httpx.HTTPStatusError(
            "boom", request=request, response=httpx.Response(502, request=request)
        )
    }
    http_errors = [
        (cls, error) for cls, error in _instances_of(httpx, status) if cls.__name__ in httpx.__all__
    ]
    assert {c.__name__ for c, _ in built} >= {"ReplicateException", "ModelError", "ReplicateError"}
    assert len(http_errors) > 15
    for cls, error in built + http_errors:
        assert isinstance(error, Exception)
        mapped = provider.translate_error(error)
        assert isinstance(mapped, errors.HostkitError), f"{cls.__name__} is not translated"
        assert isinstance(mapped, expected.get(cls.__name__, errors.HostkitError)), cls.__name__
    connect = provider.translate_error(httpx.ConnectError("refused"))
    assert connect is not None and connect.retryable
    assert getattr(connect, "request_not_sent", False), "a connection never made may be retried"
    read = provider.translate_error(httpx.ReadError("reset"))
    assert read is not None and read.retryable and not getattr(read, "request_not_sent", False)


def test_problem_bodies_without_a_response_keep_their_words(provider: ReplicateProvider) -> None:
    import replicate.exceptions

    error = replicate.exceptions.ReplicateError(
        title="Unauthenticated", detail="You did not pass a valid authentication token", status=401
    )
    mapped = provider.translate_error(error)
    assert isinstance(mapped, errors.AuthenticationError)
    assert mapped.message == (
        "Unauthenticated: You did not pass a valid authentication token (check REPLICATE_API_TOKEN)"
    )
    bare = provider.translate_error(replicate.exceptions.ReplicateError("Model does not stream"))
    assert isinstance(bare, errors.ProviderError)


# -- request mapping ----------------------------------------------------------------------
def test_prompts_messages_and_model_inputs_become_the_prediction_input() -> None:
    assert build_input("Hi", {"max_tokens": 5, "stop": ["\n", "User:"], "top_k": 3}) == {
        "prompt": "Hi",
        "max_tokens": 5,
        "stop_sequences": "\n,User:",
        "top_k": 3,
    }
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    ]
    assert build_input(messages, {}) == {"prompt": "Hi", "system_prompt": "Be brief."}
    chat = [*messages, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "?"}]
    assert build_input({"messages": chat, "seed": 1}, {})["prompt"] == (
        "User: Hi\n\nAssistant: Hello.\n\nUser: ?\n\nAssistant:"
    )
    image = {"prompt": "a cat", "width": 768}
    assert build_input(image, {"seed": 7}) == {"prompt": "a cat", "width": 768, "seed": 7}
    with pytest.raises(errors.ConfigError):
        build_input(42, {})
    with pytest.raises(errors.ConfigError, match="stream"):
        build_input("Hi", {"stream": True})


def test_model_refs_text_outputs_and_deadlines() -> None:
    assert (
        ModelRef.parse(MODEL).create_path == "/v1/models/meta/meta-llama-3-8b-instruct/predictions"
    )
    pinned = ModelRef.parse(SDXL)
    assert pinned.key == "stability-ai/sdxl" and pinned.create_path == "/v1/predictions"
    assert pinned.lookup_path.startswith("/v1/models/stability-ai/sdxl/versions/7762fd07")
    assert output_text(["a", "b"], True, {}) == "ab"
    assert output_text(["https://x/out.png"], False, {}) is None
    assert output_text(["a", "b"], None, {"output_token_count": 2}) == "ab"
    assert output_text("plain", None, {}) == "plain"
    assert output_text("https://x/out.png", None, {}) is None
    assert text_output_from_schema({"components": {"schemas": {"Output": {"type": "string"}}}})
    assert text_output_from_schema({}) is None
    assert (cancel_after(300), cancel_after(2), cancel_after(90)) == ("5m", "1m", "2m")


def test_sse_decoder_follows_the_event_stream_rules() -> None:
    decoder = SseDecoder()
    lines = ["event: output", "id: 1:0", "data:  two", "data: lines", "", ": keep-alive", ""]
    events = [e for e in (decoder.feed(line) for line in lines) if e is not None]
    assert [(e.event, e.data, e.id) for e in events] == [("output", " two\nlines", "1:0")]


# -- realism: the official SDK parses every recorded body -----------------------------------------
def _sdk_parsers() -> dict[str, Callable[[Any], Any]]:
    from replicate.model import Model
    from replicate.pagination import Page
    from replicate.prediction import Prediction
    from replicate.version import Version

    return {
        "prediction": lambda data: Prediction(**data),
        "model": lambda data: Model(**data),
        "version": lambda data: Version(**data),
        "page": lambda data: Page[Model](
            **{**data, "results": [Model(**item) for item in data["results"]]}
        ),
    }


def _kind(method: str, path: str) -> str:
    if method == "QUERY":
        return "page"
    if "/versions/" in path:
        return "version"
    if path.startswith("/v1/models/") and not path.endswith("/predictions"):
        return "model"
    return "prediction"


CASSETTE_FILES = sorted(p.name for p in CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("name", CASSETTE_FILES)
def test_the_sdk_parses_every_recorded_body(name: str) -> None:
    from replicate.exceptions import ReplicateError
    from replicate.stream import EventSource, ServerSentEvent

    text = (CASSETTES / name).read_text(encoding="utf-8")
    assert text.startswith("# "), "each cassette starts with a comment saying where it comes from"
    assert "r8_" not in text.replace("r8_REDACTED", "")
    parsers = _sdk_parsers()
    for interaction in load_cassette(CASSETTES / name):
        request, response = interaction.request, interaction.response
        assert request.header("authorization") == "REDACTED"
        content_type = response.header("content-type") or ""
        raw = httpx.Response(
            response.status,
            headers={k: v[0] for k, v in response.headers.items()},
            content=response.body.encode("utf-8"),
            request=httpx.Request(request.method, request.uri),
        )
        if response.status >= 400:
            error = ReplicateError.from_response(raw)
            assert error.status == response.status
            if "json" in content_type:
                assert error.detail and error.detail == response.json()["detail"]
            continue
        if content_type.startswith("text/event-stream"):
            decoder = EventSource.Decoder()
            events = [e for e in (decoder.decode(line) for line in response.body.split("\n")) if e]
            assert events and all(isinstance(e, ServerSentEvent) for e in events)
            if any(e.event == ServerSentEvent.EventType.ERROR for e in events):
                source = EventSource(SimpleNamespace(), raw)  # type: ignore[arg-type]
                with pytest.raises(RuntimeError, match="CUDA error"):
                    list(source)
            continue
        parsed = parsers[_kind(request.method, request.path)](response.json())
        if _kind(request.method, request.path) == "prediction":
            assert parsed.status in ("starting", "processing", "succeeded", "failed", "canceled")
            assert parsed.urls["get"].endswith(parsed.id)


def test_recorded_request_bodies_are_what_hostkit_sends() -> None:
    create = load_cassette(CASSETTES / "invoke.yaml")[0].request
    assert create.json() == {"input": build_input(PROMPT, {"max_tokens": 32})}
    assert create.header("prefer") == "wait=60"
    assert json.loads(load_cassette(CASSETTES / "stream.yaml")[0].request.body or "{}")["stream"]
