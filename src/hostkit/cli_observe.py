"""``hostkit logs`` and ``hostkit status --watch``: a deployment's server logs and a live view.

``logs NAME [--follow] [--since 10m]`` prints the platform's server log lines (``--json``:
one JSON object per line); ``status NAME --watch [--interval 5]`` shows state, ready and
target replicas, endpoint and, where the platform reports them, recent invocations,
errors and latency and the requests in flight per replica. On a terminal the view is
redrawn in place; otherwise a line is printed each time something changes. Both run
until Ctrl-C (exit code 130, like every interrupted command), ``logs`` without
``--follow`` until the lines run out, and the watch ends by itself once the deployment
is deleted. Imported only by the CLI.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import hostkit
from hostkit import _api
from hostkit._logs import Metrics, parse_since
from hostkit._models import parse_duration
from hostkit.cli import _err, _out
from hostkit.errors import ConfigError, HostkitError

__all__ = ["add_commands", "watch"]

CLEAR = "\x1b[H\x1b[2J"

_sleep: Callable[[float], None] = time.sleep


def _since(text: str) -> float:
    try:
        value = parse_since(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(error.message) from None
    assert value is not None
    return value


def _interval(text: str) -> float:
    try:
        seconds = parse_duration(text, field_name="interval")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(error.message) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration > 0 such as 5 or 2s, got {text!r}")
    return seconds


# -- logs -------------------------------------------------------------------------
def _cmd_logs(args: argparse.Namespace) -> int:
    lines = _api.logs(args.name, since=args.since, follow=args.follow, config=args.config)
    for line in lines:
        _out(json.dumps(line.to_dict()) if args.json else str(line))
        sys.stdout.flush()
    return 0


# -- status --watch ---------------------------------------------------------------
#: replicas named in the in-flight part of the metrics line (the busiest first)
IN_FLIGHT_SHOWN = 8


def _target(deployment: hostkit.Deployment) -> str | None:
    """The replica count the platform is working towards, or the autoscaling bounds."""
    for key in ("desired_instance_count", "desired_replicas", "target_replicas"):
        value = deployment.raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    low, high = deployment.min_replicas, deployment.max_replicas
    if low is not None or high is not None:
        return f"{low if low is not None else 0}-{high if high is not None else '?'}"
    return None


def _replicas(deployment: hostkit.Deployment) -> str:
    ready = "?" if deployment.replicas is None else str(deployment.replicas)
    target = _target(deployment)
    return f"{ready}/{target}" if target else ready


def _metrics_text(metrics: Metrics | None, note: str | None) -> str:
    if note:
        return note
    if metrics is None:
        return "not reported by this platform"
    window = f"{metrics.window_s / 60:.0f}m"
    parts = [f"{metrics.invocations if metrics.invocations is not None else '?'} invocations"]
    if metrics.errors is not None:
        parts.append(f"{metrics.errors} errors")
    if metrics.latency_ms is not None:
        latency = f"latency {metrics.latency_ms:.0f} ms"
        if metrics.max_latency_ms is not None:
            latency += f" (max {metrics.max_latency_ms:.0f} ms)"
        parts.append(latency)
    text = f"last {window}: {', '.join(parts)}"
    if metrics.in_flight:
        text += f"; {_in_flight_text(metrics.in_flight)}"
    return text


def _in_flight_text(in_flight: dict[str, int], shown: int = IN_FLIGHT_SHOWN) -> str:
    """``in flight: r1=3 r2=1``: requests being processed now, per replica (the busiest
    first, at most ``shown`` of them, then how many more and the total)."""
    busiest = sorted(in_flight.items(), key=lambda item: (-item[1], item[0]))
    text = "in flight: " + " ".join(f"{replica}={count}" for replica, count in busiest[:shown])
    if len(busiest) > shown:
        text += f" (+{len(busiest) - shown} replicas, {sum(in_flight.values())} in all)"
    return text


def _state(provider: hostkit.Provider, deployment: hostkit.Deployment) -> str:
    """The state to show: ``deleting`` while a teardown (from any process) is under way.

    ``teardown`` marks the saved record before it deletes anything and removes the
    record when it is done; in between a platform reports a server going away as
    ``updating``, ``deploying`` or ``failed``.
    """
    if deployment.status == "deleted":
        return "deleted"
    raw = (provider.records.load(deployment.name) or {}).get("raw")
    marked = isinstance(raw, dict) and raw.get("deleting_since")
    return "deleting" if marked else deployment.status


def _sample(
    provider: hostkit.Provider, deployment: hostkit.Deployment
) -> tuple[hostkit.Deployment, Metrics | None, str | None]:
    current = provider.status(deployment)
    current._provider = provider
    if current.status in ("deleted", "failed") or _state(provider, current) == "deleting":
        return current, None, None
    try:
        metrics = provider.metrics(current)  # the platform's own recent window
    except HostkitError as error:  # metrics are extra: the view keeps going without them
        return current, None, f"unavailable ({error})"
    return current, metrics, None


def _record(deployment: hostkit.Deployment, metrics: Metrics | None, state: str) -> dict[str, Any]:
    return {
        "name": deployment.name,
        "provider": deployment.provider,
        "status": state,
        "replicas": deployment.replicas,
        "target": _target(deployment),
        "endpoint": deployment.endpoint,
        "metrics": None if metrics is None else metrics.to_dict(),
    }


def _line(deployment: hostkit.Deployment, summary: str, state: str) -> str:
    parts = [deployment.name, state, f"replicas {_replicas(deployment)}"]
    if deployment.endpoint:
        parts.append(deployment.endpoint)
    return "  ".join(parts) + f"  metrics {summary}"


def _screen(deployment: hostkit.Deployment, summary: str, interval: float, state: str) -> str:
    clock = time.strftime("%H:%M:%S")
    rows = [
        ("state", state),
        ("replicas", f"{_replicas(deployment)} (ready/target)"),
        ("endpoint", deployment.endpoint or "-"),
        ("metrics", summary),
    ]
    body = "\n".join(f"  {key.ljust(8)}  {value}" for key, value in rows)
    head = (
        f"{deployment.name} on {deployment.provider}  {clock}  (every {interval:g}s; Ctrl-C stops)"
    )
    return f"{CLEAR}{head}\n{body}\n"


def watch(args: argparse.Namespace) -> int:
    """``status NAME --watch``: sample every ``--interval`` seconds until Ctrl-C or deletion."""
    deployment = _api.resolve_deployment(args.name, args.config)
    provider = deployment._provider
    assert provider is not None
    terminal = not args.json and sys.stdout.isatty()
    shown: str | None = None
    while True:
        deployment, metrics, note = _sample(provider, deployment)
        state = _state(provider, deployment)
        summary = _metrics_text(metrics, note)
        if terminal:
            sys.stdout.write(_screen(deployment, summary, args.interval, state))
        else:
            record = _record(deployment, metrics, state)
            text = json.dumps(record, default=str) if args.json else None
            key = json.dumps(_record(deployment, None, state), default=str) + summary
            if key != shown:
                _out(text or f"{time.strftime('%H:%M:%S')}  {_line(deployment, summary, state)}")
                shown = key
        sys.stdout.flush()
        if deployment.status == "deleted":
            if not args.json:
                _err(f"{deployment.name} was deleted; nothing left to watch")
            return 0
        _sleep(args.interval)


def add_commands(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    """Add ``logs`` to the ``hostkit`` subcommands (``status --watch`` lives on ``status``)."""
    text = "print a deployment's server logs from its platform"
    logs = subparsers.add_parser(
        "logs",
        help=text,
        description=text + " (secrets masked). Platforms without a logs API say where to look.",
        parents=[common_parent],
        epilog="examples:\n  hostkit logs my-model --since 10m\n  hostkit logs my-model -f",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    logs.set_defaults(handler=_cmd_logs)
    logs.add_argument("name", metavar="NAME", help="the deployment whose server logs to print")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C"
    )
    logs.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="only lines from then on: a duration ago (10m, 2h) or an ISO 8601 time",
    )


def add_watch_options(status: argparse.ArgumentParser) -> None:
    """``--watch`` and ``--interval`` on ``hostkit status``."""
    status.add_argument(
        "--watch",
        action="store_true",
        help="keep showing state, replicas, endpoint and recent metrics until Ctrl-C",
    )
    status.add_argument(
        "--interval",
        type=_interval,
        default=5.0,
        metavar="SECONDS",
        help="seconds between refreshes with --watch (default 5)",
    )
