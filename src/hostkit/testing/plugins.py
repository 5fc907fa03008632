"""Installing provider plugins in a test run, through the real entry-point mechanism.

A plugin test should exercise what users get: a distribution that registers its
class in the ``hostkit.providers`` entry-point group. These helpers make that
cheap and reversible::

    site = install_plugin(Path("tests/plugins/my-plugin"), tmp_path / "site")
    with plugins_on_path(site):
        provider = hostkit.get_provider("mine")

:func:`write_distribution` skips the build: it writes modules and a
``.dist-info`` folder as pip would leave them, for fakes and broken entry points.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from hostkit import _registry

__all__ = ["install_plugin", "plugins_on_path", "write_distribution"]


def install_plugin(source: Path, target: Path) -> Path:
    """Build the plugin project at ``source`` with pip and install it into ``target``.

    The project is copied next to ``target`` first, so the build leaves nothing
    in ``source``. pip runs offline (``--no-index --no-deps``) with this
    environment's setuptools (``--no-build-isolation``; it needs setuptools>=70.1,
    which builds wheels by itself). Returns ``target``, a folder for ``sys.path``.
    """
    build = target.parent / f"{source.name}-build"
    shutil.copytree(
        source, build, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--quiet",
        "--target",
        str(target),
        str(build),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = f"{done.stdout}\n{done.stderr}".strip()
        hint = ""
        if "bdist_wheel" in output:
            hint = "\n(this environment's setuptools cannot build wheels: install setuptools>=70.1)"
        raise RuntimeError(f"could not install {source}: {' '.join(command)}\n{output}{hint}")
    return target


@contextmanager
def plugins_on_path(*folders: Path) -> Iterator[None]:
    """Make the distributions in ``folders`` visible to the registry inside the block.

    On exit the folders leave ``sys.path``, modules imported from them are
    forgotten and the registry is refreshed, so nothing leaks into later tests.
    """
    entries = [str(folder) for folder in folders]
    for entry in entries:
        sys.path.insert(0, entry)
    importlib.invalidate_caches()
    _registry.refresh()
    try:
        yield
    finally:
        for entry in entries:
            while entry in sys.path:
                sys.path.remove(entry)
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            if any(file.startswith(entry) for entry in entries):
                del sys.modules[name]
        importlib.invalidate_caches()
        _registry.refresh()


def write_distribution(
    folder: Path,
    name: str,
    *,
    entry_points: Mapping[str, str],
    modules: Mapping[str, str],
    version: str = "0.0.0",
) -> Path:
    """An installed distribution as pip leaves it: top-level modules and a ``.dist-info``.

    ``entry_points`` maps provider names to ``"module:Class"`` in the
    ``hostkit.providers`` group; ``modules`` maps file names to source text.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for filename, text in modules.items():
        (folder / filename).write_text(text, encoding="utf-8")
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Dist: hostkit-ml\n",
        encoding="utf-8",
    )
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(
        f"[{_registry.ENTRY_POINT_GROUP}]\n{lines}", encoding="utf-8"
    )
    return folder
