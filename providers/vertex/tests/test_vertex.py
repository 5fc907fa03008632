"""The vertex adapter beyond the compliance kit: the whole lifecycle, rollback, quota,
capacity and timeout paths, error mapping, prices, spec checks and cassette realism."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit_providers.vertex import VertexProvider
from hostkit_providers.vertex._errors import (
    GoogleStatus,
    Where,
    classify,
    google_error,
    status_from_body,
    status_from_rpc,
)
from hostkit_providers.vertex.containers import VLLM_IMAGE, accelerator_enum
from hostkit_providers.vertex.provider import label_value

from hostkit import Deployment, DeploymentSpec, errors, get_provider
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
TOKEN_ENV = {"HF_TOKEN": "hf_hostkitComplianceFake00"}
SETTINGS = {"project": "hostkit-demo", "location": "us-central1"}


@pytest.fixture
def provider(fake_adc: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[VertexProvider]:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/hostkit-tests/FAKE.json")
    built = get_provider("vertex", **SETTINGS)
    assert isinstance(built, VertexProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


def spec(name: str = "hostkit-compliance", **fields: Any) -> DeploymentSpec:
    data: dict[str, Any] = {"model": MODEL, "instance": "a3-highgpu-1g", "env": TOKEN_ENV}
    data.update(fields)
    return DeploymentSpec.from_dict({"provider": "vertex", "name": name, **data})


def replay(name: str) -> Any:
    return cassette(CASSETTES / f"{name}.yaml", record_mode="none")


def requests_of(name: str) -> list[tuple[str, str]]:
    return [(i.request.method, i.request.path) for i in load_cassette(CASSETTES / f"{name}.yaml")]


# -- the "done when": the whole lifecycle against recorded fixtures ----------------
def test_lifecycle_deploy_status_invoke_stream_scale_cost_teardown(
    provider: VertexProvider,
) -> None:
    progress: list[str] = []
    from hostkit import on_progress

    with on_progress(progress.append), replay("deploy") as recorded:
        deployment = provider.deploy(spec())
    assert recorded.all_played
    assert deployment.status == "ready" and deployment.replicas == 1
    assert deployment.instance == "a3-highgpu-1g" and deployment.region == "us-central1"
    assert deployment.endpoint == (
        "https://4510327159063953408.us-central1-123456789012.prediction.vertexai.goog"
        "/v1/projects/123456789012/locations/us-central1/endpoints/4510327159063953408"
    )
    assert deployment.raw["accelerator_type"] == "NVIDIA_H100_80GB"
    assert deployment.fingerprint == spec().fingerprint()
    assert any("deploying on 1 x a3-highgpu-1g" in line for line in progress)
    assert any(line.startswith("hostkit-compliance: ready") for line in progress)

    with replay("get") as recorded:
        assert provider.status(deployment).status == "ready"
    assert recorded.all_played

    with replay("invoke"):
        result = provider.invoke(deployment, "Say hello in five words.", max_tokens=32)
    assert result.text == "Hello there, lovely to meet!"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (42, 8)
    assert result.request_id == "chatcmpl-b3f2c7d4e5a64c1f9d8e7a6b5c4d3e2f"
    assert result.cost_usd is None  # billed per node-hour
    assert result.raw["deployed_model_id"] == "2187446510933131264"

    with replay("stream"):
        stream = provider.stream(deployment, "Say hello in five words.", max_tokens=32)
        chunks = list(stream)
    assert chunks[:3] == ["Hello", " there", ","]
    assert stream.result is not None and stream.result.text == result.text
    assert stream.usage == result.usage and stream.result.ttft_s is not None

    with replay("scale") as recorded:
        scaled = provider.scale(deployment, 2)
    assert recorded.all_played
    assert (scaled.replicas, scaled.min_replicas, scaled.max_replicas) == (2, 2, 2)

    with replay("autoscale") as recorded:
        scaled = provider.scale(scaled, min_replicas=1, max_replicas=2)
    assert (scaled.min_replicas, scaled.max_replicas) == (1, 2)

    estimate = provider.cost(scaled, hours=10)
    host, gpu = estimate.breakdown
    assert host.unit == "node-hour" and gpu.unit == "gpu-hour"
    assert estimate.usd == pytest.approx(10 * (1.3598858 + 11.2660332))

    with replay("teardown") as recorded:
        provider.teardown(scaled)
        assert provider.find(deployment.name) is None
        provider.teardown(scaled)
    assert recorded.all_played
    deletes = [path for method, path in requests_of("teardown") if method == "DELETE"]
    assert deletes == [
        "/v1/projects/123456789012/locations/us-central1/endpoints/4510327159063953408",
        "/v1/projects/123456789012/locations/us-central1/models/7263418098155454464",
    ]
    assert provider.records.load(deployment.name) is None


def test_teardown_by_name_from_a_later_process(provider: VertexProvider) -> None:
    with replay("teardown_missing") as recorded:
        provider.teardown("hostkit-compliance-missing")
    assert recorded.all_played


def test_get_while_deploying_then_wait(provider: VertexProvider) -> None:
    """A later process sees the running deploy operation and follows it to ready."""
    with replay("get_deploying") as recorded:
        found = provider.get("hostkit-compliance")
        assert found.status == "deploying"
        assert found.raw["operation"].endswith("/operations/7100000000000953408")
        ready = provider.wait(found)
    assert recorded.all_played
    assert ready.status == "ready" and ready.endpoint


# -- failed deploys roll back: the cassettes prove what was deleted ------------------------
def deleted(name: str) -> list[str]:
    return [path.rsplit("/", 2)[-2] for method, path in requests_of(name) if method == "DELETE"]


def test_failed_deploy_rolls_back_and_leaves_nothing(provider: VertexProvider) -> None:
    failing = spec("hostkit-compliance-failed", model="meta-llama/Llama-3.3-70B-Instruct")
    failing = failing.replace(instance="g2-standard-12")
    with replay("deploy_failed") as recorded:
        with pytest.raises(errors.DeploymentFailed) as caught:
            provider.deploy(failing)
        assert provider.find(failing.name) is None
    assert recorded.all_played
    assert "Model server never became ready" in (caught.value.reason or "")
    assert "FAILED_PRECONDITION" in caught.value.message
    assert deleted("deploy_failed") == ["endpoints", "models"]
    assert provider.records.load(failing.name) is None


def test_quota_is_quota_exceeded_naming_machine_and_region_and_rolls_back(
    provider: VertexProvider,
) -> None:
    with replay("deploy_quota") as recorded:
        with pytest.raises(errors.QuotaExceeded) as caught:
            provider.deploy(spec("hostkit-quota", instance="a3-highgpu-8g"))
        assert provider.find("hostkit-quota") is None
    assert recorded.all_played  # exactly one deployModel: a hard quota is never retried
    message = caught.value.message
    assert "a3-highgpu-8g" in message and "8 x NVIDIA_H100_80GB" in message
    assert "us-central1" in message and "custom_model_serving_nvidia_h100_gpus" in message
    assert caught.value.status_code == 429 and not caught.value.retryable
    assert deleted("deploy_quota") == ["endpoints", "models"]


def test_capacity_failure_names_machine_and_region_and_rolls_back(
    provider: VertexProvider,
) -> None:
    with replay("deploy_capacity") as recorded:
        with pytest.raises(errors.DeploymentFailed) as caught:
            provider.deploy(spec("hostkit-capacity", instance="a2-ultragpu-1g"))
        assert provider.find("hostkit-capacity") is None
    assert recorded.all_played
    reason = caught.value.reason or ""
    assert "no capacity for a2-ultragpu-1g with 1 x NVIDIA_A100_80GB in us-central1" in reason
    assert "Resources are insufficient in region" in reason
    assert deleted("deploy_capacity") == ["endpoints", "models"]


def test_timeout_cancels_the_running_deploy_then_deletes_everything(
    provider: VertexProvider,
) -> None:
    with replay("deploy_timeout") as recorded:
        with pytest.raises(errors.DeploymentFailed) as caught:
            provider.deploy(spec("hostkit-timeout"), timeout=0)
        assert provider.find("hostkit-timeout") is None
    assert recorded.all_played
    assert "did not become ready" in caught.value.message
    assert "what it created was deleted" in caught.value.message
    cancels = [p for m, p in requests_of("deploy_timeout") if p.endswith(":cancel")]
    assert len(cancels) == 1
    assert deleted("deploy_timeout") == ["endpoints", "models"]


def test_missing_permission_is_named_and_the_uploaded_model_deleted(
    provider: VertexProvider,
) -> None:
    denied = pytest.raises(errors.AuthenticationError)
    with replay("deploy_permission") as recorded, denied as caught:
        provider.deploy(spec("hostkit-permission"))
    assert recorded.all_played
    assert caught.value.message.startswith("missing IAM permission aiplatform.endpoints.create")
    assert caught.value.status_code == 403
    assert deleted("deploy_permission") == ["models"]


def test_a_leftover_model_is_reported_and_torn_down(provider: VertexProvider) -> None:
    with replay("teardown_leftover_model") as recorded:
        found = provider.find("hostkit-compliance")
        assert found is not None and found.status == "failed"
        assert "created no endpoint" in found.raw["failure_reason"]
        provider.teardown("hostkit-compliance")
    assert recorded.all_played


def test_scaling_past_the_gpu_quota_is_quota_exceeded(provider: VertexProvider) -> None:
    with replay("deploy"):
        deployment = provider.deploy(spec())
    with replay("scale_quota") as recorded, pytest.raises(errors.QuotaExceeded) as caught:
        provider.scale(deployment, 8)
    assert recorded.all_played
    assert "a3-highgpu-1g" in caught.value.message and "us-central1" in caught.value.message


def test_sdk_retries_are_off_so_hostkit_retries_exactly_three_times(
    provider: VertexProvider,
) -> None:
    with replay("control_5xx") as recorded, pytest.raises(errors.ProviderError) as caught:
        provider.get("hostkit-compliance")
    assert recorded.play_count == 4 == provider.retry.max_retries + 1
    assert caught.value.status_code == 503
    assert caught.value.message == "The service is currently unavailable."


def test_custom_container_lifecycle_predicts_instances(provider: VertexProvider) -> None:
    sklearn = DeploymentSpec.from_dict(
        {
            "provider": "vertex",
            "name": "hostkit-sklearn",
            "model": "gs://hostkit-demo-models/iris/",
            "image": "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest",
            "instance": "n1-standard-4",
        }
    )
    with replay("custom_lifecycle") as recorded:
        deployment = provider.deploy(sklearn)
        assert deployment.endpoint is not None
        assert deployment.endpoint.startswith("https://us-central1-aiplatform.googleapis.com/")
        result = provider.invoke(
            deployment, {"instances": [[6.1, 2.8, 4.7, 1.2], [5.0, 3.4, 1.5, 0.2]]}
        )
        assert result.output == [1, 0] and result.text is None
        assert not provider.capabilities_for(deployment).streaming
        with pytest.raises(errors.Unsupported) as caught:
            provider.stream(deployment, {"instances": [[1, 2, 3, 4]]})
        assert "use invoke" in caught.value.message
        provider.teardown(deployment)
    assert recorded.all_played


# -- cassette realism: the SDK's own types parse every body -------------------------------
def _response_type(method: str, path: str) -> str:
    if path.endswith("/endpoints") and method == "GET":
        return "ListEndpointsResponse"
    if path.endswith("/models") and method == "GET":
        return "ListModelsResponse"
    if path.endswith("/operations"):
        return "ListOperationsResponse"
    if path.endswith(":cancel"):
        return "Empty"
    if path.endswith((":rawPredict", ":streamRawPredict")):
        return "chat"
    if path.endswith(":predict"):
        return "PredictResponse"
    if method == "GET" and "/operations/" not in path:
        return "Endpoint"
    return "Operation"


def _all_interactions() -> Iterator[tuple[str, Any]]:
    for file in sorted(CASSETTES.glob("*.yaml")):
        for interaction in load_cassette(file):
            yield file.name, interaction


# batch_*.yaml (batch prediction and Cloud Storage) are parsed in test_vertex_batch.py
@pytest.mark.parametrize(
    "file", sorted(p.name for p in CASSETTES.glob("*.yaml") if not p.name.startswith("batch_"))
)
def test_every_recorded_body_parses_with_the_sdk_types(file: str) -> None:
    from google.cloud import aiplatform_v1 as v1
    from google.longrunning import operations_pb2
    from google.protobuf import empty_pb2, json_format
    from google.rpc import error_details_pb2, status_pb2  # noqa: F401 (registers detail types)

    for interaction in load_cassette(CASSETTES / file):
        request, response = interaction.request, interaction.response
        text = response.body
        if response.status >= 400:
            envelope = json.loads(text)["error"]
            assert set(envelope) <= {"code", "message", "status", "details"}
            assert envelope["code"] == response.status and envelope["message"]
            status = {k: v for k, v in envelope.items() if k != "status"}
            json_format.Parse(json.dumps(status), status_pb2.Status())  # details are real types
            continue
        kind = _response_type(request.method, request.path)
        if kind == "chat":
            if request.path.endswith(":streamRawPredict"):
                events = [
                    line[5:].strip() for line in text.splitlines() if line.startswith("data:")
                ]
                assert events[-1] == "[DONE]"
                chunks = [json.loads(e) for e in events[:-1]]
                assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
            else:
                assert json.loads(text)["object"] == "chat.completion"
            continue
        messages: dict[str, Any] = {
            "ListEndpointsResponse": v1.ListEndpointsResponse.pb(),
            "ListModelsResponse": v1.ListModelsResponse.pb(),
            "Endpoint": v1.Endpoint.pb(),
            "PredictResponse": v1.PredictResponse.pb(),
            "ListOperationsResponse": operations_pb2.ListOperationsResponse,
            "Operation": operations_pb2.Operation,
            "Empty": empty_pb2.Empty,
        }
        json_format.Parse(text, messages[kind](), ignore_unknown_fields=False)


def test_cassettes_hold_no_credentials() -> None:
    for name, interaction in _all_interactions():
        for value in interaction.request.headers.get("authorization", []):
            assert value == "REDACTED", name
        body = interaction.request.body or ""
        assert "hostkitComplianceFakeToken" not in body, name
        if "HF_TOKEN" in body:
            assert '"value": "hf_REDACTED"' in body, name


# -- error mapping: every exception the SDK stack can raise is mapped ----------------------
def _subclasses(base: type) -> list[type]:
    found, stack = [], [base]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def test_every_google_api_core_error_class_is_mapped(provider: VertexProvider) -> None:
    from google.api_core import exceptions

    classes = [exceptions.GoogleAPICallError, *_subclasses(exceptions.GoogleAPICallError)]
    assert len(classes) > 30
    for cls in classes:
        try:
            error = cls("boom from the platform")
        except TypeError:  # classes with extra required arguments
            continue
        mapped = provider.translate_error(error)
        assert isinstance(mapped, errors.HostkitError), cls
        assert mapped.provider == "vertex" and "boom from the platform" in mapped.message, cls
    expected = {
        exceptions.Unauthorized: errors.AuthenticationError,
        exceptions.PermissionDenied: errors.AuthenticationError,
        exceptions.NotFound: errors.NotFound,
        exceptions.InvalidArgument: errors.ConfigError,
        exceptions.TooManyRequests: errors.RateLimited,
        exceptions.DeadlineExceeded: errors.Timeout,
        exceptions.ServiceUnavailable: errors.ProviderError,
        exceptions.InternalServerError: errors.ProviderError,
    }
    for cls, hostkit_class in expected.items():
        assert type(provider.translate_error(cls("x"))) is hostkit_class, cls
    assert provider.translate_error(exceptions.ServiceUnavailable("x")).retryable  # type: ignore[union-attr]
    assert not provider.translate_error(exceptions.MethodNotImplemented("x")).retryable  # type: ignore[union-attr]
    assert isinstance(
        provider.translate_error(exceptions.RetryError("gave up", cause=None)), errors.Timeout
    )


def test_google_auth_and_requests_errors_are_mapped(provider: VertexProvider) -> None:
    import requests
    from google.auth import exceptions as auth

    for cls in [auth.GoogleAuthError, *_subclasses(auth.GoogleAuthError)]:
        try:
            error = cls("credential trouble")
        except TypeError:
            continue
        assert isinstance(provider.translate_error(error), errors.HostkitError), cls
    refreshed = provider.translate_error(auth.RefreshError("invalid_grant: reauth required"))
    assert isinstance(refreshed, errors.AuthenticationError)
    assert "gcloud auth application-default login" in refreshed.message
    assert provider.translate_error(auth.TransportError("dns")).retryable  # type: ignore[union-attr]
    for cls in [requests.RequestException, *_subclasses(requests.RequestException)]:
        try:
            error = cls("network trouble")
        except TypeError:
            continue
        assert isinstance(provider.translate_error(error), errors.HostkitError), cls
    connect = provider.translate_error(requests.ConnectTimeout("slow"))
    assert isinstance(connect, errors.Timeout) and connect.request_not_sent  # type: ignore[attr-defined]
    assert provider.translate_error(ValueError("not ours")) is None


def test_a_rest_bad_request_is_classified_by_its_status_word(provider: VertexProvider) -> None:
    """The REST transport raises BadRequest for every 400; the body's status word decides."""
    import requests
    from google.api_core import exceptions

    def rest_error(code: int, payload: dict[str, Any]) -> Exception:
        response = requests.Response()
        response.status_code = code
        response._content = json.dumps(payload).encode()
        response.request = requests.Request("POST", "https://x.invalid/v1/x").prepare()
        return exceptions.from_http_response(response)

    precondition = rest_error(
        400,
        {
            "error": {
                "code": 400,
                "status": "FAILED_PRECONDITION",
                "message": "Endpoint has deployed models; undeploy them first.",
            }
        },
    )
    assert type(precondition).__name__ == "BadRequest"
    mapped = provider.translate_error(precondition)
    assert type(mapped) is errors.ProviderError and mapped.status_code == 400
    assert mapped.message == "Endpoint has deployed models; undeploy them first."
    invalid = rest_error(
        400,
        {
            "error": {
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": 'Machine type "g2-standard-99" is not supported.',
            }
        },
    )
    assert type(provider.translate_error(invalid)) is errors.ConfigError
    disabled = rest_error(
        403,
        {
            "error": {
                "code": 403,
                "status": "PERMISSION_DENIED",
                "message": "Vertex AI API has not been used in project 1 before or it is disabled.",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "SERVICE_DISABLED",
                        "domain": "googleapis.com",
                    }
                ],
            }
        },
    )
    assert type(provider.translate_error(disabled)) is errors.ConfigError


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (
            GoogleStatus(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'x' and limit 'Requests per minute'",
            ),
            "rate",
        ),
        (
            GoogleStatus(
                429,
                "RESOURCE_EXHAUSTED",
                "The following quota metrics exceed quota"
                " limits: aiplatform.googleapis.com/custom_model_serving_nvidia_l4_gpus",
            ),
            "quota",
        ),
        (
            GoogleStatus(
                429,
                "RESOURCE_EXHAUSTED",
                "limit hit",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                    }
                ],
            ),
            "rate",
        ),
        (status_from_rpc(8, "Resources are insufficient in region: us-central1."), "capacity"),
        (status_from_rpc(8, "Resource exhausted. Please try again later."), "rate"),
        (
            GoogleStatus(
                429,
                "RESOURCE_EXHAUSTED",
                "limit: 4",
                [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []}],
            ),
            "quota",
        ),
        (
            status_from_rpc(
                9,
                "The zone 'us-central1-a' does not have enough resources available"
                " to fulfill the request.",
            ),
            "capacity",
        ),
        (status_from_rpc(9, "Quota 'GPUs' exceeded."), "quota"),
        (status_from_rpc(16, "bad token"), "auth"),
        (status_from_rpc(13, "internal"), "server"),
        (status_from_body(504, "upstream request timeout"), "timeout"),
    ],
)
def test_classification(status: GoogleStatus, kind: str) -> None:
    assert classify(status) == kind


