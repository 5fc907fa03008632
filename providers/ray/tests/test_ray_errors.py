"""Error paths a live head cannot easily show, replayed from answers recorded from a real
Ray head (fixtures/dashboard.json, made by make_ray_fixtures.py; token and paths scrubbed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import hostkit
from hostkit.errors import AuthenticationError, ProviderError

ADDRESS = "http://ray-head.test:8265"
APPS = f"{ADDRESS}/api/serve/applications/"
RECORDED = json.loads((Path(__file__).parent / "fixtures" / "dashboard.json").read_text())


def replay(name: str) -> httpx.Response:
    entry = RECORDED[name]
    return httpx.Response(entry["status"], headers=entry["headers"], text=entry["body"])


@pytest.fixture
def ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    provider = hostkit.get_provider("ray", address=ADDRESS, max_retries=0, state_dir=str(tmp_path))
    yield provider
    provider.close()


@respx.mock
def test_a_401_from_token_auth_names_the_settings_that_carry_credentials(ray: Any) -> None:
    respx.get(APPS).mock(return_value=replay("unauthorized"))
    with pytest.raises(AuthenticationError) as caught:
        ray.find("scores")
    message = str(caught.value)
    assert "Missing authentication token" in message
    assert "RAY_AUTH_TOKEN" in message and "username and password" in message
    assert caught.value.status_code == 401


@respx.mock
def test_the_token_is_sent_as_a_bearer_header_and_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "s3cr3t-ray-token-123"
    monkeypatch.setenv("RAY_AUTH_TOKEN", token)
    route = respx.get(APPS).mock(return_value=replay("unauthorized"))
    ray = hostkit.get_provider("ray", address=ADDRESS, max_retries=0, state_dir=str(tmp_path))
    with pytest.raises(AuthenticationError) as caught:
        ray.find("scores")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {token}"
    assert token not in str(caught.value) and token not in repr(ray)


@respx.mock
def test_basic_auth_for_a_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    route = respx.get(APPS).mock(return_value=replay("one_running_one_failed"))
    ray = hostkit.get_provider(
        "ray", address=ADDRESS, username="ops", password="pa55word!", state_dir=str(tmp_path)
    )
    ray.find("good")
    assert route.calls.last.request.headers["authorization"] == "Basic b3BzOnBhNTV3b3JkIQ=="


@respx.mock
def test_a_500_from_the_rest_api_is_a_provider_error_with_rays_text(ray: Any) -> None:
    respx.get(APPS).mock(return_value=replay("one_running_one_failed"))
    respx.put(APPS).mock(return_value=replay("server_error"))
    with pytest.raises(ProviderError) as caught:
        ray.deploy({"name": "scores", "model": "hostkit_examples.study_score:predict"})
    message = str(caught.value)
    assert "answered 500" in message and "PUT /api/serve/applications/" in message
    assert caught.value.status_code == 500


@respx.mock
def test_a_config_serve_rejects_is_a_provider_error_with_its_validation_message(
    ray: Any,
) -> None:
    respx.get(APPS).mock(return_value=replay("one_running_one_failed"))
    respx.put(APPS).mock(return_value=replay("bad_config"))
    with pytest.raises(ProviderError, match="validation errors for ServeDeploySchema"):
        ray.deploy({"name": "scores", "model": "hostkit_examples.study_score:predict"})


@respx.mock
def test_an_unreachable_dashboard_says_which_address_and_what_to_do(ray: Any) -> None:
    respx.get(APPS).mock(side_effect=httpx.ConnectError("Connection refused"))
    with pytest.raises(ProviderError) as caught:
        ray.find("scores")
    message = str(caught.value)
    assert f"cannot reach the Ray dashboard at {ADDRESS}" in message
    assert "ray start --head" in message and "address" in message


@respx.mock
def test_status_from_a_recorded_listing(ray: Any) -> None:
    respx.get(APPS).mock(return_value=replay("one_running_one_failed"))
    good = ray.find("good")
    assert good.status == "ready" and good.replicas == 1
    assert good.endpoint == "http://ray-head.test:8000/good"
    broken = ray.find("broken")
    assert broken.status == "failed"
    reason = broken.raw["failure_reason"]
    assert reason.startswith("Deploying app 'broken' failed")
    assert "cannot import 'no_such_module_xyz'" in reason
    assert sorted(d.name for d in ray.list_deployments()) == ["broken", "good"]
    assert ray.find("elsewhere") is None


def test_metrics_sum_one_applications_counters_over_its_label_sets() -> None:
    from hostkit_providers.ray.metrics import parse_sample

    common = 'Component="core_worker",NodeAddress="10.0.0.1",WorkerId="ab"'
    text = "\n".join(
        [
            "# HELP ray_serve_num_http_requests_total Requests",
            f'ray_serve_num_http_requests_total{{{common},application="m",method="POST",'
            'route="/m",status_code="200"} 5.0',
            f'ray_serve_num_http_requests_total{{{common},application="m",method="POST",'
            'route="/m",status_code="400"} 1.0',
            f'ray_serve_num_http_requests_total{{{common},application="other",route="/o"}} 9.0',
            f'ray_serve_num_http_error_requests_total{{{common},application="m",'
            'error_code="400"} 1.0',
            f'ray_serve_http_request_latency_ms_sum{{{common},application="m"}} 30.0',
            f'ray_serve_http_request_latency_ms_count{{{common},application="m"}} 6.0',
        ]
    )
    sample = parse_sample(text, "m", at=100.0)
    assert (sample.requests, sample.errors) == (6.0, 1.0)
    assert sample.latency_sum_ms / sample.latency_count == 5.0
