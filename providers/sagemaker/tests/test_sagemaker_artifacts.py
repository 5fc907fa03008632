"""``model = "./dir"`` on SageMaker, end to end on moto (S3, STS, SageMaker): the directory
is packed as model.tar.gz, uploaded under a key holding its hash, deployed from there; the
same directory again uploads nothing; a changed one goes to a new key."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import moto
import pytest
from hostkit_providers.sagemaker import SageMakerProvider
from hostkit_providers.sagemaker.artifacts import package

from hostkit import DeploymentSpec, errors, get_provider

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/hostkit-sagemaker-execution"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"
IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        import boto3

        yield {s: boto3.client(s, region_name=REGION) for s in ("sagemaker", "s3")}


@pytest.fixture
def provider(aws: dict[str, Any]) -> Iterator[SageMakerProvider]:
    built = get_provider("sagemaker", region=REGION, role_arn=ROLE)
    assert isinstance(built, SageMakerProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


def _model_dir(root: Path) -> Path:
    folder = root / "iris"
    (folder / "code").mkdir(parents=True)
    (folder / "model.joblib").write_bytes(b"\x80\x04fake-model-weights")
    (folder / "code" / "inference.py").write_text("def model_fn(d):\n    return d\n")
    return folder


def _spec(model: str, name: str = "iris-local") -> DeploymentSpec:
    return DeploymentSpec(
        provider="sagemaker", name=name, model=model, image=IMAGE, instance="ml.m5.xlarge"
    )


def _keys(aws: dict[str, Any]) -> list[str]:
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_local_directory_deploys_from_a_content_addressed_upload(
    provider: SageMakerProvider,
    aws: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = _model_dir(tmp_path)
    dep = provider.deploy(_spec("./iris"))
    (key,) = _keys(aws)
    assert key.startswith("hostkit-batch/models/") and key.endswith("/model.tar.gz")
    url = aws["sagemaker"].describe_model(ModelName="iris-local")["PrimaryContainer"][
        "ModelDataUrl"
    ]
    assert url == f"s3://{BUCKET}/{key}"
    body = aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["code/inference.py", "model.joblib"]  # at the top
        assert tar.extractfile("model.joblib").read() == b"\x80\x04fake-model-weights"  # type: ignore[union-attr]
    provider.teardown(dep)

    # the same directory again: the object is found, nothing is uploaded
    puts: list[str] = []
    s3 = provider._client("s3")
    s3.meta.events.register("before-call.s3.PutObject", lambda **kw: puts.append("put"))
    s3.meta.events.register("before-call.s3.CreateMultipartUpload", lambda **kw: puts.append("mp"))
    again = provider.deploy(_spec("./iris", "iris-again"))
    assert puts == [] and _keys(aws) == [key]
    provider.teardown(again)

    # a changed directory goes to a new key; the old artifact stays for whoever uses it
    (folder / "model.joblib").write_bytes(b"retrained")
    changed = provider.deploy(_spec("./iris", "iris-changed"))
    assert len(_keys(aws)) == 2 and key in _keys(aws)
    provider.teardown(changed)


def test_packing_is_reproducible(tmp_path: Path) -> None:
    folder = _model_dir(tmp_path)
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    package(folder, first)
    (folder / "model.joblib").touch()  # a new mtime, the same content
    package(folder, second)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda root: "./missing", r"model: './missing' does not exist"),
        (lambda root: (root / "empty").mkdir() or "./empty", r"'./empty' is an empty directory"),
    ],
)
def test_a_missing_path_or_an_empty_directory_is_refused_before_anything_is_created(
    provider: SageMakerProvider,
    aws: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
    match: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(errors.ConfigError, match=match):
        provider.deploy(_spec(make(tmp_path)))
    assert aws["s3"].list_buckets()["Buckets"] == []
    assert aws["sagemaker"].list_models()["Models"] == []


def test_a_local_model_needs_an_image(
    provider: SageMakerProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _model_dir(tmp_path)
    with pytest.raises(errors.ConfigError, match=r"image: '\./iris' is a local model"):
        provider.deploy(_spec("./iris").replace(image=None))


def test_a_refused_upload_names_the_permission(
    provider: SageMakerProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    monkeypatch.chdir(tmp_path)
    _model_dir(tmp_path)

    def deny(**kwargs: Any) -> None:
        error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
        raise ClientError(error, "PutObject")

    provider._client("s3").meta.events.register("before-call.s3.PutObject", deny)
    with pytest.raises(errors.AuthenticationError, match=f"s3:PutObject on bucket {BUCKET}"):
        provider.deploy(_spec("./iris"))


def test_a_bucket_in_another_region_is_refused(
    provider: SageMakerProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    monkeypatch.chdir(tmp_path)
    _model_dir(tmp_path)

    def moved(**kwargs: Any) -> None:  # what S3 answers HeadBucket for another region's bucket
        response = {
            "Error": {"Code": "301", "Message": "Moved Permanently"},
            "ResponseMetadata": {"HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}},
        }
        raise ClientError(response, "HeadBucket")

    provider._client("s3").meta.events.register("before-call.s3.HeadBucket", moved)
    with pytest.raises(errors.ConfigError, match=r"is in eu-west-1.*batch_bucket"):
        provider.deploy(_spec("./iris"))


def test_a_changed_directory_is_not_the_running_deployment(
    provider: SageMakerProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redeploying after retraining must not quietly return the endpoint of the old files."""
    monkeypatch.chdir(tmp_path)
    folder = _model_dir(tmp_path)
    dep = provider.deploy(_spec("./iris"))
    try:
        assert provider.deploy(_spec("./iris")).name == dep.name  # unchanged: the same one
        (folder / "model.joblib").write_bytes(b"retrained")
        with pytest.raises(errors.ConfigError, match="different spec"):
            provider.deploy(_spec("./iris"))
    finally:
        provider.teardown(dep)
