"""Builds the Inference Endpoints cassettes: ``python providers/huggingface/tests/make_endpoint_cassettes.py``.

The output is committed; re-run after editing a scenario rather than editing the YAML.
"""

import copy
import json
from pathlib import Path

import yaml

from hostkit import DeploymentSpec

OUT = Path(__file__).parent / "cassettes" / "endpoints"
API = "https://api.endpoints.huggingface.cloud/v2"
NS = "hostkit-org"
URL = "https://q8x2m4k7w1z9b3c5.us-east-1.aws.endpoints.huggingface.cloud"
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
FAIL_MODEL = "meta-llama/Llama-3.1-70B-Instruct"
HEADER_NOTE = """# Wire format: the Hugging Face Inference Endpoints API v2
# (https://api.endpoints.huggingface.cloud/v2) as huggingface_hub 2.4's HfApi sends and parses it
# (hf_api.py create/get/update/delete/pause/resume/scale_to_zero_inference_endpoint and
# list_inference_endpoints_hardware; _inference_endpoints.py InferenceEndpoint.from_raw), with
# endpoint objects shaped like the MOCK_* dicts of huggingface_hub's
# tests/test_inference_endpoints.py; the endpoint URL answers as TGI's OpenAI-compatible
# /v1/chat/completions route does. Written by hand in the format vcrpy records (no public
# recordings exist); test_endpoints.py replays them through the HfApi methods themselves and
# parses every endpoint body with InferenceEndpoint.from_raw. Credentials appear only as
# REDACTED.
"""


def spec(name, model):
    return DeploymentSpec(
        provider="huggingface", name=name, model=model, instance="nvidia-l4", region="aws/us-east-1"
    )


def payload(name, model):
    s = spec(name, model)
    return {
        "compute": {
            "accelerator": "gpu",
            "instanceSize": "x1",
            "instanceType": "nvidia-l4",
            "scaling": {"maxReplica": 1, "minReplica": 1, "scaleToZeroTimeout": None},
        },
        "model": {
            "framework": "pytorch",
            "repository": model,
            "revision": None,
            "image": {
                "tgi": {
                    "url": "ghcr.io/huggingface/text-generation-inference:3.3.6",
                    "healthRoute": "/health",
                    "port": 80,
                }
            },
            "task": "text-generation",
        },
        "name": name,
        "provider": {"region": "us-east-1", "vendor": "aws"},
        "type": "authenticated",
        "tags": [f"hostkit-fp-{s.fingerprint()}"],
    }


def endpoint(
    name, model, state, *, message, ready=0, target=1, url=False, lo=1, hi=1, stz=None, minute="00"
):
    p = payload(name, model)
    raw = {
        "accountId": None,
        "compute": {
            **p["compute"],
            "id": "aws-us-east-1-nvidia-l4-x1",
            "scaling": {
                "maxReplica": hi,
                "minReplica": lo,
                "scaleToZeroTimeout": stz,
                "measure": {"hardwareUsage": 80},
            },
        },
        "model": {**p["model"], "env": {}, "secrets": {}},
        "name": name,
        "provider": p["provider"],
        "type": "authenticated",
        "healthRoute": "/health",
        "tags": p["tags"],
        "cacheHttpResponses": False,
        "status": {
            "createdAt": "2026-11-22T10:00:00.000Z",
            "createdBy": {"id": "6634a1c2e0b1f3a2c4d5e6f7", "name": "hostkit-dev"},
            "updatedAt": f"2026-11-22T10:{minute}:00.000Z",
            "updatedBy": {"id": "6634a1c2e0b1f3a2c4d5e6f7", "name": "hostkit-dev"},
            "message": message,
            "state": state,
            "readyReplica": ready,
            "targetReplica": target,
            "private": None,
            "errorMessage": None,
        },
    }
    if url:
        raw["status"]["url"] = URL
    return raw


