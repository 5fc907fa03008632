"""Writes the vertex cassettes (``python providers/vertex/tests/make_cassettes.py``).

The exchanges are spelled out here by hand, one function per scenario, in Vertex AI's REST
wire format as ``google-cloud-aiplatform`` 2.7.0's ``aiplatform_v1`` REST transport sends
and parses it (``services/*/transports/rest_base.py``: paths, ``$alt=json;enum-encoding=int``
on every call but operation polls, which go to ``GET /ui/{operation}``; request bodies are
``json_format.MessageToJson`` of the request proto, enums as numbers), Google's JSON error
envelope (``{"error": {"code", "message", "status", "details"}}``, google.rpc
error_details for ``details``), and, for predictions, the OpenAI chat-completions format
the Model Garden vLLM container answers. Replaying them strictly proves that hostkit sends
exactly these requests; ``test_vertex.py`` proves that the SDK's own types parse every
response body (unknown fields rejected). Re-run this script after editing a scenario; do
not edit the YAML by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from hostkit import DeploymentSpec

HERE = Path(__file__).parent / "cassettes"
PROJECT = "hostkit-demo"
NUMBER = "123456789012"
LOCATION = "us-central1"
API = f"https://{LOCATION}-aiplatform.googleapis.com"
ALT = "%24alt=json%3Benum-encoding%3Dint"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
NPARENT = f"projects/{NUMBER}/locations/{LOCATION}"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
HF_TOKEN = "hf_REDACTED"
NAME = "hostkit-compliance"
ENDPOINT_ID = "4510327159063953408"
MODEL_ID = "7263418098155454464"
DEPLOYED_ID = "2187446510933131264"
ENDPOINT = f"{NPARENT}/endpoints/{ENDPOINT_ID}"
MODEL_RES = f"{NPARENT}/models/{MODEL_ID}"
DNS = f"{ENDPOINT_ID}.{LOCATION}-{NUMBER}.prediction.vertexai.goog"
IMAGE = (
    "us-docker.pkg.dev/vertex-ai/vertex-vision-model-garden-dockers/"
    "pytorch-vllm-serve:20250312_0916_RC01"
)
PROMPT = "Say hello in five words."
ANSWER = "Hello there, lovely to meet!"
H100 = 13  # AcceleratorType.NVIDIA_H100_80GB
L4 = 11  # AcceleratorType.NVIDIA_L4

SOURCE = """\
# Wire format: google-cloud-aiplatform 2.7.0, aiplatform_v1 with transport="rest"
# (services/endpoint_service and model_service transports/rest_base.py for paths and the
# $alt=json;enum-encoding=int query, operation polls at GET /ui/{name}; request bodies are
# json_format.MessageToJson of the request, enums as numbers; types/endpoint.py, model.py,
# endpoint_service.py, model_service.py and operation.py for the response fields), Google's
# JSON error envelope with google.rpc error details (ErrorInfo, QuotaFailure, Help), and the
# Vertex AI REST reference (projects.locations.endpoints / models / operations). Prediction
# responses: the OpenAI chat-completions format of the Model Garden vLLM container, passed
# through by :rawPredict / :streamRawPredict on the endpoint's dedicated DNS name. Written by
# hand in the format vcrpy records (providers/vertex/tests/make_cassettes.py); test_vertex.py
# lets the SDK's own types parse every body. Google sends no request-id header on these
# responses. Credentials appear only as REDACTED.
"""

# -- headers --------------------------------------------------------------------------------
_clock = [0]


def date() -> str:
    _clock[0] += 1
    seconds = _clock[0] % 60
    minutes = 10 + _clock[0] // 60
    return f"Sat, 21 Nov 2026 10:{minutes:02d}:{seconds:02d} GMT"


def google_headers() -> dict[str, list[str]]:
    return {
        "Content-Type": ["application/json; charset=UTF-8"],
        "Vary": ["Origin", "X-Origin", "Referer"],
        "Date": [date()],
        "Server": ["ESF"],
        "Cache-Control": ["private"],
        "X-XSS-Protection": ["0"],
        "X-Frame-Options": ["SAMEORIGIN"],
        "X-Content-Type-Options": ["nosniff"],
        "Alt-Svc": ['h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'],
    }


def sdk_headers(params: str, *, body: bool = False) -> dict[str, list[str]]:
    headers = {
        "Accept": ["*/*"],
        "Accept-Encoding": ["gzip, deflate"],
        "Connection": ["keep-alive"],
        "authorization": ["REDACTED"],
        "x-goog-api-client": ["gl-python/3.11.7 grpc/1.85.1 gax/2.44.0 gapic/2.7.0 pb/7.36.2"],
        "x-goog-request-params": [params],
        "Content-Type": ["application/json"],
    }
    if not body:
        headers.pop("Content-Type")
        headers["Content-Type"] = ["application/json"]
    return headers


def predict_headers() -> dict[str, list[str]]:
    return {
        "Accept": ["*/*"],
        "Accept-Encoding": ["gzip, deflate"],
        "Connection": ["keep-alive"],
        "authorization": ["REDACTED"],
        "Content-Type": ["application/json"],
    }


# -- interactions ---------------------------------------------------------------------------
Interaction = dict[str, Any]


def exchange(
    method: str,
    uri: str,
    *,
    body: Any = None,
    status: int = 200,
    reply: Any = None,
    request_headers: dict[str, list[str]] | None = None,
    response_headers: dict[str, list[str]] | None = None,
    raw_reply: str | None = None,
) -> Interaction:
    messages = {
        200: "OK",
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        429: "Too Many Requests",
        503: "Service Unavailable",
    }
    if raw_reply is not None:
        text = raw_reply
    else:
        text = json.dumps(reply if reply is not None else {}, indent=2) + "\n"
    return {
        "request": {
            "body": json.dumps(body, indent=2) if body is not None else None,
            "headers": request_headers or {},
            "method": method,
            "uri": uri,
        },
        "response": {
            "body": {"string": text},
            "headers": response_headers or google_headers(),
            "status": {"code": status, "message": messages[status]},
        },
    }


def error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = list(details)
    return {"error": body}


def ts(n: int) -> str:
    return f"2026-11-21T10:{n // 60:02d}:{n % 60:02d}.{(n * 7919) % 1000000:06d}Z"


# -- resources -----------------------------------------------------------------------------
def spec_of(name: str, **fields: Any) -> DeploymentSpec:
    return DeploymentSpec.from_dict({"provider": "vertex", "name": name, **fields})


def labels(spec: DeploymentSpec, serving: str = "vllm") -> dict[str, str]:
    return {
        "managed_by": "hostkit",
        "hostkit_name": spec.name.lower(),
        "hostkit_fingerprint": spec.fingerprint(),
        "hostkit_serving": serving,
        "hostkit_instance": str(spec.instance),
    }


def vllm_args(model: str, gpus: int, extra: Iterable[str] = ()) -> list[str]:
    return [
        "python",
        "-m",
        "vllm.entrypoints.api_server",
        "--host=0.0.0.0",
        "--port=8080",
        f"--model={model}",
        f"--tensor-parallel-size={gpus}",
        "--swap-space=16",
        "--gpu-memory-utilization=0.95",
        "--disable-log-stats",
        *extra,
    ]


class Ids:
    """Resource ids of one scenario's deployment (Vertex chooses them: numbers)."""

    def __init__(self, endpoint: str, model: str, deployed: str) -> None:
        self.endpoint_id = endpoint
        self.model_id = model
        self.deployed_id = deployed
        self.endpoint = f"{NPARENT}/endpoints/{endpoint}"
        self.model = f"{NPARENT}/models/{model}"
        self.dns = f"{endpoint}.{LOCATION}-{NUMBER}.prediction.vertexai.goog"
        self.counter = int(endpoint[-6:])

    def op(self, kind: str) -> str:
        self.counter += 1
        base = {"endpoint": self.endpoint, "model": self.model, "location": NPARENT}[kind]
        return f"{base}/operations/{8000000000000000000 + self.counter * 7919}"


