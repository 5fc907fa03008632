"""Replicate deployments (the dedicated half of replicate) against recorded fixtures.

Cassettes: ``cassettes/deployments/`` (hand-built by make_deployment_cassettes.py); every
recorded request must be made, so a cassette is also the count of what Replicate saw.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostkit_providers.replicate import ReplicateProvider

import hostkit
from hostkit import errors
from hostkit._progress import listen
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "deployments"
MODEL = "meta/meta-llama-3-8b-instruct"
NAME = "hostkit-compliance"
SPEC = {"name": NAME, "model": MODEL, "instance": "gpu-a100-large"}
TOKEN = "r8_testsFakeToken0000"


@contextmanager
def _replay(name: str) -> Iterator[Any]:
    with cassette(CASSETTES / name) as tape:
        yield tape
    assert tape.all_played, f"{name}: {tape.play_count} of {len(tape.data)} requests were made"


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplicateProvider]:
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    built = hostkit.get_provider("replicate")
    assert isinstance(built, ReplicateProvider)
    built.retry.sleep = lambda seconds: None
    built.sleeps = []  # type: ignore[attr-defined]
    built.sleep = built.sleeps.append  # type: ignore[attr-defined]
    yield built
    built.close()


@pytest.fixture
def dep(provider: ReplicateProvider) -> hostkit.Deployment:
    with _replay("deploy.yaml"):
        deployed: hostkit.Deployment = provider.deploy(SPEC)
    return deployed


def test_deploy_creates_a_replicate_deployment(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    assert dep.status == "ready" and dep.instance == "gpu-a100-large"
    assert (dep.min_replicas, dep.max_replicas) == (0, 1)
    assert dep.endpoint == f"https://api.replicate.com/v1/deployments/acme/{NAME}/predictions"
    assert dep.raw["deployment"] == f"acme/{NAME}" and dep.raw["release"] == 1
    assert dep.raw["version"].startswith("5a6809ca") and dep.raw["serverless"] is False
    body = load_cassette(CASSETTES / "deploy.yaml")[3].request.json()
    assert body == {
        "name": NAME,
        "model": MODEL,
        "version": dep.raw["version"],
        "hardware": "gpu-a100-large",
        "min_instances": 0,
        "max_instances": 1,
    }
    caps = provider.capabilities_for(dep)
    assert caps.dedicated and caps.autoscaling and caps.manual_scaling and caps.scale_to_zero


def test_the_owner_setting_skips_the_account_look_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    provider = hostkit.get_provider("replicate", owner="acme")
    assert isinstance(provider, ReplicateProvider)
    with _replay("deploy_existing.yaml"):  # one GET of the deployment, no GET /v1/account
        found = provider.find_deployment(NAME)
    assert found is not None and found.raw["deployment"] == f"acme/{NAME}"
    assert found.status == "ready" and found.instance == "gpu-a100-large"


def test_deploying_then_ready_is_reported(provider: ReplicateProvider) -> None:
    seen: list[str] = []
    with _replay("deploy_deploying.yaml"), listen(seen.append):
        dep = provider.deploy(SPEC)
    assert dep.status == "ready" and dep.raw["release"] == 1
    assert any("deploying (no release yet)" in m for m in seen), seen
    assert any(m.startswith(f"{NAME}: ready") for m in seen), seen


def test_invoke_goes_to_the_deployment_and_is_billed_by_the_hour(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    with _replay("invoke.yaml") as tape, warnings.catch_warnings():
        warnings.simplefilter("error", errors.PriceUnknown)
        result = provider.invoke(dep, "Say hello in five words.", max_tokens=32)
    assert tape.requests[0].path == f"/v1/deployments/acme/{NAME}/predictions"
    assert result.text == "Hello! Nice to meet you!" and result.cost_usd is None
    assert "version" not in tape.requests[0].body.decode()


def test_scale_patches_and_reports_the_new_release(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    seen: list[str] = []
    with _replay("scale.yaml"), listen(seen.append):
        scaled = provider.scale(dep, 2)
    assert (scaled.replicas, scaled.min_replicas, scaled.max_replicas) == (2, 2, 2)
    assert scaled.raw["release"] == 2 and scaled.raw["previous_release"] == 1
    assert any("release 2" in m for m in seen)
    with pytest.raises(errors.ConfigError, match="min_instances 0 to 5"):
        provider.scale(dep, 6)


def test_cost_is_hardware_per_second_times_instances(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    with _replay("scale.yaml"):
        scaled = provider.scale(dep, 2)
    estimate = provider.cost(scaled, hours=1)
    assert estimate.usd == pytest.approx(0.0014 * 3600 * 2)
    assert estimate.source == "https://replicate.com/pricing" and estimate.as_of
    idle = provider.cost(dep, hours=1)  # min 0: nothing runs while idle
    assert idle.usd == 0 and "up to 1 under load" in idle.breakdown[0].description
    l40s = provider.cost(
        hostkit.DeploymentSpec.from_dict(
            {**SPEC, "provider": "replicate", "instance": "gpu-l40s", "min_replicas": 1}
        ),
        hours=1,
    )
    assert l40s.usd == pytest.approx(0.000975 * 3600) and l40s.as_of == "2026-05-04"
    with pytest.warns(errors.PriceUnknown) as caught:  # a real SKU with no dated price shipped
        unknown = provider.cost(
            hostkit.DeploymentSpec.from_dict(
                {**SPEC, "provider": "replicate", "instance": "gpu-l40s-2x"}
            ),
            hours=1,
        )
    assert unknown.usd is None and len(caught) == 1


def test_update_with_a_changed_spec_is_one_patch(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    changed = {**SPEC, "min_replicas": 1, "max_replicas": 3}
    with pytest.raises(errors.ConfigError, match="update=True"), _replay("deploy_existing.yaml"):
        provider.deploy(changed)
    with _replay("update.yaml"):
        updated = provider.deploy(changed, update=True)
    assert (updated.min_replicas, updated.max_replicas) == (1, 3)


def test_teardown_refused_leaves_it_scaled_to_zero_and_says_so(
    provider: ReplicateProvider, dep: hostkit.Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    with _replay("teardown_refused.yaml"), listen(seen.append):
        provider.teardown(dep)
    assert dep.status == "scaled_to_zero" and dep.raw["delete_pending"] is True
    assert any("nothing is billed" in m and "finish_teardown" in m for m in seen)
    assert any("15 minutes" in r.getMessage() for r in caplog.records)
    record = provider.records.load(NAME)
    assert record is not None and record["status"] == "scaled_to_zero"
    with _replay("finish_teardown.yaml"):
        provider.finish_teardown(NAME)
    assert provider.sleeps == [30.0, 60.0]  # type: ignore[attr-defined]
    assert provider.records.load(NAME) is None


def test_finish_teardown_gives_up_after_its_timeout(
    provider: ReplicateProvider, dep: hostkit.Deployment
) -> None:
    with cassette(CASSETTES / "finish_teardown.yaml"), pytest.raises(errors.Timeout) as caught:
        provider.finish_teardown(dep, timeout=40)
    assert "scaled to zero" in caught.value.message and caught.value.status_code == 409


def test_release_refused_is_deployment_failed_and_cleans_up(provider: ReplicateProvider) -> None:
    spec = {**SPEC, "name": f"{NAME}-failed", "instance": "gpu-none"}
    with _replay("deploy_failed.yaml"), pytest.raises(errors.DeploymentFailed) as caught:
        provider.deploy(spec)
    assert "gpu-none is not a valid hardware SKU" in caught.value.reason
    assert provider.records.load(f"{NAME}-failed") is None


def test_no_credit_is_quota_exceeded(provider: ReplicateProvider) -> None:
    with _replay("deploy_quota.yaml"), pytest.raises(errors.QuotaExceeded, match="credit"):
        provider.deploy(SPEC)


def test_bad_token_is_authentication_error(provider: ReplicateProvider) -> None:
    with _replay("deploy_401.yaml"), pytest.raises(errors.AuthenticationError) as caught:
        provider.deploy(SPEC)
    assert "REPLICATE_API_TOKEN" in caught.value.message


def test_spec_fields_a_deployment_cannot_honour_are_named(provider: ReplicateProvider) -> None:
    for extra, word in (
        ({"region": "us"}, "region"),
        ({"replicas": 6}, "replicas"),
        ({"max_replicas": 21}, "max_replicas"),
        ({"options": {"hardware": "x"}}, "options"),
        ({"name": "Has-Caps"}, "lowercase"),
    ):
        with pytest.raises(errors.ConfigError, match=word):
            provider.deploy({**SPEC, **extra})


# -- realism: the official SDK parses every recorded body -------------------------------
FILES = sorted(p.name for p in CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("name", FILES)
def test_the_sdk_parses_every_recorded_body(name: str) -> None:
    from replicate.account import Account
    from replicate.deployment import Deployment
    from replicate.exceptions import ReplicateError
    from replicate.model import Model
    from replicate.prediction import Prediction

    text = (CASSETTES / name).read_text(encoding="utf-8")
    assert text.startswith("# ") and TOKEN not in text
    for interaction in load_cassette(CASSETTES / name):
        request, response = interaction.request, interaction.response
        assert request.header("authorization") == "REDACTED"
        if response.status >= 400:
            raw = httpx.Response(response.status, content=response.body.encode())
            assert ReplicateError.from_response(raw).detail == response.json()["detail"]
            continue
        if response.status == 204 or "event-stream" in (response.header("content-type") or ""):
            continue
        data = response.json()
        path = request.path
        if path == "/v1/account":
            assert Account(**data).username == "acme"
        elif path.startswith("/v1/models/"):
            Model(**data)
        elif path.startswith("/v1/deployments") and not path.endswith("predictions"):
            parsed = Deployment(**data)
            assert parsed.owner == "acme"
        else:
            assert Prediction(**data).status in ("starting", "processing", "succeeded")
