"""Operation events: hooks (process-wide and per provider), a failing hook, the INFO log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import hostkit
from hostkit import Capabilities, Deployment, DeploymentSpec, InvokeResult, Stream, Usage, errors
from hostkit._provider import Provider


class Recorder(Provider):
    """An in-memory provider: enough to watch events flow."""

    name = "recorder"
    capabilities = Capabilities(dedicated=True, streaming=True, manual_scaling=True)

    def setup(self) -> None:
        self.store: dict[str, Deployment] = {}

    def _create(self, spec: DeploymentSpec) -> Deployment:
        dep = Deployment(name=spec.name, provider=self.name, model=spec.model, status="ready")
        self.store[spec.name] = dep
        return dep

    def find(self, name: str) -> Deployment | None:
        return self.store.get(name)

    def status(self, deployment: Deployment) -> Deployment:
        return self.store[deployment.name]

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        if request == "fail":
            raise errors.ProviderError("boom", provider=self.name, status_code=500)
        return InvokeResult(
            text="hi", output="hi", usage=Usage(3, 1), latency_s=0.001,
            provider=self.name, model=deployment.model, cost_usd=0.5,
        )  # fmt: skip

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        result = self.invoke(deployment, request)
        return Stream(iter(["h", "i"]), lambda: result)

    def _scale(self, deployment: Deployment, replicas: Any, low: Any, high: Any) -> Deployment:
        deployment.replicas = replicas
        return deployment

    def _teardown(self, deployment: Deployment) -> None:
        self.store.pop(deployment.name, None)

    def cost(self, target: Any, **usage: Any) -> hostkit.CostEstimate:
        return hostkit.CostEstimate(usd=0.0, source="test", as_of="2026-11-22")

    def offerings(self, region: str | None = None) -> list[hostkit.Offering]:
        return []


@pytest.fixture
def events() -> Iterator[list[hostkit.OperationEvent]]:
    seen: list[hostkit.OperationEvent] = []
    remove_before = hostkit.add_hook(seen.append, before=True)
    remove_after = hostkit.add_hook(seen.append)
    yield seen
    remove_before()
    remove_after()


def test_every_operation_emits_before_and_after(events: list[hostkit.OperationEvent]) -> None:
    provider = Recorder()
    dep = provider.deploy({"model": "m", "name": "d"})
    provider.invoke(dep, "hello")
    asyncio.run(provider.ainvoke(dep, "hello"))
    assert "".join(provider.stream(dep, "hello")) == "hi"
    provider.scale(dep, 2)
    provider.teardown(dep)
    assert [(e.operation, e.phase) for e in events] == [
        (op, phase)
        for op in ("deploy", "invoke", "ainvoke", "stream", "scale", "teardown")
        for phase in ("before", "after")
    ]
    invoke_after = events[3]
    assert invoke_after.name == "d" and invoke_after.provider == "recorder"
    assert invoke_after.usage == Usage(3, 1) and invoke_after.cost_usd == 0.5
    assert invoke_after.duration_s is not None and invoke_after.duration_s >= 0
    assert invoke_after.outcome == "ok"


def test_errors_are_reported_and_still_raised(events: list[hostkit.OperationEvent]) -> None:
    provider = Recorder()
    dep = provider.deploy({"model": "m", "name": "d"})
    with pytest.raises(errors.ProviderError):
        provider.invoke(dep, "fail")
    after = events[-1]
    assert after.phase == "after" and after.outcome == "ProviderError"
    assert isinstance(after.error, errors.ProviderError)


def test_a_failing_hook_is_logged_and_never_breaks_the_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: hostkit.OperationEvent) -> None:
        raise RuntimeError("hook bug")

    remove = hostkit.add_hook(broken)
    try:
        provider = Recorder()
        dep = provider.deploy({"model": "m", "name": "d"})
        with caplog.at_level(logging.ERROR, logger="hostkit"):
            assert provider.invoke(dep, "hello").text == "hi"
    finally:
        remove()
    assert any("hook" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)


def test_per_provider_hooks_see_only_their_provider() -> None:
    mine, other = Recorder(), Recorder()
    seen: list[str] = []
    mine.hooks.add(lambda e: seen.append(e.operation))
    dep = mine.deploy({"model": "m", "name": "a"})
    other_dep = other.deploy({"model": "m", "name": "b"})
    mine.invoke(dep, "x")
    other.invoke(other_dep, "x")
    assert seen == ["deploy", "invoke"]


def test_nested_operations_are_reported_once(events: list[hostkit.OperationEvent]) -> None:
    class Subclassed(Recorder):
        name = "recorder"

        def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
            return super().invoke(deployment, request, **params)

    provider = Subclassed()
    dep = provider.deploy({"model": "m", "name": "d"})
    provider.invoke(dep, "x")
    assert [e.operation for e in events].count("invoke") == 2  # one before, one after


def test_one_info_line_per_operation(caplog: pytest.LogCaptureFixture) -> None:
    provider = Recorder()
    with caplog.at_level(logging.INFO, logger="hostkit"):
        dep = provider.deploy({"model": "m", "name": "d"})
        provider.invoke(dep, "x")
        with pytest.raises(errors.ProviderError):
            provider.invoke(dep, "fail")
    lines = [r.getMessage() for r in caplog.records if r.name == "hostkit.operations"]
    assert lines[0].startswith("recorder deploy d: ok in ")
    assert lines[1].startswith("recorder invoke d: ok in ")
    assert lines[2].startswith("recorder invoke d: ProviderError in ")
    assert len(lines) == 3


def test_streams_report_when_they_finish(events: list[hostkit.OperationEvent]) -> None:
    provider = Recorder()
    dep = provider.deploy({"model": "m", "name": "d"})
    stream = provider.stream(dep, "x")
    assert events[-1].phase == "before"
    list(stream)
    assert events[-1].phase == "after" and events[-1].usage == Usage(3, 1)