MAIN = Ids(ENDPOINT_ID, MODEL_ID, DEPLOYED_ID)


def endpoint_json(
    spec: DeploymentSpec,
    ids: Ids,
    *,
    deployed: bool = True,
    low: int = 1,
    high: int = 1,
    available: int | None = 1,
    accelerator: int = H100,
    gpus: int = 1,
    dedicated: bool = True,
    serving: str = "vllm",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": ids.endpoint,
        "displayName": spec.name,
        "description": spec.model,
        "etag": "AMEw9yPzXb1vVnJ3kQ2hZx0r5cT8uW4aLm6nOe7fGs9dHi1jKq3=",
        "labels": labels(spec, serving),
        "createTime": ts(1),
        "updateTime": ts(300 if deployed else 2),
    }
    if deployed:
        machine: dict[str, Any] = {"machineType": spec.instance}
        if accelerator:
            machine.update(acceleratorType=accelerator, acceleratorCount=gpus)
        model: dict[str, Any] = {
            "id": ids.deployed_id,
            "model": ids.model,
            "displayName": spec.name,
            "createTime": ts(4),
            "dedicatedResources": {
                "machineSpec": machine,
                "minReplicaCount": low,
                "maxReplicaCount": high,
            },
            "modelVersionId": "1",
        }
        if available is not None:
            model["status"] = {"lastUpdateTime": ts(300), "availableReplicaCount": available}
        body["deployedModels"] = [model]
        body["trafficSplit"] = {ids.deployed_id: 100}
    if dedicated:
        body["dedicatedEndpointEnabled"] = True
        body["dedicatedEndpointDns"] = ids.dns
    return body


def model_json(spec: DeploymentSpec, ids: Ids, serving: str = "vllm") -> dict[str, Any]:
    return {
        "name": ids.model,
        "displayName": spec.name,
        "description": spec.model,
        "versionId": "1",
        "versionAliases": ["default"],
        "versionCreateTime": ts(2),
        "versionUpdateTime": ts(3),
        "containerSpec": {"imageUri": IMAGE},
        "supportedDeploymentResourcesTypes": [1],
        "createTime": ts(2),
        "updateTime": ts(3),
        "etag": "AMEw9yNq0rT3vYx7Zc5bHf2jLk8mPd4sUe6wGi1aQo9n=",
        "labels": labels(spec, serving),
    }


def metadata(kind: str, started: int, done: bool = False) -> dict[str, Any]:
    return {
        "@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{kind}",
        "genericMetadata": {
            "createTime": ts(started),
            "updateTime": ts(started + (30 if done else 0)),
        },
    }


def operation(name: str, kind: str, started: int, **result: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "metadata": metadata(kind, started, bool(result))}
    if result:
        body["done"] = True
        body.update(result)
    return body


def poll(name: str, kind: str, started: int, **result: Any) -> Interaction:
    return exchange(
        "GET",
        f"{API}/ui/{name}",
        reply=operation(name, kind, started, **result),
        request_headers=sdk_headers(f"name={name}"),
    )


def response(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "response": {"@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{kind}", **fields}
    }


