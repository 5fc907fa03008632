"""Writes ``cassettes/deployments/*.yaml``: hand-built exchanges of Replicate's deployments API.

Run ``python providers/replicate/tests/make_deployment_cassettes.py`` after changing it. The
bodies follow replicate-python 1.0.7 (``deployment.py`` Deployment/Release/Configuration,
``account.py`` Account, ``prediction.py`` Prediction, ``exceptions.py`` ReplicateError) and
Replicate's HTTP API reference ("deployments.create/get/update/delete", "account.get");
headers as in the recorded predictions cassettes beside this folder. Error words are
Replicate's RFC 7807 shape; where the docs give no status code (a refused delete) the
comment of the cassette says which one was assumed. ``test_replicate_deployments.py`` lets
the SDK's own types parse every body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent / "cassettes"
OUT = HERE / "deployments"
API = "https://api.replicate.com"
OWNER = "acme"
NAME = "hostkit-compliance"
MODEL = "meta/meta-llama-3-8b-instruct"
VERSION = "5a6809ca6288247d06daf6365557e5e429063f32a21146b2a807c682652136b8"
HEADER = (
    "# {what}\n#\n"
    "# Hand-built by make_deployment_cassettes.py in the format vcrpy records, from\n"
    "# replicate-python 1.0.7 (deployment.py, account.py, prediction.py, exceptions.py) and\n"
    "# Replicate's HTTP API reference (deployments.*, account.get); a test lets the SDK's own\n"
    "# types parse every body. Credentials appear only as REDACTED.\n"
)
_ray = [0x8E4FA0000000A000]


def _headers(problem: bool = False, **extra: str) -> dict[str, list[str]]:
    _ray[0] += 0x1F3
    headers = {
        "CF-Cache-Status": ["DYNAMIC"],
        "CF-Ray": [f"{_ray[0]:x}-SJC"],
        "Connection": ["keep-alive"],
        "Content-Type": ["application/problem+json" if problem else "application/json"],
        "Date": ["Fri, 20 Nov 2026 11:02:00 GMT"],
        "Server": ["cloudflare"],
        "Strict-Transport-Security": ["max-age=15552000"],
        "ratelimit-remaining": ["2999"],
        "ratelimit-reset": ["1"],
    }
    headers.update({k: [v] for k, v in extra.items()})
    return headers


def ex(
    method: str,
    path: str,
    status: int,
    body: Any = None,
    *,
    request: Any = None,
    problem: bool = False,
    **headers: str,
) -> dict[str, Any]:
    messages = {200: "OK", 201: "Created", 204: "No Content", 401: "Unauthorized"}
    messages.update({402: "Payment Required", 404: "Not Found", 409: "Conflict"})
    messages.update({422: "Unprocessable Entity", 429: "Too Many Requests"})
    messages.update({503: "Service Unavailable"})
    req_headers = {"accept": ["*/*"], "authorization": ["REDACTED"]}
    if request is not None:
        req_headers["content-type"] = ["application/json"]
    response_headers = _headers(problem, **headers)
    if status == 204:
        del response_headers["Content-Type"]
    return {
        "request": {
            "method": method,
            "uri": path if path.startswith("http") else API + path,
            "body": "" if request is None else json.dumps(request, separators=(",", ":")),
            "headers": req_headers,
        },
        "response": {
            "status": {"code": status, "message": messages[status]},
            "headers": response_headers,
            "body": {"string": "" if body is None else json.dumps(body, separators=(",", ":"))},
        },
    }


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "status": status}


def deployment(
    number: int | None,
    hardware: str = "gpu-a100-large",
    low: int = 0,
    high: int = 1,
    name: str = NAME,
) -> dict[str, Any]:
    release = None
    if number is not None:
        release = {
            "number": number,
            "model": MODEL,
            "version": VERSION,
            "created_at": f"2026-11-20T11:0{number}:00.000000Z",
            "created_by": {
                "type": "organization",
                "username": OWNER,
                "name": "Acme Corp, Inc.",
                "github_url": "https://github.com/acme",
            },
            "configuration": {"hardware": hardware, "min_instances": low, "max_instances": high},
        }
    return {"owner": OWNER, "name": name, "current_release": release}


ACCOUNT = {
    "type": "organization",
    "username": OWNER,
    "name": "Acme Corp, Inc.",
    "github_url": "https://github.com/acme",
}
DEP_PATH = f"/v1/deployments/{OWNER}/{NAME}"
PRED_PATH = f"{DEP_PATH}/predictions"
PROMPT_BODY = {"input": {"prompt": "Say hello in five words.", "max_tokens": 32}}


def _model_lookup() -> dict[str, Any]:
    data = yaml.safe_load((HERE / "deploy.yaml").read_text())
    return data["interactions"][0]  # type: ignore[no-any-return]


def _from(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((HERE / name).read_text())["interactions"]  # type: ignore[no-any-return]


def _on_deployment(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The public-model prediction exchanges, created on the deployment instead."""
    out = []
    for item in interactions:
        item = json.loads(json.dumps(item))
        request = item["request"]
        if request["uri"].endswith(f"/v1/models/{MODEL}/predictions"):
            request["uri"] = API + PRED_PATH
        body = item["response"]["body"]["string"]
        if body.startswith("{") and '"model"' in body:
            data = json.loads(body)
            if "urls" in data:
                data["deployment"] = f"{OWNER}/{NAME}"
                item["response"]["body"]["string"] = json.dumps(data, separators=(",", ":"))
        out.append(item)
    return out


