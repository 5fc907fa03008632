"""Bad input and hostile names (issue #13 items 1, 13, 14, 15; issue #14 items 4 and 5).

Every probe here once gave a raw traceback or touched a file outside hostkit's state
directory. Each must now be a ConfigError that names the argument, file or variable,
says what was wrong and what is allowed, and leaves the filesystem alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import hostkit
from hostkit import _registry, cli
from hostkit._config import load_config
from hostkit._state import StateStore
from hostkit.errors import ConfigError, ProviderError

ALL_PROVIDERS = sorted(info.name for info in hostkit.available_providers())
TRAVERSALS = ["../../decoy", "../decoy", "/tmp/x", "a/b", "..", ".hidden", "abc\n", "a b", ""]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def decoy(isolated_hostkit: Path) -> Path:
    """A file where ``<state>/<provider>/../../decoy.json`` lands: outside the state dir."""
    path = isolated_hostkit.parent / "decoy.json"
    path.write_text('{"precious": true}', encoding="utf-8")
    return path


# -- item 1: names never become paths outside the state dir -----------------------------


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_teardown_of_a_traversal_name_is_refused_on_every_provider(
    provider: str, decoy: Path, isolated_hostkit: Path
) -> None:
    (isolated_hostkit / provider).mkdir(parents=True)  # as after an earlier deploy
    instance = hostkit.get_provider(provider)
    for call in (
        lambda: hostkit.teardown("../../decoy"),
        lambda: instance.teardown("../../decoy"),
        lambda: instance.get("../../decoy"),
    ):
        with pytest.raises(ConfigError) as caught:
            call()
        message = str(caught.value)
        assert "'../../decoy' is not a valid deployment name" in message
        assert "[A-Za-z0-9][A-Za-z0-9._-]{0,62}" in message  # what is allowed
    assert decoy.read_text(encoding="utf-8") == '{"precious": true}'
    assert list(isolated_hostkit.rglob("*")) == [isolated_hostkit / provider]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_the_api_names_the_argument_and_builds_no_path(name: str, isolated_hostkit: Path) -> None:
    for call in (
        lambda: hostkit.teardown(name),
        lambda: hostkit.invoke(name, "hi"),
        lambda: hostkit.scale(name, 2),
        lambda: hostkit.cost(name, hours=1),
        lambda: hostkit.logs(name),
    ):
        with pytest.raises(ConfigError, match=r"^target \(a deployment name\): .* is not a valid"):
            call()
    assert not isolated_hostkit.exists()  # nothing was created, listed or deleted


@pytest.mark.parametrize("name", TRAVERSALS)
def test_the_state_store_refuses_names_that_are_not_names(name: str, tmp_path: Path) -> None:
    store = StateStore("local", tmp_path / "state")
    for call in (
        lambda: store.path(name),
        lambda: store.load(name),
        lambda: store.delete(name),
        lambda: store.save(name, {"a": 1}),
    ):
        with pytest.raises(ConfigError, match="is not a valid deployment name"):
            call()
    assert not (tmp_path / "state").exists()


def test_a_record_symlinked_out_of_the_state_dir_is_refused(tmp_path: Path, decoy: Path) -> None:
    store = StateStore("local", tmp_path / "state")
    store.folder.mkdir(parents=True)
    (store.folder / "evil.json").symlink_to(decoy)
    with pytest.raises(ConfigError, match="leads outside"):
        store.delete("evil")
    assert decoy.exists()


def test_stray_files_in_the_state_dir_are_not_listed_as_records(tmp_path: Path) -> None:
    store = StateStore("local", tmp_path / "state")
    store.save("good", {"a": 1})
    (store.folder / "not a name.json").write_text("{}", encoding="utf-8")
    assert store.names() == ["good"]


@pytest.mark.parametrize("command", ["teardown", "status", "logs"])
def test_cli_commands_refuse_a_traversal_name(
    command: str, decoy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, command, "../../decoy")
    assert code == 2 and out == ""
    assert "'../../decoy' is not a valid deployment name" in err
    assert "Traceback" not in err
    assert decoy.exists()


# -- item 13: a trailing newline is not part of a valid name ---------------------------


@pytest.mark.parametrize("name", ["abc\n", "abc\r\n", "\nabc", "abc\n\n"])
def test_a_name_with_a_newline_is_rejected(name: str) -> None:
    with pytest.raises(ConfigError, match=r"name: .* is not allowed; use 1-63 letters"):
        hostkit.DeploymentSpec(provider="local", model="m", name=name)
    with pytest.raises(ConfigError):
        hostkit.teardown(name)


IDENTIFIER_PATTERNS = [
    ("hostkit_providers.vertex.provider", "_LOCATION", "us-central1"),
    ("hostkit_providers.vertex.provider", "_HF_ID", "org/model"),
    ("hostkit_providers.sagemaker.provider", "_NAME_OK", "my-endpoint"),
    ("hostkit_providers.sagemaker.provider", "_ENV_KEY", "HF_TOKEN"),
    ("hostkit_providers.sagemaker.provider", "_TAG_VALUE", "team"),
    ("hostkit_providers.sagemaker.containers", "HF_MODEL_ID", "org/model"),
    ("hostkit_providers.lambdalabs.server", "_ENV_NAME", "HF_TOKEN"),
    ("hostkit_providers.paperspace.config", "_ENV_NAME", "HF_TOKEN"),
    ("hostkit_providers.azureml.resources", "_AZURE_NAME", "my-endpoint"),
    ("hostkit_providers.azureml.containers", "_HUB_ID", "org/model"),
    ("hostkit_providers.replicate.deployments", "_NAME", "my-deployment"),
    ("hostkit_providers.replicate.predictions", "_REF", "owner/model:abc123"),
    ("hostkit_providers.huggingface.endpoints", "_NAME", "my-endpoint"),
    ("hostkit_providers.huggingface.endpoints", "_INSTANCE", "nvidia-a10g-x1"),
]


@pytest.mark.parametrize(("module", "attribute", "valid"), IDENTIFIER_PATTERNS)
def test_provider_identifier_patterns_refuse_a_trailing_newline(
    module: str, attribute: str, valid: str
) -> None:
    pattern = getattr(importlib.import_module(module), attribute)
    assert pattern.match(valid)
    assert pattern.match(valid + "\n") is None  # `$` matched before a final newline


def test_a_duration_with_a_trailing_newline_is_still_a_duration() -> None:
    # whitespace around a duration was always allowed; fullmatch keeps that
    spec = hostkit.DeploymentSpec(provider="local", model="m", scale_to_zero_after="15m\n")
    assert spec.scale_to_zero_after == 900.0


# -- item 14: unreadable config, spec and state dir ------------------------------------


def test_a_config_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "hostkit.toml"
    path.write_bytes(b"[providers.local]\nusd_per_hour = 1\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"hostkit\.toml: not UTF-8 text .*must be UTF-8"):
        load_config(path)


def test_a_config_found_in_the_working_directory_that_is_not_utf8(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("hostkit.toml").write_bytes(b"\xff\xfe[providers]\n")
    code, _, err = run(capsys, "status", "x")
    assert code == 2 and "hostkit.toml: not UTF-8 text" in err and "Traceback" not in err


def test_a_config_path_that_is_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a config file"):
        load_config(tmp_path)
    code, _, err = run(capsys, "--config", str(tmp_path), "status", "x")
    assert code == 2 and "is a directory, not a config file (given by --config" in err
    monkeypatch.setenv("HOSTKIT_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match=r"is a directory.*given by HOSTKIT_CONFIG"):
        load_config()


def test_a_config_path_under_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    monkeypatch.setenv("HOSTKIT_CONFIG", str(tmp_path / "file" / "hostkit.toml"))
    with pytest.raises(ConfigError, match=r"config file not found \(given by HOSTKIT_CONFIG\)"):
        load_config()


def test_a_spec_file_that_is_not_utf8(capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.toml").write_bytes(b'provider = "local"\nmodel = "caf\xe9"\n')
    code, _, err = run(capsys, "deploy", "spec.toml")
    assert code == 2 and "spec.toml: not UTF-8 text" in err and "Traceback" not in err


def test_a_state_dir_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state-file"
    state.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("HOSTKIT_STATE_DIR", str(state))
    expected = r"HOSTKIT_STATE_DIR=.*state-file is not a directory; the state dir must be"
    for call in (
        lambda: hostkit.teardown("abc"),
        lambda: hostkit.get_provider("local").get("abc"),
        lambda: hostkit.get_provider("groq").teardown("abc"),
        lambda: hostkit.deploy(provider="groq", model="llama-3.1-8b-instant", name="abc"),
    ):
        with pytest.raises(ConfigError, match=expected):
            call()
    code, _, err = run(capsys, "status", "abc")
    assert code == 2 and "is not a directory" in err and "Traceback" not in err
    assert state.read_text(encoding="utf-8") == "not a folder"


def test_a_state_dir_under_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    monkeypatch.setenv("HOSTKIT_STATE_DIR", str(tmp_path / "file" / "state"))
    with pytest.raises(ConfigError, match=r"file is not a directory"):
        hostkit.get_provider("local").get("abc")


def test_a_state_dir_setting_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    provider = hostkit.get_provider("local", state_dir=str(tmp_path / "file"))
    with pytest.raises(ConfigError, match=r"state_dir .*file is not a directory"):
        provider.get("abc")


# -- item 15: requests that are not JSON ---------------------------------------------


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


class _Looped(dict[str, Any]):
    pass


def _circular() -> dict[str, Any]:
    value: dict[str, Any] = {"a": 1}
    value["self"] = value
    return value


BAD_REQUESTS = [
    pytest.param({1, 2}, r"request is a set, which is not JSON-serializable", id="set"),
    pytest.param(b"x", r"request is a bytes, which is not JSON-serializable", id="bytes"),
    pytest.param(math.nan, r"request is nan: NaN and Infinity are not valid JSON", id="nan"),
    pytest.param(
        {"a": [1, math.inf]},
        r"request\['a'\]\[1\] is inf: NaN and Infinity are not valid JSON",
        id="inf-inside",
    ),
    pytest.param({"when": object()}, r"request\['when'\] is a object, which is not", id="object"),
    pytest.param({(1, 2): "x"}, r"has a key of type tuple", id="tuple-key"),
    pytest.param(_deep(5000), r"nested more than 1,000 levels deep", id="5000-deep"),
    pytest.param(_circular(), r"circular reference", id="circular"),
]


def _result() -> hostkit.InvokeResult:
    return hostkit.InvokeResult(
        text="ok", output=None, usage=hostkit.Usage(), latency_s=0.0, provider="x", model="m"
    )


class EncodingProvider(hostkit.Provider):
    """A serverless double that encodes each request strictly, as an HTTP client does."""

    name = "encoding"
    capabilities = hostkit.Capabilities(dedicated=False, streaming=True)
    sent: ClassVar[list[str]] = []
    wrap: ClassVar[bool] = False  # raise the encoder's error as an adapter-made ProviderError

    def _encode(self, request: Any) -> str:
        try:
            return json.dumps(request, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as error:
            if self.wrap:
                raise ProviderError(f"{type(error).__name__}: {error}") from error
            raise

    def find(self, name: str) -> hostkit.Deployment | None:
        return None

    def status(self, deployment: hostkit.Deployment) -> hostkit.Deployment:
        return dataclasses.replace(deployment)

    def invoke(self, deployment: hostkit.Deployment, request: Any, **params: Any) -> Any:
        self.sent.append(self._encode(request))
        return _result()

    def stream(self, deployment: hostkit.Deployment, request: Any, **params: Any) -> Any:
        def chunks() -> Iterator[str]:
            self.sent.append(self._encode(request))  # encoded lazily, on first next()
            yield "ok"

        return hostkit.Stream(chunks(), _result)

    def _create(self, spec: hostkit.DeploymentSpec) -> hostkit.Deployment:
        return hostkit.Deployment(
            name=spec.name, provider=self.name, model=spec.model, status="ready"
        )

    def _teardown(self, deployment: hostkit.Deployment) -> None:
        pass

    def cost(self, target: Any, **usage: Any) -> hostkit.CostEstimate:
        return hostkit.CostEstimate(usd=None)

    def offerings(self, region: str | None = None) -> list[hostkit.Offering]:
        return []


@pytest.fixture
def encoding(monkeypatch: pytest.MonkeyPatch) -> Iterator[hostkit.Deployment]:
    monkeypatch.setitem(_registry._classes, "encoding", EncodingProvider)
    EncodingProvider.sent.clear()
    provider = EncodingProvider()
    yield hostkit.Deployment(
        name="enc", provider="encoding", model="m", status="ready", _provider=provider
    )
    EncodingProvider.wrap = False


@pytest.mark.parametrize(("request_", "problem"), BAD_REQUESTS)
@pytest.mark.parametrize("wrapped", [False, True], ids=["raw", "adapter-wrapped"])
def test_a_request_that_is_not_json_is_a_config_error(
    encoding: hostkit.Deployment, request_: Any, problem: str, wrapped: bool
) -> None:
    EncodingProvider.wrap = wrapped
    calls = {
        "hostkit.invoke": lambda: hostkit.invoke(encoding, request_),
        "hostkit.ainvoke": lambda: asyncio.run(hostkit.ainvoke(encoding, request_)),
        "Deployment.invoke": lambda: encoding.invoke(request_),
        "Deployment.ainvoke": lambda: asyncio.run(encoding.ainvoke(request_)),
        "hostkit.stream": lambda: list(hostkit.stream(encoding, request_)),
        "Deployment.stream": lambda: list(encoding.stream(request_)),
    }
    for label, call in calls.items():
        with pytest.raises(ConfigError) as caught:
            call()
        message = str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__, label
        assert re.search(problem, message), (label, message)
        assert "send a str prompt or JSON data" in message, label
    assert EncodingProvider.sent == []


def test_a_good_request_is_sent_once_and_other_type_errors_pass_through(
    encoding: hostkit.Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hostkit.invoke(encoding, {"hours": 6, "x": [1.5, None, True]}).text == "ok"
    assert EncodingProvider.sent == ['{"hours": 6, "x": [1.5, null, true]}']

    def broken(self: Any, deployment: Any, request: Any, **params: Any) -> Any:
        raise TypeError("an adapter bug, not the request's fault")

    monkeypatch.setattr(EncodingProvider, "invoke", broken)
    with pytest.raises(TypeError, match="an adapter bug"):
        hostkit.invoke(encoding, {"hours": 6})


def test_the_local_provider_reports_bad_requests(local: Any) -> None:
    deployment = local.deploy(
        {"model": "hostkit_examples.study_score:predict", "name": "badreq"}, timeout=60
    )
    for request, problem in [
        ({1, 2}, "request is a set"),
        (b"x", "request is a bytes"),
        (math.nan, "NaN and Infinity are not valid JSON"),
        (_deep(5000), "nested more than 1,000 levels deep"),
    ]:
        with pytest.raises(ConfigError, match=problem):
            hostkit.invoke(deployment, request)
        with pytest.raises(ConfigError, match=problem):
            asyncio.run(hostkit.ainvoke("badreq", request))
    assert hostkit.invoke(deployment, {"hours": 6}).output is not None


# -- #14 item 4: the CLI's request argument and teardown of an unknown name --------------


@pytest.mark.parametrize("text", ["{hours: 6}", "[1, 2,]", "  {'a': 1}"])
def test_cli_invoke_refuses_broken_json(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "invoke", "anything", text)
    assert code == 2 and out == ""
    assert "is not valid JSON" in err and "line 1 column" in err and "--text" in err


@pytest.mark.usefixtures("encoding")
def test_cli_invoke_sends_plain_text_json_and_text_flag(capsys: pytest.CaptureFixture[str]) -> None:
    Path("hostkit.toml").write_text(
        '[deployments.enc]\nprovider = "encoding"\nmodel = "m"\n', encoding="utf-8"
    )
    for argv in (["hello"], ['{"hours": 6}'], ["{hours: 6}", "--text"], ["NaN", "--text"]):
        code, _, err = run(capsys, "invoke", "enc", *argv)
        assert code == 0, err
    assert EncodingProvider.sent == ['"hello"', '{"hours": 6}', '"{hours: 6}"', '"NaN"']
    code, _, err = run(capsys, "invoke", "enc", "NaN")  # json.loads reads NaN as a float
    assert code == 2 and "NaN and Infinity are not valid JSON" in err


def test_cli_teardown_of_an_unknown_name_says_one_true_thing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "teardown", "ghost")
    assert code == 0 and err == ""
    assert out == "ghost  nothing to delete (not in the config, not saved by an earlier deploy)\n"
    assert "deleted" not in out
    code, out, _ = run(capsys, "teardown", "ghost", "--json")
    assert json.loads(out)["status"] == "not_found"


# -- #14 item 5: numbers from ${VAR:-default} -----------------------------------------


CONFIG = """
[providers.local]
usd_per_hour = "${RATE:-1.2}"
timeout = "${TIMEOUT:-30}"
max_retries = "${RETRIES:-2}"