EMPTY = {"response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}


# -- control-plane steps -------------------------------------------------------------------
def list_endpoints(name: str, *endpoints: dict[str, Any]) -> Interaction:
    query = f"filter=labels.hostkit_name%3D%22{name.lower()}%22&{ALT}"
    return exchange(
        "GET",
        f"{API}/v1/{PARENT}/endpoints?{query}",
        reply={"endpoints": list(endpoints)} if endpoints else {},
        request_headers=sdk_headers(f"parent={PARENT}"),
    )


def list_models(name: str, *models: dict[str, Any]) -> Interaction:
    query = f"filter=labels.hostkit_name%3D%22{name.lower()}%22&{ALT}"
    return exchange(
        "GET",
        f"{API}/v1/{PARENT}/models?{query}",
        reply={"models": list(models)} if models else {},
        request_headers=sdk_headers(f"parent={PARENT}"),
    )


def list_operations(ids: Ids, *operations: dict[str, Any]) -> Interaction:
    return exchange(
        "GET",
        f"{API}/ui/{ids.endpoint}/operations",
        reply={"operations": list(operations)} if operations else {},
        request_headers=sdk_headers(f"name={ids.endpoint}"),
    )


def find_nothing(name: str) -> list[Interaction]:
    return [list_endpoints(name), list_models(name)]


def upload_body(
    spec: DeploymentSpec, container: dict[str, Any], serving: str = "vllm", artifact: str = ""
) -> dict[str, Any]:
    model: dict[str, Any] = {"displayName": spec.name, "description": spec.model}
    if artifact:
        model["artifactUri"] = artifact
    model["containerSpec"] = container
    model["labels"] = labels(spec, serving)
    return {"parent": PARENT, "model": model}


def vllm_container(spec: DeploymentSpec, gpus: int) -> dict[str, Any]:
    return {
        "imageUri": IMAGE,
        "args": vllm_args(spec.model, gpus),
        "env": [
            {"name": "MODEL_ID", "value": spec.model},
            {"name": "HF_TOKEN", "value": HF_TOKEN},
        ],
        "ports": [{"containerPort": 8080}],
        "predictRoute": "/generate",
        "healthRoute": "/ping",
        "deploymentTimeout": "7200s",
        "sharedMemorySizeMb": "16384",
    }


def create(
    spec: DeploymentSpec,
    ids: Ids,
    *,
    container: dict[str, Any] | None = None,
    serving: str = "vllm",
    dedicated: bool = True,
    artifact: str = "",
    accelerator: int = H100,
    gpus: int = 1,
    low: int = 1,
    high: int = 1,
    deploy_reply: tuple[int, dict[str, Any]] | None = None,
) -> tuple[list[Interaction], str]:
    """Upload model + create endpoint (polled to done) + deployModel; and the deploy op."""
    upload_op, endpoint_op, deploy_op = ids.op("model"), ids.op("endpoint"), ids.op("endpoint")
    body = upload_body(spec, container or vllm_container(spec, gpus), serving, artifact)
    body.pop("parent")
    endpoint: dict[str, Any] = {
        "displayName": spec.name,
        "description": spec.model,
        "labels": labels(spec, serving),
    }
    if dedicated:
        endpoint["dedicatedEndpointEnabled"] = True
    created = endpoint_json(spec, ids, deployed=False, dedicated=dedicated, serving=serving)
    machine: dict[str, Any] = {"machineType": spec.instance}
    if accelerator:
        machine.update(acceleratorType=accelerator, acceleratorCount=gpus)
    deployed = {
        "model": ids.model,
        "displayName": spec.name,
        "dedicatedResources": {
            "machineSpec": machine,
            "minReplicaCount": low,
            "maxReplicaCount": high,
        },
    }
    status, reply = deploy_reply or (
        200,
        operation(deploy_op, "DeployModelOperationMetadata", 5),
    )
    steps = [
        exchange(
            "POST",
            f"{API}/v1/{PARENT}/models:upload?{ALT}",
            body=body,
            reply=operation(upload_op, "UploadModelOperationMetadata", 1),
            request_headers=sdk_headers(f"parent={PARENT}", body=True),
        ),
        exchange(
            "POST",
            f"{API}/v1/{PARENT}/endpoints?{ALT}",
            body=endpoint,
            reply=operation(endpoint_op, "CreateEndpointOperationMetadata", 1),
            request_headers=sdk_headers(f"parent={PARENT}", body=True),
        ),
        poll(
            upload_op,
            "UploadModelOperationMetadata",
            1,
            **response("UploadModelResponse", model=ids.model, modelVersionId="1"),
        ),
        poll(
            endpoint_op,
            "CreateEndpointOperationMetadata",
            1,
            **response("Endpoint", **created),
        ),
        exchange(
            "POST",
            f"{API}/v1/{ids.endpoint}:deployModel?{ALT}",
            body={"deployedModel": deployed, "trafficSplit": {"0": 100}},
            status=status,
            reply=reply,
            request_headers=sdk_headers(f"endpoint={ids.endpoint}", body=True),
        ),
    ]
    return steps, deploy_op


def teardown_steps(
    spec: DeploymentSpec,
    ids: Ids,
    *,
    deployed: bool = True,
    history: Iterable[dict[str, Any]] = (),
    serving: str = "vllm",
    dedicated: bool = True,
    accelerator: int = H100,
) -> list[Interaction]:
    """What _teardown sends for an endpoint (with or without a deployed model) and a model."""
    endpoint = endpoint_json(
        spec, ids, deployed=deployed, serving=serving, dedicated=dedicated, accelerator=accelerator
    )
    steps = [list_endpoints(spec.name, endpoint), list_operations(ids, *history)]
    if deployed:
        undeploy_op = ids.op("endpoint")
        steps += [
            exchange(
                "POST",
                f"{API}/v1/{ids.endpoint}:undeployModel?{ALT}",
                body={"deployedModelId": ids.deployed_id},
                reply=operation(undeploy_op, "UndeployModelOperationMetadata", 400),
                request_headers=sdk_headers(f"endpoint={ids.endpoint}", body=True),
            ),
            poll(
                undeploy_op,
                "UndeployModelOperationMetadata",
                400,
                **response("UndeployModelResponse"),
            ),
        ]
    delete_endpoint_op, delete_model_op = ids.op("location"), ids.op("location")
    steps += [
        exchange(
            "DELETE",
            f"{API}/v1/{ids.endpoint}?{ALT}",
            reply=operation(delete_endpoint_op, "DeleteOperationMetadata", 460),
            request_headers=sdk_headers(f"name={ids.endpoint}"),
        ),
        poll(delete_endpoint_op, "DeleteOperationMetadata", 460, **EMPTY),
        list_models(spec.name, model_json(spec, ids, serving)),
        exchange(
            "DELETE",
            f"{API}/v1/{ids.model}?{ALT}",
            reply=operation(delete_model_op, "DeleteOperationMetadata", 500),
            request_headers=sdk_headers(f"name={ids.model}"),
        ),
        poll(delete_model_op, "DeleteOperationMetadata", 500, **EMPTY),
    ]
    return steps


def finished_ops(ids: Ids, deploy_error: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The endpoint's operation history as ListOperations returns it (all done)."""
    create_op = f"{ids.endpoint}/operations/{7000000000000000000 + int(ids.endpoint_id[-6:])}"
    history = [operation(create_op, "CreateEndpointOperationMetadata", 1, **response("Endpoint"))]
    if deploy_error is not None:
        deploy_op = f"{ids.endpoint}/operations/{7100000000000000000 + int(ids.endpoint_id[-6:])}"
        history.append(operation(deploy_op, "DeployModelOperationMetadata", 5, error=deploy_error))
    return history


# -- predictions ---------------------------------------------------------------------------
def completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-b3f2c7d4e5a64c1f9d8e7a6b5c4d3e2f",
        "object": "chat.completion",
        "created": 1795255203,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER, "tool_calls": []},
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": 42,
            "total_tokens": 50,
            "completion_tokens": 8,
            "prompt_tokens_details": None,
        },
        "prompt_logprobs": None,
    }


