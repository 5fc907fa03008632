"""The compliance kit can fail: deliberately broken providers fail exactly the matching checks.

Each broken provider is the example plugin with one defect. The kit runs over it
in a separate pytest session (pytester), against the example plugin's cassettes,
and the test reads which checks passed and which failed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

CASSETTES = Path(__file__).parent / "plugins" / "hostkit-example-plugin" / "cassettes"

BROKEN_PROVIDERS = '''
from hostkit.errors import AuthenticationError, HostkitError, ProviderError
from hostkit_example_plugin import ExampleProvider


class WrongErrorClass(ExampleProvider):
    """Reports a rejected key as a generic ProviderError."""

    name = "broken-errors"

    def invoke(self, deployment, request, **params):
        try:
            return super().invoke(deployment, request, **params)
        except AuthenticationError as error:
            raise ProviderError(error.message, provider=self.name) from None


class NonIdempotentTeardown(ExampleProvider):
    """Fails when asked to tear down something already gone."""

    name = "broken-teardown"

    def teardown(self, deployment):
        name = deployment if isinstance(deployment, str) else deployment.name
        if self.records.load(name) is None:
            raise ProviderError(f"{name} does not exist", provider=self.name)
        super().teardown(deployment)


class SecretInRepr(ExampleProvider):
    """Shows its API key in its repr."""

    name = "broken-repr"

    def __repr__(self):
        return f"<SecretInRepr key={self.api_key()}>"


class DoubledRetries(ExampleProvider):
    """Retries on its own on top of hostkit's policy (as an SDK with retries left on would)."""

    name = "broken-retries"

    def invoke(self, deployment, request, **params):
        try:
            return super().invoke(deployment, request, **params)
        except HostkitError as error:
            if not error.retryable:
                raise
            return super().invoke(deployment, request, **params)
'''

KIT_RUN = """
import os
from pathlib import Path

import pytest

from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures
from hostkit.testing.plugins import plugins_on_path

CASSETTES = Path({cassettes!r})
SITES = [Path(p) for p in os.environ["HOSTKIT_KIT_SITES"].split(os.pathsep)]


class Fixtures(ProviderFixtures):
    credentials = {{"EXAMPLE_API_KEY": "ex-fake-kit-key-0000"}}
    cassette_folder = CASSETTES
    spec_fields = {{"model": "example-chat-8b"}}
    invoke_params = {{"max_tokens": 32}}
    deployment_name = "example-chat-8b"
    unpriced_spec_fields = {{"model": "example-chat-unpriced"}}

    @pytest.fixture(autouse=True)
    def _isolated(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOSTKIT_STATE_DIR", str(tmp_path / "state"))
        with plugins_on_path(*SITES):
            yield

    def trigger(self, provider, deployment, scenario):
        if scenario == "error_404":
            return provider.deploy({{"model": "no-such-model", "name": "missing-model"}})
        return super().trigger(provider, deployment, scenario)


class TestWrongErrorClass(Fixtures, ProviderComplianceTests):
    provider_name = "broken-errors"


class TestNonIdempotentTeardown(Fixtures, ProviderComplianceTests):
    provider_name = "broken-teardown"


class TestSecretInRepr(Fixtures, ProviderComplianceTests):
    provider_name = "broken-repr"


class TestDoubledRetries(Fixtures, ProviderComplianceTests):
    provider_name = "broken-retries"
"""

#: broken class -> the kit checks it must fail (every other check must pass)
EXPECTED_FAILURES = {
    "TestWrongErrorClass": {"test_error_401_is_authentication_error"},
    "TestNonIdempotentTeardown": {
        "test_teardown_leaves_nothing_and_is_idempotent",
        "test_teardown_of_something_missing_is_not_an_error",
    },
    "TestSecretInRepr": {"test_no_secret_leaks"},
    "TestDoubledRetries": {
        "test_error_429_exhausted_is_rate_limited_after_the_policy_s_retries",
        "test_error_5xx_is_provider_error_after_retries",
    },
}


@pytest.fixture
def kit_outcomes(
    pytester: pytest.Pytester, example_plugin_site: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, str]]:
    from hostkit.testing.plugins import write_distribution

    broken_site = write_distribution(
        pytester.path / "broken-site",
        "hostkit-broken-providers",
        entry_points={
            "broken-errors": "hostkit_broken:WrongErrorClass",
            "broken-teardown": "hostkit_broken:NonIdempotentTeardown",
            "broken-repr": "hostkit_broken:SecretInRepr",
            "broken-retries": "hostkit_broken:DoubledRetries",
        },
        modules={"hostkit_broken.py": textwrap.dedent(BROKEN_PROVIDERS)},
    )
    monkeypatch.setenv("HOSTKIT_KIT_SITES", f"{example_plugin_site}:{broken_site}")
    pytester.makepyfile(test_kit_run=KIT_RUN.format(cassettes=str(CASSETTES)))
    result = pytester.inline_run(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    outcomes: dict[str, dict[str, str]] = {}
    for report in result.getreports("pytest_runtest_logreport"):
        if report.when != "call" and not (report.when == "setup" and not report.passed):
            continue
        _, cls, test = report.nodeid.split("::")
        test = test.split("[")[0]  # error checks run per call: invoke, ainvoke, stream
        if outcomes.get(cls, {}).get(test) != "failed":
            outcomes.setdefault(cls, {})[test] = report.outcome
    return outcomes


def test_each_broken_provider_fails_exactly_its_checks(
    kit_outcomes: dict[str, dict[str, str]],
) -> None:
    assert set(kit_outcomes) == set(EXPECTED_FAILURES)
    for cls, expected in EXPECTED_FAILURES.items():
        failed = {test for test, outcome in kit_outcomes[cls].items() if outcome == "failed"}
        assert failed == expected, f"{cls}: failed {sorted(failed)}, expected {sorted(expected)}"
        passed = [t for t, o in kit_outcomes[cls].items() if o == "passed"]
        assert len(passed) >= 10, f"{cls}: the healthy checks should still pass"
