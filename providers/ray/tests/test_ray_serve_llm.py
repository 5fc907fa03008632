"""Ray Serve LLM (``options.engine = "serve-llm"``): the application config hostkit
writes, checked against the installed Ray's own source, and the failure path against a
real head without vLLM (see conftest.py). No GPU or vLLM here: a live model is not."""

from __future__ import annotations

import ast
import copy
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostkit_providers.ray import serve_llm

import hostkit
from hostkit.errors import ConfigError, DeploymentFailed

APPS = "/api/serve/applications/"
TOKEN = "fake-hf-token-for-tests-0123456789"


def ray_source(relative: str) -> Path:
    """A file of the installed Ray (found without importing ray.serve.llm)."""
    ray = pytest.importorskip("ray", reason='the ray extra is not installed ("hostkit-ml[ray]")')
    return Path(ray.__file__).parent / relative


def pydantic_fields(relative: str, class_name: str) -> set[str]:
    """The field names of a pydantic model in Ray's source, read with ``ast`` (importing
    ray.serve.llm needs vLLM and pyarrow, which this machine does not have)."""
    tree = ast.parse(ray_source(relative).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return {
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and not item.target.id.startswith("_")
                and item.target.id != "model_config"
            }
    raise AssertionError(f"{class_name} is no longer in ray/{relative}")


LLM_CONFIG = "llm/_internal/serve/core/configs/llm_config.py"
BUILDER = "llm/_internal/serve/core/ingress/builder.py"


@pytest.fixture
def ray(tmp_path: Path) -> Iterator[Any]:
    provider = hostkit.get_provider("ray", state_dir=str(tmp_path))
    yield provider
    provider.close()


def spec(**fields: Any) -> hostkit.DeploymentSpec:
    options = {"engine": "serve-llm", **fields.pop("options", {})}
    return hostkit.DeploymentSpec(provider="ray", options=options, **fields)


class RecordingDashboard:
    """Stands in for the Serve REST API in-process: GET answers a listing, PUT records."""

    def __init__(self, listing: dict[str, Any] | None = None) -> None:
        self.listing = listing or {"applications": {}}
        self.puts: list[dict[str, Any]] = []

    def __call__(self, method: str, **kwargs: Any) -> Any:
        if method == "GET":
            return copy.deepcopy(self.listing)
        self.puts.append(copy.deepcopy(kwargs["json"]))
        for app in kwargs["json"]["applications"]:  # Serve now reports what was written
            if app["name"] in self.listing["applications"]:
                self.listing["applications"][app["name"]]["deployed_app_config"] = app
        return None


def put_body(ray: Any, the_spec: hostkit.DeploymentSpec, monkeypatch: Any) -> dict[str, Any]:
    """The application entry of the PUT hostkit sends to deploy ``the_spec``."""
    dashboard = RecordingDashboard()
    monkeypatch.setattr(ray, "_dashboard_call", dashboard)
    ray.validate_spec(the_spec)
    ray._create(the_spec)
    (body,) = dashboard.puts
    (app,) = body["applications"]
    return app  # type: ignore[no-any-return]


# -- the PUT body ------------------------------------------------------------------------
def test_a_small_model_on_one_l4(ray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    the_spec = spec(
        model="Qwen/Qwen2.5-0.5B-Instruct",
        name="qwen",
        accelerator="L4",
        env={"HF_TOKEN": TOKEN},
        options={"max_model_len": 8192},
    )
    app = put_body(ray, the_spec, monkeypatch)
    meta = json.dumps({"fingerprint": the_spec.fingerprint()})
    assert app == {
        "name": "qwen",
        "route_prefix": "/qwen",
        "import_path": "ray.serve.llm:build_openai_app",
        "args": {
            "llm_configs": [
                {
                    "model_loading_config": {
                        "model_id": "Qwen/Qwen2.5-0.5B-Instruct",
                        "model_source": "Qwen/Qwen2.5-0.5B-Instruct",
                    },
                    "accelerator_type": "L4",
                    "deployment_config": {"num_replicas": 1},
                    "engine_kwargs": {"tensor_parallel_size": 1, "max_model_len": 8192},
                    "runtime_env": {"env_vars": {"HF_TOKEN": TOKEN, "HOSTKIT_DEPLOYMENT": meta}},
                }
            ]
        },
    }


def test_a_big_model_autoscaled_to_zero_over_pipeline_stages(
    ray: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A100-80GB:4 with two pipeline stages: tensor parallel 2; min 0 / max 2 replicas."""
    the_spec = spec(
        model="meta-llama/Llama-3.1-70B-Instruct",
        name="llama",
        accelerator="A100-80GB:4",
        min_replicas=0,
        max_replicas=2,
        scale_to_zero_after="5m",
        options={
            "model_id": "llama-70b",
            "pipeline_parallel_size": 2,
            "engine_kwargs": {"gpu_memory_utilization": 0.9},
            "target_ongoing_requests": 8,
            "max_ongoing_requests": 32,
            "num_cpus": 4,
            "usd_per_hour": 12.5,
        },
    )
    app = put_body(ray, the_spec, monkeypatch)
    (config,) = app["args"]["llm_configs"]
    assert config["model_loading_config"] == {
        "model_id": "llama-70b",
        "model_source": "meta-llama/Llama-3.1-70B-Instruct",
    }
    assert config["accelerator_type"] == "A100"  # Ray auto-labels "A100", not "A100-80G"
    assert config["engine_kwargs"] == {
        "gpu_memory_utilization": 0.9,
        "tensor_parallel_size": 2,
        "pipeline_parallel_size": 2,
    }
    assert config["deployment_config"] == {
        "autoscaling_config": {
            "min_replicas": 0,
            "max_replicas": 2,
            "target_ongoing_requests": 8.0,
            "downscale_to_zero_delay_s": 300.0,
        },
        "max_ongoing_requests": 32,
        "ray_actor_options": {"num_cpus": 4.0},
    }
    meta = json.loads(config["runtime_env"]["env_vars"]["HOSTKIT_DEPLOYMENT"])
    assert meta == {
        "fingerprint": the_spec.fingerprint(),
        "usd_per_hour": 12.5,
        "scale_to_zero_after": 300.0,
    }


@pytest.mark.parametrize(
    ("accelerator", "ray_type", "tensor_parallel"),
    [
        ("H100:8", "H100", 8),
        ("A10:2", "A10G", 2),  # Ray's own alias: A10 -> A10G
        ("NVIDIA_L40S", "L40S", 1),
        ("AMD-Instinct-MI300X-OAM:8", "AMD-Instinct-MI300X-OAM", 8),  # a Ray name as it is
        ("tpu-v6e:4", "TPU-V6E", 4),
    ],
)
def test_the_accelerator_becomes_rays_type_and_the_tensor_parallel_size(
    ray: Any, accelerator: str, ray_type: str, tensor_parallel: int
) -> None:
    app = ray._app_config(spec(model="m/x", name="x", accelerator=accelerator, replicas=2))
    (config,) = app["args"]["llm_configs"]
    assert config["accelerator_type"] == ray_type
    assert config["engine_kwargs"] == {"tensor_parallel_size": tensor_parallel}
    assert config["deployment_config"] == {"num_replicas": 2}


# -- checked against Ray's source ----------------------------------------------------------
def test_field_names_are_those_of_rays_pydantic_models(ray: Any) -> None:
    """Every key hostkit writes is a field of Ray's model (they forbid extra keys), read
    from the installed Ray's source: a rename in Ray fails here."""
    app = ray._app_config(
        spec(
            model="m/x",
            name="x",
            accelerator="L4:2",
            max_replicas=3,
            options={"max_model_len": 4096, "pip": ["x"], "max_ongoing_requests": 4},
        )
    )
    assert set(app["args"]) <= pydantic_fields(BUILDER, "LLMServingArgs")
    (config,) = app["args"]["llm_configs"]
    assert set(config) <= pydantic_fields(LLM_CONFIG, "LLMConfig")
    loading = pydantic_fields(LLM_CONFIG, "ModelLoadingConfig")
    assert set(config["model_loading_config"]) <= loading
    # deployment_config is validated by Ray with Serve's DeploymentConfig (importable here)
    from ray.serve._private.config import DeploymentConfig

    DeploymentConfig(**config["deployment_config"])
    # and the application entry with Serve's schema for PUT /api/serve/applications/
    from ray.serve.schema import ServeApplicationSchema

    ServeApplicationSchema.model_validate(app)
    # engine_kwargs keys Ray reads for the GPU count (VLLMEngineConfig.num_devices)
    vllm_models = ray_source("llm/_internal/serve/engines/vllm/vllm_models.py").read_text()
    for key in config["engine_kwargs"]:
        if key in serve_llm.DERIVED_KWARGS and key != "max_model_len":
            assert f'"{key}"' in vllm_models, key


def test_the_whole_config_validates_with_ray_when_ray_serve_llm_imports(ray: Any) -> None:
    try:
        from ray.serve.llm import LLMServingArgs
    except ImportError as error:
        pytest.skip(f"ray.serve.llm does not import here ({error}); the ast checks stand in")
    app = ray._app_config(spec(model="m/x", name="x", accelerator="A100:2"))
    LLMServingArgs.model_validate(app["args"])


def test_accelerator_names_are_rays(ray: Any) -> None:
    import ray.util.accelerators.accelerators as accelerators

    known = {
        v for k, v in vars(accelerators).items() if not k.startswith("_") and isinstance(v, str)
    }
    assert set(serve_llm.RAY_ACCELERATORS) <= known
    assert set(serve_llm.FAMILY_TO_RAY.values()) <= known


def test_import_path_deployment_name_and_routes_are_rays(ray: Any) -> None:
    llm_init = ast.parse(ray_source("serve/llm/__init__.py").read_text())
    module, _, function = serve_llm.IMPORT_PATH.partition(":")
    assert module == "ray.serve.llm"
    assert function in {n.name for n in llm_init.body if isinstance(n, ast.FunctionDef)}
    builder = ast.parse(ray_source("llm/_internal/serve/core/server/builder.py").read_text())
    functions = {n.name: n for n in builder.body if isinstance(n, ast.FunctionDef)}
    naming = functions["_get_deployment_name"]
    assert ast.unparse(naming.body[-1]) == (
        "return llm_config.model_id.replace('/', '--').replace('.', '_')"
    )
    assert serve_llm.deployment_name("Qwen/Qwen2.5-0.5B") == "LLMServer:Qwen--Qwen2_5-0_5B"
    ingress = ray_source("llm/_internal/serve/core/ingress/ingress.py").read_text()
    for route in ('"/v1/chat/completions"', '"/v1/models"'):
        assert route in ingress


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"accelerator": None}, r"accelerator: .*tensor parallel size.*'A100:2'"),
        ({"accelerator": "RTX3090:1"}, r"not an accelerator type Ray Serve LLM.*A10G.*TPU-V6E"),
        ({"accelerator": "GH200"}, r"not an accelerator type"),
        ({"accelerator": "L4:0"}, r"count in 'L4:0'"),
        ({"options": {"command": "vllm serve x"}}, r"command cannot go with options.engine"),
        ({"options": {"max_batch_size": 8}}, r"max_batch_size.*batches continuously"),
        ({"options": {"workdir": "."}}, r"workdir cannot go with"),
        ({"options": {"engine": "vllm"}}, r"options.engine: 'vllm'.*allowed: 'serve-llm'"),
        ({"options": {"pipeline_parallel_size": 3}}, r"3 does not divide the 4 GPU"),
        ({"options": {"max_model_len": "long"}}, r"options.max_model_len"),
        (
            {"options": {"engine_kwargs": {"tensor_parallel_size": 2}}},
            r"tensor_parallel_size come\(s\) from the spec.*accelerator count",
        ),
        ({"options": {"engine_kwargs": "fast"}}, r"options.engine_kwargs: expected a table"),
    ],
)
def test_bad_serve_llm_specs_name_the_field(ray: Any, fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"model": "m/x", "name": "x", "accelerator": "A100:4"}
    options = fields.pop("options", {})
    base.update(fields)
    with pytest.raises(ConfigError, match=message):
        ray.validate_spec(spec(**base, options=options))


