"""The registry finds providers through real installed distributions, and a real plugin works.

``hostkit-example-plugin`` (tests/plugins/) is built and pip-installed into a temp
folder once per session; each test puts that folder on ``sys.path`` and takes it
off again. Its provider is then driven through deploy, invoke, cost and teardown,
replaying its cassettes strictly: no test here can reach the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

import hostkit
from hostkit import DeploymentSpec, Provider, available_providers, get_provider
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    DependencyMissing,
    NotFound,
    PriceUnknown,
    ProviderError,
    Unsupported,
)
from hostkit.testing import (
    cassette,
    cassette_requests,
    plugins_on_path,
    write_distribution,
)

EXAMPLE_PLUGIN = Path(__file__).parent / "plugins" / "hostkit-example-plugin"
EXAMPLE_CASSETTES = EXAMPLE_PLUGIN / "cassettes"
FAKE_KEY = "exk-test-0123456789abcdef"
MODEL = "example-chat-8b"
PROMPT = "Say hello in five words."

#: installed by ``write_distribution``: small adapters, one lacking its SDK
FAKE_PROVIDERS_SOURCE = '''
from hostkit import Capabilities, CostEstimate, Provider


class NeedsSdkProvider(Provider):
    """Like a built-in adapter whose SDK extra is not installed."""

    name = "needs-sdk"
    requires = ("hostkit_no_such_sdk_for_tests",)
    install_extra = "needs-sdk"
    capabilities = Capabilities(dedicated=True, manual_scaling=True)

    def find(self, name):
        return None

    def status(self, deployment):
        return deployment

    def invoke(self, deployment, request, **params):
        raise NotImplementedError

    def _teardown(self, deployment):
        pass

    def cost(self, target, **usage):
        return CostEstimate(usd=None)

    def offerings(self, region=None):
        return []


NOT_A_PROVIDER = object()
'''


# -- fixtures --------------------------------------------------------------------
@pytest.fixture
def fake_plugins(tmp_path: Path) -> Iterator[Path]:
    """A distribution with a provider lacking its SDK and three broken entry points."""
    folder = write_distribution(
        tmp_path / "fake-site",
        "hostkit-test-fakes",
        entry_points={
            "needs-sdk": "hostkit_test_fakes:NeedsSdkProvider",
            "broken": "hostkit_test_fakes_gone:Provider",
            "not-a-provider": "hostkit_test_fakes:NOT_A_PROVIDER",
            "misnamed": "hostkit_test_fakes:NeedsSdkProvider",
        },
        modules={"hostkit_test_fakes.py": FAKE_PROVIDERS_SOURCE},
    )
    with plugins_on_path(folder):
        yield folder


@pytest.fixture
def waits() -> list[float]:
    """What the retry policy waited, in seconds (recorded, never slept)."""
    return []


@pytest.fixture
def provider(
    example_plugin: Path, monkeypatch: pytest.MonkeyPatch, waits: list[float]
) -> Iterator[Provider]:
    """The example provider, with a fake key and the recording sleep."""
    monkeypatch.setenv("EXAMPLE_API_KEY", FAKE_KEY)
    instance = get_provider("example")
    instance.retry.sleep = waits.append
    yield instance
    instance.close()


def replay(name: str) -> Any:
    """Strict replay of one of the example plugin's cassettes."""
    return cassette(EXAMPLE_CASSETTES / name, record_mode="none")


def _deployed(provider: Provider) -> hostkit.Deployment:
    with replay("deploy.yaml"):
        return provider.deploy({"model": MODEL})


# -- discovery -------------------------------------------------------------------
def test_example_plugin_is_listed_with_its_distribution(example_plugin: Path) -> None:
    infos = {info.name: info for info in available_providers()}

    info = infos["example"]
    assert info.distribution == "hostkit-example-plugin"
    assert info.target == "hostkit_example_plugin:ExampleProvider"
    assert info.installed is True
    assert info.error is None
    assert info.capabilities["dedicated"] is False
    assert info.capabilities["native_async"] is True
    assert info.install_command == "pip install hostkit-example-plugin"
    assert "Example LLM" in info.description


