"""hostkit recommend: end to end against `local`, kill -9 and --cleanup, the spend guard,
--dry-run, and candidate selection from sizing x the shipped catalog."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hostkit
from hostkit._config import Config
from hostkit.cli import main
from hostkit.errors import ConfigError
from hostkit.recommend import catalog_candidates, journal_dir, pareto_front, plan, recommend
from hostkit.testing.processes import processes_mentioning, wait_until_gone

ROOT = Path(__file__).resolve().parents[1]
SLEEPY = """\
import os, time


def predict(request):
    time.sleep(float(os.environ["SLEEP_MS"]) / 1000)
    return {"ok": True}
"""

# slow-cheap sleeps 300 ms a call: it can never meet p95 <= 200 ms; the fast ones sleep 20 ms
CONFIG = """\
[deployments.slow-cheap]
provider = "local"
model = "sleepy.py:predict"
replicas = 1
env.SLEEP_MS = "300"
options.usd_per_hour = 0.10

[deployments.fast-one]
provider = "local"
model = "sleepy.py:predict"
replicas = 1
env.SLEEP_MS = "20"
options.usd_per_hour = 0.30

[deployments.fast-two]
provider = "local"
model = "sleepy.py:predict"
replicas = 2
env.SLEEP_MS = "20"
options.usd_per_hour = 0.45
"""


@pytest.fixture
def project(isolated_hostkit: Path) -> Path:
    work = Path.cwd()
    (work / "sleepy.py").write_text(SLEEPY)
    (work / "hostkit.toml").write_text(CONFIG)
    (work / "in.jsonl").write_text('{"x": 1}\n{"x": 2}\n')
    return work


def _listening(endpoint: str) -> bool:
    host, port = endpoint.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


# -- end to end against local ---------------------------------------------------------
def test_recommends_the_cheapest_candidate_that_meets_the_target(project: Path) -> None:
    # hostkit.recommend(...) is the function, even after `import hostkit.recommend`
    report = hostkit.recommend(
        candidates=["slow-cheap", "fast-one", "fast-two"],
        inputs="in.jsonl",
        p95_target="200ms",
        target_rps=100,
        concurrency=[1, 2],
        step_duration="1s",
    )
    by_name = {r.candidate.label: r for r in report.results}
    slow, one, two = by_name["slow-cheap"], by_name["fast-one"], by_name["fast-two"]
    assert not slow.meets and "p95" in slow.why  # the cheapest cannot meet the target
    assert one.meets and two.meets
    assert report.winner is one  # $0.30/h beats $0.45/h; local prices the machine, not replicas
    assert report.results[0] is one
    assert "Run fast-one" in report.sentence and "slow-cheap is cheaper but" in report.sentence
    assert "[deployments.fast-one]" in (report.toml() or "")
    assert f"replicas = {one.replicas_needed}" in (report.toml() or "")

    for r in (one, two):  # replica arithmetic, against what was measured
        best = next(
            s
            for s in r.bench["steps"]
            if s["mode"] == "closed" and s["concurrency"] == r.concurrency
        )
        assert r.throughput_rps == best["throughput_rps"]
        assert r.rps_per_replica == pytest.approx(best["throughput_rps"] / r.deployed_replicas)
        assert r.replicas_needed == math.ceil(100 / r.rps_per_replica)
        assert r.usd_per_1k == pytest.approx(r.usd_per_hour / (100 * 3600) * 1000)
        assert r.usd_per_month == pytest.approx(r.usd_per_hour * 730)
    assert two.deployed_replicas == 2 and one.deployed_replicas == 1
    assert one.usd_per_hour == 0.30 and two.usd_per_hour == 0.45
    assert report.spent_usd > 0  # the test's own cost, at the candidates' prices

    # everything created was torn down, and the journal is gone
    assert not list(journal_dir().glob("*.json"))
    assert not [d for d in hostkit.list_deployments().deployments if d.provider == "local"]
    assert not wait_until_gone(os.environ["HOSTKIT_STATE_DIR"])

    data = json.loads(json.dumps(report.to_dict(), default=str))
    assert data["winner"] == "fast-one" and data["results"][0]["replicas_needed"]
    csv_file = report.write_csv(project / "out.csv")
    assert csv_file.read_text().splitlines()[0].startswith("candidate,provider,kind,instance")


def test_parallel_2_deploys_together_and_ranks_as_sequential(project: Path) -> None:
    """--parallel 2: both candidates deploy before either is measured; same ranking and
    winner as one after another; both torn down, no process or journal left."""
    options = {
        "candidates": ["slow-cheap", "fast-one"],
        "inputs": "in.jsonl",
        "p95_target": "200ms",
        "concurrency": [1],
        "step_duration": "0.5s",
    }
    sequential = recommend(**options)
    said: list[str] = []
    overlapped = recommend(**options, parallel=2, progress=said.append)
    ranking = [r.candidate.label for r in overlapped.results]
    assert ranking == [r.candidate.label for r in sequential.results] == ["fast-one", "slow-cheap"]
    assert overlapped.winner is not None and sequential.winner is not None
    assert overlapped.winner.candidate.label == sequential.winner.candidate.label == "fast-one"
    assert [r.meets for r in overlapped.results] == [True, False]
    first_bench = next(i for i, line in enumerate(said) if line.startswith("bench "))
    deploying = [i for i, line in enumerate(said) if ": deploying " in line]
    assert len(deploying) == 2 and max(deploying) < first_bench  # deploys overlapped
    assert overlapped.plan.overlap == 2 and "candidates overlap" in overlapped.plan.text()
    assert said.count("recommend: tearing down slow-cheap") == 1
    assert said.count("recommend: tearing down fast-one") == 1
    assert not [d for d in hostkit.list_deployments().deployments if d.provider == "local"]
    assert not list(journal_dir().glob("*.json"))
    assert not wait_until_gone(os.environ["HOSTKIT_STATE_DIR"])


def test_parallel_below_1_is_refused_and_overlap_is_in_the_spend(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="--parallel: expected a whole number"):
        recommend(candidates=["fast-one"], inputs="in.jsonl", parallel=0)
    argv = ["recommend", "--candidates", "fast-one", "--inputs", "in.jsonl", "--dry-run"]
    assert main([*argv, "--parallel", "0"]) == 2
    assert "--parallel: expected a whole number of candidates at a time >= 1" in (
        capsys.readouterr().err
    )
    both = {"candidates": ["slow-cheap", "fast-one"], "inputs": "in.jsonl"}
    alone, together = plan(**both), plan(**both, parallel=3)
    assert together.overlap == 2 and alone.overlap == 1  # never more than the candidates
    # each overlapped candidate is billed while the other is measured
    assert together.estimated_spend_usd > alone.estimated_spend_usd
    assert "waiting (candidates overlap)" in together.candidates[0].spend_basis
    state = Path(os.environ["HOSTKIT_STATE_DIR"])
    assert not (state / "local").exists() and not processes_mentioning(str(state))


def test_pareto_front_keeps_points_nothing_beats() -> None:
    points = [(100.0, 1.0), (50.0, 2.0), (120.0, 1.5), (50.0, 3.0)]
    assert sorted(pareto_front(points)) == [(50.0, 2.0), (100.0, 1.0)]


# -- kill -9 mid-candidate, then --cleanup --------------------------------------------
def test_cleanup_after_kill_9_leaves_no_process_or_port(project: Path) -> None:
    state = Path(os.environ["HOSTKIT_STATE_DIR"])
    command = [
        sys.executable, "-m", "hostkit", "recommend", "--candidates", "fast-two",
        "--inputs", "in.jsonl", "--p95", "200ms", "--concurrency", "1",
        "--step-duration", "60s", "-q",
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    record = state / "local" / "fast-two.json"
    deadline = time.monotonic() + 60
    journal: dict | None = None
    while time.monotonic() < deadline:
        found = list(journal_dir().glob("*.json")) if journal_dir().is_dir() else []
        if found and record.exists():
            journal = json.loads(found[0].read_text())
            if journal["created"] and journal["created"][0]["state"] == "deployed":
                break
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        time.sleep(0.1)
    else:
        child.kill()
        pytest.fail("the deployment never showed up in the run journal")
    assert journal is not None
    assert oct(found[0].stat().st_mode & 0o777) == "0o600"
    endpoint = json.loads(record.read_text())["endpoint"]
    assert _listening(endpoint)
    child.send_signal(signal.SIGKILL)  # mid-candidate: the bench step runs for 60 s
    child.wait()
    assert processes_mentioning(str(state))  # the deployment outlived its recommend

    # the next recommend says so
    out = subprocess.run(
        [sys.executable, "-m", "hostkit", "recommend", "--candidates", "fast-one",
         "--inputs", "in.jsonl", "--dry-run"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert f"hostkit recommend --cleanup {journal['run_id']}" in out.stderr

    assert main(["recommend", "--cleanup"]) == 0
    assert not wait_until_gone(str(state))  # no process of the candidate left
    assert not _listening(endpoint)  # nor its port
    assert not list(journal_dir().glob("*.json"))
    assert not (state / "local" / "runs" / "fast-two").exists()
    assert main(["recommend", "--cleanup"]) == 0  # nothing left: says so, exits 0


# -- the spend guard and --dry-run create nothing ----------------------------------------
@pytest.fixture
def no_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any deploy, or any provider built for one, fails the test."""
    from hostkit import _provider, _registry

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a create was sent")

    monkeypatch.setattr(_provider.Provider, "deploy", refuse)
    monkeypatch.setattr(_registry, "get_provider", refuse)


