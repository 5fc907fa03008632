"""The ray provider against a real single-node Ray head (see conftest.py), plus the
checks that need no cluster (settings, spec validation, the PUT body)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import hostkit
from hostkit.errors import ConfigError, DeploymentFailed, ProviderError, Unsupported

HERE = Path(__file__).parent
APPS = "/api/serve/applications/"
FAKE_LLM = [
    sys.executable,
    "-m",
    "hostkit_examples.fake_openai_server",
    "--host",
    "{host}",
    "--port",
    "{port}",
    "--model",
    "{model}",
]


@pytest.fixture
def provider(ray_head: Any, tmp_path: Path) -> Any:
    ray = hostkit.get_provider("ray", **ray_head.settings(state_dir=str(tmp_path)))
    yield ray
    ray.close()


def apps(ray_head: Any) -> dict[str, Any]:
    data = httpx.get(ray_head.address + APPS, timeout=30).json()
    return data.get("applications") or {}


def running_pids(app: dict[str, Any]) -> list[int]:
    replicas = app["deployments"]["HostkitModel"]["replicas"]
    return sorted(r["pid"] for r in replicas if r["state"] == "RUNNING")


# -- no cluster needed ---------------------------------------------------------------
def test_the_address_must_be_the_dashboards_http_address(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dashboard's HTTP address"):
        hostkit.get_provider("ray", address="ray://10.0.0.1:10001", state_dir=str(tmp_path))


def test_username_and_password_go_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="username and password"):
        hostkit.get_provider("ray", username="me", state_dir=str(tmp_path))


def test_serve_url_defaults_to_port_8000_on_the_heads_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_DASHBOARD_ADDRESS", "http://10.1.2.3:8265")
    ray = hostkit.get_provider("ray", state_dir=str(tmp_path))
    assert ray.address == "http://10.1.2.3:8265"
    assert ray.serve_url == "http://10.1.2.3:8000"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_batch_size": 0}, "options.max_batch_size"),
        ({"max_batch_size": 2.5}, "options.max_batch_size"),
        ({"batch_wait_timeout_s": "soon"}, "options.batch_wait_timeout_s"),
        ({"colour": "red"}, "unknown option"),
        ({"pip": "numpy"}, "options.pip"),
    ],
)
def test_bad_options_name_the_field(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    ray = hostkit.get_provider("ray", state_dir=str(tmp_path))
    spec = hostkit.DeploymentSpec(
        provider="ray", model="hostkit_examples.study_score:predict", options=options
    )
    with pytest.raises(ConfigError, match=message):
        ray.validate_spec(spec)


def test_importing_the_provider_loads_no_ray() -> None:
    import subprocess

    code = (
        "import sys, hostkit, hostkit_providers.ray;"
        " hostkit.get_provider('ray'); print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- against the real head -------------------------------------------------------------
def test_lifecycle_of_a_python_model(provider: Any, ray_head: Any) -> None:
    deployment = provider.deploy({"name": "score", "model": "hostkit_examples.study_score:predict"})
    try:
        assert deployment.status == "ready"
        assert deployment.replicas == 1
        assert deployment.endpoint == f"{ray_head.serve_url}/score"
        result = provider.invoke(deployment, {"hours": 6})
        assert result.output["scores"] == [71.5]
        later = asyncio.run(provider.ainvoke(deployment, {"hours": 6}))
        assert later.output == result.output
        health = httpx.get(f"{deployment.endpoint}/health", timeout=30).json()
        assert health["status"] == "ok" and health["kind"] == "python"
        found = provider.get("score")
        assert found.status == "ready" and found.fingerprint == deployment.fingerprint
        assert [d.name for d in provider.list_deployments()] == ["score"]
        app = apps(ray_head)["score"]
        assert app["route_prefix"] == "/score"
        assert app["deployed_app_config"]["import_path"] == "hostkit_providers.ray.serve_app:build"
        with pytest.raises(Unsupported, match="answers in one piece"):
            provider.stream(deployment, "hi")
        # Ray exports its metrics every few seconds: wait for the two invokes to show
        total, deadline = 0, time.monotonic() + 60
        while total < 2 and time.monotonic() < deadline:
            metrics = provider.metrics(found)
            total += metrics.invocations if metrics else 0
            time.sleep(1)
        assert total >= 2 and metrics is not None and metrics.source.startswith("Ray's")
    finally:
        provider.teardown("score")
    assert "score" not in apps(ray_head)
    assert provider.find("score") is None
    provider.teardown("score")  # twice is fine


def test_a_model_the_cluster_cannot_import_fails_with_rays_reason(
    provider: Any, ray_head: Any
) -> None:
    with pytest.raises(DeploymentFailed) as caught:
        provider.deploy({"name": "broken", "model": "no_such_module_xyz:predict"})
    message = str(caught.value)
    assert "no_such_module_xyz" in message
    assert "cannot import" in message
    assert "broken" not in apps(ray_head)


def test_a_replica_that_cannot_start_fails_the_deploy_with_its_reason(
    provider: Any, ray_head: Any
) -> None:
    """The module imports but the callable is missing: the build passes, every replica's
    constructor fails, and Serve gives up (a crash loop) - DeploymentFailed, app removed."""
    with pytest.raises(DeploymentFailed) as caught:
        provider.deploy({"name": "noattr", "model": "hostkit_examples.study_score:no_such_fn"})
    assert "no_such_fn" in str(caught.value)
    assert "noattr" not in apps(ray_head)


def test_an_unrelated_serve_app_is_untouched(provider: Any, ray_head: Any) -> None:
    details = httpx.get(ray_head.address + APPS, timeout=30).json()
    body = {
        "http_options": {"host": "127.0.0.1", "port": int(ray_head.serve_url.rsplit(":", 1)[1])},
        "applications": [
            *[
                a["deployed_app_config"]
                for a in details["applications"].values()
                if a.get("deployed_app_config")
            ],
            {
                "name": "theirs",
                "route_prefix": "/theirs",
                "import_path": "ray_test_apps:build_unrelated",
            },
        ],
    }
    httpx.put(ray_head.address + APPS, json=body, timeout=60).raise_for_status()
    try:
        _wait_running(ray_head, "theirs")
        before = _replica_pids(apps(ray_head)["theirs"], "Unrelated")
        assert provider.find("theirs") is None  # not hostkit's
        with pytest.raises(ConfigError, match="did not create"):
            provider.deploy({"name": "theirs", "model": "hostkit_examples.study_score:predict"})
        provider.deploy({"name": "mine", "model": "hostkit_examples.study_score:predict"})
        provider.teardown("mine")
        provider.teardown("theirs")  # not hostkit's: left alone
        after = apps(ray_head)
        assert after["theirs"]["status"] == "RUNNING"
        assert _replica_pids(after["theirs"], "Unrelated") == before  # never restarted
        answer = httpx.get(f"{ray_head.serve_url}/theirs", timeout=30)
        assert answer.text.startswith("unrelated")
        assert "mine" not in after
    finally:
        _remove_direct(ray_head, "theirs")


def test_scale_to_two_then_autoscaling_bounds(provider: Any, ray_head: Any) -> None:
    deployment = provider.deploy(
        {"name": "scaled", "model": "hostkit_examples.study_score:predict"}
    )
    try:
        two = provider.scale(deployment, 2)
        assert two.status == "ready" and two.replicas == 2
        assert len(running_pids(apps(ray_head)["scaled"])) == 2
        bounded = provider.scale(deployment, min_replicas=1, max_replicas=3)
        config = apps(ray_head)["scaled"]["deployed_app_config"]["deployments"][0]
        assert config["autoscaling_config"]["min_replicas"] == 1
        assert config["autoscaling_config"]["max_replicas"] == 3
        assert "num_replicas" not in config
        assert (bounded.min_replicas, bounded.max_replicas) == (1, 3)
        assert provider.invoke(bounded, {"hours": 1}).output["scores"]
    finally:
        provider.teardown("scaled")


def test_scale_to_zero_and_wake_on_the_first_request(provider: Any, ray_head: Any) -> None:
    deployment = provider.deploy(
        {
            "name": "sleepy",
            "model": "hostkit_examples.study_score:predict",
            "scale_to_zero_after": 1,
        }
    )
    try:
        asleep = provider.scale(deployment, 0)
        assert asleep.status == "scaled_to_zero" and asleep.replicas == 0
        assert running_pids(apps(ray_head)["sleepy"]) == []
        started = time.monotonic()
        result = provider.invoke(asleep, {"hours": 6})  # Serve starts a replica for it
        print(f"\nwake from zero: the first request took {time.monotonic() - started:.1f}s")
        assert result.output["scores"] == [71.5]
        assert provider.get("sleepy").replicas >= 1
    finally:
        provider.teardown("sleepy")


def test_an_llm_command_per_replica_streams(provider: Any, ray_head: Any) -> None:
    deployment = provider.deploy(
        {"name": "llm", "model": "fake-llm", "options": {"command": FAKE_LLM}}
    )
    try:
        assert deployment.raw["kind"] == "llm"
        assert provider.invoke(deployment, "Hi there").text == "echo: Hi there"
        stream = provider.stream(deployment, "one two three")
        assert "".join(stream) == "echo: one two three"
        assert stream.result is not None and stream.result.usage.output_tokens
        answer = asyncio.run(provider.ainvoke(deployment, "async hello"))
        assert answer.text == "echo: async hello"
    finally:
        provider.teardown("llm")


def test_dynamic_batching_hands_the_model_batches(provider: Any, ray_head: Any) -> None:
    deployment = provider.deploy(
        {
            "name": "batched",
            "model": f"{HERE / 'ray_test_apps.py'}:batch_echo",
            "options": {
                "max_batch_size": 16,
                "batch_wait_timeout_s": 0.05,
                "max_ongoing_requests": 64,
            },
        }
    )
    try:
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda i: provider.invoke(deployment, i), range(64)))
        assert sorted(r.output["echo"] for r in results) == list(range(64))
        sizes = [r.output["batch_size"] for r in results]
        assert max(sizes) > 1, sizes
        assert max(sizes) <= 16
    finally:
        provider.teardown("batched")


def test_a_batched_model_must_answer_one_output_per_input() -> None:
    pytest.importorskip("ray.serve", reason="the ray extra is not installed")
    from hostkit_providers.ray.serve_app import HostkitModel

    cls = HostkitModel.func_or_class
    replica = object.__new__(cls)
    replica.predictor = lambda inputs: {"not": "a list"}
    answers = cls._predict_batch(replica, [1, 2])
    assert [status for status, _ in answers] == [424, 424]
    assert b"one per" in answers[0][1] and b"model_error" in answers[0][1]
    replica.predictor = lambda inputs: [x * 2 for x in inputs]
    assert cls._predict_batch(replica, [1, 2]) == [(200, b'{"output": 2}'), (200, b'{"output": 4}')]


def test_cost_is_the_replica_hour_rate(provider: Any) -> None:
    spec = hostkit.DeploymentSpec(
        provider="ray",
        model="m:f",
        replicas=2,
        options={"usd_per_hour": 0.5},
    )
    assert provider.cost(spec, hours=3).usd == pytest.approx(3.0)
    free = hostkit.DeploymentSpec(provider="ray", model="m:f")
    estimate = provider.cost(free, hours=1)
    assert estimate.usd == 0.0 and "no list price" in estimate.source


def test_an_unreachable_dashboard_says_where_it_looked(tmp_path: Path) -> None:
    (port,) = _free_ports(1)
    ray = hostkit.get_provider(
        "ray", address=f"http://127.0.0.1:{port}", max_retries=0, state_dir=str(tmp_path)
    )
    with pytest.raises(
        ProviderError, match=f"cannot reach the Ray dashboard at http://127.0.0.1:{port}"
    ):
        ray.find("anything")


# -- helpers ---------------------------------------------------------------------------
def _free_ports(count: int) -> list[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1])] * count


def _replica_pids(app: dict[str, Any], deployment: str) -> list[int]:
    replicas = app["deployments"][deployment]["replicas"]
    return sorted(r["pid"] for r in replicas if r["state"] == "RUNNING")


def _wait_running(ray_head: Any, name: str, timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = apps(ray_head).get(name)
        if app and app["status"] == "RUNNING":
            return
        time.sleep(0.25)
    raise AssertionError(f"{name} did not reach RUNNING: {apps(ray_head).get(name)}")


def _remove_direct(ray_head: Any, name: str) -> None:
    import time

    details = httpx.get(ray_head.address + APPS, timeout=30).json()
    body = {
        "http_options": details.get("http_options") or {},
        "applications": [
            a["deployed_app_config"]
            for n, a in details["applications"].items()
            if a.get("deployed_app_config") and n != name
        ],
    }
    httpx.put(ray_head.address + APPS, json=body, timeout=60).raise_for_status()
    deadline = time.monotonic() + 60
    while name in apps(ray_head) and time.monotonic() < deadline:
        time.sleep(0.25)


def test_a_killed_replica_is_restarted_and_requests_succeed_again(
    ray_head: Any, tmp_path: Path
) -> None:
    """kill -9 of the only replica while requests flow: Serve starts another; the figures
    (failed requests, seconds to recover) are printed for the record (pytest -s)."""
    import os
    import signal
    import threading
    import time

    ray = hostkit.get_provider("ray", **ray_head.settings(state_dir=str(tmp_path), max_retries=0))
    deployment = ray.deploy({"name": "victim", "model": f"{HERE / 'ray_test_apps.py'}:slow_echo"})
    outcomes: list[tuple[float, bool]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                ray.invoke(deployment, "ping")
                outcomes.append((time.monotonic(), True))
            except hostkit.errors.HostkitError:
                outcomes.append((time.monotonic(), False))
                time.sleep(0.05)

    thread = threading.Thread(target=load)
    try:
        (victim,) = running_pids(apps(ray_head)["victim"])
        thread.start()
        time.sleep(1.0)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pids = running_pids(apps(ray_head)["victim"])
            if pids and victim not in pids:
                break
            time.sleep(0.2)
        assert pids and victim not in pids, "Serve did not start a new replica"
        replaced_at = time.monotonic()
        time.sleep(2.0)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=60)
        ray.teardown("victim")
        ray.close()
    failed = [t for t, ok in outcomes if not ok]
    after = [ok for t, ok in outcomes if t > replaced_at + 1.0]
    first_ok = next(
        (t for t, ok in outcomes if ok and t > (failed[-1] if failed else killed_at)), None
    )
    print(
        f"\nreplica kill -9: {len(failed)} of {len(outcomes)} requests failed;"
        f" new replica RUNNING after {replaced_at - killed_at:.1f}s;"
        f" requests succeed again {((first_ok or replaced_at) - killed_at):.1f}s after the kill"
    )
    assert after and all(after), "requests after the recovery must succeed"


def test_a_project_folder_is_uploaded_as_the_working_dir(
    provider: Any, ray_head: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_uploaded_model.py").write_text(
        "def predict(x):\n    return {'uploaded': True, 'x': x}\n"
    )
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "junk.pyc").write_bytes(b"\0" * 10)
    spec = {
        "name": "shipped",
        "model": "my_uploaded_model:predict",
        "options": {"workdir": str(project)},
    }
    deployment = provider.deploy(spec)
    try:
        assert provider.invoke(deployment, 3).output == {"uploaded": True, "x": 3}
        env = apps(ray_head)["shipped"]["deployed_app_config"]["runtime_env"]
        assert env["working_dir"].startswith("gcs://_ray_pkg_")
        lines = list(provider.logs(deployment))
        assert any("POST /shipped 200" in line.message for line in lines), lines
        assert all(line.timestamp for line in lines if line.source == "serve")
        assert not any(line.message.startswith(":job_id:") for line in lines)
        assert {line.source for line in lines} >= {"serve"}
    finally:
        provider.teardown("shipped")


def test_the_same_folder_gives_the_same_package(tmp_path: Path) -> None:
    from hostkit_providers.ray.packaging import package_folder

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    first, data = package_folder(tmp_path)
    second, _ = package_folder(tmp_path)
    assert first == second and first.startswith("_ray_pkg_")
    import io
    import zipfile

    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["a.py"]
    (tmp_path / "a.py").write_text("x = 2\n")
    assert package_folder(tmp_path)[0] != first


def test_a_write_racing_hostkits_is_reported(
    provider: Any, ray_head: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Another client writes the set between hostkit's read and its PUT: hostkit's write
    deletes that client's application, and hostkit says so."""
    real = provider._dashboard_call
    raced = []

    def racing(method: str, **kwargs: Any) -> Any:
        if method == "PUT" and not raced:
            raced.append(True)
            details = httpx.get(ray_head.address + APPS, timeout=30).json()
            body = {
                "http_options": details["http_options"],
                "applications": [
                    *[a["deployed_app_config"] for a in details["applications"].values()],
                    {"name": "racer", "route_prefix": "/racer",
                     "import_path": "ray_test_apps:build_unrelated"},
                ],
            }  # fmt: skip
            httpx.put(ray_head.address + APPS, json=body, timeout=60).raise_for_status()
            _wait_running(ray_head, "racer")
        return real(method, **kwargs)

    provider._dashboard_call = racing
    try:
        with caplog.at_level("WARNING", logger="hostkit.ray"):
            provider.deploy({"name": "winner", "model": "hostkit_examples.study_score:predict"})
        assert raced
        assert any("'racer'" in r.getMessage() and "deleting" in r.getMessage()
                   for r in caplog.records), caplog.text  # fmt: skip
    finally:
        provider._dashboard_call = real
        provider.teardown("winner")
        _remove_direct(ray_head, "racer")


