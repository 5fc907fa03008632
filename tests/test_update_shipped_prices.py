"""scripts/update_shipped_prices.py: an adapter's prices.toml rewritten from its price API.

Every run writes into a temp copy of a shipped prices.toml, never the real one. The APIs
answer from the adapters' own live-price fixtures: the HTTP cassettes of
providers/*/tests/cassettes/live_prices/ (strict replay) and, for SageMaker, the
get_products pages replayed through botocore's Stubber.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import os
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from hostkit import catalog, get_provider
from hostkit._config import Config
from hostkit._pricing import PRICE_FIELDS, PriceRow, PriceTable
from hostkit.testing import cassette

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = ROOT / "providers"


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


updater = _module("update_shipped_prices", ROOT / "scripts" / "update_shipped_prices.py")
#: the shipped-data checks of tests/test_catalog.py, applied to the rewritten file
shipped_checks = _module("_shipped_price_checks", Path(__file__).parent / "test_catalog.py")

FAKE_BILLING_KEY = "AIzaFakeHostkitBillingKey000000000000000"
FAKE_LAMBDA_KEY = "secret_hostkit-ci_0000fake0000fake0000fake0000fake.FakeFakeFakeFakeFake"
#: settings of the temp hostkit.toml: no retries (one answer a request), the billing key
SETTINGS = """
[providers.azureml]
max_retries = 0
[providers.huggingface]
max_retries = 0
[providers.lambdalabs]
max_retries = 0
[providers.sagemaker]
region = "us-east-1"
max_retries = 0
[providers.vertex]
max_retries = 0
billing_api_key = "{key}"
"""
CONFIG = Config(
    providers={
        "sagemaker": {"region": "us-east-1", "max_retries": 0},
        "vertex": {"max_retries": 0, "billing_api_key": FAKE_BILLING_KEY},
    }
)
#: provider -> its adapter's live-price cassette (the successful answer)
CASSETTES = {
    "azureml": "retail_prices.yaml",
    "huggingface": "provider.yaml",
    "lambdalabs": "instance_types.yaml",
    "vertex": "skus.yaml",
}


def live_cassette(provider: str, name: str) -> Path:
    return PROVIDERS / provider / "tests" / "cassettes" / "live_prices" / name


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAMBDA_API_KEY", FAKE_LAMBDA_KEY)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    path = tmp_path / "hostkit.toml"
    path.write_text(SETTINGS.format(key=FAKE_BILLING_KEY), encoding="utf-8")
    return path


def copy_of(provider: str, tmp_path: Path) -> Path:
    """A temp copy of ``provider``'s shipped prices.toml."""
    shipped = catalog.data_files(provider).prices
    assert shipped is not None
    target = tmp_path / f"{provider}-prices.toml"
    shutil.copyfile(shipped, target)
    return target


def run(*argv: str | Path) -> int:
    return int(updater.main([str(arg) for arg in argv]))


def api_rows(provider: str) -> list[PriceRow]:
    """What the adapter itself reads from the same cassette (the expected rows)."""
    built = get_provider(provider, config=CONFIG)
    try:
        with cassette(live_cassette(provider, CASSETTES[provider]), record_mode="none"):
            return list(built.fetch_live_prices() or [])
    finally:
        built.close()


def section_of(row: PriceRow, document: dict[str, dict[str, Any]]) -> str:
    if row.region:
        return f"region.{row.region}"
    return next(
        (s for s, rows in document.items() if row.key in rows and not s.startswith("region.")),
        "instances",
    )


def header(text: str) -> str:
    return text.split("\n[", 1)[0].rstrip("\n")


