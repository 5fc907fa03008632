"""Cost projection across providers: the linear monthly model, sorting, unknown prices,
the serverless/dedicated break-even, and ``hostkit cost --compare``.

Prices come from a hostkit.toml with [prices] overrides, so every figure below is worked
out by hand; the shipped catalog only supplies which options exist.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import warnings
from pathlib import Path

import pytest

import hostkit
from hostkit import catalog, cli, sizing
from hostkit._config import Config, load_config
from hostkit.costs import BreakEven, Workload, break_even, compare_costs
from hostkit.errors import ConfigError, PriceUnknown

CONFIG = """
[prices.groq."openai/gpt-oss-120b"]
input_per_million = 0.10
output_per_million = 0.50
source = "https://groq.com/pricing/ (test)"

[prices.lambdalabs."gpu_1x_a10"]
usd_per_hour = 1.00
source = "https://lambda.ai/instances (test)"

[deployments.chat]
provider = "groq"
model = "openai/gpt-oss-120b"

[deployments.big]
provider = "sagemaker"
model = "meta-llama/Llama-3.1-8B-Instruct"
instance = "ml.g5.2xlarge"
region = "us-east-1"
replicas = 3
"""

GROQ = "groq:openai/gpt-oss-120b"
A10 = "lambdalabs:gpu_1x_a10"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    path = tmp_path / "hostkit.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
    return load_config(path)


def _workload(**changes: object) -> Workload:
    fields: dict[str, object] = {
        "requests_per_day": 10_000,
        "input_tokens": 1_000,
        "output_tokens": 200,
        "days_per_month": 30,
        "hours_per_month": 720,
    }
    return Workload(**{**fields, **changes})  # type: ignore[arg-type]


def test_monthly_cost_of_each_option_with_its_breakdown_source_and_date(config: Config) -> None:
    result = compare_costs(_workload(), [A10, GROQ], config=config)
    serverless, dedicated = result.options
    # 10,000 x 30 = 300,000 requests; 3e8 input tokens at $0.10/M, 6e7 output at $0.50/M
    assert serverless.label == GROQ and serverless.kind == "serverless"
    assert serverless.input_tokens_usd == pytest.approx(30.0)
    assert serverless.output_tokens_usd == pytest.approx(30.0)
    assert serverless.monthly_usd == pytest.approx(60.0)
    assert serverless.usd_per_request == pytest.approx(60.0 / 300_000)
    assert [line.quantity for line in serverless.breakdown] == [3e8, 6e7]
    # 720 hours x 1 replica x $1.00
    assert dedicated.label == A10 and dedicated.kind == "dedicated"
    assert dedicated.monthly_usd == pytest.approx(720.0)
    assert dedicated.instance_usd == pytest.approx(720.0) and dedicated.replicas == 1
    assert dedicated.breakdown[0].unit == "instance-hour"
    assert dedicated.breakdown[0].quantity == 720
    today = _dt.date.today().isoformat()
    for option in result.options:
        assert option.source and option.source.endswith("(test)")  # the [prices] row's
        assert option.as_of == today


def test_replicas_from_throughput_follow_the_average_or_the_peak(config: Config) -> None:
    # 864,000 requests/day over 24 h online = 10 requests/s; 3 requests/s per replica -> 4
    busy = _workload(requests_per_day=864_000, throughput=3)
    assert busy.average_requests_per_second() == pytest.approx(10)
    assert busy.replicas_for() == 4
    assert _workload(requests_per_day=864_000, throughput=2.5).replicas_for() == 4
    assert _workload(throughput=3, peak_requests_per_second=30).replicas_for() == 10
    # 12 hours a day online: the same requests arrive twice as fast
    assert (
        _workload(requests_per_day=864_000, hours_per_month=360, throughput=3).replicas_for() == 7
    )
    result = compare_costs(busy, [A10], config=config)
    assert result.options[0].replicas == 4
    assert result.options[0].monthly_usd == pytest.approx(4 * 720 * 1.00)


def test_unknown_prices_come_last_as_none_with_one_warning_each(config: Config) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare_costs(_workload(), ["lambdalabs:gpu_9x_nothing", A10, GROQ], config=config)
    assert [o.label for o in result.options] == [GROQ, A10, "lambdalabs:gpu_9x_nothing"]
    unknown = result.options[-1]
    assert unknown.monthly_usd is None and unknown.breakdown == []
    messages = [str(w.message) for w in caught if issubclass(w.category, PriceUnknown)]
    assert messages == [unknown.warning]
    assert '[prices.lambdalabs."gpu_9x_nothing"]' in messages[0]
    assert result.warnings == messages


def test_a_catalog_instance_without_a_price_is_none_never_a_default(config: Config) -> None:
    unpriced = [
        r for r in catalog.offerings(config=config) if r.kind == "instance" and not r.priced
    ]
    assert unpriced, "the shipped catalog has instance types without a sourced price"
    row = unpriced[0]
    with pytest.warns(PriceUnknown, match=rf'\[prices\.{row.provider}\."{row.name}"\]'):
        result = compare_costs(
            _workload(), [f"{row.provider}:{row.name}"], region=row.region, config=config
        )
    assert result.options[0].monthly_usd is None


def test_break_even_with_fixed_replicas_is_exact(config: Config) -> None:
    result = compare_costs(_workload(replicas=2), [A10, GROQ], config=config)
    found = result.break_even
    # s = 30 days x (1000 x 0.10 + 200 x 0.50) / 1e6 = $0.006 per request/day per month;
    # h = 720 h x $1 = $720 per replica-month; 2 replicas -> 1440 / 0.006 = 240,000
    assert found.serverless == GROQ and found.dedicated == A10
    assert found.serverless_usd_per_daily_request == pytest.approx(0.006)
    assert found.dedicated_usd_per_replica_month == pytest.approx(720)
    assert found.requests_per_day == pytest.approx(240_000)
    assert found.stays_cheaper_from == pytest.approx(240_000)

    at = compare_costs(_workload(replicas=2, requests_per_day=240_000), [A10, GROQ], config=config)
    equal = {o.label: o.monthly_usd for o in at.options}
    assert equal[GROQ] == pytest.approx(equal[A10])
    above = compare_costs(
        _workload(replicas=2, requests_per_day=241_000), [A10, GROQ], config=config
    )
    assert above.options[0].label == A10


def test_break_even_when_replicas_follow_the_rate(config: Config) -> None:
    # one replica serves 0.1 req/s x 86,400 s = 8,640 requests/day (cap); c = 720/0.006 =
    # 120,000 > cap: each replica costs more than the requests it serves would serverless
    slow = compare_costs(_workload(throughput=0.1), [A10, GROQ], config=config).break_even
    assert slow.requests_per_day is None and "cheaper at every volume" in (slow.reason or "")
    # 2 req/s per replica: cap = 172,800/day; first crossing at c = 120,000; replica k is
    # added at (k-1) x cap and dedicated is cheaper again above k x c; the last interval
    # where it is not is k = ceil(cap / (cap - c)) - 1 = ceil(3.27) - 1 = 3 -> 360,000
    fast = compare_costs(_workload(throughput=2), [A10, GROQ], config=config).break_even
    assert fast.requests_per_day == pytest.approx(120_000)
    assert fast.stays_cheaper_from == pytest.approx(360_000)
    assert math.ceil(172_800 / (172_800 - 120_000)) - 1 == 3

    def dedicated_cheaper(per_day: float) -> bool:
        workload = _workload(throughput=2, requests_per_day=per_day)
        return compare_costs(workload, [A10, GROQ], config=config).options[0].label == A10

    assert not dedicated_cheaper(119_000)
    assert dedicated_cheaper(121_000)
    assert not dedicated_cheaper(173_000)  # a second replica: serverless wins again
    assert dedicated_cheaper(241_000)
    assert not dedicated_cheaper(346_000)  # a third replica
    assert dedicated_cheaper(361_000)
    assert all(dedicated_cheaper(r) for r in range(361_000, 2_000_000, 97_531))


def test_break_even_needs_a_pair_and_pairs_on_request(config: Config) -> None:
    alone = compare_costs(_workload(), [GROQ], config=config).break_even
    assert alone == BreakEven(
        None, None, None, reason="no priced dedicated (per-hour) option among the candidates"
    )
    result = compare_costs(
        _workload(), [GROQ, A10, "cerebras:gpt-oss-120b"], pairs=True, config=config
    )
    assert len(result.pairs) == 2
    assert {p.serverless for p in result.pairs} == {GROQ, "cerebras:gpt-oss-120b"}
    # the main break-even uses the cheapest serverless (groq, the override)
    assert result.break_even.serverless == GROQ
    free = _workload(input_tokens=0, output_tokens=0)
    options = {o.label: o for o in compare_costs(free, [GROQ, A10], config=config).options}
    none = break_even(options[GROQ], options[A10], free)
    assert none.requests_per_day is None and "costs nothing per request" in (none.reason or "")


def test_deployment_names_are_priced_by_their_adapter(config: Config) -> None:
    result = compare_costs(_workload(), ["big", "chat"], config=config)
    by_via = {o.via: o for o in result.options}
    chat, big = by_via["deployment chat"], by_via["deployment big"]
    assert chat.monthly_usd == pytest.approx(60.0)  # the [prices] override, as above
    one_hour = hostkit.cost("big", hours=1, config=config)  # 3 replicas in the spec
    assert one_hour.usd is not None
    # the workload's replicas (1) replace the spec's 3: the adapter's price per replica-hour
    assert big.usd_per_replica_hour == pytest.approx(one_hour.usd / 3)
    assert big.monthly_usd == pytest.approx(720 * one_hour.usd / 3)
    assert big.source == one_hour.source and big.as_of == one_hour.as_of


def test_default_options_serve_the_model_and_fit_it(config: Config) -> None:
    model = "meta-llama/Llama-3.3-70B-Instruct"
    result = compare_costs(_workload(model=model), config=config)
    needed = sizing.estimate(model)
    kinds = {o.kind for o in result.options}
    assert kinds == {"serverless", "dedicated"}
    hub_ids = {(r.provider, r.name): r.hub_model for r in catalog.offerings(config=config)}
    for option in result.options:
        assert option.monthly_usd is not None
        if option.kind == "serverless":
            served = hub_ids.get((option.provider, option.name)) or option.name
            assert served.split(":")[0].lower().endswith("llama-3.3-70b-instruct")
        else:
            assert option.gpus_needed is not None
    # a platform's own id counts through its row's hub_model (groq's prices.toml)
    assert "groq:llama-3.3-70b-versatile" in {o.label for o in result.options}
    small = [r for r in catalog.offerings(config=config) if r.name == "gpu_1x_a10"]
    assert sizing.gpus_needed(needed, small[0]) is None  # 24 GB cannot hold 70B
    assert "lambdalabs:gpu_1x_a10" not in {o.label for o in result.options}
    prices = [o.monthly_usd for o in result.options]
    assert prices == sorted(prices)  # type: ignore[type-var]
    unknown = compare_costs(_workload(model="org/new-model"), config=config)
    assert {o.kind for o in unknown.options} <= {"serverless"}
    assert "size of 'org/new-model' is unknown" in unknown.notes[0]


def test_a_platform_model_id_matches_the_hub_id_it_serves(tmp_path: Path) -> None:
    (tmp_path / "hostkit.toml").write_text(
        '[prices.groq."new-chat-instant"]\n'
        'hub_model = "org/New-Chat-8B-Instruct"\n'
        "input_per_million = 0.1\noutput_per_million = 0.2\n"
        'source = "https://example.test/pricing"\n'
    )
    config = load_config(tmp_path / "hostkit.toml")
    workload = _workload(model="org/New-Chat-8B-Instruct")
    labels = {o.label for o in compare_costs(workload, config=config).options}
    assert "groq:new-chat-instant" in labels
    other = compare_costs(_workload(model="org/Other-Chat-8B"), config=config)
    assert "groq:new-chat-instant" not in {o.label for o in other.options}
    (tmp_path / "hostkit.toml").write_text(
        '[prices.groq."x"]\nhub_model = "not a hub id"\ninput_per_million = 0.1\n'
        'output_per_million = 0.2\nsource = "https://example.test/pricing"\n'
    )
    with pytest.raises(ConfigError, match=r"hub_model: expected a Hub id 'org/name'"):
        catalog.offerings("groq", config=load_config(tmp_path / "hostkit.toml"))


def test_bad_workloads_and_candidates_are_named(config: Config) -> None:
    with pytest.raises(ConfigError, match=r"workload.requests_per_day: expected a number >= 0"):
        Workload(requests_per_day=-1)
    with pytest.raises(ConfigError, match="workload: give replicas or throughput, not both"):
        Workload(requests_per_day=1, replicas=2, throughput=1)
    with pytest.raises(ConfigError, match=r"workload\.hours_per_month: 800 is more than the"):
        Workload(requests_per_day=1, hours_per_month=800)
    with pytest.raises(ConfigError, match="peak_requests_per_second: needs throughput"):
        Workload(requests_per_day=1, peak_requests_per_second=5)
    with pytest.raises(ConfigError, match=r"candidate 'nowhere:x': not a deployment in"):
        compare_costs(_workload(), ["nowhere:x"], config=config)


def test_cli_compare_table_and_json(config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "cost",
        "--compare",
        "--requests-per-day",
        "10000",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "200",
        "--days",
        "30",
        "--hours",
        "720",
        "--replicas",
        "2",
        "--candidate",
        A10,
        "--candidate",
        GROQ,
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2].startswith(GROQ) and "$60.00" in lines[2]
    assert lines[3].startswith(A10) and "$1,440.00" in lines[3] and "2 x $1.00/h x 720 h" in out
    assert f"break-even: {A10} is cheaper than {GROQ} above 240,000 requests/day" in out
    assert cli.main(["--json", *argv]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [o["label"] for o in data["options"]] == [GROQ, A10]
    assert data["break_even"]["requests_per_day"] == pytest.approx(240_000)
    assert data["workload"]["replicas_needed"] == 2
    code = cli.main(["cost", "--compare", "--input-tokens", "5"])
    assert code == 2 and "--requests-per-day is required" in capsys.readouterr().err


def test_cli_cost_name_still_prices_one_deployment(
    config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--json", "cost", "big", "--hours", "2"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    expected = hostkit.cost("big", hours=2, config=config)
    assert estimate["usd"] == pytest.approx(expected.usd)
    assert cli.main(["cost"]) == 2
    assert "give a deployment NAME, or --compare" in capsys.readouterr().err


def test_cli_compare_for_a_model_lists_what_serves_it(
    config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    model = "meta-llama/Llama-3.3-70B-Instruct"
    argv = ["--json", "cost", "--compare", "--requests-per-day", "1000", "--input-tokens", "500"]
    assert cli.main([*argv, "--output-tokens", "100", "--model", model, "--offline"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert f"sizing {model}: offline: parameters and architecture from" in captured.err
    expected = compare_costs(
        Workload(requests_per_day=1000, input_tokens=500, output_tokens=100, model=model),
        config=config,
    )
    assert [o["label"] for o in data["options"]] == [o.label for o in expected.options]
    assert all(o["gpus_needed"] for o in data["options"] if o["kind"] == "dedicated")
