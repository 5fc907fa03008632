"""The value types: specs validate themselves, deployments round-trip, costs and streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hostkit import (
    Capabilities,
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Price,
    Stream,
    Usage,
)
from hostkit._models import STATUSES, parse_duration
from hostkit.errors import ConfigError

HF_TOKEN = "hf_SpecSecretValue1234567890abcd"


def spec(**fields: Any) -> DeploymentSpec:
    return DeploymentSpec(**{"provider": "acme", "model": "org/chat-model", **fields})


# -- DeploymentSpec validation -------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"provider": ""}, "provider: expected a non-empty string"),
        ({"provider": None}, "provider: required"),
        ({"model": "  "}, "model: expected a non-empty string"),
        ({"model": 42}, "model: expected a non-empty string, got 42"),
        ({"name": "has space"}, "use 1-63 letters, digits, '-', '_' or '.'"),
        ({"name": "-leading"}, "starting with a letter or digit"),
        ({"name": "x" * 64}, "name: "),
        ({"task": 3}, "task: expected a non-empty string"),
        ({"instance": ""}, "instance: expected a non-empty string"),
        ({"region": ["us-east-1"]}, "region: expected a non-empty string"),
        ({"image": 1.5}, "image: expected a non-empty string"),
        ({"accelerator": False}, "accelerator: expected a non-empty string"),
        ({"replicas": -1}, "replicas: expected a whole number >= 0, got -1"),
        ({"replicas": True}, "replicas: expected a whole number >= 0, got True"),
        ({"replicas": "2"}, "replicas: expected a whole number >= 0, got '2'"),
        ({"replicas": 1.0}, "replicas: expected a whole number"),
        ({"min_replicas": -2}, "min_replicas: expected a whole number >= 0"),
        ({"max_replicas": 0}, "max_replicas: must be at least 1"),
        ({"min_replicas": 3, "max_replicas": 2}, "min_replicas (3) must not exceed max_replicas"),
        ({"replicas": 1, "min_replicas": 2}, "replicas (1) is below min_replicas (2)"),
        ({"replicas": 5, "max_replicas": 4}, "replicas (5) is above max_replicas (4)"),
        ({"scale_to_zero_after": "soon"}, "scale_to_zero_after: expected a duration"),
        ({"scale_to_zero_after": -5}, "scale_to_zero_after: must not be negative"),
        ({"scale_to_zero_after": True}, "scale_to_zero_after: expected a duration"),
        ({"env": {"A": 1}}, "env: expected a table of string names to string values"),
        ({"env": ["A=1"]}, "env: expected a table"),
        ({"options": ["gpu"]}, "options: expected a table, got list"),
    ],
)
def test_bad_spec_fields_name_the_field_and_what_is_allowed(
    fields: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        spec(**fields)
    assert expected in str(caught.value)


def test_from_dict_names_unknown_fields_and_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        DeploymentSpec.from_dict({"provider": "acme", "model": "m", "gpus": 2, "zone": "a"})

    message = str(caught.value)
    assert "unknown field(s) gpus, zone" in message
    assert "allowed: accelerator, env, image, instance" in message


def test_from_dict_names_a_missing_required_field_and_where() -> None:
    with pytest.raises(ConfigError, match=r"^my-spec: missing required field 'model'$"):
        DeploymentSpec.from_dict({"provider": "acme"}, where="my-spec")


def test_from_dict_prefixes_field_errors_with_where() -> None:
    with pytest.raises(ConfigError, match=r"^here: replicas: expected a whole number"):
        DeploymentSpec.from_dict({"provider": "a", "model": "m", "replicas": -1}, where="here")


def test_from_dict_rejects_a_non_mapping() -> None:
    with pytest.raises(ConfigError, match="expected a table of spec fields"):
        DeploymentSpec.from_dict(["provider", "model"])  # type: ignore[arg-type]


# -- defaults ------------------------------------------------------------------------
def test_defaults() -> None:
    s = DeploymentSpec(provider="acme", model="meta-llama/Llama-3.1-8B-Instruct")

    assert s.name == "Llama-3.1-8B-Instruct"
    assert (s.task, s.instance, s.accelerator, s.region, s.image) == (None,) * 5
    assert (s.replicas, s.min_replicas, s.max_replicas, s.scale_to_zero_after) == (None,) * 4
    assert s.env == {} and s.options == {}


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("gpt2", "gpt2"),
        ("org/model/", "model"),
        ("ollama:llama3", "llama3"),
        ("s3://bucket/models/my model v2", "my-model-v2"),
        ("///", "deployment"),
    ],
)
def test_default_name_is_a_slug_of_the_model(model: str, name: str) -> None:
    assert DeploymentSpec(provider="acme", model=model).name == name


def test_env_and_options_are_copied() -> None:
    env = {"A": "1"}
    s = spec(env=env, options={"k": [1]})
    env["A"] = "changed"
    assert s.env == {"A": "1"}


def test_replace_validates_again() -> None:
    s = spec(replicas=1)
    assert s.replace(replicas=3).replicas == 3
    with pytest.raises(ConfigError, match="replicas"):
        s.replace(replicas=-3)


# -- durations -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (900, 900.0),
        (2.5, 2.5),
        ("2.5", 2.5),
        ("90s", 90.0),
        ("15m", 900.0),
        (" 1h ", 3600.0),
        ("250ms", 0.25),
        ("1d", 86400.0),
        (0, 0.0),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["soon", "15 minutes", "-5m", "1w", "", None, [15], True])
def test_bad_durations_name_the_field(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^idle: "):
        parse_duration(value, field_name="idle")


def test_spec_stores_scale_to_zero_after_in_seconds() -> None:
    assert spec(scale_to_zero_after="15m").scale_to_zero_after == 900.0


# -- Deployment ----------------------------------------------------------------------
def deployment(**fields: Any) -> Deployment:
    base: dict[str, Any] = {
        "name": "chat",
        "provider": "acme",
        "model": "org/chat-model",
        "status": "ready",
        "endpoint": "https://acme.invalid/v1/chat",
        "replicas": 2,
        "instance": "gpu-small",
        "region": "eu-west-1",
        "min_replicas": 1,
        "max_replicas": 4,
        "fingerprint": "0123456789abcdef",
        "raw": {"id": "dep-1", "state": {"phase": "Running"}},
    }
    return Deployment(**{**base, **fields})


def test_deployment_json_round_trip() -> None:
    original = deployment()

    text = original.to_json()
    again = Deployment.from_json(text)

    assert again == original
    assert json.loads(text)["raw"] == {"id": "dep-1", "state": {"phase": "Running"}}
    assert "_provider" not in json.loads(text)
    assert again.is_ready


def test_deployment_to_dict_masks_secrets_in_raw() -> None:
    d = deployment(raw={"api_key": "sk-rawsecret-value", "headers": {"Authorization": "x"}})
    data = d.to_dict()

    assert data["raw"] == {"api_key": "***", "headers": {"Authorization": "***"}}
    assert "sk-rawsecret-value" not in d.to_json()


def test_token_counts_in_raw_are_not_mistaken_for_secrets() -> None:
    d = deployment(raw={"usage": {"prompt_tokens": 14, "completion_tokens": 7}})
    assert d.to_dict()["raw"] == {"usage": {"prompt_tokens": 14, "completion_tokens": 7}}


def test_deployment_status_must_be_known() -> None:
    with pytest.raises(ConfigError) as caught:
        deployment(status="running")
    assert "'running' is not a deployment status" in str(caught.value)
    assert "allowed: " + ", ".join(STATUSES) in str(caught.value)


def test_deployment_from_dict_names_unknown_fields() -> None:
    data = deployment().to_dict() | {"colour": "red"}
    with pytest.raises(ConfigError, match=r"unknown field\(s\) colour"):
        Deployment.from_dict(data)


# -- results, streams, costs -------------------------------------------------------
def test_usage_total() -> None:
    assert Usage(3, 4).total_tokens == 7
    assert Usage(3, None).total_tokens == 3
    assert Usage().total_tokens is None


def test_invoke_result_to_dict_is_json_ready_with_total_tokens() -> None:
    result = InvokeResult(
        text="hi",
        output="hi",
        usage=Usage(5, 2),
        latency_s=0.12,
        provider="acme",
        model="m",
        timings={"queue": 0.01},
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["usage"] == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    assert data["timings"] == {"queue": 0.01}


def make_stream(parts: list[str]) -> tuple[Stream, list[str]]:
    events: list[str] = []

    def finish() -> InvokeResult:
        events.append("finish")
        return InvokeResult(
            text="".join(parts),
            output=None,
            usage=Usage(1, len(parts)),
            latency_s=0.5,
            provider="acme",
            model="m",
            ttft_s=0.1,
        )

    return Stream(iter(parts), finish, close=lambda: events.append("close")), events


def test_stream_yields_chunks_then_sets_the_result_once() -> None:
    stream, events = make_stream(["Hel", "lo"])

    assert stream.result is None and stream.usage is None
    assert list(stream) == ["Hel", "lo"]
    assert list(stream) == []  # exhausted: finish is not called again
    assert events == ["finish"]
    assert stream.result is not None and stream.result.text == "Hello"
    assert stream.usage == Usage(1, 2)


def test_stream_text_consumes_the_rest() -> None:
    stream, _ = make_stream(["a", "b", "c"])
    assert next(stream) == "a"
    assert stream.text() == "abc"


def test_stream_context_manager_closes() -> None:
    stream, events = make_stream(["a", "b"])
    with stream as s:
        assert next(s) == "a"
    assert events == ["close"]


def test_cost_estimate_to_dict_round_trips_through_json() -> None:
    estimate = CostEstimate(
        usd=1.5,
        breakdown=[CostLine("gpu hours", "hour", 1.5, 1.0, 1.5)],
        source="https://acme.invalid/pricing",
        as_of="2025-06-01",
    )
    data = json.loads(json.dumps(estimate.to_dict()))
    assert data["breakdown"] == [
        {
            "description": "gpu hours",
            "unit": "hour",
            "quantity": 1.5,
            "unit_price_usd": 1.0,
            "usd": 1.5,
        }
    ]
    assert CostEstimate(usd=None).to_dict() == {
        "usd": None,
        "breakdown": [],
        "source": None,
        "as_of": None,
        "warnings": [],
    }


def test_price_needs_a_source_and_a_date_and_no_negative() -> None:
    assert Price(1.0, "hour", "list", "2025-01-01").usd == 1.0
    with pytest.raises(ConfigError, match="needs a source and a date"):
        Price(1.0, "hour", "", "2025-01-01")
    with pytest.raises(ConfigError, match="must not be negative"):
        Price(-1.0, "hour", "list", "2025-01-01")


def test_capabilities_and_offerings_serialise() -> None:
    caps = Capabilities(dedicated=True, autoscaling=True)
    assert caps.to_dict() == {
        "dedicated": True,
        "streaming": False,
        "native_async": False,
        "manual_scaling": False,
        "autoscaling": True,
        "scale_to_zero": False,
    }
    offer = Offering(provider="acme", name="gpu-small", kind="instance", usd_per_hour=1.2)
    assert json.loads(json.dumps(offer.to_dict()))["usd_per_hour"] == 1.2


# -- fingerprints and secrets -----------------------------------------------------
def test_fingerprint_is_stable_and_order_independent() -> None:
    a = spec(env={"A": "1", "B": "2"}, options={"x": 1, "y": [1, 2]})
    b = spec(options={"y": [1, 2], "x": 1}, env={"B": "2", "A": "1"})

    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 16
    assert int(a.fingerprint(), 16) >= 0


def test_fingerprint_is_the_same_in_another_process() -> None:
    # deployment records compare fingerprints across processes: no hash seeds allowed
    code = (
        "from hostkit import DeploymentSpec; print(DeploymentSpec(provider='acme',"
        " model='org/chat-model', replicas=2, env={'A': '1'}).fingerprint())"
    )
    here = spec(replicas=2, env={"A": "1"}).fingerprint()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == here


@pytest.mark.parametrize(
    "change",
    [
        {"model": "org/other-model"},
        {"name": "other"},
        {"instance": "gpu-large"},
        {"replicas": 3},
        {"env": {"A": "2"}},
        {"options": {"quantize": "int8"}},
    ],
)
def test_fingerprint_changes_with_what_the_spec_asks_for(change: dict[str, Any]) -> None:
    base = spec(replicas=2, env={"A": "1"})
    assert base.replace(**change).fingerprint() != base.fingerprint()


def test_fingerprint_sees_token_limits_in_options() -> None:
    base = spec(options={"max_tokens": 256})
    assert base.to_dict()["options"] == {"max_tokens": 256}
    assert base.replace(options={"max_tokens": 512}).fingerprint() != base.fingerprint()


def test_secret_env_values_are_kept_out_of_repr_to_dict_and_fingerprint() -> None:
    s = spec(env={"HF_TOKEN": HF_TOKEN, "LOG_LEVEL": "debug"})

    assert HF_TOKEN not in repr(s)
    assert HF_TOKEN not in json.dumps(s.to_dict())
    assert s.to_dict()["env"] == {"HF_TOKEN": "***", "LOG_LEVEL": "debug"}
    assert "LOG_LEVEL" in repr(s)
    assert s.to_dict(redact=False)["env"]["HF_TOKEN"] == HF_TOKEN  # only when asked
    rotated = s.replace(env={"HF_TOKEN": "hf_RotatedSecretValue0987654321", "LOG_LEVEL": "debug"})
    assert rotated.fingerprint() == s.fingerprint()  # rotating a key is not a new spec


def test_secret_options_are_masked_too() -> None:
    s = spec(options={"api_key": "sk-OptionSecret1234567890"})
    assert "sk-OptionSecret1234567890" not in repr(s)
    assert s.to_dict()["options"] == {"api_key": "***"}


def test_a_local_models_content_is_part_of_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retraining into the same directory makes a different spec; touching a file does not."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    weights = tmp_path / "model" / "weights.bin"
    weights.write_bytes(b"v1")
    spec = DeploymentSpec(provider="local", name="m", model="./model")
    before = spec.fingerprint()
    os.utime(weights, (1, 1))
    assert spec.fingerprint() == before
    weights.write_bytes(b"v2")
    retrained = spec.fingerprint()
    assert retrained != before
    (tmp_path / "model" / "extra.txt").write_text("x")
    assert spec.fingerprint() not in (before, retrained)
