"""The one retry policy, through ``HttpClient`` against mocked HTTP (respx).

Waits are recorded by an injected sleep, never slept, and ``jitter=0`` makes the
backoff exact: 0.5 s, then 1 s, then 2 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from hostkit import Capabilities, CostEstimate, Deployment, InvokeResult, Offering, Provider
from hostkit._http import HttpClient
from hostkit._retry import RetryPolicy
from hostkit.errors import (
    AuthenticationError,
    HostkitError,
    NotFound,
    ProviderError,
    RateLimited,
    Timeout,
)

BASE = "https://api.acme.invalid/v1"
ERROR_400 = {
    "error": {
        "message": "max_tokens must be at most 8192",
        "type": "invalid_request_error",
        "code": "invalid_value",
    }
}


class Waits(list[float]):
    """An injectable sleep that records what it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


def make_client(waits: Waits, **policy: Any) -> HttpClient:
    retry = RetryPolicy(sleep=waits, asleep=waits.asleep, jitter=0.0, **policy)
    return HttpClient(provider="acme", base_url=BASE, retry=retry)


@pytest.fixture
def http(waits: Waits) -> Iterator[HttpClient]:
    client = make_client(waits)
    yield client
    client.close()


def ok(**data: Any) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, **data})


@respx.mock
def test_429_with_retry_after_waits_that_long(http: HttpClient, waits: Waits) -> None:
    route = respx.get(f"{BASE}/models").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), ok()]
    )

    response = http.request("GET", "/models")

    assert response.json() == {"ok": True}
    assert route.call_count == 2
    assert waits == [2.0]


@respx.mock
def test_retry_after_ms_is_honoured(http: HttpClient, waits: Waits) -> None:
    route = respx.get(f"{BASE}/models").mock(
        side_effect=[httpx.Response(429, headers={"retry-after-ms": "1500"}), ok()]
    )

    http.request("GET", "/models")

    assert route.call_count == 2
    assert waits == [1.5]


@respx.mock
def test_503_then_success_backs_off(http: HttpClient, waits: Waits) -> None:
    route = respx.get(f"{BASE}/models").mock(side_effect=[httpx.Response(503), ok()])

    http.request("GET", "/models")

    assert route.call_count == 2
    assert waits == [0.5]


@respx.mock
@pytest.mark.parametrize(
    "failure",
    [
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
    ],
    ids=["remote-protocol-error", "read-error"],
)
def test_connection_reset_then_success(http: HttpClient, waits: Waits, failure: Exception) -> None:
    route = respx.get(f"{BASE}/models").mock(side_effect=[failure, ok()])

    http.request("GET", "/models")

    assert route.call_count == 2
    assert waits == [0.5]


@respx.mock
def test_400_is_not_retried_and_keeps_the_platform_message(http: HttpClient, waits: Waits) -> None:
    route = respx.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(400, json=ERROR_400, headers={"x-request-id": "req_400"})
    )

    with pytest.raises(ProviderError) as caught:
        http.request("POST", "/chat/completions", json={"max_tokens": 10**6})

    error = caught.value
    assert route.call_count == 1
    assert waits == []
    assert error.message == "max_tokens must be at most 8192"
    assert error.status_code == 400 and error.request_id == "req_400"
    assert error.provider == "acme" and error.retryable is False
    assert str(error) == "[acme] max_tokens must be at most 8192 (HTTP 400, request id req_400)"


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_raise_authentication_error(
    http: HttpClient, waits: Waits, status: int
) -> None:
    route = respx.get(f"{BASE}/models").mock(
        return_value=httpx.Response(status, json={"error": {"message": "Invalid API Key"}})
    )

    with pytest.raises(AuthenticationError, match="Invalid API Key") as caught:
        http.request("GET", "/models")

    assert caught.value.status_code == status
    assert route.call_count == 1
    assert waits == []


@respx.mock
def test_404_raises_not_found_without_retrying(http: HttpClient) -> None:
    route = respx.get(f"{BASE}/models/nope").mock(
        return_value=httpx.Response(404, json={"detail": "model 'nope' not found"})
    )

    with pytest.raises(NotFound, match="model 'nope' not found"):
        http.request("GET", "/models/nope")
    assert route.call_count == 1


@respx.mock
def test_exhausted_retries_raise_the_last_error(waits: Waits) -> None:
    http = make_client(waits, max_retries=2)
    route = respx.get(f"{BASE}/models").mock(
        return_value=httpx.Response(503, json={"error": {"message": "overloaded"}})
    )

    with pytest.raises(ProviderError, match="overloaded") as caught:
        http.request("GET", "/models")

    assert route.call_count == 3  # the first attempt and two retries
    assert waits == [0.5, 1.0]
    assert caught.value.status_code == 503


@respx.mock
def test_max_retries_zero_sends_once(waits: Waits) -> None:
    http = make_client(waits, max_retries=0)
    route = respx.get(f"{BASE}/models").mock(return_value=httpx.Response(503))

    with pytest.raises(ProviderError):
        http.request("GET", "/models")
    assert route.call_count == 1


@respx.mock
def test_post_is_not_retried_on_503(http: HttpClient, waits: Waits) -> None:
    route = respx.post(f"{BASE}/deployments").mock(side_effect=[httpx.Response(503), ok()])

    with pytest.raises(ProviderError) as caught:
        http.request("POST", "/deployments", json={"name": "x"})

    assert route.call_count == 1  # it may have created something: not sent twice
    assert waits == []
    assert caught.value.retryable is True


@respx.mock
def test_post_is_retried_on_429(http: HttpClient, waits: Waits) -> None:
    route = respx.post(f"{BASE}/deployments").mock(
        side_effect=[httpx.Response(429, headers={"retry-after": "3"}), ok()]
    )

    http.request("POST", "/deployments", json={"name": "x"})

    assert route.call_count == 2
    assert waits == [3.0]