CATALOG = {
    "vendors": [
        {
            "name": "aws",
            "status": "available",
            "regions": [
                {
                    "name": "us-east-1",
                    "label": "N. Virginia",
                    "status": "available",
                    "computes": [
                        {
                            "id": "aws-us-east-1-nvidia-l4-x1",
                            "accelerator": "gpu",
                            "numAccelerators": 1,
                            "numCpus": 6,
                            "memoryGb": 22,
                            "gpuMemoryGb": 24,
                            "instanceType": "nvidia-l4",
                            "instanceSize": "x1",
                            "architecture": "L4",
                            "status": "available",
                            "pricePerHour": 0.8,
                            "quota": {"maxAccelerators": 4, "usedAccelerators": 0},
                        },
                        {
                            "id": "aws-us-east-1-nvidia-a100-x1",
                            "accelerator": "gpu",
                            "numAccelerators": 1,
                            "numCpus": 11,
                            "memoryGb": 145,
                            "gpuMemoryGb": 80,
                            "instanceType": "nvidia-a100",
                            "instanceSize": "x1",
                            "architecture": "A100",
                            "status": "not_available",
                            "pricePerHour": 2.5,
                            "quota": {"maxAccelerators": 2, "usedAccelerators": 0},
                        },
                        {
                            "id": "aws-us-east-1-intel-spr-x2",
                            "accelerator": "cpu",
                            "numAccelerators": 0,
                            "numCpus": 2,
                            "memoryGb": 4,
                            "gpuMemoryGb": 0,
                            "instanceType": "intel-spr",
                            "instanceSize": "x2",
                            "architecture": "Intel Sapphire Rapids",
                            "status": "available",
                            "pricePerHour": 0.067,
                            "quota": {"maxAccelerators": 16, "usedAccelerators": 0},
                        },
                    ],
                }
            ],
        },
        {
            "name": "gcp",
            "status": "available",
            "regions": [
                {
                    "name": "us-east4",
                    "label": "Virginia",
                    "status": "available",
                    "computes": [
                        {
                            "id": "gcp-us-east4-nvidia-a100-x1",
                            "accelerator": "gpu",
                            "numAccelerators": 1,
                            "numCpus": 11,
                            "memoryGb": 80,
                            "gpuMemoryGb": 80,
                            "instanceType": "nvidia-a100",
                            "instanceSize": "x1",
                            "architecture": "A100",
                            "status": "available",
                            "pricePerHour": 3.6,
                            "quota": {"maxAccelerators": 2, "usedAccelerators": 0},
                        }
                    ],
                }
            ],
        },
    ]
}

DATE = ["Sun, 22 Nov 2026 10:00:0%d GMT" % i for i in range(10)]


def ix(method, uri, status, body, *, req=None, headers=None, rid=None, auth=True):
    reqh = {"accept": ["application/json"]}
    if auth:
        reqh["authorization"] = ["REDACTED"]
    if req is not None:
        reqh["content-type"] = ["application/json"]
    resh = {"content-type": ["application/json"], "date": ["Sun, 22 Nov 2026 10:00:00 GMT"]}
    if rid:
        resh["x-request-id"] = [rid]
    if headers:
        resh.update({k: [v] for k, v in headers.items()})
    text = body if isinstance(body, str) else json.dumps(body)
    messages = {
        200: "OK",
        202: "Accepted",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        429: "Too Many Requests",
        503: "Service Unavailable",
    }
    return {
        "request": {
            "method": method,
            "uri": uri,
            "body": json.dumps(req) if req is not None else "",
            "headers": reqh,
        },
        "response": {
            "status": {"code": status, "message": messages[status]},
            "headers": resh,
            "body": {"string": text},
        },
    }


def write(name, what, interactions):
    text = (
        f"# {name}: {what}\n#\n"
        + HEADER_NOTE
        + yaml.safe_dump(
            {"version": 1, "interactions": interactions},
            sort_keys=False,
            width=100000,
            allow_unicode=True,
        )
    )
    (OUT / f"{name}.yaml").write_text(text)


N = "hostkit-compliance"
F = "hostkit-compliance-failed"
E = f"{API}/endpoint/{NS}"
NOT_FOUND = lambda n: {"error": f"Endpoint {n} not found"}
pending = endpoint(N, MODEL, "pending", message="Endpoint waiting to be scheduled")
initializing = endpoint(N, MODEL, "initializing", message="Endpoint is initializing", minute="02")
running = endpoint(
    N, MODEL, "running", message="Endpoint is running", ready=1, url=True, minute="06"
)

