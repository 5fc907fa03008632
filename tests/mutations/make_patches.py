"""Write tests/mutations/*.patch: 23 realistic single bugs planted in the example plugins.

Each is a bug adapter authors really make. tests/test_kit_mutations.py applies each
patch to a copy of its plugin and expects the compliance kit to fail. The patch
header names the plugin (``# plugin:``) and the kit check expected to catch it
(``# caught by:``, run first). Run again after changing an example plugin:

    python tests/mutations/make_patches.py
"""

from __future__ import annotations

import difflib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGINS = HERE.parent / "plugins"
SOURCES = {
    "hostkit_example_plugin": PLUGINS / "hostkit-example-plugin" / "src",
    "hostkit_example_dedicated": PLUGINS / "hostkit-example-dedicated" / "src",
}
EX, DED = "hostkit_example_plugin", "hostkit_example_dedicated"

#: (slug, plugin, caught by, what the bug is, [(old, new), ...])
MUTANTS: list[tuple[str, str, str, str, list[tuple[str, str]]]] = [
    (
        "usage_swapped",
        EX,
        "test_invoke_stream_and_ainvoke_agree",
        "input and output token counts swapped (so cost_usd is wrong too)",
        [
            (
                'input_tokens=counted.get("prompt_tokens"),\n'
                '            output_tokens=counted.get("completion_tokens"),',
                'input_tokens=counted.get("completion_tokens"),\n'
                '            output_tokens=counted.get("prompt_tokens"),',
            )
        ],
    ),
    (
        "unpriced_flat_price",
        EX,
        "test_invoking_an_unpriced_model_costs_none_with_one_warning",
        "a made-up flat price for a model with no price row, no source, no PriceUnknown",
        [
            (
                "        if prices is None:  # None, never a guess: and one PriceUnknown warning"
                " says why\n"
                "            self.unknown_cost(\n"
                '                f"model {deployment.model!r}; cost_usd is None",\n'
                "                f\"the plugin's price table lists"
                " {', '.join(sorted(price_table()))}\",\n"
                "            )\n",
                "        if prices is None:  # a rough guess beats no number\n"
                "            cost = (usage.total_tokens or 0) * 0.10 / 1e6\n",
            )
        ],
    ),
    (
        "construction_request",
        EX,
        "test_construction_sends_no_request",
        "construction warms the connection (a request), its failure swallowed",
        [
            (
                "            headers=self._headers,\n        )\n",
                "            headers=self._headers,\n        )\n"
                "        try:  # warm the connection pool and check the key early\n"
                '            self.http.request("GET", "/models")\n'
                "        except Exception:\n"
                "            pass\n",
            )
        ],
    ),
    (
        "ainvoke_raw_httpx_error",
        EX,
        "test_error_401_is_authentication_error",
        "ainvoke alone calls httpx directly: a raw httpx.HTTPStatusError escapes",
        [
            (
                '        response = await self.http.arequest("POST", "/chat/completions",'
                " json=body)\n",
                '        response = await self.http.aclient.post("/chat/completions", json=body)\n'
                "        response.raise_for_status()\n",
            )
        ],
    ),
    (
        "error_message_replaced",
        EX,
        "test_error_401_is_authentication_error",
        'the platform\'s error message replaced by "HTTP 401"',
        [
            (
                "from hostkit.errors import ConfigError, NotFound, ProviderError\n",
                "from hostkit.errors import AuthenticationError, ConfigError, NotFound,"
                " ProviderError\n",
            ),
            (
                "        started = time.perf_counter()\n"
                '        response = self.http.request("POST", "/chat/completions", json=body)\n',
                "        started = time.perf_counter()\n"
                "        try:\n"
                '            response = self.http.request("POST", "/chat/completions",'
                " json=body)\n"
                "        except AuthenticationError as error:  # a shorter message for users\n"
                "            raise AuthenticationError(\n"
                '                f"HTTP {error.status_code}",\n'
                "                provider=self.name,\n"
                "                status_code=error.status_code,\n"
                "                request_id=error.request_id,\n"
                "            ) from None\n",
            ),
        ],
    ),
    (
        "failure_reason_lost",
        DED,
        "test_failed_deploy_raises_with_the_reason_and_cleans_up",
        "DeploymentFailed.reason loses the platform's reason (CUDA out of memory)",
        [
            (
                "    def _scale(\n",
                "    def failure_reason(self, deployment: Deployment) -> str | None:\n"
                "        return None  # the platform's text is long; the status says enough\n\n"
                "    def _scale(\n",
            )
        ],
    ),
    (
        "not_found_as_provider_error",
        EX,
        "test_error_404_is_not_found",
        "an unknown model (404) raised as a generic ProviderError",
        [
            (
                "        except NotFound as error:\n            raise NotFound(\n",
                "        except NotFound as error:\n            raise ProviderError(\n",
            )
        ],
    ),
    (
        "rate_limit_as_provider_error",
        EX,
        "test_error_429_exhausted_is_rate_limited_after_the_policy_s_retries",
        "a 429 raised as a non-retryable ProviderError (the wait is lost)",
        [
            (
                "from hostkit.errors import ConfigError, NotFound, ProviderError\n",
                "from hostkit.errors import ConfigError, NotFound, ProviderError, RateLimited\n",
            ),
            (
                "        started = time.perf_counter()\n"
                '        response = self.http.request("POST", "/chat/completions", json=body)\n',
                "        started = time.perf_counter()\n"
                "        try:\n"
                '            response = self.http.request("POST", "/chat/completions",'
                " json=body)\n"
                "        except RateLimited as error:\n"
                "            raise ProviderError(\n"
                "                error.message, provider=self.name, status_code=429,"
                " retryable=False\n"
                "            ) from None\n",
            ),
        ],
    ),
    (
        "retry_not_applied",
        EX,
        "test_error_429_then_ok_retries_once_honouring_retry_after",
        "invoke bypasses hostkit's retry policy (one attempt; a 429 fails the call)",
        [
            (
                "        started = time.perf_counter()\n"
                '        response = self.http.request("POST", "/chat/completions", json=body)\n',
                "        started = time.perf_counter()\n"
                '        response = self.http.client.post("/chat/completions", json=body)\n'
                "        self.http.raise_for_status(response)\n",
            )
        ],
    ),
    (
        "doubled_retries",
        DED,
        "test_error_429_exhausted_is_rate_limited_after_the_policy_s_retries",
        "its own retry loop on top of hostkit's (as an SDK with retries left on)",
        [
            (
                "from hostkit.errors import ConfigError, NotFound, ProviderError\n",
                "from hostkit.errors import ConfigError, NotFound, ProviderError, RateLimited\n",
            ),
            (
                "        started = time.perf_counter()\n"
                '        response = self.http.request("POST", self._url(deployment), json=body)\n',
                "        started = time.perf_counter()\n"
                "        for attempt in range(3):\n"
                "            try:\n"
                '                response = self.http.request("POST", self._url(deployment),'
                " json=body)\n"
                "                break\n"
                "            except RateLimited:\n"
                "                if attempt == 2:\n"
                "                    raise\n",
            ),
        ],
    ),
    (
        "secret_in_repr",
        EX,
        "test_no_secret_leaks",
        "the provider's repr shows its API key",
        [
            (
                "    def close(self) -> None:\n",
                "    def __repr__(self) -> str:\n"
                '        return f"<ExampleProvider base_url={self.base_url}'
                ' key={self.api_key()}>"\n\n'
                "    def close(self) -> None:\n",
            )
        ],
    ),
    (
        "teardown_does_nothing",
        DED,
        "test_teardown_leaves_nothing_and_is_idempotent",
        "teardown forgets the local record but leaves the endpoint running (billed)",
        [
            (
                '        self.http.request("DELETE", self._path(deployment.name))\n',
                "        return  # the record is released by the base class\n",
            )
        ],
    ),
    (
        "teardown_not_idempotent",
        DED,
        "test_teardown_leaves_nothing_and_is_idempotent",
        "a second teardown (already gone) is an error",
        [
            (
                '        self.http.request("DELETE", self._path(deployment.name))\n',
                "        try:\n"
                '            self.http.request("DELETE", self._path(deployment.name))\n'
                "        except NotFound:\n"
                '            raise ProviderError(f"{deployment.name} does not exist",'
                " provider=self.name) from None\n",
            )
        ],
    ),
    (
        "deploy_twice_creates_twice",
        DED,
        "test_deploying_the_same_spec_twice_creates_nothing_new",
        "find never finds an endpoint, so deploying the same spec again creates another",
        [
            (
                "    def find(self, name: str) -> Deployment | None:\n        try:\n",
                "    def find(self, name: str) -> Deployment | None:\n"
                "        return None  # the platform rejects duplicate names anyway\n"
                "        try:\n",
            )
        ],
    ),
    (
        "request_id_dropped",
        EX,
        "test_error_5xx_is_provider_error_after_retries",
        "server errors re-raised without the platform's request id",
        [
            (
                "        started = time.perf_counter()\n"
                '        response = self.http.request("POST", "/chat/completions", json=body)\n',
                "        started = time.perf_counter()\n"
                "        try:\n"
                '            response = self.http.request("POST", "/chat/completions",'
                " json=body)\n"
                "        except ProviderError as error:\n"
                "            if error.status_code is None or error.status_code < 500:\n"
                "                raise\n"
                "            raise ProviderError(\n"
                "                error.message, provider=self.name, status_code=error.status_code\n"
                "            ) from None\n",
            ),
        ],
    ),
    (
        "deployment_model_is_instance",
        DED,
        "test_deploy_returns_a_valid_deployment",
        "the Deployment's model is filled from the instance field",
        [('            model=str(data["model"]),\n', '            model=str(data["instance"]),\n')],
    ),
    (
        "stream_not_yielding",
        DED,
        "test_invoke_stream_and_ainvoke_agree",
        "stream buffers the whole answer and yields no chunk",
        [
            (
                "        return chat_stream(\n"
                "            response.iter_lines(),\n"
                "            provider=self.name,\n"
                "            model=deployment.model,\n"
                "            started=started,\n"
                "            close=close,\n"
                "            request_id=request_id_from(response.headers),\n"
                "        )\n",
                "        buffered = chat_stream(\n"
                "            response.iter_lines(),\n"
                "            provider=self.name,\n"
                "            model=deployment.model,\n"
                "            started=started,\n"
                "            close=close,\n"
                "            request_id=request_id_from(response.headers),\n"
                "        )\n"
                "        buffered.text()  # simpler for callers: the whole answer at once\n"
                "        return buffered\n",
            )
        ],
    ),
    (
        "latency_not_measured",
        EX,
        "test_invoke_stream_and_ainvoke_agree",
        "invoke reports a latency of 0",
        [
            (
                '        response = self.http.request("POST", "/chat/completions", json=body)\n'
                "        return self._result(deployment, response,"
                " time.perf_counter() - started)\n",
                '        response = self.http.request("POST", "/chat/completions", json=body)\n'
                "        return self._result(deployment, response, 0.0)\n",
            )
        ],
    ),
    (
        "ainvoke_drops_usage",
        EX,
        "test_invoke_stream_and_ainvoke_agree",
        "ainvoke returns no token usage",
        [
            (
                '        response = await self.http.arequest("POST", "/chat/completions",'
                " json=body)\n"
                "        return self._result(deployment, response,"
                " time.perf_counter() - started)\n",
                '        response = await self.http.arequest("POST", "/chat/completions",'
                " json=body)\n"
                "        result = self._result(deployment, response,"
                " time.perf_counter() - started)\n"
                "        result.usage = Usage()\n"
                "        return result\n",
            )
        ],
    ),
    (
        "cost_per_thousand",
        EX,
        "test_invoke_cost_is_priced_with_a_source_or_warned",
        "cost() prices per thousand tokens where the table is per million",
        [(" " * 16 + "count / 1e6 * price.usd,\n", " " * 16 + "count / 1e3 * price.usd,\n")],
    ),
    (
        "scale_ignores_replicas",
        DED,
        "test_scale_to_fixed_replicas",
        "scale to N replicas sends bounds 1..N (autoscaling) instead of N..N",
        [
            (
                '            bounds = {"min_replicas": replicas,'
                ' "max_replicas": max(replicas, 1)}\n',
                '            bounds = {"min_replicas": 1, "max_replicas": max(replicas, 1)}\n',
            )
        ],
    ),
    (
        "error_without_provider",
        EX,
        "test_error_404_is_not_found",
        "the re-raised NotFound does not say which provider failed",
        [
            (
                "f\" priced models: {', '.join(sorted(price_table()))}\",\n"
                "                provider=self.name,\n",
                "f\" priced models: {', '.join(sorted(price_table()))}\",\n",
            )
        ],
    ),
    (
        "credential_read_from_environ",
        EX,
        "test_missing_credential_is_named_at_first_use",
        "the key read from os.environ directly: a missing key sends an empty bearer",
        [
            ("import json\nimport time\n", "import json\nimport os\nimport time\n"),
            (
                '        return {"authorization": f"Bearer {self.api_key()}",'
                ' "accept": "application/json"}\n',
                '        key = os.environ.get("EXAMPLE_API_KEY", "")\n'
                '        return {"authorization": f"Bearer {key}", "accept": "application/json"}\n',
            ),
        ],
    ),
]


def mutate(text: str, edits: list[tuple[str, str]], slug: str) -> str:
    for old, new in edits:
        if text.count(old) != 1:
            raise SystemExit(f"{slug}: expected one occurrence of {old!r}, found {text.count(old)}")
        text = text.replace(old, new)
    return text


def main() -> None:
    for old in HERE.glob("*.patch"):
        old.unlink()
    for number, (slug, plugin, check, what, edits) in enumerate(MUTANTS, 1):
        relative = f"{plugin}/__init__.py"
        original = (SOURCES[plugin] / relative).read_text(encoding="utf-8")
        mutated = mutate(original, edits, slug)
        diff = difflib.unified_diff(
            original.splitlines(keepends=True),
            mutated.splitlines(keepends=True),
            f"a/{relative}",
            f"b/{relative}",
            n=2,
        )
        header = f"# planted bug {number}: {what}\n# plugin: {plugin}\n# caught by: {check}\n"
        (HERE / f"{number:02d}_{slug}.patch").write_text(header + "".join(diff), "utf-8")
    print(f"wrote {len(MUTANTS)} patches to {HERE}")


if __name__ == "__main__":
    main()
