"""``hostkit compare`` and ``hostkit bench``: measured comparisons and load tests.

Wired into the ``hostkit`` parser by :func:`add_commands`. Tables go to stdout
(``--json`` prints the whole result as JSON instead, ``--json-file PATH`` writes it to a
file); progress goes to stderr. Imported only by the CLI.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hostkit.cli import _dumps, _err, _json_pair, _out, _parse_value
from hostkit.errors import ConfigError

__all__ = ["add_commands"]


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas such as 1,4,16,64, got {text!r}"
        ) from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1, got {text!r}")
    return levels


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _bar(label: str) -> Any:
    """A progress bar on stderr: in place on a terminal, occasional lines in a file."""
    from hostkit._progress import Bar

    return Bar(label, sys.stderr)


def _write_outputs(args: argparse.Namespace, result: Any) -> None:
    """--json (stdout or PATH), --csv PATH; the table otherwise."""
    json_target = args.json_file or args.json
    if isinstance(json_target, str):
        result.write_json(json_target)
        if not args.quiet:
            _err(f"wrote {json_target}")
    if args.csv:
        result.write_csv(args.csv)
        if not args.quiet:
            _err(f"wrote {args.csv}")
    if json_target is True:
        _out(_dumps(result))
    else:
        _out(result.table())


def _prompts(args: argparse.Namespace) -> list[Any]:
    from hostkit.compare import load_prompts

    if args.prompts and args.prompt:
        raise ConfigError("give --prompts FILE or --prompt TEXT, not both")
    if args.prompts:
        return load_prompts(args.prompts)
    if args.prompt:
        return [_parse_value(text) for text in args.prompt]
    raise ConfigError("give the requests: --prompts FILE (one JSON request a line) or --prompt")


def _cmd_compare(args: argparse.Namespace) -> int:
    from hostkit.compare import compare, plot

    result = compare(
        args.targets,
        _prompts(args),
        concurrency=args.concurrency,
        repeat=args.repeat,
        stream=args.stream,
        params=dict(args.param or []),
        config=args.config,
        progress=None if args.quiet else _bar("compare"),
    )
    _write_outputs(args, result)
    if args.outputs_csv:
        result.write_outputs_csv(args.outputs_csv)
    if args.plot:
        plot(result, args.plot)
        if not args.quiet:
            _err(f"wrote {args.plot}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from hostkit.bench import bench

    prompts = _prompts(args)
    result = bench(
        args.name,
        prompts=prompts,
        concurrency=args.concurrency_levels or (1, 4, 16, 64),
        requests_per_step=args.requests,
        duration=args.duration,
        rate=args.rate.split(",") if args.rate else None,
        p95_target=args.p95_target,
        target_rps=args.target_rps,
        stream=args.stream,
        params=dict(args.param or []),
        config=args.config,
        progress=None if args.quiet else _err,
    )
    _write_outputs(args, result)
    return 0


def _shared(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--prompts", metavar="FILE", help="JSON Lines: one JSON request a line")
    sub.add_argument(
        "--prompt",
        action="append",
        metavar="TEXT",
        help="a request (JSON when it parses, else a prompt); repeatable",
    )
    sub.add_argument("--stream", action="store_true", help="stream to measure time to first token")
    sub.add_argument(
        "--param",
        action="append",
        type=_json_pair,
        metavar="KEY=VALUE",
        help="request parameter such as max_tokens=64 (repeatable)",
    )
    sub.add_argument("--json-file", metavar="PATH", help="write the result as JSON to PATH")
    sub.add_argument("--csv", metavar="PATH", help="write one CSV row per deployment / step")


def add_commands(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    """Add ``compare`` and ``bench`` to the ``hostkit`` subcommands."""
    text = "run the same prompts against several deployments; compare latency and cost"
    compare = subparsers.add_parser(
        "compare",
        help=text,
        description=text,
        parents=[common_parent],
        epilog="example:\n  hostkit compare scores local:fake-llm groq:llama-3.1-8b-instant"
        " --prompts prompts.jsonl --csv out.csv --plot out.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.set_defaults(handler=_cmd_compare)
    compare.add_argument(
        "targets", nargs="+", metavar="TARGET", help="config deployment names or provider:model"
    )
    _shared(compare)
    compare.add_argument(
        "--concurrency", type=_positive, default=4, metavar="N", help="per provider (default 4)"
    )
    compare.add_argument("--repeat", type=_positive, default=1, metavar="N")
    compare.add_argument("--plot", metavar="PNG", help="latency against cost (matplotlib)")
    compare.add_argument("--outputs-csv", metavar="PATH", help="outputs side by side")

    text = "load-test one deployment; recommend a concurrency and a replica count"
    bench = subparsers.add_parser(
        "bench",
        help=text,
        description=text,
        parents=[common_parent],
        epilog="example:\n  hostkit bench scores --prompt '{\"hours\": 6}'"
        " --concurrency 1,4,16,64 --requests 200 --p95-target 250ms --target-rps 500",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.set_defaults(handler=_cmd_bench)
    bench.add_argument("name", metavar="NAME", help="a deployment name or provider:model")
    _shared(bench)
    bench.add_argument(
        "--concurrency",
        dest="concurrency_levels",
        type=_levels,
        metavar="LIST",
        help="closed-loop steps (default 1,4,16,64)",
    )
    budget = bench.add_mutually_exclusive_group()
    budget.add_argument("--requests", type=_positive, metavar="N", help="requests per step")
    budget.add_argument("--duration", metavar="DURATION", help="time per step, e.g. 30s")
    bench.add_argument("--rate", metavar="RATE", help="open loop: e.g. 50/s (or 10/s,50/s)")
    bench.add_argument("--p95-target", metavar="DURATION", help="latency target, e.g. 2s")
    bench.add_argument("--target-rps", metavar="RATE", help="replicas needed for this rate")
