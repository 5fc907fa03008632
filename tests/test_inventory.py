"""``hostkit ls``, ``teardown --all`` and ``hostkit providers`` (credential sources, --check).

Against real ``local`` deployments, a Groq serverless record made by a replayed
deploy, and SageMaker endpoints in moto's in-process AWS, one of them created
directly with boto3 (as another machine running hostkit would leave it).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hostkit
from hostkit import cli, inventory
from hostkit.testing import cassette

PROVIDERS = Path(__file__).resolve().parents[1] / "providers"
GROQ_CASSETTES = PROVIDERS / "groq" / "tests" / "cassettes"
SCORES = "hostkit_examples.study_score:predict"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/hostkit-sagemaker-execution"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/scores:1"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def _gone(pids: list[int], within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(p) for p in pids)


@pytest.fixture
def rated() -> Path:
    """A hostkit.toml that prices this machine at $0.50/hour."""
    path = Path("hostkit.toml")
    path.write_text("[providers.local]\nusd_per_hour = 0.5\n", encoding="utf-8")
    return path


# -- local, for real ---------------------------------------------------------------------
@pytest.mark.usefixtures("rated")
def test_ls_shows_two_local_deployments_with_rate_and_spend_and_teardown_all_stops_them(
    local: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = hostkit.deploy(provider="local", model=SCORES, name="inv-a")
    second = hostkit.deploy(provider="local", model=SCORES, name="inv-b", replicas=2)
    pids = [int(d.raw["pid"]) for d in (first, second)] + [
        pid for d in (first, second) for pid in d.raw["worker_pids"]
    ]
    assert len(pids) == 5 and all(_alive(p) for p in pids)
    time.sleep(0.2)  # some age, so the spend is above zero

    listed = run_json(capsys, "ls")
    rows = {row["name"]: row for row in listed["deployments"]}
    assert set(rows) == {"inv-a", "inv-b"}
    for row in rows.values():
        assert (row["provider"], row["status"], row["instance"]) == ("local", "ready", "local")
        assert row["usd_per_hour"] == 0.5
        assert row["price_source"] == "usd_per_hour under [providers.local] in hostkit.toml"
        assert row["price_as_of"]
        assert row["created_from"] == "provider" and row["age_s"] > 0
        assert row["spend_usd"] == pytest.approx(0.5 * row["age_s"] / 3600)
    assert (rows["inv-a"]["replicas"], rows["inv-b"]["replicas"]) == (1, 2)
    assert listed["usd_per_hour"] == 1.0 and listed["skipped"] == []

    code, out, err = run(capsys, "ls")
    assert code == 0, err
    header, *lines = out.splitlines()
    assert header.split()[:3] == ["NAME", "PROVIDER", "STATUS"] and "$/HOUR" in header
    assert any(line.startswith("inv-a") and "$0.50" in line for line in lines)
    assert any(line.startswith("inv-b") and "$0.50" in line for line in lines)
    assert "total now: $1.00/hour" in out

    code, out, err = run(capsys, "teardown", "--all", "--yes")
    assert code == 0, err
    assert "will delete 2 deployment(s)" in out
    assert "local/inv-a  deleted" in out and "local/inv-b  deleted" in out
    assert _gone(pids), "a process of the torn-down deployments is still running"
    assert run_json(capsys, "ls")["deployments"] == []


def test_list_deployments_from_python(local: Any) -> None:
    hostkit.deploy(provider="local", model=SCORES, name="inv-py")
    found = hostkit.list_deployments("local")
    assert [d.name for d in found.deployments] == ["inv-py"]
    (listing,) = found
    assert listing.usd_per_hour == 0.0 and listing.spend_usd == 0.0  # local is free by default
    results = hostkit.teardown_all(found)
    assert [(r.name, r.outcome) for r in results] == [("inv-py", "deleted")]
    assert hostkit.teardown_all(found)[0].outcome == "already gone"


def test_a_run_dir_whose_record_is_gone_is_listed_and_torn_down(local: Any) -> None:
    dep = hostkit.deploy(provider="local", model=SCORES, name="inv-orphan")
    local.records.delete("inv-orphan")  # the processes outlive their record
    (listing,) = hostkit.list_deployments("local")
    assert listing.deployment.name == "inv-orphan"
    assert [r.outcome for r in hostkit.teardown_all([listing.deployment])] == ["deleted"]
    assert _gone([int(dep.raw["pid"]), *dep.raw["worker_pids"]])


def test_teardown_all_refuses_without_yes_when_stdin_is_not_a_terminal(
    local: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hostkit.deploy(provider="local", model=SCORES, name="inv-keep")
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped: not a terminal
    code, out, err = run(capsys, "teardown", "--all")
    assert code == 2
    assert "refusing to delete 1 deployment(s)" in err and "pass --yes" in err
    assert "local/inv-keep" in out  # what it would have deleted was listed first
    assert hostkit.list_deployments("local").deployments[0].status == "ready"


def test_teardown_needs_a_name_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "teardown")
    assert code == 2 and "give a deployment NAME, or --all" in err
    code, _, err = run(capsys, "teardown", "x", "--all")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "teardown", "x", "--provider", "local")
    assert code == 2 and "go with --all" in err


def test_nothing_to_delete(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "teardown", "--all", "--yes")
    assert code == 0 and "nothing to delete" in out


# -- groq: a serverless "deployment" is hostkit's record ------------------------------
@pytest.fixture
def groq_chat(monkeypatch: pytest.MonkeyPatch) -> hostkit.Deployment:
    monkeypatch.setenv("GROQ_API_KEY", "fake-groq-key-inventory")
    with cassette(GROQ_CASSETTES / "deploy.yaml"):
        return hostkit.deploy(provider="groq", model="openai/gpt-oss-120b", name="chat")


def test_a_groq_record_is_listed_as_serverless_without_credentials(
    groq_chat: hostkit.Deployment,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GROQ_API_KEY")
    hostkit._api._instances.clear()  # a new process: no key, only the record
    listed = run_json(capsys, "ls", "--provider", "groq")
    (row,) = listed["deployments"]
    assert (row["name"], row["provider"], row["model"]) == ("chat", "groq", groq_chat.model)
    assert row["usd_per_hour"] == 0.0 and "bills per use" in row["price_note"]
    assert row["spend_usd"] is None and "per token" in row["spend_note"]

    code, out, _ = run(capsys, "ls", "--provider", "groq")
    assert code == 0 and "per use" in out

    code, out, err = run(capsys, "teardown", "--all", "--provider", "groq", "--yes")
    assert code == 0, err
    assert "groq/chat  deleted: only hostkit's record" in out
    assert run_json(capsys, "ls", "--provider", "groq")["deployments"] == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "left"), [("n\n", 1, 1), ("y\n", 0, 0)])
def test_teardown_all_asks_on_a_terminal(
    groq_chat: hostkit.Deployment,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    code: int,
    left: int,
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    got, out, err = run(capsys, "teardown", "--all")
    assert got == code
    assert "groq/chat" in out.splitlines()[1]  # listed before the question
    assert "delete these 1 deployment(s)? [y/N]" in err
    assert ("aborted; nothing was deleted" in err) == (left == 1)
    assert len(hostkit.list_deployments("groq")) == left


def test_a_failed_delete_is_reported_and_the_others_still_go(
    groq_chat: hostkit.Deployment,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hostkit_providers.groq import GroqProvider

    provider = hostkit._api.provider_for("groq")
    provider.remember(hostkit.Deployment.from_dict({**groq_chat.to_dict(), "name": "chat-2"}))
    real = GroqProvider._teardown

    def refuse(self: Any, deployment: hostkit.Deployment) -> None:
        if deployment.name == "chat":
            raise hostkit.errors.ProviderError("the platform said no", provider="groq")
        real(self, deployment)

    monkeypatch.setattr(GroqProvider, "_teardown", refuse)
    code, out, err = run(capsys, "--json", "teardown", "--all", "--yes")
    assert code == 1
    results = {r["name"]: r for r in json.loads(out)["results"]}
    assert results["chat"]["outcome"] == "failed"
    assert results["chat"]["reason"] == "the platform said no"
    assert results["chat-2"]["outcome"] == "deleted"
    assert "1 of 2 deletion(s) failed" in err
    assert [d.name for d in hostkit.list_deployments("groq").deployments] == ["chat"]


def test_ls_json_shape(groq_chat: hostkit.Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    listed = run_json(capsys, "ls")
    assert set(listed) == {"deployments", "skipped", "providers", "usd_per_hour"}
    assert {"groq", "local"} <= set(listed["providers"])
    (row,) = listed["deployments"]
    assert set(row) == {
        "name", "provider", "status", "model", "replicas", "instance", "region", "endpoint",
        "created_at", "created_from", "age_s", "usd_per_hour", "price_source", "price_as_of",
        "price_note", "spend_usd", "spend_note",
    }  # fmt: skip
    assert row["created_from"] == "record"  # groq keeps no creation time: the record's


def test_unknown_provider_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ls", "--provider", "nope")
    assert code == 2 and "unknown provider 'nope'" in err


# -- sagemaker, in moto ------------------------------------------------------------------
@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's AWS with fake keys, no AWS files of this machine, and a sagemaker config."""
    moto = pytest.importorskip("moto")
    for variable in list(os.environ):
        if variable.startswith("AWS_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    Path("hostkit.toml").write_text(
        f'[providers.sagemaker]\nregion = "{REGION}"\nrole_arn = "{ROLE}"\n', encoding="utf-8"
    )
    with moto.mock_aws():
        import boto3

        yield boto3.client("sagemaker", region_name=REGION)