def assert_updated(before: str, after: str, rows: list[PriceRow], provider: str) -> None:
    """API rows replaced or added, every other row byte-for-byte the same, header kept."""
    old, new = tomllib.loads(before), tomllib.loads(after)
    today = _dt.date.today().isoformat()
    from_api = set()
    replaced = 0
    for row in rows:
        section = section_of(row, old)
        written = new[section][row.key]
        from_api.add((section, row.key))
        replaced += row.key in old.get(section, {})
        for name in (*PRICE_FIELDS, "unit"):
            assert written.get(name) == getattr(row, name), (section, row.key, name)
        assert (written["source"], written["as_of"]) == (row.source, today)
        assert written["notes"].startswith(f"read from the platform's price API on {today}")
    kept = {(s, k): r for s, rows in old.items() for k, r in rows.items() if (s, k) not in from_api}
    # vertex's cassette answers for every shipped row; each other copy keeps hand rows
    assert kept or provider == "vertex", "the copy has no hand-sourced row the API left alone"
    for (section, key), row in kept.items():
        assert new[section][key] == row, f"hand row [{section}.{key}] changed"
    assert {(s, k) for s, rows in new.items() for k in rows} == from_api | set(kept)
    assert header(before).startswith("# ") and after.startswith(header(before) + "\n\n")
    assert list(new) == sorted(new, key=updater._sort_key)
    assert replaced, "no API row replaced a shipped one"


def validate(provider: str, path: Path) -> PriceTable:
    """The shipped-data checks of test_catalog.py and hostkit's loader, on ``path``."""
    files = catalog.DataFiles(provider, path, None)
    shipped_checks.test_every_row_has_a_source_an_iso_date_and_a_real_price(provider, files)
    return PriceTable.load(path, provider)


# -- the update ---------------------------------------------------------------------------
@pytest.mark.parametrize("provider", sorted(CASSETTES))
def test_api_rows_replace_hand_rows_survive_and_the_file_stays_valid(
    provider: str, tmp_path: Path, config_file: Path
) -> None:
    expected = api_rows(provider)
    target = copy_of(provider, tmp_path)
    before = target.read_text(encoding="utf-8")
    with cassette(live_cassette(provider, CASSETTES[provider]), record_mode="none") as recorded:
        assert run(provider, "--file", target, "--config", config_file) == 0
    assert recorded.all_played
    after = target.read_text(encoding="utf-8")
    assert_updated(before, after, expected, provider)
    table = validate(provider, target)
    row = expected[0]
    found = table.find_for_region(row.key, row.region)
    assert found is not None and (found.usd_per_hour, found.source) == (
        row.usd_per_hour,
        row.source,
    )


