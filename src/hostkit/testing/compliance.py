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
``teardown_missing``, ``deploy_failed``, ``unpriced``, ``error_401``, ``error_404``,
``error_429_then_ok``, ``error_429_exhausted``, ``error_5xx`` (and optionally
``<error scenario>_stream``).

The fixtures are evidence, not just replies: the token counts in a recorded answer
must be the ``usage`` returned, a recorded error's message must reach the error the
user sees, and a recorded failure reason must be in ``DeploymentFailed.reason``. Every
error scenario runs through ``invoke``, ``ainvoke`` and ``stream``. The table of
checks is in docs/writing-a-provider.md.

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
from typing import Any, ClassVar, TypeGuard

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
#: a model and an instance no price table holds
UNPRICED_MODEL = "hostkit-compliance/unpriced-model"
UNPRICED_INSTANCE = "hostkit-compliance-unpriced-instance"


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

    def documents(self) -> list[Any]:
        """Every JSON document in the recorded responses (whole bodies and SSE data lines)."""
        if self.cassette_file is None or not self.cassette_file.is_file():
            return []
        found: list[Any] = []
        for interaction in load_cassette(self.cassette_file):
            found.extend(_json_documents(interaction.response.body))
        return found

    def recorded_usage(self) -> tuple[int, int] | None:
        """The (input, output) token counts the platform reported in the fixture, if any."""
        counts = [u for doc in self.documents() for u in _usage_pairs(doc)]
        return counts[-1] if counts else None

    def error_message(self) -> str | None:
        """The platform's own error message in the last recorded response, if it has one."""
        if self.cassette_file is None or not self.cassette_file.is_file():
            return None
        interactions = load_cassette(self.cassette_file)
        if not interactions:
            return None
        for doc in _json_documents(interactions[-1].response.body):
            message = _message_in(doc)
            if message:
                return message
        return None

    def failure_texts(self) -> list[str]:
        """Sentences in the fixture that explain a failure (reason, message, error, ...)."""
        texts: list[str] = []
        for doc in self.documents():
            texts.extend(_failure_texts(doc))
        return texts


#: (input, output) usage key pairs of the wire formats hostkit knows
USAGE_KEYS = (
    ("prompt_tokens", "completion_tokens"),
    ("input_tokens", "output_tokens"),
    ("input_token_count", "output_token_count"),
    ("promptTokenCount", "candidatesTokenCount"),
    ("inputTokens", "outputTokens"),
)
#: keys whose value is the platform's explanation of an error or a failure
MESSAGE_KEYS = ("message", "detail", "error_description", "error", "msg", "title", "Message")
#: how much of the platform's message must reach the user word for word
MESSAGE_PREFIX = 120
FAILURE_KEY_PARTS = ("reason", "message", "error", "detail", "failure", "status_message")


def _json_documents(body: str) -> list[Any]:
    """A response body as JSON: the whole body, or each ``data:`` line of an SSE stream."""
    with contextlib.suppress(ValueError):
        return [json.loads(body)]
    docs = []
    for line in body.splitlines():
        if line.startswith("data:"):
            with contextlib.suppress(ValueError):
                docs.append(json.loads(line[5:].strip()))
    return docs


def _usage_pairs(data: Any) -> Iterator[tuple[int, int]]:
    if isinstance(data, dict):
        for input_key, output_key in USAGE_KEYS:
            given, made = data.get(input_key), data.get(output_key)
            if _count(given) and _count(made):
                yield given, made
        for value in data.values():
            yield from _usage_pairs(value)
    elif isinstance(data, list):
        for value in data:
            yield from _usage_pairs(value)


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _message_in(data: Any) -> str | None:
    """The most specific message in an error body (``error.message`` before ``error``)."""
    if isinstance(data, dict):
        for key in MESSAGE_KEYS:
            value = data.get(key)
            if isinstance(value, dict | list):
                inner = _message_in(value)
                if inner:
                    return inner
            elif isinstance(value, str) and len(value.strip()) >= 8:
                return value
    if isinstance(data, list):
        for value in data:
            inner = _message_in(value)
            if inner:
                return inner
    return None


