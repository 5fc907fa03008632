"""The ``hostkit`` command, run in-process against an in-memory fake provider.

The fake is registered by putting it straight into the registry's caches (see the
``fake`` fixture); the quickstart tests at the end use the real ``local`` provider.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest

import hostkit
from hostkit import _registry, cli
from hostkit.errors import NotFound, QuotaExceeded, Unsupported

# -- the fake provider -----------------------------------------------------------


class FakeProvider(hostkit.Provider):
    """A dedicated platform that lives in a dict: deploys become ready on first poll."""

    name = "fake"
    description = "an in-memory test double"
    capabilities = hostkit.Capabilities(
        dedicated=True, streaming=True, manual_scaling=True, autoscaling=True
    )
    store: ClassVar[dict[str, hostkit.Deployment]] = {}

    def find(self, name: str) -> hostkit.Deployment | None:
        found = self.store.get(name)
        return dataclasses.replace(found) if found else None

    def status(self, deployment: hostkit.Deployment) -> hostkit.Deployment:
        found = self.store.get(deployment.name)
        if found is None:
            raise NotFound(f"no deployment {deployment.name!r}", provider=self.name)
        if found.status == "deploying":
            found.status = "ready"
        return dataclasses.replace(found)

    def _create(self, spec: hostkit.DeploymentSpec) -> hostkit.Deployment:
        created = hostkit.Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status="deploying",
            endpoint=f"memory://{spec.name}",
            replicas=spec.replicas or 1,
            instance=spec.instance,
            region=spec.region,
            fingerprint=spec.fingerprint(),
            raw={"options": dict(spec.options), "env": dict(spec.env)},
        )
        self.store[spec.name] = created
        return dataclasses.replace(created)

    def _teardown(self, deployment: hostkit.Deployment) -> None:
        self.store.pop(deployment.name, None)

    def invoke(self, deployment: hostkit.Deployment, request: Any, **params: Any) -> Any:
        if request == "fail":
            raise QuotaExceeded("daily quota used up", provider=self.name)
        if request == "interrupt":
            raise KeyboardInterrupt
        text = f"echo: {request}" if isinstance(request, str) else None
        return hostkit.InvokeResult(
            text=text,
            output=text if text is not None else {"echo": request, "params": params},
            usage=hostkit.Usage(input_tokens=3, output_tokens=4),
            latency_s=0.012,
            provider=self.name,
            model=deployment.model,
        )

    def stream(self, deployment: hostkit.Deployment, request: Any, **params: Any) -> hostkit.Stream:
        chunks = ["one ", "two ", "three"]

        def finish() -> hostkit.InvokeResult:
            return hostkit.InvokeResult(
                text="".join(chunks),
                output=None,
                usage=hostkit.Usage(input_tokens=2, output_tokens=3),
                latency_s=0.02,
                ttft_s=0.005,
                provider=self.name,
                model=deployment.model,
            )

        return hostkit.Stream(iter(chunks), finish)

    def _scale(
        self,
        deployment: hostkit.Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> hostkit.Deployment:
        stored = self.store[deployment.name]
        if replicas is not None:
            stored.replicas = replicas
        if min_replicas is not None:
            stored.min_replicas = min_replicas
        if max_replicas is not None:
            stored.max_replicas = max_replicas
        return dataclasses.replace(stored)

    def cost(
        self,
        target: hostkit.Deployment | hostkit.DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> hostkit.CostEstimate:
        if hours is None:
            return self.unknown_cost("usage without hours", "pass hours")
        usd = 2.5 * hours
        return hostkit.CostEstimate(
            usd=usd,
            breakdown=[hostkit.CostLine("fake instance", "hour", hours, 2.5, usd)],
            source="fake price list",
            as_of="2026-01-01",
        )

    def offerings(self, region: str | None = None) -> list[hostkit.Offering]:
        return []


def _point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=_registry.ENTRY_POINT_GROUP)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeProvider]]:
    """Register FakeProvider as ``fake`` (next to the real entry points) with an empty store."""
    # the entry point is only listed: provider_class() finds the class in _classes first
    index = {**_registry._entry_points(), "fake": [_point("fake", "test_cli:FakeProvider")]}
    monkeypatch.setattr(_registry, "_index", index)
    monkeypatch.setitem(_registry._classes, "fake", FakeProvider)
    FakeProvider.store.clear()
    yield FakeProvider
    FakeProvider.store.clear()


@pytest.fixture
def config(fake: type[FakeProvider]) -> Path:
    """A hostkit.toml in the working directory with one fake deployment, ``x``."""
    path = Path("hostkit.toml")
    path.write_text(
        '[deployments.x]\nprovider = "fake"\nmodel = "org/tiny-model"\ninstance = "small"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def deployed(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["deploy", "x", "--quiet"]) == 0
    capsys.readouterr()
    return "x"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


# -- providers -------------------------------------------------------------------


@pytest.fixture
def fake_and_broken(fake: type[FakeProvider], monkeypatch: pytest.MonkeyPatch) -> None:
    index = {
        "fake": [_point("fake", "test_cli:FakeProvider")],
        "broken": [_point("broken", "hostkit_no_such_module_xyz:Nope")],
    }
    monkeypatch.setattr(_registry, "_index", index)


@pytest.mark.usefixtures("fake_and_broken")
def test_providers_lists_names_capabilities_install_and_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "providers")
    assert code == 0, err
    fake_line = next(line for line in out.splitlines() if line.startswith("fake"))
    assert "installed" in fake_line
    assert "dedicated, streaming, manual scaling, autoscaling" in fake_line
    assert 'install: pip install "hostkit-ml"' in out
    assert "an in-memory test double" in out
    broken_line = next(line for line in out.splitlines() if line.startswith("broken"))
    assert "broken" in broken_line.split(maxsplit=1)[1]
    assert "failed to import" in out and "hostkit_no_such_module_xyz" in out


@pytest.mark.usefixtures("fake_and_broken")
def test_providers_json(capsys: pytest.CaptureFixture[str]) -> None:
    infos = {info["name"]: info for info in run_json(capsys, "providers")}
    assert set(infos) == {"fake", "broken"}
    assert infos["fake"]["installed"] is True
    assert infos["fake"]["capabilities"]["autoscaling"] is True
    assert infos["fake"]["install_command"] == 'pip install "hostkit-ml"'
    assert infos["fake"]["error"] is None
    assert infos["broken"]["installed"] is False
    assert "failed to import" in infos["broken"]["error"]


# -- the lifecycle through a config file ----------------------------------------------


@pytest.mark.usefixtures("config")
def test_lifecycle_human(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "deploy", "x")
    assert code == 0
    assert out.splitlines()[0] == "x  ready"
    assert "org/tiny-model" in out and "memory://x" in out and "small" in out

    code, out, _ = run(capsys, "status", "x")
    assert (code, out.splitlines()[0]) == (0, "x  ready")

    code, out, err = run(capsys, "invoke", "x", '{"a": [1, 2]}')
    assert code == 0
    assert json.loads(out) == {"echo": {"a": [1, 2]}, "params": {}}
    assert "latency 12 ms" in err and "tokens 3 in / 4 out" in err

    code, out, _ = run(capsys, "invoke", "x", "hello there")
    assert (code, out) == (0, "echo: hello there\n")

    code, out, _ = run(capsys, "scale", "x", "3")
    assert code == 0 and "replicas  3" in out

    code, out, _ = run(capsys, "cost", "x", "--hours", "2")
    assert code == 0
    assert "total   $5.00" in out and "fake price list (as of 2026-01-01)" in out
    assert "fake instance: 2 hour at $2.50 = $5.00" in out

    code, out, _ = run(capsys, "teardown", "x")
    assert (code, out) == (0, "x  deleted\n")
    assert FakeProvider.store == {}

    code, _, err = run(capsys, "status", "x")
    assert code == 1
    assert "'x' is not deployed on fake" in err


@pytest.mark.usefixtures("config")
def test_lifecycle_json(capsys: pytest.CaptureFixture[str]) -> None:
    deployment = run_json(capsys, "deploy", "x")
    assert deployment["name"] == "x" and deployment["status"] == "ready"
    assert deployment["provider"] == "fake" and deployment["replicas"] == 1

    assert run_json(capsys, "status", "x")["status"] == "ready"

    result = run_json(capsys, "invoke", "x", '{"a": 1}', "--param", "max_tokens=5")
    assert result["output"] == {"echo": {"a": 1}, "params": {"max_tokens": 5}}
    assert result["usage"] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    assert result["latency_s"] == 0.012

    scaled = run_json(capsys, "scale", "x", "--min", "1", "--max", "4")
    assert (scaled["min_replicas"], scaled["max_replicas"]) == (1, 4)

    estimate = run_json(capsys, "cost", "x", "--hours", "1.5")
    assert estimate["usd"] == 3.75 and estimate["source"] == "fake price list"
    assert estimate["breakdown"][0]["quantity"] == 1.5

    assert run_json(capsys, "teardown", "x") == {"name": "x", "status": "deleted"}


@pytest.mark.usefixtures("deployed")
def test_global_options_go_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, before, _ = run(capsys, "--json", "status", "x")
    assert code == 0
    code, after, _ = run(capsys, "status", "x", "--json")
    assert code == 0
    assert json.loads(before) == json.loads(after)


def test_explicit_config_path(
    fake: type[FakeProvider], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere" / "hk.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text('[deployments.far]\nprovider = "fake"\nmodel = "m"\n', encoding="utf-8")
    assert run_json(capsys, "--config", str(elsewhere), "deploy", "far")["name"] == "far"
    code, _, err = run(capsys, "--config", str(tmp_path / "missing.toml"), "status", "far")
    assert code == 2 and "config file not found" in err


# -- deploy ----------------------------------------------------------------------


def test_deploy_from_flags_without_a_config_entry(
    fake: type[FakeProvider], capsys: pytest.CaptureFixture[str]
) -> None:
    deployment = run_json(
        capsys,
        "deploy",
        "--provider=fake",
        "--model=org/other",
        "--name=adhoc",
        "--replicas=2",
        "--region=eu",
        "--option",
        "flag=true",
        "--option",
        "n=3",
        "--option",
        "tags=[1, 2]",
        "--option",
        "label=hello",
        "--env",
        "MODE=fast=yes",
    )
    assert deployment["name"] == "adhoc" and deployment["replicas"] == 2
    assert deployment["region"] == "eu"
    assert deployment["raw"]["options"] == {"flag": True, "n": 3, "tags": [1, 2], "label": "hello"}
    assert deployment["raw"]["env"] == {"MODE": "fast=yes"}
    # found again by name from the record the deploy saved, with no config file
    assert run_json(capsys, "status", "adhoc")["model"] == "org/other"


@pytest.mark.usefixtures("config")
def test_deploy_flags_override_the_config_entry(capsys: pytest.CaptureFixture[str]) -> None:
    deployment = run_json(capsys, "deploy", "x", "--instance", "large", "--option", "k=1")
    assert deployment["instance"] == "large"
    assert deployment["raw"]["options"] == {"k": 1}


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("spec.toml", 'provider = "fake"\nmodel = "org/filed"\nname = "filed"\n'),
        ("spec.json", '{"provider": "fake", "model": "org/filed", "name": "filed"}'),
    ],
)
def test_deploy_from_a_spec_file(
    fake: type[FakeProvider], capsys: pytest.CaptureFixture[str], filename: str, text: str
) -> None:
    Path(filename).write_text(text, encoding="utf-8")
    deployment = run_json(capsys, "deploy", filename)
    assert (deployment["name"], deployment["model"]) == ("filed", "org/filed")


@pytest.mark.usefixtures("fake")
def test_deploy_spec_file_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "deploy", "nowhere.toml")
    assert code == 2 and "nowhere.toml: spec file not found" in err
    Path("other.toml").write_text('[deployments.a]\nprovider = "fake"\nmodel = "m"\n')
    code, _, err = run(capsys, "deploy", "other.toml")
    assert code == 2 and "is a config file" in err and "--config other.toml deploy NAME" in err
    Path("bad.json").write_text('{"provider": "fake", "model": "m", "colour": "red"}')
    code, _, err = run(capsys, "deploy", "bad.json")
    assert code == 2 and "unknown field(s) colour" in err


@pytest.mark.usefixtures("fake")
def test_deploy_needs_a_target_or_provider_and_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "deploy", "--provider", "fake")
    assert (code, out) == (2, "")
    assert err == (
        "error: deploy: give a deployment NAME from the config, a spec FILE,"
        " or --provider and --model\n"
    )


@pytest.mark.usefixtures("config")
def test_deploy_no_wait_then_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "deploy", "x", "--no-wait", "--timeout", "15m")
    assert code == 0
    assert out.splitlines()[0] == "x  deploying"
    assert "follow it with: hostkit status x" in err
    assert run_json(capsys, "status", "x")["status"] == "ready"


@pytest.mark.usefixtures("config")
def test_deploy_same_name_other_spec_needs_update(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "deploy", "x")[0] == 0
    code, _, err = run(capsys, "deploy", "x", "--model", "org/new")
    assert code == 2 and "--update" in err

    def update(
        self: FakeProvider, existing: hostkit.Deployment, spec: hostkit.DeploymentSpec
    ) -> hostkit.Deployment:
        return self._create(spec)

    monkeypatch.setattr(FakeProvider, "_update", update)
    updated = run_json(capsys, "deploy", "x", "--model", "org/new", "--update")
    assert updated["model"] == "org/new"


# -- invoke ----------------------------------------------------------------------


@pytest.mark.usefixtures("deployed")
def test_invoke_request_forms_and_params(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_json(capsys, "invoke", "x", "[1, 2]", "--param", 'stop=["\\n"]', "--param", "t=hi")
    assert result["output"] == {"echo": [1, 2], "params": {"stop": ["\n"], "t": "hi"}}
    # --text sends JSON-looking text as a prompt
    assert run_json(capsys, "invoke", "x", "42", "--text")["text"] == "echo: 42"
    # '-' reads the request from stdin
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"from": "stdin"}'))
    assert run_json(capsys, "invoke", "x", "-")["output"]["echo"] == {"from": "stdin"}
    code, _, err = run(capsys, "invoke", "x", "hi", "--param", "novalue")
    assert code == 2 and "expected KEY=VALUE" in err


@pytest.mark.usefixtures("deployed")
def test_invoke_stream(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "invoke", "x", "count", "--stream")
    assert code == 0
    assert out == "one two three\n"
    assert "first token 5 ms" in err and "tokens 2 in / 3 out" in err
    result = run_json(capsys, "invoke", "x", "count", "--stream")
    assert result["text"] == "one two three"
    assert result["usage"]["total_tokens"] == 5


# -- scale, cost, teardown -------------------------------------------------------------


@pytest.mark.usefixtures("deployed")
def test_scale_needs_a_count_or_bounds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "scale", "x")
    assert (code, out) == (2, "")
    assert "give REPLICAS, or --min and/or --max" in err
    code, _, err = run(capsys, "scale", "x", "-1")
    assert code == 2


@pytest.mark.usefixtures("deployed")
def test_cost_with_unknown_price_warns_once_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cost", "x", "--requests", "10")
    assert code == 0
    assert out == "total   unknown\n"
    assert err == "warning: fake: no known price for usage without hours; pass hours\n"
    estimate = run_json(capsys, "cost", "x")
    assert estimate["usd"] is None and estimate["warnings"]


@pytest.mark.usefixtures("fake")
def test_teardown_of_an_unknown_name_is_a_noop_that_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "teardown", "ghost")
    expected = "ghost  nothing to delete (not in the config, not saved by an earlier deploy)\n"
    assert (code, out, err) == (0, expected, "")  # one truthful line, not "deleted" too


# -- errors, exit codes and streams -------------------------------------------------


@pytest.mark.usefixtures("config")
@pytest.mark.parametrize(
    "argv",
    [("status", "nope"), ("invoke", "nope", "hi"), ("deploy", "nope"), ("cost", "nope")],
)
def test_unknown_deployment_name_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("error: ")
    assert "'nope'" in err and "known: x" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("deployed")
def test_hostkit_error_exits_1_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "invoke", "x", "fail")
    assert (code, out) == (1, "")
    assert err == "error: [fake] daily quota used up\n"


@pytest.mark.usefixtures("deployed")
def test_hostkit_raise_errors_reraises(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTKIT_RAISE_ERRORS", "1")
    with pytest.raises(QuotaExceeded, match="daily quota used up"):
        cli.main(["invoke", "x", "fail"])
    monkeypatch.setenv("HOSTKIT_RAISE_ERRORS", "0")
    assert cli.main(["invoke", "x", "fail"]) == 1


@pytest.mark.usefixtures("deployed")
def test_keyboard_interrupt_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "invoke", "x", "interrupt")
    assert (code, err) == (130, "interrupted\n")


def test_invalid_config_file_exits_2(
    fake: type[FakeProvider], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("hostkit.toml").write_text("[deployments.x\n", encoding="utf-8")
    code, _, err = run(capsys, "status", "x")
    assert code == 2 and "not valid TOML" in err


def test_usage_errors_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "required: COMMAND" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "deploy", "--replicas", "many")
    assert code == 2 and "expected a whole number" in err
    code, _, err = run(capsys, "deploy", "--timeout", "soon")
    assert code == 2 and "timeout" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "quickstart" in out
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"hostkit {hostkit.__version__}\n")


@pytest.mark.usefixtures("config")
def test_progress_goes_to_stderr_and_quiet_silences_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "deploy", "x", "--json")
    assert code == 0
    assert "  … x: creating on fake\n" in err and "  … x: ready (0s)\n" in err
    assert "…" not in out
    json.loads(out)  # stdout holds only the data
    code, _, err = run(capsys, "teardown", "x", "--quiet")
    assert (code, err) == (0, "")


@pytest.mark.usefixtures("config")
def test_verbose_logs_debug_to_stderr_and_cleans_up(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("hostkit")
    handlers, level = list(logger.handlers), logger.level
    code, out, err = run(capsys, "-v", "--quiet", "deploy", "x")
    assert code == 0
    assert "debug: hostkit.progress: x: creating on fake" in err
    assert "debug:" not in out
    assert (logger.handlers, logger.level) == (handlers, level)


def test_main_without_arguments_reads_sys_argv(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["hostkit", "--version"])
    assert cli.main() == 0
    assert capsys.readouterr().out == f"hostkit {hostkit.__version__}\n"


def test_import_hostkit_does_not_import_the_cli() -> None:
    code = "import sys, hostkit; sys.exit('hostkit.cli' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_python_dash_m_hostkit() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hostkit", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOSTKIT_RAISE_ERRORS": ""},
    )
    assert (done.returncode, done.stdout) == (0, f"hostkit {hostkit.__version__}\n")


# -- quickstart ------------------------------------------------------------------------


def test_quickstart_tears_down_when_a_step_fails(
    fake: type[FakeProvider],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_deploy = hostkit.deploy

    def deploy_on_fake(**fields: Any) -> hostkit.Deployment:
        return real_deploy(**{**fields, "provider": "fake"})

    def no_scaling(self: FakeProvider, *args: Any) -> hostkit.Deployment:
        raise Unsupported("fake cannot scale today", provider="fake")

    monkeypatch.setattr(hostkit, "deploy", deploy_on_fake)
    monkeypatch.setattr(FakeProvider, "_scale", no_scaling)
    code, _, err = run(capsys, "quickstart")
    assert code == 1
    assert "error: [fake] fake cannot scale today" in err
    assert "quickstart-study-score: deleted" in err
    assert FakeProvider.store == {}


def test_quickstart_end_to_end_on_the_local_provider(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "quickstart")
    assert code == 0, err
    for step in ("1/5 deploy", "2/5 invoke", "3/5 scale", "4/5 cost", "5/5 teardown"):
        assert step in out
    assert "linear regression" in out and "hours studied" in out
    assert "replicas   2" in out
    assert "quickstart-study-score is deleted" in out
    assert "  … quickstart-study-score: deleted" in err


def test_quickstart_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    summary = run_json(capsys, "quickstart", "--quiet")
    steps = {step["step"]: step for step in summary["steps"]}
    assert list(steps) == ["deploy", "invoke", "scale", "cost", "teardown"]
    assert steps["deploy"]["deployment"]["status"] == "ready"
    assert steps["invoke"]["request"] == {"hours": [2, 5, 8]}
    assert steps["invoke"]["output"] is not None and steps["invoke"]["latency_s"] > 0
    assert steps["scale"]["replicas"] == 2
    assert "usd" in steps["cost"]["estimate"] and "source" in steps["cost"]["estimate"]
    assert steps["teardown"]["status"] == "deleted"
    assert hostkit.get_provider("local").records.names() == []