deploy = [
    ix("GET", f"{E}/{N}", 404, NOT_FOUND(N), rid="01JD2F0A1B2C3D4E5F6G7H8J9K"),
    ix("GET", f"{API}/provider/{NS}", 200, CATALOG),
    ix("POST", E, 200, pending, req=payload(N, MODEL)),
    ix("GET", f"{E}/{N}", 200, initializing),
    ix("GET", f"{E}/{N}", 200, running),
]
write(
    "deploy",
    "no endpoint of that name; the namespace's hardware catalog has nvidia-l4 x1 in aws/us-east-1 (available, priced, within quota); the create answers pending; polled: initializing, then running with its URL.",
    deploy,
)
write(
    "deploy_existing",
    "the saved endpoint is looked up again (running, same fingerprint tag): nothing is created.",
    [ix("GET", f"{E}/{N}", 200, running)],
)
write(
    "get",
    "a fresh provider finds the endpoint by name: one GET.",
    [ix("GET", f"{E}/{N}", 200, running)],
)

COMPLETION = {
    "object": "chat.completion",
    "id": "",
    "created": 1795428010,
    "model": "Qwen/Qwen2.5-0.5B-Instruct",
    "system_fingerprint": "3.3.6-sha-1b9d0a3",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there, glad to meet you!"},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 36, "completion_tokens": 9, "total_tokens": 45},
}
CHAT = f"{URL}/v1/chat/completions"
chat_req = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Say hello in five words."}],
    "max_tokens": 32,
}
write(
    "invoke",
    "one chat completion from the endpoint's TGI server.",
    [ix("POST", CHAT, 200, COMPLETION, req=chat_req, rid="8f3e2a1b-7c6d-4e5f-9a0b-1c2d3e4f5a6b")],
)
write(
    "ainvoke",
    "the same chat completion, sent by the async client.",
    [ix("POST", CHAT, 200, COMPLETION, req=chat_req, rid="2b7c9d1e-3f4a-4b5c-8d6e-7f8a9b0c1d2e")],
)
parts = ["Hello", " there", ",", " glad", " to", " meet", " you", "!"]
events = []
for i, p in enumerate(parts):
    events.append(
        {
            "object": "chat.completion.chunk",
            "id": "",
            "created": 1795428011,
            "model": MODEL,
            "system_fingerprint": "3.3.6-sha-1b9d0a3",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": p},
                    "logprobs": None,
                    "finish_reason": "stop" if i == len(parts) - 1 else None,
                }
            ],
            "usage": None,
        }
    )
events.append(
    {
        "object": "chat.completion.chunk",
        "id": "",
        "created": 1795428011,
        "model": MODEL,
        "system_fingerprint": "3.3.6-sha-1b9d0a3",
        "choices": [],
        "usage": {"prompt_tokens": 36, "completion_tokens": 9, "total_tokens": 45},
    }
)
sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
stream_req = {**chat_req, "stream": True, "stream_options": {"include_usage": True}}
st = ix("POST", CHAT, 200, sse, req=stream_req, rid="5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a")
st["response"]["headers"]["content-type"] = ["text/event-stream"]
write(
    "stream",
    "the same answer as server-sent events (TGI's chat.completion.chunk events, a final usage chunk, [DONE]).",
    [st],
)