def chat_body(stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 32,
    }
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def prediction_headers(content_type: str = "application/json") -> dict[str, list[str]]:
    return {
        "Content-Type": [content_type],
        "Date": [date()],
        "X-Vertex-AI-Endpoint-Id": [ENDPOINT_ID],
        "X-Vertex-AI-Deployed-Model-Id": [DEPLOYED_ID],
        "Server": ["Google Frontend"],
        "Via": ["1.1 google"],
        "Alt-Svc": ['h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'],
    }


def raw_predict(status: int = 200, reply: Any = None, verb: str = "rawPredict") -> Interaction:
    headers = prediction_headers()
    if status != 200:
        headers = google_headers()
    return exchange(
        "POST",
        f"https://{DNS}/v1/{ENDPOINT}:{verb}",
        body=chat_body(),
        status=status,
        reply=reply if reply is not None else completion(),
        request_headers=predict_headers(),
        response_headers=headers,
    )


def sse() -> str:
    base = {
        "id": "chatcmpl-9a8b7c6d5e4f4a3b8c2d1e0f9a8b7c6d",
        "object": "chat.completion.chunk",
        "created": 1795255210,
        "model": MODEL,
    }
    events = []

    def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
        choice: dict[str, Any] = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": finish,
        }
        if finish:
            choice["stop_reason"] = None
        events.append({**base, "choices": [choice]})

    chunk({"role": "assistant", "content": ""})
    for piece in ("Hello", " there", ",", " lovely", " to", " meet", "!"):
        chunk({"content": piece})
    chunk({"content": ""}, "stop")
    events.append(
        {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 42, "total_tokens": 50, "completion_tokens": 8},
        }
    )
    lines = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events]
    return "".join(lines) + "data: [DONE]\n\n"


# -- scenarios -----------------------------------------------------------------------------
MAIN_SPEC = spec_of(
    NAME,
    model=MODEL,
    instance="a3-highgpu-1g",
    env={"HF_TOKEN": "hf_hostkitComplianceFake00"},
)
FAILED_SPEC = spec_of(
    f"{NAME}-failed",
    model="meta-llama/Llama-3.3-70B-Instruct",
    instance="g2-standard-12",
    env={"HF_TOKEN": "hf_hostkitComplianceFake00"},
)
FAILED_IDS = Ids("5094917617131372544", "3861254979001040896", "0")

MODEL_SERVER_FAILED = {
    "code": 9,
    "message": "Model server never became ready. Please validate that your model file or"
    " container configuration are valid. Model server logs can be found at"
    f" https://console.cloud.google.com/logs/viewer?project={NUMBER}&resource=aiplatform.googleapis.com%2FEndpoint&advancedFilter=resource.type%3D%22aiplatform.googleapis.com%2FEndpoint%22%0Aresource.labels.endpoint_id%3D%22{FAILED_IDS.endpoint_id}%22%0Aresource.labels.location%3D%22{LOCATION}%22",
}


def deployed_endpoint(**kwargs: Any) -> dict[str, Any]:
    return endpoint_json(MAIN_SPEC, MAIN, **kwargs)


def scenario_deploy() -> list[Interaction]:
    MAIN.counter = int(ENDPOINT_ID[-6:])
    steps, deploy_op = create(MAIN_SPEC, MAIN)
    return [
        *find_nothing(NAME),
        *steps,
        poll(deploy_op, "DeployModelOperationMetadata", 5),
        poll(
            deploy_op,
            "DeployModelOperationMetadata",
            5,
            **response("DeployModelResponse", deployedModel={"id": DEPLOYED_ID}),
        ),
        list_endpoints(NAME, deployed_endpoint()),
    ]


def scenario_found() -> list[Interaction]:
    return [list_endpoints(NAME, deployed_endpoint())]


def scenario_invoke() -> list[Interaction]:
    return [raw_predict()]


def scenario_stream() -> list[Interaction]:
    body = chat_body(stream=True)
    return [
        exchange(
            "POST",
            f"https://{DNS}/v1/{ENDPOINT}:streamRawPredict",
            body=body,
            raw_reply=sse(),
            request_headers=predict_headers(),
            response_headers=prediction_headers("text/event-stream; charset=utf-8"),
        )
    ]


