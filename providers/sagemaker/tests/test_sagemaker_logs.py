"""``logs`` and ``metrics`` of the sagemaker provider against moto's in-process CloudWatch
Logs and CloudWatch: the endpoint's log group read page by page, ``since``, ``follow``,
secrets masked, a missing group explained; invocation counts and ModelLatency averaged
over the window.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import moto
import pytest
from hostkit_providers.sagemaker import SageMakerProvider
from hostkit_providers.sagemaker import logs as sm_logs

from hostkit import Deployment, DeploymentSpec, errors, get_provider
from hostkit._redact import register_secret

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/hostkit-sagemaker-execution"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
GROUP = "/aws/sagemaker/Endpoints/llama-logs"
STREAM = "AllTraffic/i-0a1b2c3d4e5f60718"
SECRET = "hf_sagemakerLogsFakeToken0000"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        import boto3

        yield {s: boto3.client(s, region_name=REGION) for s in ("logs", "cloudwatch")}


@pytest.fixture
def provider(aws: dict[str, Any]) -> Iterator[SageMakerProvider]:
    built = get_provider("sagemaker", region=REGION, role_arn=ROLE)
    assert isinstance(built, SageMakerProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


def _deployment(name: str = "llama-logs") -> Deployment:
    return Deployment(
        name=name,
        provider="sagemaker",
        model=MODEL,
        status="ready",
        raw={"endpoint_name": name, "variant": "AllTraffic"},
    )


def _put(logs: Any, messages: list[tuple[float, str]], stream: str = STREAM) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=GROUP)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    events = [{"timestamp": int(t * 1000), "message": m} for t, m in messages]
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def test_logs_of_a_deployed_endpoint_page_by_page(
    provider: SageMakerProvider, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = DeploymentSpec(
        provider="sagemaker", name="llama-logs", model=MODEL, instance="ml.g4dn.xlarge"
    )
    dep = provider.deploy(spec)
    now = time.time()
    _put(aws["logs"], [(now - 30 + i, f"line {i}\n") for i in range(5)])
    calls: list[dict[str, Any]] = []
    client = provider._client("logs")
    original = client.filter_log_events
    monkeypatch.setattr(
        client, "filter_log_events", lambda **kw: calls.append(kw) or original(**kw)
    )
    monkeypatch.setattr(sm_logs, "PAGE_SIZE", 2)

    lines = list(provider.logs(dep))
    assert [line.message for line in lines] == [f"line {i}" for i in range(5)]
    assert (lines[0].source, lines[0].replica) == ("AllTraffic", "i-0a1b2c3d4e5f60718")
    assert lines[0].timestamp == pytest.approx(now - 30, abs=0.001)
    assert len(calls) == 3 and "nextToken" in calls[1]  # 2 + 2 + 1 events
    assert all(call["logGroupName"] == GROUP for call in calls)

    recent = list(provider.logs("llama-logs", since=now - 27.5))
    assert [line.message for line in recent] == ["line 3", "line 4"]
    assert calls[-1]["startTime"] == int((now - 27.5) * 1000)
    provider.teardown(dep)


def test_secrets_are_masked_in_every_line(provider: SageMakerProvider, aws: dict[str, Any]) -> None:
    register_secret(SECRET)
    _put(aws["logs"], [(time.time() - 5, f"HF_TOKEN={SECRET} loaded")])
    (line,) = provider.logs(_deployment())
    assert line.message == "HF_TOKEN=*** loaded"


def test_follow_asks_again_from_the_newest_time_without_repeats(
    provider: SageMakerProvider, aws: dict[str, Any]
) -> None:
    start = time.time() - 60
    _put(aws["logs"], [(start, "booting"), (start + 1, "ready")])
    polls: list[float] = []

    def pause(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:
            _put(aws["logs"], [(start + 2, "request 1"), (start + 2, "request 2")])

    provider.sleep = pause
    followed = provider.logs(_deployment(), follow=True)
    got = [next(followed).message for _ in range(4)]
    followed.close()
    assert got == ["booting", "ready", "request 1", "request 2"]
    assert polls == [sm_logs.FOLLOW_INTERVAL]


def test_a_missing_log_group_says_when_it_appears(provider: SageMakerProvider) -> None:
    with pytest.raises(errors.NotFound, match=r"no CloudWatch log group .*llama-logs"):
        list(provider.logs(_deployment()))


def test_metrics_sum_invocations_and_weight_latency(
    provider: SageMakerProvider, aws: dict[str, Any]
) -> None:
    import datetime as dt

    dims = [
        {"Name": "EndpointName", "Value": "llama-logs"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    other = [
        {"Name": "EndpointName", "Value": "someone-else"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90)
    data = [
        ("Invocations", 7.0, "None", dims),
        ("Invocations", 5.0, "None", dims),
        ("Invocations", 100.0, "None", other),
        ("Invocation5XXErrors", 1.0, "None", dims),
        ("ModelLatency", 200_000.0, "Microseconds", dims),
        ("ModelLatency", 400_000.0, "Microseconds", dims),
    ]
    aws["cloudwatch"].put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {"MetricName": n, "Value": v, "Unit": u, "Dimensions": d, "Timestamp": at}
            for n, v, u, d in data
        ],
    )
    metrics = provider.metrics(_deployment(), since=time.time() - 600)
    assert metrics is not None
    assert (metrics.invocations, metrics.errors) == (12, 1)
    assert metrics.latency_ms == pytest.approx(300.0)
    assert metrics.max_latency_ms == pytest.approx(400.0)
    assert metrics.window_s == pytest.approx(600, abs=5)
    assert "CloudWatch" in metrics.source

    quiet = provider.metrics(_deployment("idle-endpoint"))
    assert quiet is not None and (quiet.invocations, quiet.latency_ms) == (0, None)