def test_spend_guard_refuses_above_max_spend(no_create: None) -> None:
    Path("in.jsonl").write_text('"Hello"\n')
    with pytest.raises(ConfigError) as caught:
        recommend(
            "meta-llama/Llama-3.1-70B-Instruct",
            inputs="in.jsonl",
            providers=["lambdalabs", "vertex"],
            step_duration="10m",
            config=Config(),
        )
    message = str(caught.value)
    assert "max_spend" in message and "limit of $5.00" in message
    assert "nothing was created" in message
    assert not journal_dir().exists()


def test_dry_run_prints_the_plan_and_creates_nothing(
    no_create: None, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("in.jsonl").write_text('"Hello"\n')
    code = main(
        ["recommend", "meta-llama/Llama-3.1-8B-Instruct", "--inputs", "in.jsonl",
         "--providers", "lambdalabs,groq", "--p95", "800ms", "--rps", "20", "--dry-run"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "GB to spare" in out and "as of 20" in out and "estimated spend of this test" in out
    assert "groq:llama-3.1-8b-instant" in out and "served per token" in out
    assert "dry run: nothing was created" in out
    assert not journal_dir().exists()


def test_local_dry_run_and_guard_create_no_process(project: Path) -> None:
    Path("hostkit.toml").write_text(CONFIG.replace("0.10", "500.0"))
    with pytest.raises(ConfigError, match=r"limit of \$5.00"):
        recommend(candidates=["slow-cheap"], inputs="in.jsonl", step_duration="60s")
    assert main(["recommend", "--candidates", "fast-one", "--inputs", "in.jsonl", "--dry-run"]) == 0
    state = Path(os.environ["HOSTKIT_STATE_DIR"])
    assert not (state / "local").exists() and not processes_mentioning(str(state))


# -- candidate selection from sizing x the shipped catalog ------------------------------
def _catalog(model: str) -> list:
    from hostkit.catalog import provider_names

    found, _ = catalog_candidates(model, provider_names(), config=Config(), per_provider=3)
    return [c for c in found if c.kind == "dedicated"]


def test_8b_at_bf16_never_proposes_a_16gb_gpu() -> None:
    found = _catalog("meta-llama/Llama-3.1-8B-Instruct")
    assert found
    for c in found:
        assert c.spare_gb is not None and c.spare_gb >= 0
        assert not (c.gpus_needed == 1 and " 16 GB with" in c.why), c.why
        assert c.usd_per_hour is not None and c.price_as_of


def test_70b_proposes_multi_gpu_instances() -> None:
    found = _catalog("meta-llama/Llama-3.1-70B-Instruct")
    assert found and all((c.gpus_needed or 0) >= 2 for c in found)
    assert len({c.label.split("@")[0] for c in found}) == len(found)  # one region per type
    assert all(c.spare_gb is not None and c.spare_gb >= 0 for c in found)


def test_candidates_name_config_deployments_or_provider_instance(project: Path) -> None:
    p = plan(candidates=["fast-one", "groq:llama-3.1-8b-instant"], inputs="in.jsonl")
    kinds = {c.label: c.kind for c in p.candidates}
    assert kinds == {"fast-one": "dedicated", "groq:llama-3.1-8b-instant": "serverless"}
    with pytest.raises(ConfigError, match="neither a deployment"):
        plan(candidates=["nope"], inputs="in.jsonl")


# -- honesty and clean-up on the way out --------------------------------------------------
def test_failed_deploy_is_shown_with_its_reason_and_keep_winner_keeps_only_the_winner(
    project: Path,
) -> None:
    with Path("hostkit.toml").open("a") as config:
        config.write('\n[deployments.broken]\nprovider = "local"\nmodel = "missing.py:predict"\n')
    report = recommend(
        candidates=["broken", "fast-one"],
        inputs="in.jsonl",
        p95_target="200ms",
        concurrency=[1],
        step_duration="1s",
        keep_winner=True,
    )
    broken = next(r for r in report.results if r.candidate.label == "broken")
    assert broken.status == "failed" and "missing.py" in (broken.reason or "")
    assert report.results[-1] is broken and "failed" in report.table()
    assert report.winner is not None and report.winner.candidate.label == "fast-one"
    assert report.kept == "fast-one"
    running = {d.name for d in hostkit.list_deployments().deployments if d.provider == "local"}
    assert running == {"fast-one"}
    assert not list(journal_dir().glob("*.json"))  # kept is not a leftover
    hostkit.teardown("fast-one")
    assert not wait_until_gone(os.environ["HOSTKIT_STATE_DIR"])


def test_ctrl_c_mid_candidate_tears_down_what_the_run_created(project: Path) -> None:
    """A real SIGINT (what Ctrl-C sends) to the CLI while it measures a candidate."""
    state = Path(os.environ["HOSTKIT_STATE_DIR"])
    command = [
        sys.executable, "-m", "hostkit", "recommend", "--candidates", "fast-one",
        "--inputs", "in.jsonl", "--p95", "200ms", "--concurrency", "1",
        "--step-duration", "60s", "-q",
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    record = state / "local" / "fast-one.json"
    deadline = time.monotonic() + 60
    while not record.exists() or '"ready"' not in record.read_text():
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "the candidate never became ready"
        time.sleep(0.1)
    time.sleep(1.0)  # into the measurement
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0
    assert not [d for d in hostkit.list_deployments().deployments if d.provider == "local"]
    assert not list(journal_dir().glob("*.json"))
    assert not wait_until_gone(str(state))


def test_ctrl_c_with_parallel_tears_down_every_candidate_in_flight(project: Path) -> None:
    """SIGINT while one candidate is measured and another, overlapped, waits deployed."""
    state = Path(os.environ["HOSTKIT_STATE_DIR"])
    command = [
        sys.executable, "-m", "hostkit", "recommend", "--candidates", "fast-one,fast-two",
        "--inputs", "in.jsonl", "--p95", "200ms", "--concurrency", "1",
        "--step-duration", "60s", "--parallel", "2", "-q",
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    records = [state / "local" / f"{name}.json" for name in ("fast-one", "fast-two")]
    deadline = time.monotonic() + 60
    while not all(r.exists() and '"ready"' in r.read_text() for r in records):
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "the candidates never both became ready"
        time.sleep(0.1)
    time.sleep(1.0)  # fast-one is measured, fast-two waits deployed
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0
    assert not [d for d in hostkit.list_deployments().deployments if d.provider == "local"]
    assert not list(journal_dir().glob("*.json"))
    assert not wait_until_gone(str(state))


# -- a serverless candidate through a real adapter, from recorded fixtures ----------------
def test_serverless_candidate_through_recorded_groq_answers(serverless) -> None:
    from hostkit.testing import cassette

    target = serverless("groq")
    with cassette(target.tape("ainvoke.yaml"), allow_playback_repeats=True) as tape:
        report = recommend(
            candidates=[target.deployment],
            inputs=["Say hello in five words."],
            params=target.params,
            stream=False,
            p95_target="30s",
            target_rps=2,
            concurrency=[1, 2],
            step_duration="1s",
            serverless_requests=4,
            config=Config(),
        )
    (result,) = report.results
    assert result.status == "measured" and result.candidate.kind == "serverless"
    assert result.reused and result.replicas_needed is None  # nothing to deploy or scale
    assert tape.play_count == 2 + 2 * 4 + 2  # warm-up, two closed steps of 4, open loop at 2/s
    per_call = target.recorded.per_call
    assert per_call is not None
    assert result.usd_per_1k == pytest.approx(per_call * 1000)
    assert result.usd_per_hour == pytest.approx(per_call * 1000 * 2 * 3.6)  # at 2 req/s
    assert result.meets and report.winner is result
    assert result.spent_usd == pytest.approx(per_call * 12)  # every call: warm-up included
    assert not journal_dir().exists() or not list(journal_dir().glob("*.json"))


# -- a dedicated cloud candidate through a real adapter, from recorded fixtures -----------
def test_dedicated_cloud_candidate_plan_deploy_bench_teardown_on_lambda_recordings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """lambdalabs' recorded deploy, chat completion and teardown, each replayed strictly."""
    import contextlib

    import yaml

    from hostkit import _api
    from hostkit.testing import cassette

    tapes = ROOT / "providers" / "lambdalabs" / "tests" / "cassettes"
    # recommend first asks whether the name is deployed: the recorded deploy's first answer
    recorded = yaml.safe_load((tapes / "deploy.yaml").read_text())
    first = {**recorded, "interactions": recorded["interactions"][:1]}
    (tmp_path / "find.yaml").write_text(yaml.safe_dump(first))
    monkeypatch.setenv("LAMBDA_API_KEY", "secret_hostkit-ci_5f1e0c2a.FakeFakeFakeFake")
    config = Config()
    provider = _api.provider_for("lambdalabs", config)
    provider.sleep = lambda seconds: None  # type: ignore[attr-defined]
    provider.retry.sleep = lambda seconds: None
    played: list[str] = []

    busy: list[str] = []  # inside deploy or teardown, find is theirs: no cassette of its own

    def replaying(name: str, method: object, folder: Path = tapes, **options: object) -> object:
        def call(*args: object, **kwargs: object) -> object:
            if busy:
                return method(*args, **kwargs)  # type: ignore[operator]
            busy.append(name)
            try:
                with cassette(folder / f"{name}.yaml", record_mode="none", **options) as tape:
                    result = method(*args, **kwargs)  # type: ignore[operator]
            finally:
                busy.pop()
            # teardown.yaml also holds a find and a second (idempotent) teardown after it
            if not options and name != "teardown":
                assert tape.all_played, f"{name}.yaml: not every recorded request was made"
            played.append(name)
            return result

        return call

    async def ainvoke(*args: object, **kwargs: object) -> object:
        with cassette(tapes / "ainvoke.yaml", record_mode="none", allow_playback_repeats=True):
            return await real_ainvoke(*args, **kwargs)

    real_ainvoke = provider.ainvoke
    provider.find = replaying("find", provider.find, tmp_path)  # type: ignore[method-assign]
    provider.deploy = replaying("deploy", provider.deploy)  # type: ignore[method-assign]
    provider.teardown = replaying("teardown", provider.teardown)  # type: ignore[method-assign]
    provider.ainvoke = ainvoke  # type: ignore[method-assign]
    spec = {
        "provider": "lambdalabs",
        "name": "hostkit-compliance",
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "instance": "gpu_1x_a10",
        "region": "us-east-1",
        "options": {"ssh_key_name": "hostkit-ci"},
    }
    report = recommend(
        candidates=[spec],
        inputs=["Say hello in five words."],
        stream=False,
        p95_target="5s",
        concurrency=[1],
        step_duration="0.2s",
        config=config,
    )
    with contextlib.suppress(Exception):
        provider.close()
    (result,) = report.results
    assert played == ["find", "deploy", "teardown"]  # plan -> deploy -> bench -> teardown
    assert result.status == "measured" and result.meets and not result.reused
    assert result.successes > 0 and result.candidate.usd_per_hour == pytest.approx(1.29)
    assert report.plan.candidates[0].estimated_spend_usd == pytest.approx(1.29 * 660 / 3600)
    assert result.usd_per_hour == pytest.approx(1.29)  # one replica needed, no rate target
    assert result.usd_per_1k == pytest.approx(1.29 / (result.throughput_rps * 3600) * 1000)
    assert report.winner is result and "[deployments.hostkit-compliance]" in (report.toml() or "")
    assert not list(journal_dir().glob("*.json"))  # torn down: nothing left to clean up


def test_a_dead_run_with_nothing_left_is_forgotten() -> None:
    from hostkit.recommend import leftover_runs

    journal_dir().mkdir(parents=True)
    done = {"run_id": "r1", "created": [{"name": "a", "provider": "local", "state": "torn down"}]}
    (journal_dir() / "r1.json").write_text(json.dumps(done))
    assert leftover_runs() == []
    assert not list(journal_dir().iterdir())