[deployments.scores]
provider = "local"
model = "hostkit_examples.study_score:predict"
replicas = "${N:-2}"
max_replicas = "${MAX:-4}"
"""


@pytest.fixture
def numbers_config(monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("RATE", "TIMEOUT", "RETRIES", "N", "MAX"):
        monkeypatch.delenv(name, raising=False)
    path = Path("hostkit.toml")
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_placeholders_fill_numeric_settings_and_fields(
    numbers_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(numbers_config)
    assert config.deployment("scores").replicas == 2
    assert config.deployment("scores").max_replicas == 4
    provider = hostkit.get_provider("local", config=config)
    assert provider.settings["usd_per_hour"] == 1.2
    assert provider.timeout == 30.0 and provider.settings["max_retries"] == 2

    monkeypatch.setenv("RATE", "3")
    assert hostkit.get_provider("local", config=config).settings["usd_per_hour"] == 3


def test_a_placeholder_that_is_not_a_number_names_the_variable_and_field(
    numbers_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE", "cheap")
    config = load_config(numbers_config)
    with pytest.raises(ConfigError) as caught:
        hostkit.get_provider("local", config=config)
    message = str(caught.value)
    assert "[providers.local] usd_per_hour" in message and "${RATE}" in message
    assert "'cheap' (from ${RATE}) is not a whole number or a number" in message

    monkeypatch.setenv("N", "two")
    numbers_config.write_text(CONFIG + "\n", encoding="utf-8")  # a new mtime: reloaded
    with pytest.raises(
        ConfigError, match=r"\[deployments.scores\] replicas.*'two' \(from \$\{N\}\) is not a whole"
    ):
        load_config(numbers_config)


def test_a_literal_string_number_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "hostkit.toml"
    path.write_text('[deployments.x]\nprovider = "local"\nmodel = "m"\nreplicas = "2"\n')
    with pytest.raises(ConfigError, match="replicas: expected a whole number"):
        load_config(path)
