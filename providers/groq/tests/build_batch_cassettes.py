"""Write the Batch API cassettes (``cassettes/batch/*.yaml``) by hand, in vcrpy's format.

No live Groq account was used. Shapes: groq 1.7.0 SDK (resources/files.py ``create``
multipart ``purpose=batch``, ``content``, ``delete``; resources/batches.py ``create``,
``retrieve``, ``cancel``; types/file_create_response.py, file_delete_response.py,
batch_create_response.py, batch_retrieve_response.py). The output and error files use
the OpenAI-compatible batch line ``{"id", "custom_id", "response": {"status_code",
"request_id", "body"}, "error"}`` that console.groq.com/docs/batch documents; the
completions in them are the ones of the endpoint cassette, so both paths answer alike.
test_groq_batch.py parses every body with the SDK's types. Run from the repo root:

    python providers/groq/tests/build_batch_cassettes.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent / "cassettes" / "batch"
BASE = "https://api.groq.com/openai/v1"
MODEL = "openai/gpt-oss-120b"
CREATED = 1763115600
BATCH = "batch_01kak3c9p4x7v2m8q1n6r5t0ya"
FILE_IN, FILE_OUT, FILE_ERR = (
    "file_01kak3c8z1f5h7j2k4m6n8p0qa",
    "file_01kak3k2b3c5d7f9g1h3j5k7mb",
    "file_01kak3k2b3c5d7f9g1h3j5k7mc",
)
PROMPTS = ["Say hello in five words.", "Name a prime number.", "Summarise every book ever written."]
PARAMS = {"max_completion_tokens": 64, "temperature": 0}
HEADERS = {
    "content-type": ["application/json"],
    "cache-control": ["private, max-age=0, no-store, no-cache, must-revalidate"],
    "via": ["1.1 google"],
    "server": ["cloudflare"],
}


def completion(index: int, text: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-7c1e9a52-3f0d-4b8e-a6d2-91c4f5e0b3a{index}",
        "object": "chat.completion",
        "created": CREATED + 60 + index,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "queue_time": 0.0312,
            "prompt_tokens": prompt_tokens,
            "prompt_time": 0.0042,
            "completion_tokens": completion_tokens,
            "completion_time": 0.0584,
            "total_tokens": prompt_tokens + completion_tokens,
            "total_time": 0.0626,
        },
        "system_fingerprint": "fp_e10890e4b9",
        "x_groq": {"id": f"req_01kak3m0b7w3x9d5n1q8ze6mt{index}"},
    }


ANSWERS = [completion(0, "Hello there, nice meeting you!", 77, 9), completion(1, "Seven.", 75, 3)]
TOO_LONG = {
    "error": {
        "message": "Please reduce the length of the messages or completion.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


def chat_body(prompt: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt}], "model": MODEL, **PARAMS}


def interaction(
    method: str,
    path: str,
    status: int,
    body: Any,
    request_body: Any = None,
    text: str = "",
    request_id: str = "",
) -> dict[str, Any]:
    reasons = {200: "OK", 400: "Bad Request"}
    request: dict[str, Any] = {
        "method": method,
        "uri": f"{BASE}{path}",
        "body": json.dumps(request_body) if isinstance(request_body, dict) else request_body,
        "headers": {"authorization": ["REDACTED"], "accept": ["application/json"]},
    }
    if isinstance(request_body, dict):
        request["headers"]["content-type"] = ["application/json"]
    content = text or json.dumps(body, separators=(",", ":"))
    headers = {key: list(value) for key, value in HEADERS.items()}
    if text:
        headers["content-type"] = ["application/octet-stream"]
    headers["x-request-id"] = [request_id or f"req_01kak3z{len(path):02d}{status}{method.lower()}"]
    return {
        "request": request,
        "response": {
            "status": {"code": status, "message": reasons[status]},
            "headers": headers,
            "body": {"string": content},
        },
    }


def batch_object(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": BATCH,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": FILE_IN,
        "completion_window": "24h",
        "status": status,
        "output_file_id": None,
        "error_file_id": None,
        "created_at": CREATED,
        "in_progress_at": None,
        "expires_at": CREATED + 86400,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 3, "completed": 0, "failed": 0},
        "metadata": {"hostkit_job": "set-by-the-test"},
        **fields,
    }


def output_line(index: int) -> dict[str, Any]:
    return {
        "id": f"batch_req_01kak3n{index}",
        "custom_id": str(index),
        "response": {
            "status_code": 200,
            "request_id": ANSWERS[index]["x_groq"]["id"],
            "body": ANSWERS[index],
        },
        "error": None,
    }


def native() -> list[dict[str, Any]]:
    done = {
        "output_file_id": FILE_OUT,
        "error_file_id": FILE_ERR,
        "in_progress_at": CREATED + 5,
        "finalizing_at": CREATED + 70,
        "completed_at": CREATED + 72,
        "request_counts": {"total": 3, "completed": 2, "failed": 1},
    }
    running = {
        "in_progress_at": CREATED + 5,
        "request_counts": {"total": 3, "completed": 1, "failed": 0},
    }
    # the output file lists what finished in the order it finished (not the input's)
    output = "\n".join(json.dumps(output_line(i)) for i in (1, 0)) + "\n"
    error_line = {
        "id": "batch_req_01kak3n2",
        "custom_id": "2",
        "response": {
            "status_code": 400,
            "request_id": "req_01kak3m0b7w3x9d5n1q8ze6mt2",
            "body": TOO_LONG,
        },
        "error": None,
    }
    file_info = {
        "id": FILE_IN,
        "object": "file",
        "bytes": 611,
        "created_at": CREATED - 2,
        "filename": "hostkit-batch.jsonl",
        "purpose": "batch",
    }
    return [
        interaction("POST", "/files", 200, file_info),
        interaction("POST", "/batches", 200, batch_object("validating")),
        interaction("GET", f"/batches/{BATCH}", 200, batch_object("in_progress", **running)),
        interaction("GET", f"/batches/{BATCH}", 200, batch_object("completed", **done)),
        interaction("GET", f"/files/{FILE_OUT}/content", 200, None, text=output),
        interaction(
            "GET", f"/files/{FILE_ERR}/content", 200, None, text=json.dumps(error_line) + "\n"
        ),
        *(
            interaction("DELETE", f"/files/{f}", 200, {"id": f, "object": "file", "deleted": True})
            for f in (FILE_IN, FILE_OUT, FILE_ERR)
        ),
    ]


def endpoint() -> list[dict[str, Any]]:
    """The same three requests through the chat completions endpoint (hostkit batch)."""
    ids = [f"req_01kak3m0b7w3x9d5n1q8ze6mt{i}" for i in range(3)]
    return [
        interaction(
            "POST", "/chat/completions", 200, ANSWERS[0], chat_body(PROMPTS[0]), request_id=ids[0]
        ),
        interaction(
            "POST", "/chat/completions", 200, ANSWERS[1], chat_body(PROMPTS[1]), request_id=ids[1]
        ),
        interaction(
            "POST", "/chat/completions", 400, TOO_LONG, chat_body(PROMPTS[2]), request_id=ids[2]
        ),
    ]


def write(name: str, interactions: list[dict[str, Any]], what: str) -> None:
    header = (
        f"# {what}\n# Written by build_batch_cassettes.py (by hand, in vcrpy's format; no live"
        " Groq account was used).\n# Credentials appear only as REDACTED; ids are made up but"
        " shaped like Groq's.\n"
    )
    text = yaml.safe_dump({"version": 1, "interactions": interactions}, sort_keys=False, width=1000)
    (HERE / name).write_text(header + text)


if __name__ == "__main__":
    write(
        "native.yaml",
        native(),
        "hostkit batch --native on Groq: file upload (purpose=batch), batch create, two polls,"
        " output and error file content, deletes",
    )
    write("endpoint.yaml", endpoint(), "the same requests through chat completions")
