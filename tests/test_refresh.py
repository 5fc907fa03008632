"""Live prices in the core: the cache (atomic write, TTL, precedence), refresh() and the CLI.

The adapters' fetches are tested against their price APIs' recorded answers in
providers/*/tests/test_*_live_prices.py; here a hook is replaced where a fetch is needed.
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from hostkit_providers.lambdalabs import LambdaLabsProvider

from hostkit import _live_prices as live
from hostkit import catalog, cli, get_provider
from hostkit._config import Config
from hostkit._pricing import PriceRow
from hostkit.errors import ConfigError, ProviderError, StalePrices

API = "https://cloud.lambda.ai/api/v1/instance-types"
NOW = _dt.datetime.now(_dt.UTC)
TODAY = NOW.date().isoformat()


def row(key: str, usd: float, region: str | None = None, as_of: str = TODAY) -> PriceRow:
    return PriceRow(key=key, source=API, as_of=as_of, usd_per_hour=usd, region=region)


def cache(provider: str, rows: list[PriceRow], hours_old: float = 1.0) -> Path:
    return live.write_cache(provider, rows, NOW - _dt.timedelta(hours=hours_old)).path


def fake_fetch(monkeypatch: pytest.MonkeyPatch, result: Any) -> list[str]:
    calls: list[str] = []

    def fetch(self: LambdaLabsProvider) -> Any:
        calls.append(self.name)
        if isinstance(result, Exception):
            raise result
        return result

    monkeypatch.setattr(LambdaLabsProvider, "fetch_live_prices", fetch)
    return calls


# -- where the cache is ------------------------------------------------------------------
def test_cache_dir_follows_the_variable_and_defaults_to_platformdirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert live.cache_dir() == tmp_path / "hostkit-cache"  # the conftest isolation
    assert live.cache_file("groq") == tmp_path / "hostkit-cache" / "prices" / "groq.json"
    monkeypatch.delenv(live.CACHE_ENV)
    from platformdirs import user_cache_dir

    assert live.cache_dir() == Path(user_cache_dir("hostkit"))


def test_nothing_is_fetched_or_written_without_being_asked(tmp_path: Path) -> None:
    catalog.offerings(config=Config())
    get_provider("lambdalabs").prices.find("gpu_1x_a10")
    assert not (tmp_path / "hostkit-cache").exists()
    script = "import sys, hostkit, hostkit.catalog; print('platformdirs' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "False"


# -- atomic write ----------------------------------------------------------------------
def test_write_replaces_the_file_whole(tmp_path: Path) -> None:
    path = cache("lambdalabs", [row("gpu_1x_a10", 1.29)])
    document = json.loads(path.read_text())
    assert document["provider"] == "lambdalabs" and document["rows"][0]["usd_per_hour"] == 1.29
    assert [p.name for p in path.parent.iterdir()] == ["lambdalabs.json"]  # no temp left


def test_crash_mid_write_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    path = cache("lambdalabs", [row("gpu_1x_a10", 1.29)])
    before = path.read_bytes()

    def crash(document: Any, out: Any, **kwargs: Any) -> None:
        out.write('{"format": 1, "rows": [')  # half a document, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(live.json, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        cache("lambdalabs", [row("gpu_1x_a10", 9.99)])
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["lambdalabs.json"]


def test_failed_rename_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    path = cache("lambdalabs", [row("gpu_1x_a10", 1.29)])
    before = path.read_bytes()

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(live.os, "replace", refuse)
    with pytest.raises(OSError):
        cache("lambdalabs", [row("gpu_1x_a10", 9.99)])
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["lambdalabs.json"]


def test_unreadable_cache_is_ignored_with_a_warning() -> None:
    path = live.cache_file("lambdalabs")
    path.parent.mkdir(parents=True)
    path.write_text('{"format": 1, "rows": [', encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="unreadable price cache"):
        table = get_provider("lambdalabs").prices
    shipped = table.find("gpu_1x_a10")
    assert shipped is not None and shipped.source == "https://lambda.ai/instances"


# -- precedence and TTL ------------------------------------------------------------------
def test_fresh_cache_wins_over_shipped_and_config_wins_over_both() -> None:
    cache("lambdalabs", [row("gpu_1x_a10", 1.49)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fresh: no warning
        found = get_provider("lambdalabs").prices.find("gpu_1x_a10")
    assert found is not None and (found.usd_per_hour, found.source, found.stale) == (
        1.49,
        API,
        False,
    )
    overridden = get_provider(
        "lambdalabs",
        config=Config(prices={"lambdalabs": {"gpu_1x_a10": {"usd_per_hour": 1.0}}}),
    )
    mine = overridden.prices.find("gpu_1x_a10")
    assert mine is not None and mine.usd_per_hour == 1.0


def test_regional_rows_go_to_their_region_only() -> None:
    cache("azureml", [row("Standard_NC24ads_A100_v4", 4.04, region="westeurope")])
    prices = get_provider("azureml").prices
    west = prices.find_for_region("Standard_NC24ads_A100_v4", "westeurope")
    east = prices.find_for_region("Standard_NC24ads_A100_v4", "eastus")
    assert west is not None and west.usd_per_hour == 4.04
    assert east is not None and east.usd_per_hour == 3.673  # shipped East US row untouched
    assert prices.find_for_region("Standard_NC24ads_A100_v4", "japaneast") is None


def test_stale_cache_is_used_but_marked_and_warned() -> None:
    cache("lambdalabs", [row("gpu_1x_a10", 1.49)], hours_old=30)
    with pytest.warns(StalePrices, match="older than the 24 h TTL") as caught:
        table = get_provider("lambdalabs").prices
    assert len(caught) == 1
    found = table.find("gpu_1x_a10")
    assert found is not None and found.usd_per_hour == 1.49 and found.stale
    assert "hostkit catalog --refresh" in (found.notes or "")
    listed = catalog.offerings("lambdalabs", config=Config())
    a10 = next(r for r in listed if r.name == "gpu_1x_a10")
    assert a10.stale and a10.usd_per_hour == 1.49
    assert not next(r for r in listed if r.name == "gpu_1x_rtx6000").stale  # shipped row


def test_ttl_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    cache("lambdalabs", [row("gpu_1x_a10", 1.49)], hours_old=30)
    monkeypatch.setenv(live.TTL_ENV, "48")
    listed = catalog.offerings("lambdalabs", config=Config())
    assert not next(r for r in listed if r.name == "gpu_1x_a10").stale
    cached = live.read_cache("lambdalabs")
    assert cached is not None and cached.is_fresh() and not cached.is_fresh(ttl=12)
    monkeypatch.setenv(live.TTL_ENV, "a day")
    with pytest.raises(ConfigError, match=f"{live.TTL_ENV}: expected a number of hours"):
        live.ttl_hours()
    with pytest.raises(ConfigError, match="ttl_hours: expected a number of hours > 0"):
        live.ttl_hours(0)


def test_cache_older_than_the_shipped_row_is_not_used() -> None:
    cache("lambdalabs", [row("gpu_1x_a10", 0.5, as_of="2020-01-01")])
    found = get_provider("lambdalabs").prices.find("gpu_1x_a10")
    assert found is not None and found.usd_per_hour == 1.29  # shipped 2026-09-20


# -- refresh() -----------------------------------------------------------------------
def test_platforms_without_a_price_api_are_not_published(monkeypatch: pytest.MonkeyPatch) -> None:
    from hostkit import _registry

    def no_construction(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a provider without a price API was constructed")

    monkeypatch.setattr(_registry, "get_provider", no_construction)
    names = ["groq", "replicate", "paperspace", "local"]  # cerebras: a public models API
    report = catalog.refresh(names, Config())
    assert [(r.provider, r.status) for r in report] == [(n, "not published") for n in names]
    assert report.ok and not live.cache_dir().exists()


def test_refresh_writes_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_fetch(monkeypatch, [row("gpu_1x_a10", 1.49), row("gpu_1x_h100_pcie", 3.29)])
    result = catalog.refresh("lambdalabs", Config())["lambdalabs"]
    assert calls == ["lambdalabs"]
    assert (result.status, result.rows, result.sources) == ("ok", 2, (API,))
    assert result.fetched_at is not None and result.cache == str(live.cache_file("lambdalabs"))
    assert catalog.RefreshReport((result,)).to_dict()["results"][0]["status"] == "ok"


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        (ProviderError("upstream 502", provider="lambdalabs"), "ProviderError: upstream 502"),
        ([], "returned no price"),
    ],
)
def test_failed_refresh_keeps_the_last_good_cache(
    monkeypatch: pytest.MonkeyPatch, outcome: Any, words: str
) -> None:
    path = cache("lambdalabs", [row("gpu_1x_a10", 1.49)])
    before = path.read_bytes()
    fake_fetch(monkeypatch, outcome)
    report = catalog.refresh("lambdalabs", Config())
    result = report["lambdalabs"]
    assert not report.ok and result.status == "failed" and words in (result.reason or "")
    assert "kept the cached prices of" in (result.reason or "") and result.rows == 1
    assert path.read_bytes() == before


def test_failure_reason_never_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from hostkit._redact import register_secret

    register_secret("sk-live-0123456789abcdef")
    fake_fetch(monkeypatch, ProviderError("denied for sk-live-0123456789abcdef"))
    result = catalog.refresh("lambdalabs", Config())["lambdalabs"]
    assert "sk-live" not in (result.reason or "") and "no cached prices" in (result.reason or "")


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        catalog.refresh("nope", Config())


# -- the CLI -------------------------------------------------------------------------
def test_cli_refresh_reports_each_provider_then_shows_the_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_fetch(monkeypatch, [row("gpu_1x_a10", 1.49)])
    code = cli.main(["catalog", "--refresh", "--provider", "lambdalabs", "--provider", "groq"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "lambdalabs: refreshed 1 live prices" in err
    assert "groq: no live price API; shipped prices" in err
    assert "gpu_1x_a10" in out and "$1.49/h" in out


def test_cli_refresh_failure_exits_1_and_json_has_the_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_fetch(monkeypatch, ProviderError("upstream 502"))
    code = cli.main(["--json", "catalog", "--refresh", "--provider", "lambdalabs"])
    out, _ = capsys.readouterr()
    assert code == 1
    shown = json.loads(out)
    assert shown["refresh"]["results"][0]["status"] == "failed"
    assert any(r["name"] == "gpu_1x_a10" for r in shown["offerings"])


def test_cli_marks_stale_rows(capsys: pytest.CaptureFixture[str]) -> None:
    cache("lambdalabs", [row("gpu_1x_a10", 1.49)], hours_old=30)
    assert cli.main(["catalog", "--provider", "lambdalabs"]) == 0
    out, err = capsys.readouterr()
    line = next(line for line in out.splitlines() if line.startswith("lambdalabs  gpu_1x_a10"))
    assert line.endswith(f"{TODAY} *")
    assert "older than their TTL" in err
