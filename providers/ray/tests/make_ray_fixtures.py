"""Record the dashboard answers test_ray_errors.py replays (run by hand; needs ray[serve]).

    python providers/ray/tests/make_ray_fixtures.py

Starts two private loopback heads (one with Ray's token auth on) and records, from the
real dashboard: a 401 (a request without the token), a 500 (a PUT whose body is not
JSON), a 400 (a PUT that fails Serve's schema), and a GET with one running and one
failed hostkit application. The token and node addresses are scrubbed; the heads are
stopped at the end. Writes fixtures/dashboard.json.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
from hostkit_providers.ray.local_head import local_head

HERE = Path(__file__).parent
APPS = "/api/serve/applications/"
KEEP_HEADERS = ("content-type",)


def record(response: httpx.Response, scrub: dict[str, str]) -> dict[str, Any]:
    body = response.text
    for secret, placeholder in scrub.items():
        body = body.replace(secret, placeholder)
    body = body.replace(str(HERE.parents[2]), "<repo>")
    body = re.sub(r"/[^\s\"']*/site-packages/", "<site-packages>/", body)
    body = re.sub(r"/tmp/hkray-[^\s\"'/]*", "<temp-dir>", body)
    return {
        "method": response.request.method,
        "path": response.request.url.path,
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if k.lower() in KEEP_HEADERS},
        "body": body,
    }


def main() -> None:
    fixtures: dict[str, Any] = {}
    token = secrets.token_hex(16)
    with local_head(env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}) as head:
        answer = httpx.get(head.address + APPS, timeout=30)
        fixtures["unauthorized"] = record(answer, {token: "<token>"})
    with local_head() as head:
        scrub = {"127.0.0.1": "10.0.0.1"}
        answer = httpx.put(
            head.address + APPS,
            content=b"{not json",
            headers={"content-type": "application/json"},
            timeout=60,
        )
        fixtures["server_error"] = record(answer, scrub)
        answer = httpx.put(head.address + APPS, json={"applications": [{"name": 1}]}, timeout=60)
        fixtures["bad_config"] = record(answer, scrub)
        port = int(head.serve_url.rsplit(":", 1)[1])
        apps = []
        for name, model in (("good", "hostkit_examples.study_score:predict"),
                            ("broken", "no_such_module_xyz:predict")):  # fmt: skip
            apps.append({
                "name": name, "route_prefix": f"/{name}",
                "import_path": "hostkit_providers.ray.serve_app:build",
                "args": {"kind": "python", "model": model, "hostkit": {"fingerprint": "f"}},
                "deployments": [{"name": "HostkitModel", "num_replicas": 1,
                                 "ray_actor_options": {"num_cpus": 0.1}}],
            })  # fmt: skip
        body = {"http_options": {"host": "127.0.0.1", "port": port}, "applications": apps}
        httpx.put(head.address + APPS, json=body, timeout=60).raise_for_status()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            answer = httpx.get(head.address + APPS, timeout=30)
            states = {k: a["status"] for k, a in answer.json()["applications"].items()}
            if states == {"good": "RUNNING", "broken": "DEPLOY_FAILED"}:
                break
            time.sleep(0.5)
        fixtures["one_running_one_failed"] = record(answer, scrub)
    (HERE / "fixtures" / "dashboard.json").write_text(json.dumps(fixtures, indent=1) + "\n")
    print({k: v["status"] for k, v in fixtures.items()})


if __name__ == "__main__":
    main()
