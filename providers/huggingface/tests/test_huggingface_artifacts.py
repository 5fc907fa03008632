"""``model = "./dir"`` on Inference Endpoints: a private Hub repository pinned by commit.

The cassettes in ``cassettes/artifacts/`` (built by ``make_artifact_cassettes.py``; each
header says where every shape comes from) are replayed strictly: a request they do not
hold fails the test, and ``all_played`` proves no request they hold was skipped. Every
Hub request goes through huggingface_hub's own ``HfApi`` (so GitRefs, ModelInfo and
CommitInfo parse the bodies), and every endpoint body through ``InferenceEndpoint``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit_providers.huggingface import HuggingFaceProvider
from hostkit_providers.huggingface.artifacts import upload

from hostkit import DeploymentSpec, errors
from hostkit._progress import listen
from hostkit.testing import cassette, load_cassette

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes" / "artifacts"
DATA = HERE / "data"
FAKE_TOKEN = "hf_hostkitFakeTestToken00"
NAMESPACE = "hostkit-org"
NAME = "qwen-tuned"
REPO = f"{NAMESPACE}/hostkit-{NAME}"
C1 = "7d2e9b4c1a8f3e6d5c0b9a8e7f6d5c4b3a2e1f0d"
C2 = "b8c1d4e7f0a3b6c9d2e5f8a1b4c7d0e3f6a9b2c5"
SPEC = {
    "provider": "huggingface",
    "name": NAME,
    "model": "./model",
    "instance": "nvidia-l4",
    "region": "aws/us-east-1",
}


@pytest.fixture(autouse=True)
def hf_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # model = "./model": the same spec (and body) every run


def use_model(version: str) -> Path:
    """``./model`` holding the fixture directory ``local_model_<version>``."""
    target = Path("model")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(DATA / f"local_model_{version}", target)
    return target


def make(**settings: Any) -> HuggingFaceProvider:
    provider = HuggingFaceProvider(**{"namespace": NAMESPACE, **settings})
    provider.sleep = lambda seconds: None
    provider.retry.sleep = lambda seconds: None
    return provider


@pytest.fixture
def provider() -> Iterator[HuggingFaceProvider]:
    found = make()
    yield found
    found.close()


def deploy(provider: HuggingFaceProvider, name: str) -> tuple[Any, list[str]]:
    messages: list[str] = []
    with listen(messages.append), cassette(CASSETTES / f"{name}.yaml") as played:
        dep = provider.deploy(SPEC)
    assert played.all_played, f"{name}: requests the cassette holds were not sent"
    return dep, messages


def sent(name: str, path_part: str) -> list[Any]:
    return [i.request for i in load_cassette(CASSETTES / name) if path_part in i.request.path]


# -- first deploy, same content, changed content ------------------------------------------
def test_first_deploy_uploads_to_a_private_repo_and_pins_the_commit(
    provider: HuggingFaceProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub.utils import _detect_agent

    harness_lookups: list[int] = []
    monkeypatch.setattr(_detect_agent, "_registry", None)
    monkeypatch.setattr(_detect_agent, "_load_registry", lambda: harness_lookups.append(1) or {})
    use_model("v1")
    dep, messages = deploy(provider, "deploy_first")
    assert dep.status == "ready" and dep.model == REPO
    assert dep.raw["revision"] == C1
    said = "\n".join(messages)
    assert "uploading 3 file(s)" in said and "MB/s" in said, said
    assert "tagged hostkit-" in said
    assert harness_lookups == []  # the SDK's agent detection never ran: no extra Hub request
    (create,) = sent("deploy_first.yaml", "/api/repos/create")
    assert create.json() == {
        "name": f"hostkit-{NAME}",
        "organization": NAMESPACE,
        "visibility": "private",
    }


def test_the_endpoint_create_body_names_repository_and_revision() -> None:
    from huggingface_hub import InferenceEndpoint

    interactions = load_cassette(CASSETTES / "deploy_first.yaml")
    post = next(
        i
        for i in interactions
        if i.request.method == "POST" and i.request.host.startswith("api.endpoints.")
    )
    body = post.request.json()
    assert (body["model"]["repository"], body["model"]["revision"]) == (REPO, C1)
    made = InferenceEndpoint.from_raw(post.response.json(), namespace=NAMESPACE, token=False)
    assert (made.repository, made.revision) == (REPO, C1)
    commit = next(i for i in interactions if i.request.path.endswith("/commit/main"))
    lines = [json.loads(line) for line in (commit.request.body or "").splitlines()]
    assert lines[0]["value"]["summary"].startswith("hostkit-")
    assert sorted(line["value"]["path"] for line in lines[1:]) == [
        "config.json",
        "tokenizer_config.json",
        "vocab.txt",
    ]


def test_same_content_again_uploads_nothing(provider: HuggingFaceProvider) -> None:
    use_model("v1")
    dep, messages = deploy(provider, "deploy_same")
    assert dep.raw["revision"] == C1
    assert any("already on the Hub" in m for m in messages), messages
    assert sent("deploy_same.yaml", "/preupload/") == []
    assert sent("deploy_same.yaml", "/commit/") == []


def test_changed_content_makes_a_new_commit_and_leaves_the_old_one(
    provider: HuggingFaceProvider,
) -> None:
    use_model("v2")
    dep, _ = deploy(provider, "deploy_changed")
    assert dep.raw["revision"] == C2
    (commit,) = sent("deploy_changed.yaml", "/commit/main")
    lines = [json.loads(line) for line in (commit.body or "").splitlines()]
    assert lines[0]["value"]["parentCommit"] == C1  # on top of the old commit, not over it
    assert [(line["key"], line["value"]["path"]) for line in lines[1:]] == [
        ("deletedFile", "vocab.txt"),
        ("file", "merges.txt"),
        ("file", "tokenizer_config.json"),
    ]  # config.json is unchanged: the preupload's oid left it out


def test_a_changed_directory_is_a_different_spec(provider: HuggingFaceProvider) -> None:
    """Deploying a changed directory over a running endpoint is not silently a no-op."""
    use_model("v1")
    spec = DeploymentSpec.from_dict(SPEC)
    with cassette(CASSETTES / "deploy_first.yaml"):
        running = provider.deploy(SPEC)
    assert running.fingerprint == spec.fingerprint()
    assert provider.same_spec(running, spec)
    use_model("v2")
    assert not provider.same_spec(running, spec)  # deploy: "exists with a different spec"


def test_namespace_from_whoami() -> None:
    use_model("v1")
    provider = HuggingFaceProvider()
    with cassette(CASSETTES / "whoami.yaml") as played:
        hub = upload(provider, "./model", NAME)
    assert played.all_played
    assert (hub.repository, hub.revision, hub.uploaded_bytes) == (
        f"hostkit-dev/hostkit-{NAME}",
        C1,
        0,
    )


# -- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("make_dir", [False, True], ids=["missing", "empty"])
def test_missing_or_empty_path_is_a_config_error_before_any_request(
    provider: HuggingFaceProvider, make_dir: bool
) -> None:
    if make_dir:
        (Path("model") / "sub").mkdir(parents=True)
    with (
        cassette(CASSETTES / "nothing.yaml") as played,
        pytest.raises(errors.ConfigError) as caught,
    ):
        provider.deploy(SPEC)
    assert played.play_count == 0
    assert "'./model'" in caught.value.message
    assert ("empty directory" if make_dir else "does not exist") in caught.value.message


def test_revision_option_with_a_local_model_is_refused(provider: HuggingFaceProvider) -> None:
    use_model("v1")
    with pytest.raises(errors.ConfigError, match=r"options\.revision"):
        provider.validate_spec(DeploymentSpec.from_dict({**SPEC, "options": {"revision": "v1"}}))


def test_403_names_the_write_permission(provider: HuggingFaceProvider) -> None:
    use_model("v1")
    with (
        cassette(CASSETTES / "forbidden.yaml") as played,
        pytest.raises(errors.AuthenticationError) as caught,
    ):
        provider.deploy(SPEC)
    assert played.all_played
    message = caught.value.message
    assert caught.value.status_code == 403
    assert "don't have the rights to create a model" in message
    assert "write access" in message and "https://huggingface.co/settings/tokens" in message
    assert FAKE_TOKEN not in str(caught.value)


def test_a_repo_hostkit_did_not_make_is_never_written(provider: HuggingFaceProvider) -> None:
    use_model("v1")
    with (
        cassette(CASSETTES / "foreign.yaml") as played,
        pytest.raises(errors.ConfigError) as caught,
    ):
        provider.deploy(SPEC)
    assert played.all_played  # and nothing after: no preupload, no commit, no endpoint
    assert REPO in caught.value.message and "hostkit did not upload" in caught.value.message


def test_a_local_model_on_the_serverless_router_says_to_set_instance(
    provider: HuggingFaceProvider,
) -> None:
    use_model("v1")
    spec = {"provider": "huggingface", "name": NAME, "model": "./model"}
    with cassette(CASSETTES / "nothing.yaml"), pytest.raises(errors.ConfigError) as caught:
        provider.deploy(spec)
    assert "instance=" in caught.value.message and "'./model'" in caught.value.message


def test_a_public_repo_is_never_written(provider: HuggingFaceProvider) -> None:
    use_model("v1")
    with (
        cassette(CASSETTES / "public.yaml") as played,
        pytest.raises(errors.ConfigError) as caught,
    ):
        provider.deploy(SPEC)
    assert played.all_played
    assert "is public" in caught.value.message and "private" in caught.value.message


def test_folders_the_hub_refuses_are_not_uploaded() -> None:
    from hostkit_providers.huggingface.artifacts import _additions

    use_model("v1")
    for extra in (".cache/huggingface/download/config.json.lock", ".git/HEAD"):
        (Path("model") / extra).parent.mkdir(parents=True, exist_ok=True)
        (Path("model") / extra).write_text("x")
    names = [op.path_in_repo for op in _additions(Path("model"))]
    assert names == ["config.json", "tokenizer_config.json", "vocab.txt"]
