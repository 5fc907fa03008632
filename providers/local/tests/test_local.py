"""The local provider's whole lifecycle against real server processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from hostkit_examples import study_score

import hostkit
from hostkit import errors

FAKE_SERVER = Path(__file__).parents[3] / "examples" / "fake_openai_server.py"
EXAMPLE = "hostkit_examples.study_score:predict"


def _port_open(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"


def test_lifecycle_deploy_invoke_scale_cost_teardown(local: hostkit.Provider) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "scores"})
    assert dep.status == "ready" and dep.replicas == 1
    assert dep.endpoint and _port_open(dep.endpoint)

    result = dep.invoke({"hours": [2, 5, 8]})
    assert result.output == study_score.predict({"hours": [2, 5, 8]})
    assert result.latency_s > 0 and result.provider == "local" and result.request_id

    scaled = local.scale(dep, 3)
    assert scaled.status == "ready" and scaled.replicas == 3
    worker_pids = set(scaled.raw["worker_pids"])
    assert len(worker_pids) == 3 and all(_alive(p) for p in worker_pids)
    seen = {httpx.get(f"{dep.endpoint}/health").json()["pid"] for _ in range(40)}
    assert len(seen) >= 2, "requests should be spread over several worker processes"
    assert seen <= worker_pids

    smaller = local.scale(scaled, 1)
    assert smaller.replicas == 1

    supervisor = dep.raw["pid"]
    local.teardown(smaller)
    assert not _port_open(dep.endpoint)
    assert not _alive(supervisor) and not any(_alive(p) for p in worker_pids)
    assert local.find("scores") is None
    local.teardown(smaller)  # idempotent
    local.teardown("scores")


def test_a_portable_spec_for_a_cloud_deploys_here_unchanged(local: hostkit.Provider) -> None:
    spec = {"model": EXAMPLE, "name": "portable", "accelerator": "A100-80GB:2", "region": "x"}
    dep = local.deploy(spec)
    assert dep.status == "ready" and dep.instance == "local"
    estimate = local.cost(dep, hours=10)
    assert estimate.usd == 0.0 and "no platform bills it" in (estimate.source or "")


def test_cost_uses_the_configured_hourly_rate(tmp_path: Path) -> None:
    config = tmp_path / "priced" / "hostkit.toml"
    config.parent.mkdir()
    config.write_text("[providers.local]\nusd_per_hour = 0.5\n")
    spec = hostkit.DeploymentSpec(provider="local", model=EXAMPLE)
    estimate = hostkit.cost(spec, hours=3, config=config)
    assert estimate.usd == pytest.approx(1.5)
    assert estimate.breakdown[0].unit_price_usd == 0.5 and estimate.as_of
    assert "usd_per_hour" in (estimate.source or "")
    free = hostkit.get_provider("local").cost(spec, hours=3)
    assert free.usd == 0.0 and free.source
    with pytest.warns(errors.PriceUnknown, match="pass hours="):
        unknown = hostkit.cost(spec, requests=1000, config=config)
    assert unknown.usd is None


def test_a_priced_row_in_the_config_keeps_its_source(tmp_path: Path) -> None:
    """A [prices.local] row prices the machine and the estimate says where the price is from."""
    config = tmp_path / "hostkit.toml"
    config.write_text(
        '[prices.local."local"]\nusd_per_hour = 0.25\nsource = "our finance sheet"\n'
        'as_of = "2026-12-01"\n'
    )
    spec = hostkit.DeploymentSpec(provider="local", model=EXAMPLE)
    estimate = hostkit.cost(spec, hours=4, config=config)
    assert estimate.usd == pytest.approx(1.0)
    assert estimate.source == "our finance sheet (as of 2026-12-01)"


def test_ainvoke_matches_invoke(local: hostkit.Provider) -> None:
    import asyncio

    dep = local.deploy({"model": EXAMPLE, "name": "async-scores"})
    sync = dep.invoke({"hours": 4})
    result = asyncio.run(hostkit.ainvoke(dep, {"hours": 4}))
    assert result.output == sync.output


def test_same_spec_twice_returns_the_existing_deployment(local: hostkit.Provider) -> None:
    first = local.deploy({"model": EXAMPLE, "name": "twice"})
    second = local.deploy({"model": EXAMPLE, "name": "twice"})
    assert second.raw["pid"] == first.raw["pid"]
    with pytest.raises(errors.ConfigError, match="different spec"):
        local.deploy({"model": EXAMPLE, "name": "twice", "replicas": 2})
    updated = local.deploy({"model": EXAMPLE, "name": "twice", "replicas": 2}, update=True)
    assert updated.replicas == 2 and updated.raw["pid"] != first.raw["pid"]
    assert not _alive(first.raw["pid"])


def test_a_later_process_finds_and_tears_down_the_deployment(local: hostkit.Provider) -> None:
    script = textwrap.dedent(
        f"""
        import hostkit, json
        dep = hostkit.deploy(provider="local", model={EXAMPLE!r}, name="survivor")
        print(json.dumps(dep.to_dict()))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    record = json.loads(out.stdout.strip().splitlines()[-1])
    found = local.get("survivor")
    assert found.status == "ready" and found.endpoint == record["endpoint"]
    assert found.invoke({"hours": 1}).output == study_score.predict({"hours": 1})
    local.teardown(found)
    assert not _alive(record["raw"]["pid"])
    assert not _port_open(record["endpoint"])


