"""``hostkit batch``: a JSON Lines file of requests through one deployment, resumably.

Wired into the ``hostkit`` parser by :func:`add_commands`. The summary goes to stdout
(``--json`` prints it as JSON); progress goes to stderr. Ctrl-C stops cleanly: what
is written stays, and the same command resumes. Imported only by the CLI.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from hostkit.cli import _dumps, _err, _json_pair, _out
from hostkit.cli_compare import _positive

if TYPE_CHECKING:
    from hostkit.batch import BatchSummary

__all__ = ["add_commands"]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


class _Bar:
    """A progress bar on stderr: redrawn in place on a terminal (at most ten times a
    second), a plain line every few seconds and at the end in a file (never a ``\r``)."""

    def __init__(self, quiet: bool) -> None:
        from hostkit._progress import Bar

        self.quiet = quiet
        self._bar = Bar("batch", sys.stderr)

    def __call__(self, summary: BatchSummary) -> None:
        if self.quiet:
            return
        self._bar(
            summary.done,
            summary.total,
            f"ok {summary.ok} failed {summary.failed} skipped {summary.skipped}"
            f"  concurrency {summary.concurrency_now}",
        )


def _ask_cancel(job: Any) -> bool:
    """Ctrl-C during a native job on a terminal: ask whether to cancel the platform job."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(
        f"\ncancel the {job.provider} batch job {job.job_id or job.key}? It keeps running"
        " (and billing) otherwise; rerunning the command reattaches to it [y/N] "
    )
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return answer.strip().lower() in ("y", "yes")


def _cmd_native_dry_run(args: argparse.Namespace) -> int:
    from hostkit.batch_jobs import estimate_native

    estimate = estimate_native(
        args.name, args.input, params=dict(args.param or []), config=args.config
    )
    _out(estimate.text())
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from hostkit.batch import batch, scan_output

    if args.dry_run:
        if not args.native:
            _err("--dry-run estimates a native job: add --native")
            return 2
        return _cmd_native_dry_run(args)
    bar = _Bar(args.quiet)
    native: dict[str, Any] = {}
    if args.native:
        native = {
            "native": True,
            "keep_staging": args.keep_staging,
            "cancel_on_interrupt": True if args.cancel_on_interrupt else _ask_cancel,
        }
    try:
        summary = batch(
            args.name,
            args.input,
            args.output,
            concurrency=args.concurrency,
            params=dict(args.param or []),
            retries=args.retries,
            retry_failed=args.retry_failed,
            restart=args.restart,
            dedupe=args.dedupe,
            max_consecutive_failures=args.max_consecutive_failures,
            fsync=not args.no_fsync,
            config=args.config,
            progress=bar,
            **native,
        )
    except KeyboardInterrupt:
        if not args.quiet:
            sys.stderr.write("\n")
        held = len(scan_output(args.output, repair=False).done)
        _err(
            f"interrupted: {args.output} is intact and holds {held} of the results;"
            " run the same command to resume"
        )
        return 130
    if args.json:
        _out(_dumps(summary.to_dict()))
    else:
        _out(summary.text())
    return 0


def add_commands(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    """Add ``batch`` to the ``hostkit`` subcommands."""
    text = "send a JSON Lines file of requests to one deployment; resumable"
    sub = subparsers.add_parser(
        "batch",
        help=text,
        description=text,
        parents=[common_parent],
        epilog="example:\n  hostkit batch scores input.jsonl -o output.jsonl --concurrency 32\n"
        'input lines: {"id": "a", "request": "Hello", "params": {"max_tokens": 64}},'
        ' {"id": 7, "hours": 6} or "Hello"\n'
        "run it again after an interruption: lines already in the output are skipped;\n"
        "one batch writes an output at a time, and a changed input is refused on resume",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.set_defaults(handler=_cmd_batch)
    sub.add_argument("name", metavar="NAME", help="a deployment name or provider:model")
    sub.add_argument("input", metavar="INPUT", help="JSON Lines: one request a line")
    sub.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT", help="JSON Lines results (appended)"
    )
    sub.add_argument(
        "--concurrency",
        type=_positive,
        default=32,
        metavar="N",
        help="requests in flight at most (default 32; fewer while rate-limited)",
    )
    sub.add_argument(
        "--param",
        action="append",
        type=_json_pair,
        metavar="KEY=VALUE",
        help="request parameter for every line, such as max_tokens=64 (repeatable)",
    )
    sub.add_argument(
        "--retries",
        type=_count,
        default=3,
        metavar="N",
        help="resend a line after a transient error up to N times (default 3)",
    )
    sub.add_argument(
        "--retry-failed", action="store_true", help="send the lines that failed last time again"
    )
    sub.add_argument(
        "--restart",
        action="store_true",
        help="discard the results already in OUTPUT and start over (after changing the input)",
    )
    sub.add_argument(
        "--dedupe",
        action="store_true",
        help="an OUTPUT holding an id twice: keep one result per id (the first ok one) and resume",
    )
    sub.add_argument(
        "--max-consecutive-failures",
        type=_count,
        default=5,
        metavar="N",
        help="stop (resumably) after N lines in a row find no deployment: not found or"
        " connection refused (default 5; 0: never stop, write them as failed)",
    )
    sub.add_argument(
        "--no-fsync", action="store_true", help="skip the fsync per line (faster, less durable)"
    )
    sub.add_argument(
        "--native",
        action="store_true",
        help="run the file as the platform's own batch job (SageMaker Batch Transform, Groq"
        " Batch API): no endpoint is used or left running; rerun to reattach",
    )
    sub.add_argument(
        "--keep-staging",
        action="store_true",
        help="--native: keep the uploaded input and the job's output objects",
    )
    sub.add_argument(
        "--cancel-on-interrupt",
        action="store_true",
        help="--native: Ctrl-C cancels the platform job without asking (for scripts)",
    )
    sub.add_argument(
        "--dry-run",
        action="store_true",
        help="--native: print the estimated cost of the job and of the endpoint path; send nothing",
    )