def _failure_texts(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            lowered = str(key).lower()
            if isinstance(value, str) and any(part in lowered for part in FAILURE_KEY_PARTS):
                if len(value.strip()) >= 12:
                    yield value
            else:
                yield from _failure_texts(value)
    elif isinstance(data, list):
        for value in data:
            yield from _failure_texts(value)


def _squeezed(text: str) -> str:
    return " ".join(text.split())


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
    #: fields of a spec with no price row (None: ``spec_fields`` with a made-up model,
    #: or a made-up instance on a dedicated provider)
    unpriced_spec_fields: ClassVar[dict[str, Any] | None] = None

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
            with pytest.MonkeyPatch.context() as patch:  # construction waits for nothing
                _virtual_clock(patch, sleeps=False)
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
        """Replay ``<name>.yaml`` strictly around the block and count what was sent.

        While ``self.loose_body`` holds a reason, requests are matched on everything
        but their body, and a block that plays none of the recorded requests is
        skipped with that reason.
        """
        loose = getattr(self, "loose_body", None)
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
            if loose:
                config["match_on"] = [m for m in config["match_on"] if m != "body"]
            with vcr.VCR().use_cassette(str(file), **config) as recorded:
                try:
                    yield run
                finally:
                    run.requests = recorded.play_count
                    run.recorded = len(recorded.data)
                    if loose and not run.requests:
                        pytest.skip(loose)
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


def _refuse_every_transport(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Refuse (and record) every way out: name resolution, sockets, httpx transports.

    Intercepting at the transport sees a request even where name resolution fails
    (an offline sandbox) and even when an SDK brings its own httpx client.
    """
    import http.client

    import httpx

    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[1] if len(args) > 1 else args)
        raise OSError("hostkit compliance: construction must not connect")

    def refuse_http(transport: Any, request: httpx.Request) -> Any:
        attempts.append(str(request.url))
        raise httpx.ConnectError("hostkit compliance: construction must not connect")

    async def refuse_ahttp(transport: Any, request: httpx.Request) -> Any:
        return refuse_http(transport, request)

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a[0] if a else a))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(http.client.HTTPConnection, "connect", refuse)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse_http)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", refuse_ahttp)
    monkeypatch.setattr(httpx.Client, "send", lambda c, r, **k: refuse_http(c, r))
    monkeypatch.setattr(httpx.AsyncClient, "send", lambda c, r, **k: refuse_ahttp(c, r))
    return attempts


def _virtual_clock(monkeypatch: pytest.MonkeyPatch, *, sleeps: bool = True) -> list[float]:
    """Waits are recorded, never slept: retry policies built from now on, and with
    ``sleeps`` also ``time.sleep`` and ``asyncio.sleep``."""
    import time

    from hostkit import _provider, _retry

    waits: list[float] = []

    async def record_await(seconds: float) -> None:
        waits.append(seconds)

    def policy(*args: Any, **kwargs: Any) -> _retry.RetryPolicy:
        kwargs.setdefault("sleep", waits.append)
        kwargs.setdefault("asleep", record_await)
        return _retry.RetryPolicy(*args, **kwargs)

    monkeypatch.setattr(_provider, "RetryPolicy", policy)
    if sleeps:
        monkeypatch.setattr(time, "sleep", waits.append)
        monkeypatch.setattr(asyncio, "sleep", record_await)
    return waits


class ComplianceConstructionTests(ProviderFixtures):
    """Construction is free; credentials are checked at first use and named."""

    def test_construction_sends_no_request(
        self,
        fake_credentials: dict[str, str],
        make_provider: Callable[..., Provider],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        attempts = _refuse_every_transport(monkeypatch)
        waits = _virtual_clock(monkeypatch)
        try:
            make_provider()
        except Exception as error:  # a request that failed still counts as sent
            attempts.append(f"(construction raised {type(error).__name__})")
        assert attempts == [], f"constructing {self.provider_name} sent a request: {attempts}"
        assert waits == [], f"constructing {self.provider_name} waited {waits}"

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
        self.assert_usage_as_recorded(result, run)
        with self.scenario(provider, "ainvoke") as arun:
            async_result = asyncio.run(
                provider.ainvoke(deployment, self.invoke_request, **self.invoke_params)
            )
        assert async_result.text == result.text
        assert async_result.usage == result.usage
        self.assert_usage_as_recorded(async_result, arun)
        if not provider.capabilities_for(deployment).streaming:
            with pytest.raises(errors.Unsupported) as caught:
                provider.stream(deployment, self.invoke_request, **self.invoke_params)
            self.assert_explained(caught.value)
            return
        with self.scenario(provider, "stream") as srun:
            stream = provider.stream(deployment, self.invoke_request, **self.invoke_params)
            chunks = list(stream)
        assert stream.result is not None
        self.assert_usage_as_recorded(stream.result, srun)
        assert "".join(chunks) == stream.result.text == result.text
        assert stream.result.usage == result.usage
        if result.text:
            assert stream.result.ttft_s is not None and stream.result.ttft_s > 0

    @staticmethod
    def assert_usage_as_recorded(result: Any, run: ScenarioRun) -> None:
        """Token counts are the platform's own, input and output each in its place."""
        recorded = run.recorded_usage()
        if recorded is None:
            return
        counted = (result.usage.input_tokens, result.usage.output_tokens)
        assert counted == recorded, (
            f"usage (input, output) = {counted}, but the fixture {run.name!r} reports"
            f" {recorded}: token counts must be the platform's, each in its place"
        )

    def unpriced_spec(self, provider: Provider) -> DeploymentSpec:
        """A spec whose model (serverless) or instance (dedicated) has no price row."""
        fields = self.unpriced_spec_fields
        if fields is None:
            spec = DeploymentSpec.from_dict(
                {"provider": self.provider_name, "name": "u", **self.spec_fields}
            )
            if provider.capabilities_for_spec(spec).dedicated:
                fields = {**self.spec_fields, "instance": UNPRICED_INSTANCE}
            else:
                fields = {**self.spec_fields, "model": UNPRICED_MODEL}
        return DeploymentSpec.from_dict(
            {"provider": self.provider_name, "name": f"{self.deployment_name}-unpriced", **fields}
        )

    def test_an_unpriced_model_costs_none_with_one_warning(self, provider: Provider) -> None:
        spec = self.unpriced_spec(provider)
        dedicated = provider.capabilities_for_spec(spec).dedicated
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if dedicated:
                estimate = provider.cost(spec, hours=1)
            else:
                estimate = provider.cost(spec, input_tokens=1000, output_tokens=1000)
        unknown = [w for w in caught if issubclass(w.category, errors.PriceUnknown)]
        if estimate.usd == 0 and estimate.source and not unknown and not estimate.warnings:
            pytest.skip(
                f"{self.provider_name} prices anything at 0, saying why ({estimate.source}):"
                " nothing it runs can be unpriced"
            )
        assert estimate.usd is None, (
            f"no price row for {spec.instance if dedicated else spec.model!r}, yet a cost of"
            f" {estimate.usd} (source {estimate.source!r}): an unknown price is None"
        )
        assert len(unknown) == 1, f"expected exactly one PriceUnknown warning, got {len(unknown)}"
        assert estimate.warnings, "the estimate must say which price is missing"

    def test_invoking_an_unpriced_model_costs_none_with_one_warning(
        self, provider: Provider
    ) -> None:
        spec = self.unpriced_spec(provider)
        if provider.capabilities_for_spec(spec).dedicated:
            pytest.skip(
                f"{self.provider_name}: this spec deploys dedicated capacity (its"
                " capabilities say so), priced by the hour: invoke has no price of its own"
                " (the unpriced instance is checked through cost)"
            )
        if not self.has_fixture("unpriced"):
            pytest.skip(
                f"{self.provider_name}: no unpriced.yaml (deploy and invoke of"
                f" {spec.model!r}, a model with no price row) recorded to check it"
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with self.scenario(provider, "unpriced"):
                deployment = provider.deploy(spec)
                result = provider.invoke(deployment, self.invoke_request, **self.invoke_params)
        unknown = [w for w in caught if issubclass(w.category, errors.PriceUnknown)]
        assert result.cost_usd is None, (
            f"{spec.model!r} has no price row, yet invoke says it cost {result.cost_usd}"
        )
        assert len(unknown) == 1, f"expected exactly one PriceUnknown warning, got {len(unknown)}"

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
        with self.scenario(provider, "deploy_failed") as run:
            with pytest.raises(errors.DeploymentFailed) as caught:
                provider.deploy(spec)
            assert caught.value.reason, "DeploymentFailed must carry the platform's reason"
            left = provider.find(spec.name)
        assert left is None or left.status == "deleted", f"a failed deploy left {left}"
        texts = run.failure_texts()
        if texts:
            reason = _squeezed(caught.value.reason)
            assert any(_squeezed(text)[:MESSAGE_PREFIX] in reason for text in texts), (
                f"DeploymentFailed.reason {caught.value.reason!r} lost the platform's words;"
                f" the fixture says {texts[:3]}"
            )


#: the three ways an error scenario is driven: each must raise the same hostkit error
CALLS = ("invoke", "ainvoke", "stream")


class ComplianceErrorTests(ProviderFixtures):
    """Each error scenario maps to the right class, with the platform's words, retried right.

    Every scenario runs through ``invoke``, ``ainvoke`` and ``stream``. A stream sends a
    different body, so unless ``<scenario>_stream.yaml`` is recorded it replays the
    scenario's cassette matched without the body (the platform answers an error the
    same way whether or not the request asked for a stream).
    """

    #: set by the error tests: which call the default :meth:`trigger` makes
    call: str = "invoke"
    #: set by the error tests: replay without matching bodies, skipping with this reason
    loose_body: str | None = None

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        """The call an error scenario makes: invoke (or ainvoke, or stream, per ``self.call``).

        Override it for scenarios recorded on another operation (a deploy, a look-up).
        """
        request, params = self.invoke_request, self.invoke_params
        if self.call == "ainvoke":
            return asyncio.run(provider.ainvoke(deployment, request, **params))
        if self.call == "stream":
            stream = provider.stream(deployment, request, **params)
            with stream:
                for _ in stream:
                    pass
            return stream.result
        return provider.invoke(deployment, request, **params)

    def _drive(
        self, provider: Provider, deployment: Deployment, name: str, call: str
    ) -> contextlib.AbstractContextManager[ScenarioRun]:
        """The scenario ``name`` set up for ``call`` (skipped where that call does not apply)."""
        self.skip_if_not_applicable(name)
        self.call = call
        self.loose_body = None
        if call != "stream":
            return self.scenario(provider, name)
        if not provider.capabilities_for(deployment).streaming:
            pytest.skip(f"{self.provider_name} does not stream here (stream raises Unsupported)")
        if self.has_fixture(f"{name}_stream"):
            return self.scenario(provider, f"{name}_stream")
        if name == "error_429_then_ok":
            pytest.skip(
                f"{self.provider_name}: the success recorded in {name}.yaml is not a stream;"
                f" record {name}_stream.yaml to check a stream's retry"
            )
        self.loose_body = (
            f"{self.provider_name}: stream sends a request {name}.yaml does not hold (another"
            f" path or method); record {name}_stream.yaml to check a stream's {name}"
        )
        return self.scenario(provider, name)

    def _expect(
        self,
        provider: Provider,
        deployment: Deployment,
        name: str,
        error_class: type[errors.HostkitError],
        call: str,
    ) -> tuple[errors.HostkitError, ScenarioRun]:
        scenario = self._drive(provider, deployment, name, call)
        with scenario as run, pytest.raises(Exception) as caught:
            self.trigger(provider, deployment, name)
        error = caught.value
        assert isinstance(error, errors.HostkitError), (
            f"{call}: {name} let {type(error).__module__}.{type(error).__name__} escape:"
            f" {str(error)[:200]!r}; every failure must be a hostkit.errors type"
        )
        assert isinstance(error, error_class), (
            f"{call}: {name} raised {type(error).__name__}, expected {error_class.__name__}"
        )
        assert error.message.strip(), "the platform's message must reach the user"
        assert error.provider == self.provider_name
        recorded_id = next(
            (v for n in REQUEST_ID_HEADERS if (v := run.response_header(n, last=True))), None
        )
        if recorded_id:
            assert error.request_id == recorded_id, "the request id must reach the user"
        said = run.error_message()
        if said:  # its start at least: adapters may cut a long message short
            assert _squeezed(said)[:MESSAGE_PREFIX] in _squeezed(str(error)), (
                f"{call}: the error {error.message!r} lost the platform's message {said!r}"
            )
        return error, run

    @pytest.mark.parametrize("call", CALLS)
    def test_error_401_is_authentication_error(
        self, provider: Provider, deployment: Deployment, call: str
    ) -> None:
        _, run = self._expect(provider, deployment, "error_401", errors.AuthenticationError, call)
        assert run.requests in (None, 1), "a 401 is never retried"

    @pytest.mark.parametrize("call", CALLS)
    def test_error_404_is_not_found(
        self, provider: Provider, deployment: Deployment, call: str
    ) -> None:
        _, run = self._expect(provider, deployment, "error_404", errors.NotFound, call)
        assert run.requests in (None, 1), "a 404 is never retried"

    @pytest.mark.parametrize("call", CALLS)
    def test_error_429_then_ok_retries_once_honouring_retry_after(
        self, provider: Provider, deployment: Deployment, call: str
    ) -> None:
        with self._drive(provider, deployment, "error_429_then_ok", call) as run:
            result = self.trigger(provider, deployment, "error_429_then_ok")
        assert result is not None
        assert run.requests in (None, 2), f"expected 2 requests, made {run.requests}"
        retry_after = run.response_header("retry-after")
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            assert run.waits == [pytest.approx(float(retry_after))]

    @pytest.mark.parametrize("call", CALLS)
    def test_error_429_exhausted_is_rate_limited_after_the_policy_s_retries(
        self, provider: Provider, deployment: Deployment, call: str
    ) -> None:
        _, run = self._expect(provider, deployment, "error_429_exhausted", errors.RateLimited, call)
        expected = provider.retry.max_retries + 1
        assert run.requests in (None, expected), f"expected {expected}, made {run.requests}"

    @pytest.mark.parametrize("call", CALLS)
    def test_error_5xx_is_provider_error_after_retries(
        self, provider: Provider, deployment: Deployment, call: str
    ) -> None:
        error, run = self._expect(provider, deployment, "error_5xx", errors.ProviderError, call)
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
