"""Write the sagemaker cassettes: hand-built AWS responses, requests exactly as boto3 sends them.

No SageMaker endpoint was run to make these fixtures (an LLM endpoint costs dollars an
hour). Each scenario below lists the responses AWS gives, written from the API reference
and botocore's service models (``botocore/data/sagemaker/2017-07-24/service-2.json``,
``sagemaker-runtime/2017-05-13``, ``application-autoscaling/2016-02-06``). This script
drives the real adapter through boto3 with those responses answered at botocore's
``before-send`` hook, records each request as boto3 serialised and signed it, scrubs it
with hostkit's scrubbers and writes vcrpy YAML. The tests then replay the files strictly
through the real HTTP stack (vcrpy under urllib3), so botocore parses every response.

Run it after changing what the adapter sends, then read the diff::

    .venv/bin/python providers/sagemaker/tests/build_cassettes.py
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import os
import sys
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes"
REGION = "us-east-1"
ACCOUNT = "111122223333"  # AWS's documentation account; the scrubber turns it into 0s
ROLE = f"arn:aws:iam::{ACCOUNT}:role/hostkit-sagemaker-execution"
NAME = "hostkit-compliance"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
INSTANCE = "ml.g5.2xlarge"
HF_TOKEN = "hf_hostkitFakeCompliance00"
SETTINGS = {"region": REGION, "role_arn": ROLE}
SPEC = {"model": MODEL, "instance": INSTANCE, "env": {"HF_TOKEN": HF_TOKEN}}
FAILING_SPEC = {"model": "meta-llama/Llama-3.1-70B-Instruct", "instance": INSTANCE}
PROMPT = "Say hello in five words."
ANSWER = "Hello there, nice to meet you!"
USAGE = {"prompt_tokens": 43, "completion_tokens": 9, "total_tokens": 52}
JSON11 = "application/x-amz-json-1.1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
IRIS = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]}
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
)
#: when these exchanges are dated (epoch seconds, as the JSON protocols send timestamps)
T0 = _dt.datetime(2026, 11, 22, 4, 0, tzinfo=_dt.UTC).timestamp()
DIGEST = "sha256:4b9c6f3a2e1d0c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"

COMMON_HEADER = """\
Hand-built: the responses were written from the AWS API reference and botocore 1.44.5's
service models (sagemaker 2017-07-24, sagemaker-runtime 2017-05-13, application-autoscaling
2016-02-06: JSON 1.1 with X-Amz-Target for the control planes, rest-json for the runtime;
errors as {"__type"|x-amzn-ErrorType, "message"}); the requests are exactly what boto3
sent for them (providers/sagemaker/tests/build_cassettes.py). Replayed strictly through
boto3 by the tests, so botocore parses every response. Account ids (the Hugging Face image
registry's too) are 000000000000 as hostkit's scrubber writes them; credentials and HF_TOKEN
appear only as REDACTED; event-stream bodies are binary (base64 in YAML).
"""


# -- AWS responses ---------------------------------------------------------------------
@dataclass
class Canned:
    operation: str
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Scenario:
    name: str
    comment: str
    responses: list[Canned] = field(default_factory=list)


def _arn(kind: str, name: str, service: str = "sagemaker") -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}/{name}"


def ok(operation: str, body: dict[str, Any] | None = None) -> Canned:
    """A JSON 1.1 control-plane success (an empty body where the output is empty)."""
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Canned(operation, 200, {"Content-Type": JSON11}, data)


def fail(operation: str, status: int, code: str, message: str) -> Canned:
    """A JSON 1.1 control-plane error."""
    body = json.dumps({"__type": code, "message": message}, separators=(",", ":")).encode()
    return Canned(operation, status, {"Content-Type": JSON11}, body)


def runtime_ok(operation: str, body: bytes, content_type: str = "application/json") -> Canned:
    headers = {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": "AllTraffic"}
    return Canned(operation, 200, headers, body)


def runtime_fail(status: int, code: str, body: dict[str, Any], namespace: str) -> Canned:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/{namespace}/",
    }
    return Canned("InvokeEndpoint", status, headers, json.dumps(body).encode())


def not_found(operation: str, what: str, name: str) -> Canned:
    kinds = {"endpoint": "endpoint", "endpoint configuration": "endpoint-config", "model": "model"}
    arn = _arn(kinds[what], name)
    return fail(operation, 400, "ValidationException", f'Could not find {what} "{arn}".')


def no_scaling_target(name: str = NAME) -> Canned:
    return fail(
        "DeregisterScalableTarget",
        400,
        "ObjectNotFoundException",
        "No scalable target registered for service namespace: sagemaker, resource ID:"
        f" endpoint/{name}/variant/AllTraffic, scalable dimension:"
        " sagemaker:variant:DesiredInstanceCount",
    )


def describe(
    state: str,
    *,
    name: str = NAME,
    current: int | None = 1,
    desired: int | None = 1,
    failure: str | None = None,
    image: str = IMAGE,
) -> Canned:
    body: dict[str, Any] = {
        "EndpointName": name,
        "EndpointArn": _arn("endpoint", name),
        "EndpointConfigName": name,
    }
    if current is not None:
        variant: dict[str, Any] = {
            "VariantName": "AllTraffic",
            "DeployedImages": [
                {
                    "SpecifiedImage": image,
                    "ResolvedImage": f"{image.rsplit(':', 1)[0]}@{DIGEST}",
                    "ResolutionTime": T0 + 12.345,
                }
            ],
            "CurrentWeight": 1.0,
            "DesiredWeight": 1.0,
            "CurrentInstanceCount": current,
            "DesiredInstanceCount": desired,
        }
        if state == "Updating":
            variant["VariantStatus"] = [
                {
                    "Status": "Updating",
                    "StatusMessage": "Scaling the variant to the desired instance count",
                    "StartTime": T0 + 900.0,
                }
            ]
        body["ProductionVariants"] = [variant]
    body["EndpointStatus"] = state
    if failure:
        body["FailureReason"] = failure
    body["CreationTime"] = T0 + 1.234
    body["LastModifiedTime"] = T0 + 480.5
    return ok("DescribeEndpoint", body)


def tags(name: str = NAME, spec: dict[str, Any] | None = None) -> Canned:
    from hostkit import DeploymentSpec

    fields = dict(SPEC if spec is None else spec)
    fingerprint = DeploymentSpec(provider="sagemaker", name=name, **fields).fingerprint()
    kind = "raw" if str(fields["model"]).startswith("s3://") else "chat"
    values = {
        "deployment": name,
        "fingerprint": fingerprint,
        "model": fields["model"],
        "instance": fields["instance"],
        "kind": kind,
    }
    pairs = [{"Key": f"hostkit:{k}", "Value": v} for k, v in values.items()]
    return ok("ListTags", {"Tags": pairs})


def creates(name: str = NAME) -> list[Canned]:
    return [
        ok("CreateModel", {"ModelArn": _arn("model", name)}),
        ok("CreateEndpointConfig", {"EndpointConfigArn": _arn("endpoint-config", name)}),
        ok("CreateEndpoint", {"EndpointArn": _arn("endpoint", name)}),
    ]


def deletes(name: str = NAME, *, endpoint_gone: bool = False) -> list[Canned]:
    endpoint = (
        not_found("DeleteEndpoint", "endpoint", name) if endpoint_gone else ok("DeleteEndpoint")
    )
    return [
        no_scaling_target(name),
        endpoint,
        ok("DeleteEndpointConfig"),
        ok("DeleteModel"),
    ]


def completion(content: str = ANSWER) -> bytes:
    """A chat completion as TGI 3.3's /invocations returns it (id is empty in TGI)."""
    body = {
        "object": "chat.completion",
        "id": "",
        "created": int(T0) + 1000,
        "model": MODEL,
        "system_fingerprint": "3.3.6-sha-1f3c2a8",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of AWS's binary event-stream encoding (vnd.amazon.eventstream)."""
    encoded = b"".join(
        len(k).to_bytes(1, "big") + k.encode() + b"\x07" + len(v).to_bytes(2, "big") + v.encode()
        for k, v in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    message = prelude + zlib.crc32(prelude).to_bytes(4, "big") + encoded + payload
    return message + zlib.crc32(message).to_bytes(4, "big")


def payload_part(data: bytes) -> bytes:
    return event_message(
        {
            ":event-type": "PayloadPart",
            ":content-type": "application/octet-stream",
            ":message-type": "event",
        },
        data,
    )


def stream_error(code: str, message: str, error_code: str) -> bytes:
    payload = json.dumps({"Message": message, "ErrorCode": error_code}).encode()
    return event_message(
        {
            ":exception-type": code,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        payload,
    )


def sse_chunks(words: list[str], *, usage: bool = True) -> list[bytes]:
    """TGI 3.3's chat stream: a chunk per token, the finish, usage, then [DONE]."""
    events = []
    for index, word in enumerate(words):
        delta = {"role": "assistant", "content": word}
        finish = "stop" if index == len(words) - 1 else None
        chunk = {
            "object": "chat.completion.chunk",
            "id": "",
            "created": int(T0) + 1100,
            "model": MODEL,
            "system_fingerprint": "3.3.6-sha-1f3c2a8",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None,
        }
        events.append(f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n".encode())
    if usage:
        last = {
            "object": "chat.completion.chunk",
            "id": "",
            "created": int(T0) + 1100,
            "model": MODEL,
            "system_fingerprint": "3.3.6-sha-1f3c2a8",
            "choices": [],
            "usage": USAGE,
        }
        events.append(f"data: {json.dumps(last, separators=(',', ':'))}\n\n".encode())
    events.append(b"data: [DONE]\n\n")
    return events


def stream_body(parts: list[bytes]) -> Canned:
    headers = {
        "Content-Type": "application/vnd.amazon.eventstream",
        "X-Amzn-SageMaker-Content-Type": "text/event-stream",
        "x-Amzn-Invoked-Production-Variant": "AllTraffic",
    }
    return Canned("InvokeEndpointWithResponseStream", 200, headers, b"".join(parts))


def split_awkwardly(events: list[bytes]) -> list[bytes]:
    """Re-cut SSE bytes so PayloadParts end mid-line (as the runtime does)."""
    data = b"".join(events)
    cuts = [0, 37, 180, 181, 420, 777, 1200, len(data)]
    cuts = sorted({c for c in cuts if c <= len(data)})
    return [data[a:b] for a, b in itertools.pairwise(cuts) if data[a:b]]


THROTTLED = runtime_fail(
    400,
    "ThrottlingException",
    {"message": "Rate exceeded"},
    "com.amazon.coral.availability",
)


# -- recording -----------------------------------------------------------------------------
class Recorder:
    """Answers boto3's requests from a queue of canned responses and keeps each request."""

    def __init__(self) -> None:
        self.queue: list[Canned] = []
        self.recorded: list[tuple[Any, Canned]] = []

    def handler(self, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if not self.queue:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        canned = self.queue.pop(0)
        operation = _operation(request)
        if operation != canned.operation:
            raise AssertionError(f"expected {canned.operation}, boto3 sent {operation}")
        self.recorded.append((request, canned))
        return AWSResponse(request.url, canned.status, dict(canned.headers), _Raw(canned.body))


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def read(self, amount: int | None = None, **kwargs: Any) -> bytes:
        end = len(self._data) if amount is None else self._offset + amount
        chunk = self._data[self._offset : end]
        self._offset += len(chunk)
        return chunk

    def stream(self, amount: int = 1024, **kwargs: Any) -> Iterator[bytes]:
        while chunk := self.read(amount):
            yield chunk


def _operation(request: Any) -> str:
    target = request.headers.get("X-Amz-Target")
    if target:
        return (target.decode() if isinstance(target, bytes) else target).split(".")[-1]
    if request.url.endswith("/invocations-response-stream"):
        return "InvokeEndpointWithResponseStream"
    return "InvokeEndpoint"


KEEP_HEADERS = ("Content-Type", "X-Amz-Target", "Accept", "Authorization")


def _request_entry(request: Any) -> dict[str, Any]:
    from hostkit.testing import REDACTED, scrub_text

    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    text = body.decode("utf-8") if isinstance(body, bytes) else (body or "")
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        shown = value.decode() if isinstance(value, bytes) else str(value)
        if name == "Authorization":
            headers[name] = [REDACTED]
        elif name in KEEP_HEADERS or name.lower().startswith("x-amzn-sagemaker"):
            headers[name] = [scrub_text(shown)]
    return {
        "method": request.method,
        "uri": scrub_text(request.url),
        "body": scrub_text(text),
        "headers": headers,
    }


def _response_entry(canned: Canned, index: int, scenario: str) -> dict[str, Any]:
    from hostkit.testing import scrub_text

    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hostkit-sagemaker/{scenario}/{index}"))
    when = _dt.datetime.fromtimestamp(T0 + 300 + index * 7, _dt.UTC)
    headers = {
        "Date": [when.strftime("%a, %d %b %Y %H:%M:%S GMT")],
        "x-amzn-RequestId": [request_id],
        **{k: [v] for k, v in canned.headers.items()},
    }
    if canned.operation != "InvokeEndpointWithResponseStream":
        headers["Content-Length"] = [str(len(canned.body))]
    reasons = {200: "OK", 400: "Bad Request", 403: "Forbidden", 424: "Failed Dependency"}
    reasons |= {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
    body: Any
    if canned.headers.get("Content-Type") == "application/vnd.amazon.eventstream":
        body = canned.body  # binary: written as !!binary
    else:
        body = scrub_text(canned.body.decode("utf-8"))
    return {
        "status": {"code": canned.status, "message": reasons[canned.status]},
        "headers": headers,
        "body": {"string": body},
    }


def write(scenario: Scenario, recorded: list[tuple[Any, Canned]]) -> Path:
    interactions = [
        {"request": _request_entry(req), "response": _response_entry(canned, i, scenario.name)}
        for i, (req, canned) in enumerate(recorded)
    ]
    text = yaml.safe_dump(
        {"version": 1, "interactions": interactions},
        sort_keys=False,
        default_flow_style=None,
        width=100000,
        allow_unicode=True,
    )
    lines = (scenario.comment.strip() + "\n\n" + COMMON_HEADER.strip()).split("\n")
    comment = "\n".join(f"# {line}".rstrip() for line in lines)
    path = CASSETTES / f"{scenario.name}.yaml"
    path.write_text(f"{comment}\n{text}", encoding="utf-8")
    return path


# -- the scenarios -----------------------------------------------------------------------------
def _provider(recorder: Recorder) -> Any:
    from hostkit import get_provider

    provider = get_provider("sagemaker", **SETTINGS)
    provider.sleep = lambda seconds: None
    provider.retry.sleep = lambda seconds: None
    provider._boto_session()._session.register("before-send", recorder.handler)
    return provider


def run(scenario: Scenario, action: Callable[[Any], Any], recorder: Recorder) -> Any:
    recorder.queue = list(scenario.responses)
    recorder.recorded = []
    try:
        result = action()
    except Exception as error:  # an expected failure scenario
        result = error
    if recorder.queue:
        raise AssertionError(f"{scenario.name}: {len(recorder.queue)} responses were not asked for")
    write(scenario, recorder.recorded)
    print(f"{scenario.name}: {len(recorder.recorded)} interactions -> {type(result).__name__}")
    return result


def build() -> None:
    from hostkit import DeploymentSpec

    CASSETTES.mkdir(exist_ok=True)
    recorder = Recorder()
    provider = _provider(recorder)
    spec = DeploymentSpec(provider="sagemaker", name=NAME, **SPEC)

    deployed = run(
        Scenario(
            "deploy",
            """deploy meta-llama/Llama-3.1-8B-Instruct on ml.g5.2xlarge: DescribeEndpoint (none
yet), CreateModel (the region's Hugging Face TGI 3.3.6 image, HF_MODEL_ID, SM_NUM_GPUS,
MESSAGES_API_ENABLED, HF_TOKEN), CreateEndpointConfig (variant AllTraffic, 1 instance,
900 s startup health check), CreateEndpoint (tags carry the spec's fingerprint), then
DescribeEndpoint Creating -> InService.""",
            [
                not_found("DescribeEndpoint", "endpoint", NAME),
                *creates(),
                describe("Creating", current=None),
                describe("InService"),
            ],
        ),
        lambda: provider.deploy(spec),
        recorder,
    )
    run(
        Scenario(
            "deploy_existing",
            """deploy the same spec again: DescribeEndpoint + ListTags find the endpoint with the
same fingerprint tag, so nothing is created.""",
            [describe("InService"), tags()],
        ),
        lambda: provider.deploy(spec),
        recorder,
    )
    run(
        Scenario(
            "get",
            """get(name) from a fresh process: DescribeEndpoint, then ListTags for the model,
instance type and fingerprint hostkit tagged it with.""",
            [describe("InService"), tags()],
        ),
        lambda: provider.get(NAME),
        recorder,
    )
    run(
        Scenario(
            "status",
            "status of a running deployment: DescribeEndpoint (InService, 1 instance).",
            [describe("InService")],
        ),
        lambda: provider.status(deployed),
        recorder,
    )
    chat = completion()
    run(
        Scenario(
            "invoke",
            """invoke: sagemaker-runtime InvokeEndpoint with an OpenAI-style chat body; TGI's
/invocations answers a chat.completion (TGI leaves its id empty).""",
            [runtime_ok("InvokeEndpoint", chat)],
        ),
        lambda: provider.invoke(deployed, PROMPT),
        recorder,
    )
    run(
        Scenario(
            "ainvoke",
            "ainvoke: the same InvokeEndpoint call (boto3 has no async client; a worker thread).",
            [runtime_ok("InvokeEndpoint", chat)],
        ),
        lambda: provider.invoke(deployed, PROMPT),
        recorder,
    )
    words = ["Hello", " there", ",", " nice", " to", " meet", " you", "!"]
    events = sse_chunks(words)
    run(
        Scenario(
            "stream",
            """stream: InvokeEndpointWithResponseStream; the body is AWS's binary event stream
whose PayloadParts carry TGI's server-sent events (chat.completion.chunk ..., a usage chunk,
[DONE]). Parts end mid-line, as the runtime cuts them. The server-sent events, decoded:
"""
            + "\n".join(line for e in events for line in e.decode().splitlines() if line),
            [stream_body([payload_part(p) for p in split_awkwardly(events)])],
        ),
        lambda: "".join(provider.stream(deployed, PROMPT)),
        recorder,
    )
    run(
        Scenario(
            "scale",
            """scale(dep, 2): DeregisterScalableTarget (none registered: a fixed count means no
autoscaler), UpdateEndpointWeightsAndCapacities, then DescribeEndpoint Updating -> InService
with 2 instances.""",
            [
                no_scaling_target(),
                ok("UpdateEndpointWeightsAndCapacities", {"EndpointArn": _arn("endpoint", NAME)}),
                describe("Updating", current=1, desired=2),
                describe("InService", current=2, desired=2),
            ],
        ),
        lambda: provider.scale(deployed, 2),
        recorder,
    )
    policy = (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:6d8e1a2b-3c4d-4e5f-8a9b"
        f"-0c1d2e3f4a5b:resource/sagemaker/endpoint/{NAME}/variant/AllTraffic:policyName/"
        f"hostkit-{NAME}-invocations"
    )
    alarms = [
        {
            "AlarmName": f"TargetTracking-endpoint/{NAME}/variant/AllTraffic-Alarm{kind}-{suffix}",
            "AlarmARN": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-endpoint"
            f"/{NAME}/variant/AllTraffic-Alarm{kind}-{suffix}",
        }
        for kind, suffix in (
            ("High", "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"),
            ("Low", "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"),
        )
    ]
    autoscale = [
        ok(
            "RegisterScalableTarget",
            {
                "ScalableTargetARN": f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}"
                ":scalable-target/056e1b6c2f1e4d8a9b3c7d2e5f4a6b8c"
            },
        ),
        ok("PutScalingPolicy", {"PolicyARN": policy, "Alarms": alarms}),
    ]
    run(
        Scenario(
            "autoscale",
            """scale(dep, min_replicas=1, max_replicas=2): Application Auto Scaling
RegisterScalableTarget on endpoint/NAME/variant/AllTraffic
(sagemaker:variant:DesiredInstanceCount) and a target-tracking PutScalingPolicy on
SageMakerVariantInvocationsPerInstance (70 per instance per minute), then DescribeEndpoint.""",
            [*autoscale, describe("InService")],
        ),
        lambda: provider.scale(deployed, min_replicas=1, max_replicas=2),
        recorder,
    )
    run(
        Scenario(
            "teardown",
            """teardown, twice: DeregisterScalableTarget (none), DeleteEndpoint,
DeleteEndpointConfig, DeleteModel; DescribeEndpoint shows it Deleting; the second teardown
finds every part gone (ValidationException "Could not find ...") and is not an error.""",
            [
                *deletes(),
                describe("Deleting"),
                no_scaling_target(),
                not_found("DeleteEndpoint", "endpoint", NAME),
                not_found("DeleteEndpointConfig", "endpoint configuration", NAME),
                not_found("DeleteModel", "model", NAME),
            ],
        ),
        lambda: (provider.teardown(deployed), provider.find(NAME), provider.teardown(deployed)),
        recorder,
    )
    missing = "hostkit-compliance-missing"
    run(
        Scenario(
            "teardown_missing",
            "teardown of a name with no endpoint: DescribeEndpoint says it does not exist.",
            [not_found("DescribeEndpoint", "endpoint", missing)],
        ),
        lambda: provider.teardown(missing),
        recorder,
    )
    failed = f"{NAME}-failed"
    health = (
        "The primary container for production variant AllTraffic did not pass the ping health"
        " check. Please check CloudWatch logs for this endpoint."
    )
    run(
        Scenario(
            "deploy_failed",
            """a deploy that fails: Llama-3.1-70B does not fit one A10G, the container never
answers /ping and the endpoint goes Failed with that FailureReason; hostkit then deletes
what it created (DeregisterScalableTarget, DeleteEndpoint, DeleteEndpointConfig,
DeleteModel) and DescribeEndpoint shows it Deleting.""",
            [
                not_found("DescribeEndpoint", "endpoint", failed),
                *creates(failed),
                describe("Creating", name=failed, current=None),
                describe("Failed", name=failed, current=None, failure=health),
                *deletes(failed),
                describe("Deleting", name=failed, current=None),
            ],
        ),
        lambda: (
            _swallow(
                lambda: provider.deploy(
                    DeploymentSpec(provider="sagemaker", name=failed, **FAILING_SPEC)
                )
            ),
            provider.find(failed),
        ),
        recorder,
    )
    invoke = lambda: provider.invoke(deployed, PROMPT)  # noqa: E731
    run(
        Scenario(
            "error_401",
            """invoke with credentials AWS does not know: HTTP 403 UnrecognizedClientException
(AWS's 401); never retried.""",
            [
                runtime_fail(
                    403,
                    "UnrecognizedClientException",
                    {"message": "The security token included in the request is invalid."},
                    "com.amazon.coral.service",
                )
            ],
        ),
        invoke,
        recorder,
    )
    run(
        Scenario(
            "error_404",
            """invoke an endpoint that does not exist: the runtime's HTTP 400 ValidationError
"Endpoint NAME of account ACCOUNT not found."; never retried.""",
            [
                runtime_fail(
                    400,
                    "ValidationError",
                    {"message": f"Endpoint {NAME} of account {ACCOUNT} not found."},
                    "com.amazon.sagemaker",
                )
            ],
        ),
        invoke,
        recorder,
    )
    run(
        Scenario(
            "error_429_then_ok",
            """invoke while throttled: ThrottlingException (HTTP 400, no Retry-After: AWS's
throttling answer), then the same request succeeds.""",
            [THROTTLED, runtime_ok("InvokeEndpoint", chat)],
        ),
        invoke,
        recorder,
    )
    run(
        Scenario(
            "error_429_exhausted",
            """invoke throttled on every try: 1 request + hostkit's 3 retries (botocore's own
retries are off), then RateLimited.""",
            [THROTTLED] * 4,
        ),
        invoke,
        recorder,
    )
    internal = runtime_fail(
        500,
        "InternalFailure",
        {"message": "An internal error occurred while processing the request. Try again."},
        "com.amazon.sagemaker",
    )
    run(
        Scenario(
            "error_5xx",
            """invoke during a runtime outage: HTTP 500 InternalFailure on every try (1 + 3
retries), then ProviderError with the status.""",
            [internal] * 4,
        ),
        invoke,
        recorder,
    )
    build_platform_scenarios(provider, recorder, deployed)


def build_platform_scenarios(provider: Any, recorder: Recorder, deployed: Any) -> None:
    """SageMaker-specific scenarios (capacity, quota, timeout, permissions, raw models ...)."""
    from hostkit import DeploymentSpec

    bounded = f"{NAME}-autoscaled"
    bounded_spec = {**SPEC, "min_replicas": 1, "max_replicas": 3}
    run(
        Scenario(
            "deploy_autoscaled",
            """deploy a spec with min_replicas=1, max_replicas=3: the three creates and the wait,
then (once InService) RegisterScalableTarget and PutScalingPolicy, and DescribeEndpoint.""",
            [
                not_found("DescribeEndpoint", "endpoint", bounded),
                *creates(bounded),
                describe("Creating", name=bounded, current=None),
                describe("InService", name=bounded),
                ok(
                    "RegisterScalableTarget",
                    {
                        "ScalableTargetARN": f"arn:aws:application-autoscaling:{REGION}:"
                        f"{ACCOUNT}:scalable-target/056e1b6c2f1e4d8a9b3c7d2e5f4a6b8d"
                    },
                ),
                ok("PutScalingPolicy", {"PolicyARN": "arn:aws:autoscaling:policy", "Alarms": []}),
                describe("InService", name=bounded),
            ],
        ),
        lambda: provider.deploy(DeploymentSpec(provider="sagemaker", name=bounded, **bounded_spec)),
        recorder,
    )
    teardown_bounded = _placeholder(bounded)
    run(
        Scenario(
            "teardown_autoscaled",
            """teardown of an autoscaled endpoint: DeregisterScalableTarget (it deletes the
scaling policy too), DeleteEndpoint, DeleteEndpointConfig, DeleteModel.""",
            [
                ok("DeregisterScalableTarget", {}),
                ok("DeleteEndpoint"),
                ok("DeleteEndpointConfig"),
                ok("DeleteModel"),
            ],
        ),
        lambda: provider.teardown(teardown_bounded),
        recorder,
    )
    capacity = f"{NAME}-capacity"
    reason = (
        "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity"
        " error. Please retry using a different ML instance type or after some time."
    )
    run(
        Scenario(
            "deploy_capacity",
            """a deploy on ml.p5.48xlarge when AWS has none free: the endpoint goes Failed with
InsufficientInstanceCapacity; CapacityFailure (a DeploymentFailed and a CapacityUnavailable)
and everything created is deleted.""",
            [
                not_found("DescribeEndpoint", "endpoint", capacity),
                *creates(capacity),
                describe("Creating", name=capacity, current=None),
                describe("Failed", name=capacity, current=None, failure=reason),
                *deletes(capacity),
            ],
        ),
        lambda: provider.deploy(
            DeploymentSpec(
                provider="sagemaker", name=capacity, model=MODEL, instance="ml.p5.48xlarge"
            )
        ),
        recorder,
    )
    quota = f"{NAME}-quota"
    limit = (
        "The account-level service limit 'ml.p4d.24xlarge for endpoint usage' is 0 Instances,"
        " with current utilization of 0 Instances and a request delta of 1 Instances. Please use"
        " AWS Service Quotas to request an increase for this quota. If AWS Service Quotas is not"
        " available, contact AWS support to request an increase for this quota."
    )
    run(
        Scenario(
            "deploy_quota",
            """a deploy over the account's quota: CreateEndpoint answers ResourceLimitExceeded
for 'ml.p4d.24xlarge for endpoint usage'; QuotaExceeded, and the model and endpoint config
it created are deleted (the endpoint never existed).""",
            [
                not_found("DescribeEndpoint", "endpoint", quota),
                ok("CreateModel", {"ModelArn": _arn("model", quota)}),
                ok("CreateEndpointConfig", {"EndpointConfigArn": _arn("endpoint-config", quota)}),
                fail("CreateEndpoint", 400, "ResourceLimitExceeded", limit),
                *deletes(quota, endpoint_gone=True),
            ],
        ),
        lambda: provider.deploy(
            DeploymentSpec(
                provider="sagemaker", name=quota, model=MODEL, instance="ml.p4d.24xlarge"
            )
        ),
        recorder,
    )
    slow = f"{NAME}-timeout"
    run(
        Scenario(
            "deploy_timeout",
            """a deploy that does not become ready in time (timeout=1): one DescribeEndpoint
still Creating, then hostkit gives up, deletes what it created and raises DeploymentFailed.""",
            [
                not_found("DescribeEndpoint", "endpoint", slow),
                *creates(slow),
                describe("Creating", name=slow, current=None),
                *deletes(slow),
            ],
        ),
        lambda: provider.deploy(DeploymentSpec(provider="sagemaker", name=slow, **SPEC), timeout=1),
        recorder,
    )
    denied = f"{NAME}-denied"
    run(
        Scenario(
            "deploy_access_denied",
            """a caller without iam:PassRole on the execution role: CreateModel answers
AccessDeniedException naming the permission; AuthenticationError, and the clean-up finds
nothing to delete.""",
            [
                not_found("DescribeEndpoint", "endpoint", denied),
                fail(
                    "CreateModel",
                    400,
                    "AccessDeniedException",
                    f"User: arn:aws:iam::{ACCOUNT}:user/ci-deployer is not authorized to perform:"
                    f" iam:PassRole on resource: {ROLE} because no identity-based policy allows"
                    " the iam:PassRole action",
                ),
                no_scaling_target(denied),
                not_found("DeleteEndpoint", "endpoint", denied),
                not_found("DeleteEndpointConfig", "endpoint configuration", denied),
                not_found("DeleteModel", "model", denied),
            ],
        ),
        lambda: provider.deploy(DeploymentSpec(provider="sagemaker", name=denied, **SPEC)),
        recorder,
    )
    leftover = f"{NAME}-leftover"
    run(
        Scenario(
            "deploy_leftover",
            """a deploy after a crashed one left its model behind: CreateModel says it exists,
DescribeModel + ListTags show hostkit made it for this deployment, so it is deleted and
created again; the deploy then goes on as usual.""",
            [
                not_found("DescribeEndpoint", "endpoint", leftover),
                fail(
                    "CreateModel",
                    400,
                    "ValidationException",
                    f'Cannot create already existing model "{_arn("model", leftover)}".',
                ),
                ok(
                    "DescribeModel",
                    {
                        "ModelName": leftover,
                        "PrimaryContainer": {"Image": IMAGE},
                        "ExecutionRoleArn": ROLE,
                        "CreationTime": T0 - 86400.0,
                        "ModelArn": _arn("model", leftover),
                    },
                ),
                tags(leftover),
                ok("DeleteModel"),
                *creates(leftover),
                describe("InService", name=leftover),
            ],
        ),
        lambda: provider.deploy(DeploymentSpec(provider="sagemaker", name=leftover, **SPEC)),
        recorder,
    )
    run(
        Scenario(
            "scale_capacity",
            """scale(dep, 2) when AWS has no second ml.g5.2xlarge: the update runs, then the
endpoint is back InService with 1 instance and a FailureReason of InsufficientInstanceCapacity;
CapacityUnavailable naming the instance type and region.""",
            [
                no_scaling_target(),
                ok("UpdateEndpointWeightsAndCapacities", {"EndpointArn": _arn("endpoint", NAME)}),
                describe("Updating", current=1, desired=2),
                describe(
                    "InService",
                    current=1,
                    desired=1,
                    failure="Unable to provision requested ML compute capacity due to"
                    " InsufficientInstanceCapacity error. Please retry using a different ML"
                    " instance type or after some time.",
                ),
            ],
        ),
        lambda: provider.scale(deployed, 2),
        recorder,
    )
    again = f"{NAME}-again"
    run(
        Scenario(
            "deploy_while_deleting",
            """a deploy right after a teardown of the same name: DescribeEndpoint shows the old
endpoint still Deleting, so hostkit waits for it to go (DescribeEndpoint until "Could not
find") before creating the new one.""",
            [
                describe("Deleting", name=again, current=None),
                describe("Deleting", name=again, current=None),
                not_found("DescribeEndpoint", "endpoint", again),
                *creates(again),
                describe("InService", name=again),
            ],
        ),
        lambda: provider.deploy(DeploymentSpec(provider="sagemaker", name=again, **SPEC)),
        recorder,
    )
    partial = f"{NAME}-partial"
    run(
        Scenario(
            "teardown_partial",
            """a teardown by a caller who may not delete endpoints: DeleteEndpoint answers
AccessDeniedException, the endpoint config and the model are still deleted, then the
AuthenticationError is raised (naming sagemaker:DeleteEndpoint).""",
            [
                no_scaling_target(partial),
                fail(
                    "DeleteEndpoint",
                    400,
                    "AccessDeniedException",
                    f"User: arn:aws:iam::{ACCOUNT}:user/ci-deployer is not authorized to perform:"
                    f" sagemaker:DeleteEndpoint on resource: {_arn('endpoint', partial)} because"
                    " no identity-based policy allows the sagemaker:DeleteEndpoint action",
                ),
                ok("DeleteEndpointConfig"),
                ok("DeleteModel"),
            ],
        ),
        lambda: provider.teardown(_placeholder(partial)),
        recorder,
    )
    foreign = f"{NAME}-taken"
    run(
        Scenario(
            "deploy_foreign",
            """a deploy whose model name is taken by a model hostkit did not create (no hostkit
tags): ConfigError naming it, and the clean-up deletes only what could be hostkit's (the
model is left alone: no DeleteModel).""",
            [
                not_found("DescribeEndpoint", "endpoint", foreign),
                fail(
                    "CreateModel",
                    400,
                    "ValidationException",
                    f'Cannot create already existing model "{_arn("model", foreign)}".',
                ),
                ok(
                    "DescribeModel",
                    {
                        "ModelName": foreign,
                        "PrimaryContainer": {"Image": IMAGE},
                        "ExecutionRoleArn": ROLE,
                        "CreationTime": T0 - 7 * 86400.0,
                        "ModelArn": _arn("model", foreign),
                    },
                ),
                ok("ListTags", {"Tags": [{"Key": "team", "Value": "search"}]}),
                no_scaling_target(foreign),
                not_found("DeleteEndpoint", "endpoint", foreign),
                not_found("DeleteEndpointConfig", "endpoint configuration", foreign),
            ],
        ),
        lambda: provider.deploy(DeploymentSpec(provider="sagemaker", name=foreign, **SPEC)),
        recorder,
    )
    run(
        Scenario(
            "status_throttled",
            """status while the control plane throttles: DescribeEndpoint answers
ThrottlingException (HTTP 400), hostkit waits and asks again.""",
            [
                fail("DescribeEndpoint", 400, "ThrottlingException", "Rate exceeded"),
                describe("InService"),
            ],
        ),
        lambda: provider.status(deployed),
        recorder,
    )
    model_error = runtime_fail(
        424,
        "ModelError",
        {
            "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
            "LogStreamArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
            f"/aws/sagemaker/Endpoints/{NAME}",
            "Message": 'Received client error (422) from primary with message "{"error":"Input'
            " validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000"
            ' `inputs` tokens and 512 `max_new_tokens`","error_type":"validation"}". See'
            f" https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logEventViewer:"
            f"group=/aws/sagemaker/Endpoints/{NAME} in account {ACCOUNT} for more information.",
            "OriginalMessage": '{"error":"Input validation error: `inputs` tokens +'
            " `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 512"
            ' `max_new_tokens`","error_type":"validation"}',
            "OriginalStatusCode": 422,
        },
        "com.amazon.sagemaker",
    )
    run(
        Scenario(
            "invoke_model_error",
            """invoke whose input the container rejects: TGI answers 422 and the runtime wraps it
in ModelError (HTTP 424) with the container's message and its CloudWatch log stream.""",
            [model_error],
        ),
        lambda: provider.invoke(deployed, PROMPT, max_tokens=512),
        recorder,
    )
    broken = [payload_part(p) for p in sse_chunks(["Hello", " there"], usage=False)[:2]]
    broken.append(
        stream_error("ModelStreamError", "Model stream terminated unexpectedly.", "StreamBroken")
    )
    run(
        Scenario(
            "stream_error",
            """a stream the container breaks off: two PayloadParts, then a ModelStreamError
exception event inside the event stream.""",
            [stream_body(broken)],
        ),
        lambda: list(provider.stream(deployed, PROMPT)),
        recorder,
    )
    raw_name = f"{NAME}-sklearn"
    raw_spec = {
        "model": "s3://hostkit-models-111122223333/iris/model.tar.gz",
        "image": SKLEARN_IMAGE,
        "instance": "ml.m5.xlarge",
    }
    raw_dep = run(
        Scenario(
            "deploy_raw",
            """deploy a platform-native artifact: an s3:// model.tar.gz served by the
scikit-learn container named in image (ModelDataUrl + Image, no LLM environment).""",
            [
                not_found("DescribeEndpoint", "endpoint", raw_name),
                *creates(raw_name),
                describe("InService", name=raw_name, image=raw_spec["image"]),
            ],
        ),
        lambda: provider.deploy(DeploymentSpec(provider="sagemaker", name=raw_name, **raw_spec)),
        recorder,
    )
    run(
        Scenario(
            "invoke_raw",
            """invoke the scikit-learn endpoint with a JSON payload, sent as it is; the
container answers JSON.""",
            [runtime_ok("InvokeEndpoint", b'{"predictions": [0, 2]}')],
        ),
        lambda: provider.invoke(raw_dep, IRIS),
        recorder,
    )


def _placeholder(name: str) -> Any:
    """What a deploy's rollback hands to teardown: a name and a model, nothing else."""
    from hostkit import Deployment

    return Deployment(name=name, provider="sagemaker", model=MODEL, status="ready")


def _swallow(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as error:
        return error


def main() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIAFAKEHOSTKIT01",
        AWS_SECRET_ACCESS_KEY="hostkit-fake-secret-access-key-0000000000",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        HOSTKIT_STATE_DIR=str(Path(os.environ.get("TMPDIR", "/tmp")) / "hostkit-sagemaker-build"),
    )
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(variable, None)
    build()


if __name__ == "__main__":
    sys.exit(main())