def test_rate_limits_carry_retry_after_and_request_ids() -> None:
    where = Where("vertex", region="us-central1")
    body = json.dumps(
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "Too many requests per minute",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"},
                    {
                        "@type": "type.googleapis.com/google.rpc.RequestInfo",
                        "requestId": "req-7f3e",
                    },
                ],
            }
        }
    )
    error = google_error(status_from_body(429, body), where)
    assert isinstance(error, errors.RateLimited)
    assert error.retry_after == 7.0 and error.request_id == "req-7f3e"
    headed = google_error(
        status_from_body(429, body, {"Retry-After": "3", "x-request-id": "abc-123"}), where
    )
    assert isinstance(headed, errors.RateLimited)
    assert headed.retry_after == 3.0 and headed.request_id == "abc-123"
    container = google_error(
        status_from_body(
            400,
            '{"object":"error","message":"max_tokens is too large","type":'
            '"BadRequestError","code":400}',
        ),
        where,
    )
    assert container.message == "max_tokens is too large"


# -- prices --------------------------------------------------------------------------------
def test_cost_multiplies_replicas_hours_machine_and_gpus(provider: VertexProvider) -> None:
    estimate = provider.cost(spec(instance="a3-highgpu-2g", replicas=3), hours=2)
    host, gpu = estimate.breakdown
    assert host.description.startswith("3 x a3-highgpu-2g machine")
    assert "on-demand list price" in host.description and "us-central1" in host.description
    assert host.quantity == 6 and host.unit_price_usd == pytest.approx(2.7197716)
    assert gpu.description.startswith("6 x NVIDIA_H100_80GB GPU")
    assert gpu.quantity == 12 and gpu.unit_price_usd == pytest.approx(11.2660332)
    assert estimate.usd == pytest.approx(6 * 2.7197716 + 12 * 11.2660332)
    assert estimate.as_of == "2025-08-15"
    assert "cloud.google.com/skus" in (estimate.source or "")
    running = Deployment(
        name="x",
        provider="vertex",
        model=MODEL,
        status="ready",
        instance="a3-highgpu-1g",
        replicas=2,
        region="us-central1",
    )
    assert provider.cost(running, hours=1).usd == pytest.approx(2 * (1.3598858 + 11.2660332))


