"""The ``hostkit`` command: deploy, invoke, scale, tear down and price from a shell.

Data goes to stdout (``--json`` makes it machine-readable); progress, summaries
and errors go to stderr. Exit codes: 0 success, 1 a hostkit error, 2 a usage or
configuration error, 130 interrupted. Set ``HOSTKIT_RAISE_ERRORS=1`` to get the
Python traceback of a hostkit error instead of the one-line message.

This module is imported only by the console script and ``python -m hostkit``,
never by ``import hostkit``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
import tomllib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import hostkit
from hostkit import _api
from hostkit import _progress as _progress_line
from hostkit._models import check_name, parse_duration
from hostkit.errors import ConfigError, HostkitError, PriceUnknown

__all__ = ["build_parser", "main"]

RAISE_ERRORS_ENV = "HOSTKIT_RAISE_ERRORS"

QUICKSTART_MODEL = "hostkit_examples.study_score:predict"
QUICKSTART_NAME = "quickstart-study-score"
QUICKSTART_REQUEST: dict[str, Any] = {"hours": [2, 5, 8]}

_GLOBAL_DEFAULTS: dict[str, Any] = {"config": None, "json": False, "verbose": False, "quiet": False}
_SPEC_FILE_SUFFIXES = (".toml", ".json")

Handler = Callable[[argparse.Namespace], int]


# -- output -------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """Plain JSON-ready data: ``to_dict()`` where a type has it, else ``asdict``."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return _jsonable(to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), indent=2, default=str)