def mutate(low: int, high: int, available: int) -> list[Interaction]:
    op = f"{ENDPOINT}/operations/8200000000000000{low}{high}0"
    body = {
        "deployedModel": {
            "id": DEPLOYED_ID,
            "dedicatedResources": {"minReplicaCount": low, "maxReplicaCount": high},
        },
        "updateMask": "dedicatedResources.minReplicaCount,dedicatedResources.maxReplicaCount",
    }
    deployed = {
        "id": DEPLOYED_ID,
        "dedicatedResources": {
            "machineSpec": {
                "machineType": "a3-highgpu-1g",
                "acceleratorType": "NVIDIA_H100_80GB",
                "acceleratorCount": 1,
            },
            "minReplicaCount": low,
            "maxReplicaCount": high,
        },
    }
    return [
        exchange(
            "POST",
            f"{API}/v1/{ENDPOINT}:mutateDeployedModel?{ALT}",
            body=body,
            reply=operation(op, "MutateDeployedModelOperationMetadata", 350),
            request_headers=sdk_headers(f"endpoint={ENDPOINT}", body=True),
        ),
        poll(op, "MutateDeployedModelOperationMetadata", 350),
        poll(
            op,
            "MutateDeployedModelOperationMetadata",
            350,
            **response("MutateDeployedModelResponse", deployedModel=deployed),
        ),
        list_endpoints(NAME, deployed_endpoint(low=low, high=high, available=available)),
    ]


def scenario_teardown() -> list[Interaction]:
    MAIN.counter = int(ENDPOINT_ID[-6:]) + 100
    return [
        *teardown_steps(MAIN_SPEC, MAIN, history=finished_ops(MAIN)),
        *find_nothing(NAME),  # find() after teardown
        *find_nothing(NAME),  # the second teardown finds nothing to delete
    ]


def scenario_teardown_missing() -> list[Interaction]:
    return find_nothing("hostkit-compliance-missing")


def scenario_deploy_failed() -> list[Interaction]:
    spec, ids = FAILED_SPEC, FAILED_IDS
    ids.counter = int(ids.endpoint_id[-6:])
    steps, deploy_op = create(spec, ids, accelerator=L4, gpus=1)
    return [
        *find_nothing(spec.name),
        *steps,
        poll(deploy_op, "DeployModelOperationMetadata", 5),
        poll(deploy_op, "DeployModelOperationMetadata", 5, error=MODEL_SERVER_FAILED),
        *teardown_steps(
            spec,
            ids,
            deployed=False,
            history=finished_ops(ids, deploy_error=MODEL_SERVER_FAILED),
            accelerator=L4,
        ),
        *find_nothing(spec.name),
    ]


UNAUTHENTICATED = error(
    401,
    "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login"
    " cookie or other valid authentication credential. See"
    " https://developers.google.com/identity/sign-in/web/devconsole-project.",
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "ACCESS_TOKEN_EXPIRED",
        "domain": "googleapis.com",
        "metadata": {
            "service": "aiplatform.googleapis.com",
            "method": "google.cloud.aiplatform.v1.PredictionService.RawPredict",
        },
    },
)
NOT_FOUND = error(404, "NOT_FOUND", f"Endpoint `{ENDPOINT}` not found.")
RATE_LIMITED = error(
    429,
    "RESOURCE_EXHAUSTED",
    "Quota exceeded for quota metric 'Online prediction requests' and limit 'Online prediction"
    f" requests per minute per region' of service 'aiplatform.googleapis.com' for consumer"
    f" 'project_number:{NUMBER}'.",
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {
            "quota_location": LOCATION,
            "quota_limit": "OnlinePredictionRequestsPerMinutePerProjectPerRegion",
            "quota_metric": "aiplatform.googleapis.com/online_prediction_requests",
            "quota_limit_value": "30000",
            "consumer": f"projects/{NUMBER}",
            "service": "aiplatform.googleapis.com",
        },
    },
    {
        "@type": "type.googleapis.com/google.rpc.Help",
        "links": [
            {
                "description": "Request a higher quota limit.",
                "url": "https://cloud.google.com/docs/quotas/help/request_increase",
            }
        ],
    },
)
UNAVAILABLE = error(503, "UNAVAILABLE", "The service is currently unavailable.")


def scenario_errors() -> dict[str, list[Interaction]]:
    return {
        "error_401": [raw_predict(401, UNAUTHENTICATED)],
        "error_404": [raw_predict(404, NOT_FOUND)],
        "error_429_then_ok": [raw_predict(429, RATE_LIMITED), raw_predict()],
        "error_429_exhausted": [raw_predict(429, RATE_LIMITED) for _ in range(4)],
        "error_5xx": [raw_predict(503, UNAVAILABLE) for _ in range(4)],
    }


# -- platform-specific scenarios -------------------------------------------------------------
QUOTA_SPEC = spec_of(
    "hostkit-quota",
    model=MODEL,
    instance="a3-highgpu-8g",
    env={"HF_TOKEN": "hf_hostkitComplianceFake00"},
)
QUOTA_IDS = Ids("1389620841337454592", "6029487761094082560", "0")
QUOTA_ERROR = error(
    429,
    "RESOURCE_EXHAUSTED",
    "The following quota metrics exceed quota limits:"
    " aiplatform.googleapis.com/custom_model_serving_nvidia_h100_gpus",
    {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [
            {
                "subject": f"project_number:{NUMBER}",
                "description": "Quota 'Custom model serving Nvidia H100 GPUs per region' in"
                f" region {LOCATION}: limit 4, requested 8.",
            }
        ],
    },
)


