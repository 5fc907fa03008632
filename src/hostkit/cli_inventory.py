"""``hostkit ls``, ``hostkit teardown --all`` and ``hostkit providers [--check]``.

Wired into :mod:`hostkit.cli`: ``add_commands(commands, common)`` adds ``ls``;
``add_teardown_options`` and ``add_providers_options`` extend the two existing
commands, whose handlers call :func:`teardown_all` and :func:`cmd_providers`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import hostkit
from hostkit.cli import _dumps, _emit, _err, _out, _usd
from hostkit.errors import ConfigError

__all__ = [
    "add_commands",
    "add_providers_options",
    "add_teardown_options",
    "cmd_providers",
    "teardown_all",
]

ALL_ACCOUNTS_HELP = (
    "widen listings a platform scopes by account, organisation or project, where the"
    " adapter supports it; no built-in adapter does yet (SageMaker lists the credentials'"
    " account in the configured region, Hugging Face the namespace setting; local and the"
    " serverless platforms have no accounts): see docs/ls.md"
)


# -- formatting ---------------------------------------------------------------------
def _age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes, hours, days = int(seconds // 60), int(seconds // 3600), int(seconds // 86400)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if minutes < 60:
        return f"{minutes}m"
    if hours < 48:
        return f"{hours}h{minutes % 60:02d}m"
    return f"{days}d{hours % 24:02d}h"


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for cells in (headers, *rows):
        _out("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())


def _rate(listing: Any) -> str:
    if listing.usd_per_hour is None:
        return "unknown"
    return _usd(listing.usd_per_hour)


def _spend(listing: Any) -> str:
    if listing.spend_usd is None:
        return "per use" if listing.usd_per_hour == 0 and listing.spend_note else "unknown"
    at_least = "≥" if listing.created_from == "record" else ""
    return at_least + _usd(listing.spend_usd)


def _row(listing: Any) -> list[str]:
    d = listing.deployment
    age = _age(listing.age_s)
    if listing.created_from == "record" and listing.age_s is not None:
        age = "≥" + age
    return [
        d.name,
        d.provider,
        d.status,
        "-" if d.replicas is None else str(d.replicas),
        d.instance or "-",
        d.region or "-",
        age,
        _rate(listing),
        listing.price_as_of or "-",
        _spend(listing),
    ]


HEADERS = ["NAME", "PROVIDER", "STATUS", "REPLICAS", "INSTANCE", "REGION", "AGE", "$/HOUR"]
HEADERS += ["PRICE DATE", "SPEND"]


def _notes(inventory: Any) -> None:
    """Why a rate or a spend is unknown, and the total burn rate."""
    for listing in inventory:
        d = listing.deployment
        if listing.usd_per_hour is None:
            _out(f"  {d.provider}/{d.name}: $/hour unknown: {listing.price_note}")
        elif listing.spend_usd is None and listing.usd_per_hour:
            _out(f"  {d.provider}/{d.name}: spend unknown: {listing.spend_note}")
    if any(listing.created_from == "record" for listing in inventory):
        _out("  ≥: the platform gives no creation time; age counts from hostkit's last save")
    if any(listing.usd_per_hour == 0 and listing.spend_note for listing in inventory):
        _out("  per use: serverless, billed per token or request; idle time is free")
    total = inventory.usd_per_hour
    _out(f"total now: {'unknown (some rates are unknown)' if total is None else _usd(total)}/hour")


def _skipped(inventory: Any) -> None:
    for provider, reason in inventory.skipped.items():
        _err(f"skipped {provider}: {reason}")


# -- ls -----------------------------------------------------------------------------
def _list(args: argparse.Namespace) -> Any:
    from hostkit.inventory import list_deployments

    return list_deployments(args.provider, all_accounts=args.all_accounts, config=args.config)


def _cmd_ls(args: argparse.Namespace) -> int:
    inventory = _list(args)

    def human() -> None:
        if not inventory.listings:
            _out(f"no deployments found (asked: {', '.join(inventory.asked) or 'none'})")
        else:
            _table(HEADERS, [_row(listing) for listing in inventory])
            _notes(inventory)
        _skipped(inventory)

    if args.json:
        _out(_dumps(inventory.to_dict()))
    else:
        human()
    return 0


# -- teardown --all -----------------------------------------------------------------
def _confirm(count: int) -> bool:
    if not sys.stdin.isatty():
        raise ConfigError(
            f"teardown --all: refusing to delete {count} deployment(s) without confirmation:"
            " stdin is not a terminal; pass --yes to delete them"
        )
    _err(f"delete these {count} deployment(s)? [y/N] ")
    try:
        answer = input()
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def teardown_all(args: argparse.Namespace) -> int:
    """Delete every deployment ``hostkit ls`` shows (of ``--provider``), after confirming."""
    from hostkit.inventory import teardown_all as delete_all

    if args.name is not None:
        raise ConfigError("teardown: give a deployment NAME or --all, not both")
    inventory = _list(args)
    _skipped(inventory)
    show = _err if args.json else _out
    if not inventory.listings:
        show(f"nothing to delete: no deployments found (asked: {', '.join(inventory.asked)})")
        if args.json:
            _out(_dumps({"results": [], "skipped": inventory.to_dict()["skipped"]}))
        return 0
    show(f"will delete {len(inventory.listings)} deployment(s):")
    for listing in inventory:
        d = listing.deployment
        show(f"  {d.provider}/{d.name}  {d.status}  {d.instance or '-'}  {_rate(listing)}/hour")
    if not args.yes and not _confirm(len(inventory.listings)):
        _err("aborted; nothing was deleted")
        return 1
    results = delete_all(inventory)

    def human() -> None:
        for result in results:
            reason = f": {result.reason}" if result.reason else ""
            _out(f"{result.provider}/{result.name}  {result.outcome}{reason}")

    _emit(
        args,
        {"results": results, "skipped": inventory.to_dict()["skipped"]},
        human,
    )
    failed = [r for r in results if r.outcome == "failed"]
    if failed and not args.quiet:
        _err(f"{len(failed)} of {len(results)} deletion(s) failed; see above")
    return 1 if failed else 0


# -- providers ----------------------------------------------------------------------
def _capability_words(capabilities: dict[str, bool]) -> str:
    from hostkit.cli import _capability_words as words

    return words(capabilities)


def _credential_word(found: bool | None, source: str) -> str:
    if found:
        return "found"
    if source.startswith("none needed"):
        return "not needed"
    return "unknown" if found is None else "missing"


def cmd_providers(args: argparse.Namespace) -> int:
    """Registered providers, where their credentials come from, and (``--check``) access."""
    from hostkit.inventory import check_access, credentials

    infos = hostkit.available_providers()
    installed = [info.name for info in infos if info.installed and not info.error]
    creds = {c.provider: c for c in credentials(installed, args.config)}
    checks = {}
    if getattr(args, "check", False):
        checks = {c.provider: c for c in check_access(installed, args.config, timeout=args.timeout)}
    rows = []
    for info in infos:
        row: dict[str, Any] = {**_info_dict(info)}
        cred = creds.get(info.name)
        row["credentials"] = cred.to_dict() if cred else None
        if checks:
            check = checks.get(info.name)
            row["check"] = check.to_dict() if check else None
        rows.append(row)

    def human() -> None:
        _providers_human(infos, creds, checks)

    _emit(args, rows, human)
    return 0


def _info_dict(info: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(info)


def _providers_human(infos: list[Any], creds: dict[str, Any], checks: dict[str, Any]) -> None:
    if not infos:
        _out(
            "no providers registered; a provider appears once its package is installed"
            " (entry point group 'hostkit.providers')"
        )
        return
    width = max(len(info.name) for info in infos)
    for info in infos:
        state = "broken" if info.error else "installed" if info.installed else "not installed"
        cred = creds.get(info.name)
        word = _credential_word(cred.found, cred.source) if cred else "-"
        check = checks.get(info.name)
        shown = (
            f"  {check.result:<14}" if check is not None else ("  -" + " " * 13 if checks else "")
        )
        _out(
            f"{info.name.ljust(width)}  {state:<13}  creds: {word:<10}{shown}"
            f"  {_capability_words(info.capabilities)}".rstrip()
        )
        pad = " " * (width + 2)
        if info.error:
            _out(f"{pad}error: {info.error}")
        if info.description:
            _out(f"{pad}{info.description}")
        if cred is not None:
            _out(f"{pad}credentials: {cred.source}")
        if check is not None and check.result != "ok":
            _out(f"{pad}check: {check.result}: {check.detail}")
        details = []
        if info.install_command:
            details.append(f"install: {info.install_command}")
        if info.distribution:
            details.append(f"from: {info.distribution}")
        if details:
            _out(pad + "   ".join(details))


# -- the parser ---------------------------------------------------------------------
def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def add_providers_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="make one cheap authenticated read per installed provider (e.g. list endpoints"
        " or models) and say: ok, denied, no credentials, unreachable or not checked",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="with --check: how long each read may take (default 5, no retries)",
    )


def _listing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", metavar="P", help="only this provider")
    parser.add_argument("--all-accounts", action="store_true", help=ALL_ACCOUNTS_HELP)


def add_teardown_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("deleting everything (teardown --all)")
    group.add_argument(
        "--all",
        action="store_true",
        help="delete every deployment `hostkit ls` shows (of --provider P); lists them first"
        " and asks unless --yes",
    )
    group.add_argument("--provider", metavar="P", help="with --all: only this provider's")
    group.add_argument("--all-accounts", action="store_true", help="with --all: as for `ls`")
    group.add_argument("-y", "--yes", action="store_true", help="with --all: delete without asking")


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    help_ = "list every deployment hostkit knows of, with its cost per hour and spend so far"
    ls = commands.add_parser(
        "ls",
        help=help_,
        description=help_ + ". Asks local, every provider with saved records and every provider"
        " the config names; a provider that cannot list is skipped with the reason.",
        parents=[common],
    )
    ls.set_defaults(handler=_cmd_ls)
    _listing_options(ls)