def test_an_unknown_price_is_none_with_one_warning(provider: VertexProvider) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = provider.cost(spec(instance="a3-highgpu-1g", region="europe-west4"), hours=1)
        tokens = provider.cost(spec(), input_tokens=100, output_tokens=10)
        elsewhere = provider.cost(spec(instance="a3-highgpu-1g", region=None), hours=1)
    unknown = [w for w in caught if issubclass(w.category, errors.PriceUnknown)]
    assert estimate.usd is None and tokens.usd is None and elsewhere.usd is not None
    assert len(unknown) == 2
    assert "'a3-highgpu-1g' and 'NVIDIA_H100_80GB' in europe-west4" in str(unknown[0].message)
    assert "per node-hour" in str(unknown[1].message)


def test_price_overrides_from_the_config_apply(fake_adc: None) -> None:
    provider = VertexProvider(
        _prices={
            "g2-standard-12": {"usd_per_hour": 0.5, "source": "my contract"},
            "NVIDIA_L4": {"usd_per_hour": 0.7, "source": "my contract"},
        },
        **SETTINGS,
    )
    assert provider.cost(spec(instance="g2-standard-12"), hours=1).usd == pytest.approx(1.2)


def test_offerings_list_gpu_shapes_with_prices_where_known(provider: VertexProvider) -> None:
    offerings = {o.name: o for o in provider.offerings()}
    a3 = offerings["a3-highgpu-8g"]
    assert (a3.gpu_type, a3.gpu_count, a3.gpu_memory_gb, a3.vcpus) == ("H100", 8, 80, 208)
    # the page's node-hour price equals the SKU parts: 10.8790864 + 8 x 11.2660332
    assert a3.usd_per_hour == pytest.approx(101.0074) == 10.8790864 + 8 * 11.2660332
    assert a3.as_of == "2025-08-12"
    g2 = offerings["g2-standard-12"]  # the page's node-hour price, GPU included
    assert (g2.gpu_type, g2.gpu_count, g2.usd_per_hour) == ("L4", 1, 1.1507)
    assert g2.source and "vertex-ai/pricing" in g2.source and g2.as_of == "2025-08-12"
    assert all(o.region == "europe-west4" for o in provider.offerings("europe-west4"))
    assert {o.name: o for o in provider.offerings("europe-west4")}[
        "a3-highgpu-1g"
    ].usd_per_hour is None
    assert all(o.usd_per_hour is None for o in provider.offerings("asia-east1"))


