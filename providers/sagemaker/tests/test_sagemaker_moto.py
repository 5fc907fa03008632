"""The whole sagemaker lifecycle against moto's in-process AWS (SageMaker, its runtime and
Application Auto Scaling): deploy -> status -> invoke -> scale (fixed, then min/max) ->
cost -> teardown, and proof that nothing is left; a failed deploy that rolls back.

moto answers at botocore's ``before-send`` hook, so the adapter's own boto3 clients are
used unchanged. moto's endpoints go InService at once, and its CreateEndpointConfig still
checks instance types against an older list (no ml.g5/g6): the LLM runs on ml.g4dn.xlarge.
moto's runtime returns queued results (``results_queue``, what its
``/moto-api/static/sagemaker/endpoint-results`` API fills).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import moto
import pytest
from hostkit_providers.sagemaker import SageMakerProvider

from hostkit import DeploymentSpec, errors, get_provider

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/hostkit-sagemaker-execution"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        import boto3

        yield {
            service: boto3.client(service, region_name=REGION)
            for service in ("sagemaker", "application-autoscaling")
        }


@pytest.fixture
def provider(aws: dict[str, Any]) -> Iterator[SageMakerProvider]:
    built = get_provider("sagemaker", region=REGION, role_arn=ROLE)
    assert isinstance(built, SageMakerProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


def _queue_result(body: Any, content_type: str = "application/json") -> None:
    """What POST /moto-api/static/sagemaker/endpoint-results does, in process."""
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    text = body if isinstance(body, str) else json.dumps(body)
    backend = sagemakerruntime_backends[ACCOUNT][REGION]
    backend.results_queue.append((text, content_type, "AllTraffic", ""))


def _left(aws: dict[str, Any]) -> dict[str, list[Any]]:
    sagemaker, autoscaling = aws["sagemaker"], aws["application-autoscaling"]
    return {
        "endpoints": sagemaker.list_endpoints()["Endpoints"],
        "configs": sagemaker.list_endpoint_configs()["EndpointConfigs"],
        "models": sagemaker.list_models()["Models"],
        "targets": autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
            "ScalableTargets"
        ],
    }


NOTHING = {"endpoints": [], "configs": [], "models": [], "targets": []}


def test_the_whole_lifecycle_leaves_nothing(
    provider: SageMakerProvider, aws: dict[str, Any]
) -> None:
    spec = DeploymentSpec(
        provider="sagemaker",
        name="llama-moto",
        model=MODEL,
        instance="ml.g4dn.xlarge",
        env={"HF_TOKEN": "hf_hostkitMotoFakeToken000000"},
    )
    dep = provider.deploy(spec)
    assert (dep.status, dep.replicas, dep.instance) == ("ready", 1, "ml.g4dn.xlarge")
    model = aws["sagemaker"].describe_model(ModelName="llama-moto")
    assert model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == MODEL
    assert model["PrimaryContainer"]["Image"].endswith(
        "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
    )
    assert provider.deploy(spec).fingerprint == dep.fingerprint  # same spec: nothing new
    assert len(_left(aws)["endpoints"]) == 1

    later = get_provider("sagemaker", region=REGION, role_arn=ROLE)  # another process
    found = later.get("llama-moto")
    assert (found.model, found.fingerprint, found.status) == (MODEL, dep.fingerprint, "ready")
    assert provider.status(dep).status == "ready"

    _queue_result(
        {
            "object": "chat.completion",
            "id": "",
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there!"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        }
    )
    result = provider.invoke(dep, "Hello")
    assert result.text == "Hi there!" and result.usage.output_tokens == 3
    assert result.request_id

    scaled = provider.scale(dep, 2)
    assert scaled.replicas == 2 and scaled.status == "ready"
    assert _left(aws)["targets"] == []

    bounded = provider.scale(scaled, min_replicas=1, max_replicas=3)
    assert (bounded.min_replicas, bounded.max_replicas) == (1, 3)
    (target,) = _left(aws)["targets"]
    assert target["ResourceId"] == "endpoint/llama-moto/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    policies = aws["application-autoscaling"].describe_scaling_policies(
        ServiceNamespace="sagemaker"
    )["ScalingPolicies"]
    assert [p["PolicyType"] for p in policies] == ["TargetTrackingScaling"]

    back = provider.scale(bounded, 1)  # a fixed count removes the autoscaler
    assert back.replicas == 1 and _left(aws)["targets"] == []
    bounded = provider.scale(back, min_replicas=1, max_replicas=2)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = provider.cost(bounded, hours=1)
    assert estimate.usd is None and len(caught) == 1  # g4dn: no sourced price shipped

    provider.teardown(bounded)
    assert _left(aws) == NOTHING
    provider.teardown(bounded)  # idempotent
    provider.teardown("llama-moto")
    with pytest.raises(errors.NotFound):
        provider.get("llama-moto")


def test_a_failed_deploy_rolls_back_everything_it_created(
    provider: SageMakerProvider, aws: dict[str, Any]
) -> None:
    # moto refuses ml.g5 in CreateEndpointConfig: the model exists by then and must go
    spec = DeploymentSpec(
        provider="sagemaker", name="llama-broken", model=MODEL, instance="ml.g5.2xlarge"
    )
    with pytest.raises(errors.ConfigError, match="instanceType"):
        provider.deploy(spec)
    assert _left(aws) == NOTHING


def test_a_raw_artifact_round_trip(provider: SageMakerProvider, aws: dict[str, Any]) -> None:
    spec = DeploymentSpec(
        provider="sagemaker",
        name="iris",
        model="s3://hostkit-models/iris/model.tar.gz",
        image=f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        instance="ml.m5.xlarge",
        replicas=2,
    )
    dep = provider.deploy(spec)
    assert dep.replicas == 2 and dep.raw["kind"] == "raw"
    _queue_result("1,0\n", "text/csv")
    result = provider.invoke(dep, "5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5", content_type="text/csv")
    assert result.output == "1,0\n" and result.text == "1,0\n"
    assert provider.cost(dep, hours=1).usd == pytest.approx(2 * 0.269)
    provider.teardown(dep)
    assert _left(aws) == NOTHING


def test_deploy_with_bounds_registers_autoscaling(
    provider: SageMakerProvider, aws: dict[str, Any]
) -> None:
    spec = DeploymentSpec(
        provider="sagemaker",
        name="bounded",
        model=MODEL,
        instance="ml.g4dn.12xlarge",
        min_replicas=2,
        max_replicas=4,
        options={"target_invocations_per_instance": 20},
    )
    dep = provider.deploy(spec)
    assert (dep.replicas, dep.min_replicas, dep.max_replicas) == (2, 2, 4)
    (policy,) = aws["application-autoscaling"].describe_scaling_policies(
        ServiceNamespace="sagemaker"
    )["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 20.0
    environment = aws["sagemaker"].describe_model(ModelName="bounded")["PrimaryContainer"][
        "Environment"
    ]
    assert environment["SM_NUM_GPUS"] == "4"
    provider.teardown(dep)
    assert _left(aws) == NOTHING


def test_bounds_that_cannot_be_applied_delete_the_new_endpoint(
    provider: SageMakerProvider, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise errors.AuthenticationError(
            "AccessDeniedException: not authorized to perform:"
            " application-autoscaling:RegisterScalableTarget",
            provider="sagemaker",
        )

    monkeypatch.setattr(provider, "_scale", refuse)
    spec = DeploymentSpec(
        provider="sagemaker",
        name="bounded",
        model=MODEL,
        instance="ml.g4dn.xlarge",
        min_replicas=1,
        max_replicas=2,
    )
    with pytest.raises(errors.AuthenticationError, match="RegisterScalableTarget"):
        provider.deploy(spec)
    assert _left(aws) == NOTHING
