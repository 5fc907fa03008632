"""Module-level ``deploy / invoke / ainvoke / stream / scale / teardown / cost / logs``.

Each accepts a :class:`Deployment`, a :class:`DeploymentSpec`, a mapping of spec
fields, or the name of a deployment in the config file (or one saved by an
earlier ``deploy``), and finds the provider and its settings from the config and
the environment. Provider instances are reused between calls, so connections are
pooled; a ``Deployment`` that already knows its provider takes a direct path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from hostkit._config import Config, load_config
from hostkit._logs import LogLine, parse_since
from hostkit._models import (
    CostEstimate,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Stream,
    _checking,
    check_name,
    request_error,
)
from hostkit._provider import Provider
from hostkit._registry import get_provider
from hostkit._state import default_state_dir
from hostkit.errors import ConfigError, NotFound

__all__ = [
    "Target",
    "ainvoke",
    "cost",
    "deploy",
    "invoke",
    "logs",
    "provider_for",
    "resolve_deployment",
    "resolve_spec",
    "scale",
    "stream",
    "teardown",
]

Target = Deployment | DeploymentSpec | Mapping[str, Any] | str
ConfigArg = Config | str | os.PathLike[str] | None

_instances: dict[tuple[str, int], tuple[Config, Provider]] = {}


def _config(config: ConfigArg) -> Config:
    return config if isinstance(config, Config) else load_config(config)


def provider_for(name: str, config: ConfigArg = None) -> Provider:
    """The shared provider instance for ``name`` under ``config`` (built once)."""
    resolved = _config(config)
    key = (name, id(resolved))
    entry = _instances.get(key)
    if entry is None or entry[0] is not resolved:
        entry = (resolved, get_provider(name, config=resolved))
        _instances[key] = entry
    return entry[1]


def _saved_provider_of(name: str) -> str | None:
    check_name(name, argument="deployment name")
    root = default_state_dir()
    if not root.is_dir():
        return None
    owners = [p.parent.name for p in root.glob(f"*/{name}.json")]
    if not owners and (root / "local" / "runs" / name).exists():
        owners = ["local"]  # a local run directory whose record was lost: still tear it down
    if len(owners) > 1:
        raise ConfigError(
            f"deployment name {name!r} is saved for several providers ({', '.join(owners)});"
            " pass a Deployment or a spec with its provider"
        )
    return owners[0] if owners else None


def resolve_spec(target: Target, config: ConfigArg = None, **fields: Any) -> DeploymentSpec:
    """The spec ``target`` stands for (fields given here override)."""
    resolved = _config(config)
    if isinstance(target, Deployment):
        raise ConfigError("expected a spec or a deployment name, got a Deployment")
    if isinstance(target, DeploymentSpec):
        spec = target
    elif isinstance(target, str):
        spec = resolved.deployment(target)
    elif isinstance(target, Mapping):
        spec = DeploymentSpec.from_dict({**target, **fields})
        fields = {}
    else:
        raise ConfigError(
            f"expected a Deployment, a DeploymentSpec, a mapping or a deployment name;"
            f" got {type(target).__name__}"
        )
    return spec.replace(**fields) if fields else spec


def resolve_deployment(target: Target, config: ConfigArg = None) -> Deployment:
    """The live deployment ``target`` stands for.

    A serverless spec is "deployed" on the fly (nothing billable is created); a
    dedicated one that is not deployed raises NotFound saying how to deploy it.
    """
    if isinstance(target, Deployment):
        if target._provider is None:
            target._provider = provider_for(target.provider, config)
        return target
    resolved = _config(config)
    if isinstance(target, str) and target not in resolved.deployments:
        owner = _saved_provider_of(_checked(target))
        if owner is None:
            known = ", ".join(sorted(resolved.deployments)) or "none"
            raise ConfigError(
                f"no deployment named {target!r} in {resolved.where} (known: {known})"
                " and none saved by an earlier deploy"
            )
        return provider_for(owner, resolved).get(target)
    spec = resolve_spec(target, resolved)
    provider = provider_for(spec.provider, resolved)
    try:
        return provider.get(spec.name)
    except NotFound:
        if provider.capabilities_for_spec(spec).dedicated:
            raise NotFound(
                f"{spec.name!r} is not deployed on {spec.provider}; deploy it first"
                f" (hostkit deploy {spec.name}, or hostkit.deploy(spec))",
                provider=spec.provider,
            ) from None
        return provider.deploy(spec)


def _checked(name: str) -> str:
    """``name`` if it can be a deployment name; else a ConfigError naming the argument."""
    return check_name(name, argument="target (a deployment name)")


def _bound(target: Target, config: ConfigArg) -> tuple[Provider, Deployment]:
    if isinstance(target, Deployment) and target._provider is not None:
        return target._provider, target
    deployment = resolve_deployment(target, config)
    assert deployment._provider is not None
    return deployment._provider, deployment


def deploy(
    target: DeploymentSpec | Mapping[str, Any] | str | None = None,
    /,
    *,
    config: ConfigArg = None,
    wait: bool = True,
    timeout: float | None = None,
    update: bool = False,
    keep_failed: bool = False,
    **fields: Any,
) -> Deployment:
    """Deploy a spec (or ``deploy(provider=..., model=...)``); see ``Provider.deploy``."""
    if target is None:
        target = fields
        fields = {}
    spec = resolve_spec(target, config, **fields)
    provider = provider_for(spec.provider, config)
    return provider.deploy(spec, wait=wait, timeout=timeout, update=update, keep_failed=keep_failed)


def invoke(
    target: Target, request: Any, /, *, config: ConfigArg = None, **params: Any
) -> InvokeResult:
    """Send one request to a deployment and return an :class:`InvokeResult`."""
    provider, deployment = _bound(target, config)
    try:
        return provider.invoke(deployment, request, **params)
    except Exception as error:
        if (problem := request_error(request, error)) is None:
            raise
        raise problem from None


async def ainvoke(
    target: Target, request: Any, /, *, config: ConfigArg = None, **params: Any
) -> InvokeResult:
    """Async twin of :func:`invoke`."""
    provider, deployment = _bound(target, config)
    try:
        return await provider.ainvoke(deployment, request, **params)
    except Exception as error:
        if (problem := request_error(request, error)) is None:
            raise
        raise problem from None


def stream(target: Target, request: Any, /, *, config: ConfigArg = None, **params: Any) -> Stream:
    """Iterate text chunks; ``.result`` holds usage and time to first token at the end."""
    provider, deployment = _bound(target, config)
    try:
        return _checking(provider.stream(deployment, request, **params), request)
    except Exception as error:
        if (problem := request_error(request, error)) is None:
            raise
        raise problem from None


def logs(
    target: Target,
    /,
    *,
    since: float | str | None = None,
    follow: bool = False,
    config: ConfigArg = None,
) -> Iterator[LogLine]:
    """The deployment's server log lines (secrets masked); see ``Provider.logs``.

    ``since``: epoch seconds, an ISO 8601 time, or a duration ago such as ``"10m"``.
    ``follow`` keeps yielding new lines until the caller stops iterating.
    """
    start = parse_since(since)
    provider, deployment = _bound(target, config)
    return provider.logs(deployment, since=start, follow=follow)


def scale(
    target: Target,
    replicas: int | None = None,
    /,
    *,
    min_replicas: int | None = None,
    max_replicas: int | None = None,
    config: ConfigArg = None,
) -> Deployment:
    """Set replicas (or autoscaling bounds) of a deployment."""
    provider, deployment = _bound(target, config)
    return provider.scale(
        deployment, replicas, min_replicas=min_replicas, max_replicas=max_replicas
    )


def teardown(target: Target, /, *, config: ConfigArg = None) -> None:
    """Delete a deployment and everything it holds; already gone is not an error."""
    if isinstance(target, Deployment):
        provider = target._provider or provider_for(target.provider, config)
        provider.teardown(target)
        return
    resolved = _config(config)
    if isinstance(target, str) and target not in resolved.deployments:
        owner = _saved_provider_of(_checked(target))
        if owner is None:
            return  # nothing known by that name: nothing to delete
        provider_for(owner, resolved).teardown(target)
        return
    spec = resolve_spec(target, resolved)
    provider_for(spec.provider, resolved).teardown(spec.name)


def cost(
    target: Target,
    /,
    *,
    hours: float | None = None,
    requests: int | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    config: ConfigArg = None,
) -> CostEstimate:
    """Estimate what a deployment or a spec costs for the given hours or usage."""
    if isinstance(target, Deployment):
        provider = target._provider or provider_for(target.provider, config)
        subject: Deployment | DeploymentSpec = target
    else:
        resolved = _config(config)
        if isinstance(target, str) and target not in resolved.deployments:
            subject = resolve_deployment(_checked(target), resolved)
            provider = subject._provider or provider_for(subject.provider, resolved)
        else:
            subject = resolve_spec(target, resolved)
            provider = provider_for(subject.provider, resolved)
    return provider.cost(
        subject,
        hours=hours,
        requests=requests,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )
