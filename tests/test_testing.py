"""The recorded-HTTP harness in ``hostkit.testing``: scrubbing, strict replay, the pytest plugin.

Recordings are made through ``httpx.MockTransport`` (which vcrpy records like a
real transport), so nothing here touches the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

from hostkit import testing
from hostkit._redact import Secret
from hostkit.errors import ConfigError, DependencyMissing
from hostkit.testing import (
    REDACTED,
    cassette,
    cassette_requests,
    load_cassette,
    scrub_text,
    set_default_record_mode,
    vcr_config,
)

# fakes shaped like real keys, assembled at run time so no key-shaped literal is tracked
GROQ_KEY = "gsk_" + "LiveRecordingKey" + "0123456789ABCDEF"
GOOGLE_KEY = "AIzaSyLiveRecordingKey0123456789abcdefg"
BODY_KEY = "body-secret-value-0123"
ACCOUNT = "123456789012"


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_import_hostkit_loads_no_test_machinery() -> None:
    done = run(
        "import sys, hostkit; hostkit.DeploymentSpec(provider='a', model='m');"
        " loaded = [m for m in ('hostkit.testing', 'vcr', 'pytest', 'respx', 'yaml')"
        " if m in sys.modules]; print(loaded); sys.exit(bool(loaded))"
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_import_hostkit_testing_loads_neither_vcr_nor_pytest() -> None:
    done = run(
        "import sys, hostkit.testing; loaded = [m for m in ('vcr', 'pytest') if m in sys.modules];"
        " print(loaded); sys.exit(bool(loaded))"
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- configuration -------------------------------------------------------------------
def test_vcr_config_is_strict_and_matches_on_everything_but_headers() -> None:
    config = vcr_config()

    assert config["record_mode"] == "none"
    assert config["match_on"] == ["method", "scheme", "host", "port", "path", "query", "body"]
    filtered = {name for name, _ in config["filter_headers"]}
    assert {"authorization", "x-api-key", "api-key", "cookie", "x-amz-security-token"} <= filtered
    assert config["allow_playback_repeats"] is False
    assert config["before_record_request"] is testing.scrub_request
    assert config["before_record_response"] is testing.scrub_response


def test_vcr_config_can_leave_the_mode_to_the_command_line_and_take_overrides() -> None:
    config = vcr_config(record_mode=None, match_on=["method", "path"])

    assert "record_mode" not in config
    assert config["match_on"] == ["method", "path"]
    assert vcr_config() is not vcr_config()  # fresh each time


def test_an_unknown_record_mode_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="'sometimes' is not known; allowed: none, once"):
        vcr_config(record_mode="sometimes")


# -- scrubbing rules -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdef0123456789", "Authorization: Bearer REDACTED"),
        ("hf_abcdefghijklmnopqrstuvwxyz12", "hf_REDACTED"),
        (f"key {GROQ_KEY}", "key gsk_REDACTED"),
        ("Token r8_" + "ABCDEFGHIJKL" + "MNOPQRSTUVWX", "Token r8_REDACTED"),
        ("csk-" + "abcdefghijkl" + "mnopqrstuvwx", "csk-REDACTED"),
        ("sk-proj-abcdefghijklmnopqrstuv", "sk-proj-REDACTED"),
        (
            f"https://x.googleapis.com/v1/skus?key={GOOGLE_KEY}&pageSize=5",
            "https://x.googleapis.com/v1/skus?key=REDACTED&pageSize=5",
        ),
        (
            "https://a.blob.core.windows.net/c?sv=2021&sig=abc%2Bdef%3D&se=2025",
            "https://a.blob.core.windows.net/c?sv=2021&sig=REDACTED&se=2025",
        ),
        ("api_key=topsecret&model=x", "api_key=REDACTED&model=x"),
        ("/v1?access_token=ya29.abc&alt=json", "/v1?access_token=REDACTED&alt=json"),
        ('{"api_key": "abc123", "n": 1}', '{"api_key": "REDACTED", "n": 1}'),
        (
            '{"HF_TOKEN": "x", "GROQ_API_KEY": "y"}',
            '{"HF_TOKEN": "REDACTED", "GROQ_API_KEY": "REDACTED"}',
        ),
        (
            '{"SecretAccessKey": "wJalr/K7MDENG", "SessionToken": "FQo"}',
            '{"SecretAccessKey": "REDACTED", "SessionToken": "REDACTED"}',
        ),
        (
            f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/chat",
            "arn:aws:sagemaker:us-east-1:000000000000:endpoint/chat",
        ),
        (
            f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/tgi:2",
            "000000000000.dkr.ecr.us-west-2.amazonaws.com/tgi:2",
        ),
        (
            f"s3://sagemaker-us-east-1-{ACCOUNT}/model.tar.gz",
            "s3://sagemaker-us-east-1-000000000000/model.tar.gz",
        ),
        (f'{{"Account": "{ACCOUNT}"}}', '{"Account": "000000000000"}'),
        (
            "Credential=AKIA" + "IOSFODNN7EXAMPLE" + "/20250101/us-east-1/sagemaker/aws4_request,"
            " SignedHeaders=host, Signature=" + "a1" * 32,
            "Credential=AKIAREDACTED/20250101/us-east-1/sagemaker/aws4_request,"
            " SignedHeaders=host, Signature=REDACTED",
        ),
        (
            "X-Amz-Signature=" + "b2" * 32 + "&X-Amz-Security-Token=FQoGZXIvYXdz%2F",
            "X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED",
        ),
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3In0.c2lnbmF0dXJlLXNpZw", REDACTED),
    ],
)
def test_scrub_text_masks_secrets(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
    assert scrub_text(expected) == expected  # idempotent: live requests still match


@pytest.mark.parametrize(
    "text",
    [
        '{"max_tokens": 512, "prompt_tokens": 14, "tokenizer": "bpe"}',
        '{"page_token": "p2", "next_token": "n3"}',  # pagination is replayed as recorded
        '{"model": "example-chat-8b", "count": 123456789012}',
        "the bearer of news; disk-abcdefghijklmnopqrstuvwxyz; model r8_small",
        "https://api.invalid/v1/models?page=2&monkey=1",
    ],
)
def test_scrub_text_leaves_ordinary_text_alone(text: str) -> None:
    assert scrub_text(text) == text


# -- recording and replaying ------------------------------------------------------------
def echo_platform(request: httpx.Request) -> httpx.Response:
    """Stands in for a platform that echoes what it was sent (as error pages do)."""
    return httpx.Response(
        200,
        headers={
            "set-cookie": "session=live-session-cookie-value; Path=/",
            "x-request-id": "req_123",
        },
        json={
            "arn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/chat",
            "echo": request.headers.get("authorization"),
            "sent": json.loads(request.content or b"null"),
        },
    )


def send(client: httpx.Client, path: str = "/v1/predict") -> httpx.Response:
    return client.post(
        f"https://api.platform.invalid{path}?key={GOOGLE_KEY}&page=2",
        headers={
            "authorization": f"Bearer {GROQ_KEY}",
            "x-api-key": GROQ_KEY,
            "cookie": "session=abc",
            "user-agent": "groq-python/1.2.3",
            "x-stainless-os": "Linux",
            "x-stainless-retry-count": "0",
            "idempotency-key": "stainless-python-retry-1234",
            "x-amz-date": "20250101T000000Z",
            "x-trace": "kept",
        },
        json={"api_key": BODY_KEY, "prompt": "hi"},
    )


@pytest.fixture
def client() -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(echo_platform))


def test_a_recording_holds_no_secrets_and_no_volatile_headers(
    tmp_path: Path, client: httpx.Client
) -> None:
    path = tmp_path / "predict.yaml"

    with cassette(path, record_mode="once") as recorded:
        live = send(client)
    assert recorded.play_count == 0 and len(recorded) == 1
    assert live.json()["echo"] == f"Bearer {GROQ_KEY}"  # the live response is untouched

    text = path.read_text()
    for secret in (GROQ_KEY, GOOGLE_KEY, BODY_KEY, ACCOUNT, "live-session-cookie-value"):
        assert secret not in text
    for volatile in ("user-agent", "x-stainless", "idempotency-key", "x-amz-date"):
        assert volatile not in text.lower()

    (interaction,) = load_cassette(path)
    request, response = interaction.request, interaction.response
    assert request.method == "POST" and request.path == "/v1/predict"
    assert request.query == {"key": REDACTED, "page": "2"}
    assert request.header("authorization") == REDACTED
    assert request.header("x-api-key") == REDACTED
    assert request.header("cookie") == REDACTED
    assert request.header("x-trace") == "kept"
    assert request.json() == {"api_key": REDACTED, "prompt": "hi"}
    assert response.status == 200
    assert response.header("set-cookie") == REDACTED
    assert response.header("x-request-id") == "req_123"
    assert response.json()["arn"] == "arn:aws:sagemaker:us-east-1:000000000000:endpoint/chat"
    assert response.json()["echo"] == "Bearer REDACTED"


def test_a_recording_replays_strictly(tmp_path: Path, client: httpx.Client) -> None:
    path = tmp_path / "predict.yaml"
    with cassette(path, record_mode="once"):
        send(client)

    with cassette(path) as replayed:  # strict: record_mode "none"
        response = send(client)  # the live request carries the real keys: still matches
    assert replayed.play_count == 1 and replayed.all_played
    assert response.json()["sent"] == {"api_key": REDACTED, "prompt": "hi"}

    with cassette(path), pytest.raises(CannotOverwriteExistingCassetteException):
        send(client, "/v1/other")

    with cassette(path), pytest.raises(CannotOverwriteExistingCassetteException):
        client.post(
            f"https://api.platform.invalid/v1/predict?key={GOOGLE_KEY}&page=2",
            json={"api_key": BODY_KEY, "prompt": "a different prompt"},
        )


def test_registered_credentials_of_any_shape_are_masked_when_saved(
    tmp_path: Path, client: httpx.Client
) -> None:
    opaque = "opaque-registered-credential-42"
    Secret(opaque)  # what Provider.api_key() does with every key it looks up
    path = tmp_path / "opaque.yaml"

    with cassette(path, record_mode="once"):
        client.get("https://api.platform.invalid/v1/me", headers={"x-custom-auth": opaque})

    assert opaque not in path.read_text()
    assert cassette_requests(path)[0].header("x-custom-auth") == REDACTED


def test_recording_refuses_a_vcrpy_that_cannot_scrub_on_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vcr.cassette

    class OldCassette:
        def __init__(self, path: str, serializer: Any = None) -> None: ...

    monkeypatch.setattr(vcr.cassette, "Cassette", OldCassette)
    path = tmp_path / "new.yaml"

    with (
        pytest.raises(DependencyMissing, match="before_save_interaction"),
        cassette(path, record_mode="once"),
    ):
        pass
    assert not path.exists()


def test_a_missing_cassette_in_strict_mode_says_how_to_record(tmp_path: Path) -> None:
    with (
        pytest.raises(FileNotFoundError, match="--record-mode=once"),
        cassette(tmp_path / "nope.yaml"),
    ):
        pass


def test_rewrite_replaces_an_existing_cassette(tmp_path: Path, client: httpx.Client) -> None:
    path = tmp_path / "predict.yaml"
    with cassette(path, record_mode="once"):
        send(client)
        send(client)
    assert len(cassette_requests(path)) == 2

    with cassette(path, record_mode="rewrite"):
        send(client, "/v1/other")

    assert [r.path for r in cassette_requests(path)] == ["/v1/other"]


def test_record_mode_comes_from_the_plugin_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: httpx.Client
) -> None:
    path = tmp_path / "env.yaml"
    monkeypatch.setenv("HOSTKIT_RECORD_MODE", "once")
    with cassette(path) as recorded:
        send(client)
    assert recorded.record_mode == "once" and path.is_file()

    set_default_record_mode("none")  # what `pytest --record-mode=none` does
    try:
        with cassette(path) as replayed:
            assert replayed.record_mode == "none"
    finally:
        set_default_record_mode(None)


def test_load_cassette_refuses_other_yaml(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("name: not a cassette\n")

    with pytest.raises(ConfigError, match="not a vcrpy cassette"):
        load_cassette(other)


def test_load_cassette_reads_json_cassettes(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    interaction: dict[str, Any] = {
        "request": {"method": "get", "uri": "https://a.invalid/x?y=1", "body": None, "headers": {}},
        "response": {
            "status": {"code": 204, "message": "No Content"},
            "headers": {"X-Request-Id": ["r1"]},
            "body": {"string": ""},
        },
    }
    path.write_text(json.dumps({"version": 1, "interactions": [interaction]}))

    (loaded,) = load_cassette(path)
    assert loaded.request.method == "GET" and loaded.request.query == {"y": "1"}
    assert loaded.response.status == 204 and loaded.response.header("x-request-id") == "r1"


# -- the pytest plugin ----------------------------------------------------------------
PLUGIN_TESTS = """
import os
from pathlib import Path

