"""Deployment records saved on disk, so a later process can find a deployment again.

One JSON file per deployment under ``<state dir>/<provider>/<name>.json``, written
atomically. The state dir is ``HOSTKIT_STATE_DIR`` or the platform's user state
directory. Records never hold secrets: they are redacted before writing.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from hostkit._models import _NAME_RE, check_name
from hostkit._redact import redact_mapping
from hostkit.errors import ConfigError

__all__ = ["StateStore", "default_state_dir"]

STATE_DIR_ENV = "HOSTKIT_STATE_DIR"


def default_state_dir() -> Path:
    """``$HOSTKIT_STATE_DIR``, else the platform's user state directory.

    A variable that names something other than a directory is a ConfigError.
    """
    if env := os.environ.get(STATE_DIR_ENV):
        return _usable_folder(Path(env).expanduser(), f"{STATE_DIR_ENV}={env}")
    from platformdirs import user_state_dir

    return Path(user_state_dir("hostkit", appauthor=False))


def _usable_folder(path: Path, source: str) -> Path:
    """``path`` unless it (or its nearest existing parent) is not a directory."""
    folder = path
    while True:
        try:
            mode = os.stat(folder).st_mode
        except (FileNotFoundError, NotADirectoryError):
            if folder.parent == folder:
                return path
            folder = folder.parent
            continue
        if stat.S_ISDIR(mode):
            return path
        raise ConfigError(
            f"{source}: {folder} is not a directory; the state dir must be a"
            " directory (it is created if missing), or unset it to use the default"
        )


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateStore:
    """Per-provider records of deployments (plain JSON, secrets redacted)."""

    def __init__(self, provider: str, root: Path | None = None) -> None:
        self.provider = provider
        self._root = root

    @property
    def folder(self) -> Path:
        if self._root is None:
            return default_state_dir() / self.provider
        return _usable_folder(self._root, f"state_dir {self._root}") / self.provider

    def path(self, name: str) -> Path:
        """The record file of ``name``; an invalid name is a ConfigError, never a path.

        The name is checked against the deployment-name pattern, and the resolved
        path must stay inside :attr:`folder` (a symlink cannot lead it out either).
        """
        check_name(name, argument="deployment name")
        folder = self.folder
        path = folder / f"{name}.json"  # a valid name has no '/' and does not start with '.'
        if path.is_symlink() and path.resolve().parent != folder.resolve():
            raise ConfigError(f"deployment name: {name!r} leads outside {folder}")
        return path

    def save(self, name: str, record: dict[str, Any]) -> None:
        text = json.dumps(redact_mapping(record), indent=2, sort_keys=True, default=str)
        path = self.path(name)
        try:
            atomic_write_text(path, text)
        except (NotADirectoryError, FileExistsError, IsADirectoryError) as error:
            raise self._unusable(path, error) from None

    def load(self, name: str) -> dict[str, Any] | None:
        path = self.path(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (NotADirectoryError, IsADirectoryError) as error:
            raise self._unusable(path, error) from None
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def delete(self, name: str) -> None:
        path = self.path(name)
        try:
            path.unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError) as error:
            raise self._unusable(path, error) from None

    def _unusable(self, path: Path, error: OSError) -> ConfigError:
        source = f"state dir {self._root}" if self._root else f"state dir ({STATE_DIR_ENV})"
        return ConfigError(
            f"{source}: cannot use the record file {path}: {error.strerror or error};"
            " the state dir and its <provider> folders must be directories"
        )

    def names(self) -> list[str]:
        """Names of the saved records (stray files that are not valid names are skipped)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if _NAME_RE.fullmatch(p.stem))
