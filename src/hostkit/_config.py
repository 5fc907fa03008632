"""``hostkit.toml``: provider settings, named deployments and price overrides.

Found at the path given, else ``$HOSTKIT_CONFIG``, else the first ``hostkit.toml``
(or ``pyproject.toml`` with ``[tool.hostkit]``) in the working directory or its
parents. ``${VAR}`` and ``${VAR:-default}`` are taken from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostkit._models import DeploymentSpec
from hostkit.errors import ConfigError

__all__ = ["Config", "find_config_file", "load_config"]

TOP_LEVEL_KEYS = ("providers", "deployments", "prices")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class Config:
    """A loaded config file (or an empty one when there is none)."""

    path: Path | None = None
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, DeploymentSpec] = field(default_factory=dict)
    prices: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "(no config file)"

    def provider_settings(self, name: str) -> dict[str, Any]:
        """Settings under ``[providers.<name>]``, with ``${VAR}`` filled in now."""
        where = f"{self.where} [providers.{name}]"
        return dict(_interpolate(self.providers.get(name, {}), where))

    def deployment(self, name: str) -> DeploymentSpec:
        """The spec of a named deployment, or a ConfigError listing the known names."""
        try:
            return self.deployments[name]
        except KeyError:
            known = ", ".join(sorted(self.deployments)) or "none"
            raise ConfigError(
                f"{self.where}: no deployment named {name!r} under [deployments]; known: {known}"
            ) from None

    def __repr__(self) -> str:
        return (
            f"Config(path={self.path!s}, providers={sorted(self.providers)}, "
            f"deployments={sorted(self.deployments)})"
        )


#: the one empty config used when there is no file, so provider instances are shared
_EMPTY = Config()


def find_config_file(start: Path | None = None) -> Path | None:
    """The config file hostkit would use, or None."""
    if env := os.environ.get("HOSTKIT_CONFIG"):
        return Path(env).expanduser()
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / "hostkit.toml").is_file():
            return candidate / "hostkit.toml"
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and b"[tool.hostkit" in pyproject.read_bytes():
            return pyproject
    return None


def _interpolate(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{where}: environment variable {name} is not set"
                f" (write ${{{name}:-default}} to give a default)"
            )

        return _VAR.sub(substitute, value)
    if isinstance(value, Mapping):
        return {k: _interpolate(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _table(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table, found {type(data).__name__} {data!r}")
    return dict(data)


def parse_config(data: Mapping[str, Any], path: Path | None) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    label = str(path) if path else "config"
    unknown = sorted(set(data) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise ConfigError(
            f"{label}: unknown top-level key(s) {', '.join(unknown)};"
            f" allowed: {', '.join(TOP_LEVEL_KEYS)}"
        )
    providers = {
        name: _table(settings, f"{label} [providers.{name}]")
        for name, settings in _table(data.get("providers", {}), f"{label} [providers]").items()
    }
    deployments = {}
    for name, raw in _table(data.get("deployments", {}), f"{label} [deployments]").items():
        where = f"{label} [deployments.{name}]"
        fields = _interpolate(_table(raw, where), where)
        fields.setdefault("name", name)
        deployments[name] = DeploymentSpec.from_dict(fields, where=where)
    prices = _table(data.get("prices", {}), f"{label} [prices]")
    return Config(path=path, providers=providers, deployments=deployments, prices=prices)


_cache: dict[Path, tuple[float, Config]] = {}


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the config file (see module docs for where it is looked for).

    An explicit path that does not exist is an error; no file at all is an empty
    config. Results are cached per file and reloaded when the file changes.
    """
    explicit = path is not None or "HOSTKIT_CONFIG" in os.environ
    file = Path(path).expanduser() if path is not None else find_config_file()
    if file is None:
        return _EMPTY
    try:
        mtime = file.stat().st_mtime
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{file}: config file not found") from None
        return _EMPTY
    cached = _cache.get(file)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from None
    if file.name == "pyproject.toml":
        document = document.get("tool", {}).get("hostkit", {})
    config = parse_config(document, file)
    _cache[file] = (mtime, config)
    return config