# -- the spec and settings -----------------------------------------------------------------
def test_the_plan_for_a_hugging_face_model(provider: VertexProvider) -> None:
    plan = provider.plan(
        spec(instance="g2-standard-48", options={"max_model_len": 8192, "args": ["--seed=1"]})
    )
    assert plan.serving == "vllm" and plan.dedicated_endpoint
    assert (plan.accelerator, plan.accelerator_count) == ("NVIDIA_L4", 4)
    container = plan.container
    assert container["image_uri"] == VLLM_IMAGE
    assert container["args"][:3] == ["python", "-m", "vllm.entrypoints.api_server"]
    assert "--tensor-parallel-size=4" in container["args"]
    assert container["args"][-3:] == ["--max-model-len=8192", "--disable-log-stats", "--seed=1"]
    assert {"name": "MODEL_ID", "value": MODEL} in container["env"]
    assert (container["predict_route"], container["health_route"]) == ("/generate", "/ping")


def test_an_n1_machine_takes_a_separate_accelerator(provider: VertexProvider) -> None:
    plan = provider.plan(spec(instance="n1-standard-8", accelerator="T4:2"))
    assert (plan.accelerator, plan.accelerator_count) == ("NVIDIA_TESLA_T4", 2)
    assert accelerator_enum("nvidia-tesla-t4") == "NVIDIA_TESLA_T4"
    assert accelerator_enum("NVIDIA_H100_80GB") == "NVIDIA_H100_80GB"
    assert accelerator_enum("TPU") is None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"instance": None}, "needs instance"),
        ({"options": {"colour": "blue"}}, "allowed: args, batch_seconds_per_request, command"),
        ({"options": {"max_model_len": "long"}}, "wrong type"),
        ({"options": {"gpu_memory_utilization": 1.5}}, "at most 1"),
        ({"options": {"port": 9000}}, "your own container"),
        ({"region": "europe-west4"}, "set location under [providers.vertex]"),
        ({"scale_to_zero_after": "15m"}, "minReplicaCount >= 1"),
        ({"replicas": 0}, "at least 1"),
        ({"accelerator": "A100:1"}, "comes with 1 x NVIDIA_H100_80GB"),
        ({"accelerator": "TPU:4"}, "not a GPU Vertex AI offers"),
        ({"task": "embeddings"}, "not served by the vLLM container"),
        ({"model": "gs://bucket/model/"}, "needs image"),
        (
            {"model": "gs://bucket/model/", "image": "gcr.io/x/y", "options": {"max_model_len": 2}},
            "vLLM flag",
        ),
    ],
)
def test_spec_fields_it_cannot_honour_are_config_errors(
    provider: VertexProvider, fields: dict[str, Any], words: str
) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        provider.validate_spec(spec(**fields))
    assert words in caught.value.message


