"""Deployment records saved on disk, so a later process can find a deployment again.

One JSON file per deployment under ``<state dir>/<provider>/<name>.json``, written
atomically. The state dir is ``HOSTKIT_STATE_DIR`` or the platform's user state
directory. Records never hold secrets: they are redacted before writing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hostkit._redact import redact_mapping

__all__ = ["StateStore", "default_state_dir"]


def default_state_dir() -> Path:
    if env := os.environ.get("HOSTKIT_STATE_DIR"):
        return Path(env).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("hostkit", appauthor=False))


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
        return (self._root or default_state_dir()) / self.provider

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def save(self, name: str, record: dict[str, Any]) -> None:
        text = json.dumps(redact_mapping(record), indent=2, sort_keys=True, default=str)
        atomic_write_text(self.path(name), text)

    def load(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path(name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json"))
