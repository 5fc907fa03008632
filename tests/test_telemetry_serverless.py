"""Spans and metrics of the serverless providers, replaying their recorded cassettes.

``cerebras``, ``huggingface`` (the Inference Providers router) and ``replicate``
(predictions on an official model), each deployed, invoked, streamed and failed from
the cassettes in ``providers/<name>/tests/cassettes`` while the OpenTelemetry SDK's
in-memory exporter and reader (``tests/conftest.py``) collect what hostkit emits.
The expected values are the platforms' own: host, model, token counts, finish
reasons, timings and request ids as the recorded responses hold them.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.trace import SpanKind, StatusCode

import hostkit
from hostkit import errors
from hostkit._api import provider_for
from hostkit.testing import cassette, load_cassette

if TYPE_CHECKING:
    from conftest import Otel  # tests/conftest.py: the shared in-memory SDK fixtures

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Say hello in five words."
DURATION = gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION
TOKENS = gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE
FIRST_CHUNK = gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK
#: what the GenAI metrics carry: few values each, never a prompt, id or secret
METRIC_KEYS = {
    "hostkit.operation",
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "server.address",
}


@dataclass(frozen=True)
class Platform:
    """One serverless provider and what its recorded responses say."""

    name: str
    credential_env: str
    fake_key: str
    model: str
    params: dict[str, Any]
    host: str
    response_model: str
    usage: tuple[int, int]
    finish_reasons: tuple[str, ...]
    timings: dict[str, float]
    #: the price hostkit knows (its source is tested with the provider); None: unpriced
    cost_usd: float | None
    request_id_header: str
    retry_wait: float
    unset_env: tuple[str, ...] = field(default=())

    @property
    def cassettes(self) -> Path:
        return ROOT / "providers" / self.name / "tests" / "cassettes"

    def replay(self, name: str) -> Any:
        return cassette(self.cassettes / name)

    def recorded_request_id(self, name: str) -> str | None:
        """The request id header of the last response in cassette ``name``."""
        return load_cassette(self.cassettes / name)[-1].response.header(self.request_id_header)


PLATFORMS = [
    Platform(
        name="cerebras",
        credential_env="CEREBRAS_API_KEY",
        fake_key="csk-test-not-a-real-key",
        model="gpt-oss-120b",
        params={"max_tokens": 256},
        host="api.cerebras.ai",
        response_model="gpt-oss-120b",
        usage=(76, 29),
        finish_reasons=("stop",),
        timings={
            "queue_time": 0.000412,
            "prompt_time": 0.00231,
            "completion_time": 0.009844,
            "total_time": 0.01493,
        },
        # gpt-oss-120b at $0.35 / $0.75 per million tokens (cerebras prices.toml)
        cost_usd=(76 * 0.35 + 29 * 0.75) / 1e6,
        request_id_header="cf-ray",
        retry_wait=2.0,
        unset_env=("CEREBRAS_BASE_URL", "CEREBRAS_CUSTOM_HEADERS"),
    ),
    Platform(
        name="huggingface",
        credential_env="HF_TOKEN",
        fake_key="hf_hostkitFakeTestToken00",
        model="meta-llama/Llama-3.3-70B-Instruct",
        params={"max_tokens": 32},
        host="router.huggingface.co",
        # the router's notation for the backend that served it (x-inference-provider)
        response_model="meta-llama/Llama-3.3-70B-Instruct:groq",
        usage=(43, 9),
        finish_reasons=("stop",),
        timings={
            "queue_time": 0.051829,
            "prompt_time": 0.002291,
            "completion_time": 0.0325,
            "total_time": 0.034791,
        },
        # groq's live price in deploy.yaml's router answer: $0.59 / $0.79 per million
        cost_usd=(43 * 0.59 + 9 * 0.79) / 1e6,
        request_id_header="x-request-id",
        retry_wait=2.0,
        unset_env=("HF_HUB_OFFLINE", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"),
    ),
    Platform(
        name="replicate",
        credential_env="REPLICATE_API_TOKEN",
        fake_key="r8_testsFakeToken0000",
        model="meta/meta-llama-3-8b-instruct",
        params={"max_tokens": 32},
        host="api.replicate.com",
        response_model="meta/meta-llama-3-8b-instruct",
        usage=(18, 7),
        finish_reasons=(),  # a prediction has a status, not a finish reason
        timings={"predict_time": 0.184521, "total_time": 0.213947, "time_to_first_token": 0.031277},
        cost_usd=None,  # hostkit knows no per-token price for this model
        request_id_header="cf-ray",
        retry_wait=1.0,
    ),
]


@pytest.fixture(params=PLATFORMS, ids=lambda p: p.name)
def platform(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Platform:
    chosen: Platform = request.param
    monkeypatch.setenv(chosen.credential_env, chosen.fake_key)
    for name in chosen.unset_env:
        monkeypatch.delenv(name, raising=False)
    return chosen


@pytest.fixture
def waits(platform: Platform) -> Iterator[list[float]]:
    """The retry waits the provider asked for, recorded instead of slept."""
    provider = provider_for(platform.name)  # the instance hostkit.deploy/invoke use
    recorded: list[float] = []

    async def asleep(seconds: float) -> None:
        recorded.append(seconds)

    provider.retry.sleep = recorded.append
    provider.retry.asleep = asleep
    yield recorded
    provider.close()


@pytest.fixture
def dep(otel: Otel, platform: Platform, waits: list[float]) -> hostkit.Deployment:
    """The model, deployed through the provider's recorded look-up (a span of its own)."""
    with platform.replay("deploy.yaml"):
        deployed = hostkit.deploy(provider=platform.name, model=platform.model)
    return deployed


