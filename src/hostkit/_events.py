"""Operation events: typed hooks and the one-line-per-operation log.

Every ``deploy``, ``scale``, ``teardown``, ``invoke``, ``ainvoke`` and ``stream`` of
every provider emits an :class:`OperationEvent` before and after it runs. Hooks are
registered for the whole process (:func:`add_hook`) or for one provider instance
(``provider.hooks.add``). A hook that raises is logged and never breaks the call.
The ``hostkit`` logger gets one INFO line per finished operation (provider,
operation, deployment, outcome, duration).

When nothing listens (no hook, no telemetry, INFO off for ``hostkit``) an
operation pays one flag test and one ``isEnabledFor`` call. OpenTelemetry spans
and metrics (:mod:`hostkit.telemetry`) ride on the same events; ``HOSTKIT_TELEMETRY=1``
turns them on at the first operation without importing OpenTelemetry before then.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from hostkit._redact import get_logger

if TYPE_CHECKING:
    from hostkit._models import Usage
    from hostkit._provider import Provider
    from hostkit._telemetry import Telemetry, Tracked

__all__ = ["Hooks", "OperationEvent", "add_hook", "instrument"]

log = get_logger("hostkit.operations")
F = TypeVar("F", bound=Callable[..., Any])
Phase = Literal["before", "after"]
Hook = Callable[["OperationEvent"], None]


@dataclass
class OperationEvent:
    """One operation of one provider, before it runs or after it finished."""

    operation: str
    provider: str
    phase: Phase
    name: str | None = None
    model: str | None = None
    started_at: float = 0.0
    duration_s: float | None = None
    result: Any = field(default=None, repr=False)
    error: BaseException | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    ttft_s: float | None = None
    _clock: float = field(default=0.0, repr=False, compare=False)
    _tracked: Tracked | None = field(default=None, repr=False, compare=False)
    #: a stream closed, left or dropped before its end (``result`` holds what it saw)
    cancelled: bool = False

    @property
    def outcome(self) -> str:
        """``"ok"``, ``"cancelled"`` (a stream ended early), or the error's class name."""
        if self.error is not None:
            return type(self.error).__name__
        return "cancelled" if self.cancelled else "ok"


class Hooks:
    """A list of hooks for ``before`` and ``after`` events."""

    def __init__(self) -> None:
        self._before: list[Hook] = []
        self._after: list[Hook] = []

    def __bool__(self) -> bool:
        return bool(self._before or self._after)

    def add(self, hook: Hook, *, before: bool = False) -> Callable[[], None]:
        """Call ``hook`` with every finished (or, with ``before=True``, starting) operation.

        Returns a function that removes the hook again.
        """
        hooks = self._before if before else self._after
        hooks.append(hook)
        _refresh()
        return lambda: _remove(hooks, hook)

    def emit(self, event: OperationEvent) -> None:
        for hook in tuple(self._before if event.phase == "before" else self._after):
            try:
                hook(event)
            except Exception:
                log.exception("hook %r failed on %s %s", hook, event.operation, event.phase)


def _remove(hooks: list[Hook], hook: Hook) -> None:
    if hook in hooks:
        hooks.remove(hook)
    _refresh()


#: ``HOSTKIT_TELEMETRY=1`` turns telemetry on at the first operation (see _from_environment)
TELEMETRY_ENV = "HOSTKIT_TELEMETRY"
#: ``HOSTKIT_TELEMETRY_CAPTURE_CONTENT=1`` records prompts and completions too
CAPTURE_CONTENT_ENV = "HOSTKIT_TELEMETRY_CAPTURE_CONTENT"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


_env_pending = _truthy(os.environ.get(TELEMETRY_ENV))  # not acted on until an operation runs
_process = Hooks()
_active = _env_pending  # any process-wide hook registered, or telemetry on (or pending)?
_telemetry: Telemetry | None = None  # set by hostkit.telemetry.enable()
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("hostkit_op_depth", default=0)


def _refresh() -> None:
    global _active
    _active = bool(_process) or _telemetry is not None or _env_pending


def _set_telemetry(telemetry: Telemetry | None) -> None:
    global _telemetry, _env_pending
    _telemetry = telemetry
    _env_pending = False  # an explicit enable()/disable() wins over the environment
    _refresh()


def _from_environment() -> None:
    """``HOSTKIT_TELEMETRY`` is set: call ``hostkit.telemetry.enable()`` (once)."""
    global _env_pending
    _env_pending = False
    from hostkit._telemetry import enable
    from hostkit.errors import HostkitError

    try:
        enable(capture_content=_truthy(os.environ.get(CAPTURE_CONTENT_ENV)))
    except HostkitError as error:
        log.warning("%s is set, but telemetry stays off: %s", TELEMETRY_ENV, error)
    _refresh()


