"""Helpers the test cluster imports (this folder is on its PYTHONPATH; not collected).

* ``unrelated:app`` - a plain Serve application hostkit did not build;
* ``batch_echo`` - a model that takes a list (Serve batching) and says how big each
  batch was, so a test can assert on what the model saw.
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


def build_unrelated(args: dict[str, Any]) -> Any:
    """An application builder for a plain Serve app (not hostkit's)."""
    from ray import serve

    @serve.deployment(ray_actor_options={"num_cpus": 0.1})
    class Unrelated:
        async def __call__(self, request: Any) -> str:
            return f"unrelated {os.getpid()}"

    return Unrelated.bind()