import httpx
import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

from hostkit.testing import _cassettes


@pytest.mark.vcr
@pytest.mark.default_cassette("ping.yaml")
def test_replays_from_the_cassettes_folder(vcr):
    assert httpx.get("https://api.ping.invalid/v1/ping?key=live-key-value").json() == {"pong": 1}
    assert vcr.play_count == 1


@pytest.mark.vcr
@pytest.mark.default_cassette("ping.yaml")
def test_an_unrecorded_request_fails(vcr):
    with pytest.raises(CannotOverwriteExistingCassetteException):
        httpx.get("https://api.ping.invalid/v1/other")


def test_fixtures(vcr_config, vcr_cassette_dir):
    assert "body" in vcr_config["match_on"]
    assert "record_mode" not in vcr_config  # --record-mode decides
    assert Path(vcr_cassette_dir) == Path(__file__).parent / "cassettes"


@pytest.mark.vcr
@pytest.mark.default_cassette("ping.yaml")
def test_record_mode_follows_the_flag(vcr):
    expected = os.environ["EXPECTED_MODE"]
    assert vcr.record_mode == expected
    assert _cassettes._resolve_record_mode(None) == expected
"""

PING_CASSETTE = """\
version: 1
interactions:
- request:
    method: GET
    uri: https://api.ping.invalid/v1/ping?key=REDACTED
    body: ''
    headers: {}
  response:
    status: {code: 200, message: OK}
    headers:
      content-type: [application/json]
    body:
      string: '{"pong": 1}'
"""


@pytest.mark.parametrize("enable", ["-p", "pytest_plugins"])
@pytest.mark.parametrize(
    ("flags", "mode", "passed"),
    [
        (["--block-network"], "none", 4),
        # recording mode: run only the tests that send nothing
        (["--record-mode=once", "-k", "fixtures or follows"], "once", 2),
    ],
)
def test_the_pytest_plugin(
    tmp_path: Path, enable: str, flags: list[str], mode: str, passed: int
) -> None:
    project = tmp_path / "project"
    (project / "cassettes").mkdir(parents=True)
    (project / "test_plugin.py").write_text(textwrap.dedent(PLUGIN_TESTS))
    (project / "cassettes" / "ping.yaml").write_text(PING_CASSETTE)
    if enable == "-p":
        flags = ["-p", "hostkit.testing.pytest_plugin", *flags]
    else:
        (project / "conftest.py").write_text('pytest_plugins = ["hostkit.testing.pytest_plugin"]\n')
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *flags]

    done = subprocess.run(
        [*command, str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "EXPECTED_MODE": mode},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{passed} passed" in done.stdout
