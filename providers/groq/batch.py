"""Groq's Batch API for ``hostkit batch --native`` (see hostkit.batch_jobs).

1. The requests become one JSON Lines file of chat-completion requests, each
   ``{"custom_id": "<plan index>", "method": "POST", "url": "/v1/chat/completions",
   "body": {...}}`` (the body the endpoint path sends), uploaded with
   ``POST /openai/v1/files`` (``purpose=batch``; at most 100 MB);
2. ``POST /openai/v1/batches`` with the completion window (``options.completion_window``,
   default ``24h``; Groq takes 24h to 7d) and ``metadata.hostkit_job`` = the job's key;
3. ``GET /openai/v1/batches/{id}`` until it ends (``request_counts`` is the progress);
4. the output and error files (``GET /openai/v1/files/{id}/content``) are joined back to
   the input ids by ``custom_id``, in any order; a request in neither file is written
   as failed. An expired batch is collected too: what finished is in its output file.
   Then the three files are deleted (unless ``--keep-staging``).

The batch id is only known once the create returns: before the create the journal says
one is being created, and a rerun after a crash there looks for a batch whose
``metadata.hostkit_job`` is this job's key instead of creating a second one.

Priced at Groq's batch rate: the ``batch:<model>`` row of the price table. hostkit ships
none (no dated source for the rate), so the cost is None with a warning unless one is
set in hostkit.toml: ``[prices.groq."batch:<model>"]``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hostkit._models import CostEstimate, DeploymentSpec, InvokeResult, Usage
from hostkit._pricing import PriceTable
from hostkit.errors import ConfigError, HostkitError, NotFound, ProviderError

if TYPE_CHECKING:
    from hostkit.batch_jobs import BatchJob, JobStatus

    from .provider import GroqProvider

ENDPOINT = "/v1/chat/completions"
DEFAULT_WINDOW = "24h"
#: the Batch API's status -> hostkit's job state (an expired batch is collected: what
#: finished before the window closed is in its output file)
STATES = {
    "validating": "running",
    "in_progress": "running",
    "finalizing": "running",
    "completed": "completed",
    "expired": "completed",
    "failed": "failed",
    "cancelling": "cancelling",
    "cancelled": "cancelled",
}
MAX_FILE_BYTES = 100 * 1024 * 1024
PRICE_PREFIX = "batch:"


class GroqBatches:
    """The Batch API side of a :class:`GroqProvider`."""

    def __init__(self, provider: GroqProvider) -> None:
        self.p = provider

    def _deployment(self, model: str) -> Any:
        return self.p.serverless_deployment("batch", model, None, {})

    def _lines(self, spec: DeploymentSpec, job: BatchJob) -> bytes:
        completions = self.p.client.chat.completions
        deployment = self._deployment(spec.model)
        out = []
        for index, item in job.requests():
            kwargs = self.p._request(deployment, item.request, item.params, completions)
            body = {**{k: v for k, v in kwargs.items() if k != "extra_body"}}
            body.update(kwargs.get("extra_body") or {})
            line = {"custom_id": str(index), "method": "POST", "url": ENDPOINT, "body": body}
            out.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
        data = ("\n".join(out) + "\n").encode()
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(
                f"batch --native: the Groq batch file would be {len(data) / 1e6:.0f} MB; the"
                " Batch API takes at most 100 MB a file: split the input"
            )
        return data

    def submit(self, spec: DeploymentSpec, job: BatchJob) -> None:
        window = str(spec.options.get("completion_window") or DEFAULT_WINDOW)
        client = self.p.client
        if not job.data.get("input_file_id"):
            data = self._lines(spec, job)
            uploaded = self.p.call(
                lambda: client.files.create(
                    file=(f"{job.key}.jsonl", data, "application/jsonl"), purpose="batch"
                ),
                safe=False,
            )
            job.data["input_file_id"] = uploaded.id
            job.staging.append(f"groq-file:{uploaded.id}")
            job.save()
        if job.job_id:
            return
        if job.data.get("creating_batch"):
            found = self._find(job.key)
            if found is not None:
                job.job_id = found
                job.save()
                return
        job.data["creating_batch"] = True
        job.save()
        batch = self.p.call(
            lambda: client.batches.create(
                input_file_id=job.data["input_file_id"],
                endpoint=ENDPOINT,
                completion_window=window,
                metadata={"hostkit_job": job.key},
            ),
            safe=False,
        )
        job.job_id = batch.id
        job.save()

    def _find(self, key: str) -> str | None:
        """The batch a crashed submit created for ``key`` (by its metadata), if any."""
        listed = self.p.call(self.p.client.batches.list)
        for batch in getattr(listed, "data", None) or []:
            metadata = getattr(batch, "metadata", None) or {}
            if isinstance(metadata, dict) and metadata.get("hostkit_job") == key:
                return str(batch.id)
        return None

    def status(self, job: BatchJob) -> JobStatus:
        from hostkit.batch_jobs import JobStatus

        batch = self.p.call(lambda: self.p.client.batches.retrieve(str(job.job_id)))
        changed = False
        for field in ("output_file_id", "error_file_id"):
            value = getattr(batch, field, None)
            if value and job.data.get(field) != value:
                job.data[field] = value
                job.staging.append(f"groq-file:{value}")
                changed = True
        if changed:
            job.save()
        counts = batch.request_counts
        errors = getattr(batch.errors, "data", None) or []
        message = "; ".join(
            f"{e.message}" + (f" (line {e.line})" if e.line else "") for e in errors if e.message
        )
        return JobStatus(
            state=STATES.get(batch.status, "running"),
            platform_state=batch.status,
            message=message or None,
            done=(counts.completed + counts.failed) if counts else None,
            failed=counts.failed if counts else None,
            total=counts.total if counts else job.count,
            started_at=batch.in_progress_at or batch.created_at,
            ended_at=batch.completed_at or batch.expired_at or batch.failed_at,
        )

    def _content(self, file_id: str) -> bytes:
        return bytes(self.p.call(lambda: self.p.client.files.content(file_id).read()))

    def results(self, job: BatchJob) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        tokens = [0, 0]
        for field in ("output_file_id", "error_file_id"):
            file_id = job.data.get(field)
            if not file_id:
                continue
            for raw in self._content(file_id).splitlines():
                if not raw.strip():
                    continue
                line = json.loads(raw)
                try:
                    index = int(line.get("custom_id"))
                except (TypeError, ValueError):
                    continue
                outcome = self._outcome(job, line)
                if isinstance(outcome, InvokeResult):
                    tokens[0] += outcome.usage.input_tokens or 0
                    tokens[1] += outcome.usage.output_tokens or 0
                yield index, outcome
        job.data["usage"] = tokens

    def _outcome(self, job: BatchJob, line: dict[str, Any]) -> InvokeResult | HostkitError:
        import httpx

        response = line.get("response") or {}
        error = line.get("error")
        status = response.get("status_code")
        body = response.get("body")
        request_id = response.get("request_id")
        if error and not response:
            code = error.get("code") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(error)
            shown = f"{message} [{code}]" if code else str(message)
            return ProviderError(shown, provider=self.p.name, retryable=False)
        headers = {"x-request-id": str(request_id)} if request_id else {}
        reply = httpx.Response(int(status or 500), json=body, headers=headers)
        deployment = self._deployment(job.model)
        if reply.status_code != 200:  # the same error the endpoint path gives
            return self.p._with_limit(self.p._status_error(reply, body), deployment)
        result = self.p._result(deployment, reply, 0.0)
        return dataclasses.replace(result, cost_usd=self._line_cost(job.model, result.usage))

    def _line_cost(self, model: str, usage: Usage) -> float | None:
        row = self.p.prices.find(f"{PRICE_PREFIX}{model}")
        if row is None or not row.has_token_prices:
            return None
        return PriceTable.token_estimate(row, usage.input_tokens, usage.output_tokens).usd

    def cancel(self, job: BatchJob) -> None:
        if not job.job_id:
            return
        with contextlib.suppress(NotFound):
            self.p.call(lambda: self.p.client.batches.cancel(str(job.job_id)))

    def finish(self, job: BatchJob, *, keep_staging: bool) -> None:
        if keep_staging:
            return
        for uri in job.staging:
            file_id = uri.removeprefix("groq-file:")
            with contextlib.suppress(NotFound):
                self.p.call(lambda f=file_id: self.p.client.files.delete(f))

    def cost(self, spec: DeploymentSpec, job: BatchJob, status: JobStatus | None) -> CostEstimate:
        """Tokens x Groq's batch rate (the ``batch:<model>`` price row; None if unknown)."""
        key = f"{PRICE_PREFIX}{spec.model}"
        if status is None:
            chars = int(job.data.get("request_chars") or 0)
            estimate = self.p.token_cost(key, chars // 4, 0)
            estimate.warnings.append(
                f"~{chars // 4} input tokens (4 characters a token) plus the output tokens,"
                " which are not known before the job runs"
            )
            return estimate
        tokens = job.data.get("usage") or [0, 0]
        return self.p.token_cost(key, int(tokens[0]), int(tokens[1]))