def _out(text: str = "") -> None:
    print(text, file=sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _emit(args: argparse.Namespace, data: Any, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON under ``--json``, else run the human renderer."""
    if args.json:
        _out(_dumps(data))
    else:
        human()


def _progress(message: str) -> None:
    """One plain progress line on stderr (the CLI shows waits with _progress.show_on)."""
    _err(f"  … {message}")


def _usd(amount: float) -> str:
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    return "$" + f"{amount:.8f}".rstrip("0").rstrip(".")


def _fields(rows: Sequence[tuple[str, Any]]) -> None:
    """Aligned ``key  value`` lines, skipping empty values."""
    shown = [(key, value) for key, value in rows if value not in (None, "", {}, [])]
    width = max((len(key) for key, _ in shown), default=0)
    for key, value in shown:
        _out(f"  {key.ljust(width)}  {value}")


def _show_deployment(deployment: hostkit.Deployment) -> None:
    _out(f"{deployment.name}  {deployment.status}")
    _fields(
        [
            ("provider", deployment.provider),
            ("model", deployment.model),
            ("endpoint", deployment.endpoint),
            ("instance", deployment.instance),
            ("region", deployment.region),
            ("replicas", deployment.replicas),
            ("min replicas", deployment.min_replicas),
            ("max replicas", deployment.max_replicas),
            ("notice", deployment.raw.get("notice")),
            ("reason", deployment.raw.get("failure_reason")),
        ]
    )


def _show_cost(estimate: hostkit.CostEstimate) -> None:
    _out(f"total   {'unknown' if estimate.usd is None else _usd(estimate.usd)}")
    if estimate.source:
        as_of = f" (as of {estimate.as_of})" if estimate.as_of else ""
        _out(f"source  {estimate.source}{as_of}")
    if estimate.usd is not None and estimate.as_of:
        from hostkit._pricing import as_of_text

        _out(f"age     {as_of_text(estimate.as_of)}")
    for line in estimate.breakdown:
        _out(
            f"  {line.description}: {line.quantity:g} {line.unit}"
            f" at {_usd(line.unit_price_usd)} = {_usd(line.usd)}"
        )


def _warn_cost(estimate: hostkit.CostEstimate) -> None:
    for message in estimate.warnings:
        _err(f"warning: {message}")


def _invoke_summary(result: hostkit.InvokeResult) -> str:
    parts = [f"latency {result.latency_s * 1000:.0f} ms"]
    if result.ttft_s is not None:
        parts.append(f"first token {result.ttft_s * 1000:.0f} ms")
    usage = result.usage
    if usage.input_tokens is not None or usage.output_tokens is not None:
        parts.append(f"tokens {usage.input_tokens or 0} in / {usage.output_tokens or 0} out")
    if result.cost_usd is not None:
        parts.append(f"cost {_usd(result.cost_usd)}")
    if result.request_id:
        parts.append(f"request id {result.request_id}")
    return " · ".join(parts)


def _show_output(output: Any) -> None:
    _out(output if isinstance(output, str) else json.dumps(output, indent=2, default=str))


def _capability_words(capabilities: Mapping[str, bool]) -> str:
    if not capabilities:
        return ""
    words = ["dedicated" if capabilities.get("dedicated") else "serverless"]
    words += [
        key.replace("_", " ") for key, on in capabilities.items() if on and key != "dedicated"
    ]
    return ", ".join(words)


# -- argument types -------------------------------------------------------------
def _parse_value(text: str) -> Any:
    """JSON when ``text`` parses as JSON, else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _json_pair(text: str) -> tuple[str, Any]:
    key, value = _pair(text)
    return key, _parse_value(value)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def _amount(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text, field_name="timeout")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(error.message) from None


# -- commands -------------------------------------------------------------------
def _cmd_providers(args: argparse.Namespace) -> int:
    """Registered providers, their credential sources and (``--check``) access: cli_inventory."""
    from hostkit.cli_inventory import cmd_providers

    return cmd_providers(args)


def _load_spec_file(path: Path) -> hostkit.DeploymentSpec:
    """A spec from a TOML or JSON file holding one table of spec fields."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read spec file: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.start}: {error.reason});"
            " spec files must be UTF-8 encoded TOML or JSON"
        ) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise ConfigError(f"{path}: not valid {kind}: {error}") from None
    if isinstance(data, Mapping) and isinstance(data.get("deployments"), Mapping):
        names = ", ".join(sorted(data["deployments"])) or "none"
        raise ConfigError(
            f"{path} is a config file, not a spec file; deploy one of its deployments"
            f" ({names}) with: hostkit --config {path} deploy NAME"
        )
    return hostkit.DeploymentSpec.from_dict(data, where=str(path))


def _deploy_spec(args: argparse.Namespace) -> hostkit.DeploymentSpec:
    flags = {
        "provider": args.provider,
        "model": args.model,
        "name": args.name,
        "task": args.task,
        "instance": args.instance,
        "accelerator": args.accelerator,
        "region": args.region,
        "replicas": args.replicas,
        "min_replicas": args.min_replicas,
        "max_replicas": args.max_replicas,
        "scale_to_zero_after": args.scale_to_zero_after,
        "image": args.image,
    }
    given = {key: value for key, value in flags.items() if value is not None}
    options = dict(args.option or [])
    env = dict(args.env or [])
    target: str | None = args.target
    if target is None:
        if args.provider is None or args.model is None:
            raise ConfigError(
                "deploy: give a deployment NAME from the config, a spec FILE,"
                " or --provider and --model"
            )
        return hostkit.DeploymentSpec.from_dict(
            {**given, "options": options, "env": env}, where="command line"
        )
    config = hostkit.load_config(args.config)
    path = Path(target)
    if target in config.deployments:
        spec = config.deployment(target)
    elif path.is_file():
        spec = _load_spec_file(path)
    elif path.suffix in _SPEC_FILE_SUFFIXES:
        raise ConfigError(f"{target}: spec file not found")
    else:
        spec = config.deployment(target)  # raises, naming it and the known names
    if given or options or env:
        spec = spec.replace(**given, options={**spec.options, **options}, env={**spec.env, **env})
    return spec


def _cmd_deploy(args: argparse.Namespace) -> int:
    spec = _deploy_spec(args)
    if not args.quiet:
        _err(f"deploying {spec.name} on {spec.provider}")
    deployment = hostkit.deploy(
        spec,
        config=args.config,
        wait=not args.no_wait,
        timeout=args.timeout,
        update=args.update,
        keep_failed=args.keep_failed,
    )
    _emit(args, deployment, lambda: _show_deployment(deployment))
    if not deployment.is_ready and not args.quiet:
        _err(
            f"{deployment.name} is {deployment.status}; follow it with: hostkit status {spec.name}"
        )
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    if getattr(args, "watch", False):
        from hostkit.cli_observe import watch

        return watch(args)
    deployment = _api.resolve_deployment(args.name, args.config).refresh()
    _emit(args, deployment, lambda: _show_deployment(deployment))
    return 0


def _request(args: argparse.Namespace) -> Any:
    text: str = sys.stdin.read() if args.request == "-" else args.request
    return text if args.text else _request_value(text)


def _request_value(text: str) -> Any:
    """JSON when ``text`` parses as JSON; a plain string unless it looks like JSON.

    A ``{`` or ``[`` that does not parse is an error (a typo would else be sent as a
    prompt); ``--text`` sends it as the string it is.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        if not text.lstrip().startswith(("{", "[")):
            return text
        raise ConfigError(
            f"invoke: REQUEST starts with {text.lstrip()[0]!r} but is not valid JSON"
            f" ({error.msg} at line {error.lineno} column {error.colno});"
            " quote keys and strings with double quotes"
            " ('{\"hours\": 6}'), or pass --text to send it as a plain string"
        ) from None


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params = dict(args.param or [])
    if "config" in params:
        raise ConfigError("invoke: --param config=... clashes with --config; use another name")
    return params


def _cmd_invoke(args: argparse.Namespace) -> int:
    request = _request(args)
    params = _params(args)
    if args.stream:
        return _stream(args, request, params)
    result = hostkit.invoke(args.name, request, config=args.config, **params)

    def human() -> None:
        _show_output(result.text if result.text is not None else result.output)
        if not args.quiet:
            _err(_invoke_summary(result))

    _emit(args, result, human)
    return 0


def _stream(args: argparse.Namespace, request: Any, params: dict[str, Any]) -> int:
    with hostkit.stream(args.name, request, config=args.config, **params) as chunks:
        last = ""
        for chunk in chunks:
            if not args.json:
                sys.stdout.write(chunk)
                sys.stdout.flush()
                last = chunk or last
        result = chunks.result
    if args.json:
        _out(_dumps(result))
        return 0
    if last and not last.endswith("\n"):
        _out()
    if result is not None and not args.quiet:
        _err(_invoke_summary(result))
    return 0


def _cmd_scale(args: argparse.Namespace) -> int:
    if args.replicas is None and args.min is None and args.max is None:
        raise ConfigError("scale: give REPLICAS, or --min and/or --max")
    deployment = hostkit.scale(
        args.name,
        args.replicas,
        min_replicas=args.min,
        max_replicas=args.max,
        config=args.config,
    )
    _emit(args, deployment, lambda: _show_deployment(deployment))
    return 0


def _cmd_teardown(args: argparse.Namespace) -> int:
    if args.all or args.name is None:
        from hostkit.cli_inventory import teardown_all

        if not args.all:
            raise ConfigError("teardown: give a deployment NAME, or --all to delete everything")
        return teardown_all(args)
    if args.provider or args.all_accounts or args.yes:
        raise ConfigError("teardown: --provider, --all-accounts and --yes go with --all")
    name: str = args.name
    config = hostkit.load_config(args.config)
    if name not in config.deployments:
        check_name(name, argument="teardown NAME")
        if _api._saved_provider_of(name) is None:
            why = "not in the config, not saved by an earlier deploy"
            _emit(
                args,
                {"name": name, "status": "not_found", "reason": why},
                lambda: _out(f"{name}  nothing to delete ({why})"),
            )
            return 0
    hostkit.teardown(name, config=config)
    _emit(args, {"name": name, "status": "deleted"}, lambda: _out(f"{name}  deleted"))
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    if args.compare:
        from hostkit.cli_cost import run_compare

        return run_compare(args)
    if args.name is None:
        raise ConfigError("hostkit cost: give a deployment NAME, or --compare with a workload")
    estimate = hostkit.cost(
        args.name,
        hours=args.hours,
        requests=args.requests,
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        config=args.config,
    )
    _emit(args, estimate, lambda: _show_cost(estimate))
    _warn_cost(estimate)
    return 0


def _cmd_quickstart(args: argparse.Namespace) -> int:
    # narration is the output in human mode; under --json it is chatter on stderr
    def say(text: str) -> None:
        if not args.json:
            _out(text)
        elif not args.quiet:
            _err(text)

    steps: list[dict[str, Any]] = []
    say(
        "hostkit quickstart: the five operations, on the built-in 'local' provider."
        "\nEverything runs on this machine; nothing is sent anywhere and nothing costs money."
    )
    say(
        f"\n1/5 deploy: the example model {QUICKSTART_MODEL}, a small linear regression"
        "\n    that predicts a test score from the hours studied."
    )
    deployment = hostkit.deploy(
        provider="local", model=QUICKSTART_MODEL, name=QUICKSTART_NAME, config=args.config
    )
    torn_down = False
    try:
        say(f"    {deployment.name} is {deployment.status}" + _at(deployment.endpoint))
        steps.append({"step": "deploy", "deployment": deployment})

        hours = QUICKSTART_REQUEST["hours"]
        say(f"\n2/5 invoke: predicted scores for students who studied {_listing(hours)} hours.")
        result = hostkit.invoke(deployment, QUICKSTART_REQUEST)
        say(f"    request    {json.dumps(QUICKSTART_REQUEST)}")
        say(f"    prediction {json.dumps(result.output, default=str)}")
        say(f"    latency    {result.latency_s * 1000:.0f} ms")
        steps.append(
            {
                "step": "invoke",
                "request": QUICKSTART_REQUEST,
                "output": result.output,
                "latency_s": result.latency_s,
            }
        )

        say("\n3/5 scale: run 2 copies (replicas) of the model to serve more requests.")
        deployment = hostkit.scale(deployment, 2)
        say(f"    replicas   {deployment.replicas}")
        steps.append({"step": "scale", "replicas": deployment.replicas})

        say("\n4/5 cost: what one hour of this deployment costs.")
        estimate = hostkit.cost(deployment, hours=1)
        price = "unknown" if estimate.usd is None else _usd(estimate.usd)
        source = f" (source: {estimate.source})" if estimate.source else ""
        say(f"    cost       {price} for 1 hour{source}")
        steps.append({"step": "cost", "hours": 1, "estimate": estimate})

        say("\n5/5 teardown: delete the deployment so nothing is left running.")
        hostkit.teardown(deployment)
        torn_down = True
        say(f"    {deployment.name} is {deployment.status}; nothing is left running.")
        steps.append({"step": "teardown", "name": deployment.name, "status": deployment.status})
    finally:
        if not torn_down:
            _cleanup(deployment)

    say(
        "\nDone. The same five calls work on every provider: hostkit.deploy, invoke, scale,"
        "\ncost and teardown. See `hostkit providers` for what is installed here."
    )
    if args.json:
        _out(_dumps({"provider": "local", "model": QUICKSTART_MODEL, "steps": steps}))
    return 0


def _at(endpoint: str | None) -> str:
    return f" at {endpoint}" if endpoint else ""


def _listing(values: Sequence[Any]) -> str:
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _cleanup(deployment: hostkit.Deployment) -> None:
    """Tear down after a failed quickstart step without hiding the step's error."""
    try:
        hostkit.teardown(deployment)
    except HostkitError as error:
        _err(
            f"warning: could not tear down {deployment.name}: {error};"
            f" run: hostkit teardown {deployment.name}"
        )


# -- the parser -----------------------------------------------------------------
def _global_options() -> argparse.ArgumentParser:
    """Options accepted before and after the command (defaults filled in later)."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")
    hide = argparse.SUPPRESS
    group.add_argument(
        "--config", metavar="PATH", default=hide, help="config file (default: ./hostkit.toml)"
    )
    group.add_argument(
        "--json", action="store_true", default=hide, help="print machine-readable JSON"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", default=hide, help="debug logging on stderr"
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=hide, help="no progress messages"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``hostkit`` argument parser."""
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="hostkit",
        description="Deploy, invoke, scale, tear down and price a model on any hosting platform.",
        epilog="New here? Run `hostkit quickstart` for an offline tour.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"hostkit {hostkit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Handler, help_: str, **extra: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_, description=help_, parents=[common], **extra)
        sub.set_defaults(handler=handler)
        return sub

    providers = command(
        "providers",
        _cmd_providers,
        "list registered providers, what they can do and where their credentials come from",
    )
    from hostkit.cli_inventory import add_providers_options, add_teardown_options

    add_providers_options(providers)

    deploy = command(
        "deploy",
        _cmd_deploy,
        "deploy a model and wait until it is ready",
        epilog="examples:\n  hostkit deploy my-model\n  hostkit deploy spec.toml\n"
        "  hostkit deploy --provider local --model hostkit_examples.study_score:predict\n"
        "  hostkit deploy my-llm --timeout 900\n\n"
        "waiting: up to the provider's deploy timeout (local: 120 s; a local options.command\n"
        "LLM server also gets options.startup_timeout, default 600 s, to answer); pass\n"
        "--timeout for slow starts. The wait shows its phase, elapsed time and last log line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    deploy.add_argument(
        "target",
        nargs="?",
        metavar="NAME_OR_FILE",
        help="a deployment under [deployments] in the config, or a TOML/JSON spec file",
    )
    spec = deploy.add_argument_group("spec fields (override the config entry or file)")
    spec.add_argument("--provider", help="provider name (see `hostkit providers`)")
    spec.add_argument("--model", help="model id or path")
    spec.add_argument("--name", help="deployment name (default: derived from the model)")
    spec.add_argument("--task")
    spec.add_argument("--instance", help="instance type")
    spec.add_argument("--accelerator")
    spec.add_argument("--region")
    spec.add_argument("--replicas", type=_count, metavar="N")
    spec.add_argument("--min-replicas", type=_count, metavar="N")
    spec.add_argument("--max-replicas", type=_count, metavar="N")
    spec.add_argument("--scale-to-zero-after", metavar="DURATION", help="e.g. 900 or 15m")
    spec.add_argument("--image", help="container image")
    spec.add_argument(
        "--option",
        action="append",
        type=_json_pair,
        metavar="KEY=VALUE",
        help="provider-specific option; VALUE is parsed as JSON when it can be (repeatable)",
    )
    spec.add_argument(
        "--env",
        action="append",
        type=_pair,
        metavar="KEY=VALUE",
        help="environment variable for the model (repeatable)",
    )
    behaviour = deploy.add_argument_group("deploy behaviour")
    behaviour.add_argument("--no-wait", action="store_true", help="return once creation starts")
    behaviour.add_argument(
        "--timeout",
        type=_duration,
        metavar="SECONDS",
        help="give up waiting after this long (default: the provider's deploy timeout,"
        " e.g. local 120s; see docs/providers/<provider>.md)",
    )
    behaviour.add_argument(
        "--update", action="store_true", help="change an existing deployment of the same name"
    )
    behaviour.add_argument(
        "--keep-failed", action="store_true", help="do not delete what a failed deploy created"
    )

    status = command("status", _cmd_status, "show a deployment's current state")
    status.add_argument(
        "name", metavar="NAME", help="a deployment under [deployments] or from an earlier deploy"
    )
    from hostkit.cli_observe import add_watch_options

    add_watch_options(status)

    invoke = command("invoke", _cmd_invoke, "send one request to a deployment")
    invoke.add_argument(
        "name", metavar="NAME", help="a deployment under [deployments] or from an earlier deploy"
    )
    invoke.add_argument(
        "request",
        metavar="REQUEST",
        help="a JSON payload, or else a prompt; '-' reads it from stdin",
    )
    invoke.add_argument(
        "--text", action="store_true", help="send REQUEST as a prompt even if it parses as JSON"
    )
    invoke.add_argument(
        "--stream",
        action="store_true",
        help="print text as it arrives (with --json: only the final result)",
    )
    invoke.add_argument(
        "--param",
        action="append",
        type=_json_pair,
        metavar="KEY=VALUE",
        help="request parameter such as max_tokens=64; VALUE parsed as JSON when it can be",
    )

    scale = command("scale", _cmd_scale, "set replicas or autoscaling bounds")
    scale.add_argument("name", metavar="NAME", help="the deployment to scale")
    scale.add_argument(
        "replicas",
        nargs="?",
        type=_count,
        metavar="REPLICAS",
        help="the fixed replica count (or give --min/--max for autoscaling bounds)",
    )
    scale.add_argument("--min", type=_count, metavar="N", help="autoscaling lower bound")
    scale.add_argument("--max", type=_count, metavar="N", help="autoscaling upper bound")

    teardown = command("teardown", _cmd_teardown, "delete a deployment and all it holds")
    teardown.add_argument(
        "name", nargs="?", metavar="NAME", help="the deployment to delete (or --all)"
    )
    add_teardown_options(teardown)

    cost = command("cost", _cmd_cost, "estimate what a deployment costs, or --compare options")
    cost.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="a deployment under [deployments] or from an earlier deploy (with --compare:"
        " also provider:model or provider:instance)",
    )
    cost.add_argument("--hours", type=_amount, metavar="H", help="with --compare: per month")
    cost.add_argument("--requests", type=_count, metavar="N")
    cost.add_argument("--input-tokens", type=_count, metavar="N")
    cost.add_argument("--output-tokens", type=_count, metavar="N")
    from hostkit.cli_cost import add_arguments as add_compare_arguments

    add_compare_arguments(cost)

    command("quickstart", _cmd_quickstart, "an offline tour on the built-in local provider")
    from hostkit.cli_batch import add_commands as add_batch_commands
    from hostkit.cli_catalog import add_commands as add_catalog_commands
    from hostkit.cli_compare import add_commands as add_compare_commands

    add_catalog_commands(commands, common)
    add_compare_commands(commands, common)
    from hostkit.cli_observe import add_commands as add_observe_commands

    add_observe_commands(commands, common)
    add_batch_commands(commands, common)
    from hostkit.cli_inventory import add_commands as add_inventory_commands

    add_inventory_commands(commands, common)
    from hostkit.cli_recommend import add_commands as add_recommend_commands

    add_recommend_commands(commands, common)
    return parser


# -- running --------------------------------------------------------------------
class _LevelFormatter(logging.Formatter):
    def __init__(self, verbose: bool) -> None:
        super().__init__("%(name)s: %(message)s" if verbose else "%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {super().format(record)}"


def _redact_filter() -> logging.Filter:
    from hostkit._redact import RedactingFilter

    return RedactingFilter()


@contextlib.contextmanager
def _logging(verbose: bool, quiet: bool) -> Iterator[None]:
    """Send the ``hostkit`` logger to stderr (DEBUG with ``-v``, else warnings)."""
    logger = logging.getLogger("hostkit")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_redact_filter())
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(_LevelFormatter(verbose))
    if not quiet:  # progress is printed by the listener already
        handler.addFilter(lambda record: record.name != "hostkit.progress")
    previous = logger.level
    if verbose:
        logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    _err(f"warning: {message}")


def _raise_errors() -> bool:
    return os.environ.get(RAISE_ERRORS_ENV, "") not in ("", "0")


def _report(error: HostkitError) -> int:
    _err(f"error: {error}")
    for note in getattr(error, "__notes__", ()):
        _err(f"  note: {note}")
    return 2 if isinstance(error, ConfigError) else 1


def _run(args: argparse.Namespace) -> int:
    for key, default in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, default)
    handler: Handler = args.handler
    with contextlib.ExitStack() as stack:
        stack.enter_context(_logging(args.verbose, args.quiet))
        stack.enter_context(warnings.catch_warnings())
        warnings.showwarning = _show_warning
        # every CostEstimate carries its own warnings; the cost renderers print them
        warnings.simplefilter("ignore", PriceUnknown)
        if not args.quiet:
            # a wait is redrawn in place on a terminal; plain lines (no \r) in a file or pipe
            stack.enter_context(_progress_line.show_on(sys.stderr))
        try:
            return handler(args)
        except HostkitError as error:
            if _raise_errors():
                raise
            return _report(error)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _err(str(code))
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hostkit`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        return _run(parser.parse_args(argv))
    except SystemExit as exit_:  # argparse usage errors (2), --help and --version (0)
        return _exit_code(exit_.code)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # the reader went away (`hostkit providers | head`): stop quietly
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
