"""Server logs and the live status view: the Provider hook (Unsupported with the
adapter's sentence, secrets masked), the helpers adapters share, ``hostkit._api.logs``,
``hostkit logs`` and ``hostkit status --watch`` (one line per change off a terminal, a
redrawn view on one, metrics where reported, Ctrl-C exits 130, the end on deletion).

The CLI runs in-process against ``ObservedProvider``, an in-memory platform registered
straight into the registry's caches (as in test_cli.py); the pause between watch
samples is ``hostkit.cli_observe._sleep``, replaced so that nothing waits.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest

import hostkit
from hostkit import _api, _registry, cli, cli_observe
from hostkit._logs import (
    LogLine,
    Metrics,
    follow_snapshots,
    lines_from_text,
    parse_since,
    parse_timestamp,
)
from hostkit._redact import register_secret
from hostkit.errors import ConfigError, NotFound, ProviderError, Unsupported

SECRET = "sk-observed-fake-secret-000000"
T0 = 1767225600.0  # 2026-01-01T00:00:00Z


class ObservedProvider(hostkit.Provider):
    """A dedicated platform in memory whose logs and status the test scripts."""

    name = "observed"
    capabilities = hostkit.Capabilities(dedicated=True, manual_scaling=True)
    store: ClassVar[dict[str, hostkit.Deployment]] = {}
    #: what _logs yields: LogLine values, or an exception to raise at that point
    log_script: ClassVar[list[Any]] = []
    log_calls: ClassVar[list[dict[str, Any]]] = []
    #: statuses returned one after another by status() (the last one repeats)
    status_script: ClassVar[list[dict[str, Any]]] = []
    metrics_script: ClassVar[list[Any]] = []

    def find(self, name: str) -> hostkit.Deployment | None:
        found = self.store.get(name)
        return dataclasses.replace(found) if found else None

    def status(self, deployment: hostkit.Deployment) -> hostkit.Deployment:
        script = self.status_script
        changes = script.pop(0) if len(script) > 1 else script[0] if script else {}
        return dataclasses.replace(deployment, **changes)

    def _create(self, spec: hostkit.DeploymentSpec) -> hostkit.Deployment:
        raise NotImplementedError

    def _teardown(self, deployment: hostkit.Deployment) -> None:
        self.store.pop(deployment.name, None)

    def invoke(self, deployment: hostkit.Deployment, request: Any, **params: Any) -> Any:
        raise NotImplementedError

    def cost(self, target: Any, **usage: Any) -> hostkit.CostEstimate:
        return hostkit.CostEstimate(usd=None)

    def offerings(self, region: str | None = None) -> list[hostkit.Offering]:
        return []

    def _logs(
        self, deployment: hostkit.Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        self.log_calls.append({"name": deployment.name, "since": since, "follow": follow})
        for item in self.log_script:
            if isinstance(item, BaseException):
                raise item
            yield item

    def metrics(self, deployment: hostkit.Deployment, *, since: float | None = None) -> Any:
        item = self.metrics_script.pop(0) if self.metrics_script else None
        if isinstance(item, BaseException):
            raise item
        return item


class SilentProvider(ObservedProvider):
    """A platform whose API has no logs: the base class's Unsupported."""

    name = "silent"
    unsupported: ClassVar[dict[str, str]] = {
        "logs": "silent keeps no server logs; read them on the machine with docker logs"
    }

    _logs = hostkit.Provider._logs


