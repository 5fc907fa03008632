"""The one retry policy of hostkit (tenacity under the hood, loaded only on failure).

Transient failures (429, 5xx, 408, connection resets, timeouts) are retried with
capped exponential backoff and jitter, honouring the platform's ``Retry-After``.
Other 4xx are never retried. A call that creates something (``safe=False``) is
retried only when the request provably did not take effect: a 429, or a connection
that was never made. The first attempt runs without any tenacity machinery, so a
successful call pays nothing for the policy.

An error marked ``retryable = False`` is never retried: :class:`~hostkit.errors.ModelError`
(the model itself failed) and a ``Timeout`` the server reported for the model are.
A call given a ``deadline`` (``time.monotonic()``) starts no wait that would end past
it: the last error is raised instead. The error that leaves the policy has every
registered secret masked in its chained exceptions.
"""

from __future__ import annotations

import contextvars
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hostkit._redact import get_logger, protect_library_loggers, scrub_exception
from hostkit.errors import HostkitError, RateLimited

__all__ = ["RetryPolicy", "retried"]

T = TypeVar("T")
log = get_logger("hostkit.retry")
#: the errors retried during the current operation (a list set by hostkit's telemetry)
retried: contextvars.ContextVar[list[type[BaseException]] | None] = contextvars.ContextVar(
    "hostkit_retried", default=None
)


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@dataclass
class RetryPolicy:
    """How many times and how long to wait; ``sleep`` is injectable for tests."""

    max_retries: int = 3
    initial_wait: float = 0.5
    max_wait: float = 20.0
    #: a ``Retry-After`` longer than this is not waited for: the error is raised
    max_retry_after: float = 60.0
    jitter: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    asleep: Callable[[float], Awaitable[None]] = field(default=_asyncio_sleep, repr=False)

    # -- pure decisions ------------------------------------------------
    def should_retry(self, error: BaseException, *, safe: bool) -> bool:
        """Whether ``error`` may be retried for a call of this kind."""
        if not isinstance(error, HostkitError) or not error.retryable:
            return False
        if isinstance(error, RateLimited):
            retry_after = error.retry_after
            return retry_after is None or retry_after <= self.max_retry_after
        return safe or bool(getattr(error, "request_not_sent", False))

    def longest_wait(self, error: BaseException, attempt: int) -> float:
        """The most :meth:`wait_for` may answer for retry number ``attempt`` (no jitter)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return max(0.0, float(retry_after))
        return min(self.max_wait, self.initial_wait * 2.0 ** (attempt - 1))

    def fits(self, error: BaseException, attempt: int, deadline: float | None) -> bool:
        """Whether retry number ``attempt`` can start before ``deadline`` (None: no limit)."""
        if deadline is None:
            return True
        return time.monotonic() + self.longest_wait(error, attempt) < deadline

    def wait_for(self, error: BaseException, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return max(0.0, float(retry_after))
        backoff: float = min(self.max_wait, self.initial_wait * 2.0 ** (attempt - 1))
        return backoff * (1 - self.jitter * random.random())

    def _before_retry(self, error: BaseException, attempt: int, wait: float) -> None:
        seen = retried.get()
        if seen is not None:
            seen.append(type(error))
        log.info(
            "retrying after %s (retry %d of %d, waiting %.2fs)",
            type(error).__name__,
            attempt,
            self.max_retries,
            wait,
        )

    # -- the sync and async twins: I/O only ----------------------------
    def call(self, fn: Callable[[], T], *, safe: bool = True, deadline: float | None = None) -> T:
        """Run ``fn`` and retry it under this policy (no retry starting past ``deadline``)."""
        protect_library_loggers()  # an SDK imported since may log what a server echoed
        try:
            return self._call(fn, safe, deadline)
        except HostkitError as error:
            scrub_exception(error)
            raise

    def _call(self, fn: Callable[[], T], safe: bool, deadline: float | None) -> T:
        try:
            return fn()
        except HostkitError as error:
            if not self._retry_first(error, safe, deadline):
                raise
            first = error
        import tenacity

        wait = self.wait_for(first, 1)
        self._before_retry(first, 1, wait)
        self.sleep(wait)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries),
            retry=self._tenacity_retry(safe, deadline),
            wait=self._tenacity_wait,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn)

    async def acall(
        self, fn: Callable[[], Awaitable[T]], *, safe: bool = True, deadline: float | None = None
    ) -> T:
        """Async twin of :meth:`call`."""
        protect_library_loggers()
        try:
            return await self._acall(fn, safe, deadline)
        except HostkitError as error:
            scrub_exception(error)
            raise

    async def _acall(self, fn: Callable[[], Awaitable[T]], safe: bool, deadline: float | None) -> T:
        try:
            return await fn()
        except HostkitError as error:
            if not self._retry_first(error, safe, deadline):
                raise
            first = error
        import tenacity

        wait = self.wait_for(first, 1)
        self._before_retry(first, 1, wait)
        await self.asleep(wait)
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.max_retries),
            retry=self._tenacity_retry(safe, deadline),
            wait=self._tenacity_wait,
            sleep=self.asleep,
            reraise=True,
        )
        return await retrying(fn)

    def _retry_first(self, error: HostkitError, safe: bool, deadline: float | None) -> bool:
        return (
            self.max_retries >= 1
            and self.should_retry(error, safe=safe)
            and self.fits(error, 1, deadline)
        )

    def _tenacity_retry(self, safe: bool, deadline: float | None) -> Callable[[Any], bool]:
        """tenacity's retry test: retryable, and the next wait ends before the deadline."""

        def retry(state: Any) -> bool:
            error = state.outcome.exception()
            if error is None or not self.should_retry(error, safe=safe):
                return False
            return self.fits(error, state.attempt_number + 1, deadline)

        return retry

    def _tenacity_wait(self, state: Any) -> float:
        error = state.outcome.exception()
        retry = state.attempt_number + 1
        wait = self.wait_for(error, retry)
        if retry <= self.max_retries:  # tenacity asks for a wait before it checks stop
            self._before_retry(error, retry, wait)
        return wait
