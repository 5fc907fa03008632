"""SageMaker list prices from AWS's public offer files: no credential, no signing.

AWS publishes its price list as static JSON files (the Price List Bulk API)::

    GET {OFFERS_HOST}/offers/v1.0/aws/AmazonSageMaker/current/region_index.json
        {"formatVersion", "publicationDate", "regions": {"us-east-1": {"regionCode": "us-east-1",
         "currentVersionUrl": "/offers/v1.0/aws/AmazonSageMaker/<v>/us-east-1/index.json"}}}
    GET {OFFERS_HOST}<currentVersionUrl>
        {"formatVersion": "v1.0", "offerCode": "AmazonSageMaker", "version", "publicationDate",
         "products": {"<sku>": {"sku", "productFamily": "ML Instance", "attributes":
                      {"instanceName", "regionCode", "platoinstancetype", "location", ...}}},
         "terms": {"OnDemand": {"<sku>": {"<sku>.<offerTermCode>": {"priceDimensions":
                  {"<rateCode>": {"unit": "Hrs", "pricePerUnit": {"USD": "1.5150000000"}}}}}},
                   "Reserved": {...}}}

with ``OFFERS_HOST`` = https://pricing.us-east-1.amazonaws.com (no credential, no signing).
A regional file is tens to hundreds of MB, so it is read as a stream: :class:`MemberReader`
walks the top-level object and decodes one product or one SKU's terms at a time (never the
whole document); only the SKUs of real-time inference (``platoinstancetype`` "Hosting",
``productFamily`` "ML Instance") of the instance types in ``hardware.toml`` are kept, and
their on-demand ``Hrs`` USD price. A file that is not such a document (truncated, not JSON,
another offer) raises ProviderError; ``hostkit.catalog.refresh`` then keeps the last good
cache.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hostkit.adapters import HttpClient, PriceRow
from hostkit.errors import ProviderError

if TYPE_CHECKING:
    from .provider import SageMakerProvider

__all__ = [
    "OFFERS_HOST",
    "REGION_INDEX_URL",
    "MemberReader",
    "fetch_offer_file_prices",
    "prices_from_offer_file",
]

OFFERS_HOST = "https://pricing.us-east-1.amazonaws.com"
REGION_INDEX_URL = f"{OFFERS_HOST}/offers/v1.0/aws/AmazonSageMaker/current/region_index.json"
#: the largest single member (one product, one SKU's terms) held in memory at once
MAX_MEMBER_CHARS = 4_000_000
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'["\\{}\[\]]')
_DECODER = json.JSONDecoder()


class MemberReader:
    """A forward-only reader of a JSON document arriving in text chunks.

    ``members()`` iterates the keys of the object at the current position; after each key
    the caller consumes its value with ``value()`` (decoded), ``skip()`` (scanned, never
    built) or a nested ``members()``. Memory is bounded by the largest decoded member.
    ValueError on anything that is not well-formed JSON, with the character offset.
    """

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)
        self._buffer = ""
        self._pos = 0
        self._consumed = 0  # characters dropped from the front of the buffer
        self._eof = False

    # -- the buffer ------------------------------------------------------------------
    def _fill(self) -> bool:
        """Append the next chunk (dropping what was read); False at the end."""
        if self._eof:
            return False
        for chunk in self._chunks:
            if chunk:
                self._consumed += self._pos
                self._buffer = self._buffer[self._pos :] + chunk
                self._pos = 0
                return True
        self._eof = True
        return False

    def _error(self, what: str) -> ValueError:
        return ValueError(f"{what} at character {self._consumed + self._pos}")

    def _peek(self) -> str:
        while True:
            match = _WHITESPACE.match(self._buffer, self._pos)
            self._pos = match.end() if match else self._pos
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill():
                return ""

    def _expect(self, char: str) -> None:
        found = self._peek()
        if found != char:
            raise self._error(f"expected {char!r}, found {found or 'the end'!r}")
        self._pos += 1

    # -- values ----------------------------------------------------------------------
    def value(self) -> Any:
        """Decode the value at the current position (a member, a key, a small scalar)."""
        self._peek()
        while True:
            try:
                found, end = _DECODER.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError:
                if len(self._buffer) - self._pos > MAX_MEMBER_CHARS:
                    raise self._error("malformed JSON (or a member too large)") from None
                if not self._fill():
                    raise self._error("malformed or truncated JSON") from None
                continue
            if end == len(self._buffer) and not self._eof and self._fill():
                continue  # a number may go on in the next chunk
            self._pos = end
            return found

    def skip(self) -> None:
        """Pass over the value at the current position without building it."""
        first = self._peek()
        if first not in "{[":
            self.value()
            return
        depth, in_string = 0, False
        while True:
            match = _STRUCTURE.search(self._buffer, self._pos)
            if match is None:
                self._pos = len(self._buffer)
                if not self._fill():
                    raise self._error("truncated JSON")
                continue
            char, self._pos = match.group(), match.end()
            if in_string:
                if char == "\\":
                    if self._pos >= len(self._buffer) and not self._fill():
                        raise self._error("truncated JSON")
                    self._pos += 1  # the escaped character
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return

    def members(self) -> Iterator[str]:
        """The keys of the object at the current position, one at a time."""
        self._expect("{")
        if self._peek() == "}":
            self._pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise self._error("expected an object key")
            self._expect(":")
            yield key
            separator = self._peek()
            self._pos += 1
            if separator == "}":
                return
            if separator != ",":
                raise self._error(f"expected ',' or '}}', found {separator or 'the end'!r}")

    def end(self) -> None:
        """Check nothing but whitespace follows the document."""
        if self._peek():
            raise self._error("unexpected data after the document")


# -- reading one regional offer file ---------------------------------------------------
def _hourly_usd(offers: Any) -> float | None:
    """The on-demand USD price per hour among one SKU's OnDemand offer terms."""
    if not isinstance(offers, Mapping):
        return None
    for term in offers.values():
        dimensions = term.get("priceDimensions") if isinstance(term, Mapping) else None
        for dimension in (dimensions or {}).values():
            if not isinstance(dimension, Mapping) or dimension.get("unit") != "Hrs":
                continue
            try:
                return float((dimension.get("pricePerUnit") or {}).get("USD"))
            except (TypeError, ValueError):
                return None
    return None


