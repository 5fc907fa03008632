"""The azureml provider beyond the compliance kit: the issue's lifecycle, failures and
clean-up, Azure's errors, names, prices, and that the SDK parses every recorded body.

Cassettes live in cassettes/ (see build_cassettes.py for how they were written). Every
test replays strictly: a request a cassette does not hold fails, and so does a recorded
request that is not made.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hostkit_providers.azureml import AzureMLProvider
from hostkit_providers.azureml import _errors as azure_errors
from hostkit_providers.azureml.containers import LLM_IMAGE, is_hub_model, llm_container
from hostkit_providers.azureml.resources import (
    DEPLOYMENT,
    autoscale_name,
    endpoint_name,
    summarise,
)

import hostkit
from hostkit import Deployment, DeploymentSpec, errors
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes"
SETTINGS = {
    "subscription_id": "6f1c2b7e-3a4d-4e5f-9b8a-2c1d0e9f8a7b",
    "resource_group": "hostkit-rg",
    "workspace": "hostkit-ws",
    "region": "eastus",
}
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
INSTANCE = "Standard_NC24ads_A100_v4"
PROMPT = "Say hello in five words."
ANSWER = "Hello there, nice to meet you!"
NAME = "hostkit-compliance"


def spec(**fields: Any) -> DeploymentSpec:
    return DeploymentSpec.from_dict({"provider": "azureml", **fields})


COMPLIANCE = spec(name=NAME, model=MODEL, instance=INSTANCE)


class Waits(list[float]):
    """The retry policy's and the wait loop's sleeps, recorded instead of slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def make(waits: Waits) -> Callable[..., AzureMLProvider]:
    def build(**overrides: Any) -> AzureMLProvider:
        provider = AzureMLProvider(**{**SETTINGS, **overrides})
        provider.sleep = waits
        provider.retry.sleep = waits
        return provider

    return build


@contextlib.contextmanager
def replay(name: str | Path) -> Iterator[Any]:
    """Replay a cassette strictly; every recorded request must be made."""
    path = name if isinstance(name, Path) else CASSETTES / f"{name}.yaml"
    with cassette(path, record_mode="none") as recorded:
        yield recorded
    assert recorded.play_count == len(recorded.data), (
        f"{path.name}: made {recorded.play_count} of {len(recorded.data)} recorded requests"
    )


def requests_of(name: str) -> list[str]:
    """``METHOD parent/last`` for each recorded request (the last two path segments)."""
    found = []
    for interaction in load_cassette(CASSETTES / f"{name}.yaml"):
        parent, last = interaction.request.path.rsplit("/", 2)[-2:]
        found.append(f"{interaction.request.method} {parent}/{last}")
    return found


@pytest.fixture
def deployed(make: Callable[..., AzureMLProvider]) -> tuple[AzureMLProvider, Deployment]:
    provider = make()
    with replay("deploy"):
        dep = provider.deploy(COMPLIANCE)
    return provider, dep