def test_plugin_metadata_depends_on_hostkit_ml(example_plugin: Path) -> None:
    from importlib.metadata import distribution

    requires = distribution("hostkit-example-plugin").requires or []
    assert requires == ["hostkit-ml"]  # never "hostkit", an unrelated PyPI project


def test_get_provider_builds_the_plugin_class_without_sending(example_plugin: Path) -> None:
    # no EXAMPLE_API_KEY and no cassette: construction must neither need a key nor connect
    provider = get_provider("example", base_url="https://proxy.example.invalid/v1/")

    assert type(provider).__module__ == "hostkit_example_plugin"
    assert isinstance(provider, Provider)
    assert provider.name == "example"
    assert provider.base_url == "https://proxy.example.invalid/v1"  # type: ignore[attr-defined]
    assert provider.credential_variable() == "EXAMPLE_API_KEY"


def test_undoing_the_plugin_path_unregisters_it(example_plugin_site: Path) -> None:
    with plugins_on_path(example_plugin_site):
        assert "example" in {info.name for info in available_providers()}

    assert "example" not in {info.name for info in available_providers()}
    with pytest.raises(ConfigError, match="unknown provider 'example'"):
        get_provider("example")


def test_unknown_name_lists_the_registered_providers(example_plugin: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        get_provider("nonexistent")

    message = str(caught.value)
    assert "unknown provider 'nonexistent'" in message
    assert "registered providers:" in message
    assert "example" in message
    assert "hostkit.providers" in message


def test_provider_without_its_sdk_is_listed_as_not_installed(fake_plugins: Path) -> None:
    info = {i.name: i for i in available_providers()}["needs-sdk"]

    assert info.installed is False
    assert info.error is None
    assert info.distribution == "hostkit-test-fakes"
    assert info.install_command == 'pip install "hostkit-ml[needs-sdk]"'
    assert info.capabilities["dedicated"] is True


def test_provider_without_its_sdk_raises_dependency_missing(fake_plugins: Path) -> None:
    with pytest.raises(DependencyMissing) as caught:
        get_provider("needs-sdk")

    message = str(caught.value)
    assert 'pip install "hostkit-ml[needs-sdk]"' in message
    assert "hostkit_no_such_sdk_for_tests" in message
    assert caught.value.provider == "needs-sdk"
    assert isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broken", "failed to import: ModuleNotFoundError"),
        ("not-a-provider", "is not a hostkit.Provider subclass"),
        ("misnamed", "whose name is 'needs-sdk'; the two must match"),
    ],
)
def test_broken_entry_points_are_reported(fake_plugins: Path, name: str, expected: str) -> None:
    info = {i.name: i for i in available_providers()}[name]

    assert info.installed is False
    assert info.error is not None and expected in info.error
    with pytest.raises(ConfigError, match=expected):
        get_provider(name)


def test_a_broken_plugin_does_not_hide_the_others(example_plugin: Path, fake_plugins: Path) -> None:
    infos = {i.name: i for i in available_providers()}

    assert infos["example"].installed is True
    assert infos["broken"].error is not None
    assert "hostkit-test-fakes" in infos["broken"].error


def test_a_name_registered_twice_is_refused(example_plugin: Path, tmp_path: Path) -> None:
    rival = write_distribution(
        tmp_path / "rival-site",
        "hostkit-rival-plugin",
        entry_points={"example": "hostkit_test_fakes:NeedsSdkProvider"},
        modules={"hostkit_test_fakes.py": FAKE_PROVIDERS_SOURCE},
    )
    with plugins_on_path(rival), pytest.raises(ConfigError) as caught:
        get_provider("example")

    message = str(caught.value)
    assert "registered more than once" in message
    assert "hostkit-example-plugin" in message and "hostkit-rival-plugin" in message


