"""lambdalabs beyond the compliance kit: the issue's lifecycle, failures, pacing, money, realism.

Every exchange replays a cassette from cassettes/ strictly: a request it does not hold
fails, and so does a recorded request that is never made.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostkit_providers.lambdalabs import LambdaLabsProvider
from hostkit_providers.lambdalabs.server import (
    VLLM_IMAGE,
    ServerPlan,
    derive_server_key,
    render_user_data,
)

from hostkit import Deployment, DeploymentSpec, errors, get_provider
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes"
FAKE_KEY = "secret_hostkit-ci_5f1e0c2a9b7d4e3f8a6b1c0d2e4f6a8b.Fk3eFakeFakeFakeFakeFakeFakeFakeFake"
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
NAME = "hostkit-compliance"
SPEC = {
    "provider": "lambdalabs",
    "name": NAME,
    "model": MODEL,
    "instance": "gpu_1x_a10",
    "region": "us-east-1",
    "options": {"ssh_key_name": "hostkit-ci"},
}
API = "https://cloud.lambda.ai/api/v1"


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaLabsProvider]:
    monkeypatch.setenv("LAMBDA_API_KEY", FAKE_KEY)
    built = get_provider("lambdalabs")
    assert isinstance(built, LambdaLabsProvider)
    built.waits = []  # type: ignore[attr-defined]
    built.sleep = built.waits.append  # type: ignore[attr-defined]
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


@contextlib.contextmanager
def replay(name: str) -> Iterator[Any]:
    """Replay ``<name>.yaml`` strictly and check every recorded request was made."""
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        yield recorded
    assert recorded.all_played, f"{name}.yaml: not every recorded request was made"


def deploy(provider: LambdaLabsProvider, **changes: Any) -> Deployment:
    with replay("deploy"):
        return provider.deploy({**SPEC, **changes})


def requests_of(name: str) -> list[tuple[str, str]]:
    return [(i.request.method, i.request.path) for i in load_cassette(CASSETTES / f"{name}.yaml")]


# -- the "done when": deploy -> status -> invoke -> scale -> cost -> teardown ------
def test_full_lifecycle(provider: LambdaLabsProvider) -> None:
    deployment = deploy(provider)
    assert deployment.status == "ready" and deployment.replicas == 1
    assert deployment.endpoint == "http://198.51.100.23:8000/v1"
    assert deployment.instance == "gpu_1x_a10" and deployment.region == "us-east-1"
    assert deployment.fingerprint == provider.shape_fingerprint(DeploymentSpec.from_dict(SPEC))

    with replay("lifecycle_status"):
        assert provider.status(deployment).status == "ready"

    with replay("invoke"):
        result = provider.invoke(deployment, "Say hello in five words.")
    assert result.text == "Hello there, how are you?"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (36, 8)
    assert result.request_id == "4f7b2c91e0d84a6f9b3e5c7d1a2f8e60"  # vLLM's x-request-id
    assert result.cost_usd is None  # billed by the hour

    with replay("stream"):
        stream = provider.stream(deployment, "Say hello in five words.")
        assert list(stream) == ["Hello", " there", ",", " how", " are", " you", "?"]
    assert stream.result is not None and stream.result.text == result.text
    assert stream.result.usage == result.usage and stream.result.ttft_s is not None

    with replay("scale"):
        scaled = provider.scale(deployment, 2)
    assert (scaled.replicas, scaled.status) == (2, "updating")
    with pytest.raises(errors.Unsupported, match="no autoscaler"):
        provider.scale(scaled, min_replicas=1, max_replicas=3)
    with pytest.raises(errors.Unsupported, match="teardown"):
        provider.scale(scaled, 0)

    estimate = provider.cost(scaled, hours=3)
    assert estimate.usd == pytest.approx(1.29 * 2 * 3)
    assert estimate.breakdown[0].unit == "instance-hour" and estimate.breakdown[0].quantity == 6
    assert estimate.source and "price_cents_per_hour" in estimate.source and estimate.as_of

    with replay("teardown"):
        provider.teardown(deployment)
        assert provider.find(NAME) is None
        provider.teardown(deployment)  # idempotent
    assert provider.records.load(NAME) is None


def test_failed_deploy_raises_the_server_s_words_and_leaves_nothing(
    provider: LambdaLabsProvider,
) -> None:
    spec = {
        **SPEC,
        "name": "hostkit-compliance-failed",
        "model": "meta-llama/Llama-3.1-70B-Instruct",
    }
    with replay("deploy_failed"):
        with pytest.raises(errors.DeploymentFailed) as caught:
            provider.deploy(spec)
        assert provider.find(spec["name"]) is None
    assert caught.value.reason and "CUDA out of memory" in caught.value.reason
    assert "198.51.100.77" in caught.value.reason
    posts = [
        r for r in load_cassette(CASSETTES / "deploy_failed.yaml") if r.request.method == "POST"
    ]
    assert [p.request.path for p in posts] == [
        "/api/v1/instance-operations/launch",
        "/api/v1/instance-operations/terminate",
    ]
    assert posts[1].request.json() == {"instance_ids": ["3c9e7a1f5d2b4e8a9c0d1e2f3a4b5c6d"]}
    assert provider.records.load(spec["name"]) is None


def test_a_deploy_that_runs_out_of_time_is_cleaned_up(provider: LambdaLabsProvider) -> None:
    with replay("timeout"), pytest.raises(errors.DeploymentFailed) as caught:
        provider.deploy(SPEC, timeout=1)
    assert "what it created was deleted" in caught.value.message
    # the clean-up had to wait for Lambda to allow terminating the booting instance
    assert provider.poll_initial in provider.waits  # type: ignore[attr-defined]


def test_teardown_of_a_name_that_does_not_exist_touches_nothing(
    provider: LambdaLabsProvider,
) -> None:
    # someone's own instance carries the same name but no hostkit tag: it is left alone
    with replay("teardown_missing"):
        provider.teardown("hostkit-compliance-missing")
    assert requests_of("teardown_missing") == [("GET", "/api/v1/instances")]


def test_teardown_waits_for_an_instance_lambda_cannot_terminate_yet(
    provider: LambdaLabsProvider,
) -> None:
    placeholder = Deployment(name=NAME, provider="lambdalabs", model=MODEL, status="failed")
    with replay("teardown_booting"):
        provider._teardown(placeholder)  # what a rollback calls: only the name is known
    assert provider.waits == [provider.poll_initial]  # type: ignore[attr-defined]


# -- launches: safe to retry, paced -------------------------------------------------------
def test_a_rate_limited_launch_looks_the_replica_up_before_launching_again(
    provider: LambdaLabsProvider,
) -> None:
    with replay("launch_429"):
        deployment = provider.deploy(SPEC)
    assert deployment.status == "ready"
    launches = [r for r in requests_of("launch_429") if r[1].endswith("/launch")]
    assert len(launches) == 2  # the 429 and the one that worked


def test_a_launch_that_took_effect_despite_a_5xx_is_never_doubled(
    provider: LambdaLabsProvider,
) -> None:
    with replay("launch_5xx_took_effect"):
        deployment = provider.deploy(SPEC)
    assert deployment.status == "ready" and deployment.replicas == 1
    launches = [r for r in requests_of("launch_5xx_took_effect") if r[1].endswith("/launch")]
    assert len(launches) == 1


def test_launches_are_paced_to_lambda_s_limit(provider: LambdaLabsProvider) -> None:
    deployment = deploy(provider)
    provider.waits.clear()  # type: ignore[attr-defined]
    provider._last_launch = None  # as if the deploy was long ago
    with replay("scale_up_paced"):
        scaled = provider.scale(deployment, 3)
    assert scaled.replicas == 3
    waits = provider.waits  # type: ignore[attr-defined]
    assert len(waits) == 1 and 11.0 < waits[0] <= provider.launch_interval


def test_scale_down_terminates_the_highest_replicas(provider: LambdaLabsProvider) -> None:
    deployment = deploy(provider)
    with replay("scale_down"):
        scaled = provider.scale(deployment, 1)
    assert scaled.replicas == 1 and scaled.status == "ready"
    assert scaled.raw["terminated"] == ["b81d4f0c2e6a4b9d8c7e5f3a1b0c9d24"]


def test_scale_up_from_another_machine_needs_the_spec(provider: LambdaLabsProvider) -> None:
    deployment = Deployment(
        name=NAME,
        provider="lambdalabs",
        model=MODEL,
        status="ready",
        replicas=1,
        instance="gpu_1x_a10",
        fingerprint="0" * 16,
    )
    with pytest.raises(errors.ConfigError, match="update=True"):
        provider._spec_for(deployment)


def test_scale_up_from_a_record_restores_secret_env_from_the_environment(
    provider: LambdaLabsProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = DeploymentSpec.from_dict({**SPEC, "env": {"HF_TOKEN": "hf_notreal000000000000"}})
    saved = Deployment(
        name=NAME,
        provider="lambdalabs",
        model=MODEL,
        status="ready",
        raw={"spec": spec.to_dict(redact=True)},
    )
    assert saved.raw["spec"]["env"] == {"HF_TOKEN": "***"}
    with pytest.raises(errors.ConfigError, match="HF_TOKEN"):
        provider._spec_for(saved)
    monkeypatch.setenv("HF_TOKEN", "hf_fromtheenvironment0000")
    assert provider._spec_for(saved).env == {"HF_TOKEN": "hf_fromtheenvironment0000"}


# -- invoke -------------------------------------------------------------------------------
def test_invoke_spreads_calls_across_ready_replicas(provider: LambdaLabsProvider) -> None:
    with replay("two_replicas"):
        deployment = provider.get(NAME)
    assert deployment.replicas == 2 and deployment.raw["ready_replicas"] == 2
    with replay("invoke_spread"):
        first = provider.invoke(deployment, "Say hello in five words.")
        second = provider.invoke(deployment, "Say hello in five words.")
    assert first.text == second.text == "Hello there, how are you?"
    hosts = [r.request.host for r in load_cassette(CASSETTES / "invoke_spread.yaml")]
    assert hosts == ["198.51.100.23", "198.51.100.41"]


def test_a_custom_image_gets_the_raw_payload(provider: LambdaLabsProvider) -> None:
    deployment = Deployment(
        name=NAME,
        provider="lambdalabs",
        model="iris-classifier",
        status="ready",
        raw={
            "server": "custom",
            "port": 8080,
            "invoke_path": "/predict",
            "auth": "derived",
            "instances": [{"id": "x", "ip": "198.51.100.23", "state": "ready"}],
        },
    )
    assert provider.capabilities_for(deployment).streaming is False
    with replay("invoke_custom"):
        result = provider.invoke(
            deployment, {"instances": [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]]}
        )
    assert result.output == {"predictions": [0.82, 0.11]}
    with pytest.raises(errors.Unsupported, match="custom image"):
        provider.stream(deployment, "hi")


def test_the_server_key_is_sent_derived_and_never_saved(
    provider: LambdaLabsProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    deployment = deploy(provider)
    key = derive_server_key(FAKE_KEY, NAME)
    assert key.startswith("sk-hk-") and provider.server_key(NAME) == key
    launch = next(
        i for i in load_cassette(CASSETTES / "deploy.yaml") if i.request.path.endswith("/launch")
    )
    assert "VLLM_API_KEY=sk-REDACTED" in launch.request.json()["user_data"]
    with replay("invoke"):
        result = provider.invoke(deployment, "Say hello in five words.")
    seen = [deployment.to_json(), repr(deployment), json.dumps(result.to_dict(), default=str)]
    seen += [p.read_text() for p in provider.records.folder.glob("*.json")]
    seen += [record.getMessage() for record in caplog.records]
    assert not [text for text in seen if key in text or FAKE_KEY in text]
    assert errors.ProviderError(f"boom {key}").message == "boom ***"  # registered for scrubbing


def test_the_server_key_can_come_from_a_named_variable(
    provider: LambdaLabsProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = get_provider("lambdalabs", server_key_env="MY_SERVER_KEY")
    assert isinstance(named, LambdaLabsProvider)
    with pytest.raises(errors.AuthenticationError, match="MY_SERVER_KEY"):
        named.server_key(NAME, named._auth_reference())
    monkeypatch.setenv("MY_SERVER_KEY", "sk-mine-0123456789abcdef")
    spec = DeploymentSpec.from_dict(SPEC)
    body = named._launch_body(spec, "us-east-1", {"instance_type": {"specs": {"gpus": 1}}}, 0)
    assert {"key": "hostkit-auth", "value": "env:MY_SERVER_KEY"} in body["tags"]
    assert "VLLM_API_KEY=sk-mine-0123456789abcdef" in body["user_data"]


# -- errors --------------------------------------------------------------------------------
def test_capacity_lost_at_launch_names_the_type_region_and_where_there_is_capacity(
    provider: LambdaLabsProvider,
) -> None:
    with replay("capacity"), pytest.raises(errors.CapacityUnavailable) as caught:
        provider.deploy(SPEC)
    message = caught.value.message
    assert "gpu_1x_a10" in message and "us-east-1" in message and "us-west-2" in message
    assert "insufficient-capacity" in message and caught.value.status_code == 400


def test_a_region_without_capacity_is_refused_before_launching(
    provider: LambdaLabsProvider,
) -> None:
    with replay("capacity_region"), pytest.raises(errors.CapacityUnavailable) as caught:
        provider.deploy(SPEC)
    assert "us-west-2" in caught.value.message
    assert not [r for r in requests_of("capacity_region") if r[0] == "POST"]


def test_quota_is_quota_exceeded(provider: LambdaLabsProvider) -> None:
    with replay("quota"), pytest.raises(errors.QuotaExceeded) as caught:
        provider.deploy(SPEC)
    assert "gpu_1x_a10 in us-east-1" in caught.value.message
    assert "Contact Support" in caught.value.message


def test_a_refused_lambda_key_names_the_variable(provider: LambdaLabsProvider) -> None:
    with replay("lambda_401"), pytest.raises(errors.AuthenticationError) as caught:
        provider.deploy(SPEC)
    assert "LAMBDA_API_KEY" in caught.value.message and caught.value.status_code == 401
    assert "global/invalid-api-key" in caught.value.message


def test_an_inactive_account_is_an_authentication_error(provider: LambdaLabsProvider) -> None:
    with replay("lambda_403"), pytest.raises(errors.AuthenticationError, match="inactive"):
        provider.deploy(SPEC)


def test_a_missing_ssh_key_is_not_found(provider: LambdaLabsProvider) -> None:
    with replay("ssh_key_missing"), pytest.raises(errors.NotFound, match="SSH key"):
        provider.deploy(SPEC)


def test_every_httpx_exception_is_mapped(provider: LambdaLabsProvider) -> None:
    request = httpx.Request("GET", f"{API}/instances")
    classes: list[type[Exception]] = []
    pending: list[type[Exception]] = [httpx.HTTPError, httpx.InvalidURL, httpx.StreamError]
    while pending:
        cls = pending.pop()
        classes.append(cls)
        pending.extend(cls.__subclasses__())
    assert len(classes) > 20
    for cls in classes:
        if cls is httpx.HTTPStatusError:
            response = httpx.Response(
                503, json={"error": {"code": "x", "message": "m"}}, request=request
            )
            error: Exception = cls("m", request=request, response=response)
        elif issubclass(cls, httpx.RequestError):
            error = cls("boom", request=request)
        else:
            try:
                error = cls("boom")
            except TypeError:  # the stream errors take no message
                error = cls()
        mapped = provider.translate_error(error)
        assert isinstance(mapped, errors.HostkitError), cls
    timeout = provider.translate_error(httpx.ReadTimeout("slow", request=request))
    assert isinstance(timeout, errors.Timeout) and timeout.retryable
    refused = provider.translate_error(httpx.ConnectError("refused", request=request))
    assert isinstance(refused, errors.ProviderError) and refused.retryable
    assert isinstance(provider.translate_error(ValueError("not json")), errors.ProviderError)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "instance-operations/launch/insufficient-capacity", errors.CapacityUnavailable),
        (400, "global/quota-exceeded", errors.QuotaExceeded),
        (400, "global/invalid-parameters", errors.ConfigError),
        (400, "instance-operations/launch/file-system-in-wrong-region", errors.ConfigError),
        (401, "global/invalid-api-key", errors.AuthenticationError),
        (403, "global/account-inactive", errors.AuthenticationError),
        (403, "global/invalid-address", errors.AuthenticationError),
        (403, "global/forbidden", errors.AuthenticationError),
        (404, "global/object-does-not-exist", errors.NotFound),
        (404, "global/not-found", errors.NotFound),
        (409, "global/conflict", errors.ProviderError),
        (429, "global/rate-limited", errors.RateLimited),
        (503, "provider/internal-unavailable", errors.ProviderError),
    ],
)
def test_lambda_error_codes(
    provider: LambdaLabsProvider, status: int, code: str, expected: type[errors.HostkitError]
) -> None:
    response = httpx.Response(
        status,
        json={"error": {"code": code, "message": "the platform's words"}},
        headers={"retry-after": "2"},
        request=httpx.Request("POST", f"{API}/instance-operations/launch"),
    )
    mapped = provider._status_error(
        response, "api", {"instance": "gpu_1x_a10", "region": "us-east-1"}
    )
    assert type(mapped) is expected
    assert "the platform's words" in mapped.message and mapped.status_code == status
    if expected is errors.RateLimited:
        assert mapped.retry_after == 2
    if status == 503:
        assert mapped.retryable


def test_invalid_parameters_carry_the_field_errors(provider: LambdaLabsProvider) -> None:
    response = httpx.Response(
        400,
        json={
            "error": {"code": "global/invalid-parameters", "message": "Invalid request data."},
            "field_errors": {"name": {"code": "x", "message": "Must be 64 characters or fewer"}},
        },
        request=httpx.Request("POST", f"{API}/instance-operations/launch"),
    )
    mapped = provider._status_error(response, "api")
    assert isinstance(mapped, errors.ConfigError) and "64 characters" in mapped.message


# -- spec validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"instance": None}, errors.ConfigError, "instance: required"),
        ({"accelerator": "H100:1"}, errors.ConfigError, "fixes its GPUs"),
        ({"min_replicas": 1, "max_replicas": 2}, errors.Unsupported, "autoscaler"),
        ({"scale_to_zero_after": "15m"}, errors.Unsupported, "scale_to_zero_after"),
        ({"replicas": 0}, errors.ConfigError, "replicas: 0"),
        ({"task": "image-classification"}, errors.ConfigError, "give your own"),
        ({"options": {"ssh_key_name": "k", "gpu": 1}}, errors.ConfigError, "allowed: file_system"),
        ({"options": {}}, errors.ConfigError, "ssh_key_name"),
        ({"options": {"ssh_key_name": "k", "port": 22}}, errors.ConfigError, "SSH port"),
        ({"options": {"ssh_key_name": "k", "server_args": "--x"}}, errors.ConfigError, "list"),
        ({"env": {"BAD NAME": "x"}}, errors.ConfigError, "variable name"),
    ],
)
def test_specs_the_platform_cannot_honour_are_refused_before_any_request(
    provider: LambdaLabsProvider, changes: dict[str, Any], error: type[Exception], words: str
) -> None:
    spec = DeploymentSpec.from_dict({k: v for k, v in {**SPEC, **changes}.items() if v is not None})
    with pytest.raises(error, match=words):
        provider.deploy(spec)  # no cassette: any request would fail the test


def test_the_ssh_key_name_can_be_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_API_KEY", FAKE_KEY)
    built = get_provider("lambdalabs", ssh_key_name="from-settings")
    assert isinstance(built, LambdaLabsProvider)
    spec = DeploymentSpec.from_dict({**SPEC, "options": {}})
    body = built._launch_body(spec, "us-east-1", {"instance_type": {"specs": {"gpus": 1}}}, 0)
    assert body["ssh_key_names"] == ["from-settings"]


def test_same_spec_ignores_the_live_replica_count_unless_the_spec_names_one(
    provider: LambdaLabsProvider,
) -> None:
    spec = DeploymentSpec.from_dict(SPEC)
    live = Deployment(
        name=NAME,
        provider="lambdalabs",
        model=MODEL,
        status="ready",
        replicas=2,
        fingerprint=provider.shape_fingerprint(spec),
    )
    assert provider.same_spec(live, spec)
    assert provider.same_spec(live, spec.replace(replicas=2))
    assert not provider.same_spec(live, spec.replace(replicas=3))
    assert not provider.same_spec(live, spec.replace(model="other/model"))


# -- the start-up script ---------------------------------------------------------------------
def test_user_data_starts_vllm_with_the_key_in_a_private_env_file() -> None:
    plan = ServerPlan(model=MODEL, key="sk-hk-test", env={"HF_TOKEN": "hf_x"}, gpus=8)
    script = render_user_data(plan)
    assert script.startswith("#!/bin/bash\n")
    assert "umask 077" in script and "VLLM_API_KEY=sk-hk-test" in script
    assert "HF_TOKEN=hf_x" in script
    docker = plan.docker_command()
    assert VLLM_IMAGE in docker and docker[docker.index("--model") + 1] == MODEL
    assert "--enable-request-id-headers" in docker and "--tensor-parallel-size" in docker
    assert "sk-hk-test" not in " ".join(docker)  # the key is never on a command line
    assert "--restart" in docker and "on-failure:3" in docker
    assert "watchdog.py" in script and "hostkit_status" in script


def test_user_data_runs_a_custom_image_as_given() -> None:
    plan = ServerPlan(
        model="iris", key="k", image="ghcr.io/me/iris:1", port=8080, server_args=["--workers", "2"]
    )
    docker = plan.docker_command()
    assert docker[-3:] == ["ghcr.io/me/iris:1", "--workers", "2"] and "--model" not in docker
    assert "-p" in docker and "8080:8080" in docker


def test_user_data_refuses_env_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="one line"):
        render_user_data(ServerPlan(model="m", key="k", env={"A": "x\ny"}))


# -- money -----------------------------------------------------------------------------------
def test_cost_of_a_spec_uses_the_live_price(provider: LambdaLabsProvider) -> None:
    spec = DeploymentSpec.from_dict({**SPEC, "replicas": 2})
    with replay("cost_spec"):
        estimate = provider.cost(spec, hours=10)
    assert estimate.usd == pytest.approx(1.29 * 2 * 10)
    assert estimate.source and "instance-types" in estimate.source


def test_cost_without_a_key_uses_the_shipped_dated_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    built = get_provider("lambdalabs")
    estimate = built.cost(
        DeploymentSpec.from_dict({**SPEC, "instance": "gpu_8x_h100_sxm5"}), hours=2
    )
    assert estimate.usd == pytest.approx(31.92 * 2)
    assert estimate.source == "https://lambda.ai/instances" and estimate.as_of == "2026-09-20"


def test_an_unknown_price_is_none_with_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    built = get_provider("lambdalabs")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = built.cost(DeploymentSpec.from_dict({**SPEC, "instance": "gpu_1x_new"}))
        by_tokens = built.cost(DeploymentSpec.from_dict(SPEC), input_tokens=100)
    assert estimate.usd is None and by_tokens.usd is None
    assert len([w for w in caught if issubclass(w.category, errors.PriceUnknown)]) == 2


def test_offerings_are_live_with_regions_that_have_capacity(provider: LambdaLabsProvider) -> None:
    with replay("offerings"):
        offers = provider.offerings()
    a10 = [o for o in offers if o.name == "gpu_1x_a10"]
    assert {o.region for o in a10} == {"us-east-1", "us-west-2"}
    assert a10[0].usd_per_hour == 1.29 and a10[0].gpu_memory_gb == 24 and a10[0].vcpus == 30
    sold_out = [o for o in offers if o.name == "gpu_8x_h100_sxm5"]
    assert [o.region for o in sold_out] == [None]
    with replay("offerings"):
        assert {o.name for o in provider.offerings(region="us-west-1")} == {"gpu_1x_h100_pcie"}


def test_offerings_without_a_key_come_from_the_shipped_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    offers = get_provider("lambdalabs").offerings()
    assert len(offers) == 16 and all(o.source and o.as_of for o in offers)
    assert all(o.usd_per_hour and o.gpu_count and o.gpu_memory_gb for o in offers)


# -- realism: the recorded bodies are what the spec and an OpenAI-style SDK expect ------------
INSTANCE_REQUIRED = {
    "id",
    "status",
    "ssh_key_names",
    "file_system_names",
    "region",
    "instance_type",
    "actions",
}
TYPE_REQUIRED = {"name", "description", "gpu_description", "price_cents_per_hour", "specs"}
STATUSES = {"booting", "active", "unhealthy", "terminated", "terminating", "preempted"}
LAUNCH_FIELDS = {
    "region_name",
    "instance_type_name",
    "ssh_key_names",
    "file_system_names",
    "file_system_mounts",
    "hostname",
    "name",
    "image",
    "user_data",
    "tags",
    "firewall_rulesets",
}


def _check_instance(instance: dict[str, Any]) -> None:
    assert set(instance) >= INSTANCE_REQUIRED and instance["status"] in STATUSES
    assert set(instance["instance_type"]) >= TYPE_REQUIRED
    assert set(instance["actions"]) == {"migrate", "rebuild", "restart", "cold_reboot", "terminate"}
    for tag in instance.get("tags", []):
        assert set(tag) == {"key", "value"} and len(tag["value"]) <= 128
    assert instance.get("jupyter_token") in (None, "REDACTED")


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.stem)
def test_recorded_bodies_follow_the_spec(path: Path) -> None:
    from groq.types.chat import ChatCompletion, ChatCompletionChunk

    assert path.read_text().startswith("# "), "every cassette starts with where it comes from"
    for interaction in load_cassette(path):
        request, response = interaction.request, interaction.response
        assert request.header("authorization") in (None, "REDACTED")
        if request.host == "cloud.lambda.ai":
            payload = response.json()
            if response.status >= 400:
                assert set(payload) <= {"error", "field_errors"}
                assert {"code", "message"} <= set(payload["error"])
                continue
            data = payload["data"]
            if request.path == "/api/v1/instances":
                for instance in data:
                    _check_instance(instance)
            elif request.path == "/api/v1/instance-types":
                for name, item in data.items():
                    assert item["instance_type"]["name"] == name
                    assert set(item["instance_type"]) >= TYPE_REQUIRED
                    for region in item["regions_with_capacity_available"]:
                        assert set(region) == {"name", "description"}
            elif request.path.endswith("/launch"):
                body = request.json()
                assert set(body) <= LAUNCH_FIELDS and len(body["ssh_key_names"]) == 1
                assert len(body["name"]) <= 64 and len(body["user_data"].encode()) < 1_000_000
                assert "sk-REDACTED" in body["user_data"]
                assert isinstance(data["instance_ids"], list)
            elif request.path.endswith("/terminate"):
                for instance in data["terminated_instances"]:
                    _check_instance(instance)
        elif request.path == "/v1/chat/completions" and response.status == 200:
            if "event-stream" in (response.header("content-type") or ""):
                events = [
                    json.loads(line[6:])
                    for line in response.body.splitlines()
                    if line.startswith("data: ") and line != "data: [DONE]"
                ]
                for event in events:
                    ChatCompletionChunk.model_validate(event)
                assert response.body.rstrip().endswith("data: [DONE]")
            else:
                ChatCompletion.model_validate(response.json())
            assert response.header("x-request-id")