def invoke(platform: Platform, dep: hostkit.Deployment) -> hostkit.InvokeResult:
    """One invoke; an unpriced model warns (PriceUnknown) and that is expected here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", errors.PriceUnknown)
        result = hostkit.invoke(dep, PROMPT, **platform.params)
    priced = not any(issubclass(w.category, errors.PriceUnknown) for w in caught)
    assert priced == (platform.cost_usd is not None)
    return result


def test_invoke_stream_and_ainvoke_spans(
    otel: Otel, platform: Platform, dep: hostkit.Deployment
) -> None:
    with platform.replay("invoke.yaml"):
        result = invoke(platform, dep)
    with platform.replay("stream.yaml"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        stream = hostkit.stream(dep, PROMPT, **platform.params)
        assert stream.text() == result.text
    with platform.replay("ainvoke.yaml"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        asyncio.run(hostkit.ainvoke(dep, PROMPT, **platform.params))
    assert stream.result is not None

    deploy = otel.span("deploy")
    assert deploy.kind == SpanKind.INTERNAL
    assert otel.attrs(deploy)["server.address"] == platform.host
    assert otel.attrs(deploy)["hostkit.model"] == platform.model

    span = otel.span("invoke")
    assert span.name == f"chat {platform.model}" and span.kind == SpanKind.CLIENT
    assert span.status.status_code == StatusCode.UNSET
    a = otel.attrs(span)
    assert a["gen_ai.provider.name"] == a["gen_ai.system"] == platform.name
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == platform.model
    assert a["gen_ai.response.model"] == platform.response_model == result.model
    assert a["gen_ai.request.max_tokens"] == platform.params["max_tokens"]
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == platform.usage
    assert a.get("gen_ai.response.finish_reasons", ()) == platform.finish_reasons
    assert a["gen_ai.response.id"] == result.raw["id"]
    assert a["server.address"] == platform.host
    assert a["hostkit.request_id"] == result.request_id
    assert a["hostkit.retries"] == 0 and a["hostkit.outcome"] == "ok"
    assert "error.type" not in a
    assert "hostkit.ttft_s" not in a  # a whole answer has no first token time
    assert {k[len("hostkit.timings.") :]: v for k, v in a.items() if "timings." in k} == (
        pytest.approx(platform.timings)
    )
    if platform.cost_usd is None:
        assert "hostkit.cost_usd" not in a and result.cost_usd is None
    else:
        assert a["hostkit.cost_usd"] == pytest.approx(platform.cost_usd)

    s = otel.attrs(otel.span("stream"))
    assert s["gen_ai.request.stream"] is True
    assert s["hostkit.ttft_s"] == s["gen_ai.response.time_to_first_chunk"] == stream.result.ttft_s
    assert 0 < s["hostkit.ttft_s"] <= stream.result.latency_s
    assert (s["gen_ai.usage.input_tokens"], s["gen_ai.usage.output_tokens"]) == platform.usage
    assert s.get("gen_ai.response.finish_reasons", ()) == platform.finish_reasons
    assert s["gen_ai.response.model"] == platform.response_model
    assert s["hostkit.timings.total_time"] == pytest.approx(platform.timings["total_time"])
    assert s["hostkit.request_id"] == stream.result.request_id
    aa = otel.attrs(otel.span("ainvoke"))
    assert (aa["gen_ai.usage.input_tokens"], aa["gen_ai.usage.output_tokens"]) == platform.usage
    for each in otel.spans():
        otel.assert_named_by_the_conventions(each)
        assert not otel.content & set(otel.attrs(each))  # content is off by default


def test_token_usage_duration_and_cost_metrics(
    otel: Otel, platform: Platform, dep: hostkit.Deployment
) -> None:
    with platform.replay("invoke.yaml"):
        invoke(platform, dep)
    with platform.replay("stream.yaml"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        hostkit.stream(dep, PROMPT, **platform.params).text()

    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": platform.name,
        "gen_ai.request.model": platform.model,
        "gen_ai.response.model": platform.response_model,
        "server.address": platform.host,
    }
    tokens = {
        (p.attributes["hostkit.operation"], p.attributes["gen_ai.token.type"]): p
        for p in otel.points(TOKENS)
    }
    operations = ("invoke", "stream")
    assert set(tokens) == {(op, kind) for op in operations for kind in ("input", "output")}
    for (operation, kind), point in tokens.items():
        assert point.count == 1
        assert point.sum == platform.usage[0 if kind == "input" else 1]
        assert dict(point.attributes) == {
            **expected,
            "hostkit.operation": operation,
            "gen_ai.token.type": kind,
        }
    durations = {p.attributes["hostkit.operation"]: p for p in otel.points(DURATION)}
    assert set(durations) == {"invoke", "stream"}
    for operation, point in durations.items():
        assert point.count == 1 and point.sum > 0
        assert dict(point.attributes) == {**expected, "hostkit.operation": operation}
    (first_chunk,) = otel.points(FIRST_CHUNK)
    assert first_chunk.count == 1 and first_chunk.attributes["hostkit.operation"] == "stream"
    (deploy_duration,) = otel.points("hostkit.operation.duration")
    assert dict(deploy_duration.attributes) == {
        "hostkit.operation": "deploy",
        "hostkit.provider": platform.name,
    }

    costs = {p.attributes["hostkit.operation"]: p for p in otel.points("hostkit.cost")}
    if platform.cost_usd is None:
        assert costs == {}  # unknown cost is no cost recorded, not zero
    else:
        assert set(costs) == {"invoke", "stream"}
        for operation, point in costs.items():
            assert point.value == pytest.approx(platform.cost_usd)
            assert dict(point.attributes) == {
                "gen_ai.provider.name": platform.name,
                "gen_ai.request.model": platform.model,
                "hostkit.operation": operation,
            }
        assert otel.units()["hostkit.cost"] == "USD"
    units = otel.units()
    assert units[DURATION] == "s" and units[TOKENS] == "{token}"
    assert otel.points("hostkit.errors") == [] and otel.points("hostkit.retries") == []


def test_error_spans_carry_the_error_type_and_the_platform_request_id(
    otel: Otel, platform: Platform, dep: hostkit.Deployment, waits: list[float]
) -> None:
    with platform.replay("error_401.yaml"), pytest.raises(errors.AuthenticationError):
        hostkit.invoke(dep, PROMPT, **platform.params)
    with platform.replay("error_429_exhausted.yaml"), pytest.raises(errors.RateLimited):
        hostkit.invoke(dep, PROMPT, **platform.params)
    assert waits == [platform.retry_wait] * 3

    unauthorized, limited = otel.spans("invoke")
    for span, kind, name in (
        (unauthorized, "AuthenticationError", "error_401.yaml"),
        (limited, "RateLimited", "error_429_exhausted.yaml"),
    ):
        a = otel.attrs(span)
        assert span.status.status_code == StatusCode.ERROR
        assert a["error.type"] == f"hostkit.errors.{kind}" and a["hostkit.outcome"] == kind
        assert a["hostkit.request_id"] == platform.recorded_request_id(name)
        assert a["server.address"] == platform.host
        assert a["gen_ai.request.model"] == platform.model
        assert not {"gen_ai.usage.input_tokens", "gen_ai.response.model"} & set(a)
        assert [e.name for e in span.events] == ["exception"]
        otel.assert_named_by_the_conventions(span)
    assert otel.attrs(unauthorized)["hostkit.retries"] == 0
    assert otel.attrs(limited)["hostkit.retries"] == 3

    failures = {p.attributes["error.type"]: p.value for p in otel.points("hostkit.errors")}
    assert failures == {"hostkit.errors.AuthenticationError": 1, "hostkit.errors.RateLimited": 1}
    (retries,) = otel.points("hostkit.retries")
    assert retries.value == 3
    assert dict(retries.attributes) == {
        "hostkit.operation": "invoke",
        "hostkit.provider": platform.name,
        "error.type": "hostkit.errors.RateLimited",
    }
    errored = sorted(p.attributes["error.type"] for p in otel.points(DURATION))
    assert errored == ["hostkit.errors.AuthenticationError", "hostkit.errors.RateLimited"]
    assert otel.points(TOKENS) == [] and otel.points("hostkit.cost") == []


def test_a_stream_failing_mid_way_ends_its_span_with_the_error(
    otel: Otel, platform: Platform, dep: hostkit.Deployment, waits: list[float]
) -> None:
    received: list[str] = []
    with platform.replay("stream_error.yaml"), pytest.raises(errors.ProviderError) as caught:
        for piece in hostkit.stream(dep, PROMPT, **platform.params):
            received.append(piece)
    assert received and waits == []  # text had arrived: never retried

    span = otel.span("stream")
    a = otel.attrs(span)
    assert span.status.status_code == StatusCode.ERROR
    # a failed Replicate prediction is the model's own failure (ModelError, a ProviderError)
    assert a["error.type"] == f"hostkit.errors.{type(caught.value).__name__}"
    assert caught.value.request_id and a["hostkit.request_id"] == caught.value.request_id
    assert a["gen_ai.request.stream"] is True and a["server.address"] == platform.host
    assert "hostkit.ttft_s" not in a and "gen_ai.usage.output_tokens" not in a
    (failed,) = otel.points("hostkit.errors")
    assert dict(failed.attributes) == {
        "hostkit.operation": "stream",
        "hostkit.provider": platform.name,
        "error.type": a["error.type"],
    }
    (duration,) = otel.points(DURATION)
    assert duration.attributes["error.type"] == a["error.type"]


def test_no_secret_in_any_span_or_metric(
    otel: Otel, platform: Platform, dep: hostkit.Deployment
) -> None:
    otel.enable(capture_content=True)  # even with prompts and completions recorded
    with platform.replay("error_401.yaml"), pytest.raises(errors.AuthenticationError):
        hostkit.invoke(dep, PROMPT, **platform.params)
    with platform.replay("invoke.yaml"):
        result = invoke(platform, dep)
    with platform.replay("stream.yaml"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.PriceUnknown)
        hostkit.stream(dep, PROMPT, **platform.params).text()

    ok = otel.attrs(otel.spans("invoke")[1])
    assert PROMPT in ok["gen_ai.input.messages"]
    assert result.text is not None and result.text in ok["gen_ai.output.messages"]
    spans = "".join(span.to_json() for span in otel.spans())
    data = otel.reader.get_metrics_data()
    assert data is not None
    for dumped in (spans, data.to_json()):
        assert platform.fake_key not in dumped
        assert "Bearer" not in dumped
    assert len(otel.spans()) == 4  # deploy, the failed and the good invoke, stream