scaled2 = endpoint(
    N,
    MODEL,
    "updating",
    message="Endpoint is updating",
    ready=1,
    target=2,
    url=True,
    lo=2,
    hi=2,
    minute="08",
)
write(
    "scale",
    "scale(2): min = max = 2 replicas (PUT of the scaling only, as update_inference_endpoint sends it); the answer is updating.",
    [
        ix(
            "PUT",
            f"{E}/{N}",
            200,
            scaled2,
            req={"compute": {"scaling": {"maxReplica": 2, "minReplica": 2}}},
        )
    ],
)
auto = endpoint(
    N,
    MODEL,
    "updating",
    message="Endpoint is updating",
    ready=1,
    target=1,
    url=True,
    lo=1,
    hi=2,
    minute="09",
)
write(
    "autoscale",
    "scale(min_replicas=1, max_replicas=2): the autoscaler's bounds.",
    [
        ix(
            "PUT",
            f"{E}/{N}",
            200,
            auto,
            req={"compute": {"scaling": {"maxReplica": 2, "minReplica": 1}}},
        )
    ],
)
zero = endpoint(
    N,
    MODEL,
    "scaledToZero",
    message="Endpoint is scaled to zero",
    ready=0,
    target=0,
    url=True,
    minute="10",
)
write(
    "scale_to_zero",
    "scale(0): POST .../scale-to-zero; the endpoint answers scaledToZero (woken by the next request).",
    [ix("POST", f"{E}/{N}/scale-to-zero", 200, zero)],
)
write(
    "teardown",
    "DELETE; the look-up afterwards finds nothing; a second teardown's DELETE answers 404 (already gone, not an error).",
    [
        ix("DELETE", f"{E}/{N}", 200, ""),
        ix("GET", f"{E}/{N}", 404, NOT_FOUND(N)),
        ix("DELETE", f"{E}/{N}", 404, NOT_FOUND(N)),
    ],
)
M = "hostkit-compliance-missing"
write(
    "teardown_missing",
    "teardown of a name that never existed: the look-up answers 404 and nothing is deleted.",
    [ix("GET", f"{E}/{M}", 404, NOT_FOUND(M))],
)

f_pending = endpoint(F, FAIL_MODEL, "pending", message="Endpoint waiting to be scheduled")
f_init = endpoint(F, FAIL_MODEL, "initializing", message="Endpoint is initializing", minute="02")
f_failed = endpoint(
    F,
    FAIL_MODEL,
    "failed",
    message="Endpoint failed to start. Server message: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 448.00 MiB. GPU 0 has a total capacity of 22.05 GiB of which 301.12 MiB is free.",
    minute="09",
)
write(
    "deploy_failed",
    "a 70B model on one 24 GB L4: created (pending), initializing, then failed with the server's out-of-memory message; hostkit deletes the endpoint, and the look-up afterwards finds nothing.",
    [
        ix("GET", f"{E}/{F}", 404, NOT_FOUND(F)),
        ix("GET", f"{API}/provider/{NS}", 200, CATALOG),
        ix("POST", E, 200, f_pending, req=payload(F, FAIL_MODEL)),
        ix("GET", f"{E}/{F}", 200, f_init),
        ix("GET", f"{E}/{F}", 200, f_failed),
        ix("DELETE", f"{E}/{F}", 200, ""),
        ix("GET", f"{E}/{F}", 404, NOT_FOUND(F)),
    ],
)
write(
    "error_401",
    "the endpoint (type authenticated) refuses the token.",
    [
        ix(
            "POST",
            CHAT,
            401,
            {"error": "Authorization header is correct, but the token seems invalid"},
            req=chat_req,
            rid="c0ffee01-0000-4000-8000-000000000401",
        )
    ],
)
write(
    "error_404",
    "the endpoint's server does not know the route (answered by the endpoint proxy).",
    [
        ix(
            "POST",
            CHAT,
            404,
            {"error": "Not Found"},
            req=chat_req,
            rid="c0ffee01-0000-4000-8000-000000000404",
        )
    ],
)
r429 = {"error": "Model is overloaded, please try again later", "error_type": "overloaded"}
write(
    "error_429_then_ok",
    "TGI's queue is full (429 with retry-after: 1), then the answer.",
    [
        ix(
            "POST",
            CHAT,
            429,
            r429,
            req=chat_req,
            headers={"retry-after": "1"},
            rid="c0ffee01-0000-4000-8000-000000000429",
        ),
        ix("POST", CHAT, 200, COMPLETION, req=chat_req, rid="8f3e2a1b-7c6d-4e5f-9a0b-1c2d3e4f5a6c"),
    ],
)
write(
    "error_429_exhausted",
    "429 on the first try and on each of the 3 retries.",
    [
        ix(
            "POST",
            CHAT,
            429,
            r429,
            req=chat_req,
            headers={"retry-after": "1"},
            rid=f"c0ffee01-0000-4000-8000-00000000042{i}",
        )
        for i in range(4)
    ],
)
write(
    "error_5xx",
    "503 on the first try and on each of the 3 retries (the endpoint is restarting).",
    [
        ix(
            "POST",
            CHAT,
            503,
            {"error": "503 Service Unavailable"},
            req=chat_req,
            rid=f"c0ffee01-0000-4000-8000-00000000050{i}",
        )
        for i in range(4)
    ],
)