# -- the example provider, replayed ------------------------------------------------
def test_deploy_invoke_cost_teardown_through_the_public_api(
    example_plugin: Path, monkeypatch: pytest.MonkeyPatch, isolated_hostkit: Path
) -> None:
    monkeypatch.setenv("EXAMPLE_API_KEY", FAKE_KEY)

    with replay("deploy.yaml") as recorded:
        deployment = hostkit.deploy(provider="example", model=MODEL)
    assert recorded.play_count == 1 and recorded.all_played
    assert deployment.status == "ready"
    assert deployment.name == MODEL
    assert deployment.endpoint == "https://api.example-llm.invalid/v1/chat/completions"
    assert deployment.fingerprint == DeploymentSpec(provider="example", model=MODEL).fingerprint()
    saved = isolated_hostkit / "example" / f"{MODEL}.json"
    assert json.loads(saved.read_text())["status"] == "ready"

    with replay("invoke.yaml") as recorded:
        result = hostkit.invoke(deployment, PROMPT, max_tokens=32)
    assert recorded.play_count == 1
    assert result.text == "Hello there, nice to meet you!"
    assert result.output == result.text
    assert (result.usage.input_tokens, result.usage.output_tokens) == (14, 7)
    assert result.request_id == "req_01J0INVOKE00000000000001"
    assert result.provider == "example" and result.model == MODEL
    assert result.cost_usd == pytest.approx((14 * 0.05 + 7 * 0.08) / 1e6)
    assert result.rate_limits == {
        "remaining_requests": 14399,
        "remaining_tokens": 29979,
        "reset_requests_s": 6.0,
        "reset_tokens_s": 0.042,
    }
    assert result.latency_s >= 0

    with replay("teardown.yaml") as recorded:  # no interactions: any request would fail
        estimate = hostkit.cost(deployment, input_tokens=2_000_000, output_tokens=500_000)
        hostkit.teardown(deployment)
    assert recorded.play_count == 0
    assert estimate.usd == pytest.approx(2 * 0.05 + 0.5 * 0.08)
    assert [line.description for line in estimate.breakdown] == ["input tokens", "output tokens"]
    assert estimate.as_of == "2025-06-01" and estimate.source and "pricing" in estimate.source
    assert deployment.status == "deleted"
    assert not saved.exists()


def test_a_later_process_finds_the_deployment(provider: Provider, example_plugin: Path) -> None:
    with replay("deploy.yaml"):
        deployed = provider.deploy({"model": MODEL})
    later = get_provider("example")  # a fresh instance, as in another process

    with replay("get.yaml") as recorded:
        found = later.get(MODEL)

    assert recorded.play_count == 1
    assert found.status == "ready"
    assert found.fingerprint == deployed.fingerprint
    assert found.raw["owned_by"] == "example-llm"


def test_a_retired_model_is_reported_as_failed(provider: Provider) -> None:
    with replay("deploy.yaml"):
        provider.deploy({"model": MODEL})

    with replay("find_model_retired.yaml"):
        found = provider.get(MODEL)

    assert found.status == "failed"
    assert "decommissioned" in (provider.failure_reason(found) or "")


async def test_async_invoke_replays_the_same_cassette(provider: Provider) -> None:
    dep = _deployed(provider)

    with replay("invoke.yaml") as recorded:
        result = await provider.ainvoke(dep, PROMPT, max_tokens=32)

    assert recorded.play_count == 1
    assert result.text == "Hello there, nice to meet you!"


def test_rate_limited_invoke_waits_as_told_then_succeeds(
    provider: Provider, waits: list[float]
) -> None:
    dep = _deployed(provider)
    expected = cassette_requests(EXAMPLE_CASSETTES / "error_429_then_ok.yaml")

    with replay("error_429_then_ok.yaml") as recorded:
        result = dep.invoke(PROMPT, max_tokens=32)

    assert len(expected) == 2 and recorded.play_count == 2 and recorded.all_played
    assert waits == [1.0]
    assert result.usage.output_tokens == 7
    assert expected[0].json() == {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 32,
    }


def test_rejected_key_raises_authentication_error(provider: Provider) -> None:
    dep = _deployed(provider)

    with replay("error_401.yaml") as recorded, pytest.raises(AuthenticationError) as caught:
        dep.invoke(PROMPT, max_tokens=32)

    error = caught.value
    assert recorded.play_count == 1  # not retried
    assert error.status_code == 401
    assert error.request_id == "req_01J0ERR401000000000000001"
    assert "Invalid API key provided" in error.message
    assert FAKE_KEY not in str(error)


