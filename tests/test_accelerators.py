"""A portable accelerator in a spec picks each platform's cheapest fitting instance type."""

from __future__ import annotations

import pytest

import hostkit
from hostkit import errors


def test_accelerator_resolves_to_the_cheapest_fitting_instance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAMBDA_API_KEY", "lambda-fake-key-0000")
    provider = hostkit.get_provider("lambdalabs")
    spec = hostkit.DeploymentSpec(
        provider="lambdalabs", model="Qwen/Qwen2.5-0.5B-Instruct", accelerator="H100:1"
    )
    assert provider.coerce_spec(spec).instance == "gpu_1x_h100_pcie"
    two = provider.coerce_spec(spec.replace(accelerator="H100:2")).instance
    assert two == "gpu_2x_h100_sxm5"


def test_an_explicit_instance_wins_and_impossible_requests_are_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAMBDA_API_KEY", "lambda-fake-key-0000")
    provider = hostkit.get_provider("lambdalabs")
    spec = hostkit.DeploymentSpec(
        provider="lambdalabs", model="m/m", accelerator="H100:1", instance="gpu_1x_a10"
    )
    assert provider.coerce_spec(spec).instance == "gpu_1x_a10"
    with pytest.raises(errors.ConfigError, match="H100"):
        provider.coerce_spec(spec.replace(instance=None, accelerator="H100:64"))
