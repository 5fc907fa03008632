"""Regenerate adapters' shipped ``prices.toml`` from their platforms' live price APIs.

A maintainer tool, not part of the installed package::

    python scripts/update_shipped_prices.py                      # every adapter with a price API
    python scripts/update_shipped_prices.py sagemaker vertex --dry-run
    python scripts/update_shipped_prices.py azureml --file /tmp/prices.toml -v

For each provider it calls the adapter's ``fetch_live_prices()`` (the code path of
``hostkit catalog --refresh``, with the credentials of the usual settings: hostkit.toml,
``--config`` or the environment) and rewrites the adapter's ``prices.toml``:

* a row the API returned replaces the row with the same key in the same section
  (``region.<region>`` for regional prices; for region-less ones the section that holds the
  key, else ``instances``/``models``), with ``source`` = the API URL, ``as_of`` = the fetch
  date and ``notes`` saying it was read from the API;
* every row the API did not return is kept as it was (hand-sourced rows survive);
* the header comment, and comment blocks above a row's header, are kept; sections and rows
  are written sorted, so a second run with the same answer changes nothing.

``--dry-run`` prints what would change (rows added, changed, unchanged and kept, per
section) and writes nothing. Every provider is fetched before anything is written: a failed
fetch changes no file and exits 1 naming the provider and the reason (credentials never
appear: hostkit's errors mask them). The result is checked with hostkit's own loader
(``PriceTable.load``) before it replaces the file, through a temp file and ``os.replace``.

Never point it at the real files while the price APIs are answered by test cassettes:
cassette figures are samples, not prices.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hostkit import catalog
from hostkit._pricing import PRICE_FIELDS, PriceRow, PriceTable
from hostkit.errors import ConfigError, HostkitError

if TYPE_CHECKING:
    from hostkit._config import Config

PROG = "update_shipped_prices"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER = re.compile(r"^\s*\[")

Raw = dict[str, Any]


class UpdateError(Exception):
    """Something that stops the update; nothing has been written."""


class UsageError(UpdateError):
    """A provider or file that cannot be updated as asked (exit status 2)."""


# -- reading a price file, comments included ------------------------------------------
@dataclass
class PriceFile:
    """A prices.toml as rows plus the comments a rewrite must keep."""

    header: str = ""
    sections: dict[str, dict[str, Raw]] = field(default_factory=dict)
    #: comment block above the first row of a section, moved with the section
    section_comments: dict[str, str] = field(default_factory=dict)
    #: comment block above any other row, moved with the row
    row_comments: dict[tuple[str, str], str] = field(default_factory=dict)
    trailer: str = ""


def _table_name(line: str, where: str) -> tuple[str, str]:
    """``["region.eastus"."Standard_X"]`` -> ("region.eastus", "Standard_X")."""
    if line.lstrip().startswith("[["):
        raise UpdateError(f"{where}: arrays of tables are not price rows")
    try:
        parsed = tomllib.loads(line.strip() + "\n")
    except tomllib.TOMLDecodeError as error:
        raise UpdateError(f"{where}: not a table header: {error}") from None
    section, rows = next(iter(parsed.items()))
    keys = list(rows) if isinstance(rows, dict) else []
    if len(keys) != 1 or rows[keys[0]] != {}:
        raise UpdateError(f'{where}: expected a row header [section."key"], got {line.strip()}')
    return section, keys[0]


def _block(lines: list[str]) -> str:
    """Comment lines without the blank lines around them."""
    return "\n".join(lines).strip("\n")


def read_price_file(path: Path) -> PriceFile:
    """Rows and comments of ``path``; a comment inside a row's body is refused (it would be
    lost), so is a file hostkit's loader refuses."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UpdateError(f"{path}: no such price file") from None
    try:
        PriceTable.load(path, path.parent.name)
        document = tomllib.loads(text)
    except (ConfigError, tomllib.TOMLDecodeError) as error:
        raise UpdateError(f"{path}: {error}") from None
    found = PriceFile(sections={s: dict(rows) for s, rows in document.items()})
    pending: list[str] = []
    current: tuple[str, str] | None = None
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if _HEADER.match(line):
            section, key = _table_name(line, f"{path}:{number}")
            if current is None:
                found.header = _block(pending)
            elif pending and (comment := _block(pending)):
                if section in seen:
                    found.row_comments[(section, key)] = comment
                else:
                    found.section_comments[section] = comment
            seen.add(section)
            current, pending = (section, key), []
        elif current is None or not stripped or stripped.startswith("#"):
            pending.append(line)
        elif any(p.strip() for p in pending):
            first = next(i for i, p in enumerate(pending) if p.strip())
            raise UpdateError(
                f"{path}:{number - len(pending) + first}: a comment inside the row {current[1]!r}"
                " would be lost; move it above the row's [header]"
            )
        else:
            pending = []
    if current is None:
        found.header = _block(pending)
    else:
        found.trailer = _block(pending)
    return found