def scenario_deploy_quota() -> list[Interaction]:
    spec, ids = QUOTA_SPEC, QUOTA_IDS
    ids.counter = int(ids.endpoint_id[-6:])
    steps, _ = create(spec, ids, gpus=8, deploy_reply=(429, QUOTA_ERROR))
    return [
        *find_nothing(spec.name),
        *steps,
        *teardown_steps(spec, ids, deployed=False, history=finished_ops(ids)),
        *find_nothing(spec.name),
    ]


CAPACITY_SPEC = spec_of(
    "hostkit-capacity",
    model=MODEL,
    instance="a2-ultragpu-1g",
    env={"HF_TOKEN": "hf_hostkitComplianceFake00"},
)
CAPACITY_IDS = Ids("8120389044816920576", "2271738425016320000", "0")
STOCKOUT = {
    "code": 8,
    "message": f"Resources are insufficient in region: {LOCATION}. Please try a different"
    " region. If you use K80, please consider using P100 or V100 instead.",
}


def scenario_deploy_capacity() -> list[Interaction]:
    spec, ids = CAPACITY_SPEC, CAPACITY_IDS
    ids.counter = int(ids.endpoint_id[-6:])
    steps, deploy_op = create(spec, ids, accelerator=9, gpus=1)
    return [
        *find_nothing(spec.name),
        *steps,
        poll(deploy_op, "DeployModelOperationMetadata", 5, error=STOCKOUT),
        *teardown_steps(
            spec,
            ids,
            deployed=False,
            history=finished_ops(ids, deploy_error=STOCKOUT),
            accelerator=9,
        ),
        *find_nothing(spec.name),
    ]


TIMEOUT_SPEC = spec_of(
    "hostkit-timeout",
    model=MODEL,
    instance="a3-highgpu-1g",
    env={"HF_TOKEN": "hf_hostkitComplianceFake00"},
)
TIMEOUT_IDS = Ids("2937568139478843392", "4463719801264226304", "0")


def scenario_deploy_timeout() -> list[Interaction]:
    """deploy(timeout=0): the deploy is still running; rollback cancels it, then deletes."""
    spec, ids = TIMEOUT_SPEC, TIMEOUT_IDS
    ids.counter = int(ids.endpoint_id[-6:])
    steps, deploy_op = create(spec, ids)
    cancelled = {"code": 1, "message": "CANCELLED"}
    running = operation(deploy_op, "DeployModelOperationMetadata", 5)
    endpoint = endpoint_json(spec, ids, deployed=False)
    delete_endpoint_op, delete_model_op = ids.op("location"), ids.op("location")
    return [
        *find_nothing(spec.name),
        *steps,
        poll(deploy_op, "DeployModelOperationMetadata", 5),
        list_endpoints(spec.name, endpoint),
        list_operations(ids, *finished_ops(ids), running),
        exchange(
            "POST",
            f"{API}/ui/{deploy_op}:cancel",
            reply={},
            request_headers=sdk_headers(f"name={deploy_op}"),
        ),
        poll(deploy_op, "DeployModelOperationMetadata", 5, error=cancelled),
        exchange(
            "GET",
            f"{API}/v1/{ids.endpoint}?{ALT}",
            reply=endpoint,
            request_headers=sdk_headers(f"name={ids.endpoint}"),
        ),
        exchange(
            "DELETE",
            f"{API}/v1/{ids.endpoint}?{ALT}",
            reply=operation(delete_endpoint_op, "DeleteOperationMetadata", 460),
            request_headers=sdk_headers(f"name={ids.endpoint}"),
        ),
        poll(delete_endpoint_op, "DeleteOperationMetadata", 460, **EMPTY),
        list_models(spec.name, model_json(spec, ids)),
        exchange(
            "DELETE",
            f"{API}/v1/{ids.model}?{ALT}",
            reply=operation(delete_model_op, "DeleteOperationMetadata", 500),
            request_headers=sdk_headers(f"name={ids.model}"),
        ),
        poll(delete_model_op, "DeleteOperationMetadata", 500, **EMPTY),
        *find_nothing(spec.name),
    ]


def scenario_get_deploying() -> list[Interaction]:
    """get() from a later process while the deploy runs: the endpoint has no model yet."""
    ids = Ids(ENDPOINT_ID, MODEL_ID, DEPLOYED_ID)
    running_op = f"{ENDPOINT}/operations/7100000000000{ENDPOINT_ID[-6:]}"
    running = operation(running_op, "DeployModelOperationMetadata", 5)
    return [
        list_endpoints(NAME, endpoint_json(MAIN_SPEC, ids, deployed=False)),
        list_operations(ids, *finished_ops(ids), running),
        poll(running_op, "DeployModelOperationMetadata", 5),
        poll(
            running_op,
            "DeployModelOperationMetadata",
            5,
            **response("DeployModelResponse", deployedModel={"id": DEPLOYED_ID}),
        ),
        list_endpoints(NAME, deployed_endpoint()),
    ]


def scenario_teardown_leftover_model() -> list[Interaction]:
    """An earlier deploy stopped after the model upload: find() reports it, teardown deletes it."""
    ids = Ids(ENDPOINT_ID, MODEL_ID, DEPLOYED_ID)
    op = f"{NPARENT}/operations/8455817213380231168"
    leftover = model_json(MAIN_SPEC, ids)
    return [
        list_endpoints(NAME),  # find()
        list_models(NAME, leftover),
        list_endpoints(NAME),  # teardown("name") finds it again
        list_models(NAME, leftover),
        list_endpoints(NAME),  # _teardown: endpoints by label, then models by label
        list_models(NAME, leftover),
        exchange(
            "DELETE",
            f"{API}/v1/{ids.model}?{ALT}",
            reply=operation(op, "DeleteOperationMetadata", 500),
            request_headers=sdk_headers(f"name={ids.model}"),
        ),
        poll(op, "DeleteOperationMetadata", 500, **EMPTY),
    ]


