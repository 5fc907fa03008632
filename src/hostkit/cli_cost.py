"""``hostkit cost --compare``: a workload's monthly cost across providers, cheapest first.

``hostkit cost NAME ...`` (one deployment) stays in :mod:`hostkit.cli`; it calls
:func:`run_compare` when ``--compare`` is given. :func:`add_arguments` adds the workload
flags to the ``cost`` sub-parser.
"""

from __future__ import annotations

import argparse
from typing import Any

from hostkit.cli import _amount, _count, _emit, _err, _out

__all__ = ["add_arguments", "run_compare"]


def add_arguments(cost: argparse.ArgumentParser) -> None:
    """The ``--compare`` flags (``--hours``, ``--input-tokens``, ``--output-tokens`` are
    shared with the one-deployment form)."""
    group = cost.add_argument_group(
        "compare (hostkit cost --compare): monthly cost of a workload on many options"
    )
    group.add_argument("--compare", action="store_true", help="compare options for a workload")
    group.add_argument("--requests-per-day", type=_amount, metavar="N")
    group.add_argument(
        "--replicas", type=_count, metavar="N", help="dedicated replicas (default 1)"
    )
    group.add_argument(
        "--throughput", type=_amount, metavar="RPS", help="requests/s one replica sustains"
    )
    group.add_argument(
        "--peak", type=_amount, metavar="RPS", help="peak requests/s (with --throughput)"
    )
    group.add_argument("--days", type=_amount, metavar="D", help="days per month (default 365/12)")
    group.add_argument(
        "--candidate",
        action="append",
        metavar="NAME",
        help="a deployment name or provider:model / provider:instance (repeatable;"
        " default: every priced option that can serve --model)",
    )
    group.add_argument("--model", help="the model served (picks and sizes the options)")
    group.add_argument("--provider", action="append", help="only this provider (repeatable)")
    group.add_argument("--region")
    group.add_argument("--pairs", action="store_true", help="break-even of every pair")
    group.add_argument(
        "--offline", action="store_true", help="size --model from the shipped table, not the Hub"
    )


def _workload(args: argparse.Namespace) -> Any:
    from hostkit.costs import DAYS_PER_MONTH, HOURS_PER_MONTH, Workload

    if args.requests_per_day is None:
        raise _usage("--requests-per-day is required with --compare")
    if args.requests is not None:
        raise _usage("--requests is for one deployment; with --compare use --requests-per-day")
    return Workload(
        requests_per_day=args.requests_per_day,
        input_tokens=args.input_tokens or 0,
        output_tokens=args.output_tokens or 0,
        hours_per_month=args.hours if args.hours is not None else HOURS_PER_MONTH,
        days_per_month=args.days if args.days is not None else DAYS_PER_MONTH,
        replicas=args.replicas,
        throughput=args.throughput,
        peak_requests_per_second=args.peak,
        model=args.model,
    )


def _usage(message: str) -> Exception:
    from hostkit.errors import ConfigError

    return ConfigError(f"hostkit cost --compare: {message}")


def _show(result: Any) -> None:
    _out(result.table())
    for note in result.notes:
        _err(f"note: {note}")
    for message in result.warnings:
        _err(f"warning: {message}")
    _err("sources: hostkit cost --compare --json shows each option's source")


def _sizing(model: str, offline: bool) -> Any:
    """``model`` sized from the Hub (or the shipped table); None, with a note, if it cannot be."""
    from hostkit import sizing
    from hostkit.errors import HostkitError

    try:
        shape, origin = sizing.resolve_shape(model, offline=offline)
    except HostkitError as error:
        _err(f"note: {model} not sized ({error.message}); dedicated options are not listed")
        return None
    _err(f"sizing {model}: {origin}")
    return sizing.estimate(model, shape=shape) if shape is not None else None


def run_compare(args: argparse.Namespace) -> int:
    """``hostkit cost --compare``."""
    from hostkit._config import load_config
    from hostkit.costs import compare_costs

    if args.name is not None:
        args.candidate = [args.name, *(args.candidate or [])]
    workload = _workload(args)
    sized = _sizing(args.model, args.offline) if args.model and not args.candidate else None
    result = compare_costs(
        workload,
        args.candidate,
        provider=args.provider,
        region=args.region,
        sizing=sized,
        pairs=args.pairs,
        config=load_config(args.config),
    )
    _emit(args, result, lambda: _show(result))
    if args.json:
        for message in result.warnings:
            _err(f"warning: {message}")
    return 0
