"""How much of the shipped catalog is priced: per provider, priced rows / rows and the
oldest and newest ``as_of`` of the priced rows.

A maintainer tool, not part of the installed package::

    python scripts/price_coverage.py            # a table
    python scripts/price_coverage.py --json     # the same figures as JSON

Rows are ``hostkit.catalog.shipped_offerings(provider)``: the shipped ``prices.toml`` and
``hardware.toml`` alone (one row per instance type and priced region, one per served model).
Live prices cached by ``hostkit catalog --refresh`` and hostkit.toml ``[prices]`` overrides
are left out (the cache folder is pointed at an empty temporary folder), so the figure is
what ships. Rows marked secondary or stale are counted as priced and counted again in
their own columns.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Coverage:
    """One provider's figures."""

    provider: str
    priced: int
    rows: int
    oldest: str | None
    newest: str | None
    secondary: int = 0
    stale: int = 0


def coverage(provider: str) -> Coverage:
    """``provider``'s shipped rows: how many are priced, and the span of their dates."""
    from hostkit import catalog

    rows = catalog.shipped_offerings(provider)
    priced = [row for row in rows if row.priced]
    dates = sorted(row.as_of for row in priced if row.as_of)
    return Coverage(
        provider=provider,
        priced=len(priced),
        rows=len(rows),
        oldest=dates[0] if dates else None,
        newest=dates[-1] if dates else None,
        secondary=sum(1 for row in priced if getattr(row, "confidence", None) == "secondary"),
        stale=sum(1 for row in priced if getattr(row, "stale", False)),
    )


def table(figures: list[Coverage]) -> str:
    """The figures as a fixed-width text table with a total line."""
    headers = ["provider", "priced/rows", "oldest as_of", "newest as_of", "secondary", "stale"]
    lines = [
        [
            f.provider,
            f"{f.priced}/{f.rows}",
            f.oldest or "-",
            f.newest or "-",
            str(f.secondary),
            str(f.stale),
        ]
        for f in figures
    ]
    dates = [d for f in figures for d in (f.oldest, f.newest) if d]
    lines.append(
        [
            "total",
            f"{sum(f.priced for f in figures)}/{sum(f.rows for f in figures)}",
            min(dates) if dates else "-",
            max(dates) if dates else "-",
            str(sum(f.secondary for f in figures)),
            str(sum(f.stale for f in figures)),
        ]
    )
    widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print the coverage table (or JSON)."""
    parser = argparse.ArgumentParser(prog="price_coverage", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("provider", nargs="*", help="only these providers (default: all)")
    args = parser.parse_args(argv)
    before = os.environ.get("HOSTKIT_CACHE_DIR")
    with tempfile.TemporaryDirectory() as empty:
        os.environ["HOSTKIT_CACHE_DIR"] = empty  # shipped data only, never the user's cache
        try:
            from hostkit import catalog

            names = args.provider or catalog.provider_names()
            figures = [coverage(name) for name in names]
        finally:
            if before is None:
                os.environ.pop("HOSTKIT_CACHE_DIR", None)
            else:
                os.environ["HOSTKIT_CACHE_DIR"] = before
    if args.json:
        data: list[dict[str, Any]] = [asdict(f) for f in figures]
        print(json.dumps(data, indent=2))
    else:
        print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