def test_replica_bounds_and_the_shared_endpoint_option(provider: VertexProvider) -> None:
    plan = provider.plan(
        spec(min_replicas=1, max_replicas=3, options={"dedicated_endpoint": False})
    )
    assert (plan.min_replicas, plan.max_replicas, plan.dedicated_endpoint) == (1, 3, False)
    assert provider.plan(spec(replicas=2)).min_replicas == 2


def test_scale_to_zero_and_update_are_unsupported_with_a_reason(
    provider: VertexProvider,
) -> None:
    deployment = Deployment(
        name="x", provider="vertex", model=MODEL, status="ready", raw={"serving": "vllm"}
    )
    with pytest.raises(errors.Unsupported) as caught:
        provider.scale(deployment, 0)
    assert "minReplicaCount >= 1" in caught.value.message
    with pytest.raises(errors.Unsupported) as caught:
        provider._update(deployment, spec())
    assert "teardown and deploy again" in caught.value.message


def test_settings(fake_adc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_provider("vertex", region="europe-west4").location == "europe-west4"  # type: ignore[attr-defined]
    assert get_provider("vertex").location == "us-central1"  # type: ignore[attr-defined]
    with pytest.raises(errors.ConfigError, match="disagree"):
        get_provider("vertex", location="us-east4", region="europe-west4")
    with pytest.raises(errors.ConfigError, match="not a Google Cloud region"):
        get_provider("vertex", location="mars")
    with pytest.raises(errors.ConfigError, match="allowed: api_key"):
        get_provider("vertex", zone="us-central1-a")


def test_missing_credentials_name_the_variable_and_gcloud(
    fake_adc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    provider = get_provider("vertex", **SETTINGS)
    with pytest.raises(errors.AuthenticationError) as caught:
        provider.get("anything")
    assert "GOOGLE_APPLICATION_CREDENTIALS" in caught.value.message
    assert "gcloud auth application-default login" in caught.value.message


def test_a_missing_project_is_named(fake_adc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/x.json")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("CLOUDSDK_CORE_PROJECT", raising=False)
    provider = get_provider("vertex")
    with pytest.raises(errors.ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        provider.find("anything")


def test_a_credentials_file_setting_is_used(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    provider = get_provider("vertex", credentials_file=str(missing), **SETTINGS)
    with pytest.raises(errors.AuthenticationError, match="credentials_file setting"):
        provider.find("anything")
    federated = tmp_path / "wif.json"
    federated.write_text('{"type": "external_account", "audience": "//iam.googleapis.com/x"}')
    provider = get_provider("vertex", credentials_file=str(federated), **SETTINGS)
    with pytest.raises(errors.AuthenticationError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        provider.find("anything")
    user = tmp_path / "adc.json"
    user.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "123.apps.googleusercontent.com",
                "client_secret": "not-a-real-secret",
                "refresh_token": "not-a-real-refresh-token",
                "quota_project_id": "hostkit-from-file",
            }
        )
    )
    provider = get_provider("vertex", credentials_file=str(user), location="us-central1")
    assert provider.project == "hostkit-from-file"  # read from the file; nothing is sent


def test_label_values_and_exact_names() -> None:
    assert label_value("My.Model_v2") == "my_model_v2"
    assert len(label_value("x" * 80)) == 63


def test_the_module_imports_without_the_sdk_and_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = (
        "import sys; import hostkit_providers.vertex as v; "
        "assert 'google.cloud.aiplatform_v1' not in sys.modules; "
        "assert 'google.auth' not in sys.modules; print(v.VertexProvider.install_command())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'pip install "hostkit-ml[vertex]"'
    monkeypatch.setattr(VertexProvider, "requires", ("no_such_sdk_module_xyz",))
    with pytest.raises(errors.DependencyMissing, match=r"hostkit-ml\[vertex\]"):
        VertexProvider()


def test_a_one_hour_g2_standard_12_costs_the_pages_node_hour_price(
    provider: VertexProvider,
) -> None:
    """The shipped node-hour rows include the GPUs: one line, no GPU line added on top."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = provider.cost(spec(instance="g2-standard-12"), hours=1)
        eu_spec = spec(instance="a2-ultragpu-1g", region="europe-west4", replicas=2)
        eu = provider.cost(eu_spec, hours=3)
    assert estimate.usd == pytest.approx(1.1507)  # the CSV's node-hour figure, us-central1
    assert estimate.as_of == "2025-08-12" and "vertex-ai/pricing" in (estimate.source or "")
    assert [line.unit for line in estimate.breakdown] == ["node-hour"]
    assert "GPUs" in estimate.breakdown[0].description
    assert eu.usd == pytest.approx(6 * 6.3661)


def test_an_override_of_the_machine_alone_is_the_whole_node(fake_adc: None) -> None:
    provider = VertexProvider(
        _prices={"g2-standard-12": {"usd_per_hour": 0.9, "source": "my contract"}}, **SETTINGS
    )
    assert provider.cost(spec(instance="g2-standard-12"), hours=2).usd == pytest.approx(1.8)