# -- failures of the Endpoints API itself -------------------------------------------
S = "hostkit-endpoint"


def spec_payload(name, model=MODEL, instance="nvidia-l4", size="x1"):
    p = payload(name, model)
    p["compute"]["instanceType"] = instance
    return p


write(
    "capacity",
    "nvidia-a100 x1 is not_available in aws/us-east-1: hostkit refuses before creating anything and names the regions where it is available.",
    [ix("GET", f"{E}/{S}", 404, NOT_FOUND(S)), ix("GET", f"{API}/provider/{NS}", 200, CATALOG)],
)
quota = copy.deepcopy(CATALOG)
quota["vendors"][0]["regions"][0]["computes"][0]["quota"] = {
    "maxAccelerators": 4,
    "usedAccelerators": 4,
}
write(
    "quota",
    "the namespace's nvidia-l4 quota is used up (4 of 4): hostkit refuses before creating anything.",
    [ix("GET", f"{E}/{S}", 404, NOT_FOUND(S)), ix("GET", f"{API}/provider/{NS}", 200, quota)],
)
write(
    "api_401",
    "the token may not read the namespace's endpoints.",
    [
        ix(
            "GET",
            f"{E}/{S}",
            401,
            {"error": "Unauthorized"},
            headers={"x-error-message": "Invalid credentials in Authorization header"},
            rid="01JD2F0A1B2C3D4E5F6G7H8J9Z",
        )
    ],
)
write(
    "create_quota",
    "the create itself is refused: the API answers 400 naming the quota.",
    [
        ix("GET", f"{E}/{S}", 404, NOT_FOUND(S)),
        ix("GET", f"{API}/provider/{NS}", 200, CATALOG),
        ix(
            "POST",
            E,
            400,
            {"error": "Quota exceeded for nvidia-l4 in aws/us-east-1: 4 of 4 accelerators in use"},
            req=payload(S, MODEL),
            rid="01JD2F0A1B2C3D4E5F6G7H8JQQ",
        ),
    ],
)
# pause, resume, wake
paused = endpoint(
    N, MODEL, "paused", message="Endpoint is paused", ready=0, target=0, url=True, minute="11"
)
write(
    "pause",
    "POST .../pause: paused (no replica, nothing billed, not woken by requests).",
    [ix("POST", f"{E}/{N}/pause", 200, paused)],
)
resumed = endpoint(
    N,
    MODEL,
    "initializing",
    message="Endpoint is initializing",
    ready=0,
    target=1,
    url=True,
    minute="12",
)
write(
    "resume",
    "POST .../resume answers initializing; polled until running.",
    [ix("POST", f"{E}/{N}/resume", 200, resumed), ix("GET", f"{E}/{N}", 200, running)],
)
write(
    "resume_running",
    "resume on a running endpoint: the API answers 400 'already running'; hostkit reads it and carries on.",
    [
        ix("POST", f"{E}/{N}/resume", 400, {"error": "Endpoint is already running"}),
        ix("GET", f"{E}/{N}", 200, running),
    ],
)
waking = endpoint(
    N,
    MODEL,
    "initializing",
    message="Endpoint is scaling up",
    ready=0,
    target=1,
    url=True,
    minute="13",
)
write(
    "wake",
    "invoke on a scaled-to-zero endpoint: one request to the health route starts a replica (503 while it starts); polled: initializing, running; then the chat call.",
    [
        ix("GET", f"{URL}/health", 503, {"error": "Service Unavailable"}),
        ix("GET", f"{E}/{N}", 200, waking),
        ix("GET", f"{E}/{N}", 200, running),
        ix("POST", CHAT, 200, COMPLETION, req=chat_req, rid="8f3e2a1b-7c6d-4e5f-9a0b-1c2d3e4f5a6d"),
    ],
)
write(
    "catalog",
    "the public hardware catalog (no token): instances, prices, availability.",
    [ix("GET", f"{API}/provider", 200, CATALOG, auth=False)],
)
print("ok")
