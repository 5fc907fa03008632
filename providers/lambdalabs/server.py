"""What runs on a Lambda instance: the model server, its start-up script and its key.

Lambda Cloud's launch call takes cloud-init ``user_data`` (plain text, at most 1 MB;
``POST /api/v1/instance-operations/launch`` in the Lambda Cloud API spec 1.10.0), so
hostkit needs no SSH session: the instance starts the server itself on first boot.
The script (a shell script, cloud-init's ``#!`` user-data format) does three things:

1. writes ``/etc/hostkit/server.env`` (mode 0600): the key the server checks
   (``VLLM_API_KEY`` and ``HOSTKIT_API_KEY``) and the spec's ``env``;
2. starts the serving container with Docker (Lambda Stack ships Docker and the
   NVIDIA container toolkit): vLLM's OpenAI-compatible image for a Hugging Face model
   id, or the spec's own ``image``; ``--restart on-failure:3``;
3. starts a watchdog: if the container cannot start or exits for good, the watchdog
   takes over the server port and answers ``/health`` with HTTP 503 and
   ``{"hostkit_status": "failed", "reason": <the container's last log lines>}`` (the
   reason only to a caller holding the key), so a deploy fails with the server's own
   words instead of timing out.

The key is never stored: by default it is derived from the Lambda API key and the
deployment name (HMAC-SHA256), so any process holding the same Lambda key can
re-derive it; or it is read from an environment variable the user names, and only
that variable's name is recorded (as an instance tag).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hostkit.adapters import derive_server_key as _derive

__all__ = [
    "CONTAINER",
    "VLLM_IMAGE",
    "ServerPlan",
    "check_env",
    "derive_server_key",
    "is_vllm_image",
    "render_user_data",
]

#: vLLM's OpenAI-compatible server image, pinned (vllm 0.33.0 is the release of 2026-11)
VLLM_IMAGE = "vllm/vllm-openai:v0.33.0"
#: the serving container's name on the instance
CONTAINER = "hostkit-server"
#: cloud-init caps user data at 1 MB on Lambda
MAX_USER_DATA = 1_000_000
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def is_vllm_image(image: str | None) -> bool:
    """Whether ``image`` is vLLM's OpenAI server (None: hostkit's pinned one)."""
    return image is None or image.split(":", 1)[0].split("@", 1)[0] == "vllm/vllm-openai"


def derive_server_key(lambda_api_key: str, deployment: str) -> str:
    """The key the model server checks, re-derivable from the Lambda key and the name.

    Shaped like an OpenAI key (``sk-…``) so hostkit's recording scrubbers mask it.
    """
    return _derive(lambda_api_key, "lambdalabs", deployment)


@dataclass(frozen=True)
class ServerPlan:
    """Everything the start-up script needs (``key`` is the only secret)."""

    model: str
    key: str
    port: int = 8000
    image: str | None = None
    server_args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    gpus: int = 1
    cache_dir: str = "/opt/hostkit/hf-cache"

    @property
    def vllm(self) -> bool:
        return is_vllm_image(self.image)

    def docker_command(self) -> list[str]:
        """The ``docker run`` argument list (no secret in it: those are in the env file)."""
        image = self.image or VLLM_IMAGE
        command = [
            "docker",
            "run",
            "-d",
            "--name",
            CONTAINER,
            "--restart",
            "on-failure:3",
            "--gpus",
            "all",
            "--ipc=host",
            "-p",
            f"{self.port}:{self.port}",
            "--env-file",
            "/etc/hostkit/server.env",
            "-v",
            f"{self.cache_dir}:/root/.cache/huggingface",
            image,
        ]
        if self.vllm:
            command += ["--model", self.model, "--host", "0.0.0.0", "--port", str(self.port)]
            command += ["--enable-request-id-headers"]
            if self.gpus > 1 and "--tensor-parallel-size" not in self.server_args:
                command += ["--tensor-parallel-size", str(self.gpus)]
        command += list(self.server_args)
        return command


_WATCHDOG = r"""
import http.server, json, os, subprocess, time

PORT = int(os.environ["HOSTKIT_PORT"])
KEY = ""
for line in open("/etc/hostkit/server.env"):
    if line.startswith("HOSTKIT_API_KEY="):
        KEY = line.split("=", 1)[1].strip()


def state():
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "__CONTAINER__"],
        capture_output=True, text=True,
    )
    parts = out.stdout.split()
    return (parts[0], int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


reason = None
while reason is None:
    if os.path.exists("/var/lib/hostkit/failed"):
        reason = open("/var/lib/hostkit/failed").read()[-4000:]
        break
    current = state()
    if current and (current[0] == "dead" or (current[0] == "exited" and current[1] >= 3)):
        logs = subprocess.run(["docker", "logs", "--tail", "40", "__CONTAINER__"],
                              capture_output=True, text=True)
        reason = (logs.stdout + logs.stderr)[-4000:] or "the model server exited"
        break
    time.sleep(15)


class Failed(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        shown = reason if self.headers.get("Authorization") == "Bearer " + KEY else (
            "the model server exited; send hostkit's key to see why")
        body = json.dumps({"hostkit_status": "failed", "reason": shown}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


http.server.HTTPServer(("0.0.0.0", PORT), Failed).serve_forever()
""".replace("__CONTAINER__", CONTAINER)


def check_env(env: Mapping[str, str]) -> None:
    """ValueError unless every name is a variable name and every value one line."""
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            raise ValueError(f"env: {name!r} is not a valid environment variable name")
        if "\n" in value or "\r" in value:
            raise ValueError(f"env: the value of {name} must be one line")


def _env_lines(plan: ServerPlan) -> list[str]:
    check_env(plan.env)
    lines = [
        f"VLLM_API_KEY={plan.key}",
        f"HOSTKIT_API_KEY={plan.key}",
        f"HOSTKIT_MODEL={plan.model}",
        f"HOSTKIT_PORT={plan.port}",
        f"PORT={plan.port}",
    ]
    lines += [f"{name}={value}" for name, value in plan.env.items()]
    return lines


def render_user_data(plan: ServerPlan) -> str:
    """The cloud-init user data (a shell script run once, as root, on first boot)."""
    env = "\n".join(_env_lines(plan))
    docker = shlex.join(plan.docker_command())
    script = f"""#!/bin/bash
# hostkit: start the model server ({plan.image or VLLM_IMAGE}) on port {plan.port}
set -u
mkdir -p /etc/hostkit /opt/hostkit /var/lib/hostkit {shlex.quote(plan.cache_dir)}
umask 077
cat > /etc/hostkit/server.env <<'HOSTKIT_ENV'
{env}
HOSTKIT_ENV
cat > /opt/hostkit/watchdog.py <<'HOSTKIT_WATCHDOG'
{_WATCHDOG.strip()}
HOSTKIT_WATCHDOG
umask 022
if command -v nvidia-ctk >/dev/null 2>&1; then
  nvidia-ctk runtime configure --runtime=docker && systemctl restart docker
fi
if ! {docker} >/var/lib/hostkit/docker-run.log 2>&1; then
  cp /var/lib/hostkit/docker-run.log /var/lib/hostkit/failed
fi
HOSTKIT_PORT={plan.port} nohup python3 /opt/hostkit/watchdog.py \\
  >/var/log/hostkit-watchdog.log 2>&1 &
"""
    if len(script.encode()) > MAX_USER_DATA:
        raise ValueError("the start-up script exceeds Lambda's 1 MB user-data limit")
    return script
