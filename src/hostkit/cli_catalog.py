"""``hostkit catalog`` and ``hostkit size``: the price catalog and model sizing from a shell.

Wired into :mod:`hostkit.cli` by ``add_commands(commands, common)``.
"""

from __future__ import annotations

import argparse
from typing import Any

from hostkit.cli import _amount, _count, _emit, _err, _out, _usd

__all__ = ["add_commands"]


def _money(value: float | None) -> str:
    return _usd(value) if value is not None else "unknown"


def _gb(value: float | None) -> str:
    return f"{value:g}" if value is not None else "-"


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    _out("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        _out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _price_cell(row: Any) -> str:
    if row.kind == "model" and row.usd_per_million_input is not None:
        return (
            f"{_usd(row.usd_per_million_input)}/{_usd(row.usd_per_million_output or 0)} per M tok"
        )
    text = f"{_money(row.usd_per_hour)}/h" if row.usd_per_hour is not None else "unknown"
    if row.host_usd_per_hour is not None or row.gpu_usd_per_hour is not None:
        text += (
            f" (host {_money(row.host_usd_per_hour)}"
            f" + {row.gpu_count} x GPU {_money(row.gpu_usd_per_hour)})"
        )
    if row.confidence == "secondary" and row.priced:
        text += " [secondary]"
    return text


def _age_cell(row: Any) -> str:
    """``"482 d"`` (with ``" stale"`` past the threshold); ``"-"`` for an unpriced row."""
    if row.age_days is None:
        return "-"
    return f"{row.age_days} d" + (" stale" if row.stale else "")


def _cmd_catalog(args: argparse.Namespace) -> int:
    from hostkit import catalog
    from hostkit._config import load_config

    report = catalog.refresh(args.provider, load_config(args.config)) if args.refresh else None
    if report is not None and not args.json:
        _refresh_lines(report)
    rows = catalog.offerings(
        args.provider,
        gpu=args.gpu,
        min_gpu_memory_gb=args.min_gpu_memory,
        region=args.region,
        max_usd_per_hour=args.max_price,
        live=args.live,
        config=load_config(args.config),
    )

    def human() -> None:
        if not rows:
            _out("no offering matches these filters")
            return
        _table(
            [
                "provider",
                "name",
                "gpu",
                "gpu GB",
                "vCPU",
                "RAM GB",
                "region",
                "price",
                "age",
                "as of",
            ],
            [
                [
                    r.provider,
                    r.name,
                    f"{r.gpu_count}x {r.gpu_type}" if r.gpu_count else (r.gpu_type or "-"),
                    _gb(r.gpu_memory_gb),
                    _gb(r.vcpus),
                    _gb(r.ram_gb),
                    r.region or "any",
                    _price_cell(r),
                    _age_cell(r),
                    (r.as_of or "-") + (" *" if r.stale else ""),
                ]
                for r in rows
            ],
        )
        unknown = sum(1 for r in rows if not r.priced)
        if unknown:
            _err(
                f"{unknown} of {len(rows)} rows have no known price (never guessed); set one in"
                ' hostkit.toml: [prices.<provider>."<name>"] usd_per_hour = ..., source = "..."'
            )
        _mark_notes(rows)
        _err("sources: hostkit catalog --json shows each row's source")

    if report is None:
        _emit(args, rows, human)
        return 0
    _emit(args, {"refresh": report.to_dict(), "offerings": rows}, human)
    return 0 if report.ok else 1


def _mark_notes(rows: list[Any]) -> None:
    """Say on stderr how many rows are stale (and why) or from a secondary source."""
    from hostkit._pricing import MAX_AGE_ENV, max_age_days, secondary_text

    cached = sum(1 for r in rows if r.stale and "TTL" in (r.stale_reason or ""))
    if cached:
        _err(
            f"{cached} of {len(rows)} rows are priced from cached live prices older than"
            " their TTL (marked *); run: hostkit catalog --refresh"
        )
    old = sum(
        1
        for r in rows
        if r.stale
        and "older than" in (r.stale_reason or "")
        and "TTL" not in (r.stale_reason or "")
    )
    if old:
        _err(
            f"{old} of {len(rows)} rows have a price older than {max_age_days():g} days"
            f" (stale, marked *; threshold: ${MAX_AGE_ENV}); check their sources"
        )
    secondary = sorted({r.provider for r in rows if r.confidence == "secondary" and r.priced})
    for provider in secondary:
        count = sum(1 for r in rows if r.provider == provider and r.confidence == "secondary")
        _err(f"{count} {provider} rows [secondary]: {secondary_text(provider)}")


def _refresh_lines(report: Any) -> None:
    for result in report:
        if result.status == "ok":
            _err(f"{result.provider}: refreshed {result.rows} live prices")
        elif result.status == "failed":
            _err(f"{result.provider}: refresh failed: {result.reason}")
        else:
            _err(f"{result.provider}: no live price API; shipped prices")


def _cmd_size(args: argparse.Namespace) -> int:
    from hostkit import catalog, sizing
    from hostkit._config import load_config

    shape, origin = None, "parameters and architecture from the arguments"
    if args.model and args.params is None:
        shape, origin = sizing.resolve_shape(args.model, offline=args.offline)
    result = sizing.estimate(
        args.model,
        shape=shape,
        params_b=args.params,
        layers=args.layers,
        kv_heads=args.kv_heads,
        head_dim=args.head_dim,
        dtype=args.dtype,
        kv_dtype=args.kv_dtype,
        context=args.context,
        batch=args.batch,
        margin=args.margin,
    )
    rows = catalog.offerings(args.provider, region=args.region, config=load_config(args.config))
    fitting = sizing.fits(result, rows, per_provider=args.top)

    def human() -> None:
        low, high = result.host_ram_gb
        _out(f"{result.model or 'model'}: {result.params / 1e9:.2f}B parameters, {result.dtype}")
        _out(f"  weights        {result.weights_gb:8.1f} GB")
        _out(
            f"  KV cache       {result.kv_cache_gb:8.1f} GB  ({result.kv_dtype},"
            f" context {result.context} x batch {result.batch})"
        )
        _out(f"  margin         {result.activations_gb:8.1f} GB  ({result.margin:.0%})")
        _out(f"  GPU memory     {result.gpu_memory_gb:8.1f} GB")
        _out(f"  host RAM       {low:8.1f} - {high:.1f} GB  (2-3 x weights)")
        _out(f"  disk           {result.disk_gb:8.1f} GB  (weights at {result.dtype})")
        _out(
            "  weights at     " + ", ".join(f"{d} {gb:.1f} GB" for d, gb in result.by_dtype.items())
        )
        if not fitting:
            _out("no catalog offering fits")
            return
        _out("")
        _table(
            ["provider", "instance", "gpus", "uses", "region", "price"],
            [
                [
                    f.row.provider,
                    f.row.name,
                    f"{f.row.gpu_count}x {f.row.gpu_type} {_gb(f.row.gpu_memory_gb)}GB",
                    f"TP {f.gpus_needed}",
                    f.row.region or "any",
                    _price_cell(f.row),
                ]
                for f in fitting
            ],
        )

    _err(f"sizing {args.model or 'model'}: {origin}")
    _emit(args, {"sizing": result, "fits": fitting, "parameters_from": origin}, human)
    return 0


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``catalog`` and ``size`` to ``hostkit``'s sub-parsers."""

    def command(name: str, handler: Any, help_: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help_, description=help_, parents=[common]
        )
        sub.set_defaults(handler=handler)
        return sub

    cat = command("catalog", _cmd_catalog, "every offering of every provider, with its price")
    cat.add_argument("--provider", action="append", help="only this provider (repeatable)")
    cat.add_argument("--gpu", help="GPU type, e.g. L4, A100-80GB, H100:8 (at least that many)")
    cat.add_argument("--min-gpu-memory", type=_amount, metavar="GB", help="per GPU")
    cat.add_argument("--region")
    cat.add_argument("--max-price", type=_amount, metavar="USD", help="USD per hour, all-in")
    cat.add_argument(
        "--live", action="store_true", help="ask installed providers (may send requests)"
    )
    cat.add_argument(
        "--refresh",
        action="store_true",
        help="first fetch live list prices from the platforms' price APIs into the cache",
    )

    size = command("size", _cmd_size, "GPU memory, RAM and disk a model needs, and what fits it")
    size.add_argument("model", nargs="?", metavar="MODEL", help="a Hugging Face Hub model id")
    size.add_argument("--params", type=_amount, metavar="B", help="parameters, in billions")
    size.add_argument("--layers", type=_count, metavar="N")
    size.add_argument("--kv-heads", type=_count, metavar="N")
    size.add_argument("--head-dim", type=_count, metavar="N")
    size.add_argument("--dtype", default="bf16", help="fp32, bf16, fp16, fp8, int8, int4")
    size.add_argument(
        "--kv-dtype", help="KV cache dtype (default: the weights', fp16 if quantised)"
    )
    size.add_argument("--context", type=_count, default=4096, metavar="TOKENS")
    size.add_argument("--batch", type=_count, default=1, metavar="N")
    size.add_argument("--margin", type=_amount, default=0.2, help="activations margin, fraction")
    size.add_argument("--provider", action="append", help="only this provider (repeatable)")
    size.add_argument("--region")
    size.add_argument("--top", type=_count, default=1, metavar="N", help="fits per provider")
    size.add_argument(
        "--offline",
        action="store_true",
        help="do not ask the Hub; use the shipped table or --params/--layers/...",
    )
