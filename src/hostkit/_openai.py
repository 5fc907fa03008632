"""The OpenAI chat-completions wire format, shared by every adapter that speaks it.

Groq, Cerebras, the Hugging Face router, vLLM, TGI and llama.cpp all accept the same
``/chat/completions`` body and return the same shape, so building the request,
reading the answer and reading a server-sent-event stream live here once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hostkit._http import request_id_from, translate_transport_errors
from hostkit._models import InvokeResult, Stream, Usage
from hostkit.errors import ConfigError, ProviderError

if TYPE_CHECKING:
    from hostkit._http import HttpClient

__all__ = [
    "CHAT_PARAMS",
    "build_chat_body",
    "chat_stream",
    "iter_sse_data",
    "result_from_completion",
    "result_from_server",
    "to_messages",
    "usage_from",
]

#: parameters every chat platform understands; anything else is passed through
CHAT_PARAMS = ("max_tokens", "temperature", "top_p", "stop", "seed")


def to_messages(request: Any) -> list[dict[str, Any]]:
    """OpenAI-style messages from a prompt string, a message list or ``{"messages": ...}``."""
    if isinstance(request, str):
        return [{"role": "user", "content": request}]
    if isinstance(request, Mapping) and "messages" in request:
        request = request["messages"]
    if isinstance(request, list) and all(isinstance(m, Mapping) and "role" in m for m in request):
        return [dict(m) for m in request]
    raise ConfigError(
        "request: expected a prompt string, a list of {'role', 'content'} messages"
        f" or {{'messages': [...]}}; got {type(request).__name__}"
    )


def build_chat_body(
    model: str, request: Any, params: Mapping[str, Any], *, stream: bool = False
) -> dict[str, Any]:
    """The JSON body of a chat-completions call (extra params passed through)."""
    body: dict[str, Any] = {"model": model, "messages": to_messages(request)}
    if isinstance(request, Mapping):
        body.update({k: v for k, v in request.items() if k != "messages"})
    body.update(params)
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    return body


def usage_from(data: Mapping[str, Any] | None) -> Usage:
    if not data:
        return Usage()
    return Usage(
        input_tokens=data.get("prompt_tokens", data.get("input_tokens")),
        output_tokens=data.get("completion_tokens", data.get("output_tokens")),
    )


def result_from_completion(
    data: Mapping[str, Any], *, provider: str, model: str, latency_s: float
) -> InvokeResult:
    """An InvokeResult from a ``chat.completion`` object."""
    choices = data.get("choices") or []
    message = choices[0].get("message", {}) if choices else {}
    text = message.get("content")
    return InvokeResult(
        text=text if isinstance(text, str) else None,
        output=message,
        usage=usage_from(data.get("usage")),
        latency_s=latency_s,
        provider=provider,
        model=str(data.get("model") or model),
        request_id=data.get("id"),
        raw=dict(data),
    )


def result_from_server(
    data: Any,
    headers: Mapping[str, str],
    *,
    custom: bool,
    provider: str,
    model: str,
    latency_s: float,
) -> InvokeResult:
    """The answer of a model server an adapter started: a ``chat.completion`` from an
    OpenAI-compatible server, or (``custom``) a custom image's JSON as it came."""
    if custom:
        return InvokeResult(
            text=data if isinstance(data, str) else None,
            output=data,
            usage=Usage(),
            latency_s=latency_s,
            provider=provider,
            model=model,
            request_id=request_id_from(headers),
            raw=data,
        )
    result = result_from_completion(data, provider=provider, model=model, latency_s=latency_s)
    result.request_id = request_id_from(headers) or result.request_id
    return result