# -- declarations and construction ---------------------------------------------------
def test_module_imports_without_loading_the_sdk() -> None:
    code = (
        "import sys, hostkit_providers.azureml as m;"
        "print(sorted(k for k in sys.modules if k.startswith('azure')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_declarations() -> None:
    assert AzureMLProvider.name == "azureml"
    caps = AzureMLProvider.capabilities
    assert caps.dedicated and caps.streaming and caps.native_async
    assert caps.manual_scaling and caps.autoscaling and not caps.scale_to_zero
    assert AzureMLProvider.requires == ("azure.ai.ml", "azure.identity")
    assert AzureMLProvider.install_extra == "azureml"
    assert AzureMLProvider.credential_env is None  # DefaultAzureCredential is a chain
    assert set(AzureMLProvider.settings_schema) == {
        "subscription_id",
        "resource_group",
        "workspace",
    }
    assert "scale_to_zero" in AzureMLProvider.unsupported
    info = {p.name: p for p in hostkit.available_providers()}["azureml"]
    assert info.installed


def test_construction_sends_nothing_and_builds_one_client_lazily(
    make: Callable[..., AzureMLProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[Any] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: attempts.append(address))
    provider = make()
    assert provider._ml is None and attempts == []
    client = provider.ml
    assert provider.ml is client and attempts == []
    # the SDK's own retries are off: hostkit's policy is the only retry loop
    config = provider._endpoint_ops._config
    assert config.retry_policy.total_retries == 0
    assert provider._deployment_ops._config.retry_policy.total_retries == 0
    # the generated clients hostkit reaches into exist in this azure-ai-ml
    assert callable(provider._endpoint_ops.begin_create_or_update)
    assert callable(provider._deployment_ops.begin_update)
    assert callable(provider.ml.environments._version_operations.get)
    assert callable(provider._deployment_ops._client.send_request)


def test_missing_settings_are_named_at_first_use(make: Callable[..., AzureMLProvider]) -> None:
    provider = make(workspace=None)
    with pytest.raises(errors.ConfigError, match=r"'workspace'.*providers\.azureml"):
        provider.get(NAME)


def test_no_azure_sign_in_says_how_to_sign_in(
    make: Callable[..., AzureMLProvider], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HOSTKIT_TEST_AZURE_TOKEN")
    empty = tmp_path / "empty.yaml"
    empty.write_text("version: 1\ninteractions: []\n")
    with replay(empty), pytest.raises(errors.AuthenticationError) as caught:
        make().get(NAME)
    assert "az login" in caught.value.message
    assert "AZURE_CLIENT_ID" in caught.value.message


# -- the "done when": the whole lifecycle against recorded fixtures -------------
def test_deploy_status_invoke_stream_scale_cost_teardown(
    make: Callable[..., AzureMLProvider],
) -> None:
    provider = make()
    before = {t.name for t in threading.enumerate()}
    with replay("deploy"):
        dep = provider.deploy(COMPLIANCE)
    assert dep.status == "ready" and dep.endpoint == (
        "https://hostkit-compliance.eastus.inference.ml.azure.com/score"
    )
    assert (dep.instance, dep.replicas, dep.region) == (INSTANCE, 1, "eastus")
    assert dep.fingerprint == COMPLIANCE.fingerprint()
    assert dep.raw["traffic"] == {DEPLOYMENT: 100}
    # no SDK poller thread was started: hostkit polls with its own loop
    assert not [t for t in threading.enumerate() if t.name not in before and "LROPoller" in t.name]

    with replay("get"):
        assert provider.status(dep).status == "ready"
    with replay("invoke"):
        result = provider.invoke(dep, PROMPT)
    assert result.text == ANSWER and result.usage.input_tokens == 42
    assert result.request_id and result.cost_usd is None
    with replay("stream"):
        stream = provider.stream(dep, PROMPT)
        assert "".join(stream) == ANSWER
    assert stream.result is not None and stream.result.usage == result.usage
    with replay("scale"):
        scaled = provider.scale(dep, 2)
    assert (scaled.replicas, scaled.status) == (2, "updating")
    with replay("autoscale"):
        bounded = provider.scale(dep, min_replicas=1, max_replicas=2)
    assert (bounded.min_replicas, bounded.max_replicas) == (1, 2)

    estimate = provider.cost(scaled, hours=3)
    assert estimate.usd == pytest.approx(2 * 3 * 3.673)
    assert estimate.source and estimate.as_of
    assert "on-demand list price" in estimate.breakdown[0].description

    with replay("teardown"):
        provider.teardown(dep)
        assert provider.find(NAME) is None
        provider.teardown(dep)
    assert NAME not in provider.records.names()


def test_the_calls_each_operation_makes() -> None:
    """The closing note of the issue, checked against the cassettes."""
    assert requests_of("deploy") == [
        "GET onlineEndpoints/hostkit-compliance",
        "PUT onlineEndpoints/hostkit-compliance",
        "GET onlineEndpoints/hostkit-compliance",
        "GET onlineEndpoints/hostkit-compliance",
        "GET versions/48849500ea2a",
        "PUT versions/48849500ea2a",
        "PUT deployments/hostkit",
        *["GET onlineEndpoints/hostkit-compliance", "GET deployments/hostkit"] * 2,
        "PUT onlineEndpoints/hostkit-compliance",
        *["GET onlineEndpoints/hostkit-compliance", "GET deployments/hostkit"] * 2,
        "POST hostkit-compliance/listKeys",
    ]
    assert requests_of("scale") == [
        "DELETE autoscalesettings/hostkit-hostkit-compliance",
        "PATCH deployments/hostkit",
    ]
    assert requests_of("autoscale") == ["PUT autoscalesettings/hostkit-hostkit-compliance"]
    assert requests_of("teardown")[:5] == [
        "GET onlineEndpoints/hostkit-compliance",
        "DELETE autoscalesettings/hostkit-hostkit-compliance",
        "DELETE onlineEndpoints/hostkit-compliance",
        "GET onlineEndpoints/hostkit-compliance",
        "GET onlineEndpoints/hostkit-compliance",
    ]


def test_a_failed_deploy_gives_azures_reason_and_leaves_nothing(
    make: Callable[..., AzureMLProvider],
) -> None:
    provider = make()
    failing = spec(
        name=f"{NAME}-failed", model="meta-llama/Llama-3.1-70B-Instruct", instance=INSTANCE
    )
    with replay("deploy_failed"):
        with pytest.raises(errors.DeploymentFailed) as caught:
            provider.deploy(failing)
        assert provider.find(failing.name) is None
    assert caught.value.reason and caught.value.reason.startswith("ResourceNotReady: ")
    assert "crashed" in caught.value.reason
    calls = requests_of("deploy_failed")
    assert "DELETE onlineEndpoints/hostkit-compliance-failed" in calls
    assert "DELETE autoscalesettings/hostkit-hostkit-compliance-failed" in calls
    assert failing.name not in provider.records.names()


@pytest.mark.parametrize(
    ("scenario", "cause"),
    [("quota", errors.QuotaExceeded), ("capacity", errors.CapacityUnavailable)],
)
def test_quota_and_capacity_failures_name_the_instance_and_region_and_clean_up(
    make: Callable[..., AzureMLProvider], scenario: str, cause: type[errors.HostkitError]
) -> None:
    target = spec(name=f"llama-{scenario}", model=MODEL, instance=INSTANCE)
    with replay(scenario), pytest.raises(errors.DeploymentFailed) as caught:
        make().deploy(target)
    error = caught.value
    assert isinstance(error.__cause__, cause)
    assert INSTANCE in error.__cause__.message and "eastus" in error.__cause__.message
    assert (error.reason or "").startswith("OutOfQuota: ")
    assert f"DELETE onlineEndpoints/{target.name}" in requests_of(scenario)


def test_a_deploy_that_times_out_is_deleted_and_its_token_never_saved(
    make: Callable[..., AzureMLProvider],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import hostkit_providers.azureml.provider as adapter

    import hostkit._provider as core

    clock = [1000.0]

    class FakeTime:
        perf_counter = staticmethod(lambda: 0.0)

        @staticmethod
        def monotonic() -> float:
            return clock[0]

        @staticmethod
        def sleep(seconds: float) -> None:
            clock[0] += seconds

    monkeypatch.setattr(core, "time", FakeTime)
    monkeypatch.setattr(adapter, "time", FakeTime)
    caplog.set_level(logging.DEBUG)
    token = "hf_fakePlaceholderToken000"
    gated = spec(name="llama-gated", model=MODEL, instance=INSTANCE, env={"HF_TOKEN": token})
    provider = make()
    provider.sleep = FakeTime.sleep
    with replay("timeout"), pytest.raises(errors.DeploymentFailed) as caught:
        provider.deploy(gated, timeout=60)
    assert "did not become ready" in caught.value.message
    assert "what it created was deleted" in caught.value.message
    # 5 s for the endpoint, then the deployment polled at 0, 5, 15 and 35 s of the wait
    assert clock[0] == pytest.approx(1040.0)
    # the deployment PUT carried HF_TOKEN (REDACTED in the cassette, matched as a key)
    put = next(
        i.request
        for i in load_cassette(CASSETTES / "timeout.yaml")
        if i.request.method == "PUT" and i.request.path.endswith("/deployments/hostkit")
    )
    assert put.json()["properties"]["environmentVariables"]["HF_TOKEN"] == "REDACTED"
    seen = [r.getMessage() for r in caplog.records] + [str(caught.value)]
    seen += [p.read_text() for p in provider.records.folder.glob("*.json")]
    assert not [text for text in seen if token in text]


def test_failed_deployment_found_by_another_process_explains_why(
    make: Callable[..., AzureMLProvider],
) -> None:
    with replay("get_failed"):
        found = make().get("llama-broken")
    assert found.status == "failed"
    assert found.raw["failure_reason"].startswith("BadArgument: Unable to download user container")


def test_teardown_refuses_an_endpoint_hostkit_did_not_make(
    make: Callable[..., AzureMLProvider],
) -> None:
    with replay("teardown_foreign"), pytest.raises(errors.ConfigError) as caught:
        make().teardown("scoring-prod")
    assert "no hostkit-name tag" in caught.value.message
    assert "az ml online-endpoint delete -n scoring-prod" in caught.value.message


def test_teardown_retries_the_delete_while_azure_is_busy(
    make: Callable[..., AzureMLProvider], waits: Waits
) -> None:
    placeholder = Deployment(name="llama-busy", provider="azureml", model=MODEL, status="failed")
    with replay("teardown_busy"):
        make().teardown(placeholder)
    assert waits == [5.0]  # once, before deleting again
    assert requests_of("teardown_busy").count("DELETE onlineEndpoints/llama-busy") == 2


def test_teardown_of_a_missing_deployment_is_quiet(make: Callable[..., AzureMLProvider]) -> None:
    with replay("teardown_missing"):
        make().teardown("hostkit-compliance-missing")


# -- an Azure ML model in a custom container ---------------------------------------
RAW = spec(
    name="fraud-scorer",
    model="azureml:fraud-model:3",
    image="hostkitws8f2c.azurecr.io/fraud-scorer:2.1",
    instance="Standard_DS3_v2",
    min_replicas=1,
    max_replicas=3,
)


def test_azureml_model_in_a_custom_container_autoscaled_with_the_workspace_region(
    make: Callable[..., AzureMLProvider],
) -> None:
    provider = make(region=None)
    with replay("deploy_raw"):
        dep = provider.deploy(RAW)
    assert dep.status == "ready" and dep.region == "eastus"
    assert (dep.min_replicas, dep.max_replicas) == (1, 3)
    assert dep.raw["kind"] == "raw"
    assert not provider.capabilities_for(dep).streaming
    put = next(
        i.request.json()
        for i in load_cassette(CASSETTES / "deploy_raw.yaml")
        if i.request.method == "PUT" and i.request.path.endswith("/deployments/hostkit")
    )
    assert put["properties"]["model"].endswith("/models/fraud-model/versions/3")
    payload = {"input_data": {"columns": ["amount", "age_days"], "data": [[12.5, 3], [980.0, 1]]}}
    with replay("invoke_raw"):
        result = provider.invoke(dep, payload)
    assert result.output == [0.0312, 0.9127] and result.text is None
    with pytest.raises(errors.Unsupported, match="answers in one piece"):
        provider.stream(dep, payload)
    with pytest.raises(errors.ConfigError, match="inside the payload"):
        provider.invoke(dep, payload, temperature=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = provider.cost(dep, hours=1)
    assert estimate.usd is None and estimate.warnings
    assert [w.category for w in caught] == [errors.PriceUnknown]


# -- invoke details ---------------------------------------------------------------------
def _combined(tmp_path: Path, parts: list[tuple[str, int | None]], key: str | None = None) -> Path:
    """A cassette made of interactions of others (``(name, index)``; None: all)."""
    interactions: list[Any] = []
    for name, index in parts:
        text = (CASSETTES / f"{name}.yaml").read_text()
        data = yaml.safe_load(text)["interactions"]
        interactions += data if index is None else [data[index]]
    document = yaml.safe_dump({"version": 1, "interactions": interactions}, sort_keys=False)
    if key:
        document = document.replace('"primaryKey": "REDACTED"', f'"primaryKey": "{key}"')
    path = tmp_path / "combined.yaml"
    path.write_text(document)
    return path


def test_the_endpoint_key_is_fetched_through_the_api_and_never_leaks(
    make: Callable[..., AzureMLProvider],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    key = "hkTestEndpointKey0123456789abcdefABCDEF"
    sent: list[str] = []
    real_send = httpx.Client.send

    def spy(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append(request.headers.get("authorization", ""))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", spy)
    caplog.set_level(logging.DEBUG)
    provider = make()
    with replay(_combined(tmp_path, [("deploy", None)], key=key)):
        dep = provider.deploy(COMPLIANCE)
    with replay("invoke"):
        result = provider.invoke(dep, PROMPT)
    with replay("error_401"), pytest.raises(errors.AuthenticationError) as caught:
        provider.invoke(dep, PROMPT)
    assert sent == [f"Bearer {key}"] * 2
    assert "rejected its key" in caught.value.message
    seen = [repr(provider), repr(dep), dep.to_json(), json.dumps(result.to_dict(), default=str)]
    seen += [str(caught.value), repr(caught.value)]
    # vcrpy itself logs the bodies it replays; the provider's and the SDK's records count
    seen += [r.getMessage() for r in caplog.records if not r.name.startswith("vcr")]
    seen += [p.read_text() for p in provider.records.folder.glob("*.json")]
    assert not [text for text in seen if key in text]


def test_a_rejected_key_is_fetched_again_on_the_next_call(
    deployed: tuple[AzureMLProvider, Deployment], tmp_path: Path
) -> None:
    provider, dep = deployed
    with replay("error_401"), pytest.raises(errors.AuthenticationError):
        provider.invoke(dep, PROMPT)
    with replay(_combined(tmp_path, [("deploy", -1), ("invoke", None)])):
        assert provider.invoke(dep, PROMPT).text == ANSWER


def test_ainvoke_in_a_later_process_fetches_the_key_first(
    make: Callable[..., AzureMLProvider], tmp_path: Path
) -> None:
    provider = make()
    with replay("get"):
        dep = provider.get(NAME)
    with replay(_combined(tmp_path, [("deploy", -1), ("ainvoke", None)])):
        result = asyncio.run(provider.ainvoke(dep, PROMPT))
    assert result.text == ANSWER
    with replay("ainvoke"):  # a new event loop gets its own async client
        assert asyncio.run(provider.ainvoke(dep, PROMPT)).text == ANSWER


def test_scoring_errors(deployed: tuple[AzureMLProvider, Deployment], waits: Waits) -> None:
    provider, dep = deployed
    waits.clear()
    with replay("error_424") as recorded, pytest.raises(errors.ProviderError) as caught:
        provider.invoke(dep, PROMPT)
    assert caught.value.status_code == 424 and recorded.play_count == 1
    assert "scoring script" in caught.value.message and caught.value.request_id
    with replay("stream_error"), pytest.raises(errors.ProviderError, match="CUDA out of memory"):
        list(provider.stream(dep, PROMPT))
    with replay("error_5xx"), pytest.raises(errors.ProviderError) as failed:
        provider.invoke(dep, PROMPT)
    assert failed.value.status_code == 500 and len(waits) == 3


def test_arm_throttling_is_retried_after_the_time_azure_asks(
    make: Callable[..., AzureMLProvider], waits: Waits
) -> None:
    with replay("arm_throttled"):
        found = make().get(NAME)
    assert found.status == "ready"
    assert waits[0] == 17.0 and len(waits) == 2


def test_a_missing_permission_is_named(
    deployed: tuple[AzureMLProvider, Deployment],
) -> None:
    provider, dep = deployed
    with replay("arm_forbidden"), pytest.raises(errors.AuthenticationError) as caught:
        provider.scale(dep, 3)
    error = caught.value
    assert error.message.startswith(
        "missing permission microsoft.insights/autoscalesettings/delete: AuthorizationFailed: "
    )
    assert error.status_code == 403
    recorded = load_cassette(CASSETTES / "arm_forbidden.yaml")[0].response
    assert error.request_id == recorded.header("x-ms-request-id")


# -- spec rules ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"model": MODEL}, "instance: Azure ML needs a VM size"),
        ({"model": MODEL, "instance": INSTANCE, "options": {"gpus": 2}}, "allowed: app_insights"),
        ({"model": MODEL, "instance": INSTANCE, "replicas": 0}, "replicas: Azure ML managed"),
        ({"model": MODEL, "instance": INSTANCE, "min_replicas": 0, "max_replicas": 2}, "minimum"),
        ({"model": MODEL, "instance": INSTANCE, "scale_to_zero_after": "15m"}, "at least one"),
        ({"model": "s3://bucket/model.tar.gz", "instance": INSTANCE}, "neither a Hugging Face"),
        ({"model": "azureml:fraud-model", "instance": INSTANCE}, "azureml:NAME:VERSION"),
        ({"model": "azureml:fraud-model@latest", "instance": INSTANCE}, "azureml:NAME:VERSION"),
        ({"model": MODEL, "instance": INSTANCE, "options": {"environment": "azureml:e:1"}}, "only"),
        ({"model": MODEL, "instance": INSTANCE, "accelerator": "H100:1"}, "does not match"),
        ({"model": MODEL, "instance": INSTANCE, "region": "westeurope"}, "workspace region"),
        (
            {"model": MODEL, "instance": INSTANCE, "options": {"request_timeout_ms": 999999}},
            "180000",
        ),
        ({"model": MODEL, "instance": INSTANCE, "options": {"port": "80"}}, "whole number"),
    ],
)
def test_specs_azure_ml_cannot_honour_are_refused_before_any_request(
    make: Callable[..., AzureMLProvider], fields: dict[str, Any], words: str
) -> None:
    with pytest.raises(errors.ConfigError, match=words.replace("(", r"\(")):
        make().validate_spec(spec(name="x-check", **fields))


def test_accelerator_that_matches_the_instance_is_accepted(
    make: Callable[..., AzureMLProvider],
) -> None:
    make().validate_spec(spec(name="ok", model=MODEL, instance=INSTANCE, accelerator="A100:1"))


def test_same_name_other_spec_is_refused_and_update_is_unsupported(
    deployed: tuple[AzureMLProvider, Deployment],
) -> None:
    provider, _ = deployed
    other = spec(name=NAME, model=MODEL, instance=INSTANCE, replicas=2)
    with replay("deploy_existing"), pytest.raises(errors.ConfigError, match="different spec"):
        provider.deploy(other)
    with replay("deploy_existing"), pytest.raises(errors.Unsupported, match="tear it down"):
        provider.deploy(other, update=True)


def test_scale_to_zero_is_unsupported_with_the_reason(
    deployed: tuple[AzureMLProvider, Deployment],
) -> None:
    provider, dep = deployed
    with pytest.raises(errors.Unsupported, match="minimum instance count is 1"):
        provider.scale(dep, 0)


# -- names, containers and states ------------------------------------------------------
def test_endpoint_names_are_valid_deterministic_and_distinct() -> None:
    import re

    valid = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
    assert endpoint_name("hostkit-compliance") == "hostkit-compliance"
    assert endpoint_name("Llama-Prod") == "llama-prod"
    names = ["Llama-3.1-8B-Instruct", "my_model", "my-model_", "9lives", "ab", "x" * 63, "a.b"]
    made = [endpoint_name(n) for n in names]
    assert made == [endpoint_name(n) for n in names]
    assert len(set(made)) == len(made)
    for name in made:
        assert 3 <= len(name) <= 32 and valid.match(name), name
    assert autoscale_name("llama") == "hostkit-llama"


def test_hub_ids_run_in_tgi_with_a_shard_per_gpu() -> None:
    assert is_hub_model(MODEL) and is_hub_model("gpt2") and not is_hub_model("s3://b/m")
    container = llm_container(MODEL, None, 2, {})
    assert container.image == LLM_IMAGE
    assert container.env == {"MODEL_ID": MODEL, "NUM_SHARD": "2"}
    assert container.inference_config()["scoring_route"] == {
        "port": 80,
        "path": "/v1/chat/completions",
    }
    assert llm_container(MODEL, "my/vllm:1", 1, {"port": 8000}).environment_version() != (
        container.environment_version()
    )


@pytest.mark.parametrize(
    ("endpoint_state", "deployment_state", "status"),
    [
        (None, None, "deleted"),
        ("Creating", None, "deploying"),
        ("Succeeded", None, "failed"),
        ("Succeeded", "Creating", "deploying"),
        ("Succeeded", "Scaling", "updating"),
        ("Updating", "Succeeded", "updating"),
        ("Succeeded", "Succeeded", "ready"),
        ("Succeeded", "Failed", "failed"),
        ("Failed", None, "failed"),
        ("Deleting", "Succeeded", "deleted"),
    ],
)
def test_azure_states_become_hostkit_statuses(
    endpoint_state: str | None, deployment_state: str | None, status: str
) -> None:
    endpoint = (
        None if endpoint_state is None else {"properties": {"provisioningState": endpoint_state}}
    )
    deployment = (
        None
        if deployment_state is None
        else {"properties": {"provisioningState": deployment_state}}
    )
    assert summarise(endpoint, deployment)[0] == status


# -- errors ---------------------------------------------------------------------------
def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    import io

    import requests
    from azure.core.rest import HttpRequest
    from azure.core.rest._requests_basic import RestRequestsTransportResponse

    raw = requests.Response()
    raw.status_code = status
    raw.raw = io.BytesIO(json.dumps(body).encode())
    raw.headers.update({"content-type": "application/json", **(headers or {})})
    raw.reason = "reason"
    request = HttpRequest("GET", "https://management.azure.com/x")
    response = RestRequestsTransportResponse(request=request, internal_response=raw)
    response.read()
    return response


def _http_error(status: int, code: str, message: str, **headers: str) -> Exception:
    from azure.core import exceptions as az
    from azure.mgmt.core.exceptions import ARMErrorFormat

    response = _response(status, {"error": {"code": code, "message": message}}, headers)
    kinds = {401: az.ClientAuthenticationError, 404: az.ResourceNotFoundError}
    kind = kinds.get(status, az.ResourceExistsError if status == 409 else az.HttpResponseError)
    return kind(response=response, error_format=ARMErrorFormat)


def translate(error: Exception) -> errors.HostkitError | None:
    return azure_errors.translate(error, provider="azureml", instance=INSTANCE, region="eastus")


@pytest.mark.parametrize(
    ("status", "code", "message", "expected", "words"),
    [
        (
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
            errors.AuthenticationError,
            "az login",
        ),
        (
            403,
            "AuthorizationFailed",
            "does not have authorization to perform action"
            " 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write' over scope",
            errors.AuthenticationError,
            "missing permission Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write",
        ),
        (404, "ResourceNotFound", "gone", errors.NotFound, "ResourceNotFound: gone"),
        (409, "Conflict", "An operation is in progress", errors.ProviderError, "still running"),
        (
            400,
            "BadArgument",
            f"Not enough quota available for {INSTANCE}",
            errors.QuotaExceeded,
            "eastus",
        ),
        (
            400,
            "SkuNotAvailable",
            "The requested VM size is currently unavailable",
            errors.CapacityUnavailable,
            INSTANCE,
        ),
        (
            400,
            "BadArgument",
            "instance_count must be greater than 0",
            errors.ConfigError,
            "BadArgument",
        ),
        (500, "InternalServerError", "boom", errors.ProviderError, "boom"),
        (504, "GatewayTimeout", "slow", errors.Timeout, "slow"),
    ],
)
def test_arm_errors_map_with_azures_words(
    status: int, code: str, message: str, expected: type[errors.HostkitError], words: str
) -> None:
    error = translate(_http_error(status, code, message, **{"x-ms-request-id": "req-1"}))
    assert type(error) is expected
    assert words in error.message and error.status_code == status
    assert error.request_id == "req-1"
    assert error.retryable == (status >= 500)


def test_arm_429_is_rate_limited_with_retry_after() -> None:
    error = translate(_http_error(429, "TooManyRequests", "slow down", **{"retry-after": "17"}))
    assert isinstance(error, errors.RateLimited) and error.retry_after == 17.0


def _every_exception_class() -> list[type[BaseException]]:
    import inspect

    import azure.ai.ml.exceptions as ml
    import azure.core.exceptions as core
    import azure.identity as identity

    found: list[type[BaseException]] = []
    for module in (core, identity, ml):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith("azure"):
                found.append(cls)
    return sorted(set(found), key=lambda c: c.__qualname__)


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance of ``cls``, its required arguments filled by name."""
    import inspect

    from azure.ai.ml.exceptions import ErrorCategory
    from azure.core import exceptions as az

    response = _response(400, {"error": {"code": "X", "message": "m"}})
    if issubclass(cls, az.HttpResponseError) and not issubclass(cls, az.ClientAuthenticationError):
        if cls is az.TooManyRedirectsError:
            return cls(history=[], response=response)
        return cls(response=response)
    by_name: dict[str, Any] = {
        "response": response,
        "scopes": ["https://management.azure.com/.default"],
        "error_category": ErrorCategory.USER_ERROR,
        "history": [],
        "min_number": 1,
        "max_number": 2,
        "given_number": 3,
    }
    arguments: list[Any] = []
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is parameter.empty:
            arguments.append(by_name.get(parameter.name, f"the {parameter.name}"))
    return cls(*arguments)


@pytest.mark.parametrize("cls", _every_exception_class(), ids=lambda c: c.__name__)
def test_every_azure_exception_class_is_mapped(cls: type[BaseException]) -> None:
    mapped = translate(_instance(cls))  # type: ignore[arg-type]
    assert isinstance(mapped, errors.HostkitError), cls
    assert mapped.message.strip()


def test_connection_failures_are_retryable_and_known_unsent() -> None:
    from azure.core import exceptions as az
    from azure.identity import CredentialUnavailableError

    unsent = translate(az.ServiceRequestError("connection refused"))
    assert isinstance(unsent, errors.ProviderError) and unsent.retryable
    assert unsent.request_not_sent  # type: ignore[attr-defined]
    broken = translate(az.ServiceResponseError("reset"))
    assert broken is not None and broken.retryable
    assert isinstance(translate(az.ServiceResponseTimeoutError("slow")), errors.Timeout)
    signed_out = translate(CredentialUnavailableError("no az login"))
    assert isinstance(signed_out, errors.AuthenticationError)
    assert "AZURE_CLIENT_SECRET" in signed_out.message


# -- prices and hardware ------------------------------------------------------------------
def test_cost_multiplies_price_instances_and_hours_with_source_and_date(
    make: Callable[..., AzureMLProvider],
) -> None:
    provider = make()
    target = spec(name="c", model=MODEL, instance="Standard_NC40ads_H100_v5", replicas=3)
    estimate = provider.cost(target, hours=2)
    assert estimate.usd == pytest.approx(3 * 2 * 6.98)
    line = estimate.breakdown[0]
    assert (line.quantity, line.unit_price_usd, line.unit) == (6.0, 6.98, "instance-hour")
    assert "eastus" in line.description and "on-demand" in line.description
    assert estimate.source and estimate.as_of
    assert provider.cost(spec(name="c", model=MODEL, instance=INSTANCE)).usd == pytest.approx(3.673)


def test_no_price_in_another_region_and_exactly_one_warning(
    make: Callable[..., AzureMLProvider],
) -> None:
    provider = make(region="japaneast")  # no shipped price in Japan East
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = provider.cost(spec(name="c", model=MODEL, instance=INSTANCE), hours=1)
    assert estimate.usd is None and "japaneast" in estimate.warnings[0]
    assert [w.category for w in caught] == [errors.PriceUnknown]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tokens = provider.cost(spec(name="c", model=MODEL, instance=INSTANCE), input_tokens=10)
    assert tokens.usd is None and "per instance-hour" in tokens.warnings[0]
    assert len(caught) == 1


def test_a_config_price_applies_in_every_region() -> None:
    provider = AzureMLProvider(
        **{**SETTINGS, "region": "swedencentral"},
        _prices={INSTANCE: {"usd_per_hour": 2.5}},
        _prices_source=("hostkit.toml [prices]", "2026-11-20"),
    )
    estimate = provider.cost(spec(name="c", model=MODEL, instance=INSTANCE), hours=2)
    assert estimate.usd == pytest.approx(5.0) and estimate.source == "hostkit.toml [prices]"


def test_offerings_carry_gpus_and_the_regions_prices(make: Callable[..., AzureMLProvider]) -> None:
    offers = {o.name: o for o in make().offerings()}
    a100 = offers[INSTANCE]
    assert (a100.gpu_type, a100.gpu_count, a100.gpu_memory_gb, a100.usd_per_hour) == (
        "A100 80GB PCIe",
        1,
        80,
        3.673,
    )
    assert offers["Standard_NC80adis_H100_v5"].gpu_count == 2
    a10 = offers["Standard_NV36ads_A10_v5"]  # the 2023-12-08 Retail Prices record (stale)
    assert (a10.usd_per_hour, a10.as_of) == (3.2, "2023-12-08") and a10.source
    assert all(o.region == "eastus" for o in offers.values())
    eu = {o.name: o for o in make().offerings("westeurope")}
    assert (eu[INSTANCE].usd_per_hour, eu[INSTANCE].as_of) == (4.775, "2026-08-22")
    assert {o.usd_per_hour for o in make().offerings("japaneast")} == {None}


def test_price_and_hardware_tables_are_complete() -> None:
    import tomllib

    folder = Path(__file__).parents[1]
    prices = tomllib.loads((folder / "prices.toml").read_text())
    hardware = tomllib.loads((folder / "hardware.toml").read_text())["instances"]
    for section, rows in prices.items():
        assert section.startswith("region.")
        for key, row in rows.items():
            assert key in hardware, key
            assert row["source"].startswith("https://") and row["as_of"]
    for row in hardware.values():
        assert row["gpu_type"] and row["gpu_count"] >= 1 and row["source"].startswith("https://")


# -- realism: the SDK parses what the cassettes hold -----------------------------------
def _entities() -> dict[str, tuple[Any, Callable[[Any], Any]]]:
    """Per resource kind: the generated REST model and the public entity built from it,
    the way MLClient's own operations do (they read specific fields, so a wrong shape fails).
    """
    from azure.ai.ml._restclient.arm_ml_service import models
    from azure.ai.ml.entities import (
        EndpointAuthKeys,
        Environment,
        OnlineDeployment,
        OnlineEndpoint,
        Workspace,
    )

    return {
        "onlineEndpoints": (models.OnlineEndpoint, OnlineEndpoint._from_rest_object),
        "deployments": (models.OnlineDeployment, OnlineDeployment._from_rest_object),
        "listKeys": (models.EndpointAuthKeys, EndpointAuthKeys._from_rest_object),
        "versions": (models.EnvironmentVersion, Environment._from_rest_object),
        "workspaces": (models.Workspace, Workspace._from_rest_object),
    }


ARM_CASSETTES = sorted(CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("path", ARM_CASSETTES, ids=lambda p: p.stem)
def test_the_sdk_parses_every_recorded_body(path: Path) -> None:
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _deserialize
    from azure.ai.ml._restclient.arm_ml_service.models import ErrorResponse

    from hostkit.adapters import iter_sse_data, result_from_completion

    entities = _entities()
    for interaction in load_cassette(path):
        request, response = interaction.request, interaction.response
        if not response.body:
            assert response.status in (202, 204)
            continue
        if request.host == "management.azure.com":
            data = response.json()
            if response.status >= 400:
                error = _deserialize(ErrorResponse, data)
                assert error.error.code and error.error.message
                assert response.header("x-ms-request-id")
                continue
            if "mfeOperationsStatus" in request.path:
                assert data["status"] in ("Succeeded", "Failed", "InProgress")
                continue
            if "autoscalesettings" in request.path.lower():
                assert data["properties"]["profiles"][0]["capacity"]["minimum"]
                continue
            parent, last = request.path.rstrip("/").rsplit("/", 2)[-2:]
            if parent == "workspaces":
                kind = "workspaces"
            elif last == "listKeys":
                kind = "listKeys"
            else:
                kind = parent
            model, entity = entities[kind]
            built = entity(_deserialize(model, data))
            if kind == "onlineEndpoints":
                assert built.provisioning_state and built.scoring_uri.endswith("/score")
            elif kind == "deployments":
                assert built.instance_type and built.provisioning_state
            elif kind == "listKeys":
                assert built.primary_key == "REDACTED"
            elif kind == "versions":
                assert built.image and built.inference_config
            else:
                assert built.location == "eastus"
        elif response.header("content-type") == "text/event-stream":
            lines = response.body.splitlines()
            with contextlib.suppress(errors.ProviderError):
                assert list(iter_sse_data(lines, provider="azureml"))
        elif response.status == 200 and isinstance(response.json(), dict):
            result = result_from_completion(
                response.json(), provider="azureml", model=MODEL, latency_s=0.1
            )
            assert result.text == ANSWER
        else:
            assert response.header("x-request-id")
