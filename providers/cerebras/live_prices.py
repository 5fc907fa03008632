"""Cerebras' live per-token prices: its public models API (no credential).

``GET https://api.cerebras.ai/public/v1/models?format=openrouter`` lists every model
Cerebras serves publicly, unauthenticated, in the OpenRouter-compatible shape that
cerebras-cloud-sdk types as ``OpenRouterModelsResponse``::

    {"data": [{"id": "cerebras/gpt-oss-120b", "name": "...", "hugging_face_id": "openai/...",
               "pricing": {"prompt": "0.00000035", "completion": "0.00000075"}, ...}]}

``pricing.prompt`` / ``pricing.completion`` are USD **per token** as strings; hostkit stores
them per million tokens. The ``cerebras/`` prefix is dropped (the chat API takes the bare
id). A model without a readable price is left out (it stays unpriced, with the usual
warning); an answer that is not that shape raises ProviderError and the last good cache is
kept (``hostkit.catalog.refresh``).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hostkit.adapters import HttpClient, PriceRow
from hostkit.errors import ProviderError

if TYPE_CHECKING:
    from .provider import CerebrasProvider

__all__ = ["MODELS_URL", "fetch_live_prices", "rows_from"]

MODELS_URL = "https://api.cerebras.ai/public/v1/models"


def _per_million(value: Any) -> float | None:
    """USD per token (a string or a number) as USD per million tokens; None if unreadable."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number) or number < 0:
        return None
    return round(number * 1e6, 6)


def _row(item: Mapping[str, Any], today: str) -> PriceRow | None:
    model = str(item.get("id") or "").removeprefix("cerebras/")
    pricing = item.get("pricing")
    if not model or not isinstance(pricing, Mapping):
        return None
    prompt = _per_million(pricing.get("prompt"))
    completion = _per_million(pricing.get("completion"))
    if prompt is None or completion is None:
        return None
    hub = item.get("hugging_face_id")
    return PriceRow(
        key=model,
        source=f"{MODELS_URL}?format=openrouter",
        as_of=today,
        input_per_million=prompt,
        output_per_million=completion,
        notes="Cerebras' public models API (pricing.prompt / pricing.completion, USD per token)",
        hub_model=hub if isinstance(hub, str) and hub.count("/") == 1 else None,
    )


def rows_from(document: Any, today: str | None = None) -> list[PriceRow]:
    """Price rows from a public models API answer (ProviderError if it is not one)."""
    data = document.get("data") if isinstance(document, Mapping) else None
    if not isinstance(data, list):
        raise ProviderError(
            f"unexpected answer from {MODELS_URL}: no 'data' list of models", provider="cerebras"
        )
    day = today or _dt.date.today().isoformat()
    rows = [_row(item, day) for item in data if isinstance(item, Mapping)]
    return sorted((row for row in rows if row is not None), key=lambda row: row.key)


def fetch_live_prices(provider: CerebrasProvider) -> list[PriceRow]:
    """Every publicly served model's input and output price per million tokens."""
    client = HttpClient(
        provider=provider.name, base_url=MODELS_URL, retry=provider.retry, timeout=provider.timeout
    )
    try:
        response = client.request("GET", MODELS_URL, params={"format": "openrouter"})
        try:
            document = response.json()
        except ValueError:
            raise ProviderError(
                f"unexpected answer from {MODELS_URL}: not JSON ({response.text[:120]!r})",
                provider="cerebras",
            ) from None
    finally:
        client.close()
    return rows_from(document)