@pytest.fixture
def observed(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ObservedProvider]]:
    """Register ObservedProvider as ``observed`` with one deployment ``x`` in hostkit.toml."""
    points = {
        name: [EntryPoint(name=name, value=f"test_logs:{cls}", group=_registry.ENTRY_POINT_GROUP)]
        for name, cls in (("observed", "ObservedProvider"), ("silent", "SilentProvider"))
    }
    monkeypatch.setattr(_registry, "_index", {**_registry._entry_points(), **points})
    monkeypatch.setitem(_registry._classes, "observed", ObservedProvider)
    monkeypatch.setitem(_registry._classes, "silent", SilentProvider)
    Path("hostkit.toml").write_text(
        '[deployments.x]\nprovider = "observed"\nmodel = "org/tiny"\ninstance = "small"\n'
        '[deployments.quiet]\nprovider = "silent"\nmodel = "org/tiny"\ninstance = "small"\n',
        encoding="utf-8",
    )
    for cls, name in ((ObservedProvider, "x"), (SilentProvider, "quiet")):
        cls.store[name] = hostkit.Deployment(
            name=name,
            provider=cls.name,
            model="org/tiny",
            status="ready",
            endpoint=f"memory://{name}",
            replicas=1,
            raw={"desired_replicas": 1},
        )
    yield ObservedProvider
    for attr in ("store", "log_script", "log_calls", "status_script", "metrics_script"):
        getattr(ObservedProvider, attr).clear()
    _api._instances.clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the provider hook --------------------------------------------------------------
def test_unsupported_uses_the_adapters_sentence(observed: type[ObservedProvider]) -> None:
    silent = hostkit.get_provider("silent")
    with pytest.raises(Unsupported, match="read them on the machine with docker logs"):
        silent.logs("quiet")


def test_the_default_sentence_names_the_provider(observed: type[ObservedProvider]) -> None:
    class Bare(SilentProvider):
        name = "bare"
        unsupported: ClassVar[dict[str, str]] = {}

    with pytest.raises(Unsupported, match="bare offers no server logs through its API"):
        Bare().logs(hostkit.Deployment(name="q", provider="bare", model="m", status="ready"))


def test_every_line_is_scrubbed(observed: type[ObservedProvider]) -> None:
    register_secret(SECRET)
    observed.log_script[:] = [LogLine(T0, f"Authorization: Bearer {SECRET}", "server")]
    (line,) = hostkit.get_provider("observed").logs("x")
    assert line == LogLine(T0, "Authorization: Bearer ***", "server")


def test_module_level_logs_parses_since(observed: type[ObservedProvider]) -> None:
    observed.log_script[:] = [LogLine(T0, "hello")]
    before = time.time()
    assert [line.message for line in _api.logs("x", since="10m")] == ["hello"]
    (call,) = observed.log_calls
    assert before - 600 - 1 <= call["since"] <= time.time() - 600
    list(_api.logs("x", since="2026-01-01T00:00:00Z", follow=True))
    assert observed.log_calls[-1] == {"name": "x", "since": T0, "follow": True}


# -- helpers ------------------------------------------------------------------------
def test_parse_since_forms_and_errors() -> None:
    assert parse_since(None) is None
    assert parse_since("90s", now=1000.0) == 910.0
    assert parse_since("2026-01-01T01:00:00+01:00") == T0
    assert parse_since(T0) == T0
    with pytest.raises(ConfigError, match=r"since: expected a duration ago such as '10m'.*'soon'"):
        parse_since("soon")
    with pytest.raises(ConfigError, match="since"):
        parse_since(-5)


def test_timestamps_and_untimed_lines() -> None:
    assert parse_timestamp("2026-01-01 00:00:00,500") == T0 + 0.5
    assert parse_timestamp("not a time") is None
    lines = lines_from_text(
        "2026-01-01T00:00:01Z  INFO router: started\n"
        "    at line 3\n\n"
        "[2026-01-01 00:00:02 UTC] done\n",
        source="inference-server",
    )
    assert [(line.timestamp, line.message) for line in lines] == [
        (T0 + 1, "INFO router: started"),
        (T0 + 1, "    at line 3"),
        (T0 + 2, "done"),
    ]
    assert lines_from_text("no time here")[0].timestamp is None
    assert str(lines[0]) == "2026-01-01T00:00:01.000Z [inference-server] INFO router: started"
    assert str(LogLine(None, "bare")) == "- bare"


