"""The provider compliance kit: one contract, checked the same way for every adapter.

A provider's test module combines the test classes with a fixtures class::

    from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

    class GroqFixtures(ProviderFixtures):
        provider_name = "groq"
        credentials = {"GROQ_API_KEY": "gsk-fake-compliance-key"}
        cassette_folder = Path(__file__).parent / "cassettes"
        spec_fields = {"model": "llama-3.1-8b-instant"}

    class TestGroqCompliance(GroqFixtures, ProviderComplianceTests):
        pass

The kit runs *scenarios*. Each scenario replays ``<cassette_folder>/<scenario>.yaml``
strictly (a request the cassette does not hold fails the test; a request it holds
that is never made fails it too), so the cassette is the evidence of what the
platform saw. Scenario names: ``deploy``, ``deploy_existing``, ``get``, ``invoke``,
``stream``, ``ainvoke``, ``scale``, ``autoscale``, ``scale_to_zero``, ``teardown``,
``teardown_missing``, ``deploy_failed``, ``error_401``, ``error_404``,
``error_429_then_ok``, ``error_429_exhausted``, ``error_5xx``.

* A missing cassette fails the scenario, unless the provider's capabilities say
  the operation does not exist there (then the kit checks that it raises
  ``Unsupported`` with a sentence), or the scenario is one that may legitimately
  send nothing (``get``, ``deploy_existing``, ``teardown``, ``teardown_missing`` on a
  serverless platform): then it runs against an empty cassette, so any request fails.
* ``cassette_folder = None`` runs live (the ``local`` provider: its real server).
* ``not_applicable = {"error_401": "why"}`` skips a scenario, visibly, with the reason.

Test classes (one per operation) can be used one by one or together through
:class:`ProviderComplianceTests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hostkit import Deployment, DeploymentSpec, Provider, errors, get_provider
from hostkit._http import REQUEST_ID_HEADERS
from hostkit._models import STATUSES
from hostkit.testing._cassettes import load_cassette, vcr_config

__all__ = [
    "ComplianceConstructionTests",
    "ComplianceDeployTests",
    "ComplianceErrorTests",
    "ComplianceInvokeTests",
    "ComplianceScaleTests",
    "ComplianceSecretTests",
    "ComplianceTeardownTests",
    "ProviderComplianceTests",
    "ProviderFixtures",
    "ScenarioRun",
]

#: scenarios that may send no request at all on a serverless platform
MAY_BE_SILENT = ("get", "deploy_existing", "teardown", "teardown_missing")
MISSING_NAME = "hostkit-compliance-missing"


@dataclass
class ScenarioRun:
    """What happened inside one scenario: requests made and waits the retry policy took."""

    name: str
    cassette_file: Path | None
    requests: int | None = None
    recorded: int | None = None
    waits: list[float] = field(default_factory=list)

    def response_header(self, name: str, *, last: bool = False) -> str | None:
        """The first (or last) recorded response header ``name`` (e.g. a request id)."""
        if self.cassette_file is None or not self.cassette_file.is_file():
            return None
        found = None
        for interaction in load_cassette(self.cassette_file):
            value = interaction.response.header(name)
            if value:
                if not last:
                    return value
                found = value
        return found

    def response_text(self) -> str:
        if self.cassette_file is None or not self.cassette_file.is_file():
            return ""
        parts = []
        for interaction in load_cassette(self.cassette_file):
            body = interaction.response.body
            parts.append(body)
            with contextlib.suppress(ValueError):
                data = json.loads(body)
                parts.append(json.dumps(data, ensure_ascii=False))
                parts.extend(_joined_token_lists(data))  # e.g. Replicate's output tokens
        return "\n".join(parts)


def _joined_token_lists(data: Any) -> Iterator[str]:
    """Every list of strings in a JSON body, joined (models that answer token by token)."""
    if isinstance(data, list) and data and all(isinstance(x, str) for x in data):
        yield "".join(data)
    elif isinstance(data, dict | list):
        for value in data.values() if isinstance(data, dict) else data:
            yield from _joined_token_lists(value)


class ProviderFixtures:
    """What a provider's test suite supplies; override the class attributes or fixtures."""

    #: registry name of the provider under test
    provider_name: ClassVar[str] = ""
    #: environment variables set for every scenario (fake values, never real ones)
    credentials: ClassVar[dict[str, str]] = {}
    #: provider settings used to build it for tests
    settings: ClassVar[dict[str, Any]] = {}
    #: folder of ``<scenario>.yaml`` cassettes; None runs against the live provider
    cassette_folder: ClassVar[Path | None] = None
    #: fields of the spec every scenario deploys (``provider`` and ``name`` are filled in)
    spec_fields: ClassVar[dict[str, Any]] = {}
    #: fields of a spec whose deploy fails on the platform (dedicated providers)
    failing_spec_fields: ClassVar[dict[str, Any] | None] = None
    #: the request sent by the invoke scenarios
    invoke_request: ClassVar[Any] = "Say hello in five words."
    invoke_params: ClassVar[dict[str, Any]] = {}
    #: scenario -> reason it does not apply to this provider (a visible skip)
    not_applicable: ClassVar[dict[str, str]] = {}
    #: name of the deployment the scenarios create
    deployment_name: ClassVar[str] = "hostkit-compliance"

    # -- fixtures ----------------------------------------------------------
    @pytest.fixture
    def fake_credentials(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
        for variable, value in self.credentials.items():
            monkeypatch.setenv(variable, value)
        return dict(self.credentials)

    @pytest.fixture
    def make_provider(self) -> Callable[..., Provider]:
        """Build the provider under test (each call a new instance)."""

        def build(**overrides: Any) -> Provider:
            provider = get_provider(self.provider_name, **{**self.settings, **overrides})
            provider.retry.sleep = lambda seconds: None

            async def no_wait(seconds: float) -> None:
                return None

            provider.retry.asleep = no_wait
            provider.sleep = lambda seconds: None
            return provider

        return build

    @pytest.fixture
    def provider(
        self, fake_credentials: dict[str, str], make_provider: Callable[..., Provider]
    ) -> Iterator[Provider]:
        provider = make_provider()
        yield provider
        if self.cassette_folder is None:  # live: never leave anything running
            for name in provider.records.names():
                with contextlib.suppress(errors.HostkitError):
                    provider.teardown(name)
        provider.close()

    @pytest.fixture
    def spec(self) -> DeploymentSpec:
        return DeploymentSpec.from_dict(
            {"provider": self.provider_name, "name": self.deployment_name, **self.spec_fields}
        )

    @pytest.fixture
    def deployment(self, provider: Provider, spec: DeploymentSpec) -> Deployment:
        """The spec deployed through the ``deploy`` scenario."""
        with self.scenario(provider, "deploy"):
            return provider.deploy(spec)

    # -- scenario runner ---------------------------------------------------
    def skip_if_not_applicable(self, name: str) -> None:
        if name in self.not_applicable:
            pytest.skip(f"{self.provider_name}: {name} does not apply: {self.not_applicable[name]}")

    def cassette_file(self, name: str) -> Path | None:
        return None if self.cassette_folder is None else Path(self.cassette_folder) / f"{name}.yaml"

    @contextlib.contextmanager
    def scenario(
        self, provider: Provider, name: str, *, may_be_silent: bool = False
    ) -> Iterator[ScenarioRun]:
        """Replay ``<name>.yaml`` strictly around the block and count what was sent."""
        self.skip_if_not_applicable(name)
        file = self.cassette_file(name)
        run = ScenarioRun(name, file)
        real_sleep, real_asleep = provider.retry.sleep, provider.retry.asleep

        def record_wait(seconds: float) -> None:
            run.waits.append(seconds)

        async def record_await(seconds: float) -> None:
            run.waits.append(seconds)

        provider.retry.sleep, provider.retry.asleep = record_wait, record_await
        try:
            if file is None:
                yield run
                return
            if not file.is_file() and not may_be_silent:
                pytest.fail(
                    f"{self.provider_name}: fixture for scenario {name!r} is missing: {file}"
                    " (record it, or declare why it does not apply in not_applicable)"
                )
            import vcr

            config = vcr_config(record_mode="none")
            with vcr.VCR().use_cassette(str(file), **config) as recorded:
                yield run
                run.requests = recorded.play_count
                run.recorded = len(recorded.data)
            if run.requests != run.recorded:
                pytest.fail(
                    f"{self.provider_name}: scenario {name!r} made {run.requests} of the"
                    f" {run.recorded} requests recorded in {file.name}"
                )
        finally:
            provider.retry.sleep, provider.retry.asleep = real_sleep, real_asleep

    def has_fixture(self, name: str) -> bool:
        file = self.cassette_file(name)
        return file is None or file.is_file()

    @staticmethod
    def assert_explained(error: errors.HostkitError) -> None:
        assert len(error.message.strip()) >= 20, f"Unsupported needs a sentence: {error.message!r}"


class ComplianceConstructionTests(ProviderFixtures):
    """Construction is free; credentials are checked at first use and named."""

    def test_construction_sends_no_request(
        self,
        fake_credentials: dict[str, str],
        make_provider: Callable[..., Provider],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        attempts: list[Any] = []

        def refuse(sock: socket.socket, address: Any) -> Any:
            attempts.append(address)
            raise OSError("hostkit compliance: construction must not connect")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket.socket, "connect_ex", refuse)
        make_provider()
        assert attempts == [], f"constructing {self.provider_name} connected to {attempts}"

    def test_missing_credential_is_named_at_first_use(
        self,
        make_provider: Callable[..., Provider],
        spec: DeploymentSpec,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        provider = make_provider()
        variable = provider.credential_variable()
        if variable is None:
            pytest.skip(
                f"{self.provider_name} takes no single credential variable (a cloud credential"
                " chain, or none): its own tests cover a missing sign-in"
            )
        if not self.credentials:
            pytest.skip(f"{self.provider_name} needs no credential")
        for name in self.credentials:
            monkeypatch.delenv(name, raising=False)
        with (
            self.scenario(provider, "no_credentials", may_be_silent=True),
            pytest.raises((errors.AuthenticationError, errors.ConfigError)) as caught,
        ):
            provider.deploy(spec)
        assert variable in str(caught.value), f"the error should name {variable}"


class ComplianceDeployTests(ProviderFixtures):
    """deploy returns a valid, serialisable Deployment; get finds it; deploy is idempotent."""

    def test_deploy_returns_a_valid_deployment(
        self, deployment: Deployment, spec: DeploymentSpec
    ) -> None:
        assert deployment.status in STATUSES
        assert deployment.name == spec.name and deployment.model == spec.model
        assert deployment.provider == self.provider_name
        again = Deployment.from_json(deployment.to_json())
        assert again.to_dict() == deployment.to_dict()

    def test_get_finds_it_again(
        self, provider: Provider, deployment: Deployment, make_provider: Callable[..., Provider]
    ) -> None:
        later = make_provider()  # as if from another process
        silent = not provider.capabilities_for(deployment).dedicated
        with self.scenario(later, "get", may_be_silent=silent):
            found = later.get(deployment.name)
        assert found.name == deployment.name and found.model == deployment.model
        assert found.status in STATUSES

    def test_deploying_the_same_spec_twice_creates_nothing_new(
        self, provider: Provider, deployment: Deployment, spec: DeploymentSpec
    ) -> None:
        dedicated = provider.capabilities_for(deployment).dedicated
        silent = not dedicated or self.cassette_folder is None
        with self.scenario(provider, "deploy_existing", may_be_silent=silent):
            second = provider.deploy(spec)
        assert second.name == deployment.name
        assert second.endpoint == deployment.endpoint
        assert second.fingerprint == deployment.fingerprint


class ComplianceInvokeTests(ProviderFixtures):
    """invoke, stream and ainvoke agree; latency is measured; cost is priced or warned."""

    def test_invoke_stream_and_ainvoke_agree(
        self, provider: Provider, deployment: Deployment
    ) -> None:
        with self.scenario(provider, "invoke") as run:
            result = provider.invoke(deployment, self.invoke_request, **self.invoke_params)
        assert result.latency_s > 0
        assert result.provider == self.provider_name
        if result.text and run.cassette_file is not None:
            assert result.text in run.response_text(), "text must come from the fixture"
        with self.scenario(provider, "ainvoke"):
            async_result = asyncio.run(
                provider.ainvoke(deployment, self.invoke_request, **self.invoke_params)
            )
        assert async_result.text == result.text
        assert async_result.usage == result.usage
        if not provider.capabilities_for(deployment).streaming:
            with pytest.raises(errors.Unsupported) as caught:
                provider.stream(deployment, self.invoke_request, **self.invoke_params)
            self.assert_explained(caught.value)
            return
        with self.scenario(provider, "stream"):
            stream = provider.stream(deployment, self.invoke_request, **self.invoke_params)
            chunks = list(stream)
        assert stream.result is not None
        assert "".join(chunks) == stream.result.text == result.text
        assert stream.result.usage == result.usage
        if result.text:
            assert stream.result.ttft_s is not None and stream.result.ttft_s > 0

    def test_invoke_cost_is_priced_with_a_source_or_warned(
        self, provider: Provider, deployment: Deployment
    ) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with self.scenario(provider, "invoke"):
                result = provider.invoke(deployment, self.invoke_request, **self.invoke_params)
        unknown = [w for w in caught if issubclass(w.category, errors.PriceUnknown)]
        if provider.capabilities_for(deployment).dedicated:
            assert result.cost_usd is None, "dedicated capacity is billed by the hour"
            estimate = provider.cost(deployment, hours=1)
        elif result.cost_usd is None:
            assert len(unknown) == 1, "an unknown price gives exactly one PriceUnknown warning"
            return
        else:
            assert result.cost_usd > 0
            estimate = provider.cost(
                deployment,
                input_tokens=result.usage.input_tokens,
                output_tokens=result.usage.output_tokens,
            )
            assert estimate.usd == pytest.approx(result.cost_usd)
        if estimate.usd is not None:
            assert estimate.usd >= 0 and estimate.source and estimate.as_of
        else:
            assert estimate.warnings


class ComplianceScaleTests(ProviderFixtures):
    """scale does what the capabilities say, or raises Unsupported with a reason."""

    def _caps(self, provider: Provider, deployment: Deployment) -> Any:
        return provider.capabilities_for(deployment)

    def test_scale_to_fixed_replicas(self, provider: Provider, deployment: Deployment) -> None:
        if not self._caps(provider, deployment).manual_scaling:
            with pytest.raises(errors.Unsupported) as caught:
                provider.scale(deployment, 2)
            self.assert_explained(caught.value)
            return
        with self.scenario(provider, "scale"):
            scaled = provider.scale(deployment, 2)
        assert scaled.name == deployment.name
        assert scaled.replicas == 2 or scaled.status == "updating"

    def test_autoscale_bounds(self, provider: Provider, deployment: Deployment) -> None:
        if not self._caps(provider, deployment).autoscaling:
            with pytest.raises(errors.Unsupported) as caught:
                provider.scale(deployment, min_replicas=1, max_replicas=2)
            self.assert_explained(caught.value)
            return
        with self.scenario(provider, "autoscale"):
            scaled = provider.scale(deployment, min_replicas=1, max_replicas=2)
        assert scaled.name == deployment.name
        assert (scaled.min_replicas, scaled.max_replicas) in ((1, 2), (None, None))

    def test_scale_to_zero(self, provider: Provider, deployment: Deployment) -> None:
        if not self._caps(provider, deployment).scale_to_zero:
            with pytest.raises(errors.Unsupported) as caught:
                provider.scale(deployment, 0)
            self.assert_explained(caught.value)
            return
        with self.scenario(provider, "scale_to_zero"):
            scaled = provider.scale(deployment, 0)
        assert scaled.status in ("scaled_to_zero", "updating", "ready")


class ComplianceTeardownTests(ProviderFixtures):
    """teardown leaves nothing billable, twice; a failed deploy cleans up after itself."""

    def test_teardown_leaves_nothing_and_is_idempotent(
        self, provider: Provider, deployment: Deployment
    ) -> None:
        silent = not provider.capabilities_for(deployment).dedicated
        with self.scenario(provider, "teardown", may_be_silent=silent):
            provider.teardown(deployment)
            left = provider.find(deployment.name)
            assert left is None or left.status == "deleted", f"still there: {left}"
            provider.teardown(deployment)  # a second teardown is not an error

    def test_teardown_of_something_missing_is_not_an_error(
        self, provider: Provider, spec: DeploymentSpec
    ) -> None:
        dedicated = provider.capabilities_for_spec(spec).dedicated
        silent = not dedicated or self.cassette_folder is None
        with self.scenario(provider, "teardown_missing", may_be_silent=silent):
            provider.teardown(MISSING_NAME)

    def test_failed_deploy_raises_with_the_reason_and_cleans_up(
        self, provider: Provider, spec: DeploymentSpec
    ) -> None:
        if not provider.capabilities_for_spec(spec).dedicated:
            pytest.skip(f"{self.provider_name} is serverless: deploy creates nothing to fail")
        if self.failing_spec_fields is None:
            pytest.fail("a dedicated provider must give failing_spec_fields for deploy_failed")
        spec = DeploymentSpec.from_dict(
            {
                "provider": self.provider_name,
                "name": f"{self.deployment_name}-failed",
                **self.failing_spec_fields,
            }
        )
        with self.scenario(provider, "deploy_failed"):
            with pytest.raises(errors.DeploymentFailed) as caught:
                provider.deploy(spec)
            assert caught.value.reason, "DeploymentFailed must carry the platform's reason"
            left = provider.find(spec.name)
        assert left is None or left.status == "deleted", f"a failed deploy left {left}"


class ComplianceErrorTests(ProviderFixtures):
    """Each error scenario maps to the right class, with the platform's words, retried right."""

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        """The call an error scenario makes: invoke, unless the provider overrides this."""
        return provider.invoke(deployment, self.invoke_request, **self.invoke_params)

    def _expect(
        self,
        provider: Provider,
        deployment: Deployment,
        name: str,
        error_class: type[errors.HostkitError],
    ) -> tuple[errors.HostkitError, ScenarioRun]:
        with self.scenario(provider, name) as run, pytest.raises(error_class) as caught:
            self.trigger(provider, deployment, name)
        error = caught.value
        assert error.message.strip(), "the platform's message must reach the user"
        assert error.provider == self.provider_name
        recorded_id = next(
            (v for n in REQUEST_ID_HEADERS if (v := run.response_header(n, last=True))), None
        )
        if recorded_id:
            assert error.request_id == recorded_id, "the request id must reach the user"
        return error, run

    def test_error_401_is_authentication_error(
        self, provider: Provider, deployment: Deployment
    ) -> None:
        _, run = self._expect(provider, deployment, "error_401", errors.AuthenticationError)
        assert run.requests in (None, 1), "a 401 is never retried"

    def test_error_404_is_not_found(self, provider: Provider, deployment: Deployment) -> None:
        _, run = self._expect(provider, deployment, "error_404", errors.NotFound)
        assert run.requests in (None, 1), "a 404 is never retried"

    def test_error_429_then_ok_retries_once_honouring_retry_after(
        self, provider: Provider, deployment: Deployment
    ) -> None:
        with self.scenario(provider, "error_429_then_ok") as run:
            result = self.trigger(provider, deployment, "error_429_then_ok")
        assert result is not None
        assert run.requests in (None, 2), f"expected 2 requests, made {run.requests}"
        retry_after = run.response_header("retry-after")
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            assert run.waits == [pytest.approx(float(retry_after))]

    def test_error_429_exhausted_is_rate_limited_after_the_policy_s_retries(
        self, provider: Provider, deployment: Deployment
    ) -> None:
        _, run = self._expect(provider, deployment, "error_429_exhausted", errors.RateLimited)
        expected = provider.retry.max_retries + 1
        assert run.requests in (None, expected), f"expected {expected}, made {run.requests}"

    def test_error_5xx_is_provider_error_after_retries(
        self, provider: Provider, deployment: Deployment
    ) -> None:
        error, run = self._expect(provider, deployment, "error_5xx", errors.ProviderError)
        assert error.status_code is not None and error.status_code >= 500
        allowed = (None, 1, provider.retry.max_retries + 1)  # 1: a call that is not safe to repeat
        assert run.requests in allowed, f"made {run.requests} requests"


class ComplianceSecretTests(ProviderFixtures):
    """The fake credentials never appear in reprs, errors, logs or saved state."""

    def test_no_secret_leaks(
        self,
        provider: Provider,
        spec: DeploymentSpec,
        caplog: pytest.LogCaptureFixture,
        fake_credentials: dict[str, str],
    ) -> None:
        secrets = [v for v in fake_credentials.values() if v] + [
            str(v) for k, v in self.settings.items() if "key" in k or "token" in k
        ]
        if not secrets:
            pytest.skip(f"{self.provider_name} takes no credential")
        caplog.set_level(logging.DEBUG)
        seen: list[str] = [repr(provider), str(provider)]
        with self.scenario(provider, "deploy"):
            deployment = provider.deploy(spec)
        seen += [repr(deployment), deployment.to_json()]
        if self.has_fixture("invoke"):
            with self.scenario(provider, "invoke"):
                result = provider.invoke(deployment, self.invoke_request, **self.invoke_params)
            seen += [repr(result), json.dumps(result.to_dict(), default=str)]
        if self.has_fixture("error_401") and "error_401" not in self.not_applicable:
            with self.scenario(provider, "error_401"), pytest.raises(errors.HostkitError) as caught:
                provider.invoke(deployment, self.invoke_request, **self.invoke_params)
            error = caught.value
            seen += [str(error), repr(error), error.message, repr(error.args)]
        seen += [record.getMessage() for record in caplog.records]
        folder = provider.records.folder
        if folder.is_dir():
            seen += [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
        for secret in secrets:
            leaks = [text[:200] for text in seen if secret in text]
            assert not leaks, f"a credential leaked into: {leaks}"


class ProviderComplianceTests(
    ComplianceConstructionTests,
    ComplianceDeployTests,
    ComplianceInvokeTests,
    ComplianceScaleTests,
    ComplianceTeardownTests,
    ComplianceErrorTests,
    ComplianceSecretTests,
):
    """Every compliance check; subclass it together with your fixtures."""