# -- reading it back, scale, invoke (in-process fakes) ----------------------------------------
def listing(the_spec: hostkit.DeploymentSpec, ray: Any, replicas: int = 1) -> dict[str, Any]:
    """A GET answer with ``the_spec``'s application RUNNING (the shape of a real head's)."""
    config = ray._app_config(the_spec)
    name = serve_llm.deployment_name(serve_llm.served_model(the_spec))
    deployment = {
        "name": name,
        "status": "HEALTHY",
        "deployment_config": config["args"]["llm_configs"][0]["deployment_config"],
        "target_num_replicas": replicas,
        "replicas": [
            {"replica_id": f"r{i}", "state": "RUNNING", "pid": 100 + i} for i in range(replicas)
        ],
    }
    return {
        "applications": {
            the_spec.name: {
                "name": the_spec.name,
                "route_prefix": f"/{the_spec.name}",
                "status": "RUNNING",
                "message": "",
                "source": "declarative",
                "deployed_app_config": config,
                "deployments": {
                    name: deployment,
                    "OpenAiIngress": {"name": "OpenAiIngress", "status": "HEALTHY"},
                },
            }
        }
    }


def test_status_and_scale_of_a_serve_llm_app(ray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    the_spec = spec(model="Qwen/Qwen2.5-0.5B-Instruct", name="qwen", accelerator="L4")
    dashboard = RecordingDashboard(listing(the_spec, ray))
    monkeypatch.setattr(ray, "_dashboard_call", dashboard)
    found = ray.get("qwen")
    assert found.status == "ready" and found.replicas == 1
    assert found.model == "Qwen/Qwen2.5-0.5B-Instruct"
    assert found.fingerprint == the_spec.fingerprint()  # same spec: deploy is a no-op
    assert found.raw["served_model"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert [d.name for d in ray.list_deployments()] == ["qwen"]
    dashboard.listing = listing(the_spec, ray, replicas=2)
    ray.scale(found, 2)
    (body,) = dashboard.puts
    (app,) = body["applications"]
    assert app["args"]["llm_configs"][0]["deployment_config"] == {"num_replicas": 2}
    assert "deployments" not in app  # no HostkitModel override in Ray's application


def test_logs_are_read_from_the_llm_servers_replicas(
    ray: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostkit_providers.ray.logs import _sources

    the_spec = spec(model="m/x", name="x", accelerator="L4")
    answer = listing(the_spec, ray)
    (replica,) = answer["applications"]["x"]["deployments"]["LLMServer:m--x"]["replicas"]
    replica.update(node_id="n1", log_file_path="/serve/replica_x_LLMServer_r0.log")
    monkeypatch.setattr(ray, "_dashboard_call", RecordingDashboard(answer))
    assert _sources(ray, "x") == [
        ("r0", "serve", {"node_id": "n1", "filename": "serve/replica_x_LLMServer_r0.log"})
    ]


def test_a_build_openai_app_hostkit_did_not_write_is_not_ours(
    ray: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = listing(spec(model="m/x", name="theirs", accelerator="L4"), ray)
    config = theirs["applications"]["theirs"]["deployed_app_config"]
    del config["args"]["llm_configs"][0]["runtime_env"]["env_vars"]["HOSTKIT_DEPLOYMENT"]
    monkeypatch.setattr(ray, "_dashboard_call", RecordingDashboard(theirs))
    assert ray.find("theirs") is None


def test_a_token_ray_echoes_back_is_masked(ray: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray's pydantic errors quote the config they refused; the token in it never shows."""
    the_spec = spec(model="m/x", name="leaky", accelerator="L4", env={"HF_TOKEN": TOKEN})
    failed = listing(the_spec, ray)
    app = failed["applications"]["leaky"]
    app["status"] = "DEPLOY_FAILED"
    app["message"] = f"ValidationError: llm_configs.0 [input_value={{'HF_TOKEN': '{TOKEN}'}}]"
    monkeypatch.setattr(ray, "_dashboard_call", RecordingDashboard(failed))
    found = ray.find("leaky")  # read back from the dashboard alone
    assert found.status == "failed"
    assert TOKEN not in ray.failure_reason(found)
    assert TOKEN not in json.dumps(found.to_dict())
    assert TOKEN not in repr(found)
    assert TOKEN not in repr(the_spec)


class FakeRayLlm(BaseHTTPRequestHandler):
    """Ray Serve LLM's OpenAI ingress under a route prefix, as the Serve proxy shows it."""

    seen: list[tuple[str, dict[str, Any]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.seen.append((self.path, body))
        if self.path != "/qwen/v1/chat/completions":
            self.send_error(404)
            return
        if body.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for word in ("hello", " there"):
                chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        answer = {
            "id": "c1",
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello there"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRayLlm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeRayLlm.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_invoke_and_stream_go_to_the_openai_route_with_the_served_name(
    fake_proxy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = hostkit.get_provider("ray", serve_url=fake_proxy, state_dir=str(tmp_path))
    try:
        the_spec = spec(
            model="Qwen/Qwen2.5-0.5B-Instruct",
            name="qwen",
            accelerator="L4",
            options={"model_id": "qwen-0.5b"},
        )
        monkeypatch.setattr(ray, "_dashboard_call", RecordingDashboard(listing(the_spec, ray)))
        deployment = ray.get("qwen")
        assert deployment.endpoint == f"{fake_proxy}/qwen"
        result = ray.invoke(deployment, "Hi", max_tokens=5)
        assert result.text == "hello there" and result.usage.output_tokens == 2
        with ray.stream(deployment, "Hi") as stream:
            text = "".join(stream)
        assert text == "hello there"
    finally:
        ray.close()
    paths = [path for path, _ in FakeRayLlm.seen]
    assert paths == ["/qwen/v1/chat/completions"] * 2
    assert {body["model"] for _, body in FakeRayLlm.seen} == {"qwen-0.5b"}


# -- against the real head (no vLLM, no pyarrow, no GPU) -----------------------------------------
def apps(ray_head: Any) -> dict[str, Any]:
    return httpx.get(ray_head.address + APPS, timeout=30).json().get("applications") or {}


def _put_unrelated(ray_head: Any) -> None:
    details = httpx.get(ray_head.address + APPS, timeout=30).json()
    body = {
        "http_options": {"host": "127.0.0.1", "port": int(ray_head.serve_url.rsplit(":", 1)[1])},
        "applications": [
            *[
                a["deployed_app_config"]
                for a in (details.get("applications") or {}).values()
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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        app = apps(ray_head).get("theirs") or {}
        if app.get("status") == "RUNNING":
            return
        time.sleep(0.25)
    raise AssertionError(f"theirs did not reach RUNNING: {apps(ray_head).get('theirs')}")


def _pids(app: dict[str, Any]) -> list[int]:
    replicas = app["deployments"]["Unrelated"]["replicas"]
    return sorted(r["pid"] for r in replicas if r["state"] == "RUNNING")


def test_a_cluster_without_vllm_fails_the_deploy_with_rays_reason(
    ray_head: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Ray's controller cannot import ray.serve.llm (no pyarrow/vLLM here): the deploy
    raises DeploymentFailed with Ray's words and what to install, removes the app, leaves
    another application running untouched, and never shows the token."""
    caplog.set_level(logging.DEBUG)
    ray = hostkit.get_provider("ray", **ray_head.settings(state_dir=str(tmp_path)))
    _put_unrelated(ray_head)
    before = _pids(apps(ray_head)["theirs"])
    try:
        with pytest.raises(DeploymentFailed) as caught:
            ray.deploy(
                spec(
                    model="Qwen/Qwen2.5-0.5B-Instruct",
                    name="qwen",
                    accelerator="L4",
                    env={"HF_TOKEN": TOKEN},
                )
            )
        message = str(caught.value)
        assert "ray.serve.llm" in message or "qwen" in message
        assert "pyarrow" in message.lower() or "vllm" in message.lower()
        assert 'pip install "ray[llm]"' in message
        assert TOKEN not in message and TOKEN not in caplog.text
        for record in tmp_path.rglob("*"):
            if record.is_file():
                assert TOKEN not in record.read_text(errors="replace")
        after = apps(ray_head)
        assert "qwen" not in after
        assert after["theirs"]["status"] == "RUNNING"
        assert _pids(after["theirs"]) == before  # never restarted
        print(f"Ray's reason: {caught.value.reason}")
    finally:
        ray.close()
        details = httpx.get(ray_head.address + APPS, timeout=30).json()
        body = {
            "http_options": details.get("http_options") or {},
            "applications": [
                a["deployed_app_config"]
                for n, a in (details.get("applications") or {}).items()
                if a.get("deployed_app_config") and n not in ("theirs", "qwen")
            ],
        }
        httpx.put(ray_head.address + APPS, json=body, timeout=60).raise_for_status()
        deadline = time.monotonic() + 60
        while {"theirs", "qwen"} & set(apps(ray_head)) and time.monotonic() < deadline:
            time.sleep(0.25)