PERMISSION = error(
    403,
    "PERMISSION_DENIED",
    "Permission 'aiplatform.endpoints.create' denied on resource"
    f" '//aiplatform.googleapis.com/{PARENT}' (or it may not exist).",
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "aiplatform.googleapis.com",
        "metadata": {"permission": "aiplatform.endpoints.create", "resource": PARENT},
    },
)


def scenario_deploy_permission() -> list[Interaction]:
    """The caller may upload models but not create endpoints: 403 names the permission."""
    spec = spec_of(
        "hostkit-permission",
        model=MODEL,
        instance="a3-highgpu-1g",
        env={"HF_TOKEN": "hf_hostkitComplianceFake00"},
    )
    ids = Ids("6601236854829006848", "5583097313948254208", "0")
    ids.counter = int(ids.endpoint_id[-6:])
    steps, _ = create(spec, ids)
    delete_model_op = ids.op("location")
    denied = steps[1]
    denied["response"]["status"] = {"code": 403, "message": "Forbidden"}
    denied["response"]["body"]["string"] = json.dumps(PERMISSION, indent=2) + "\n"
    return [
        *find_nothing(spec.name),
        steps[0],
        denied,
        # before giving up, the upload is followed to done so the rollback can see the model
        steps[2],
        list_endpoints(spec.name),
        list_models(spec.name, model_json(spec, ids)),
        exchange(
            "DELETE",
            f"{API}/v1/{ids.model}?{ALT}",
            reply=operation(delete_model_op, "DeleteOperationMetadata", 500),
            request_headers=sdk_headers(f"name={ids.model}"),
        ),
        poll(delete_model_op, "DeleteOperationMetadata", 500, **EMPTY),
    ]


SKLEARN_SPEC = spec_of(
    "hostkit-sklearn",
    model="gs://hostkit-demo-models/iris/",
    image="us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest",
    instance="n1-standard-4",
)
SKLEARN_IDS = Ids("3765107455326584832", "1728398105467129856", "6154728320017874944")


def scenario_custom_lifecycle() -> list[Interaction]:
    """A scikit-learn model in Cloud Storage on a prebuilt container: deploy, predict, teardown."""
    spec, ids = SKLEARN_SPEC, SKLEARN_IDS
    ids.counter = int(ids.endpoint_id[-6:])
    container = {"imageUri": spec.image}
    steps, deploy_op = create(
        spec,
        ids,
        container=container,
        serving="custom",
        dedicated=False,
        artifact=spec.model,
        accelerator=0,
    )
    deployed = endpoint_json(spec, ids, serving="custom", dedicated=False, accelerator=0)
    predict = {"instances": [[6.1, 2.8, 4.7, 1.2], [5.0, 3.4, 1.5, 0.2]]}
    answer = {
        "predictions": [1, 0],
        "deployedModelId": ids.deployed_id,
        "model": ids.model,
        "modelDisplayName": spec.name,
        "modelVersionId": "1",
    }
    return [
        *find_nothing(spec.name),
        *steps,
        poll(
            deploy_op,
            "DeployModelOperationMetadata",
            5,
            **response("DeployModelResponse", deployedModel={"id": ids.deployed_id}),
        ),
        list_endpoints(spec.name, deployed),
        exchange(
            "POST",
            f"{API}/v1/{ids.endpoint}:predict",
            body=predict,
            reply=answer,
            request_headers=predict_headers(),
        ),
        *teardown_steps(
            spec, ids, history=finished_ops(ids), serving="custom", dedicated=False, accelerator=0
        ),
    ]


def scenario_control_5xx() -> list[Interaction]:
    """get() while Vertex's control plane answers 503: four tries, then ProviderError."""
    query = f"filter=labels.hostkit_name%3D%22{NAME}%22&{ALT}"
    return [
        exchange(
            "GET",
            f"{API}/v1/{PARENT}/endpoints?{query}",
            status=503,
            reply=UNAVAILABLE,
            request_headers=sdk_headers(f"parent={PARENT}"),
        )
        for _ in range(4)
    ]


SCALE_QUOTA = error(
    429,
    "RESOURCE_EXHAUSTED",
    "The following quota metrics exceed quota limits:"
    " aiplatform.googleapis.com/custom_model_serving_nvidia_h100_gpus",
)


def scenario_scale_quota() -> list[Interaction]:
    """scale(dep, 8) needs 8 H100s; the project's serving quota allows 4: refused at once."""
    body = {
        "deployedModel": {
            "id": DEPLOYED_ID,
            "dedicatedResources": {"minReplicaCount": 8, "maxReplicaCount": 8},
        },
        "updateMask": "dedicatedResources.minReplicaCount,dedicatedResources.maxReplicaCount",
    }
    return [
        exchange(
            "POST",
            f"{API}/v1/{ENDPOINT}:mutateDeployedModel?{ALT}",
            body=body,
            status=429,
            reply=SCALE_QUOTA,
            request_headers=sdk_headers(f"endpoint={ENDPOINT}", body=True),
        )
    ]


# -- writing -------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def write(name: str, comment: str, interactions: list[Interaction]) -> None:
    text = yaml.dump(
        {"interactions": interactions, "version": 1},
        Dumper=_Dumper,
        sort_keys=False,
        width=100,
        allow_unicode=True,
    )
    header = "".join(f"# {line}".rstrip() + "\n" for line in comment.strip().splitlines())
    (HERE / f"{name}.yaml").write_text(f"{header}#\n{SOURCE}{text}", encoding="utf-8")


