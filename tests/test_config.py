"""``hostkit.toml`` (or ``[tool.hostkit]``): discovery, interpolation and precise errors.

Every test runs in an empty working directory (see the root conftest).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostkit import get_provider, load_config
from hostkit._config import find_config_file
from hostkit.errors import ConfigError
from hostkit.testing import plugins_on_path, write_distribution

SETTINGS_PROVIDER = '''
from hostkit import CostEstimate, Provider


class SettingsProvider(Provider):
    """Declares two settings of its own on top of the common ones."""

    name = "with-settings"
    credential_env = "WITH_SETTINGS_API_KEY"
    settings_schema = {"project": str, "verbose": bool}

    def find(self, name):
        return None

    def status(self, deployment):
        return deployment

    def invoke(self, deployment, request, **params):
        raise NotImplementedError

    def _teardown(self, deployment):
        pass

    def cost(self, target, **usage):
        return CostEstimate(usd=None)

    def offerings(self, region=None):
        return []
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def work() -> Path:
    return Path.cwd()


@pytest.fixture
def settings_provider(tmp_path: Path) -> Iterator[None]:
    site = write_distribution(
        tmp_path / "site",
        "hostkit-settings-plugin",
        entry_points={"with-settings": "hostkit_settings_plugin:SettingsProvider"},
        modules={"hostkit_settings_plugin.py": SETTINGS_PROVIDER},
    )
    with plugins_on_path(site):
        yield


# -- discovery -----------------------------------------------------------------------
def test_no_config_file_is_an_empty_config(work: Path) -> None:
    config = load_config()

    assert config.path is None
    assert config.where == "(no config file)"
    assert (config.providers, config.deployments, config.prices) == ({}, {}, {})


def test_hostkit_toml_in_the_working_directory(work: Path) -> None:
    file = write(work / "hostkit.toml", '[providers.acme]\nregion = "eu-west-1"\n')

    config = load_config()

    assert config.path == file
    assert config.provider_settings("acme") == {"region": "eu-west-1"}


def test_hostkit_toml_in_a_parent_directory(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = write(work / "hostkit.toml", "[providers.acme]\n")
    deeper = work / "src" / "pkg"
    deeper.mkdir(parents=True)
    monkeypatch.chdir(deeper)

    assert find_config_file() == file.resolve()
    assert load_config().path == file.resolve()


def test_pyproject_with_tool_hostkit(work: Path) -> None:
    write(
        work / "pyproject.toml",
        """
        [project]
        name = "app"

        [tool.hostkit.deployments.chat]
        provider = "acme"
        model = "org/chat-model"
        """,
    )

    config = load_config()

    assert config.path == work / "pyproject.toml"
    assert config.deployment("chat").model == "org/chat-model"


def test_pyproject_without_tool_hostkit_is_passed_over(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent_config = write(work / "hostkit.toml", '[providers.acme]\nregion = "eu"\n')
    write(work / "app" / "pyproject.toml", '[project]\nname = "app"\n')
    monkeypatch.chdir(work / "app")

    assert load_config().path == parent_config.resolve()


def test_hostkit_toml_wins_over_pyproject_in_the_same_folder(work: Path) -> None:
    write(work / "pyproject.toml", '[tool.hostkit.providers.acme]\nregion = "from-pyproject"\n')
    write(work / "hostkit.toml", '[providers.acme]\nregion = "from-hostkit-toml"\n')

    assert load_config().provider_settings("acme") == {"region": "from-hostkit-toml"}


def test_hostkit_config_variable_wins(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(work / "hostkit.toml", '[providers.acme]\nregion = "local"\n')
    chosen = write(work / "elsewhere" / "team.toml", '[providers.acme]\nregion = "team"\n')
    monkeypatch.setenv("HOSTKIT_CONFIG", str(chosen))

    config = load_config()

    assert config.path == chosen
    assert config.provider_settings("acme") == {"region": "team"}


def test_hostkit_config_pointing_nowhere_is_an_error(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = work / "nope.toml"
    monkeypatch.setenv("HOSTKIT_CONFIG", str(missing))

    with pytest.raises(ConfigError, match=f"{missing}: config file not found"):
        load_config()


def test_an_explicit_path_that_does_not_exist_is_an_error(work: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(work / "missing.toml")


def test_an_edited_file_is_read_again(work: Path) -> None:
    file = write(work / "hostkit.toml", '[providers.acme]\nregion = "one"\n')
    assert load_config().provider_settings("acme") == {"region": "one"}

    write(file, '[providers.acme]\nregion = "two"\n')
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))

    assert load_config().provider_settings("acme") == {"region": "two"}


# -- ${VAR} and ${VAR:-default} ------------------------------------------------------
def test_variables_in_provider_settings(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        work / "hostkit.toml",
        """
        [providers.acme]
        region = "${ACME_REGION}"
        base_url = "https://${ACME_HOST:-api.acme.invalid}/v1"
        project = "${ACME_PROJECT:-}"
        """,
    )
    monkeypatch.setenv("ACME_REGION", "us-east-1")
    monkeypatch.delenv("ACME_HOST", raising=False)
    monkeypatch.delenv("ACME_PROJECT", raising=False)

    assert load_config().provider_settings("acme") == {
        "region": "us-east-1",
        "base_url": "https://api.acme.invalid/v1",
        "project": "",
    }


def test_a_set_variable_beats_its_default(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(work / "hostkit.toml", '[providers.acme]\nbase_url = "${ACME_URL:-https://x}"\n')
    monkeypatch.setenv("ACME_URL", "https://proxy.invalid")

    assert load_config().provider_settings("acme") == {"base_url": "https://proxy.invalid"}


def test_provider_variables_are_read_when_used_not_when_loaded(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(work / "hostkit.toml", '[providers.acme]\nregion = "${ACME_LATE}"\n')
    monkeypatch.delenv("ACME_LATE", raising=False)
    config = load_config()  # loading does not need the variable

    with pytest.raises(ConfigError) as caught:
        config.provider_settings("acme")
    message = str(caught.value)
    assert "environment variable ACME_LATE is not set" in message
    assert "[providers.acme].region" in message
    assert "${ACME_LATE:-default}" in message

    monkeypatch.setenv("ACME_LATE", "eu-north-1")
    assert config.provider_settings("acme") == {"region": "eu-north-1"}


def test_variables_in_deployments(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        work / "hostkit.toml",
        """
        [deployments.chat]
        provider = "acme"
        model = "${CHAT_MODEL:-org/default-model}"
        region = "${CHAT_REGION}"
        env = { LOG_LEVEL = "${LOG_LEVEL:-info}" }
        """,
    )
    monkeypatch.delenv("CHAT_MODEL", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setenv("CHAT_REGION", "eu-west-1")

    chat = load_config().deployment("chat")

    assert chat.model == "org/default-model"
    assert chat.region == "eu-west-1"
    assert chat.env == {"LOG_LEVEL": "info"}
    assert chat.name == "chat"  # the table name


def test_a_missing_variable_in_a_deployment_names_file_and_key(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write(
        work / "hostkit.toml",
        '[deployments.chat]\nprovider = "acme"\nmodel = "${CHAT_MODEL}"\n',
    )
    monkeypatch.delenv("CHAT_MODEL", raising=False)

    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert str(file) in message
    assert "[deployments.chat].model" in message
    assert "CHAT_MODEL is not set" in message


# -- errors --------------------------------------------------------------------------
def test_invalid_toml_names_the_file(work: Path) -> None:
    file = write(work / "hostkit.toml", "[providers.acme\nregion = 1\n")

    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value).startswith(f"{file}: not valid TOML:")
    assert "line 1" in str(caught.value)


def test_invalid_toml_in_pyproject_names_the_file(work: Path) -> None:
    file = write(work / "pyproject.toml", '[tool.hostkit]\nprices = {"a" = }\n')

    with pytest.raises(ConfigError, match=f"^{file}: not valid TOML"):
        load_config()


def test_unknown_top_level_keys_are_named_with_the_allowed_ones(work: Path) -> None:
    file = write(work / "hostkit.toml", "[provider.acme]\n[deployment.x]\n")

    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == (
        f"{file}: unknown top-level key(s) deployment, provider;"
        " allowed: providers, deployments, prices"
    )


def test_a_section_that_is_not_a_table(work: Path) -> None:
    write(work / "hostkit.toml", 'providers = "acme"\n')

    with pytest.raises(ConfigError, match=r"\[providers\]: expected a table, found str"):
        load_config()


def test_a_bad_spec_field_names_the_file_the_deployment_and_the_field(work: Path) -> None:
    file = write(
        work / "hostkit.toml",
        '[deployments.chat]\nprovider = "acme"\nmodel = "m"\nreplicas = -1\n',
    )

    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == (
        f"{file} [deployments.chat]: replicas: expected a whole number >= 0, got -1"
    )


def test_an_unknown_spec_field_names_the_allowed_fields(work: Path) -> None:
    file = write(
        work / "hostkit.toml",
        '[deployments.chat]\nprovider = "acme"\nmodel = "m"\ngpus = 2\n',
    )

    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert message.startswith(f"{file} [deployments.chat]: unknown field(s) gpus;")
    assert "allowed: accelerator, env, image, instance, max_replicas" in message


def test_a_deployment_without_provider(work: Path) -> None:
    write(work / "hostkit.toml", '[deployments.chat]\nmodel = "m"\n')

    with pytest.raises(ConfigError, match=r"\[deployments.chat\]: missing required field"):
        load_config()


def test_an_unknown_deployment_name_lists_the_known_ones(work: Path) -> None:
    write(
        work / "hostkit.toml",
        """
        [deployments.chat]
        provider = "acme"
        model = "m"

        [deployments.embed]
        provider = "acme"
        model = "e"
        """,
    )

    with pytest.raises(ConfigError, match=r"no deployment named 'chatt'.*known: chat, embed"):
        load_config().deployment("chatt")


# -- provider settings through get_provider ----------------------------------------
def test_an_unknown_provider_setting_names_the_allowed_ones(
    work: Path, settings_provider: None
) -> None:
    file = write(work / "hostkit.toml", '[providers.with-settings]\ncolour = "red"\n')

    with pytest.raises(ConfigError) as caught:
        get_provider("with-settings")

    message = caught.value.message
    assert message.startswith(f"{file} [providers.with-settings]: unknown setting 'colour'")
    assert caught.value.provider == "with-settings"
    assert (
        "allowed: api_key, api_key_env, base_url, max_connections, max_retries, project, region,"
        " state_dir, timeout, verbose"
    ) in message


def test_an_unknown_keyword_setting_is_named_too(settings_provider: None) -> None:
    with pytest.raises(ConfigError, match=r"get_provider\('with-settings'\): unknown setting"):
        get_provider("with-settings", colour="red")


def test_a_setting_of_the_wrong_type_says_what_it_must_be(
    work: Path, settings_provider: None
) -> None:
    write(work / "hostkit.toml", '[providers.with-settings]\nverbose = "yes"\ntimeout = 5\n')

    with pytest.raises(ConfigError, match=r"setting 'verbose' .* must be true or false, got 'yes'"):
        get_provider("with-settings")


def test_settings_merge_config_then_keywords(
    work: Path, settings_provider: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        work / "hostkit.toml",
        """
        [providers.with-settings]
        project = "${TEAM_PROJECT:-research}"
        timeout = 12.5
        region = "eu"
        """,
    )
    monkeypatch.delenv("TEAM_PROJECT", raising=False)

    provider = get_provider("with-settings", region="us")

    assert provider.setting("project") == "research"
    assert provider.timeout == 12.5
    assert provider.setting("region") == "us"