def test_a_second_run_with_the_same_answer_changes_nothing(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = copy_of("azureml", tmp_path)
    texts = []
    for _ in range(2):
        with cassette(live_cassette("azureml", CASSETTES["azureml"]), record_mode="none"):
            assert run("azureml", "--file", target, "--config", config_file) == 0
        texts.append(target.read_bytes())
    assert texts[0] == texts[1]
    last = capsys.readouterr().out.strip().splitlines()[-3:]
    assert all(" 0 added, 0 changed," in line for line in last[1:]), last


def test_comment_blocks_above_rows_are_kept(tmp_path: Path, config_file: Path) -> None:
    # huggingface's file has a comment block above its first [instances] row, mid-file
    target = copy_of("huggingface", tmp_path)
    before = target.read_text(encoding="utf-8")
    block = before[before.index("# -- Inference Endpoints") :].split("\n[", 1)[0]
    with cassette(live_cassette("huggingface", "provider.yaml"), record_mode="none"):
        assert run("huggingface", "--file", target, "--config", config_file) == 0
    after = target.read_text(encoding="utf-8")
    first = min(after.index(line) for line in after.splitlines() if line.startswith("[instances."))
    assert after[:first].endswith(block + "\n")


def test_a_comment_inside_a_row_is_refused_not_dropped(tmp_path: Path, config_file: Path) -> None:
    target = copy_of("azureml", tmp_path)
    lines = target.read_text(encoding="utf-8").splitlines()
    body = next(i for i, line in enumerate(lines) if line.startswith("usd_per_hour"))
    lines[body:body] = ["", "# a maintainer's remark"]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = target.read_bytes()
    with pytest.raises(updater.UpdateError, match=rf"{target.name}:{body + 2}: a comment inside"):
        updater.read_price_file(target)
    with cassette(live_cassette("azureml", CASSETTES["azureml"]), record_mode="none"):
        assert run("azureml", "--file", target, "--config", config_file) == 1
    assert target.read_bytes() == before


# -- SageMaker: the AWS Price List API through botocore's Stubber ----------------------------
SAGEMAKER_PAGES = yaml.safe_load(
    live_cassette("sagemaker", "get_products.yaml").read_text(encoding="utf-8")
)["pages"]


@pytest.fixture
def pricing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The pricing client every SageMaker provider gets: stubbed, fake credentials."""
    import boto3
    from botocore.stub import Stubber
    from hostkit_providers.sagemaker import live_prices

    for variable in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEHOSTKIT01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hostkit-fake-secret-access-key-0000000000")
    client = boto3.client("pricing", region_name=live_prices.PRICING_REGION)
    monkeypatch.setattr(live_prices, "pricing_client", lambda provider: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def add_pages(stubber: Any, times: int = 1) -> None:
    from hostkit_providers.sagemaker import live_prices

    provider = get_provider("sagemaker", config=CONFIG)
    asked = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": live_prices.filters(list(provider.hardware)),
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    for _ in range(times):
        stubber.add_response("get_products", SAGEMAKER_PAGES[0], asked)
        token = SAGEMAKER_PAGES[0]["NextToken"]
        stubber.add_response("get_products", SAGEMAKER_PAGES[1], {**asked, "NextToken": token})


def test_sagemaker_api_prices_replace_the_secondary_page_rows(
    pricing: Any, tmp_path: Path, config_file: Path
) -> None:
    add_pages(pricing, times=2)
    provider = get_provider("sagemaker", config=CONFIG)
    expected = provider.fetch_live_prices() or []
    target = copy_of("sagemaker", tmp_path)
    before = target.read_text(encoding="utf-8")
    assert run("sagemaker", "--file", target, "--config", config_file) == 0
    after = target.read_text(encoding="utf-8")
    assert_updated(before, after, expected, "sagemaker")
    validate("sagemaker", target)
    # a hand row quoting a secondary page gave way to the Price List API's figure
    old = tomllib.loads(before)["region.us-east-1"]["ml.g5.xlarge"]
    new = tomllib.loads(after)["region.us-east-1"]["ml.g5.xlarge"]
    api = next(r for r in expected if (r.key, r.region) == ("ml.g5.xlarge", "us-east-1"))
    assert old["usd_per_hour"] != api.usd_per_hour == new["usd_per_hour"]


def summary_lines(before: str, rows: list[PriceRow]) -> dict[str, str]:
    """The dry run's expected count line per section, worked out from the copy."""
    old = tomllib.loads(before)
    counts: dict[str, list[int]] = {}
    returned = set()
    for row in rows:
        section = section_of(row, old)
        returned.add((section, row.key))
        shipped = old.get(section, {}).get(row.key)
        kind = 0 if shipped is None else 2 if shipped["usd_per_hour"] == row.usd_per_hour else 1
        counts.setdefault(section, [0, 0, 0, 0])[kind] += 1
    for section, keys in old.items():
        for key in keys:
            if (section, key) not in returned:
                counts.setdefault(section, [0, 0, 0, 0])[3] += 1
    return {
        section: f"{a} added, {c} changed, {u} unchanged, {k} kept (not returned by the API)"
        for section, (a, c, u, k) in counts.items()
    }


def test_dry_run_prints_the_changes_per_region_and_writes_nothing(
    pricing: Any, tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_pages(pricing, times=2)
    expected = get_provider("sagemaker", config=CONFIG).fetch_live_prices() or []
    target = copy_of("sagemaker", tmp_path)
    before = target.read_bytes()
    assert run("sagemaker", "--file", target, "--config", config_file, "--dry-run", "-v") == 0
    assert target.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"sagemaker: {target} (dry run: nothing written)"
    for section, line in summary_lines(before.decode(), expected).items():
        shown = [text for text in out.splitlines() if text.split()[:1] == [section]]
        assert len(shown) == 1 and shown[0].endswith(line), (section, out)
    assert "    ~ ml.g5.xlarge: usd_per_hour = " in out  # -v lists changed rows
    assert "    + ml.g5.xlarge" in out  # and added ones (eu-west-1)


# -- failures change nothing --------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "answer", "words"),
    [
        ("azureml", "retail_prices_5xx.yaml", "temporarily unavailable"),
        ("vertex", "skus_403.yaml", "Cloud Billing API has not been used"),
        ("lambdalabs", "instance_types_401.yaml", "API key was"),
    ],
)
def test_a_failed_fetch_leaves_the_file_byte_identical(
    provider: str,
    answer: str,
    words: str,
    tmp_path: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = copy_of(provider, tmp_path)
    before = target.read_bytes()
    with cassette(live_cassette(provider, answer), record_mode="none") as recorded:
        assert run(provider, "--file", target, "--config", config_file) == 1
    assert recorded.all_played
    assert target.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))
    captured = capsys.readouterr()
    assert captured.err.startswith(f"update_shipped_prices: {provider}: fetch failed: ")
    assert words in captured.err and captured.err.rstrip().endswith("nothing written")
    for secret in (FAKE_BILLING_KEY, FAKE_LAMBDA_KEY):
        assert secret not in captured.err + captured.out