def test_failed_deploy_raises_with_reason_and_leaves_nothing(local: hostkit.Provider) -> None:
    with pytest.raises(errors.DeploymentFailed) as caught:
        local.deploy({"model": "no_such_module_xyz:predict", "name": "broken"})
    assert "no_such_module_xyz" in (caught.value.reason or "")
    assert local.find("broken") is None
    assert not (local.records.folder / "runs" / "broken").exists()


def test_invalid_specs_name_the_field(local: hostkit.Provider) -> None:
    with pytest.raises(errors.ConfigError, match="model: 'llama'"):
        local.deploy({"model": "llama"})
    with pytest.raises(errors.ConfigError, match="unknown option"):
        local.deploy({"model": EXAMPLE, "options": {"gpu": True}})


def test_bad_input_is_a_clear_400(local: hostkit.Provider) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "strict"})
    with pytest.raises(errors.ProviderError) as caught:
        dep.invoke({"hours": "lots"})
    assert caught.value.status_code == 400
    assert "expected" in caught.value.message


def test_operations_the_local_provider_lacks(local: hostkit.Provider) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "plain"})
    with pytest.raises(errors.Unsupported, match="invoke"):
        dep.stream({"hours": 1})
    with pytest.raises(errors.Unsupported, match="teardown"):
        dep.scale(0)
    with pytest.raises(errors.Unsupported, match="autoscaler"):
        dep.scale(min_replicas=1, max_replicas=3)


def test_python_file_model(local: hostkit.Provider, tmp_path: Path) -> None:
    model = tmp_path / "double.py"
    model.write_text("def run(x):\n    return [v * 2 for v in x]\n")
    dep = local.deploy(
        {"model": "double.py:run", "name": "double", "options": {"workdir": str(tmp_path)}}
    )
    assert dep.invoke([1, 2, 3]).output == [2, 4, 6]


def test_scikit_learn_model(local: hostkit.Provider, tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    from sklearn.linear_model import LinearRegression

    hours = [[h] for h, _ in study_score.DATA]
    scores = [s for _, s in study_score.DATA]
    estimator = LinearRegression().fit(hours, scores)
    joblib.dump(estimator, tmp_path / "scores.joblib")
    dep = local.deploy({"model": str(tmp_path / "scores.joblib"), "name": "sk"})
    answer = dep.invoke({"instances": [[3.0], [7.0]]}).output
    assert answer["predictions"] == pytest.approx(estimator.predict([[3.0], [7.0]]).tolist())


def _llm_spec(name: str = "llm", *extra: str) -> dict[str, object]:
    command = [sys.executable, str(FAKE_SERVER), "--port", "{port}", *extra]
    return {"model": "fake-llm", "name": name, "options": {"command": command}}


def test_llm_server_invoke_stream_and_ainvoke_agree(local: hostkit.Provider) -> None:
    import asyncio

    dep = local.deploy(_llm_spec())
    upstream_pid = int((Path(dep.raw["run_dir"]) / "upstream.pid").read_text())
    result = dep.invoke("hello there", max_tokens=20)
    assert result.text == "echo: hello there"
    assert result.usage.input_tokens == 2 and result.usage.output_tokens == 3

    stream = dep.stream("hello there")
    chunks = list(stream)
    assert len(chunks) == 3 and "".join(chunks) == result.text
    assert stream.result is not None
    assert stream.result.usage == result.usage and stream.result.ttft_s is not None

    async_result = asyncio.run(dep.ainvoke([{"role": "user", "content": "hello there"}]))
    assert async_result.text == result.text and async_result.usage == result.usage

    with pytest.raises(errors.ProviderError, match="refused") as caught:
        dep.invoke("please [fail]")
    assert caught.value.status_code == 400

    local.teardown(dep)
    assert not _alive(upstream_pid)


def test_llm_command_that_exits_fails_the_deploy(local: hostkit.Provider) -> None:
    spec = {
        "model": "m",
        "name": "dead-llm",
        "options": {"command": [sys.executable, "-c", "raise SystemExit(7)"]},
    }
    with pytest.raises(errors.DeploymentFailed, match="exited with code 7"):
        local.deploy(spec)
    assert local.find("dead-llm") is None


def test_ainvoke_from_two_event_loops(local: hostkit.Provider) -> None:
    import asyncio

    dep = local.deploy({"model": EXAMPLE, "name": "two-loops"})
    first = asyncio.run(dep.ainvoke({"hours": 2}))
    second = asyncio.run(dep.ainvoke({"hours": 2}))  # a new loop gets its own pooled client
    assert first.output == second.output == study_score.predict({"hours": 2})