# -- merging the API's rows -------------------------------------------------------------
@dataclass
class SectionSummary:
    """What an update does to one section (a region, ``instances``, ...)."""

    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # key, before, after
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _section(row: PriceRow, sections: Mapping[str, Mapping[str, Raw]]) -> str:
    """Where ``row`` goes: as :func:`hostkit._live_prices.overlay` places a cached row."""
    if row.region:
        return f"region.{row.region}"
    for name, rows in sections.items():
        if row.key in rows and not name.startswith("region."):
            return name
    return "models" if row.has_token_prices else "instances"


def api_row(row: PriceRow) -> Raw:
    """The TOML row of an API price: its prices and unit, the API URL, the fetch date."""
    read = f"read from the platform's price API on {row.as_of} by scripts/update_shipped_prices.py"
    data: Raw = {name: getattr(row, name) for name in (*PRICE_FIELDS, "unit")}
    data.update(source=row.source, as_of=row.as_of)
    data["notes"] = f"{read}: {row.notes}" if row.notes else read
    return {name: value for name, value in data.items() if value is not None}


def _price(data: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The price fields and unit of a row (20 and 20.0 are the same price)."""
    return tuple(
        (name, float(data[name]) if name in PRICE_FIELDS else data[name])
        for name in (*PRICE_FIELDS, "unit")
        if data.get(name) is not None
    )


def _price_text(data: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {value!r}" for name, value in _price(data))


def merge(
    document: PriceFile, rows: Iterable[PriceRow]
) -> tuple[PriceFile, dict[str, SectionSummary]]:
    """``document`` with the API's ``rows`` in place of the same key in the same section."""
    sections = {name: dict(rows) for name, rows in document.sections.items()}
    summary: dict[str, SectionSummary] = {}
    returned: set[tuple[str, str]] = set()
    for row in rows:
        name = _section(row, sections)
        new = api_row(row)
        old = sections.get(name, {}).get(row.key)
        report = summary.setdefault(name, SectionSummary())
        if (name, row.key) in returned:
            raise UpdateError(f"the API returned {row.key!r} twice for [{name}]")
        returned.add((name, row.key))
        if old is None:
            report.added.append(row.key)
        elif _price(old) != _price(new):
            report.changed.append((row.key, _price_text(old), _price_text(new)))
        else:
            report.unchanged.append(row.key)
        sections.setdefault(name, {})[row.key] = new
    for name, kept in sections.items():
        for key in kept:
            if (name, key) not in returned:
                summary.setdefault(name, SectionSummary()).kept.append(key)
    merged = PriceFile(
        document.header,
        sections,
        dict(document.section_comments),
        dict(document.row_comments),
        document.trailer,
    )
    return merged, summary


# -- writing TOML -----------------------------------------------------------------------
def _sort_key(text: str) -> tuple[Any, ...]:
    """Natural order: "ml.g5.2xlarge" before "ml.g5.12xlarge"; case-insensitive first."""
    parts = re.split(r"(\d+)", text.casefold())
    return (tuple(int(p) if p.isdigit() else p for p in parts), text)


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_value(value: Any, where: str) -> str:
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    raise UpdateError(f"{where}: cannot write {value!r} ({type(value).__name__}) as a price field")


def render(document: PriceFile) -> str:
    """The file's text: header, then every section and row sorted, comments in place.

    Fields are written in each row's order (API rows: prices, unit, source, as_of, notes).
    """
    blocks = [document.header] if document.header else []
    for section in sorted(document.sections, key=_sort_key):
        rows = document.sections[section]
        for index, key in enumerate(sorted(rows, key=_sort_key)):
            lines = []
            if index == 0 and section in document.section_comments:
                lines.append(document.section_comments[section])
            if (section, key) in document.row_comments:
                lines.append(document.row_comments[(section, key)])
            lines.append(f"[{toml_key(section)}.{toml_string(key)}]")
            where = f"[{section}.{key!r}]"
            for name, value in rows[key].items():
                lines.append(f"{toml_key(name)} = {toml_value(value, f'{where}.{name}')}")
            blocks.append("\n".join(lines))
    if document.trailer:
        blocks.append(document.trailer)
    text = "\n\n".join(blocks) + "\n"
    if tomllib.loads(text) != document.sections:  # the writer's own check
        raise UpdateError("internal error: the written TOML does not read back as the rows")
    return text


def stage(path: Path, text: str, provider: str) -> Path:
    """``text`` in a temp file beside ``path``, checked by hostkit's loader; see :func:`run`."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        PriceTable.load(temp, provider)
        os.chmod(temp, path.stat().st_mode & 0o777)
    except ConfigError as error:
        temp.unlink(missing_ok=True)
        raise UpdateError(f"{path}: the rewritten file does not load: {error}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


# -- fetching ---------------------------------------------------------------------------
def fetch(name: str, config: Config) -> list[PriceRow]:
    """``name``'s live prices, through its adapter's ``fetch_live_prices()``."""
    try:
        rows = catalog.fetch_live_prices(name, config)
    except Exception as error:  # reported, with secrets masked, and nothing written
        raise UpdateError(f"{name}: fetch failed: {catalog.failure_reason(error)}") from None
    if rows is None:
        raise UpdateError(f"{name}: fetch failed: its adapter publishes no live prices")
    return rows


def _targets(names: Sequence[str], file: Path | None) -> dict[str, Path]:
    if file is not None and len(names) != 1:
        raise UsageError(f"--file: needs exactly one provider, got {len(names)}")
    targets = {}
    for name in names:
        if not catalog.publishes_live_prices(name):
            raise UsageError(f"{name}: its adapter publishes no live prices (no price API)")
        path = file if file is not None else catalog.data_files(name).prices
        if path is None:
            raise UsageError(f"{name}: the adapter ships no prices.toml to update")
        targets[name] = path
    return targets


# -- command line -----------------------------------------------------------------------
def _print_summary(
    name: str, path: Path, summary: Mapping[str, SectionSummary], dry_run: bool, verbose: bool
) -> None:
    print(f"{name}: {path}" + (" (dry run: nothing written)" if dry_run else ""))
    width = max((len(section) for section in summary), default=0)
    for section in sorted(summary, key=_sort_key):
        s = summary[section]
        print(
            f"  {section:<{width}}  {len(s.added)} added, {len(s.changed)} changed,"
            f" {len(s.unchanged)} unchanged, {len(s.kept)} kept (not returned by the API)"
        )
        if verbose:
            for key in s.added:
                print(f"    + {key}")
            for key, before, after in s.changed:
                print(f"    ~ {key}: {before} -> {after}")


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(
        prog=PROG, description="Rewrite adapters' prices.toml from their platforms' price APIs."
    )
    made.add_argument(
        "providers", nargs="*", help="providers to update (default: every one with a price API)"
    )
    made.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    made.add_argument(
        "--file", type=Path, help="prices.toml to rewrite (one provider; default: the adapter's)"
    )
    made.add_argument("--config", help="hostkit.toml with the providers' settings and credentials")
    made.add_argument("-v", "--verbose", action="store_true", help="list added and changed rows")
    return made


def run(args: argparse.Namespace) -> None:
    """Fetch every provider, then merge, check and (unless a dry run) write every file."""
    from hostkit._config import load_config

    config = load_config(args.config)
    names = args.providers or [
        n for n in catalog.provider_names() if catalog.publishes_live_prices(n)
    ]
    targets = _targets(catalog.provider_names_from(names), args.file)
    fetched = {name: fetch(name, config) for name in targets}
    summaries = {}
    staged: dict[Path, Path] = {}
    try:
        for name, path in targets.items():
            merged, summaries[name] = merge(read_price_file(path), fetched[name])
            text = render(merged)
            if not args.dry_run:
                staged[path] = stage(path, text, name)
        for path, temp in staged.items():  # every file checked: now replace them
            os.replace(temp, path)
    finally:
        for temp in staged.values():
            temp.unlink(missing_ok=True)
    for name, path in targets.items():
        _print_summary(name, path, summaries[name], args.dry_run, args.verbose)


def main(argv: Sequence[str] | None = None) -> int:
    """0: done; 1: a fetch or a file failed (nothing written); 2: bad arguments."""
    args = parser().parse_args(argv)
    try:
        run(args)
    except UpdateError as error:
        print(f"{PROG}: {error}; nothing written", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    except (ConfigError, HostkitError) as error:
        print(f"{PROG}: {catalog.failure_reason(error)}; nothing written", file=sys.stderr)
        return 2 if isinstance(error, ConfigError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