def _hosting(product: Any, known: set[str]) -> Mapping[str, Any] | None:
    """The attributes of a real-time inference product of a known type, else None."""
    if not isinstance(product, Mapping) or product.get("productFamily") != "ML Instance":
        return None
    attributes = product.get("attributes")
    if not isinstance(attributes, Mapping) or attributes.get("platoinstancetype") != "Hosting":
        return None
    if attributes.get("instanceName") not in known or not attributes.get("regionCode"):
        return None
    return attributes


def _walk(
    reader: MemberReader, known: set[str]
) -> tuple[dict[str, Any], dict[str, Mapping[str, Any]], dict[str, float]]:
    meta: dict[str, Any] = {}
    products: dict[str, Mapping[str, Any]] = {}
    prices: dict[str, float] = {}
    for key in reader.members():
        if key == "products":
            for sku in reader.members():
                attributes = _hosting(reader.value(), known)
                if attributes is not None:
                    products[sku] = attributes
        elif key == "terms":
            for kind in reader.members():
                if kind != "OnDemand":
                    reader.skip()
                    continue
                for sku in reader.members():
                    usd = _hourly_usd(reader.value())
                    if usd is not None:
                        prices[sku] = usd
        elif key in ("formatVersion", "offerCode", "version", "publicationDate"):
            meta[key] = reader.value()
        else:
            reader.skip()
    reader.end()
    return meta, products, prices


def prices_from_offer_file(
    chunks: Iterable[str], known: Iterable[str], *, source: str, today: str | None = None
) -> list[PriceRow]:
    """One row per known instance type and region from a regional SageMaker offer file.

    ValueError when the text is not a SageMaker offer file (malformed, truncated, another
    offer); $0 prices (free-tier placeholders) are dropped.
    """
    meta, products, prices = _walk(MemberReader(chunks), set(known))
    if meta.get("offerCode") != "AmazonSageMaker" or not str(
        meta.get("formatVersion", "")
    ).startswith("v1"):
        raise ValueError(
            f"not an AmazonSageMaker offer file (offerCode {meta.get('offerCode')!r},"
            f" formatVersion {meta.get('formatVersion')!r})"
        )
    day = today or _dt.date.today().isoformat()
    found: dict[tuple[str, str], PriceRow] = {}
    for sku, attributes in products.items():
        usd = prices.get(sku)
        if usd is None or usd <= 0:
            continue
        name, region = str(attributes["instanceName"]), str(attributes["regionCode"])
        found[(name, region)] = PriceRow(
            key=name,
            region=region,
            source=source,
            as_of=day,
            usd_per_hour=usd,
            notes=f"AWS offer file AmazonSageMaker (publicationDate"
            f" {meta.get('publicationDate')}), real-time inference (Hosting),"
            f" {attributes.get('location')}, on demand, SKU {sku}",
        )
    return [found[place] for place in sorted(found)]


# -- fetching ----------------------------------------------------------------------------
def _region_file_url(client: HttpClient, region: str) -> str:
    index = client.request("GET", REGION_INDEX_URL)
    try:
        document = index.json()
    except ValueError:
        raise ProviderError(
            f"{REGION_INDEX_URL}: not JSON ({index.text[:120]!r})", provider="sagemaker"
        ) from None
    regions = document.get("regions") if isinstance(document, Mapping) else None
    entry = regions.get(region) if isinstance(regions, Mapping) else None
    path = entry.get("currentVersionUrl") if isinstance(entry, Mapping) else None
    if not isinstance(path, str) or not path.startswith("/offers/"):
        raise ProviderError(
            f"{REGION_INDEX_URL}: no currentVersionUrl for region {region!r}",
            provider="sagemaker",
        )
    return OFFERS_HOST + path


def fetch_offer_file_prices(provider: SageMakerProvider, regions: Iterable[str]) -> list[PriceRow]:
    """Read ``regions``' current SageMaker offer files (streamed) into price rows."""
    import httpx

    client = HttpClient(
        provider=provider.name, base_url=OFFERS_HOST, retry=provider.retry, timeout=provider.timeout
    )
    rows: list[PriceRow] = []
    try:
        for region in regions:
            url = _region_file_url(client, region)
            try:
                with client.stream("GET", url) as response:
                    rows += prices_from_offer_file(
                        response.iter_text(), provider.hardware, source=url
                    )
            except ValueError as error:
                raise ProviderError(f"{url}: {error}", provider=provider.name) from None
            except httpx.HTTPError as error:
                raise ProviderError(
                    f"{url}: the download failed ({type(error).__name__}: {error})",
                    provider=provider.name,
                    retryable=True,
                ) from None
    finally:
        client.close()
    return rows
