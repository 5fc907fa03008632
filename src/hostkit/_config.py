"""``hostkit.toml``: provider settings, named deployments and price overrides.

Found at the path given, else ``$HOSTKIT_CONFIG``, else the first ``hostkit.toml``
(or ``pyproject.toml`` with ``[tool.hostkit]``) in the working directory or its
parents. ``${VAR}`` and ``${VAR:-default}`` are taken from the environment; where a
setting or spec field takes a number or true/false, a value that is one placeholder
(``replicas = "${N:-2}"``) is converted after it is filled in.
"""

from __future__ import annotations

import math
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
        """Settings under ``[providers.<name>]``, with ``${VAR}`` filled in now.

        A placeholder in a setting the provider declares as a number or true/false
        (``usd_per_hour = "${RATE:-1.2}"``) becomes that type.
        """
        where = f"{self.where} [providers.{name}]"
        raw = self.providers.get(name, {})
        settings = dict(_interpolate(raw, where))
        if any(_has_placeholder(value) for value in raw.values()):
            schema = _settings_schema(name)
            for key, value in raw.items():
                if key in schema and _has_placeholder(value):
                    settings[key] = coerce_placeholder(
                        settings[key], schema[key], f"{where} {key}", value
                    )
        return settings

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


def _has_placeholder(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _settings_schema(provider: str) -> dict[str, Any]:
    """The setting types ``provider`` declares (none when it cannot be loaded here)."""
    from hostkit._provider import COMMON_SETTINGS
    from hostkit._registry import provider_class
    from hostkit.errors import HostkitError

    try:
        cls = provider_class(provider)
    except HostkitError:
        return {}  # get_provider reports that, with its own message
    return {**COMMON_SETTINGS, **cls.settings_schema}


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def coerce_placeholder(value: Any, expected: Any, where: str, template: str) -> Any:
    """``value`` (filled in from ``template``) as the number or bool ``expected`` wants.

    Values of other types, and fields that take strings, pass through unchanged.
    """
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if not isinstance(value, str) or str in kinds or not set(kinds) & {int, float, bool}:
        return value
    text = value.strip()
    if bool in kinds and text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
    if int in kinds:
        try:
            return int(text)
        except ValueError:
            pass
    if float in kinds:
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    wanted = " or ".join(
        {int: "a whole number", float: "a number", bool: "true or false"}[kind]
        for kind in kinds
        if kind in (int, float, bool)
    )
    names = [m.group(1) for m in _VAR.finditer(template)]
    shown = ", ".join(f"${{{name}}}" for name in names)
    raise ConfigError(
        f"{where} = {template!r}: {value!r} (from {shown}) is not {wanted};"
        f" set {' and '.join(names)} to {wanted}"
    )


#: spec fields that take whole numbers (a placeholder there is converted)
_SPEC_NUMBERS = {"replicas": int, "min_replicas": int, "max_replicas": int}


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
        table = _table(raw, where)
        fields = _interpolate(table, where)
        for key, kind in _SPEC_NUMBERS.items():
            if _has_placeholder(table.get(key)):
                fields[key] = coerce_placeholder(fields[key], kind, f"{where} {key}", table[key])
        fields.setdefault("name", name)
        deployments[name] = DeploymentSpec.from_dict(fields, where=where)
    prices = _table(data.get("prices", {}), f"{label} [prices]")
    return Config(path=path, providers=providers, deployments=deployments, prices=prices)


_cache: dict[Path, tuple[float, Config]] = {}


def _read_toml(file: Path, source: str) -> dict[str, Any]:
    """The TOML document in ``file``; anything unreadable is a ConfigError saying why."""
    if file.is_dir():
        raise ConfigError(
            f"{file}: is a directory, not a config file (given by {source}); give the path"
            " of a hostkit.toml or pyproject.toml file"
        )
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{file}: not UTF-8 text (byte {error.start}: {error.reason});"
            " config files must be UTF-8 encoded TOML"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(
            f"{file}: cannot read the config file (given by {source}): {error.strerror or error}"
        ) from None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the config file (see module docs for where it is looked for).

    An explicit path that does not exist is an error; no file at all is an empty
    config. Results are cached per file and reloaded when the file changes.
    """
    explicit = path is not None or "HOSTKIT_CONFIG" in os.environ
    source = "--config / config=" if path is not None else "HOSTKIT_CONFIG"
    file = Path(path).expanduser() if path is not None else find_config_file()
    if file is None:
        return _EMPTY
    try:
        mtime = file.stat().st_mtime
    except (FileNotFoundError, NotADirectoryError):
        if explicit:
            raise ConfigError(
                f"{file}: config file not found (given by {source}); give the path of a"
                " hostkit.toml or pyproject.toml file"
            ) from None
        return _EMPTY
    cached = _cache.get(file)
    if cached and cached[0] == mtime:
        return cached[1]
    document = _read_toml(file, source if explicit else "found in the working directory")
    if file.name == "pyproject.toml":
        document = document.get("tool", {}).get("hostkit", {})
    config = parse_config(document, file)
    _cache[file] = (mtime, config)
    return config
