"""Requests in flight per replica (Serve's ``ray_serve_replica_processing_queries`` gauge):
the parse of a Prometheus text recorded from a real head, its place in ``Metrics`` and in
``hostkit status --watch``, and the figure itself against the shared real head (conftest.py)
while the test holds requests open."""

from __future__ import annotations

import concurrent.futures
import json
import time
from pathlib import Path
from typing import Any

import hostkit
from hostkit import cli_observe
from hostkit._logs import Metrics

HERE = Path(__file__).parent
#: lines of one node's /metrics recorded from a real head (Ray 2.60) while five requests
#: were held on application "slow", two replicas: fbh5uhc3 (3) and xt156ber (2)
RECORDED = (HERE / "fixtures" / "prometheus_in_flight.txt").read_text()


# -- no cluster needed ---------------------------------------------------------------
def test_the_recorded_gauge_gives_requests_in_flight_per_replica() -> None:
    from hostkit_providers.ray.metrics import parse_in_flight, parse_sample

    assert parse_in_flight(RECORDED, "slow") == {"fbh5uhc3": 3.0, "xt156ber": 2.0}
    # the handle's own gauge (ray_serve_num_ongoing_requests_at_replicas, 5) is not counted
    assert parse_sample(RECORDED, "slow", at=1.0).in_flight == {"fbh5uhc3": 3.0, "xt156ber": 2.0}
    assert parse_in_flight(RECORDED, "other") == {}


def test_in_flight_keeps_the_listed_replicas_of_this_application_only() -> None:
    from hostkit_providers.ray.metrics import in_flight_of, parse_sample

    other_app = (
        'ray_serve_replica_processing_queries{application="other",deployment="HostkitModel",'
        'replica="zzzzzzzz"} 7.0'
    )
    sample = parse_sample(RECORDED + "\n" + other_app, "slow", at=1.0)
    assert in_flight_of(sample, None) == {"fbh5uhc3": 3, "xt156ber": 2}
    # xt156ber is gone from the REST API's listing: its last reading is stale
    assert in_flight_of(sample, {"fbh5uhc3", "newone00"}) == {"fbh5uhc3": 3}
    assert in_flight_of(sample, set()) is None  # scaled to zero: nothing to report


def test_two_nodes_add_up() -> None:
    from hostkit_providers.ray.metrics import Sample

    one = Sample(at=1.0, requests=2.0, in_flight={"a": 1.0})
    two = Sample(at=2.0, requests=3.0, in_flight={"b": 4.0})
    total = one + two
    assert (total.at, total.requests, dict(total.in_flight)) == (2.0, 5.0, {"a": 1.0, "b": 4.0})


def test_metrics_carry_in_flight_into_dicts_and_json() -> None:
    metrics = Metrics(window_s=60, end=1.0, invocations=3, in_flight={"r1": 3, "r2": 1})
    data = metrics.to_dict()
    assert data["in_flight"] == {"r1": 3, "r2": 1}
    assert json.loads(json.dumps(data))["in_flight"] == {"r1": 3, "r2": 1}
    assert Metrics(window_s=60, end=1.0).to_dict()["in_flight"] is None


def test_status_watch_shows_in_flight_compactly() -> None:
    metrics = Metrics(window_s=300, end=1.0, invocations=12, errors=0, in_flight={"r2": 1, "r1": 3})
    text = cli_observe._metrics_text(metrics, None)
    assert text == "last 5m: 12 invocations, 0 errors; in flight: r1=3 r2=1"
    idle = Metrics(window_s=300, end=1.0, invocations=0, in_flight={"r1": 0})
    assert cli_observe._metrics_text(idle, None).endswith("; in flight: r1=0")
    unreported = Metrics(window_s=300, end=1.0, invocations=4)
    assert "in flight" not in cli_observe._metrics_text(unreported, None)
    many = {f"r{i:02d}": i for i in range(12)}
    crowded = cli_observe._metrics_text(Metrics(window_s=60, end=1.0, in_flight=many), None)
    assert crowded.endswith(
        "in flight: r11=11 r10=10 r09=9 r08=8 r07=7 r06=6 r05=5 r04=4 (+4 replicas, 66 in all)"
    )


# -- against the real head -------------------------------------------------------------
def _in_flight_total(provider: Any, deployment: Any) -> tuple[int | None, Metrics | None]:
    metrics = provider.metrics(provider.status(deployment))
    if metrics is None or metrics.in_flight is None:
        return None, metrics
    return sum(metrics.in_flight.values()), metrics


def test_requests_held_open_show_as_in_flight_per_replica(ray_head: Any, tmp_path: Path) -> None:
    """Hold N requests open on two replicas: the metrics report N in flight (summed over
    the replicas) within a bounded wait (Ray exports its metrics every few seconds), and
    0 again once they are answered."""
    held = 5
    release = tmp_path / "release"
    provider = hostkit.get_provider("ray", **ray_head.settings(state_dir=str(tmp_path / "state")))
    deployment = provider.deploy(
        {
            "name": "inflight",
            "model": f"{HERE / 'ray_test_apps.py'}:hold_until_released",
            "replicas": 2,
            "options": {"max_ongoing_requests": 8},
        }
    )
    pool = concurrent.futures.ThreadPoolExecutor(held)
    try:
        answers = [
            pool.submit(provider.invoke, deployment, {"release": str(release), "id": i})
            for i in range(held)
        ]
        total, metrics, deadline = None, None, time.monotonic() + 60
        while total != held and time.monotonic() < deadline:
            time.sleep(1)
            total, metrics = _in_flight_total(provider, deployment)
        assert total == held, f"in flight after 60 s: {metrics}"
        assert metrics is not None and metrics.in_flight is not None
        listed = {r["id"] for r in provider.status(deployment).raw["replica_states"]}
        assert set(metrics.in_flight) <= listed and len(listed) == 2
        shown = cli_observe._metrics_text(metrics, None)
        assert "in flight: " in shown and all(f"{r}=" in shown for r in metrics.in_flight)
        release.touch()
        assert sorted(a.result(timeout=60).output["id"] for a in answers) == list(range(held))
        deadline = time.monotonic() + 60
        while total != 0 and time.monotonic() < deadline:
            time.sleep(1)
            total, metrics = _in_flight_total(provider, deployment)
        assert total == 0, f"still in flight 60 s after the answers: {metrics}"
    finally:
        release.touch()
        pool.shutdown(wait=True)
        provider.teardown("inflight")
        provider.close()