SCENARIOS: dict[str, tuple[str, Callable[[], list[Interaction]]]] = {
    "deploy": (
        "deploy: find() lists endpoints and models labelled hostkit_name (none), then\n"
        "models:upload and endpoints create (both long-running operations, polled to done),\n"
        "then :deployModel on a3-highgpu-1g (1 x NVIDIA_H100_80GB = acceleratorType 13) with\n"
        "the Model Garden vLLM container; the deploy operation is polled until done and the\n"
        "endpoint, now with its deployed model and dedicated DNS name, is read back.",
        scenario_deploy,
    ),
    "deploy_existing": (
        "deploy_existing: the same spec again; the endpoint found by its label carries the\n"
        "same hostkit_fingerprint, so nothing is created.",
        scenario_found,
    ),
    "get": ("get: a later process finds the endpoint by its hostkit_name label.", scenario_found),
    "invoke": (
        "invoke: the chat-completions body posted to :rawPredict on the dedicated endpoint;\n"
        "the vLLM container's chat.completion comes back unchanged.",
        scenario_invoke,
    ),
    "ainvoke": ("ainvoke: the same exchange as invoke, from a worker thread.", scenario_invoke),
    "stream": (
        "stream: the same body with stream=true to :streamRawPredict; the container's\n"
        "server-sent chat.completion.chunk events (usage in the last one) pass through.",
        scenario_stream,
    ),
    "scale": (
        "scale: :mutateDeployedModel with minReplicaCount = maxReplicaCount = 2 (update mask\n"
        "as the REST transport sends it), polled to done, then the endpoint read back.",
        lambda: mutate(2, 2, 2),
    ),
    "autoscale": (
        "autoscale: :mutateDeployedModel with minReplicaCount 1, maxReplicaCount 2.",
        lambda: mutate(1, 2, 1),
    ),
    "teardown": (
        "teardown: the endpoint by label; its operations (none running); :undeployModel,\n"
        "polled; DELETE endpoint, polled; the model by label; DELETE model, polled. Then\n"
        "find() sees nothing, and a second teardown finds nothing to delete.",
        scenario_teardown,
    ),
    "teardown_missing": (
        "teardown_missing: nothing labelled with the name: no endpoint, no model.",
        scenario_teardown_missing,
    ),
    "deploy_failed": (
        "deploy_failed: Llama 3.3 70B on g2-standard-12 (one 24 GB L4): the deploy operation\n"
        "ends with FAILED_PRECONDITION 'Model server never became ready'. Rollback: the\n"
        "endpoint by label (nothing deployed, no operation running), DELETE endpoint, the model\n"
        "by label, DELETE model; find() then sees nothing.",
        scenario_deploy_failed,
    ),
    "deploy_quota": (
        "deploy_quota: :deployModel on a3-highgpu-8g is refused at once, 429 RESOURCE_EXHAUSTED\n"
        "for the custom_model_serving_nvidia_h100_gpus quota (a hard quota, not a rate limit:\n"
        "never retried). Rollback deletes the endpoint and the model.",
        scenario_deploy_quota,
    ),
    "deploy_capacity": (
        "deploy_capacity: a2-ultragpu-1g (NVIDIA_A100_80GB = 9): the deploy operation ends with\n"
        "RESOURCE_EXHAUSTED 'Resources are insufficient in region'. Rollback deletes everything.",
        scenario_deploy_capacity,
    ),
    "deploy_timeout": (
        "deploy_timeout: deploy(timeout=0) gives up while the deploy operation runs. Rollback\n"
        "finds the running operation on the endpoint, cancels it (POST /ui/{name}:cancel),\n"
        "polls it to done (CANCELLED), reads the endpoint again, then deletes endpoint and model.",
        scenario_deploy_timeout,
    ),
    "get_deploying": (
        "get_deploying: a later process finds the endpoint while its deploy runs (no deployed\n"
        "model yet); the running DeployModel operation in the endpoint's operations says\n"
        "'deploying', and wait() follows that operation to done.",
        scenario_get_deploying,
    ),
    "teardown_leftover_model": (
        "teardown_leftover_model: an interrupted deploy left only the uploaded model; find()\n"
        "reports it as failed; teardown(name) looks it up, then lists by label and deletes it.",
        scenario_teardown_leftover_model,
    ),
    "deploy_permission": (
        "deploy_permission: endpoints create answers 403 PERMISSION_DENIED naming\n"
        "aiplatform.endpoints.create; the model upload already started is followed to done,\n"
        "then the rollback finds that model by its label and deletes it.",
        scenario_deploy_permission,
    ),
    "control_5xx": (
        "control_5xx: listing endpoints answers 503 UNAVAILABLE four times: the SDK's own\n"
        "retries are off (retry=None), so these are the first try and hostkit's three retries.",
        scenario_control_5xx,
    ),
    "scale_quota": (
        "scale_quota: :mutateDeployedModel to 8 replicas of a3-highgpu-1g is refused at once\n"
        "with 429 RESOURCE_EXHAUSTED for the H100 serving quota (hard quota: not retried).",
        scenario_scale_quota,
    ),
    "custom_lifecycle": (
        "custom_lifecycle: a scikit-learn model in gs:// on Vertex's prebuilt\n"
        "sklearn-cpu container (n1-standard-4, shared endpoint): deploy, :predict with\n"
        "instances, teardown.",
        scenario_custom_lifecycle,
    ),
}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, (comment, build) in SCENARIOS.items():
        write(name, comment, build())
    for name, interactions in scenario_errors().items():
        comments = {
            "error_401": "error_401: an expired OAuth token: 401 UNAUTHENTICATED (never retried).",
            "error_404": "error_404: the endpoint is gone: 404 NOT_FOUND.",
            "error_429_then_ok": "error_429_then_ok: the per-minute prediction quota: 429\n"
            "RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMIT_EXCEEDED (no Retry-After header), then\n"
            "the answer.",
            "error_429_exhausted": "error_429_exhausted: four 429s: the first try and hostkit's\n"
            "three retries.",
            "error_5xx": "error_5xx: 503 UNAVAILABLE four times (a prediction is safe to repeat).",
        }
        write(name, comments[name], interactions)


if __name__ == "__main__":
    main()
