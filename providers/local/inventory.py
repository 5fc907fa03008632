"""What ``hostkit ls`` sees of the ``local`` provider: the records, and every run dir.

A run dir whose processes still run but whose record is gone (a crash between the
two, a record deleted by hand) is listed too, so ``teardown --all`` can stop them.
The creation time is the run dir's ``supervisor.pid``, written once by ``deploy``.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from hostkit._models import Deployment

if TYPE_CHECKING:
    from hostkit_providers.local.provider import LocalProvider


def _created_at(run_dir: Path) -> str | None:
    try:
        stamp = (run_dir / "supervisor.pid").stat().st_mtime
    except OSError:
        return None
    return _dt.datetime.fromtimestamp(stamp, _dt.UTC).isoformat(timespec="seconds")


def _orphan(provider: LocalProvider, run_dir: Path) -> Deployment | None:
    """A deployment for a run dir without a record, if its supervisor still runs.

    The provider's own ``find`` answers first where it recovers such a run dir (as
    ``failed``, with the reason); else it is rebuilt here from ``server.json``.
    """
    recovered = provider.find(run_dir.name)
    if recovered is not None:
        return recovered if recovered.status != "deleted" else None
    try:
        config = json.loads((run_dir / "server.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    deployment = Deployment(
        name=run_dir.name,
        provider=provider.name,
        model=str(config.get("model") or ""),
        status="pending",
        instance="local",
        raw={
            "run_dir": str(run_dir),
            "kind": config.get("kind", "python"),
            "desired_replicas": int(config.get("workers") or 1),
            "record": "missing: found from its run dir",
        },
    )
    current = provider.status(deployment)
    return current if current.status not in ("deleted", "failed") else None


def list_local(provider: LocalProvider) -> list[Deployment]:
    """Records (looked up again) plus run dirs with live processes and no record."""
    found = []
    for name in provider.records.names():
        deployment = provider.find(name)
        if deployment is not None and deployment.status != "deleted":
            found.append(deployment)
    known = {d.name for d in found}
    runs = provider.records.folder / "runs"
    if runs.is_dir():
        for run_dir in sorted(p for p in runs.iterdir() if p.is_dir()):
            if run_dir.name not in known and (orphan := _orphan(provider, run_dir)):
                found.append(orphan)
    for deployment in found:
        run_dir = Path(deployment.raw.get("run_dir") or runs / deployment.name)
        if created := _created_at(run_dir):
            deployment.raw["created_at"] = created
    return found
