"""``hostkit recommend``: measure candidates for one model and recommend the cheapest that
meets the target (see :mod:`hostkit.recommend` and docs/recommend.md).

Wired into the ``hostkit`` parser by :func:`add_commands`. The plan and the report go to
stdout (``--json``: one JSON document), progress to stderr. Imported only by the CLI.
"""

from __future__ import annotations

import argparse
import signal
from typing import Any

from hostkit.cli import _dumps, _err, _json_pair, _out

__all__ = ["add_commands"]


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers such as 1,4,16, got {text!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1, got {text!r}")
    return levels


def _money(text: str) -> float:
    try:
        value = float(text.lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected dollars such as 5, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected dollars >= 0, got {text!r}")
    return value


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _say_leftovers(quiet: bool) -> None:
    """Name the runs a killed recommend left deployments from (and how to clean them)."""
    from hostkit.recommend import leftover_runs

    for run in leftover_runs():
        names = [
            e["name"] for e in run.get("created", []) if e.get("state") not in ("torn down", "kept")
        ]
        if names and not quiet:
            _err(
                f"note: run {run['run_id']} did not finish and may have left {', '.join(names)}"
                f" running; tear them down with: hostkit recommend --cleanup {run['run_id']}"
            )


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from hostkit.recommend import cleanup

    run_id = None if args.cleanup is True else args.cleanup
    results = cleanup(run_id, config=getattr(args, "config", None))
    if args.json:
        _out(_dumps([r.to_dict() for r in results]))
    elif not results:
        _out("nothing to clean up: no dead recommend run left a deployment")
    for r in results if not args.json else []:
        state = "torn down" if r.ok else f"FAILED: {r.error}"
        _out(f"run {r.run_id}: {r.provider} {r.name}: {state}")
    return 0 if all(r.ok for r in results) else 1


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _cmd_recommend(args: argparse.Namespace) -> int:
    if args.cleanup is not None:
        return _cmd_cleanup(args)
    from hostkit.errors import ConfigError
    from hostkit.recommend import check_spend, plan, recommend

    if args.inputs is None:
        raise ConfigError("--inputs: give a JSON Lines file of requests, one a line")
    _say_leftovers(args.quiet)
    options: dict[str, Any] = {
        "inputs": args.inputs,
        "p95_target": args.p95,
        "target_rps": args.rps,
        "candidates": _split(args.candidates),
        "providers": _split(args.providers),
        "per_provider": args.per_provider,
        "dtype": args.dtype,
        "context": args.context,
        "concurrency": args.concurrency,
        "step_duration": args.step_duration,
        "max_spend": args.max_spend,
        "parallel": args.parallel,
        "config": getattr(args, "config", None),
    }
    if args.dry_run:
        the_plan = plan(args.model, **options)
        _out(_dumps(the_plan.to_dict()) if args.json else the_plan.text())
        if the_plan.estimated_spend_usd > the_plan.max_spend_usd:
            check_spend(the_plan)
        if not args.json:
            _out("dry run: nothing was created")
        return 0

    def show_plan(p: Any) -> None:
        if not args.json:
            _out(p.text())
            _out()

    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        report = recommend(
            args.model,
            keep_winner=args.keep_winner,
            params=dict(args.param or []),
            progress=None if args.quiet else _err,
            on_plan=show_plan,
            **options,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    _out(_dumps(report.to_dict()) if args.json else report.text())
    if args.csv:
        report.write_csv(args.csv)
        _err(f"wrote {args.csv}")
    if args.plot:
        _err(report.plot(args.plot))
    return 0


def add_commands(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    """Add ``recommend`` to the ``hostkit`` subcommands."""
    text = "measure candidate hardware and platforms; recommend the cheapest that meets a target"
    sub = subparsers.add_parser(
        "recommend",
        help=text,
        description=text,
        parents=[common_parent],
        epilog="examples:\n"
        "  hostkit recommend meta-llama/Llama-3.1-8B-Instruct --inputs prompts.jsonl"
        " --p95 800ms --rps 20 --dry-run\n"
        "  hostkit recommend --candidates small,big --inputs requests.jsonl --p95 250ms --rps 50\n"
        "  hostkit recommend --cleanup            # tear down what a killed run left",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.set_defaults(handler=_cmd_recommend)
    sub.add_argument("model", nargs="?", metavar="MODEL", help="a model id (sizing x catalog)")
    sub.add_argument("--inputs", metavar="FILE", help="JSON Lines: one request a line")
    sub.add_argument("--p95", metavar="DURATION", help="latency target, such as 800ms")
    sub.add_argument("--rps", metavar="RATE", help="target requests per second, such as 20")
    sub.add_argument(
        "--candidates",
        metavar="LIST",
        help="deployment names from hostkit.toml or provider:instance, comma-separated",
    )
    sub.add_argument("--providers", metavar="LIST", help="providers for sizing x catalog")
    sub.add_argument("--per-provider", type=int, default=2, metavar="N", help="default 2")
    sub.add_argument("--dtype", default="bf16", help="weights dtype for sizing (default bf16)")
    sub.add_argument("--context", type=int, default=4096, metavar="TOKENS", help="default 4096")
    sub.add_argument(
        "--concurrency",
        type=_levels,
        default=[1, 4, 16, 64],
        metavar="LIST",
        help="closed-loop ramp per candidate (default 1,4,16,64)",
    )
    sub.add_argument(
        "--step-duration", default="10s", metavar="DURATION", help="per step (default 10s)"
    )
    sub.add_argument(
        "--max-spend",
        type=_money,
        default=5.0,
        metavar="USD",
        help="refuse to start above this estimated spend (default $5)",
    )
    sub.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="deploy up to N candidates at the same time, measured one at a time (default 1;"
        " the overlap is billed and counted in the spend estimate)",
    )
    sub.add_argument(
        "--param",
        action="append",
        type=_json_pair,
        metavar="KEY=VALUE",
        help="request parameter for every call, such as max_tokens=64 (repeatable)",
    )
    sub.add_argument("--dry-run", action="store_true", help="print the plan; create nothing")
    sub.add_argument("--keep-winner", action="store_true", help="leave the winner running")
    sub.add_argument("--csv", metavar="FILE", help="one row per candidate")
    sub.add_argument("--plot", metavar="FILE", help="cost per 1,000 against p95 (matplotlib)")
    sub.add_argument(
        "--cleanup",
        nargs="?",
        const=True,
        metavar="RUN_ID",
        help="tear down what a dead recommend run left (all dead runs without RUN_ID)",
    )