def create_body(
    name: str = NAME, hardware: str = "gpu-a100-large", low: int = 0, high: int = 1
) -> dict[str, Any]:
    return {
        "name": name,
        "model": MODEL,
        "version": VERSION,
        "hardware": hardware,
        "min_instances": low,
        "max_instances": high,
    }


def deploy_exchanges() -> list[dict[str, Any]]:
    return [
        ex("GET", "/v1/account", 200, ACCOUNT),
        ex("GET", DEP_PATH, 404, problem(404, "Not found", "Deployment not found"), problem=True),
        _model_lookup(),
        ex("POST", "/v1/deployments", 200, deployment(1), request=create_body()),
    ]


SCENARIOS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "deploy": (
        "deploy: the owner from GET /v1/account, no deployment of that name yet (404), the"
        " model's latest version (GET /v1/models/...), then POST /v1/deployments: release 1"
        " on gpu-a100-large with min_instances 0, max_instances 1.",
        deploy_exchanges(),
    ),
    "deploy_existing": (
        "deploy_existing: the same spec again: GET of the deployment shows the same release;"
        " nothing is created.",
        [ex("GET", DEP_PATH, 200, deployment(1))],
    ),
    "get": (
        "get: from a fresh process: the owner (GET /v1/account), then the deployment.",
        [ex("GET", "/v1/account", 200, ACCOUNT), ex("GET", DEP_PATH, 200, deployment(1))],
    ),
    "invoke": (
        "invoke: a prediction created on the deployment (POST"
        " /v1/deployments/{owner}/{name}/predictions, Prefer: wait), final within the wait.",
        _on_deployment(_from("invoke.yaml")),
    ),
    "ainvoke": (
        "ainvoke: the same prediction, created by the async client.",
        _on_deployment(_from("ainvoke.yaml")),
    ),
    "stream": (
        "stream: a streaming prediction on the deployment: created with stream true, its"
        " server-sent events, then the finished prediction.",
        _on_deployment(_from("stream.yaml")),
    ),
    "scale": (
        "scale: PATCH min_instances 2, max_instances 2: release 2.",
        [
            ex(
                "PATCH",
                DEP_PATH,
                200,
                deployment(2, low=2, high=2),
                request={"min_instances": 2, "max_instances": 2},
            )
        ],
    ),
    "autoscale": (
        "autoscale: PATCH min_instances 1, max_instances 2: release 2.",
        [
            ex(
                "PATCH",
                DEP_PATH,
                200,
                deployment(2, low=1, high=2),
                request={"min_instances": 1, "max_instances": 2},
            )
        ],
    ),
    "scale_to_zero": (
        "scale_to_zero: PATCH min_instances 0 (max stays 1: an instance starts on demand).",
        [ex("PATCH", DEP_PATH, 200, deployment(2, low=0, high=1), request={"min_instances": 0})],
    ),
    "teardown": (
        "teardown: PATCH min and max instances to 0 (release 2), DELETE (204: it was idle);"
        " the second teardown's PATCH finds nothing (404), which is fine.",
        [
            ex(
                "PATCH",
                DEP_PATH,
                200,
                deployment(2, low=0, high=0),
                request={"min_instances": 0, "max_instances": 0},
            ),
            ex("DELETE", DEP_PATH, 204),
            ex(
                "PATCH",
                DEP_PATH,
                404,
                problem(404, "Not found", "Deployment not found"),
                request={"min_instances": 0, "max_instances": 0},
                problem=True,
            ),
        ],
    ),
    "teardown_refused": (
        "teardown_refused: PATCH to 0/0 succeeds, the DELETE is refused because the deployment"
        " has not been offline and unused for 15 minutes (the docs' words; status 409"
        " assumed: the API reference gives none).",
        [
            ex(
                "PATCH",
                DEP_PATH,
                200,
                deployment(2, low=0, high=0),
                request={"min_instances": 0, "max_instances": 0},
            ),
            ex(
                "DELETE",
                DEP_PATH,
                409,
                problem(
                    409,
                    "Deployment cannot be deleted",
                    "You can only delete deployments that have been offline and unused for at"
                    " least 15 minutes.",
                ),
                problem=True,
            ),
        ],
    ),
    "finish_teardown": (
        "finish_teardown: the DELETE is refused twice (409, as in teardown_refused), then 204.",
        [
            ex(
                "DELETE",
                DEP_PATH,
                409,
                problem(
                    409,
                    "Deployment cannot be deleted",
                    "You can only delete deployments that have been offline and unused for at"
                    " least 15 minutes.",
                ),
                problem=True,
            ),
            ex(
                "DELETE",
                DEP_PATH,
                409,
                problem(
                    409,
                    "Deployment cannot be deleted",
                    "You can only delete deployments that have been offline and unused for at"
                    " least 15 minutes.",
                ),
                problem=True,
            ),
            ex("DELETE", DEP_PATH, 204),
        ],
    ),
    "deploy_deploying": (
        "deploy_deploying: POST answers a deployment without a release yet (current_release"
        " null, which the SDK's type allows), the next GET shows release 1: deploying, then"
        " ready.",
        [
            *deploy_exchanges()[:3],
            ex("POST", "/v1/deployments", 201, deployment(None), request=create_body()),
            ex("GET", DEP_PATH, 200, deployment(1)),
        ],
    ),
    "deploy_failed": (
        "deploy_failed: Replicate refuses the release: hardware gpu-none does not exist for"
        " the model (422). The rollback's PATCH finds nothing to scale down (404).",
        [
            ex("GET", "/v1/account", 200, ACCOUNT),
            ex(
                "GET",
                f"{DEP_PATH}-failed",
                404,
                problem(404, "Not found", "Deployment not found"),
                problem=True,
            ),
            _model_lookup(),
            ex(
                "POST",
                "/v1/deployments",
                422,
                problem(
                    422,
                    "Invalid hardware",
                    "hardware: gpu-none is not a valid hardware SKU; see GET /v1/hardware",
                ),
                request=create_body(f"{NAME}-failed", "gpu-none"),
                problem=True,
            ),
            ex(
                "PATCH",
                f"{DEP_PATH}-failed",
                404,
                problem(404, "Not found", "Deployment not found"),
                request={"min_instances": 0, "max_instances": 0},
                problem=True,
            ),
        ],
    ),
    "deploy_quota": (
        "deploy_quota: the account has no credit to run dedicated hardware (402); nothing is"
        " created, the rollback's PATCH finds nothing (404).",
        [
            *deploy_exchanges()[:3],
            ex(
                "POST",
                "/v1/deployments",
                402,
                problem(
                    402,
                    "Insufficient credit",
                    "You have insufficient credit to run this model. Go to"
                    " https://replicate.com/account/billing#billing to purchase credit.",
                ),
                request=create_body(),
                problem=True,
            ),
            ex(
                "PATCH",
                DEP_PATH,
                404,
                problem(404, "Not found", "Deployment not found"),
                request={"min_instances": 0, "max_instances": 0},
                problem=True,
            ),
        ],
    ),
    "deploy_401": (
        "deploy_401: an invalid token: the first call (GET /v1/account) answers 401.",
        [
            ex(
                "GET",
                "/v1/account",
                401,
                problem(401, "Unauthenticated", "You did not pass a valid authentication token"),
                problem=True,
            )
        ],
    ),
    "update": (
        "update: the spec now asks for 1 to 3 instances: GET, then one PATCH (release 2).",
        [
            ex("GET", DEP_PATH, 200, deployment(1)),
            ex(
                "PATCH",
                DEP_PATH,
                200,
                deployment(2, low=1, high=3),
                request={"hardware": "gpu-a100-large", "min_instances": 1, "max_instances": 3},
            ),
        ],
    ),
    "error_401": (
        "error_401: a prediction on the deployment with a revoked token.",
        [
            ex(
                "POST",
                PRED_PATH,
                401,
                problem(401, "Unauthenticated", "You did not pass a valid authentication token"),
                request=PROMPT_BODY,
                problem=True,
            )
        ],
    ),
    "error_404": (
        "error_404: a prediction on a deployment deleted elsewhere.",
        [
            ex(
                "POST",
                PRED_PATH,
                404,
                problem(404, "Not found", "Deployment not found"),
                request=PROMPT_BODY,
                problem=True,
            )
        ],
    ),
    "error_429_then_ok": (
        "error_429_then_ok: throttled once (retry-after 1), then the prediction is created.",
        [
            ex(
                "POST",
                PRED_PATH,
                429,
                problem(
                    429,
                    "Request was throttled",
                    "Request was throttled. Expected available in 1 second.",
                ),
                request=PROMPT_BODY,
                problem=True,
                **{"retry-after": "1"},
            ),
            _on_deployment(_from("invoke.yaml"))[0],
        ],
    ),
    "error_429_exhausted": (
        "error_429_exhausted: throttled four times (1 try + 3 retries).",
        [
            ex(
                "POST",
                PRED_PATH,
                429,
                problem(
                    429,
                    "Request was throttled",
                    "Request was throttled. Expected available in 1 second.",
                ),
                request=PROMPT_BODY,
                problem=True,
                **{"retry-after": "1"},
            )
            for _ in range(4)
        ],
    ),
    "error_5xx": (
        "error_5xx: GET of the deployment answers 503 four times (a look-up: retried).",
        [
            ex(
                "GET",
                DEP_PATH,
                503,
                problem(503, "Service Unavailable", "The service is temporarily unavailable."),
                problem=True,
            )
            for _ in range(4)
        ],
    ),
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, (what, interactions) in SCENARIOS.items():
        for item in interactions:  # the predictions cassettes carry their own prompt
            item["request"]["headers"]["authorization"] = ["REDACTED"]
        text = yaml.safe_dump(
            {"version": 1, "interactions": interactions}, sort_keys=False, width=100
        )
        (OUT / f"{name}.yaml").write_text(HEADER.format(what=what) + text, encoding="utf-8")


if __name__ == "__main__":
    main()