def test_one_failed_provider_writes_no_file_of_any(
    pricing: Any,
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    copies = {name: copy_of(name, tmp_path) for name in ("azureml", "sagemaker")}
    before = {name: path.read_bytes() for name, path in copies.items()}
    monkeypatch.setattr(
        catalog, "data_files", lambda name: catalog.DataFiles(name, copies[name], None)
    )
    pricing.add_client_error(
        "get_products",
        service_error_code="AccessDeniedException",
        service_message="denied: pricing:GetProducts failed",
        http_status_code=403,
    )
    with cassette(live_cassette("azureml", CASSETTES["azureml"]), record_mode="none") as recorded:
        assert run("azureml", "sagemaker", "--config", config_file) == 1
    assert recorded.all_played  # azureml's prices were read, then not written
    assert {name: path.read_bytes() for name, path in copies.items()} == before
    err = capsys.readouterr().err
    assert "sagemaker: fetch failed: " in err and "denied" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["groq"], "groq: its adapter publishes no live prices"),
        (["nosuchcloud"], "unknown provider 'nosuchcloud'"),
        (["azureml", "vertex", "--file", "x.toml"], "--file: needs exactly one provider, got 2"),
    ],
)
def test_usage_errors_name_the_problem(
    argv: list[str], words: str, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*argv, "--config", config_file) == 2
    assert words in capsys.readouterr().err


def test_default_providers_are_those_whose_adapter_publishes_live_prices(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    asked: list[str] = []

    def refuse(name: str, config: Config) -> list[PriceRow]:
        asked.append(name)
        raise updater.UpdateError(f"{name}: fetch failed: not in this test")

    monkeypatch.setattr(updater, "fetch", refuse)
    assert run("--config", config_file) == 1
    assert asked == [asked[0]] and asked[0] in {
        "azureml", "cerebras", "huggingface", "lambdalabs", "sagemaker", "vertex"
    }  # fmt: skip
    published = [n for n in catalog.provider_names() if catalog.publishes_live_prices(n)]
    assert set(published) >= {"azureml", "cerebras", "huggingface", "lambdalabs", "sagemaker"}
    assert not {"groq", "local", "paperspace", "replicate"} & set(published)
