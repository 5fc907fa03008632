"""The sagemaker provider against recorded fixtures (strict replay: nothing reaches AWS).

Each cassette in ``cassettes/`` is one scenario; ``_replay`` asserts that every recorded
request was made, so a cassette is also the list of AWS calls an operation makes (the
clean-up calls of a failed deploy included). The realism tests at the end let botocore's
own parsers read every recorded response. The lifecycle against moto's in-process AWS is
in test_sagemaker_moto.py.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hostkit_providers.sagemaker import SageMakerProvider
from hostkit_providers.sagemaker._errors import translate
from hostkit_providers.sagemaker.containers import is_artifact, is_hub_model, tgi_images
from hostkit_providers.sagemaker.provider import (
    CapacityFailure,
    Names,
    _sse_lines,
    resource_name,
)

from hostkit import Deployment, DeploymentSpec, errors, get_provider
from hostkit._pricing import PriceTable, load_hardware
from hostkit.testing import cassette, cassette_requests, load_cassette

HERE = Path(__file__).parent
PACKAGE = HERE.parent
CASSETTES = HERE / "cassettes"
REGION = "us-east-1"
ROLE = "arn:aws:iam::111122223333:role/hostkit-sagemaker-execution"
SETTINGS = {"region": REGION, "role_arn": ROLE}
NAME = "hostkit-compliance"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
HF_TOKEN = "hf_hostkitFakeCompliance00"
SPEC = {"model": MODEL, "instance": "ml.g5.2xlarge", "env": {"HF_TOKEN": HF_TOKEN}}
PROMPT = "Say hello in five words."
ANSWER = "Hello there, nice to meet you!"
FAKE_ACCESS_KEY = "AKIAFAKEHOSTKIT01"
FAKE_SECRET_KEY = "hostkit-fake-secret-access-key-0000000000"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
)


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture
def aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_KEY)


class Waits:
    """What the provider would have slept: retry waits and poll delays."""

    def __init__(self) -> None:
        self.retries: list[float] = []
        self.polls: list[float] = []


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def provider(aws_keys: None, waits: Waits) -> Iterator[SageMakerProvider]:
    built = get_provider("sagemaker", **SETTINGS)
    assert isinstance(built, SageMakerProvider)
    built.retry.sleep = waits.retries.append
    built.sleep = waits.polls.append
    yield built
    built.close()


@contextmanager
def _replay(name: str) -> Iterator[Any]:
    """Strict replay of ``cassettes/<name>.yaml``; every recorded request must be made."""
    with cassette(CASSETTES / f"{name}.yaml") as tape:
        yield tape
    assert tape.all_played, f"{name}: {tape.play_count} of {len(tape.data)} requests were made"


def _operations(name: str) -> list[str]:
    """The AWS operations a cassette holds, in order."""
    found = []
    for request in cassette_requests(CASSETTES / f"{name}.yaml"):
        target = request.header("x-amz-target")
        if target:
            found.append(target.split(".")[-1])
        elif request.path.endswith("/invocations-response-stream"):
            found.append("InvokeEndpointWithResponseStream")
        else:
            found.append("InvokeEndpoint")
    return found


def _request_id(name: str, index: int = -1) -> str | None:
    return load_cassette(CASSETTES / f"{name}.yaml")[index].response.header("x-amzn-requestid")


def _spec(name: str = NAME, **fields: Any) -> DeploymentSpec:
    return DeploymentSpec(provider="sagemaker", name=name, **{**SPEC, **fields})


def _deployed(provider: SageMakerProvider) -> Deployment:
    with _replay("deploy"):
        return provider.deploy(_spec())


def _no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(sock: socket.socket, address: Any) -> Any:
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


# -- construction, credentials, settings -------------------------------------------------
def test_module_imports_without_boto3() -> None:
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('boto3', 'botocore'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import hostkit_providers.sagemaker as m\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules\n"
        "print(m.SageMakerProvider.requires, m.SageMakerProvider.install_command())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "('boto3',)" in done.stdout and "hostkit-ml[sagemaker]" in done.stdout


def test_construction_is_free_and_clients_are_built_once(
    provider: SageMakerProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert provider._session is None and provider._clients == {}
    attempts = _no_network(monkeypatch)
    first = provider._client("sagemaker")
    assert provider._client("sagemaker") is first  # one client per provider instance
    assert attempts == []  # building clients sends nothing either


def test_botocore_retries_are_off(
    provider: SageMakerProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an AWS_MAX_ATTEMPTS / AWS_RETRY_MODE of the user's shell must not turn them back on
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    for service in ("sagemaker", "sagemaker-runtime", "application-autoscaling"):
        config = provider._client(service).meta.config
        assert config.retries == {"total_max_attempts": 1, "mode": "standard"}


def test_capabilities_are_what_sagemaker_allows() -> None:
    caps = SageMakerProvider.capabilities
    assert caps.dedicated and caps.streaming and caps.manual_scaling and caps.autoscaling
    assert not caps.scale_to_zero and not caps.native_async
    assert SageMakerProvider.credential_env is None
    assert SageMakerProvider.install_extra == "sagemaker"


@pytest.mark.parametrize("setting", ["api_key", "base_url"])
def test_api_key_and_base_url_settings_are_refused(setting: str) -> None:
    with pytest.raises(errors.ConfigError, match="AWS credential chain"):
        get_provider("sagemaker", **{setting: "x" * 20})


def test_missing_credential_chain_names_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = get_provider("sagemaker", **SETTINGS)
    attempts = _no_network(monkeypatch)
    with pytest.raises(errors.AuthenticationError) as caught:
        provider.deploy(_spec())
    assert "AWS_ACCESS_KEY_ID" in caught.value.message and "AWS_PROFILE" in caught.value.message
    assert attempts == []


def test_unknown_profile_is_an_authentication_error_naming_aws_profile() -> None:
    provider = get_provider("sagemaker", profile="no-such-profile", **SETTINGS)
    with pytest.raises(errors.AuthenticationError, match="AWS_PROFILE") as caught:
        provider.find(NAME)
    assert "no-such-profile" in caught.value.message


def test_missing_region_names_the_setting(aws_keys: None) -> None:
    provider = get_provider("sagemaker", role_arn=ROLE)
    with pytest.raises(errors.ConfigError, match="AWS_REGION"):
        provider.deploy(_spec())


def test_region_comes_from_the_aws_chain(aws_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert get_provider("sagemaker", role_arn=ROLE).region == "eu-west-1"


def test_missing_role_is_refused_before_any_request(
    aws_keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = get_provider("sagemaker", region=REGION)
    attempts = _no_network(monkeypatch)
    with pytest.raises(errors.ConfigError, match="role_arn"):
        provider.deploy(_spec())
    assert attempts == []


# -- names and containers ----------------------------------------------------------------
def test_resource_names_are_deterministic_sagemaker_names() -> None:
    assert resource_name("hostkit-compliance") == "hostkit-compliance"
    dotted = resource_name("Llama-3.1-8B-Instruct")
    assert dotted == resource_name("Llama-3.1-8B-Instruct")  # from any process
    assert dotted.startswith("Llama-3-1-8B-Instruct-") and dotted != resource_name("Llama-3-1-8B")
    assert resource_name("a_b") != resource_name("a-b") != resource_name("a.b")
    long = resource_name("x." + "y" * 61)
    import re

    for name in (dotted, long, resource_name("a_b")):
        assert re.match(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", name), name
    assert Names.of("a.b") == Names(
        endpoint=resource_name("a.b"), config=resource_name("a.b"), model=resource_name("a.b")
    )


def test_tgi_image_is_the_sdk_choice_for_the_region() -> None:
    images = tgi_images()
    assert images.image_uri("us-east-1") == IMAGE
    assert images.image_uri("cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/huggingface-pytorch-tgi-inference:"
    )
    tag = ":2.6.0-tgi3.2.3-gpu-py311-cu124-ubuntu22.04"
    assert images.image_uri("eu-west-1", "3.2.3").endswith(tag)
    with pytest.raises(errors.ConfigError, match="tgi_version"):
        images.image_uri("us-east-1", "0.1")
    with pytest.raises(errors.ConfigError, match="pass image"):
        images.image_uri("xx-nowhere-1")


def test_tgi_dns_suffixes_agree_with_botocore_partitions() -> None:
    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    suffix_of = {p["id"]: p["outputs"]["dnsSuffix"] for p in data["partitions"]}
    import re

    images = tgi_images()
    for region in images.registries:
        partition = next(p for p in data["partitions"] if re.match(p["regionRegex"], region))
        assert images.dns_suffix(region) == suffix_of[partition["id"]], region


def test_model_kinds() -> None:
    assert is_hub_model("meta-llama/Llama-3.1-8B-Instruct") and is_hub_model("gpt2")
    assert is_artifact("s3://bucket/model.tar.gz") and not is_hub_model("s3://bucket/x")
    assert not is_hub_model("gs://bucket/model") and not is_hub_model("azureml:model:1")


# -- spec validation and the deploy plan ---------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model": "s3://b/model.tar.gz"}, "image: "),
        ({"model": "gs://b/model"}, "neither a Hugging Face Hub id"),
        ({"options": {"gpu": 1}}, "max_payload_mb, num_gpus, startup_timeout"),
        ({"scale_to_zero_after": "15m"}, "inference components"),
        ({"replicas": 0}, "inference components"),
        ({"instance": None}, "instance: required"),
        ({"instance": "g5.2xlarge"}, "not a SageMaker instance type"),
        ({"instance": "ml.m5.xlarge"}, "has no GPU"),
        ({"instance": "ml.g7.xlarge"}, "options.num_gpus"),
        ({"accelerator": "H100:8"}, "does not carry H100:8"),
        ({"region": "eu-west-1"}, "works in us-east-1"),
        ({"env": {"BAD-NAME": "x"}}, "not a SageMaker container variable"),
        ({"options": {"startup_timeout": 5}}, "60-3600"),
        ({"options": {"tags": {"aws:x": "y"}}}, "reserved prefix"),
        ({"options": {"target_invocations_per_instance": -1}}, "positive number"),
    ],
)
def test_specs_sagemaker_cannot_honour_are_refused(
    provider: SageMakerProvider, fields: dict[str, Any], match: str
) -> None:
    with pytest.raises(errors.ConfigError, match=match):
        provider.validate_spec(_spec(**fields))


def test_an_accelerator_alone_lists_the_instance_types_that_carry_it(
    provider: SageMakerProvider,
) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        provider.validate_spec(_spec(instance=None, accelerator="L40S:4"))
    assert "ml.g6e.12xlarge" in caught.value.message and "ml.g6e.24xlarge" in caught.value.message


def test_the_llm_plan_uses_the_hardware_table(provider: SageMakerProvider) -> None:
    plan = provider._plan(_spec(instance="ml.g5.12xlarge", replicas=2))
    assert plan.kind == "chat" and plan.image == IMAGE and plan.count == 2
    assert plan.environment == {
        "HF_MODEL_ID": MODEL,
        "SM_NUM_GPUS": "4",
        "MESSAGES_API_ENABLED": "true",
        "HF_TOKEN": HF_TOKEN,
    }
    assert plan.startup_timeout == 900
    custom = provider._plan(_spec(options={"num_gpus": 2, "tgi_version": "3.2.3"}))
    assert custom.environment["SM_NUM_GPUS"] == "2" and "tgi3.2.3" in custom.image
    raw = provider._plan(
        _spec(model="s3://b/m.tar.gz", image="my/image:1", instance="ml.m5.xlarge", env={})
    )
    assert (raw.kind, raw.model_data, raw.environment, raw.startup_timeout) == (
        "raw",
        "s3://b/m.tar.gz",
        {},
        None,
    )


# -- the lifecycle the issue asks for, against the recorded fixtures ------------------------
def test_deploy_status_invoke_stream_scale_cost_teardown(
    provider: SageMakerProvider, waits: Waits
) -> None:
    dep = _deployed(provider)
    assert _operations("deploy") == [
        "DescribeEndpoint",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "DescribeEndpoint",
        "DescribeEndpoint",
    ]
    assert dep.status == "ready" and dep.replicas == 1 and dep.region == REGION
    assert dep.endpoint == (
        "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/hostkit-compliance/invocations"
    )
    assert dep.fingerprint == _spec().fingerprint() and dep.raw["kind"] == "chat"
    assert waits.polls == [10.0]  # one poll between Creating and InService

    with _replay("status"):
        fresh = provider.status(dep)
    assert fresh.status == "ready" and fresh.raw["sagemaker_status"] == "InService"

    with _replay("invoke"):
        result = provider.invoke(dep, PROMPT)
    assert result.text == ANSWER and result.usage.input_tokens == 43
    assert result.usage.output_tokens == 9 and result.cost_usd is None
    assert result.request_id == _request_id("invoke")  # AWS's x-amzn-RequestId
    assert result.raw["invoked_variant"] == "AllTraffic"

    with _replay("stream"):
        stream = provider.stream(dep, PROMPT)
        chunks = list(stream)
    assert "".join(chunks) == ANSWER and len(chunks) == 8
    assert stream.result is not None and stream.result.usage == result.usage
    assert stream.result.ttft_s is not None and stream.result.request_id == _request_id("stream")

    with _replay("scale"):
        scaled = provider.scale(dep, 2)
    assert _operations("scale") == [
        "DeregisterScalableTarget",
        "UpdateEndpointWeightsAndCapacities",
        "DescribeEndpoint",
        "DescribeEndpoint",
    ]
    assert scaled.replicas == 2 and scaled.status == "ready"

    with _replay("autoscale"):
        bounded = provider.scale(scaled, min_replicas=1, max_replicas=2)
    assert (bounded.min_replicas, bounded.max_replicas) == (1, 2)
    register, policy = [r.json() for r in cassette_requests(CASSETTES / "autoscale.yaml")[:2]]
    assert register == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/hostkit-compliance/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 2,
    }
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 70.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
    }

    estimate = provider.cost(scaled, hours=10)
    assert estimate.usd == pytest.approx(2 * 10 * 1.52)
    assert estimate.source and estimate.as_of == "2026-03-15"
    assert "on-demand list price" in estimate.breakdown[0].description

    with _replay("teardown"):
        provider.teardown(bounded)
        left = provider.find(NAME)  # "Deleting" for a moment: reported as deleted
        provider.teardown(bounded)  # every part already gone: not an error
    assert left is not None and left.status == "deleted"
    assert provider.records.load(NAME) is None


def test_teardown_is_idempotent_and_deletes_every_part(provider: SageMakerProvider) -> None:
    dep = _deployed(provider)
    with _replay("teardown"):
        provider.teardown(dep)
        left = provider.find(NAME)
        provider.teardown(dep)
    assert left is not None and left.status == "deleted"
    assert _operations("teardown") == [
        "DeregisterScalableTarget",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
        "DescribeEndpoint",
        "DeregisterScalableTarget",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]
    with _replay("teardown_missing"):
        provider.teardown("hostkit-compliance-missing")


def test_a_failed_deploy_rolls_back_and_says_why(provider: SageMakerProvider) -> None:
    spec = _spec(name=f"{NAME}-failed", model="meta-llama/Llama-3.1-70B-Instruct", env={})
    with _replay("deploy_failed"):
        with pytest.raises(errors.DeploymentFailed) as caught:
            provider.deploy(spec)
        left = provider.find(spec.name)
    assert left is None or left.status == "deleted"
    assert caught.value.reason is not None
    assert "did not pass the ping health check" in caught.value.reason
    assert "/aws/sagemaker/Endpoints/hostkit-compliance-failed" in caught.value.reason
    assert not isinstance(caught.value, errors.CapacityUnavailable)
    assert _operations("deploy_failed")[6:10] == [
        "DeregisterScalableTarget",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]
    assert provider.records.load(spec.name) is None


def test_no_capacity_is_capacity_unavailable_and_rolls_back(provider: SageMakerProvider) -> None:
    spec = DeploymentSpec(
        provider="sagemaker", name=f"{NAME}-capacity", model=MODEL, instance="ml.p5.48xlarge"
    )
    with _replay("deploy_capacity"), pytest.raises(CapacityFailure) as caught:
        provider.deploy(spec)
    error = caught.value
    assert isinstance(error, errors.CapacityUnavailable)
    assert isinstance(error, errors.DeploymentFailed)
    assert "ml.p5.48xlarge in us-east-1" in error.message
    assert error.reason is not None and "InsufficientInstanceCapacity" in error.reason
    assert _operations("deploy_capacity")[-4:] == [
        "DeregisterScalableTarget",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]


def test_a_quota_of_zero_is_quota_exceeded_naming_instance_and_region(
    provider: SageMakerProvider,
) -> None:
    spec = DeploymentSpec(
        provider="sagemaker", name=f"{NAME}-quota", model=MODEL, instance="ml.p4d.24xlarge"
    )
    with _replay("deploy_quota"), pytest.raises(errors.QuotaExceeded) as caught:
        provider.deploy(spec)
    error = caught.value
    assert "instance type ml.p4d.24xlarge in us-east-1" in error.message
    assert "'ml.p4d.24xlarge for endpoint usage'" in error.message
    assert error.status_code == 400 and error.request_id == _request_id("deploy_quota", 3)
    # the model and the endpoint config it had created are deleted
    assert _operations("deploy_quota")[-3:] == [
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]


def test_a_deploy_that_times_out_rolls_back(provider: SageMakerProvider) -> None:
    with _replay("deploy_timeout"), pytest.raises(errors.DeploymentFailed) as caught:
        provider.deploy(_spec(name=f"{NAME}-timeout"), timeout=1)
    assert "did not become ready" in caught.value.message
    assert "what it created was deleted" in caught.value.message


def test_keep_failed_leaves_the_endpoint_for_inspection(provider: SageMakerProvider) -> None:
    spec = _spec(name=f"{NAME}-failed", model="meta-llama/Llama-3.1-70B-Instruct", env={})
    with cassette(CASSETTES / "deploy_failed.yaml") as tape:
        with pytest.raises(errors.DeploymentFailed):
            provider.deploy(spec, keep_failed=True)
        assert tape.play_count == 6  # the creates and polls, no delete


def test_a_missing_permission_is_named(provider: SageMakerProvider) -> None:
    with _replay("deploy_access_denied"), pytest.raises(errors.AuthenticationError) as caught:
        provider.deploy(_spec(name=f"{NAME}-denied"))
    assert "missing IAM permission: iam:PassRole" in caught.value.message
    assert caught.value.request_id == _request_id("deploy_access_denied", 1)


def test_a_leftover_of_an_earlier_deploy_is_replaced(provider: SageMakerProvider) -> None:
    with _replay("deploy_leftover"):
        dep = provider.deploy(_spec(name=f"{NAME}-leftover"))
    assert dep.status == "ready"
    assert _operations("deploy_leftover")[1:6] == [
        "CreateModel",
        "DescribeModel",
        "ListTags",
        "DeleteModel",
        "CreateModel",
    ]


def test_a_model_hostkit_did_not_create_is_never_deleted(provider: SageMakerProvider) -> None:
    with _replay("deploy_foreign"), pytest.raises(errors.ConfigError) as caught:
        provider.deploy(_spec(name=f"{NAME}-taken"))
    assert "hostkit did not create it" in caught.value.message
    assert "DeleteModel" not in _operations("deploy_foreign")


def test_deploy_applies_autoscaling_bounds_once_in_service(provider: SageMakerProvider) -> None:
    spec = _spec(name=f"{NAME}-autoscaled", min_replicas=1, max_replicas=3)
    with _replay("deploy_autoscaled"):
        dep = provider.deploy(spec)
    assert (dep.min_replicas, dep.max_replicas, dep.status) == (1, 3, "ready")
    assert _operations("deploy_autoscaled")[-3:] == [
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "DescribeEndpoint",
    ]
    placeholder = Deployment(name=spec.name, provider="sagemaker", model=MODEL, status="failed")
    with _replay("teardown_autoscaled"):
        provider.teardown(placeholder)


def test_same_name_different_spec_is_refused_and_update_is_unsupported(
    provider: SageMakerProvider,
) -> None:
    other = _spec(instance="ml.g6.2xlarge")
    with _replay("get"), pytest.raises(errors.ConfigError, match="different spec"):
        provider.deploy(other)
    with _replay("get"), pytest.raises(errors.Unsupported, match="tear the deployment down"):
        provider.deploy(other, update=True)


def test_scale_to_zero_is_unsupported_with_the_reason(provider: SageMakerProvider) -> None:
    dep = _deployed(provider)
    for call in (lambda: provider.scale(dep, 0), lambda: provider.scale(dep, min_replicas=0)):
        with pytest.raises(errors.Unsupported, match="inference components"):
            call()


def test_control_plane_throttling_is_retried(provider: SageMakerProvider, waits: Waits) -> None:
    dep = _deployed(provider)
    with _replay("status_throttled"):
        fresh = provider.status(dep)
    assert fresh.status == "ready" and len(waits.retries) == 1


def test_a_container_error_carries_its_message_and_logs(provider: SageMakerProvider) -> None:
    dep = _deployed(provider)
    with _replay("invoke_model_error") as tape, pytest.raises(errors.ProviderError) as caught:
        provider.invoke(dep, PROMPT, max_tokens=512)
    error = caught.value
    assert tape.play_count == 1  # a container error is not retried
    assert error.status_code == 424 and "Input validation error" in error.message
    assert "log-group:/aws/sagemaker/Endpoints/hostkit-compliance" in error.message
    assert error.request_id == _request_id("invoke_model_error")


def test_an_error_inside_the_stream_is_a_provider_error(provider: SageMakerProvider) -> None:
    dep = _deployed(provider)
    seen: list[str] = []
    with _replay("stream_error"), pytest.raises(errors.ProviderError, match="ModelStreamError"):
        for chunk in provider.stream(dep, PROMPT):
            seen.append(chunk)
    assert seen == ["Hello", " there"]


def test_a_raw_artifact_is_served_by_its_image_and_gets_the_payload(
    provider: SageMakerProvider,
) -> None:
    spec = DeploymentSpec(
        provider="sagemaker",
        name=f"{NAME}-sklearn",
        model="s3://hostkit-models-111122223333/iris/model.tar.gz",
        image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        instance="ml.m5.xlarge",
    )
    with _replay("deploy_raw"):
        dep = provider.deploy(spec)
    create_model = cassette_requests(CASSETTES / "deploy_raw.yaml")[1].json()
    assert create_model["PrimaryContainer"]["ModelDataUrl"] == spec.model
    assert "Environment" not in create_model["PrimaryContainer"]
    assert dep.raw["kind"] == "raw"
    assert not provider.capabilities_for(dep).streaming
    payload = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]}
    with _replay("invoke_raw"):
        result = provider.invoke(dep, payload)
    assert result.output == {"predictions": [0, 2]} and result.text is None
    sent = cassette_requests(CASSETTES / "invoke_raw.yaml")[0]
    assert sent.header("content-type") == "application/json" and sent.json() == payload
    with pytest.raises(errors.Unsupported, match="use invoke"):
        provider.stream(dep, payload)
    with pytest.raises(errors.ConfigError, match="allowed: content_type"):
        provider.invoke(dep, payload, temperature=0.1)
    assert provider.cost(dep, hours=1).usd == pytest.approx(0.269)


def test_sse_lines_survive_any_cut() -> None:
    data = b'data: {"a": "\xc3\xa9"}\n\ndata: [DONE]\n\n'
    for cut in range(1, len(data)):
        parts = [{"PayloadPart": {"Bytes": data[:cut]}}, {"PayloadPart": {"Bytes": data[cut:]}}]
        assert list(_sse_lines(parts)) == ['data: {"a": "é"}', "", "data: [DONE]", ""]


# -- secrets -------------------------------------------------------------------------
def test_secrets_stay_out_of_logs_records_and_errors(
    provider: SageMakerProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dep = _deployed(provider)
    with _replay("error_401"), pytest.raises(errors.AuthenticationError) as caught:
        provider.invoke(dep, PROMPT)
    texts = [record.getMessage() for record in caplog.records]
    texts += [str(caught.value), dep.to_json(), repr(provider)]
    texts += [p.read_text() for p in provider.records.folder.rglob("*.json")]
    assert any("Making request for OperationModel(name=CreateModel)" in t for t in texts)
    for secret in (HF_TOKEN, FAKE_ACCESS_KEY, FAKE_SECRET_KEY):
        assert not [t[:120] for t in texts if secret in t], secret


# -- error mapping -------------------------------------------------------------------------
def _client_error(
    code: str,
    message: str = "m",
    status: int = 400,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Exception:
    from botocore.exceptions import ClientError

    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": "req-1",
            "HTTPStatusCode": status,
            "HTTPHeaders": headers or {},
        },
        **(extra or {}),
    }
    return ClientError(response, "Op")


@pytest.mark.parametrize(
    ("code", "message", "status", "expected"),
    [
        ("ThrottlingException", "Rate exceeded", 400, errors.RateLimited),
        ("ModelNotReadyException", "loading", 429, errors.RateLimited),
        ("UnrecognizedClientException", "bad token", 403, errors.AuthenticationError),
        ("ExpiredTokenException", "expired", 400, errors.AuthenticationError),
        ("AccessDeniedException", "no", 400, errors.AuthenticationError),
        ("FailedResourceAccessException", "no", 400, errors.AuthenticationError),
        ("ResourceLimitExceeded", "limit", 400, errors.QuotaExceeded),
        ("LimitExceededException", "limit", 400, errors.QuotaExceeded),
        ("ResourceNotFound", "gone", 400, errors.NotFound),
        ("ObjectNotFoundException", "No scalable target", 400, errors.NotFound),
        ("ValidationException", 'Could not find endpoint "arn"', 400, errors.NotFound),
        ("ValidationError", "Endpoint x of account 1 not found.", 400, errors.NotFound),
        ("ValidationException", "Could not assume role arn", 400, errors.AuthenticationError),
        (
            "ValidationException",
            "Could not access model data at s3://x",
            400,
            errors.AuthenticationError,
        ),
        ("ValidationException", "Cannot create already existing model", 400, errors.ConfigError),
        ("ValidationException", "1 validation error detected", 400, errors.ConfigError),
        ("ConflictException", "busy", 409, errors.ProviderError),
        ("ResourceInUse", "in use", 400, errors.ProviderError),
        ("ConcurrentUpdateException", "busy", 400, errors.ProviderError),
        ("InternalFailure", "oops", 500, errors.ProviderError),
        ("ServiceUnavailable", "later", 503, errors.ProviderError),
        ("InternalDependencyException", "dep", 530, errors.ProviderError),
        ("InternalServiceException", "oops", 500, errors.ProviderError),
        ("ModelStreamError", "cut", 400, errors.ProviderError),
        ("InternalStreamFailure", "cut", 500, errors.ProviderError),
        ("SomethingNew", "?", 400, errors.ProviderError),
    ],
)
def test_client_errors_map_by_code(
    code: str, message: str, status: int, expected: type[errors.HostkitError]
) -> None:
    mapped = translate(_client_error(code, message, status), provider="sagemaker", region=REGION)
    assert type(mapped) is expected
    assert mapped.request_id == "req-1" and mapped.status_code == status
    assert code in mapped.message and message in mapped.message
    retried = {"ThrottlingException", "ModelNotReadyException", "ConcurrentUpdateException"}
    retried |= {"InternalFailure", "ServiceUnavailable", "InternalDependencyException"}
    retried |= {"InternalServiceException"}
    assert mapped.retryable == (code in retried), code


def test_throttling_honours_retry_after_and_access_denied_names_the_permission() -> None:
    throttled = translate(
        _client_error("ThrottlingException", headers={"retry-after": "3"}),
        provider="sagemaker",
        region=REGION,
    )
    assert isinstance(throttled, errors.RateLimited) and throttled.retry_after == 3.0
    denied = translate(
        _client_error(
            "AccessDeniedException",
            "User: arn:aws:iam::1:user/u is not authorized to perform:"
            " sagemaker:CreateEndpoint on resource: arn",
        ),
        provider="sagemaker",
        region=REGION,
    )
    assert "missing IAM permission: sagemaker:CreateEndpoint" in denied.message


def test_model_errors_keep_the_container_status() -> None:
    overloaded = translate(
        _client_error(
            "ModelError",
            "Received client error (429)",
            424,
            {"OriginalStatusCode": 429, "OriginalMessage": "Model is overloaded"},
        ),
        provider="sagemaker",
        region=REGION,
    )
    assert isinstance(overloaded, errors.RateLimited)
    assert "Model is overloaded" in overloaded.message


def _botocore_exception(cls: type[Exception]) -> Exception:
    """An instance of any botocore exception, whatever keywords its message template needs."""
    import string

    fmt = getattr(cls, "fmt", "")
    fields = {name for _, name, _, _ in string.Formatter().parse(fmt) if name}
    error = cls.__new__(cls)
    Exception.__init__(error, fmt)
    error.kwargs = dict.fromkeys(fields, "x")  # type: ignore[attr-defined]
    return error


def _botocore_classes() -> list[type[Exception]]:
    import inspect

    from botocore import exceptions as boto

    return [
        cls
        for _, cls in inspect.getmembers(boto, inspect.isclass)
        if issubclass(cls, boto.BotoCoreError) and cls.__module__ == "botocore.exceptions"
    ]


def test_every_botocore_exception_is_mapped() -> None:
    from botocore import exceptions as boto

    expected = {
        boto.NoCredentialsError: errors.AuthenticationError,
        boto.PartialCredentialsError: errors.AuthenticationError,
        boto.ProfileNotFound: errors.AuthenticationError,
        boto.SSOTokenLoadError: errors.AuthenticationError,
        boto.TokenRetrievalError: errors.AuthenticationError,
        boto.CredentialRetrievalError: errors.AuthenticationError,
        boto.NoRegionError: errors.ConfigError,
        boto.ParamValidationError: errors.ConfigError,
        boto.ConnectTimeoutError: errors.Timeout,
        boto.ReadTimeoutError: errors.Timeout,
        boto.EndpointConnectionError: errors.ProviderError,
        boto.ConnectionClosedError: errors.ProviderError,
        boto.ResponseStreamingError: errors.ProviderError,
    }
    classes = _botocore_classes()
    assert len(classes) > 60
    for cls in classes:
        mapped = translate(_botocore_exception(cls), provider="sagemaker", region=REGION)
        assert isinstance(mapped, errors.HostkitError), cls
        assert mapped.provider == "sagemaker" and cls.__name__ in mapped.message
        if cls in expected:
            assert type(mapped) is expected[cls], cls
    connect = translate(
        _botocore_exception(boto.EndpointConnectionError), provider="sagemaker", region=None
    )
    assert connect is not None and connect.retryable
    assert getattr(connect, "request_not_sent", False)
    assert translate(ValueError("x"), provider="sagemaker", region=None) is None


def test_every_modelled_aws_error_of_the_three_services_is_mapped(
    provider: SageMakerProvider,
) -> None:
    specific = {
        "ResourceLimitExceeded": errors.QuotaExceeded,
        "ResourceNotFound": errors.NotFound,
        "ObjectNotFoundException": errors.NotFound,
        "ResourceNotFoundException": errors.NotFound,
        "LimitExceededException": errors.QuotaExceeded,
        "ModelNotReadyException": errors.RateLimited,
        "ValidationException": errors.ConfigError,
        "ValidationError": errors.ConfigError,
        "FailedResourceAccessException": errors.AuthenticationError,
    }
    for service in ("sagemaker", "sagemaker-runtime", "application-autoscaling"):
        model = provider._client(service).meta.service_model
        for shape in model.error_shapes:
            status = shape.metadata.get("error", {}).get("httpStatusCode", 400)
            mapped = translate(
                _client_error(shape.name, "m", status), provider="sagemaker", region=REGION
            )
            assert isinstance(mapped, errors.HostkitError), shape.name
            if shape.name in specific:
                assert type(mapped) is specific[shape.name], shape.name
            elif status >= 500:
                assert type(mapped) is errors.ProviderError and mapped.retryable, shape.name


# -- money -------------------------------------------------------------------------------
def test_cost_multiplies_instances_hours_and_says_where_the_price_is_from(
    provider: SageMakerProvider,
) -> None:
    spec = _spec(min_replicas=3, max_replicas=5)
    estimate = provider.cost(spec, hours=2)
    assert estimate.usd == pytest.approx(3 * 2 * 1.52)
    line = estimate.breakdown[0]
    assert line.unit == "instance-hour" and line.quantity == 6 and line.unit_price_usd == 1.52
    assert line.description == (
        "3 x ml.g5.2xlarge in us-east-1 (on-demand list price, real-time inference)"
    )
    assert estimate.source == "https://www.wring.co/blog/aws-sagemaker-inference-guide"
    assert provider.cost(_spec(), hours=1).usd == pytest.approx(1.52)


def test_an_unknown_price_is_none_with_exactly_one_warning(provider: SageMakerProvider) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = provider.cost(_spec(instance="ml.g6e.xlarge"), hours=1)
    assert estimate.usd is None and len(estimate.warnings) == 1
    assert [w.category for w in caught] == [errors.PriceUnknown]
    assert '[prices.sagemaker."ml.g6e.xlarge"]' in estimate.warnings[0]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert provider.cost(_spec(), requests=100).usd is None  # billed by the hour


def test_a_config_price_override_wins(aws_keys: None) -> None:
    provider = SageMakerProvider(
        _prices={"ml.g6e.xlarge": {"usd_per_hour": 2.5, "source": "our AWS bill"}},
        **SETTINGS,
    )
    estimate = provider.cost(_spec(instance="ml.g6e.xlarge", replicas=2), hours=3)
    assert estimate.usd == pytest.approx(15.0) and estimate.source == "our AWS bill"
    assert "your configured price" in estimate.breakdown[0].description


def test_offerings_carry_hardware_and_regional_prices(provider: SageMakerProvider) -> None:
    offers = {o.name: o for o in provider.offerings()}
    g5 = offers["ml.g5.2xlarge"]
    assert (g5.gpu_type, g5.gpu_count, g5.gpu_memory_gb, g5.usd_per_hour) == ("A10G", 1, 24, 1.52)
    assert g5.region == REGION and g5.as_of == "2026-03-15"
    h100 = offers["ml.p5.48xlarge"]
    assert (h100.gpu_type, h100.gpu_count, h100.gpu_memory_gb) == ("H100", 8, 80)
    # FMBench's hand-maintained table: shipped, but marked secondary (docs/cost.md)
    assert (h100.usd_per_hour, h100.as_of) == (113.068, "2024-05-18")
    assert offers["ml.g6e.xlarge"].usd_per_hour is None  # no dated source at all
    assert all(
        o.region == "eu-west-1" and o.usd_per_hour is None for o in provider.offerings("eu-west-1")
    )


def test_price_and_hardware_tables_are_sourced_and_cover_the_llm_families() -> None:
    table = PriceTable.load(PACKAGE / "prices.toml", "sagemaker")
    assert table.rows() and all(row.source.startswith("https://") for row in table.rows())
    assert all(section.startswith("region.") for section in table.sections)
    hardware = load_hardware(PACKAGE / "hardware.toml")
    for family in ("ml.g5.", "ml.g6.", "ml.g6e.", "ml.p4d.", "ml.p5."):
        assert any(key.startswith(family) for key in hardware), family
    for key, hw in hardware.items():
        assert hw.gpu_type and hw.gpu_count >= 1 and hw.gpu_memory_gb, key
        assert hw.vcpus and hw.ram_gb and hw.source.startswith("https://"), key


# -- realism: botocore parses every recorded response ---------------------------------
def _service_for(uri: str) -> str:
    if "runtime.sagemaker" in uri:
        return "sagemaker-runtime"
    if "application-autoscaling" in uri:
        return "application-autoscaling"
    return "sagemaker"


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.stem)
def test_botocore_parses_every_recorded_response(path: Path) -> None:
    import botocore.session
    from botocore.parsers import create_parser

    session = botocore.session.get_session()
    text = path.read_text()
    assert text.startswith("# ") and "REDACTED" in text
    for interaction in load_cassette(path):
        request, response = interaction.request, interaction.response
        assert request.header("authorization") == "REDACTED"
        service = session.get_service_model(_service_for(request.uri))
        target = request.header("x-amz-target")
        if target:
            operation = service.operation_model(target.split(".")[-1])
        elif request.path.endswith("/invocations-response-stream"):
            operation = service.operation_model("InvokeEndpointWithResponseStream")
        else:
            operation = service.operation_model("InvokeEndpoint")
        assert request.uri.startswith(f"https://{service.endpoint_prefix}.{REGION}.amazonaws.com/")
        headers = {k: v[0] for k, v in response.headers.items()}
        assert headers.get("x-amzn-requestid")
        if operation.has_event_stream_output:
            continue  # replayed through botocore's event-stream parser by the stream tests
        parser = create_parser(service.metadata["protocol"])
        parsed = parser.parse(
            {"status_code": response.status, "headers": headers, "body": response.body.encode()},
            operation.output_shape,
        )
        if response.status >= 300:
            assert parsed["Error"]["Code"] and parsed["Error"]["Message"], path.name
        else:
            assert "Error" not in parsed, path.name
        assert parsed["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]


def test_a_deploy_waits_for_an_endpoint_of_that_name_being_deleted(
    provider: SageMakerProvider, waits: Waits
) -> None:
    with _replay("deploy_while_deleting"):
        dep = provider.deploy(_spec(name=f"{NAME}-again"))
    assert dep.status == "ready"
    assert _operations("deploy_while_deleting")[:4] == [
        "DescribeEndpoint",
        "DescribeEndpoint",
        "DescribeEndpoint",
        "CreateModel",
    ]
    assert waits.polls == [10.0]  # one wait while the old endpoint was still Deleting


def test_teardown_deletes_every_part_it_can_before_raising(provider: SageMakerProvider) -> None:
    placeholder = Deployment(
        name=f"{NAME}-partial", provider="sagemaker", model=MODEL, status="ready"
    )
    with _replay("teardown_partial"), pytest.raises(errors.AuthenticationError) as caught:
        provider.teardown(placeholder)
    assert "sagemaker:DeleteEndpoint" in caught.value.message
    assert _operations("teardown_partial")[2:] == ["DeleteEndpointConfig", "DeleteModel"]


def test_a_scale_out_without_capacity_is_capacity_unavailable(provider: SageMakerProvider) -> None:
    dep = _deployed(provider)
    with _replay("scale_capacity"), pytest.raises(errors.CapacityUnavailable) as caught:
        provider.scale(dep, 2)
    assert "ml.g5.2xlarge in us-east-1" in caught.value.message
    assert "InsufficientInstanceCapacity" in caught.value.message
