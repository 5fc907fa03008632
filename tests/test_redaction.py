"""Secrets never show: not in reprs, error messages, log records or saved state.

Each test uses its own distinctive key, since registered secrets are remembered
for the whole process.
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from hostkit import (
    Capabilities,
    CostEstimate,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Provider,
)
from hostkit._http import HttpClient
from hostkit._redact import MASK, Secret, get_logger, redact_mapping, scrub
from hostkit._retry import RetryPolicy
from hostkit._state import StateStore
from hostkit.errors import AuthenticationError, ConfigError, HostkitError, ProviderError


class KeyedProvider(Provider):
    name = "keyed"
    credential_env = "KEYED_API_KEY"
    capabilities = Capabilities(dedicated=False)
    settings_schema = {"client_secret": str, "project": str}

    def find(self, name: str) -> Deployment | None:
        return None

    def status(self, deployment: Deployment) -> Deployment:
        return deployment

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        raise NotImplementedError

    def _teardown(self, deployment: Deployment) -> None:
        pass

    def cost(self, target: Any, **usage: Any) -> CostEstimate:
        return CostEstimate(usd=None)

    def offerings(self, region: str | None = None) -> list[Offering]:
        return []


def test_provider_repr_hides_keys_given_as_settings() -> None:
    key, secret = "sk-ReprSettingKey-0001", "ReprClientSecret-0001"
    provider = KeyedProvider(api_key=key, client_secret=secret, project="research")

    shown = repr(provider)

    assert key not in shown and secret not in shown
    assert "research" in shown  # ordinary settings stay visible
    assert provider.api_key() == key  # the value is still there for the adapter


def test_provider_repr_hides_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-ReprEnvironmentKey-0002"
    monkeypatch.setenv("KEYED_API_KEY", key)
    provider = KeyedProvider()

    assert provider.api_key() == key
    assert key not in repr(provider)


def test_a_secret_setting_of_the_wrong_type_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        KeyedProvider(client_secret=918273645546)

    assert "918273645546" not in str(caught.value)
    assert "must be a string, got ***" in str(caught.value)


def test_errors_raised_with_the_key_in_their_message_are_scrubbed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-ErrorMessageKey-0003"
    monkeypatch.setenv("KEYED_API_KEY", key)
    KeyedProvider().api_key()  # looking the key up registers it

    error = ProviderError(f"request to https://x.invalid/?key={key} failed", provider="keyed")

    assert key not in str(error)
    assert key not in error.message
    assert key not in repr(error) and key not in str(error.args)
    assert f"?key={MASK} failed" in str(error)
    assert key not in str(pickle.loads(pickle.dumps(error)))


def test_a_translated_foreign_exception_is_scrubbed() -> None:
    key = "sk-ForeignExceptionKey-0004"
    provider = KeyedProvider(api_key=key)

    def sdk_call() -> None:
        raise ValueError(f"Incorrect API key provided: {key}")

    with pytest.raises(ProviderError) as caught:
        provider.call(sdk_call)
    assert key not in str(caught.value)
    assert "Incorrect API key provided: ***" in str(caught.value)


@respx.mock
def test_a_platform_error_body_that_echoes_the_key_is_scrubbed() -> None:
    key = "sk-EchoedByPlatformKey-0005"
    Secret(key)
    respx.get("https://api.keyed.invalid/v1/models").mock(
        return_value=httpx.Response(
            401, json={"error": {"message": f"Incorrect API key provided: {key}"}}
        )
    )
    http = HttpClient(
        provider="keyed",
        base_url="https://api.keyed.invalid/v1",
        retry=RetryPolicy(max_retries=0),
        headers=lambda: {"authorization": f"Bearer {key}"},
    )

    with pytest.raises(AuthenticationError) as caught:
        http.request("GET", "/models")
    http.close()

    assert key not in str(caught.value)
    assert str(caught.value).startswith("[keyed] Incorrect API key provided: ***")


def test_a_missing_key_error_names_the_variable_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYED_API_KEY", raising=False)

    with pytest.raises(AuthenticationError) as caught:
        KeyedProvider().api_key()
    assert "set KEYED_API_KEY" in str(caught.value)


def test_hostkit_log_records_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-LoggedByAdapterKey-0006"
    Secret(key)
    log = get_logger("hostkit.adapter")

    with caplog.at_level(logging.DEBUG, logger="hostkit"):
        log.info("calling with key %s", key)
        log.warning(f"retrying https://x.invalid/?key={key}")

    messages = [record.getMessage() for record in caplog.records]
    assert messages == [f"calling with key {MASK}", f"retrying https://x.invalid/?key={MASK}"]
    assert key not in caplog.text


def test_records_of_the_hostkit_logger_itself_are_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "sk-LoggedOnRootHostkitKey-0007"
    Secret(key)

    with caplog.at_level(logging.DEBUG, logger="hostkit"):
        logging.getLogger("hostkit").warning("key is %s", key)

    assert key not in caplog.text


def test_retry_log_lines_do_not_carry_the_error_text(caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-RetryLogKey-0008"
    provider = KeyedProvider(api_key=key, max_retries=1)
    provider.retry.sleep = lambda seconds: None
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ProviderError(f"boom {key}", provider="keyed", status_code=503)
        return "ok"

    with caplog.at_level(logging.DEBUG, logger="hostkit"):
        assert provider.call(flaky) == "ok"
    assert "retrying after ProviderError" in caplog.text
    assert key not in caplog.text


def test_saved_state_holds_no_secrets(isolated_hostkit: Path) -> None:
    key = "sk-SavedStateKey-0009"
    provider = KeyedProvider(api_key=key)
    deployment = Deployment(
        name="chat",
        provider="keyed",
        model="m",
        status="ready",
        endpoint=f"https://x.invalid/v1?api_key={key}",
        raw={
            "api_key": key,
            "headers": {"Authorization": f"Bearer {key}", "x-api-key": key},
            "env": {"HF_TOKEN": "hf_StateFileToken000000000000"},
            "note": f"created with {key}",
            "replicas": 2,
        },
    )

    provider.remember(deployment)

    text = (isolated_hostkit / "keyed" / "chat.json").read_text()
    assert key not in text
    assert "hf_StateFileToken000000000000" not in text
    saved = json.loads(text)
    assert saved["raw"]["api_key"] == MASK
    assert saved["raw"]["headers"] == {"Authorization": MASK, "x-api-key": MASK}
    assert saved["raw"]["replicas"] == 2
    assert saved["endpoint"] == f"https://x.invalid/v1?api_key={MASK}"


def test_state_store_redacts_whatever_it_is_given(tmp_path: Path) -> None:
    key = "sk-StateStoreKey-0010"
    Secret(key)
    store = StateStore("keyed", tmp_path)

    store.save("x", {"password": "hunter2-is-long", "text": f"k={key}", "n": 1})

    assert store.load("x") == {"password": MASK, "text": f"k={MASK}", "n": 1}


def test_spec_repr_hides_hf_token_in_env() -> None:
    token = "hf_SpecReprToken0123456789abcdef"
    spec = DeploymentSpec(provider="keyed", model="org/m", env={"HF_TOKEN": token, "MODE": "x"})

    assert token not in repr(spec)
    assert token not in str(spec)
    assert "HF_TOKEN" in repr(spec) and MASK in repr(spec)


def test_secret_never_shows_itself_and_cannot_be_saved() -> None:
    secret = Secret("sk-SecretObjectKey-0011")

    assert repr(secret) == str(secret) == "Secret('***')"
    assert f"{secret}" == "Secret('***')"
    assert secret.get() == "sk-SecretObjectKey-0011"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_short_values_are_not_registered() -> None:
    Secret("abc")  # too short to scrub safely: "abc" appears in ordinary text
    assert scrub("abc abc") == "abc abc"


def test_a_secret_containing_a_shorter_one_is_masked_whole() -> None:
    # e.g. a derived server key that contains another registered key: whatever order the
    # secrets are held in, no fragment of the longer one is left around a mask
    outer = "sk-fake-outer-" + "abcdefghijklmnop"
    parts = [outer[i : i + 8] for i in range(3, len(outer) - 8, 2)]  # eight substrings
    for part in [*parts, outer]:
        Secret(part)
    assert scrub(f"key={outer}.") == f"key={MASK}."


def test_redact_mapping_masks_secret_looking_keys_deeply() -> None:
    data = {"config": [{"Authorization": "Bearer x"}, {"private_key": "-----BEGIN"}], "ok": 1}

    assert redact_mapping(data) == {
        "config": [{"Authorization": MASK}, {"private_key": MASK}],
        "ok": 1,
    }


def test_hostkit_errors_scrub_in_every_subclass() -> None:
    key = "sk-EveryErrorClassKey-0012"
    Secret(key)
    for cls in HostkitError.__subclasses__():
        error = cls(f"failed with {key}")
        assert key not in str(error), cls.__name__
