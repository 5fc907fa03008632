"""A portable accelerator in a spec picks each platform's cheapest fitting instance type.

One spec (``accelerator="A100-80GB:1"``, ``"H100:1"``, ``"L4:1"``) is swapped across the
seven platforms with dedicated deployments by changing only ``provider`` (and ``region``
where the platform needs one). Each pick is checked against an oracle written here from
the shipped catalog rows (cheapest priced fit, else the fit with the fewest GPUs and one
PriceUnknown warning), and a few picks by name. Nothing is sent: ``coerce_spec`` and
``validate_spec`` are the offline half of ``deploy``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pytest

import hostkit
from hostkit import catalog, errors
from hostkit._config import Config
from hostkit._gpus import identify, parse_accelerator

MODEL = "Qwen/Qwen2.5-0.5B-Instruct"


@dataclass(frozen=True)
class Platform:
    """How a dedicated platform is built for these tests (no request is sent)."""

    settings: dict[str, Any] = field(default_factory=dict)
    region: str | None = None  # the spec's region, where the platform needs one
    env: dict[str, str] = field(default_factory=dict)
    #: the prefix of catalog names in the region (Hugging Face keys rows by compute id)
    row_prefix: str = ""


PLATFORMS: dict[str, Platform] = {
    "sagemaker": Platform(
        {"region": "us-east-1", "role_arn": "arn:aws:iam::111122223333:role/hostkit"},
        region="us-east-1",
    ),
    "vertex": Platform({"project": "hostkit-demo", "location": "us-central1"}, "us-central1"),
    "azureml": Platform(
        {
            "subscription_id": "6f1c2b7e-3a4d-4e5f-9b8a-2c1d0e9f8a7b",
            "resource_group": "hostkit-rg",
            "workspace": "hostkit-ws",
            "region": "eastus",
        },
        region="eastus",
    ),
    "huggingface": Platform(
        {"namespace": "hostkit-org"},
        env={"HF_TOKEN": "hf_fakeAccelerators0000"},
        row_prefix="aws-us-east-1-",
    ),
    "lambdalabs": Platform({"ssh_key_name": "hostkit"}, env={"LAMBDA_API_KEY": "lambda-fake"}),
    "paperspace": Platform(
        {"project_id": "pr1234567"}, env={"PAPERSPACE_API_KEY": "paperspace-fake"}
    ),
    "replicate": Platform({"owner": "hostkit"}, env={"REPLICATE_API_TOKEN": "r8_fake0000"}),
}

#: what ``accelerator="A100-80GB:1"`` resolves to on each platform today (docs/cost.md)
A100_80GB = {
    "sagemaker": "ml.p4de.24xlarge",  # no SageMaker price shipped: smallest + warning
    "vertex": "a2-ultragpu-1g",  # no us-central1 price shipped: smallest + warning
    "azureml": "Standard_NC24ads_A100_v4",
    "huggingface": "nvidia-a100-x1",
    "lambdalabs": "gpu_8x_a100_80gb_sxm4",  # Lambda sells the 80 GB A100 in eights only
    "paperspace": "A100-80G",  # no plain on-demand price published: smallest + warning
    "replicate": "gpu-a100-large",
}
#: platforms with an L4 in their shipped hardware
WITH_L4 = ("sagemaker", "vertex", "huggingface")


def _provider(name: str, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Any:
    platform = PLATFORMS[name]
    for key, value in platform.env.items():
        monkeypatch.setenv(key, value)
    return hostkit.get_provider(name, config=Config(), **{**platform.settings, **settings})


def _spec(name: str, accelerator: str, **fields: Any) -> hostkit.DeploymentSpec:
    fields.setdefault("region", PLATFORMS[name].region)
    return hostkit.DeploymentSpec(
        provider=name, name="portable-llm", model=MODEL, accelerator=accelerator, **fields
    )


def _resolve(provider: Any, spec: hostkit.DeploymentSpec) -> tuple[hostkit.DeploymentSpec, int]:
    """``coerce_spec`` then ``validate_spec`` (deploy's offline half); PriceUnknown count."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolved = provider.coerce_spec(spec)
    provider.validate_spec(resolved)
    return resolved, sum(issubclass(w.category, errors.PriceUnknown) for w in caught)


def _oracle(name: str, accelerator: str) -> tuple[str, bool]:
    """The expected pick from the catalog rows, by a rule written out here: the cheapest
    priced row with the GPUs asked, else the one with the fewest GPUs; and whether priced."""
    wanted = parse_accelerator(accelerator)
    platform = PLATFORMS[name]
    fits = []
    for row in catalog.offerings(name, region=platform.region, config=Config()):
        gpu = identify(row.gpu_type)
        if row.kind != "instance" or gpu is None or gpu.family != wanted.gpu.family:
            continue
        if not row.name.startswith(platform.row_prefix) or (row.gpu_count or 0) < wanted.count:
            continue
        memory = row.gpu_memory_gb or gpu.variant_memory_gb
        if wanted.gpu.memory_gb is not None and memory < wanted.gpu.memory_gb:
            continue
        fits.append(row)
    priced = [r for r in fits if r.usd_per_hour is not None]
    if priced:
        best = min(priced, key=lambda r: (r.usd_per_hour or 0, r.gpu_count or 0))
    else:
        best = min(fits, key=lambda r: (r.gpu_count or 0, r.vcpus or 0, r.ram_gb or 0, r.name))
    return best.name.removeprefix(platform.row_prefix), bool(priced)


# -- one spec, seven platforms ------------------------------------------------------------
CASES = [(name, "A100-80GB:1") for name in PLATFORMS]
CASES += [(name, "H100:1") for name in PLATFORMS]
CASES += [(name, "L4:1") for name in WITH_L4]


@pytest.mark.parametrize(("name", "accelerator"), CASES, ids=[f"{n}-{a}" for n, a in CASES])
def test_one_spec_resolves_to_the_cheapest_fit_on_every_platform(
    name: str, accelerator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = _provider(name, monkeypatch)
    spec = _spec(name, accelerator)
    resolved, unknown_prices = _resolve(provider, spec)
    expected, priced = _oracle(name, accelerator)
    assert resolved.instance == expected
    assert resolved.accelerator == accelerator  # kept: the spec's fingerprint is the user's
    assert unknown_prices == (0 if priced else 1)
    assert provider.capabilities_for_spec(resolved).dedicated


def test_the_a100_80gb_picks_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    picked = {
        name: _resolve(_provider(name, monkeypatch), _spec(name, "A100-80GB:1"))[0].instance
        for name in PLATFORMS
    }
    assert picked == A100_80GB


def test_h100_and_l4_picks_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def pick(name: str, accelerator: str) -> str | None:
        return _resolve(_provider(name, monkeypatch), _spec(name, accelerator))[0].instance

    assert pick("azureml", "H100:1") == "Standard_NC40ads_H100_v5"  # an H100 NVL, 94 GB
    assert pick("lambdalabs", "H100:1") == "gpu_1x_h100_pcie"
    assert pick("paperspace", "H100:1") == "H100"
    assert pick("replicate", "H100:1") == "gpu-h100"
    assert pick("huggingface", "H100:1") == "nvidia-h100-x1"
    assert pick("vertex", "H100:1") == "a3-highgpu-1g"
    # priced rows win (resolve_accelerator): ml.g6.2xlarge has a (secondary) price, g6.xlarge none
    assert pick("sagemaker", "L4:1") == "ml.g6.2xlarge"
    assert pick("vertex", "L4:1") == "g2-standard-4"


@pytest.mark.parametrize("name", list(PLATFORMS))
def test_an_impossible_request_names_the_nearest_matches(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = _provider(name, monkeypatch)
    with pytest.raises(errors.ConfigError, match=r"at least 64x H100; nearest: ") as caught:
        provider.coerce_spec(_spec(name, "H100:64"))
    rows = catalog.offerings(name, region=PLATFORMS[name].region, gpu="H100", config=Config())
    most = max(r.gpu_count or 0 for r in rows)
    biggest = {r.name for r in rows if r.gpu_count == most}
    assert any(f"{n} ({most}x H100" in caught.value.message for n in biggest)


@pytest.mark.parametrize(
    ("name", "instance"),
    [
        ("sagemaker", "ml.g6.xlarge"),
        ("vertex", "g2-standard-4"),
        ("azureml", "Standard_NC24ads_A100_v4"),
        ("huggingface", "nvidia-l4"),
        ("lambdalabs", "gpu_1x_a10"),
        ("paperspace", "A4000"),
        ("replicate", "gpu-t4"),
    ],
)
def test_an_instance_that_does_not_carry_the_accelerator_is_refused(
    name: str, instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = _provider(name, monkeypatch)
    spec = _spec(name, "H100:1", instance=instance)
    assert provider.coerce_spec(spec).instance == instance  # an explicit instance wins
    with pytest.raises(errors.ConfigError, match="H100"):
        provider.validate_spec(spec)


# -- platform by platform ---------------------------------------------------------------
def test_lambda_picks_by_count(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _provider("lambdalabs", monkeypatch)
    spec = hostkit.DeploymentSpec(provider="lambdalabs", model=MODEL, accelerator="H100:1")
    assert provider.coerce_spec(spec).instance == "gpu_1x_h100_pcie"
    assert provider.coerce_spec(spec.replace(accelerator="H100:2")).instance == "gpu_2x_h100_sxm5"


@pytest.mark.parametrize(
    ("name", "settings", "region", "accelerator", "expected"),
    [
        ("sagemaker", {"region": "ap-south-2"}, "ap-south-2", "A10G:1", "ml.g5.xlarge"),
        ("vertex", {"location": "me-central2"}, "me-central2", "H100:1", "a3-highgpu-1g"),
        ("azureml", {"region": "southindia"}, "southindia", "H100:1", "Standard_NC40ads_H100_v5"),
        ("huggingface", {}, "aws/eu-west-1", "L4", "nvidia-l4-x1"),
    ],
)
def test_a_region_without_prices_picks_the_smallest_fit_with_one_warning(
    name: str,
    settings: dict[str, Any],
    region: str,
    accelerator: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = _provider(name, monkeypatch, **settings)
    with pytest.warns(errors.PriceUnknown, match="no known price") as caught:
        resolved = provider.coerce_spec(_spec(name, accelerator, region=region))
    assert resolved.instance == expected and len(caught) == 1
    provider.validate_spec(resolved)


def test_hugging_face_keeps_its_own_accelerator_field(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _provider("huggingface", monkeypatch)
    own = _spec("huggingface", "gpu", instance="nvidia-l4")
    assert provider.endpoints.plan(own).payload()["compute"]["accelerator"] == "gpu"
    portable = provider.coerce_spec(_spec("huggingface", "A100:1"))
    plan = provider.endpoints.plan(portable)
    assert plan.compute_id == "aws-us-east-1-nvidia-a100-x1"
    assert plan.payload()["compute"]["accelerator"] == "gpu"  # the wire field stays gpu/cpu
    router = _spec("huggingface", "gpu")  # "gpu" alone is no request for hardware
    assert not provider.capabilities_for_spec(router).dedicated
    assert provider.coerce_spec(router).instance is None
    with pytest.raises(errors.ConfigError, match="accelerator"):
        provider.validate_spec(router)


def test_replicate_routes_an_accelerator_spec_to_a_deployment_and_prices_its_sku(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = _provider("replicate", monkeypatch)
    spec = _spec("replicate", "A100-80GB:1")
    assert not provider.capabilities_for_spec(spec.replace(accelerator=None)).dedicated
    assert provider.capabilities_for_spec(spec).dedicated
    estimate = provider.cost(spec, hours=2)  # min_instances defaults to 0: nothing always on
    assert estimate.usd == 0.0
    on = provider.cost(spec.replace(replicas=1), hours=2)
    assert on.usd == pytest.approx(0.0014 * 3600 * 2)  # gpu-a100-large, $0.0014/s
    with pytest.raises(errors.ConfigError, match="region is not used"):
        provider.validate_spec(provider.coerce_spec(spec.replace(region="us-east-1")))


def test_paperspace_and_replicate_offerings_list_their_unpriced_hardware(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paperspace = {o.name: o for o in _provider("paperspace", monkeypatch).offerings()}
    assert paperspace["A100-80G"].usd_per_hour is None
    assert paperspace["A100-80G"].gpu_memory_gb == 80
    replicate = {o.name: o for o in _provider("replicate", monkeypatch).offerings()}
    assert replicate["gpu-h100-8x"].gpu_count == 8 and replicate["gpu-h100-8x"].usd_per_hour is None
    assert replicate["gpu-l40s"].usd_per_hour == pytest.approx(3.51)
