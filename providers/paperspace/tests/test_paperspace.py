"""paperspace beyond the compliance kit: the issue's lifecycle, failures, scaling, money, realism.

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
from hostkit_providers.paperspace import PaperspaceProvider
from hostkit_providers.paperspace.config import VLLM_IMAGE, build_config, derive_server_key

from hostkit import Deployment, DeploymentSpec, errors, get_provider
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes"
FAKE_KEY = "2f8b6c1e9d4a7b3c5e0f1a2d8c6b4e97"
PROJECT = "pr7ylf3ez"
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
NAME = "hostkit-compliance"
DID = "7e3c1b2a-5d4f-4e6a-9b8c-0d1e2f3a4b5c"
SPEC: dict[str, Any] = {"provider": "paperspace", "name": NAME, "model": MODEL, "instance": "A4000"}
API = "https://api.paperspace.com/v1"


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[PaperspaceProvider]:
    monkeypatch.setenv("PAPERSPACE_API_KEY", FAKE_KEY)
    built = get_provider("paperspace", project_id=PROJECT)
    assert isinstance(built, PaperspaceProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


@contextlib.contextmanager
def replay(name: str) -> Iterator[Any]:
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        yield recorded
    assert recorded.all_played, f"{name}.yaml: not every recorded request was made"


def deploy(provider: PaperspaceProvider) -> Deployment:
    with replay("deploy"):
        return provider.deploy(SPEC)


def bodies(name: str) -> list[Any]:
    return [
        i.request.json()
        for i in load_cassette(CASSETTES / f"{name}.yaml")
        if i.request.method == "POST" and i.request.host == "api.paperspace.com"
    ]


# -- the "done when" ----------------------------------------------------------------
def test_full_lifecycle(provider: PaperspaceProvider) -> None:
    deployment = deploy(provider)
    assert deployment.status == "ready" and deployment.replicas == 1
    assert deployment.endpoint == (
        "https://d7e3c1b2a5d4f4e6a9b8c0d1e2f3a4b5c.clg07azjl.paperspacegradient.com"
    )
    assert deployment.instance == "A4000" and deployment.raw["id"] == DID
    assert deployment.fingerprint == DeploymentSpec.from_dict(SPEC).fingerprint()

    with replay("lifecycle_status"):
        current = provider.status(deployment)
    assert current.status == "ready" and current.raw["ready_replicas"] == 1

    with replay("invoke"):
        result = provider.invoke(deployment, "Say hello in five words.")
    assert result.text == "Hello from Paperspace, friend!"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (36, 7)
    assert result.request_id == "a1f4c7e0b3d64a9c8e2f5b1d7a0c3e69"
    with replay("stream"):
        stream = provider.stream(deployment, "Say hello in five words.")
        assert "".join(stream) == result.text
    assert stream.result is not None and stream.result.usage == result.usage

    with replay("scale"):
        scaled = provider.scale(deployment, 2)
    assert (scaled.replicas, scaled.status) == (2, "updating")
    assert bodies("scale")[0]["deploymentId"] == DID

    with replay("autoscale"):
        bounded = provider.scale(deployment, min_replicas=1, max_replicas=2)
    assert (bounded.min_replicas, bounded.max_replicas) == (1, 2)
    autoscaling = bodies("autoscale")[0]["config"]["resources"]["autoscaling"]
    assert autoscaling == {
        "enabled": True,
        "maxReplicas": 2,
        "metrics": [{"metric": "cpu", "summary": "average", "value": 60}],
    }

    with replay("scale_to_zero"):
        zero = provider.scale(deployment, 0)
    assert zero.status == "scaled_to_zero" and zero.replicas == 0
    assert bodies("scale_to_zero")[0]["config"]["enabled"] is False
    assert provider.cost(zero, hours=5).usd == 0
    with pytest.raises(errors.ProviderError, match="scaled to zero"):
        provider.invoke(zero, "hi")

    estimate = provider.cost(scaled, hours=3)
    assert estimate.usd == pytest.approx(0.76 * 2 * 3)
    assert estimate.source == "https://www.paperspace.com/pricing" and estimate.as_of
    capped = provider.cost(bounded, hours=10)
    assert capped.usd == pytest.approx(0.76 * 10)
    assert any("up to $15.20" in w for w in capped.warnings)

    with replay("teardown"):
        provider.teardown(deployment)
        assert provider.find(NAME) is None
        provider.teardown(deployment)  # idempotent: the second DELETE answers 404
    assert provider.records.load(NAME) is None


def test_scale_back_up_from_zero(provider: PaperspaceProvider) -> None:
    zero = Deployment(
        name=NAME,
        provider="paperspace",
        model=MODEL,
        status="scaled_to_zero",
        replicas=0,
        raw={"id": DID},
    )
    with replay("resume"):
        resumed = provider.scale(zero, 1)
    assert resumed.status == "updating" and resumed.replicas == 1
    assert bodies("resume")[0]["config"]["enabled"] is True


def test_failed_deploy_raises_paperspace_s_words_and_leaves_nothing(
    provider: PaperspaceProvider,
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
    assert "errored" in caught.value.reason
    methods = [i.request.method for i in load_cassette(CASSETTES / "deploy_failed.yaml")]
    assert "DELETE" in methods and provider.records.load(spec["name"]) is None


def test_update_rolls_out_a_changed_spec(provider: PaperspaceProvider) -> None:
    spec = {**SPEC, "options": {"server_args": ["--max-model-len", "8192"]}}
    # only the cassette's first request (the look-up) is made
    with (
        cassette(CASSETTES / "update.yaml", record_mode="none"),
        pytest.raises(errors.ConfigError, match="update=True"),
    ):
        provider.deploy(spec)
    with replay("update"):
        updated = provider.deploy(spec, update=True)
    assert updated.status == "ready"
    body = bodies("update")[0]
    assert body["deploymentId"] == DID
    assert body["config"]["command"][-2:] == ["--max-model-len", "8192"]


def test_teardown_of_a_name_that_does_not_exist(provider: PaperspaceProvider) -> None:
    with replay("teardown_missing"):
        provider.teardown("hostkit-compliance-missing")


# -- errors ---------------------------------------------------------------------------------
def test_a_machine_type_deployments_do_not_offer_is_a_config_error(
    provider: PaperspaceProvider,
) -> None:
    with replay("bad_machine_type"), pytest.raises(errors.ConfigError) as caught:
        provider.deploy({**SPEC, "instance": "A9999"})
    assert "A9999" in caught.value.message and caught.value.status_code == 400


def test_quota_names_the_machine_type(provider: PaperspaceProvider) -> None:
    with replay("quota"), pytest.raises(errors.QuotaExceeded) as caught:
        provider.deploy({**SPEC, "instance": "H100"})
    assert "H100" in caught.value.message and "PRECONDITION_FAILED" in caught.value.message


def test_a_refused_api_key_names_the_variable(provider: PaperspaceProvider) -> None:
    with replay("paperspace_401"), pytest.raises(errors.AuthenticationError) as caught:
        provider.deploy(SPEC)
    assert "PAPERSPACE_API_KEY" in caught.value.message and caught.value.status_code == 401


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (400, "BAD_REQUEST", "Invalid input", errors.ConfigError),
        (
            400,
            "BAD_REQUEST",
            "No capacity available for A100-80G in ny2",
            errors.CapacityUnavailable,
        ),
        (412, "PRECONDITION_FAILED", "Team quota exceeded", errors.QuotaExceeded),
        (403, "FORBIDDEN", "Your account is not in good standing", errors.QuotaExceeded),
        (401, "UNAUTHORIZED", "Invalid API key", errors.AuthenticationError),
        (403, "FORBIDDEN", "Not a member of this team", errors.AuthenticationError),
        (404, "NOT_FOUND", "Deployment not found", errors.NotFound),
        (409, "CONFLICT", "Conflict", errors.ProviderError),
        (408, "TIMEOUT", "Timed out", errors.Timeout),
        (413, "PAYLOAD_TOO_LARGE", "Too large", errors.ConfigError),
        (429, "TOO_MANY_REQUESTS", "Slow down", errors.RateLimited),
        (500, "INTERNAL_SERVER_ERROR", "An unknown error occurred.", errors.ProviderError),
    ],
)
def test_paperspace_error_codes(
    provider: PaperspaceProvider,
    status: int,
    code: str,
    message: str,
    expected: type[errors.HostkitError],
) -> None:
    response = httpx.Response(
        status,
        json={"code": code, "message": message},
        headers={"retry-after": "3"},
        request=httpx.Request("POST", f"{API}/deployments"),
    )
    mapped = provider._status_error(response, "api", {"machine_type": "A100-80G"})
    assert type(mapped) is expected and message in mapped.message
    assert mapped.status_code == status
    if expected is errors.RateLimited:
        assert mapped.retry_after == 3
    if status >= 500:
        assert mapped.retryable


def test_every_httpx_exception_is_mapped(provider: PaperspaceProvider) -> None:
    request = httpx.Request("GET", f"{API}/deployments")
    classes: list[type[Exception]] = []
    pending: list[type[Exception]] = [httpx.HTTPError, httpx.InvalidURL, httpx.StreamError]
    while pending:
        cls = pending.pop()
        classes.append(cls)
        pending.extend(cls.__subclasses__())
    for cls in classes:
        if cls is httpx.HTTPStatusError:
            response = httpx.Response(500, json={"code": "X", "message": "m"}, request=request)
            error: Exception = cls("m", request=request, response=response)
        elif issubclass(cls, httpx.RequestError):
            error = cls("boom", request=request)
        else:
            try:
                error = cls("boom")
            except TypeError:
                error = cls()
        assert isinstance(provider.translate_error(error), errors.HostkitError), cls
    assert isinstance(provider.translate_error(ValueError("not json")), errors.ProviderError)


# -- spec validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"instance": None}, errors.ConfigError, "instance: required"),
        ({"accelerator": "H100:1"}, errors.ConfigError, "fixes its GPU"),
        ({"scale_to_zero_after": "15m"}, errors.Unsupported, "never"),
        ({"replicas": 0}, errors.ConfigError, "at least one"),
        ({"task": "image-classification"}, errors.ConfigError, "own"),
        ({"options": {"gpus": 2}}, errors.ConfigError, "allowed: autoscaling_metrics"),
        ({"options": {"autoscaling_metrics": [{"metric": "cpu"}]}}, errors.ConfigError, "metric"),
        ({"env": {"VLLM_API_KEY": "mine"}}, errors.ConfigError, "set by hostkit"),
    ],
)
def test_specs_the_platform_cannot_honour_are_refused_before_any_request(
    provider: PaperspaceProvider, changes: dict[str, Any], error: type[Exception], words: str
) -> None:
    spec = DeploymentSpec.from_dict({k: v for k, v in {**SPEC, **changes}.items() if v is not None})
    with pytest.raises(error, match=words):
        provider.deploy(spec)  # no cassette: any request would fail the test


def test_the_project_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERSPACE_API_KEY", FAKE_KEY)
    with pytest.raises(errors.ConfigError, match="project_id"):
        get_provider("paperspace").deploy(SPEC)


# -- the configuration and the key -----------------------------------------------------------
def test_the_config_runs_vllm_with_hostkit_s_bookkeeping_in_its_env() -> None:
    config = build_config(
        name="n",
        model=MODEL,
        machine_type="A6000",
        key="sk-hk-x",
        fingerprint="f" * 16,
        auth="derived",
        max_replicas=3,
        replicas=1,
        env={"HF_TOKEN": "hf_x"},
    )
    assert config["apiVersion"] == "v1" and config["image"] == VLLM_IMAGE
    assert config["command"][:3] == ["vllm", "serve", MODEL]
    assert "--enable-request-id-headers" in config["command"]
    env = {e["name"]: e["value"] for e in config["env"]}
    assert env["VLLM_API_KEY"] == "sk-hk-x" and env["HOSTKIT_FINGERPRINT"] == "f" * 16
    assert env["HF_TOKEN"] == "hf_x"
    assert config["resources"]["ports"] == [8000]
    assert config["resources"]["autoscaling"]["maxReplicas"] == 3
    assert config["healthChecks"]["readiness"]["path"] == "/health"


def test_the_server_key_is_derived_and_never_saved(
    provider: PaperspaceProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    deployment = deploy(provider)
    key = derive_server_key(FAKE_KEY, NAME)
    assert provider.server_key(NAME) == key and key.startswith("sk-hk-")
    env = {e["name"]: e["value"] for e in bodies("deploy")[0]["config"]["env"]}
    assert env["VLLM_API_KEY"] == "sk-REDACTED"
    seen = [deployment.to_json(), repr(deployment)]
    seen += [p.read_text() for p in provider.records.folder.glob("*.json")]
    seen += [r.getMessage() for r in caplog.records]
    assert not [t for t in seen if key in t or FAKE_KEY in t]
    assert "env" not in json.dumps(deployment.raw)


def test_a_custom_image_gets_the_raw_payload(provider: PaperspaceProvider) -> None:
    deployment = Deployment(
        name=NAME,
        provider="paperspace",
        model="iris",
        status="ready",
        endpoint="https://d7e3c1b2a5d4f4e6a9b8c0d1e2f3a4b5c.clg07azjl.paperspacegradient.com",
        raw={"server": "custom", "invoke_path": "/predict", "auth": "derived"},
    )
    assert provider.capabilities_for(deployment).streaming is False
    with replay("invoke_custom"):
        result = provider.invoke(
            deployment, {"instances": [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]]}
        )
    assert result.output == {"predictions": [0.82, 0.11]}


# -- money -----------------------------------------------------------------------------------
def test_cost_of_a_spec_is_rate_times_replicas_times_hours(provider: PaperspaceProvider) -> None:
    estimate = provider.cost(DeploymentSpec.from_dict({**SPEC, "replicas": 3}), hours=2)
    assert estimate.usd == pytest.approx(0.76 * 3 * 2)
    assert estimate.as_of == "2026-09-20" and estimate.breakdown[0].unit == "instance-hour"


def test_an_unknown_price_is_none_with_one_warning(provider: PaperspaceProvider) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = provider.cost(DeploymentSpec.from_dict({**SPEC, "instance": "A100-80G"}))
        tokens = provider.cost(DeploymentSpec.from_dict(SPEC), output_tokens=5)
    assert estimate.usd is None and tokens.usd is None
    assert len([w for w in caught if issubclass(w.category, errors.PriceUnknown)]) == 2


def test_offerings_come_from_the_dated_table(provider: PaperspaceProvider) -> None:
    offers = provider.offerings()
    a6000 = next(o for o in offers if o.name == "A6000")
    assert a6000.usd_per_hour == 1.89 and a6000.gpu_memory_gb == 48
    assert all(o.source and o.as_of for o in offers)


# -- realism: the bodies are what Paperspace's own clients type -------------------------------
ITEM_REQUIRED = {"name", "id", "projectId", "teamId", "endpoint", "dtCreated"}
SPEC_REQUIRED = {"id", "deploymentId", "userId"}
RUN_REQUIRED = {"id", "instances"}
INSTANCE_REQUIRED = {"id", "dtCreated", "state", "instanceId", "history"}
CONFIG_FIELDS = {
    "apiVersion",
    "containerRegistry",
    "env",
    "healthchecks",
    "healthChecks",
    "image",
    "integrations",
    "name",
    "region",
    "command",
    "enabled",
    "resources",
    "repositories",
    "models",
}


def _check_item(item: dict[str, Any]) -> None:
    assert set(item) >= ITEM_REQUIRED
    spec = item.get("latestSpec")
    if spec is not None:
        assert set(spec) >= SPEC_REQUIRED
        _check_config(spec["data"])


def _check_config(config: dict[str, Any]) -> None:
    assert set(config) <= CONFIG_FIELDS and {"apiVersion", "image", "name", "resources"} <= set(
        config
    )
    assert {"machineType", "ports"} <= set(config["resources"])
    for variable in config["env"]:
        assert set(variable) == {"name", "value"}
        if variable["name"] in ("VLLM_API_KEY", "HOSTKIT_API_KEY"):
            assert variable["value"] == "sk-REDACTED"


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.stem)
def test_recorded_bodies_follow_the_api_types(path: Path) -> None:
    from groq.types.chat import ChatCompletion, ChatCompletionChunk

    assert path.read_text().startswith("# ")
    for interaction in load_cassette(path):
        request, response = interaction.request, interaction.response
        assert request.header("authorization") in (None, "REDACTED")
        if request.host == "api.paperspace.com":
            payload = response.json()
            if response.status >= 400:
                assert set(payload) <= {"code", "message", "issues"} and payload["code"].isupper()
                continue
            if request.path.endswith("/runs"):
                for run in payload:
                    assert set(run) >= RUN_REQUIRED
                    for instance in run["instances"]:
                        assert set(instance) >= INSTANCE_REQUIRED
            elif request.method == "GET" and request.path.endswith("/deployments"):
                assert set(payload) == {"hasMore", "nextPage", "items"}
                for item in payload["items"]:
                    _check_item(item)
            elif request.method == "GET":
                _check_item(payload)
            elif request.method == "POST":
                assert set(request.json()) <= {"projectId", "deploymentId", "config"}
                _check_config(request.json()["config"])
                assert set(payload) == {"deploymentId"}
            elif request.method == "DELETE":
                assert set(payload) == {"id"}
        elif request.path == "/v1/chat/completions" and response.status == 200:
            if "event-stream" in (response.header("content-type") or ""):
                for line in response.body.splitlines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        ChatCompletionChunk.model_validate(json.loads(line[6:]))
            else:
                ChatCompletion.model_validate(response.json())
