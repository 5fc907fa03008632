"""A batch-job platform on disk, for killing a real process in the middle of a native job.

Its "cloud" is the folder ``$FAKE_BATCH_ROOT``: ``jobs/<key>.json`` (status, created
once: a second create of one key is refused like SageMaker's), ``objects/`` (uploads).
A job runs only when the test says so (:func:`run_pending`), so a process waiting on it
can be killed while it waits. Used as a script by the child:

    python fake_batch_platform.py INPUT OUTPUT     # hostkit batch --native, then waits

Not a test module (no ``test_`` prefix); test_batch_native_faults.py loads it by path.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hostkit import _registry
from hostkit._models import CostEstimate, Deployment, DeploymentSpec, InvokeResult, Offering, Usage
from hostkit._provider import Provider
from hostkit.errors import ConfigError, HostkitError, NotFound

NAME = "fakebatch"


def root() -> Path:
    return Path(os.environ["FAKE_BATCH_ROOT"])


def jobs() -> dict[str, dict[str, Any]]:
    folder = root() / "jobs"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def run_pending() -> int:
    """Run every InProgress job: upper-case each request's text. How many ran."""
    ran = 0
    for key, job in jobs().items():
        if job["status"] != "InProgress":
            continue
        lines = (root() / "objects" / job["input"]).read_text().splitlines()
        answers = [json.dumps({"upper": json.loads(line)["request"].upper()}) for line in lines]
        (root() / "objects" / f"{key}.out").write_text("\n".join(answers) + "\n")
        job.update(status="Completed", started=100.0, ended=190.0)
        (root() / "jobs" / f"{key}.json").write_text(json.dumps(job))
        ran += 1
    return ran


class FakeBatchProvider(Provider):
    """Only the native-batch hooks; everything else is refused."""

    name = NAME

    def find(self, name: str) -> Deployment | None:
        return None

    def status(self, deployment: Deployment) -> Deployment:
        raise NotFound("no deployments here", provider=NAME)

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        raise NotFound("no deployments here", provider=NAME)

    def _teardown(self, deployment: Deployment) -> None:
        return None

    def cost(self, target: Any, **kwargs: Any) -> CostEstimate:
        return CostEstimate(usd=None)

    def offerings(self, region: str | None = None) -> list[Offering]:
        return []

    def submit_batch_job(self, spec: DeploymentSpec, job: Any) -> None:
        (root() / "objects").mkdir(parents=True, exist_ok=True)
        (root() / "jobs").mkdir(parents=True, exist_ok=True)
        name = f"{job.key}.in"
        job.staging = [name, f"{job.key}.out"]
        job.save()
        (root() / "objects" / name).write_text(
            "".join(json.dumps({"request": item.request}) + "\n" for _, item in job.requests())
        )
        record = root() / "jobs" / f"{job.key}.json"
        try:
            with record.open("x") as handle:  # created once, like a named platform job
                handle.write(json.dumps({"status": "InProgress", "input": name}))
        except FileExistsError:
            pass  # a rerun after a crash mid-submit: the job is there, attach to it
        job.job_id = job.key

    def batch_job_status(self, job: Any) -> Any:
        from hostkit.batch_jobs import JobStatus

        data = jobs().get(job.key)
        if data is None:
            raise NotFound(f"no job {job.key}", provider=NAME)
        states = {"InProgress": "running", "Completed": "completed", "Stopped": "cancelled"}
        return JobStatus(
            state=states[data["status"]],
            platform_state=data["status"],
            started_at=data.get("started"),
            ended_at=data.get("ended"),
        )

    def fetch_batch_results(self, job: Any) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        lines = (root() / "objects" / f"{job.key}.out").read_text().splitlines()
        for index, line in enumerate(lines):
            output = json.loads(line)
            yield index, InvokeResult(None, output, Usage(), 0.0, NAME, job.model)

    def cancel_batch_job(self, job: Any) -> None:
        record = root() / "jobs" / f"{job.key}.json"
        data = json.loads(record.read_text())
        data["status"] = "Stopped"
        record.write_text(json.dumps(data))

    def finish_batch_job(self, job: Any, *, keep_staging: bool = False) -> None:
        if not keep_staging:
            for name in job.staging:
                (root() / "objects" / name).unlink(missing_ok=True)

    def batch_job_cost(self, spec: DeploymentSpec, job: Any, status: Any | None = None) -> Any:
        return CostEstimate(usd=None, warnings=["no price"])


def install() -> None:
    """Make ``provider = "fakebatch"`` resolve to :class:`FakeBatchProvider` here."""
    _registry._classes[NAME] = FakeBatchProvider


def main(argv: list[str]) -> int:
    install()
    from hostkit.batch_jobs import run_native

    source, sink = argv
    try:
        run_native(f"{NAME}:upper", source, sink, poll_s=0.05)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
