"""A tiny OpenAI-compatible chat server (standard library only) standing in for vLLM or llama.cpp.

Run: ``python -m hostkit_examples.fake_openai_server --port N [--host H] [--model M] [--delay S]``
(or ``python examples/fake_openai_server.py ...``). It answers ``GET /v1/models`` and
``POST /v1/chat/completions`` (plain, and SSE streaming with a final usage chunk) by echoing
the last user message word by word: ``"Hi there"`` -> ``"echo: Hi there"``. A message
containing ``"[fail]"`` gets an HTTP 400 in the OpenAI error shape.

``--host`` is the address to listen on (default 127.0.0.1), ``--model`` the model id it
reports in ``/v1/models`` and in answers to requests that name none (default ``fake-llm``),
``--delay`` seconds to wait before listening (to try out slow starts).

It lets you try hostkit's LLM path offline: serve it with the ``local`` provider, whose
``options.command`` fills in ``{host}``, ``{port}`` and ``{model}``::

    [deployments.fake-llm]
    provider = "local"
    model = "fake-llm"
    options.command = "python -m hostkit_examples.fake_openai_server --host {host} --port {port} --model {model}"

then ``hostkit deploy fake-llm`` and ``hostkit invoke fake-llm "Hello"``.
"""  # noqa: E501

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "fake-llm"


def reply_to(messages: list[dict[str, str]]) -> str:
    """The answer to a chat: ``echo:`` and the last user message."""
    last = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    return f"echo: {last}"


def usage_of(messages: list[dict[str, str]], words: list[str]) -> dict[str, int]:
    """Token counts in the OpenAI shape, counting words as tokens."""
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(words),
        "total_tokens": prompt_tokens + len(words),
    }


class Handler(BaseHTTPRequestHandler):
    """The two OpenAI endpoints; ``model`` is the id it reports."""

    protocol_version = "HTTP/1.1"
    model = MODEL

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._json(status, {"error": {"message": message, "type": kind}})

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.model, "object": "model"}]})
        else:
            self._error(404, "not found", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self._error(404, "not found", "not_found")
            return
        messages = body.get("messages", [])
        if any("[fail]" in str(m.get("content")) for m in messages):
            self._error(400, "the model refused: [fail]", "invalid_request_error")
            return
        text = reply_to(messages)
        words = text.split(" ")
        usage = usage_of(messages, words)
        model = body.get("model", self.model)
        if body.get("stream"):
            self._stream(words, usage, model)
            return
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }
        self._json(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [choice],
                "usage": usage,
            },
        )

    def _stream(self, words: list[str], usage: dict[str, int], model: str) -> None:
        """Server-sent events: one chunk a word, a usage chunk, then ``[DONE]``."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        head = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        for index, word in enumerate(words):
            piece = word if index == 0 else " " + word
            delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            self._event({**head, "choices": [delta]})
        self._event({**head, "choices": [], "usage": usage})
        self._event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, payload: object) -> None:
        data = f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"
        raw = data.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()


def serve(host: str, port: int, model: str = MODEL) -> None:
    """Answer requests on ``host:port`` until the process is stopped."""
    handler = type("ModelHandler", (Handler,), {"model": model})
    ThreadingHTTPServer((host, port), handler).serve_forever()


def main(argv: list[str] | None = None) -> None:
    """The command line: ``--port`` (required), ``--host``, ``--model``, ``--delay``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="the port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="the address (default 127.0.0.1)")
    parser.add_argument("--model", default=MODEL, help=f"the model id (default {MODEL})")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before listening")
    args = parser.parse_args(argv)
    time.sleep(args.delay)
    serve(args.host, args.port, args.model)


if __name__ == "__main__":
    main()