@respx.mock
def test_post_is_retried_when_the_connection_was_never_made(http: HttpClient, waits: Waits) -> None:
    route = respx.post(f"{BASE}/deployments").mock(
        side_effect=[httpx.ConnectError("connection refused"), ok()]
    )

    http.request("POST", "/deployments", json={"name": "x"})

    assert route.call_count == 2


@respx.mock
def test_post_is_retried_after_a_connect_timeout(http: HttpClient, waits: Waits) -> None:
    route = respx.post(f"{BASE}/deployments").mock(
        side_effect=[httpx.ConnectTimeout("connect timed out"), ok()]
    )

    http.request("POST", "/deployments", json={"name": "x"})

    assert route.call_count == 2


@respx.mock
def test_post_is_not_retried_after_a_connection_reset(http: HttpClient) -> None:
    route = respx.post(f"{BASE}/deployments").mock(
        side_effect=[httpx.ReadError("connection reset"), ok()]
    )

    with pytest.raises(ProviderError, match="ReadError"):
        http.request("POST", "/deployments", json={"name": "x"})
    assert route.call_count == 1


@respx.mock
def test_safe_true_makes_a_post_retryable(http: HttpClient, waits: Waits) -> None:
    route = respx.post(f"{BASE}/search").mock(side_effect=[httpx.Response(502), ok()])

    http.request("POST", "/search", safe=True, json={})

    assert route.call_count == 2


@respx.mock
def test_retry_after_beyond_the_limit_is_not_waited_for(waits: Waits) -> None:
    http = make_client(waits, max_retry_after=60.0)
    route = respx.get(f"{BASE}/models").mock(
        side_effect=[httpx.Response(429, headers={"retry-after": "3600"}), ok()]
    )

    with pytest.raises(RateLimited) as caught:
        http.request("GET", "/models")

    assert route.call_count == 1
    assert waits == []
    assert caught.value.retry_after == 3600.0


@respx.mock
def test_read_timeout_becomes_timeout(http: HttpClient) -> None:
    respx.post(f"{BASE}/chat").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(Timeout, match="timed out") as caught:
        http.request("POST", "/chat", json={})
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


# -- the async twin ------------------------------------------------------------------
@respx.mock
async def test_async_429_then_success(http: HttpClient, waits: Waits) -> None:
    route = respx.get(f"{BASE}/models").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), ok()]
    )

    response = await http.arequest("GET", "/models")

    assert response.json() == {"ok": True}
    assert route.call_count == 2
    assert waits == [2.0]
    await http.aclient.aclose()


@respx.mock
async def test_async_exhausted_retries(waits: Waits) -> None:
    http = make_client(waits, max_retries=2)
    route = respx.get(f"{BASE}/models").mock(
        side_effect=[httpx.Response(503), httpx.ReadError("reset"), httpx.Response(503)]
    )

    with pytest.raises(ProviderError) as caught:
        await http.arequest("GET", "/models")

    assert route.call_count == 3
    assert waits == [0.5, 1.0]
    assert caught.value.status_code == 503
    await http.aclient.aclose()


@respx.mock
async def test_async_post_not_retried_on_503(http: HttpClient, waits: Waits) -> None:
    route = respx.post(f"{BASE}/deployments").mock(side_effect=[httpx.Response(503), ok()])

    with pytest.raises(ProviderError):
        await http.arequest("POST", "/deployments", json={})

    assert route.call_count == 1
    assert waits == []
    await http.aclient.aclose()


# -- Provider.call: the translation seam ---------------------------------------------
class SdkError(Exception):
    """What a platform SDK might raise."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class SdkProvider(Provider):
    name = "sdk-test"
    capabilities = Capabilities(dedicated=False)

    def translate_error(self, error: Exception) -> HostkitError | None:
        if isinstance(error, SdkError) and error.status == 429:
            return RateLimited(str(error), provider=self.name, retry_after=0.25)
        return None

    def find(self, name: str) -> Deployment | None:
        return None

    def status(self, deployment: Deployment) -> Deployment:
        return deployment

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        raise NotImplementedError

    def _teardown(self, deployment: Deployment) -> None:
        pass

    def cost(self, target: Any, **usage: Any) -> CostEstimate:
        return CostEstimate(usd=None)

    def offerings(self, region: str | None = None) -> list[Offering]:
        return []


@pytest.fixture
def sdk_provider(waits: Waits) -> SdkProvider:
    provider = SdkProvider(max_retries=2)
    provider.retry.sleep = waits
    return provider


def test_provider_call_translates_a_foreign_exception(sdk_provider: SdkProvider) -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise KeyError("choices")

    with pytest.raises(ProviderError) as caught:
        sdk_provider.call(failing)

    error = caught.value
    assert isinstance(error.__cause__, KeyError)
    assert error.provider == "sdk-test"
    assert "KeyError" in error.message and "choices" in error.message
    assert calls == [1]  # unknown failures are not retryable


def test_provider_call_uses_the_adapter_translation_and_retries(
    sdk_provider: SdkProvider, waits: Waits
) -> None:
    outcomes: list[Exception | str] = [SdkError("slow down", 429), "done"]

    def flaky() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert sdk_provider.call(flaky) == "done"
    assert waits == [0.25]


def test_provider_call_passes_hostkit_errors_through(sdk_provider: SdkProvider) -> None:
    original = NotFound("gone", provider="sdk-test")

    def missing() -> None:
        raise original

    with pytest.raises(NotFound) as caught:
        sdk_provider.call(missing)
    assert caught.value is original
