"""Predictions on Replicate's public models: the serverless half of the ``replicate`` provider.

A spec without ``instance`` runs here. Nothing is created by ``deploy`` (the model is
looked up); every call creates one *prediction*, which is billed. Replicate deployments
(dedicated hardware, a spec with ``instance``, :mod:`.deployments`) create their
predictions through this same code (:meth:`Predictions.target`).

Wire format (replicate-python 1.0.7: ``model.py``, ``prediction.py``, ``stream.py``;
https://replicate.com/docs/topics/predictions, .../predictions/streaming):

* ``GET /v1/models/{owner}/{name}`` (``.../versions/{id}`` for a pinned version) looks a
  model up; ``QUERY /v1/models`` with a plain-text body searches public models.
* ``POST /v1/models/{owner}/{name}/predictions`` runs an official model; ``POST
  /v1/predictions`` with ``version`` runs a pinned version of any model. ``Prefer:
  wait=N`` holds the request up to N seconds (at most 60); ``Cancel-After`` is a deadline
  after which Replicate cancels the prediction by itself.
* A prediction still ``starting``/``processing`` after the wait is polled at ``urls.get``
  and stopped with ``POST urls.cancel``. Created with ``"stream": true``, it serves
  server-sent events at ``urls.stream``: ``output`` (plain text), ``error`` (JSON with
  ``detail``) and ``done`` (JSON, ``{"reason": "canceled" | "error"}`` when it did not
  succeed).
* Language models answer a list of tokens (joined into ``text``) and report
  ``metrics.input_token_count`` / ``output_token_count``; every prediction reports
  ``metrics.predict_time``, the seconds of hardware it was billed for.

Pure decisions (input mapping, text, usage, errors) are functions; :class:`Predictions`
does the I/O, with sync and async twins.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

from hostkit import Deployment, InvokeResult, Stream, Usage
from hostkit.adapters import get_logger, parse_go_duration, request_id_from, to_messages
from hostkit.errors import (
    ConfigError,
    HostkitError,
    ModelError,
    NotFound,
    ProviderError,
    Timeout,
)

if TYPE_CHECKING:
    import httpx

    from .deployments import DeploymentRef
    from .provider import ReplicateProvider

__all__ = [
    "TERMINAL",
    "ModelRef",
    "Predictions",
    "ServerSentEvent",
    "SseDecoder",
    "build_input",
    "cancel_after",
    "output_text",
    "prediction_failure",
    "rate_limits_from",
    "text_output_from_schema",
    "timings_from",
    "usage_from_metrics",
]

log = get_logger("hostkit.replicate")

#: statuses after which a prediction never changes ("aborted": its deadline passed unstarted)
TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
#: hostkit's common parameters and the input field Replicate's language models call them
PARAM_FIELDS = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop_sequences",
}
#: the platform's own timings (seconds) copied to ``InvokeResult.timings``
TIMING_METRICS = ("predict_time", "total_time", "time_to_first_token")
#: the longest ``Prefer: wait`` Replicate honours
MAX_WAIT = 60
#: a prediction that failed because its input does not fit the model
CONTEXT_LENGTH = re.compile(
    r"(?:max(?:imum)?|exceeds?)\s+(?:the\s+)?(?:input|context|prompt)\s+(?:length|size|window)"
    r"|context\s+(?:length|window)|prompt\s+length|too\s+many\s+tokens|input\s+is\s+too\s+long",
    re.IGNORECASE,
)
_REF = re.compile(r"^(?P<owner>[^/\s:]+)/(?P<name>[^/\s:]+)(?::(?P<version>[0-9A-Za-z._-]+))?\Z")
_URL = re.compile(r"^(?:https?|data):", re.IGNORECASE)


# -- pure decisions -------------------------------------------------------------
@dataclass(frozen=True)
class ModelRef:
    """``owner/name`` (an official model, or a model's latest version) or ``owner/name:version``."""

    owner: str
    name: str
    version: str | None = None

    @classmethod
    def parse(cls, model: str) -> ModelRef:
        match = _REF.match(model.strip()) if isinstance(model, str) else None
        if match is None:
            raise ConfigError(
                f"model {model!r}: Replicate models are named 'owner/name' (official models)"
                " or 'owner/name:version' (any public model, pinned to a version id)",
                provider="replicate",
            )
        return cls(match["owner"], match["name"], match["version"])

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def model_path(self) -> str:
        return f"/v1/models/{quote(self.owner, safe='')}/{quote(self.name, safe='')}"

    @property
    def lookup_path(self) -> str:
        if self.version:
            return f"{self.model_path}/versions/{quote(self.version, safe='')}"
        return self.model_path

    @property
    def create_path(self) -> str:
        return "/v1/predictions" if self.version else f"{self.model_path}/predictions"


#: where a prediction is created: a public model, or a Replicate deployment
Target: TypeAlias = "ModelRef | DeploymentRef"


def _text_of(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return "" if content is None else str(content)


def _prompt_from_messages(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Replicate's language models take ``prompt`` and ``system_prompt``, not messages.

    One user turn becomes the prompt as it is; a conversation is written out as a
    transcript that ends with ``Assistant:``.
    """
    system = [_text_of(m) for m in messages if m.get("role") == "system"]
    turns = [m for m in messages if m.get("role") != "system"]
    if len(turns) == 1 and turns[0].get("role") == "user":
        prompt = _text_of(turns[0])
    else:
        lines = [f"{str(m.get('role', 'user')).capitalize()}: {_text_of(m)}" for m in turns]
        prompt = "\n\n".join([*lines, "Assistant:"])
    data: dict[str, Any] = {"prompt": prompt}
    if system:
        data["system_prompt"] = "\n\n".join(system)
    return data


def build_input(request: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The prediction's ``input``: a prompt, OpenAI messages, or the model's own input table.

    ``max_tokens``, ``temperature``, ``top_p`` and ``seed`` keep their names, ``stop``
    becomes ``stop_sequences`` (comma-separated); any other parameter is passed through.
    """
    if isinstance(request, str):
        data: dict[str, Any] = {"prompt": request}
    elif isinstance(request, list) or (isinstance(request, Mapping) and "messages" in request):
        data = _prompt_from_messages(to_messages(request))
        if isinstance(request, Mapping):
            data.update({k: v for k, v in request.items() if k != "messages"})
    elif isinstance(request, Mapping):
        data = dict(request)
    else:
        raise ConfigError(
            "request: expected a prompt string, a list of {'role', 'content'} messages or the"
            f" model's input as a table; got {type(request).__name__}",
            provider="replicate",
        )
    for key, value in params.items():
        if key == "stream":
            raise ConfigError(
                "stream=True: call stream() instead of invoke()", provider="replicate"
            )
        if value is None:
            continue
        if key == "stop" and not isinstance(value, str):
            value = ",".join(str(item) for item in value)
        data[PARAM_FIELDS.get(key, key)] = value
    return data


def text_output_from_schema(schema: Any) -> bool | None:
    """Whether a version's output is text (a string, or tokens to concatenate); None: unknown."""
    try:
        output = schema["components"]["schemas"]["Output"]
    except (KeyError, TypeError):
        return None
    if not isinstance(output, Mapping):
        return None
    if output.get("type") == "string":
        return output.get("format") != "uri"
    if output.get("type") == "array":
        items = output.get("items") or {}
        return (
            isinstance(items, Mapping)
            and items.get("type") == "string"
            and items.get("format") != "uri"
            and output.get("x-cog-array-display") == "concatenate"
        )
    return False


def output_text(output: Any, text_output: bool | None, metrics: Mapping[str, Any]) -> str | None:
    """``InvokeResult.text``: a language model's tokens joined; None for images, files, data."""
    textual = text_output if text_output is not None else "output_token_count" in metrics
    if isinstance(output, str):
        return output if textual or not _URL.match(output) else None
    if textual and isinstance(output, list) and all(isinstance(x, str) for x in output):
        return "".join(output)
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_from_metrics(metrics: Mapping[str, Any]) -> Usage:
    return Usage(
        input_tokens=_int(metrics.get("input_token_count")),
        output_tokens=_int(metrics.get("output_token_count")),
    )


def timings_from(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        key: float(metrics[key])
        for key in TIMING_METRICS
        if isinstance(metrics.get(key), int | float) and not isinstance(metrics.get(key), bool)
    }


def rate_limits_from(headers: Mapping[str, str]) -> dict[str, Any]:
    """Replicate's ``ratelimit-remaining`` (requests left) and ``ratelimit-reset`` (seconds)."""
    limits: dict[str, Any] = {}
    remaining = headers.get("ratelimit-remaining")
    if remaining is not None and remaining.strip().isdigit():
        limits["remaining_requests"] = int(remaining)
    reset = headers.get("ratelimit-reset")
    if reset is not None and (seconds := parse_go_duration(reset)) is not None:
        limits["reset_requests_s"] = seconds
    return limits


def cancel_after(seconds: float) -> str:
    """A ``Cancel-After`` deadline of at least ``seconds``, in whole minutes (``"5m"``)."""
    return f"{max(1, math.ceil(seconds / 60))}m"


def prediction_failure(
    prediction: Mapping[str, Any], provider: str, *, prefix: str = ""
) -> HostkitError | None:
    """The hostkit error for a prediction that ended without succeeding (None if it did)."""
    status = prediction.get("status")
    if status == "succeeded" or status not in TERMINAL:
        return None
    pid = prediction.get("id")
    model = prediction.get("model") or "the model"
    reason = str(prediction.get("error") or "").strip()
    common: dict[str, Any] = {"provider": provider, "request_id": pid, "retryable": False}
    if status == "failed":
        if CONTEXT_LENGTH.search(reason):
            return ProviderError(
                f"{prefix}the input is longer than {model} accepts: {reason}; shorten the"
                " prompt or lower max_tokens",
                **common,
            )
        return ModelError(  # the model's own code failed: not transient
            f"{prefix}prediction {pid} on {model} failed: {reason or 'Replicate gave no reason'}",
            **common,
        )
    if status == "aborted":
        return Timeout(
            f"{prefix}prediction {pid} on {model} was aborted: its deadline passed before it"
            " started",
            **common,
        )
    return ProviderError(
        f"{prefix}prediction {pid} on {model} was canceled before it finished", **common
    )


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None


class SseDecoder:
    """Lines in, events out (the WHATWG rules: ``data`` lines joined by newlines)."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        if not line:
            if self._event is None and not self._data:
                return None
            event = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = None, []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def stream_error(data: str, prediction: Mapping[str, Any], provider: str) -> HostkitError:
    """The hostkit error for an ``error`` event (its data is JSON with ``detail``)."""
    payload = _json_or_text(data)
    detail = payload.get("detail") if isinstance(payload, Mapping) else payload
    failed = {**prediction, "status": "failed", "error": str(detail or data).strip()}
    error = prediction_failure(failed, provider, prefix="error in stream: ")
    assert error is not None
    return error


# -- I/O ----------------------------------------------------------------------------
@dataclass
class _StreamState:
    prediction: dict[str, Any]
    headers: Mapping[str, str]
    started: float
    text_output: bool | None = None
    parts: list[str] = field(default_factory=list)
    ttft: float | None = None
    latency: float | None = None
    settled: bool = False  # finished on Replicate, or cancel already sent


def _backoff(initial: float, cap: float) -> Iterator[float]:
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2, cap)


class Predictions:
    """Create, poll, stream and cancel predictions through the provider's SDK client.

    Every HTTP call goes through ``provider.call`` / ``provider.acall`` (error translation
    and the one retry policy). Creating a prediction is billable and not idempotent, so
    it is retried only when it provably did not happen (429, connection never made).
    ``clock`` and the provider's ``sleep``/``asleep`` are injectable for tests.
    """

    poll_initial = 0.5
    poll_max = 5.0

    def __init__(self, provider: ReplicateProvider) -> None:
        self.provider = provider
        self.clock = time.monotonic

    # -- requests -------------------------------------------------------------
    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            raise self.provider.status_error(response)

    def request(self, method: str, url: str, *, safe: bool, **kwargs: Any) -> httpx.Response:
        def attempt() -> httpx.Response:
            response = self.provider.http().request(method, url, **kwargs)
            self._raise_for_status(response)
            return response

        return self.provider.call(attempt, safe=safe)

    async def arequest(self, method: str, url: str, *, safe: bool, **kwargs: Any) -> httpx.Response:
        async def attempt() -> httpx.Response:
            response = await self.provider.ahttp().request(method, url, **kwargs)
            if response.status_code >= 400:
                await response.aread()
                raise self.provider.status_error(response)
            return response

        return await self.provider.acall(attempt, safe=safe)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(
                f"expected a JSON object from {response.request.url.path},"
                f" got {response.text[:200]!r}",
                provider=self.provider.name,
                status_code=response.status_code,
                request_id=request_id_from(response.headers),
            )
        return data

    @staticmethod
    def _url(prediction: Mapping[str, Any], which: str) -> str:
        urls = prediction.get("urls") or {}
        url = urls.get(which) if isinstance(urls, Mapping) else None
        if isinstance(url, str) and url:
            return url
        base = f"/v1/predictions/{quote(str(prediction.get('id')), safe='')}"
        return base if which == "get" else f"{base}/{which}"

    def target(self, deployment: Deployment) -> Target:
        """Where predictions for ``deployment`` are created: the model, or its deployment."""
        key = deployment.raw.get("deployment")
        if deployment.raw.get("serverless") is False and isinstance(key, str) and "/" in key:
            from .deployments import DeploymentRef

            owner, name = key.split("/", 1)
            return DeploymentRef(owner, name)
        return ModelRef.parse(deployment.model)

    # -- look-up ----------------------------------------------------------------
    def lookup(self, ref: ModelRef) -> dict[str, Any]:
        """The model (or the pinned version) as Replicate describes it; NotFound if absent."""
        return self._json(self.request("GET", ref.lookup_path, safe=True))

    def search(self, query: str | None = None) -> list[str]:
        """Public model ids matching ``query`` (``QUERY /v1/models``), or the first page."""
        if query:
            response = self.request(
                "QUERY",
                "/v1/models",
                safe=True,
                content=query.encode("utf-8"),
                headers={"Content-Type": "text/plain"},
            )
        else:
            response = self.request("GET", "/v1/models", safe=True)
        results = self._json(response).get("results") or []
        return [
            f"{m['owner']}/{m['name']}"
            for m in results
            if isinstance(m, Mapping) and m.get("owner") and m.get("name")
        ]

    # -- creating -----------------------------------------------------------------
    def _create_call(
        self, ref: Target, payload: dict[str, Any], *, stream: bool, deadline: float
    ) -> tuple[str, dict[str, Any]]:
        """URL and request options (body, headers, timeout) of the POST that creates it."""
        import httpx

        provider = self.provider
        body: dict[str, Any] = {"input": payload}
        if ref.version:
            body["version"] = ref.version
        headers = {"Cancel-After": cancel_after(provider.timeout)}
        read = provider.timeout
        if stream:
            body["stream"] = True
        else:
            remaining = max(1.0, deadline - self.clock())
            wait = max(1, min(provider.wait_seconds, math.ceil(remaining)))
            headers["Prefer"] = f"wait={wait}"
            read = wait + 5.0
        options = {
            "json": body,
            "headers": headers,
            "timeout": httpx.Timeout(read, connect=min(10.0, provider.timeout)),
        }
        return ref.create_path, options

    def _not_found(self, error: NotFound, ref: Target) -> NotFound:
        hint = ""
        if isinstance(ref, ModelRef) and not ref.version:
            hint = (
                f"; if {ref.key} is not an official model, pin a version: '{ref.key}:<version id>'"
            )
        return NotFound(
            f"{error.message}{hint}",
            provider=self.provider.name,
            status_code=error.status_code,
            request_id=error.request_id,
        )

    def create(
        self, ref: Target, payload: dict[str, Any], *, stream: bool, deadline: float
    ) -> httpx.Response:
        url, options = self._create_call(ref, payload, stream=stream, deadline=deadline)
        try:
            return self.request("POST", url, safe=False, **options)
        except NotFound as error:
            raise self._not_found(error, ref) from error

    async def acreate(
        self, ref: Target, payload: dict[str, Any], *, deadline: float
    ) -> httpx.Response:
        url, options = self._create_call(ref, payload, stream=False, deadline=deadline)
        try:
            return await self.arequest("POST", url, safe=False, **options)
        except NotFound as error:
            raise self._not_found(error, ref) from error

    # -- waiting and cancelling -------------------------------------------------
    def _timed_out(self, prediction: Mapping[str, Any]) -> Timeout:
        return Timeout(
            f"prediction {prediction.get('id')} on {prediction.get('model') or 'the model'} was"
            f" still {prediction.get('status')} after {self.provider.timeout:g}s; it was"
            " canceled (raise the provider's timeout setting to wait longer)",
            provider=self.provider.name,
            request_id=prediction.get("id"),
            retryable=False,
        )

    def wait(self, prediction: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Poll ``urls.get`` with capped backoff until the prediction ends.

        Whatever stops the wait first (the deadline, KeyboardInterrupt, polls that keep
        failing) cancels the prediction, so that nothing runs on, unwatched and billed.
        """
        delays = _backoff(self.poll_initial, self.poll_max)
        try:
            while prediction.get("status") not in TERMINAL:
                now = self.clock()
                if now >= deadline:
                    raise self._timed_out(prediction)
                self.provider.sleep(min(next(delays), deadline - now))
                response = self.request("GET", self._url(prediction, "get"), safe=True)
                prediction = self._json(response)
        except BaseException:
            self.cancel_quietly(prediction)
            raise
        return prediction

    async def await_(self, prediction: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Async twin of :meth:`wait` (also cancels when the task is cancelled)."""
        delays = _backoff(self.poll_initial, self.poll_max)
        try:
            while prediction.get("status") not in TERMINAL:
                now = self.clock()
                if now >= deadline:
                    raise self._timed_out(prediction)
                await self.provider.asleep(min(next(delays), deadline - now))
                response = await self.arequest("GET", self._url(prediction, "get"), safe=True)
                prediction = self._json(response)
        except BaseException:  # also asyncio.CancelledError: the task was cancelled
            await self.acancel_quietly(prediction)
            raise
        return prediction

    def cancel(self, prediction: Mapping[str, Any]) -> dict[str, Any]:
        """``POST urls.cancel`` (safe to repeat: cancelling twice changes nothing)."""
        return self._json(self.request("POST", self._url(prediction, "cancel"), safe=True))

    def _cancel_failed(self, prediction: Mapping[str, Any], error: Exception) -> None:
        log.warning(
            "could not cancel prediction %s (%s); it may still be running: cancel it at %s",
            prediction.get("id"),
            error,
            self._url(prediction, "cancel"),
        )

    def cancel_quietly(self, prediction: Mapping[str, Any]) -> None:
        """Cancel, logging (never raising) a failure: the original error matters more."""
        try:
            self.cancel(prediction)
        except Exception as error:
            self._cancel_failed(prediction, error)

    async def acancel_quietly(self, prediction: Mapping[str, Any]) -> None:
        try:
            url = self._url(prediction, "cancel")
            self._json(await self.arequest("POST", url, safe=True))
        except Exception as error:
            self._cancel_failed(prediction, error)

    # -- results --------------------------------------------------------------
    def result(
        self,
        deployment: Deployment,
        prediction: dict[str, Any],
        headers: Mapping[str, str],
        latency: float,
        *,
        text: str | None = None,
        ttft: float | None = None,
    ) -> InvokeResult:
        """An InvokeResult from a finished prediction (a failed one raises its error)."""
        failure = prediction_failure(prediction, self.provider.name)
        if failure is not None:
            raise failure
        metrics = prediction.get("metrics") or {}
        if not isinstance(metrics, Mapping):
            metrics = {}
        output = prediction.get("output")
        if text is None:
            text = output_text(output, deployment.raw.get("text_output"), metrics)
        usage = usage_from_metrics(metrics)
        return InvokeResult(
            text=text,
            output=output,
            usage=usage,
            latency_s=latency,
            provider=self.provider.name,
            model=deployment.model,
            ttft_s=ttft,
            cost_usd=self.provider.prediction_cost(deployment, usage, metrics),
            request_id=prediction.get("id"),
            timings=timings_from(metrics),
            rate_limits=rate_limits_from(headers),
            raw=prediction,
        )

    # -- the three ways to run ------------------------------------------------------
    def run(self, deployment: Deployment, request: Any, params: Mapping[str, Any]) -> InvokeResult:
        ref = self.target(deployment)
        payload = build_input(request, params)
        started = time.perf_counter()
        deadline = self.clock() + self.provider.timeout
        response = self.create(ref, payload, stream=False, deadline=deadline)
        prediction = self.wait(self._json(response), deadline)
        return self.result(deployment, prediction, response.headers, time.perf_counter() - started)

    async def arun(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any]
    ) -> InvokeResult:
        ref = self.target(deployment)
        payload = build_input(request, params)
        started = time.perf_counter()
        deadline = self.clock() + self.provider.timeout
        response = await self.acreate(ref, payload, deadline=deadline)
        prediction = await self.await_(self._json(response), deadline)
        return self.result(deployment, prediction, response.headers, time.perf_counter() - started)

    def stream(self, deployment: Deployment, request: Any, params: Mapping[str, Any]) -> Stream:
        """Create a streaming prediction and read its events as text chunks.

        The result (usage, metrics) comes from the finished prediction, fetched after the
        ``done`` event. A model without a stream URL is waited for and yields its whole
        text once. Closing the stream early, an interrupt, a broken stream or a timeout
        cancels the prediction so nothing keeps running.
        """
        ref = self.target(deployment)
        payload = build_input(request, params)
        started = time.perf_counter()
        deadline = self.clock() + self.provider.timeout
        response = self.create(ref, payload, stream=True, deadline=deadline)
        state = _StreamState(
            self._json(response), response.headers, started, deployment.raw.get("text_output")
        )
        url = (state.prediction.get("urls") or {}).get("stream")
        chunks = self._events(state, url, deadline) if url else self._whole(state, deadline)

        def finish() -> InvokeResult:
            text = "".join(state.parts) if state.parts else None
            latency = state.latency or time.perf_counter() - started
            return self.result(
                deployment, state.prediction, state.headers, latency, text=text, ttft=state.ttft
            )

        def close() -> None:
            chunks.close()
            self._settle(state)

        return Stream(chunks, finish, close)

    def _settle(self, state: _StreamState) -> None:
        """Cancel the prediction unless it already ended (or was already cancelled)."""
        if not state.settled:
            state.settled = True
            self.cancel_quietly(state.prediction)

    @contextlib.contextmanager
    def _open_stream(self, url: str, deadline: float) -> Iterator[httpx.Response]:
        import httpx

        read = max(1.0, deadline - self.clock())
        timeout = httpx.Timeout(read, connect=min(10.0, self.provider.timeout))

        def attempt() -> httpx.Response:
            http = self.provider.http()
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
            request = http.build_request("GET", url, headers=headers, timeout=timeout)
            response = http.send(request, stream=True)
            if response.status_code >= 400:
                try:
                    self._raise_for_status(response)
                finally:
                    response.close()
            return response

        response = self.provider.call(attempt, safe=True)
        try:
            yield response
        finally:
            response.close()

    def _events(self, state: _StreamState, url: str, deadline: float) -> Generator[str, None, None]:
        name = self.provider.name
        try:
            with self._open_stream(url, deadline) as response:
                decoder = SseDecoder()
                done = False
                for line in self._lines(response):
                    event = decoder.feed(line)
                    if event is None:
                        continue
                    if event.event == "output":
                        if state.ttft is None:
                            state.ttft = time.perf_counter() - state.started
                        state.parts.append(event.data)
                        yield event.data
                    elif event.event == "error":
                        state.settled = True  # the prediction failed: nothing left to cancel
                        raise stream_error(event.data, state.prediction, name)
                    elif event.event == "done":
                        done = True
                        state.settled = True  # the prediction has ended on Replicate
                        break
                if not done:
                    raise ProviderError(
                        f"the stream of prediction {state.prediction.get('id')} ended before"
                        " the prediction finished (no 'done' event); the prediction was"
                        " canceled",
                        provider=name,
                        request_id=state.prediction.get("id"),
                        retryable=False,
                    )
            state.latency = time.perf_counter() - state.started
            final = self._json(self.request("GET", self._url(state.prediction, "get"), safe=True))
            state.prediction = self.wait(final, deadline)
        except BaseException:
            self._settle(state)
            raise
        failure = prediction_failure(state.prediction, name)
        if failure is not None:
            raise failure

    def _lines(self, response: httpx.Response) -> Iterator[str]:
        """The response's lines, with transport failures mid-stream as hostkit errors."""
        lines = response.iter_lines()
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except HostkitError:
                raise
            except Exception as error:
                raise self.provider.hostkit_error(error) from error
            yield line

    def _whole(self, state: _StreamState, deadline: float) -> Generator[str, None, None]:
        """No stream URL: wait for the prediction, then yield its text once."""
        state.settled = True  # wait() cancels the prediction itself if it gives up
        state.prediction = self.wait(state.prediction, deadline)
        state.latency = time.perf_counter() - state.started
        failure = prediction_failure(state.prediction, self.provider.name)
        if failure is not None:
            raise failure
        metrics = state.prediction.get("metrics") or {}
        text = output_text(state.prediction.get("output"), state.text_output, metrics)
        if text:
            state.ttft = state.latency
            state.parts.append(text)
            yield text