def test_follow_snapshots_yields_only_new_lines() -> None:
    def snap(*messages: str) -> list[LogLine]:
        return [LogLine(T0 + "abcdexy".index(m), m) for m in messages]

    answers = [snap("a", "b", "c"), snap("b", "c", "d", "e"), snap("x", "y")]
    pauses: list[float] = []
    followed = follow_snapshots(
        lambda: answers.pop(0), since=T0 + 1, follow=True, sleep=pauses.append, interval=3
    )
    got = [next(followed).message for _ in range(6)]
    assert got == ["b", "c", "d", "e", "x", "y"]  # "a" is before since; no overlap: all new
    assert pauses == [3, 3]


def test_metrics_default_is_none(observed: type[ObservedProvider]) -> None:
    silent = hostkit.get_provider("silent")
    assert hostkit.Provider.metrics(silent, silent.get("quiet")) is None
    assert Metrics(window_s=60, end=T0, invocations=3).to_dict()["invocations"] == 3


# -- hostkit logs -----------------------------------------------------------------------
def test_cli_prints_lines_and_json(
    observed: type[ObservedProvider], capsys: pytest.CaptureFixture[str]
) -> None:
    observed.log_script[:] = [LogLine(T0, "started", "server", "r1"), LogLine(T0 + 1, "ok")]
    code, out, _ = run(capsys, "logs", "x")
    assert code == 0
    assert out.splitlines() == [
        "2026-01-01T00:00:00.000Z [server/r1] started",
        "2026-01-01T00:00:01.000Z ok",
    ]
    code, out, _ = run(capsys, "logs", "x", "--json", "--since", "2026-01-01T00:00:00Z")
    first = json.loads(out.splitlines()[0])
    assert first == {
        "timestamp": T0,
        "time": "2026-01-01T00:00:00.000Z",
        "message": "started",
        "source": "server",
        "replica": "r1",
    }
    assert observed.log_calls[-1]["since"] == T0


def test_cli_since_is_checked(
    observed: type[ObservedProvider], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "logs", "x", "--since", "yesterday")
    assert code == 2
    assert "--since" in err and "'10m'" in err and observed.log_calls == []


def test_cli_follow_ends_with_130_on_ctrl_c(
    observed: type[ObservedProvider], capsys: pytest.CaptureFixture[str]
) -> None:
    observed.log_script[:] = [LogLine(T0, "one"), KeyboardInterrupt()]
    code, out, err = run(capsys, "logs", "x", "-f")
    assert (code, out) == (130, "2026-01-01T00:00:00.000Z one\n")
    assert err.strip() == "interrupted"
    assert observed.log_calls[-1]["follow"] is True


def test_cli_unsupported_and_not_found(
    observed: type[ObservedProvider], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "logs", "quiet")
    assert code == 1 and "docker logs" in err
    observed.log_script[:] = [NotFound("no log group yet", provider="observed")]
    code, _, err = run(capsys, "logs", "x")
    assert code == 1 and "no log group yet" in err


# -- hostkit status --watch ---------------------------------------------------------------
@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    taken: list[float] = []
    monkeypatch.setattr(cli_observe, "_sleep", taken.append)
    return taken


def _interrupt_after(count: int, taken: list[float]) -> Callable[[float], None]:
    def pause(seconds: float) -> None:
        taken.append(seconds)
        if len(taken) >= count:
            raise KeyboardInterrupt

    return pause