def iter_sse_data(lines: Iterable[str], *, provider: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a server-sent-event stream, ending at ``[DONE]``.

    An ``error`` object inside the stream raises ProviderError with its message.
    """
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise ProviderError(
                f"malformed stream event: {data[:200]}", provider=provider
            ) from None
        if isinstance(event, dict) and event.get("error"):
            error = event["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise ProviderError(f"error in stream: {message}", provider=provider, retryable=False)
        yield event


#: how much of a body that is not a stream is kept to read it as one JSON answer
_MAX_PLAIN_BODY = 4_000_000


class _Lines:
    """The lines of a body, remembering those outside SSE ``data:`` events (up to a cap).

    A server that ignores ``stream: true`` answers with one JSON completion; those lines
    are what :func:`chat_stream` reads back when no event came.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self.events = 0
        self.plain: list[str] = []
        self._size = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            if line.startswith("data:"):
                self.events += 1
            elif not self.events and self._size < _MAX_PLAIN_BODY:
                self.plain.append(line)
                self._size += len(line)
            yield line


def _whole_answer(body: str, *, provider: str) -> dict[str, Any]:
    """The ``chat.completion`` a server sent instead of a stream, or a clear ProviderError."""
    shown = body.strip()[:200] or "an empty body"
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("error"):
        error = data["error"]
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        raise ProviderError(f"error instead of a stream: {message}", provider=provider)
    choices = data.get("choices") if isinstance(data, dict) else None
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
        raise ProviderError(
            "the server answered the streaming request with neither server-sent events"
            f" (data: lines) nor a chat completion: {shown}",
            provider=provider,
            retryable=False,
        )
    assert isinstance(data, dict)
    return data


def chat_stream(
    lines: Iterable[str],
    *,
    provider: str,
    model: str,
    started: float,
    close: Callable[[], None],
    request_id: str | None = None,
) -> Stream:
    """A :class:`Stream` over ``chat.completion.chunk`` events in SSE ``data:`` lines.

    Text comes from each choice's ``delta.content``; usage from the chunk that carries
    it (``stream_options.include_usage``); ``ttft_s`` is measured from ``started``.
    ``close`` releases the connection and may be called more than once.

    A server that ignores ``stream: true`` and answers with one ``chat.completion``
    (``application/json``) gives its whole text as a single chunk, with its usage; a body
    that is neither events nor a completion raises ProviderError (never an empty success).
    """
    parts: list[str] = []
    state: dict[str, Any] = {"usage": None, "id": None, "model": None, "ttft": None}
    body = _Lines(lines)

    def pieces() -> Iterator[str]:
        for event in iter_sse_data(body, provider=provider):
            state["id"] = state["id"] or event.get("id")
            state["model"] = state["model"] or event.get("model")
            if event.get("usage"):
                state["usage"] = event["usage"]
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    yield piece
        if not body.events:  # not a stream: the whole answer, or a clear error
            data = _whole_answer("\n".join(body.plain), provider=provider)
            state["id"], state["model"] = data.get("id"), data.get("model")
            state["usage"] = data.get("usage")
            text = (data["choices"][0].get("message") or {}).get("content")
            if isinstance(text, str) and text:
                yield text

    def chunks() -> Iterator[str]:
        try:
            with translate_transport_errors(provider):
                for piece in pieces():
                    if state["ttft"] is None:
                        state["ttft"] = time.perf_counter() - started
                    parts.append(piece)
                    yield piece
        finally:
            close()

    def finish() -> InvokeResult:
        close()
        text = "".join(parts)
        return InvokeResult(
            text=text,
            output={"role": "assistant", "content": text},
            usage=usage_from(state["usage"]),
            latency_s=time.perf_counter() - started,
            provider=provider,
            model=str(state["model"] or model),
            ttft_s=state["ttft"],
            request_id=request_id or state["id"],
        )

    return Stream(chunks(), finish, close)


def post_chat_stream(
    client: HttpClient,
    path: str,
    body: Mapping[str, Any],
    *,
    provider: str,
    model: str,
    headers: Mapping[str, str] | None = None,
) -> Stream:
    """POST a ``stream: true`` chat body to ``path`` and return its :func:`chat_stream`.

    The connection attempt is retried as :meth:`HttpClient.stream` retries it; the
    stream's ``close`` releases the connection.
    """
    started = time.perf_counter()
    extra = {"headers": dict(headers)} if headers else {}
    context = client.stream("POST", path, json=body, safe=True, **extra)
    response = context.__enter__()

    def close() -> None:
        context.__exit__(None, None, None)

    return chat_stream(
        response.iter_lines(),
        provider=provider,
        model=model,
        started=started,
        close=close,
        request_id=request_id_from(response.headers),
    )
