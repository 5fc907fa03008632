"""The dedicated half of ``huggingface``: Inference Endpoints against recorded cassettes.

The cassettes in ``cassettes/endpoints/`` are hand-built in the Endpoints API's wire
format; ``test_cassettes_replay_through_hfapi`` sends the same requests through
huggingface_hub's own ``HfApi`` methods, so the fixtures stay the SDK's format.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hostkit_providers.huggingface import HuggingFaceProvider

import hostkit
from hostkit import Deployment, DeploymentSpec, Provider, errors
from hostkit._api import provider_for
from hostkit._progress import listen
from hostkit.testing import cassette, load_cassette
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

CASSETTES = Path(__file__).parent / "cassettes" / "endpoints"
FAKE_TOKEN = "hf_hostkitFakeTestToken00"
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
NAMESPACE = "hostkit-org"
NAME = "hostkit-compliance"
SPEC = {
    "provider": "huggingface",
    "name": NAME,
    "model": MODEL,
    "instance": "nvidia-l4",
    "region": "aws/us-east-1",
}


@pytest.fixture(autouse=True)
def hf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


def make(**settings: Any) -> HuggingFaceProvider:
    provider = HuggingFaceProvider(namespace=NAMESPACE, **settings)
    provider.sleep = lambda seconds: None
    provider.retry.sleep = lambda seconds: None
    return provider


@pytest.fixture
def provider() -> Iterator[HuggingFaceProvider]:
    found = make()
    yield found
    found.close()


@pytest.fixture
def deployment(provider: HuggingFaceProvider) -> Deployment:
    with cassette(CASSETTES / "deploy.yaml") as played:
        dep = provider.deploy(SPEC)
    assert played.play_count == 5
    return dep


# -- deploy and status ----------------------------------------------------------------
def test_deploy_reports_each_state_and_keeps_the_price(provider: HuggingFaceProvider) -> None:
    messages: list[str] = []
    with listen(messages.append), cassette(CASSETTES / "deploy.yaml"):
        dep = provider.deploy(SPEC)
    assert dep.status == "ready" and dep.endpoint is not None
    assert dep.endpoint.endswith(".endpoints.huggingface.cloud")
    assert (dep.instance, dep.region, dep.replicas) == ("nvidia-l4-x1", "aws/us-east-1", 1)
    assert (
        dep.raw["price_per_hour"] == 0.8 and dep.raw["compute_id"] == "aws-us-east-1-nvidia-l4-x1"
    )
    assert provider.capabilities_for(dep).scale_to_zero
    said = " | ".join(messages)
    for state in ("pending", "deploying", "ready"):
        assert state in said, said


def test_create_body_is_the_sdk_s(provider: HuggingFaceProvider) -> None:
    """The POST hostkit sends is what HfApi.create_inference_endpoint sends (checked by replay)."""
    from huggingface_hub import HfApi, constants

    interactions = load_cassette(CASSETTES / "deploy.yaml")
    post = next(i for i in interactions if i.request.method == "POST")
    assert post.request.uri == f"{constants.INFERENCE_ENDPOINTS_ENDPOINT}/endpoint/{NAMESPACE}"
    api = HfApi(token=FAKE_TOKEN)
    with cassette(CASSETTES / "deploy.yaml", allow_playback_repeats=True):
        made = api.create_inference_endpoint(
            NAME,
            repository=MODEL,
            framework="pytorch",
            accelerator="gpu",
            instance_size="x1",
            instance_type="nvidia-l4",
            region="us-east-1",
            vendor="aws",
            task="text-generation",
            custom_image={
                "tgi": {
                    "url": "ghcr.io/huggingface/text-generation-inference:3.3.6",
                    "healthRoute": "/health",
                    "port": 80,
                }
            },
            tags=[f"hostkit-fp-{DeploymentSpec.from_dict(SPEC).fingerprint()}"],
            namespace=NAMESPACE,
            token=FAKE_TOKEN,
        )
    assert made.status == "pending" and made.repository == MODEL


def test_cassettes_replay_through_hfapi() -> None:
    """Every Endpoints API exchange is one HfApi itself makes and parses."""
    from huggingface_hub import HfApi

    api = HfApi(token=FAKE_TOKEN)
    kw: dict[str, Any] = {"namespace": NAMESPACE, "token": FAKE_TOKEN}
    with cassette(CASSETTES / "get.yaml"):
        assert api.get_inference_endpoint(NAME, **kw).status == "running"
    with cassette(CASSETTES / "scale.yaml"):
        assert api.update_inference_endpoint(NAME, min_replica=2, max_replica=2, **kw).status == (
            "updating"
        )
    with cassette(CASSETTES / "scale_to_zero.yaml"):
        assert api.scale_to_zero_inference_endpoint(NAME, **kw).status == "scaledToZero"
    with cassette(CASSETTES / "pause.yaml"):
        assert api.pause_inference_endpoint(NAME, **kw).status == "paused"
    with cassette(CASSETTES / "resume_running.yaml"):
        assert api.resume_inference_endpoint(NAME, **kw).status == "running"
    with cassette(CASSETTES / "teardown.yaml", allow_playback_repeats=True):
        api.delete_inference_endpoint(NAME, **kw)
    with cassette(CASSETTES / "capacity.yaml"):  # its second exchange: the namespace's hardware
        hardware = api.list_inference_endpoints_hardware(**kw)
    assert {h.instance_type for h in hardware} == {"nvidia-l4", "nvidia-a100", "intel-spr"}


def test_get_from_a_fresh_provider(deployment: Deployment) -> None:
    with cassette(CASSETTES / "get.yaml") as played:
        found = make().get(NAME)
    assert played.play_count == 1
    assert found.status == "ready" and found.fingerprint == deployment.fingerprint


def test_failed_deploy_deletes_the_endpoint(provider: HuggingFaceProvider) -> None:
    spec = {**SPEC, "name": f"{NAME}-failed", "model": "meta-llama/Llama-3.1-70B-Instruct"}
    with cassette(CASSETTES / "deploy_failed.yaml") as played:
        with pytest.raises(errors.DeploymentFailed) as caught:
            provider.deploy(spec)
        assert provider.find(spec["name"]) is None
    assert "CUDA out of memory" in (caught.value.reason or "")
    assert played.play_count == 7
    methods = [i.request.method for i in load_cassette(CASSETTES / "deploy_failed.yaml")]
    assert methods.count("DELETE") == 1


def test_capacity_is_checked_before_creating(provider: HuggingFaceProvider) -> None:
    spec = {**SPEC, "name": "hostkit-endpoint", "instance": "nvidia-a100"}
    with (
        cassette(CASSETTES / "capacity.yaml") as played,
        pytest.raises(errors.CapacityUnavailable) as caught,
    ):
        provider.deploy(spec)
    assert played.play_count == 2  # look-up and catalog; no POST
    assert "not_available in aws/us-east-1" in caught.value.message
    assert "gcp/us-east4" in caught.value.message


def test_quota_is_checked_before_creating(provider: HuggingFaceProvider) -> None:
    with (
        cassette(CASSETTES / "quota.yaml") as played,
        pytest.raises(errors.QuotaExceeded) as caught,
    ):
        provider.deploy({**SPEC, "name": "hostkit-endpoint"})
    assert played.play_count == 2
    assert "0 of 4" in caught.value.message


def test_quota_refused_by_the_create(provider: HuggingFaceProvider) -> None:
    with (
        cassette(CASSETTES / "create_quota.yaml") as played,
        pytest.raises(errors.QuotaExceeded) as caught,
    ):
        provider.deploy({**SPEC, "name": "hostkit-endpoint"})
    assert played.play_count == 3  # never retried
    assert "Quota exceeded for nvidia-l4" in caught.value.message
    assert caught.value.request_id == "01JD2F0A1B2C3D4E5F6G7H8JQQ"


def test_api_auth_error_names_the_endpoints_permission(provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "api_401.yaml"), pytest.raises(errors.AuthenticationError) as caught:
        provider.deploy({**SPEC, "name": "hostkit-endpoint"})
    assert "Invalid credentials" in caught.value.message
    assert "Manage Inference Endpoints" in caught.value.message
    assert FAKE_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Has_Upper"}, "name"),
        ({"instance": "NVIDIA L4"}, "instance"),
        ({"accelerator": "tpu"}, "accelerator"),
        ({"region": "aws/"}, "region"),
        ({"options": {"engine": "llamafile"}}, "options.engine"),
        ({"options": {"colour": "red"}}, "options"),
    ],
)
def test_bad_specs_name_the_field(
    provider: HuggingFaceProvider, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        provider.deploy({**SPEC, **changes})
    assert caught.value.message.startswith(field) or f"{field}:" in caught.value.message


def test_plan_turns_secrets_and_scale_to_zero_into_the_payload(
    provider: HuggingFaceProvider,
) -> None:
    spec = DeploymentSpec.from_dict(
        {
            **SPEC,
            "instance": "nvidia-a10g-x4",
            "min_replicas": 0,
            "max_replicas": 3,
            "scale_to_zero_after": "30m",
            "env": {"MAX_INPUT_TOKENS": "4096", "HF_API_TOKEN": "hf_secretValue0000000000"},
            "options": {"engine": "vllm"},
        }
    )
    payload = provider.endpoints.plan(spec).payload()
    compute = payload["compute"]
    assert (compute["instanceType"], compute["instanceSize"], compute["accelerator"]) == (
        "nvidia-a10g",
        "x4",
        "gpu",
    )
    assert compute["scaling"] == {"maxReplica": 3, "minReplica": 0, "scaleToZeroTimeout": 30}
    assert payload["model"]["env"] == {"MAX_INPUT_TOKENS": "4096"}
    assert payload["model"]["secrets"] == {"HF_API_TOKEN": "hf_secretValue0000000000"}
    assert "vllm" in payload["model"]["image"]
    assert payload["model"]["args"] == ["--served-model-name", MODEL]


# -- invoke, wake, pause/resume ---------------------------------------------------------
def test_invoke_goes_to_the_endpoint_and_is_not_priced_per_call(deployment: Deployment) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cassette(CASSETTES / "invoke.yaml"):
            result = hostkit.invoke(deployment, "Say hello in five words.", max_tokens=32)
    assert result.text == "Hello there, glad to meet you!"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (36, 9)
    assert result.cost_usd is None and result.model == MODEL
    assert result.request_id == "8f3e2a1b-7c6d-4e5f-9a0b-1c2d3e4f5a6b"


def test_scaled_to_zero_endpoint_is_woken_and_the_wait_reported(
    deployment: Deployment, provider: HuggingFaceProvider
) -> None:
    with cassette(CASSETTES / "scale_to_zero.yaml"):
        asleep = provider.scale(deployment, 0)
    assert asleep.status == "scaled_to_zero"
    messages: list[str] = []
    with listen(messages.append), cassette(CASSETTES / "wake.yaml") as played:
        result = provider.invoke(asleep, "Say hello in five words.", max_tokens=32)
    assert played.play_count == 4 and result.text
    said = " | ".join(messages)
    assert "waking" in said and "awake after" in said and "deploying" in said
    assert asleep.status == "ready"


def test_pause_then_invoke_refuses_then_resume(
    deployment: Deployment, provider: HuggingFaceProvider
) -> None:
    with cassette(CASSETTES / "pause.yaml"):
        paused = provider.pause(deployment)
    assert paused.status == "paused"
    with pytest.raises(errors.Unsupported, match="resume it first"):
        provider.invoke(paused, "Hi")
    assert provider.cost(paused, hours=10).usd == 0
    with cassette(CASSETTES / "resume.yaml") as played:
        resumed = provider.resume(paused)
    assert played.play_count == 2 and resumed.status == "ready"
    with cassette(CASSETTES / "resume_running.yaml"):
        again = provider.resume(resumed)
    assert again.status == "ready"


def test_pause_on_the_router_half_is_unsupported(provider: HuggingFaceProvider) -> None:
    router_dep = provider.serverless_deployment(
        "llama", "meta-llama/Llama-3.3-70B-Instruct", None, {}
    )
    with pytest.raises(errors.Unsupported, match="Inference Endpoints"):
        provider.pause(router_dep)


# -- cost and offerings -------------------------------------------------------------
def test_cost_is_price_times_replicas_times_hours(deployment: Deployment) -> None:
    estimate = hostkit.cost(deployment, hours=24)
    assert estimate.usd == pytest.approx(0.8 * 1 * 24)
    assert estimate.source == f"https://api.endpoints.huggingface.cloud/v2/provider/{NAMESPACE}"
    assert estimate.as_of
    two = Deployment.from_dict({**deployment.to_dict(), "replicas": 2})
    assert hostkit.cost(two, hours=10).usd == pytest.approx(16.0)


def test_cost_of_a_spec_reads_the_live_catalog(provider: HuggingFaceProvider) -> None:
    spec = DeploymentSpec.from_dict({**SPEC, "replicas": 2})
    with cassette(CASSETTES / "catalog.yaml"):
        estimate = provider.cost(spec, hours=3)
    assert estimate.usd == pytest.approx(0.8 * 2 * 3)
    assert estimate.source == "https://api.endpoints.huggingface.cloud/v2/provider"


def test_cost_falls_back_to_the_shipped_copy_when_the_catalog_is_unreachable() -> None:
    import httpx2

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    provider = make()
    provider.router.transport = httpx2.MockTransport(refuse)
    spec = DeploymentSpec.from_dict({**SPEC, "instance": "intel-spr-x2"})
    estimate = provider.cost(spec, hours=10)
    assert estimate.usd == pytest.approx(0.067 * 10)
    assert estimate.source == "https://huggingface.co/docs/inference-endpoints/support/pricing"
    unknown = DeploymentSpec.from_dict({**SPEC, "instance": "nvidia-b200-x8"})
    with pytest.warns(errors.PriceUnknown):
        assert provider.cost(unknown, hours=1).usd is None


def test_offerings_for_a_region(provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "catalog.yaml"):
        offers = provider.offerings(region="aws/us-east-1")
    names = [o.name for o in offers]
    assert names == ["intel-spr-x2", "nvidia-l4-x1", "nvidia-a100-x1"]
    l4 = offers[1]
    assert (l4.usd_per_hour, l4.gpu_count, l4.gpu_memory_gb, l4.kind) == (0.8, 1, 24, "instance")
    assert l4.source and l4.as_of


# -- the compliance kit, dedicated half -----------------------------------------------------
class EndpointsFixtures(ProviderFixtures):
    provider_name = "huggingface"
    credentials: ClassVar[dict[str, str]] = {"HF_TOKEN": FAKE_TOKEN}
    settings: ClassVar[dict[str, Any]] = {"namespace": NAMESPACE}
    cassette_folder = CASSETTES
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": MODEL,
        "instance": "nvidia-l4",
        "region": "aws/us-east-1",
    }
    #: a 70B model cannot load on one 24 GB L4: the endpoint ends failed (out of memory)
    failing_spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "instance": "nvidia-l4",
        "region": "aws/us-east-1",
    }
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 32}


class TestEndpointsCompliance(EndpointsFixtures, ProviderComplianceTests):
    pass


def test_fixture_request_ids_are_recorded() -> None:
    """The error scenarios carry request ids the kit checks against."""
    assert load_cassette(CASSETTES / "error_401.yaml")[0].response.header("x-request-id")


def test_provider_is_registered_with_both_halves() -> None:
    found = provider_for("huggingface")
    assert isinstance(found, Provider) and found.capabilities.dedicated
