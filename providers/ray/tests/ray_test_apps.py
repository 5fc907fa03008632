"""Helpers the test cluster imports (this folder is on its PYTHONPATH; not collected).

* ``unrelated:app`` - a plain Serve application hostkit did not build;
* ``batch_echo`` - a model that takes a list (Serve batching) and says how big each
  batch was, so a test can assert on what the model saw;
* ``hold_until_released`` - a model whose requests stay in flight until the test
  creates a file, so a test can count requests in flight.
"""

from __future__ import annotations

import os
import time
from typing import Any


def batch_echo(inputs: list[Any]) -> list[dict[str, Any]]:
    """One output per input, each naming the size of the batch it came in."""
    time.sleep(0.05)  # vectorised: a whole batch costs about what one input does
    return [{"batch_size": len(inputs), "echo": item, "pid": os.getpid()} for item in inputs]


def slow_echo(payload: Any) -> Any:
    """A model that takes a moment, so requests overlap a replica kill."""
    time.sleep(0.05)
    return {"echo": payload, "pid": os.getpid()}


def hang_on_request(payload: Any) -> Any:
    """Never returns for ``"hang"``; answers anything else at once."""
    if payload == "hang":
        time.sleep(3600)
    return {"echo": payload, "pid": os.getpid()}


def hold_until_released(payload: dict[str, Any]) -> dict[str, Any]:
    """Answers once the file ``payload["release"]`` exists (at most ``payload["limit"]``
    seconds, default 120), so the request is in flight until the test says so."""
    release = str(payload["release"])
    deadline = time.monotonic() + float(payload.get("limit", 120))
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"id": payload.get("id"), "released": os.path.exists(release), "pid": os.getpid()}


def build_unrelated(args: dict[str, Any]) -> Any:
    """An application builder for a plain Serve app (not hostkit's)."""
    from ray import serve

    @serve.deployment(ray_actor_options={"num_cpus": 0.1})
    class Unrelated:
        async def __call__(self, request: Any) -> str:
            return f"unrelated {os.getpid()}"

    return Unrelated.bind()