def _endpoint(sm: Any, name: str, tags: list[dict[str, str]]) -> None:
    """What a hostkit deploy on another machine leaves: model, config, endpoint, tagged."""
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"},
        Tags=tags,
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        Tags=tags,
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)


HOSTKIT_TAGS = [
    {"Key": "hostkit:deployment", "Value": "remote-scores"},
    {"Key": "hostkit:model", "Value": "s3://bucket/model.tar.gz"},
    {"Key": "hostkit:instance", "Value": "ml.m5.xlarge"},
    {"Key": "hostkit:kind", "Value": "raw"},
]


def test_an_endpoint_deployed_from_another_machine_is_listed_and_torn_down(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _endpoint(aws, "remote-scores", HOSTKIT_TAGS)
    _endpoint(aws, "not-ours", [{"Key": "team", "Value": "search"}])

    listed = run_json(capsys, "ls", "--provider", "sagemaker")
    (row,) = listed["deployments"]  # only the endpoint hostkit tagged
    assert (row["name"], row["status"], row["replicas"]) == ("remote-scores", "ready", 1)
    assert (row["instance"], row["region"]) == ("ml.m5.xlarge", REGION)
    assert row["usd_per_hour"] == 0.269 and row["price_as_of"] == "2025-10-01"
    assert row["created_from"] == "provider" and row["spend_usd"] is not None

    code, out, err = run(capsys, "teardown", "--all", "--provider", "sagemaker", "--yes")
    assert code == 0, err
    assert "sagemaker/remote-scores  deleted" in out
    assert [e["EndpointName"] for e in aws.list_endpoints()["Endpoints"]] == ["not-ours"]
    assert [m["ModelName"] for m in aws.list_models()["Models"]] == ["not-ours"]


def test_a_provider_that_cannot_list_is_skipped_with_the_reason(
    aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, local: Any
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    hostkit.deploy(provider="local", model=SCORES, name="inv-still-listed")
    record = hostkit.Deployment("llm", "sagemaker", "m", "ready", instance="ml.m5.xlarge")
    local.records.__class__("sagemaker").save("llm", record.to_dict())  # deployed earlier
    code, out, err = run(capsys, "ls")
    assert code == 0
    assert "inv-still-listed" in out
    assert "skipped sagemaker: no usable credentials: no AWS credentials found" in err
    assert "(1 deployment(s) recorded on this machine, not shown: llm)" in err
    listed = run_json(capsys, "ls")
    assert [s["provider"] for s in listed["skipped"]] == ["sagemaker"]


# -- providers: credential sources and --check ------------------------------------------
def _provider_row(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> Any:
    rows = run_json(capsys, "providers", *extra)
    return next(row for row in rows if row["name"] == name)


def test_credential_source_names_the_variable_and_never_the_value(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "fake-groq-key-never-shown"
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    row = _provider_row(capsys, "groq")
    assert row["credentials"]["found"] is False
    assert "set GROQ_API_KEY" in row["credentials"]["source"]

    monkeypatch.setenv("GROQ_API_KEY", secret)
    hostkit._api._instances.clear()
    row = _provider_row(capsys, "groq")
    assert row["credentials"] == {
        "provider": "groq",
        "found": True,
        "source": "environment variable GROQ_API_KEY",
    }
    code, out, err = run(capsys, "providers")
    assert code == 0, err
    groq_line = next(line for line in out.splitlines() if line.startswith("groq"))
    assert "creds: found" in groq_line
    assert secret not in out + err

    local_row = _provider_row(capsys, "local")
    assert local_row["credentials"]["source"] == "none needed: your own machine"


def test_credential_source_from_the_config_and_the_aws_chain(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("hostkit.toml").write_text(
        f'[providers.groq]\napi_key = "fake-groq-key-from-config"\n'
        f'[providers.sagemaker]\nregion = "{REGION}"\n',
        encoding="utf-8",
    )
    groq = _provider_row(capsys, "groq")["credentials"]
    assert groq["found"] is True and groq["source"].endswith("[providers.groq] api_key")
    sagemaker = _provider_row(capsys, "sagemaker")["credentials"]
    assert sagemaker["source"] == (
        "environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
    )


def test_vertex_credential_source_names_the_key_file_or_the_gcloud_login(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("google.cloud.aiplatform_v1")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    assert _provider_row(capsys, "vertex")["credentials"]["found"] is False

    adc = tmp_path / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir()
    adc.write_text("{}")
    hostkit._api._instances.clear()
    source = _provider_row(capsys, "vertex")["credentials"]["source"]
    assert source == f"gcloud auth application-default login ({adc})"

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/keys/sa.json")
    hostkit._api._instances.clear()
    source = _provider_row(capsys, "vertex")["credentials"]["source"]
    assert source == "environment variable GOOGLE_APPLICATION_CREDENTIALS (/keys/sa.json)"


def test_check_local_is_ok_and_sagemaker_reads_its_endpoints(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = {c.provider: c for c in inventory.check_access(["local", "sagemaker"])}
    assert checks["local"].result == "ok"
    assert checks["sagemaker"].result == "ok", checks["sagemaker"].detail

    row = _provider_row(capsys, "sagemaker", "--check", "--timeout", "3")
    assert row["check"]["result"] == "ok"
    code, out, _ = run(capsys, "providers", "--check")
    local_line = next(line for line in out.splitlines() if line.startswith("local"))
    assert code == 0 and " ok " in local_line


def test_check_names_the_missing_permission_when_aws_denies(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError
    from hostkit_providers.sagemaker import inventory as sagemaker_inventory

    def denied(provider: Any) -> None:
        answer = {
            "Error": {
                "Code": "AccessDeniedException",
                "Message": f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform:"
                " sagemaker:ListEndpoints on resource: *",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

        def call() -> None:
            raise ClientError(answer, "ListEndpoints")

        provider.call(call)

    monkeypatch.setattr(sagemaker_inventory, "check_access", denied)
    (check,) = inventory.check_access(["sagemaker"])
    assert check.result == "denied"
    assert "sagemaker:ListEndpoints" in check.detail


def test_check_without_credentials_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    (check,) = inventory.check_access(["groq"])  # a request would fail: no network, no cassette
    assert check.result == "no credentials" and "GROQ_API_KEY" in check.detail


def test_check_groq_lists_models_from_the_recorded_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "fake-groq-key-inventory")
    with cassette(GROQ_CASSETTES / "deploy_not_found.yaml") as recorded:  # holds GET /models
        (check,) = inventory.check_access(["groq"])
    assert check.result == "ok", check.detail
    assert recorded.play_count == 1


# -- huggingface Inference Endpoints, from their recorded wire format ----------------------
HF_CASSETTES = PROVIDERS / "huggingface" / "tests" / "cassettes" / "endpoints"
HF_LIST = "https://api.endpoints.huggingface.cloud/v2/endpoint/hostkit-org"


def _hf_cassette(tmp_path: Path) -> Path:
    """The recorded endpoint object (get.yaml) in list answers, with an untagged neighbour,
    then the recorded GET and DELETE of a teardown: what ls, teardown --all, ls send."""
    import yaml

    get = yaml.safe_load((HF_CASSETTES / "get.yaml").read_text())["interactions"][0]
    delete = yaml.safe_load((HF_CASSETTES / "teardown.yaml").read_text())["interactions"][0]
    ours = json.loads(get["response"]["body"]["string"])
    theirs = {**ours, "name": "someone-elses", "tags": ["team-search"]}

    def listing(items: list[Any]) -> dict[str, Any]:
        answer = json.loads(json.dumps(get))  # same headers, another body
        answer["request"]["uri"] = HF_LIST
        answer["response"]["body"]["string"] = json.dumps({"items": items})
        return answer

    path = tmp_path / "hf_inventory.yaml"
    both = [ours, theirs]
    interactions = [listing(both), listing(both), get, delete, listing([theirs])]
    path.write_text(yaml.safe_dump({"version": 1, "interactions": interactions}))
    return path


def test_a_tagged_inference_endpoint_is_listed_and_torn_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_TOKEN", "fake-hf-token-inventory")
    Path("hostkit.toml").write_text('[providers.huggingface]\nnamespace = "hostkit-org"\n')
    recorded = _hf_cassette(tmp_path)
    with cassette(recorded) as replayed:
        listed = run_json(capsys, "ls", "--provider", "huggingface")
        (row,) = listed["deployments"]  # the untagged endpoint is not hostkit's
        assert (row["name"], row["status"], row["replicas"]) == ("hostkit-compliance", "ready", 1)
        assert (row["instance"], row["region"]) == ("nvidia-l4-x1", "aws/us-east-1")
        assert row["created_at"] == "2026-11-22T10:00:00+00:00"
        assert row["created_from"] == "provider"

        code, out, err = run(capsys, "teardown", "--all", "--provider", "huggingface", "--yes")
        assert code == 0, err
        assert "huggingface/hostkit-compliance  deleted" in out
        assert run_json(capsys, "ls", "--provider", "huggingface")["deployments"] == []
    assert replayed.all_played


def test_the_hand_built_list_answer_parses_with_huggingface_hub(tmp_path: Path) -> None:
    hub = pytest.importorskip("huggingface_hub")
    with cassette(_hf_cassette(tmp_path)):
        found = hub.HfApi().list_inference_endpoints(
            namespace="hostkit-org", token="fake-hf-token-inventory"
        )
    assert [e.name for e in found] == ["hostkit-compliance", "someone-elses"]
