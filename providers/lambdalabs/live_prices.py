"""Lambda's live list prices: ``GET /api/v1/instance-types`` (``price_cents_per_hour``).

Lambda charges the same in every region, so each row is region-less, keyed by the
instance type name, in USD per instance-hour. Needs the API key (the adapter's client,
auth and error mapping are reused).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hostkit.adapters import PriceRow

if TYPE_CHECKING:
    from .provider import LambdaLabsProvider

__all__ = ["fetch_live_prices"]


def fetch_live_prices(provider: LambdaLabsProvider) -> list[PriceRow]:
    """One row per instance type the API prices (types without a price are left out)."""
    source = f"{provider.base_url}/instance-types"
    today = _dt.date.today().isoformat()
    rows = []
    for name, entry in sorted(provider._catalog().items()):
        kind = entry.get("instance_type") if isinstance(entry, Mapping) else None
        cents = kind.get("price_cents_per_hour") if isinstance(kind, Mapping) else None
        if isinstance(cents, bool) or not isinstance(cents, int | float) or cents < 0:
            continue
        rows.append(
            PriceRow(
                key=name,
                source=source,
                as_of=today,
                usd_per_hour=round(float(cents) / 100, 4),
                notes=f"price_cents_per_hour = {cents} ({kind.get('description') or name})",
            )
        )
    return rows