def test_our_application_overwritten_after_our_write_is_an_error(
    provider: Any, ray_head: Any
) -> None:
    real = provider._dashboard_call
    state = {"puts": 0}

    def overwriting(method: str, **kwargs: Any) -> Any:
        answer = real(method, **kwargs)
        if method == "PUT" and state["puts"] == 0:
            state["puts"] += 1
            other = copy.deepcopy(kwargs["json"])
            for app in other["applications"]:
                if app["name"] == "contested":
                    app["args"] = {**app["args"], "model": "hostkit_examples.study_score:fit"}
            httpx.put(ray_head.address + APPS, json=other, timeout=60).raise_for_status()
        return answer

    provider._dashboard_call = overwriting
    try:
        with pytest.raises(ProviderError, match="another client changed"):
            provider.deploy({"name": "contested", "model": "hostkit_examples.study_score:predict"})
    finally:
        provider._dashboard_call = real
        provider.teardown("contested")
        _remove_direct(ray_head, "contested")
    assert "contested" not in apps(ray_head)


def test_the_same_deployment_block_runs_on_local_and_on_ray(
    ray_head: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only `provider` changes between the two hostkit.toml files (the issue's swap)."""
    monkeypatch.setenv("HOSTKIT_STATE_DIR", str(tmp_path / "state"))
    block = (
        "[deployments.swap]\n"
        'provider = "{provider}"\n'
        'model = "hostkit_examples.study_score:predict"\n'
        "replicas = 2\n"
    )
    providers = (
        "[providers.ray]\n"
        f'address = "{ray_head.address}"\n'
        f'serve_url = "{ray_head.serve_url}"\n'
        "replica_cpus = 0.1\n\n"
    )
    answers = {}
    for provider in ("local", "ray"):
        config = tmp_path / f"{provider}.toml"
        config.write_text(providers + block.replace("{provider}", provider))
        deployment = hostkit.deploy("swap", config=config)
        try:
            assert deployment.provider == provider and deployment.replicas == 2
            answers[provider] = deployment.invoke({"hours": 6}).output
        finally:
            deployment.teardown()
    assert (
        answers["local"]
        == answers["ray"]
        == {
            "scores": [71.5],
            "model": answers["local"]["model"],
        }
    )


def test_a_stuck_model_call_times_out_and_its_replica_is_replaced(
    provider: Any, ray_head: Any
) -> None:
    """504 at the deadline; Serve's health check then finds the stuck call and replaces the
    replica (its model thread cannot be got back), and the next request is served."""
    deployment = provider.deploy(
        {
            "name": "stuck",
            "model": f"{HERE / 'ray_test_apps.py'}:hang_on_request",
            "options": {"request_timeout": 1},
        }
    )
    try:
        (before,) = running_pids(apps(ray_head)["stuck"])
        with pytest.raises(hostkit.errors.Timeout, match="deadline"):
            provider.invoke(deployment, "hang")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            pids = running_pids(apps(ray_head)["stuck"])
            if pids and before not in pids:
                break
            time.sleep(0.5)
        assert pids and before not in pids, "the stuck replica was not replaced"
        assert provider.invoke(deployment, "hello").output["echo"] == "hello"
    finally:
        provider.teardown("stuck")
