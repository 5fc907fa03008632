"""Finding providers: the ``hostkit.providers`` entry-point group, nothing else.

Entry points are indexed on first use and a provider class is imported only when
it is asked for. Built-in adapters register exactly like third-party ones, so the
core never names a provider.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hostkit._provider import Provider
from hostkit.errors import ConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from hostkit._config import Config

__all__ = ["ENTRY_POINT_GROUP", "ProviderInfo", "available_providers", "get_provider"]

ENTRY_POINT_GROUP = "hostkit.providers"


@dataclass(frozen=True)
class ProviderInfo:
    """What ``hostkit providers`` shows for one registered provider."""

    name: str
    target: str
    distribution: str | None
    installed: bool
    capabilities: dict[str, bool]
    install_command: str | None
    description: str = ""
    error: str | None = None


_index: dict[str, list[EntryPoint]] | None = None
_classes: dict[str, type[Provider]] = {}


def _entry_points() -> dict[str, list[EntryPoint]]:
    global _index
    if _index is None:
        from importlib.metadata import entry_points

        index: dict[str, list[EntryPoint]] = {}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            index.setdefault(point.name, [])
            if all(p.value != point.value for p in index[point.name]):
                index[point.name].append(point)
        _index = index
    return _index


def refresh() -> None:
    """Forget the index (after installing a plugin in a running process)."""
    global _index
    _index = None
    _classes.clear()


def _distribution(point: EntryPoint) -> str | None:
    dist = getattr(point, "dist", None)
    return dist.name if dist is not None else None


def provider_class(name: str) -> type[Provider]:
    """The provider class registered as ``name`` (imported now, cached)."""
    if name in _classes:
        return _classes[name]
    points = _entry_points().get(name)
    if not points:
        known = ", ".join(sorted(_entry_points())) or "none"
        raise ConfigError(
            f"unknown provider {name!r}; registered providers: {known}. A third-party"
            f" provider appears once its package is installed (entry point group"
            f" {ENTRY_POINT_GROUP!r})"
        )
    if len(points) > 1:
        owners = ", ".join(f"{p.value} ({_distribution(p)})" for p in points)
        raise ConfigError(f"provider name {name!r} is registered more than once: {owners}")
    point = points[0]
    try:
        loaded = point.load()
    except Exception as error:
        raise ConfigError(
            f"provider {name!r} ({point.value}, from {_distribution(point)}) failed to import:"
            f" {type(error).__name__}: {error}"
        ) from error
    if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
        raise ConfigError(
            f"entry point {name!r} = {point.value!r} is not a hostkit.Provider subclass"
        )
    if loaded.name != name:
        raise ConfigError(
            f"entry point {name!r} points at {point.value}, whose name is {loaded.name!r};"
            " the two must match"
        )
    _classes[name] = loaded
    return loaded


def available_providers() -> list[ProviderInfo]:
    """Every registered provider, whether its SDK is installed, and its capabilities."""
    infos = []
    for name, points in sorted(_entry_points().items()):
        point = points[0]
        try:
            cls = provider_class(name)
        except ConfigError as error:
            infos.append(
                ProviderInfo(
                    name=name,
                    target=point.value,
                    distribution=_distribution(point),
                    installed=False,
                    capabilities={},
                    install_command=None,
                    error=error.message,
                )
            )
            continue
        infos.append(
            ProviderInfo(
                name=name,
                target=point.value,
                distribution=_distribution(point),
                installed=not cls.missing_modules(),
                capabilities=cls.capabilities.to_dict(),
                install_command=cls.install_command(),
                description=cls.description,
            )
        )
    return infos


def get_provider(name: str, *, config: Config | None = None, **settings: Any) -> Provider:
    """A provider instance: settings from the config's ``[providers.<name>]``, then ``settings``.

    Sends no request; a missing credential is reported at first use.
    """
    from hostkit._config import load_config

    cls = provider_class(name)
    config = config if config is not None else load_config()
    merged = {**config.provider_settings(name), **settings}
    from_file = config.path if config.path and name in config.providers else None
    table = f"providers.{name}"
    if from_file is not None and from_file.name == "pyproject.toml":
        table = f"tool.hostkit.{table}"
    source = f"{from_file} [{table}]" if from_file else f"get_provider({name!r})"
    prices = config.prices.get(name) if isinstance(config.prices, dict) else None
    prices_source = None
    if config.path and prices:
        as_of = _dt.date.fromtimestamp(config.path.stat().st_mtime).isoformat()
        prefix = "tool.hostkit." if config.path.name == "pyproject.toml" else ""
        prices_source = (f"{config.path} [{prefix}prices.{name}]", as_of)
    return cls(
        _source=source,
        _prices=prices,
        _prices_source=prices_source,
        _config_path=from_file,
        **merged,
    )