def add_hook(hook: Hook, *, before: bool = False) -> Callable[[], None]:
    """Register a process-wide hook (see :class:`Hooks.add`)."""
    return _process.add(hook, before=before)


def _listening(provider: Provider) -> bool:
    return _active or bool(provider.__dict__.get("hooks")) or log.isEnabledFor(logging.INFO)


def _describe(args: tuple[Any, ...]) -> tuple[str | None, str | None]:
    target = args[0] if args else None
    if isinstance(target, Mapping):
        return target.get("name"), target.get("model")
    name = getattr(target, "name", target if isinstance(target, str) else None)
    return name, getattr(target, "model", None)


def _emit(provider: Provider, event: OperationEvent) -> None:
    if event.phase == "after" and event._tracked is not None:
        event._tracked.finish(event)
    if event.phase == "after" and log.isEnabledFor(logging.INFO):
        log.info(
            "%s %s %s: %s in %.3fs",
            provider.name,
            event.operation,
            event.name or "-",
            event.outcome,
            event.duration_s or 0.0,
        )
    _process.emit(event)
    own = provider.__dict__.get("hooks")
    if own:
        own.emit(event)


def _finished(start: OperationEvent, result: Any, error: BaseException | None) -> OperationEvent:
    event = replace(start, phase="after", result=result, error=error)
    event.duration_s = time.perf_counter() - start._clock
    if result is not None:
        if event.name is None:
            event.name = getattr(result, "name", None)
        event.usage = getattr(result, "usage", None)
        event.cost_usd = getattr(result, "cost_usd", None)
        event.ttft_s = getattr(result, "ttft_s", None)
        if event.model is None:
            event.model = getattr(result, "model", None)
    return event


def _cancelled(start: OperationEvent, partial: Callable[[str, str], Any]) -> OperationEvent:
    """The after-event of a stream ended early, with what it had received."""
    event = _finished(start, partial(start.provider, start.model or ""), None)
    event.cancelled = True
    return event


def _start(
    provider: Provider, operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> OperationEvent:
    name, model = _describe(args)
    event = OperationEvent(
        operation=operation,
        provider=provider.name,
        phase="before",
        name=name,
        model=model,
        started_at=time.time(),
    )
    event._clock = time.perf_counter()
    if _env_pending:
        _from_environment()
    if _telemetry is not None:
        event._tracked = _telemetry.start(provider, operation, args, kwargs)
    _emit(provider, event)
    return event


def _end(event: OperationEvent, token: contextvars.Token[int]) -> None:
    _depth.reset(token)
    if event._tracked is not None:
        event._tracked.detach()


def instrument(operation: str, fn: F) -> F:
    """Wrap a provider method so that it emits events (sync, async or stream)."""
    if getattr(fn, "__hostkit_instrumented__", False):
        return fn
    if operation == "ainvoke":

        @functools.wraps(fn)
        async def async_wrapper(self: Provider, *args: Any, **kwargs: Any) -> Any:
            if not _listening(self) or _depth.get():
                return await fn(self, *args, **kwargs)
            token = _depth.set(1)
            event = _start(self, operation, args, kwargs)
            try:
                result = await fn(self, *args, **kwargs)
            except BaseException as error:
                _emit(self, _finished(event, None, error))
                raise
            finally:
                _end(event, token)
            _emit(self, _finished(event, result, None))
            return result

        wrapper: Any = async_wrapper
    elif operation == "stream":

        @functools.wraps(fn)
        def stream_wrapper(self: Provider, *args: Any, **kwargs: Any) -> Any:
            if not _listening(self) or _depth.get():
                return fn(self, *args, **kwargs)
            token = _depth.set(1)
            event = _start(self, operation, args, kwargs)
            try:
                stream = fn(self, *args, **kwargs)
            except BaseException as error:
                _emit(self, _finished(event, None, error))
                raise
            finally:
                _end(event, token)
            stream.on_done(
                lambda result, error: _emit(self, _finished(event, result, error)),
                lambda partial: _emit(self, _cancelled(event, partial)),
            )
            return stream

        wrapper = stream_wrapper
    else:

        @functools.wraps(fn)
        def sync_wrapper(self: Provider, *args: Any, **kwargs: Any) -> Any:
            if not _listening(self) or _depth.get():
                return fn(self, *args, **kwargs)
            token = _depth.set(1)
            event = _start(self, operation, args, kwargs)
            try:
                result = fn(self, *args, **kwargs)
            except BaseException as error:
                _emit(self, _finished(event, None, error))
                raise
            finally:
                _end(event, token)
            _emit(self, _finished(event, result, None))
            return result

        wrapper = sync_wrapper
    wrapper.__hostkit_instrumented__ = True
    return wrapper  # type: ignore[no-any-return]