def test_a_line_per_change_until_deleted(
    observed: type[ObservedProvider], pauses: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    observed.status_script[:] = [
        {"status": "updating", "replicas": 1, "raw": {"desired_replicas": 2}},
        {"status": "updating", "replicas": 1, "raw": {"desired_replicas": 2}},  # no change
        {"status": "ready", "replicas": 2, "raw": {"desired_replicas": 2}},
        {"status": "deleted", "replicas": 0, "endpoint": None, "raw": {}},
    ]
    code, out, err = run(capsys, "status", "x", "--watch", "--interval", "2s")
    assert code == 0
    lines = [line.split("  ", 1)[1] for line in out.splitlines()]  # drop the clock
    assert lines == [
        "x  updating  replicas 1/2  memory://x  metrics not reported by this platform",
        "x  ready  replicas 2/2  memory://x  metrics not reported by this platform",
        "x  deleted  replicas 0  metrics not reported by this platform",
    ]
    assert pauses == [2.0, 2.0, 2.0]
    assert "x was deleted; nothing left to watch" in err


def test_metrics_are_shown_and_a_failing_metrics_call_does_not_stop_the_view(
    observed: type[ObservedProvider], pauses: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    observed.status_script[:] = [{}, {}, {"status": "deleted"}]
    observed.metrics_script[:] = [
        Metrics(
            window_s=300,
            end=T0,
            invocations=12,
            errors=1,
            latency_ms=300.4,
            max_latency_ms=412.0,
            source="test",
        ),
        ProviderError("throttled", provider="observed"),
    ]
    code, out, _ = run(capsys, "status", "x", "--watch", "--interval", "1")
    assert code == 0
    first, second, third = out.splitlines()
    assert first.endswith("metrics last 5m: 12 invocations, 1 errors, latency 300 ms (max 412 ms)")
    assert second.endswith("metrics unavailable ([observed] throttled)")
    assert "deleted" in third


def test_json_prints_a_record_per_change(
    observed: type[ObservedProvider], pauses: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    observed.status_script[:] = [{}, {"status": "deleted", "replicas": 0}]
    observed.metrics_script[:] = [Metrics(window_s=300, end=T0, invocations=4)]
    code, out, _ = run(capsys, "status", "x", "--watch", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["status"] for r in records] == ["ready", "deleted"]
    assert records[0]["metrics"]["invocations"] == 4 and records[0]["target"] == "1"
    assert records[0]["endpoint"] == "memory://x"


def test_on_a_terminal_the_view_is_redrawn_and_ctrl_c_exits_130(
    observed: type[ObservedProvider],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    taken: list[float] = []
    monkeypatch.setattr(cli_observe, "_sleep", _interrupt_after(3, taken))
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    observed.status_script[:] = [{}]
    code, out, err = run(capsys, "status", "x", "--watch")
    assert code == 130 and err.strip() == "interrupted"
    screens = out.split(cli_observe.CLEAR)[1:]
    assert len(screens) == 3  # redrawn every time on a terminal, changed or not
    assert "state     ready" in screens[0] and "replicas  1/1 (ready/target)" in screens[0]
    assert "endpoint  memory://x" in screens[0] and "(every 5s; Ctrl-C stops)" in screens[0]
    assert taken == [5.0, 5.0, 5.0]


def test_status_without_watch_is_unchanged(
    observed: type[ObservedProvider], pauses: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "status", "x")
    assert code == 0 and out.splitlines()[0] == "x  ready" and pauses == []


def test_interval_is_checked(
    observed: type[ObservedProvider], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "status", "x", "--watch", "--interval", "0")
    assert code == 2 and "--interval" in err and "> 0" in err


# -- platforms without a logs API say where to look -------------------------------------
@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("groq", "no server logs"),
        ("cerebras", "no server logs"),
        ("replicate", "'logs' field of a prediction"),
        ("vertex", 'resource.type="aiplatform.googleapis.com/Endpoint"'),
        ("lambdalabs", "docker logs -f hostkit-server"),
    ],
)
def test_platforms_without_logs_say_where_to_look(name: str, says: str) -> None:
    provider = hostkit.get_provider(name)
    deployment = hostkit.Deployment(name="d", provider=name, model="m", status="ready")
    with pytest.raises(Unsupported, match=re.escape(says)):
        provider.logs(deployment)