def test_unknown_model_raises_not_found_and_leaves_nothing(provider: Provider) -> None:
    with replay("error_404.yaml"), pytest.raises(NotFound) as caught:
        provider.deploy({"model": "no-such-model"})

    message = str(caught.value)
    assert "no-such-model" in message and "does not exist" in message
    assert "example-chat-70b" in message  # says which models exist
    assert caught.value.request_id == "req_01J0ERR404000000000000001"
    assert provider.records.names() == []


def test_server_error_on_invoke_is_not_retried(provider: Provider, waits: list[float]) -> None:
    dep = _deployed(provider)

    with replay("error_5xx.yaml") as recorded, pytest.raises(ProviderError) as caught:
        dep.invoke(PROMPT, max_tokens=32)

    assert recorded.play_count == 1
    assert waits == []
    assert caught.value.status_code == 502
    assert caught.value.retryable is True  # the caller may retry; hostkit did not
    assert "Upstream model server unavailable" in caught.value.message


def test_server_error_on_a_safe_read_is_retried(provider: Provider, waits: list[float]) -> None:
    with replay("error_503_then_ok.yaml") as recorded:
        dep = provider.deploy({"model": MODEL})

    assert recorded.play_count == 2
    assert dep.status == "ready"
    (wait,) = waits
    assert 0 < wait <= provider.retry.initial_wait


def test_a_request_missing_from_the_cassette_fails(provider: Provider) -> None:
    with replay("deploy.yaml"), pytest.raises(CannotOverwriteExistingCassetteException):
        dep = provider.deploy({"model": MODEL})
        dep.invoke(PROMPT, max_tokens=32)


def test_a_different_body_does_not_match(provider: Provider) -> None:
    dep = _deployed(provider)

    with replay("invoke.yaml"), pytest.raises(CannotOverwriteExistingCassetteException):
        dep.invoke(PROMPT, max_tokens=64)


def test_a_recorded_response_plays_once(provider: Provider) -> None:
    dep = _deployed(provider)

    with replay("invoke.yaml"):
        dep.invoke(PROMPT, max_tokens=32)
        with pytest.raises(CannotOverwriteExistingCassetteException):
            dep.invoke(PROMPT, max_tokens=32)


def test_scale_is_unsupported_for_serverless(provider: Provider) -> None:
    dep = _deployed(provider)

    with replay("teardown.yaml"), pytest.raises(Unsupported, match="nothing to scale"):
        provider.scale(dep, 2)


def test_dedicated_spec_fields_are_refused_before_any_request(provider: Provider) -> None:
    with replay("teardown.yaml") as recorded:
        with pytest.raises(ConfigError, match="instance is not used by example"):
            provider.deploy({"model": MODEL, "instance": "gpu-a100"})
        with pytest.raises(ConfigError, match="takes no options"):
            provider.deploy({"model": MODEL, "options": {"max_tokens": 5}})
    assert recorded.play_count == 0


def test_missing_key_names_the_variable_before_any_request(
    example_plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXAMPLE_API_KEY", raising=False)
    provider = get_provider("example")

    with replay("teardown.yaml"), pytest.raises(AuthenticationError, match="EXAMPLE_API_KEY"):
        provider.deploy({"model": MODEL})


def test_offerings_and_unknown_prices(provider: Provider) -> None:
    offerings = {o.name: o for o in provider.offerings()}
    assert set(offerings) == {"example-chat-8b", "example-chat-70b"}
    assert offerings[MODEL].usd_per_million_input == 0.05
    assert offerings[MODEL].kind == "model" and offerings[MODEL].as_of == "2025-06-01"

    spec = DeploymentSpec(provider="example", model="example-unpriced")
    with pytest.warns(PriceUnknown, match="example-unpriced"):
        estimate = provider.cost(spec, input_tokens=10)
    assert estimate.usd is None and estimate.warnings

    idle = provider.cost(DeploymentSpec(provider="example", model=MODEL), hours=24)
    assert idle.usd == 0.0  # serverless: being deployed costs nothing
