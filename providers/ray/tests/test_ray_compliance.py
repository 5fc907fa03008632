"""The ray provider through the compliance kit, live against the shared real Ray head
(conftest.py): deploy, get, invoke, scale, scale to zero, teardown and a failed deploy are
the real cluster's answers.

Error scenarios: ``error_404`` is live (an invoke of a route the Serve proxy does not have);
``error_401`` replays the 401 recorded from a real head with token auth on
(fixtures/dashboard.json, "unauthorized") through the kit's strict cassette replay, on the
call that answered it: the dashboard's look-up. The rest cannot happen on Ray Serve, or
are recorded on a call the kit does not drive; ``not_applicable`` says which and why.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

import hostkit
from hostkit import Deployment, DeploymentSpec, Provider
from hostkit.testing.compliance import (
    MISSING_NAME,
    ProviderComplianceTests,
    ProviderFixtures,
)

HERE = Path(__file__).parent
#: the example OpenAI-compatible server, one per replica (as test_ray.py runs it)
FAKE_LLM = [
    sys.executable,
    "-m",
    "hostkit_examples.fake_openai_server",
    "--host",
    "{host}",
    "--port",
    "{port}",
    "--model",
    "{model}",
]
RECORDED = json.loads((HERE / "fixtures" / "dashboard.json").read_text())
#: where the recorded answers came from (the dashboard of test_ray_errors.py)
RECORDED_ADDRESS = "http://ray-head.test:8265"
#: scenario -> (entry of dashboard.json, the request that got it)
REPLAYED = {"error_401": ("unauthorized", "GET", "/api/serve/applications/")}
NO_RATE_LIMIT = (
    "Ray Serve has no rate limit: a full replica queue answers 503 (max_queued_requests), never 429"
)
#: scenario names of the kit's error tests, longest first (test name -> scenario)
ERROR_SCENARIOS = sorted(
    ("error_401", "error_404", "error_429_then_ok", "error_429_exhausted", "error_5xx"),
    key=len,
    reverse=True,
)


def _cassette(entry: str, method: str, path: str) -> dict[str, Any]:
    """A vcrpy cassette of one answer recorded in dashboard.json."""
    answer = RECORDED[entry]
    return {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": method,
                    "uri": f"{RECORDED_ADDRESS}{path}",
                    "body": "",
                    "headers": {},
                },
                "response": {
                    "status": {"code": answer["status"], "message": ""},
                    "headers": {k: [v] for k, v in answer["headers"].items()},
                    "body": {"string": answer["body"]},
                },
            }
        ],
    }


def _error_scenario(test_name: str) -> str | None:
    """The error scenario a kit test drives (``test_error_404_is_not_found`` -> error_404)."""
    rest = test_name.removeprefix("test_")
    return next((s for s in ERROR_SCENARIOS if rest.startswith(s)), None)


class RayFixtures(ProviderFixtures):
    provider_name = "ray"
    cassette_folder = None  # live (error_401 replays a recorded answer: cassette_file)
    spec_fields: ClassVar[dict[str, object]] = {
        "model": "hostkit_examples.study_score:predict",
        "scale_to_zero_after": 1,  # scale(0) idles 1 s before the last replica goes
    }
    failing_spec_fields: ClassVar[dict[str, object]] = {"model": "no_such_module_xyz:predict"}
    invoke_request: ClassVar[Any] = {"hours": 6}
    not_applicable: ClassVar[dict[str, str]] = {
        "error_429_then_ok": NO_RATE_LIMIT,
        "error_429_exhausted": NO_RATE_LIMIT,
        "error_5xx": (
            "a live head answers no 5xx on demand, and the 500 recorded from the Serve REST"
            " API answered the PUT deploy makes after reading the set, not a call the kit"
            " drives; test_ray_errors.py replays it (a ProviderError with Ray's text)"
        ),
    }

    _state: Path
    _cassettes: Path

    @pytest.fixture
    def make_provider(self, ray_head: Any, tmp_path: Path) -> Callable[..., Provider]:
        """The provider on the shared head. Retry waits are recorded, not slept (as the
        kit does); the polls of deploy, scale and teardown do sleep: the head is real."""
        self._state = tmp_path / "state"
        self._cassettes = tmp_path / "cassettes"
        self._cassettes.mkdir()
        for scenario, (entry, method, path) in REPLAYED.items():
            text = yaml.safe_dump(_cassette(entry, method, path), sort_keys=False)
            (self._cassettes / f"{scenario}.yaml").write_text(text)

        def build(**overrides: Any) -> Provider:
            settings = ray_head.settings(state_dir=str(self._state))
            provider = hostkit.get_provider("ray", **{**settings, **overrides})
            provider.retry.sleep = lambda seconds: None

            async def no_wait(seconds: float) -> None:
                return None

            provider.retry.asleep = no_wait
            return provider

        return build

    def cassette_file(self, name: str) -> Path | None:
        return self._cassettes / f"{name}.yaml" if name in REPLAYED else None

    @pytest.fixture
    def deployment(
        self, request: pytest.FixtureRequest, provider: Provider, spec: DeploymentSpec
    ) -> Deployment:
        """Deployed live, except where the error test it is for would skip (no deploy
        wasted on a skip) or replays a recorded answer (which needs none)."""
        scenario = _error_scenario(request.node.originalname)
        call = getattr(request.node, "callspec", None)
        call = call.params.get("call") if call else None
        if scenario:
            self.skip_if_not_applicable(scenario)
            if call == "stream" and not provider.capabilities_for_spec(spec).streaming:
                pytest.skip(f"{self.provider_name} does not stream here (a Python model)")
            if scenario in REPLAYED:
                if call != "invoke":
                    pytest.skip(
                        f"{scenario} is recorded on the dashboard's look-up, which has one"
                        " (synchronous) form: replayed once, through invoke's run"
                    )
                return Deployment(
                    name=spec.name,
                    provider="ray",
                    model=spec.model,
                    status="ready",
                    endpoint=f"http://ray-head.test:8000/{spec.name}",
                    raw={"kind": "python"},
                )
        with self.scenario(provider, "deploy"):
            return provider.deploy(spec)

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        if scenario in REPLAYED:  # the dashboard that answered it: a look-up there
            recorded = hostkit.get_provider(
                "ray",
                address=RECORDED_ADDRESS,
                max_retries=0,
                state_dir=str(self._state / "recorded"),
            )
            try:
                return recorded.find(deployment.name)
            finally:
                recorded.close()
        if scenario == "error_404":  # a route the Serve proxy does not have
            gone = copy.copy(deployment)
            gone.name = MISSING_NAME
            gone.endpoint = f"{deployment.endpoint.rsplit('/', 1)[0]}/{MISSING_NAME}"
            return super().trigger(provider, gone, scenario)
        return super().trigger(provider, deployment, scenario)


class TestRayCompliance(RayFixtures, ProviderComplianceTests):
    pass


class TestRayLlmCompliance(RayFixtures, ProviderComplianceTests):
    """The kit again with an OpenAI-compatible server per replica (``options.command``): the
    kind that streams, so the kit's stream, async stream and stream-error tests run too."""

    spec_fields: ClassVar[dict[str, object]] = {
        "model": "fake-llm",
        "options": {"command": FAKE_LLM},
        "scale_to_zero_after": 1,
    }
    invoke_request: ClassVar[Any] = "hello compliance kit"
